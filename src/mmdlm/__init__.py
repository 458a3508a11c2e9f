"""mmdlm: multimodal deep learning for cancer prognosis (histology at 10x and 5x, radiology, genomics)."""

__version__ = "0.1.0"
