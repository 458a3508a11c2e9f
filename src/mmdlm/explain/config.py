"""Config section owned by mmdlm.explain."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mmdlm.config_base import StrictModel


class ExplainConfig(StrictModel):
    """Grad-CAM overlays and gallery, sliding-window WSI markup, modality attention summary."""

    #: Patients at each end (highest and lowest risk) of the run shown in the Grad-CAM gallery.
    gallery_size: int = Field(3, ge=1)
    #: Grad-CAM heat-map colormap (matplotlib name) and its blend weight over the de-normalised input.
    cam_colormap: str = "jet"
    cam_alpha: float = Field(0.45, ge=0.0, le=1.0)
    #: ResNet block Grad-CAM attributes: layer4 (the last, standard) or an earlier one for tiny inputs, where
    #: layer4 is 1x1 (32 px images: layer4 1x1, layer3 2x2, layer2 4x4)
    cam_layer: Literal["layer1", "layer2", "layer3", "layer4"] = "layer4"
    #: Tiles per forward pass in the sliding-window markup.
    markup_batch_size: int = Field(64, ge=1)
    #: DataLoader worker processes reading markup tiles (0: read in the main process).
    markup_workers: int = Field(2, ge=0)
    #: The same when the tiles are read from the slide's tile store. None: 0 (the main process reads them; a
    #: stored tile costs far less to read than a worker process does to feed) on CPU, markup_workers on CUDA.
    markup_store_workers: int | None = Field(None, ge=0)
    #: Slides marked up when `mmdlm explain` is not given --slides (the highest-risk patients' first slides).
    markup_slides: int = Field(1, ge=0)
    #: Magnification the slide is marked up at (its tile modality, e.g. 10 -> tile_10x).
    markup_magnification: float = Field(10.0, gt=0)
    #: Other modalities during markup: the patient's own inputs held fixed, or muted (tile modality alone).
    markup_context: Literal["patient", "muted"] = "patient"
    #: Cox markup: number of risk-quantile classes (of the run's patient risks or the slide's tiles).
    risk_quantiles: int = Field(4, ge=2, le=10)
    #: Cox markup classes from the quantiles of the explaining fold model's own validation risks ("run": how
    #: this slide ranks among that model's patients) or of the slide's own tiles ("slide": where within the
    #: slide the risk is higher)
    risk_reference: Literal["run", "slide"] = "run"
    #: Opacity of the most certain tile on the markup map (the least certain is drawn at `markup_min_alpha`).
    markup_max_alpha: float = Field(0.75, ge=0.0, le=1.0)
    markup_min_alpha: float = Field(0.1, ge=0.0, le=1.0)
    #: Device for Grad-CAM and markup: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1", ...
    device: str = "auto"
    #: bfloat16 autocast (and channels_last) for the markup's forward passes when running on CUDA.
    markup_bf16_on_cuda: bool = True
    #: Longer side (px) of the thumbnail the markup is drawn on.
    thumbnail_max_side: int = Field(1024, ge=64)
