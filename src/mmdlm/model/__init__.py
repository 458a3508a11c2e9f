"""mmdlm.model: image branches, genomic dense branch, attention fusion with muting, risk / 5YSS heads."""

from mmdlm.model.fusion import ModelOutput, MultimodalNet, build_model, mute

__all__ = ["ModelOutput", "MultimodalNet", "build_model", "mute"]
