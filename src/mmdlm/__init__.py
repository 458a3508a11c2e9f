"""mmdlm: multimodal deep learning for cancer prognosis (histology at two magnifications, radiology, genomics)."""

__version__ = "0.1.0"
