"""mmdlm.encoders: the image-encoder registry (torchvision ResNets, any timm architecture with local weights).

    encoder = build_encoder(EncoderConfig(family="timm", name="vit_large_patch16_224", weights=PATH, ...))
    features = encoder.embed(uint8_batch)        # float [B, encoder.width]

Public names are imported lazily (PEP 562): reading `mmdlm.encoders.config` never imports torch.
"""

from mmdlm.lazy import by_module, lazy_exports

_EXPORTS = by_module(__name__, {
    "encoder": "Encoder EncoderIdentity", "registry": "build_encoder FAMILIES", "config": "EncoderConfig",
})

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
