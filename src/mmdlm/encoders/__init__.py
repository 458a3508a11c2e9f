"""mmdlm.encoders: the image-encoder registry (torchvision ResNets, any timm architecture with local weights).

    encoder = build_encoder(EncoderConfig(family="timm", name="vit_large_patch16_224", weights=PATH, ...))
    features = encoder.embed(uint8_batch)        # float [B, encoder.width]

Public names are imported lazily (PEP 562): reading `mmdlm.encoders.config` never imports torch.
"""

from mmdlm.lazy import lazy_exports

_EXPORTS = {
    "Encoder": "mmdlm.encoders.encoder",
    "EncoderIdentity": "mmdlm.encoders.encoder",
    "build_encoder": "mmdlm.encoders.registry",
    "FAMILIES": "mmdlm.encoders.registry",
    "EncoderConfig": "mmdlm.encoders.config",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
