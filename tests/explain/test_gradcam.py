"""Grad-CAM per image branch: finite maps of the input's size, following the signal the model looks at."""

from __future__ import annotations

import pytest
import torch

from mmdlm.errors import MmdlmError
from mmdlm.explain.gradcam import gradcam, scalar_target
from mmdlm.model import MultimodalNet

SIZE = 128  # layer4 of ResNet18 is 4 x 4 at this size: quadrants are 2 x 2 cells each
PATCH = 24


def _image(quadrant: int | None, gen: torch.Generator) -> torch.Tensor:
    """Low noise everywhere; a bright square at a random place inside `quadrant` (0 TL, 1 TR, 2 BL, 3 BR)."""
    x = 0.1 * torch.randn(3, SIZE, SIZE, generator=gen)
    if quadrant is not None:
        half = SIZE // 2
        r0 = (quadrant // 2) * half + int(torch.randint(4, half - PATCH - 4, (1,), generator=gen))
        c0 = (quadrant % 2) * half + int(torch.randint(4, half - PATCH - 4, (1,), generator=gen))
        x[:, r0:r0 + PATCH, c0:c0 + PATCH] += 2.0
    return x


def _quadrant_mass(cam: torch.Tensor) -> torch.Tensor:
    h = cam.shape[-1] // 2
    q = torch.stack([cam[:h, :h].sum(), cam[:h, h:].sum(), cam[h:, :h].sum(), cam[h:, h:].sum()])
    return q / q.sum()


@pytest.fixture(scope="module")
def quadrant_model() -> MultimodalNet:
    """A tiny fused model trained so its risk is high iff a bright patch is present anywhere in the 10x tile:
    the only evidence is local, so Grad-CAM must find it. The random backbone stays frozen: its features of a
    fixed pool of images are computed once and the rest of the model (projection, attention, head) is trained
    on them through the model's own forward, with the backbone swapped for an identity meanwhile."""
    torch.manual_seed(0)
    model = MultimodalNet(1, task="cox", width=16, dropout=0.0, pretrained="none").eval()
    gen = torch.Generator().manual_seed(1)
    quads = [q for q in range(4) for _ in range(8)] + [None] * 32
    pool = torch.stack([_image(q, gen) for q in quads])
    target = torch.tensor([0.0 if q is None else 1.0 for q in quads])
    branch = model.branches["tile_10x"]
    with torch.no_grad():
        features = branch.backbone(pool)  # [64, 512]
    backbone, branch.backbone = branch.backbone, torch.nn.Identity()
    try:
        opt = torch.optim.Adam([p for n, p in model.named_parameters() if "backbone" not in n], lr=1e-2)
        mask = torch.zeros(len(quads), 4, dtype=torch.bool)
        mask[:, 0] = True
        for _ in range(300):
            loss = ((model({"tile_10x": features}, mask).out - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        branch.backbone = backbone
    assert float(loss.detach()) < 0.05  # it learned the signal
    return model


def test_cam_follows_the_signal_quadrant(quadrant_model: MultimodalNet) -> None:
    gen = torch.Generator().manual_seed(5)
    x = torch.stack([_image(q, gen) for q in range(4)])
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[:, 0] = True
    cams = gradcam(quadrant_model, {"tile_10x": x}, mask)["tile_10x"]
    assert cams.shape == (4, SIZE, SIZE)
    assert torch.isfinite(cams).all() and cams.min() >= 0 and cams.max() <= 1
    for q in range(4):
        mass = _quadrant_mass(cams[q])
        assert int(mass.argmax()) == q, (q, mass)
        assert mass[q] > 0.3, (q, mass)  # uniform would be 0.25
    # moving the signal moves the map
    assert (cams[0] - cams[3]).abs().mean() > 0.05
    assert _quadrant_mass(cams[3])[0] < _quadrant_mass(cams[0])[0]


def test_maps_per_branch_are_finite_and_of_input_size() -> None:
    torch.manual_seed(0)
    model = MultimodalNet(5, task="5yss", width=16, pretrained="none")
    inputs = {"tile_10x": torch.randn(2, 3, 64, 64), "tile_5x": torch.randn(2, 3, 96, 96),
              "radiology": torch.randn(2, 3, 48, 48), "genomics": torch.rand(2, 5)}
    mask = torch.ones(2, 4, dtype=torch.bool)
    maps = gradcam(model, inputs, mask)
    assert set(maps) == {"tile_10x", "tile_5x", "radiology"}
    all_peaks = []
    for m, cam in maps.items():
        assert cam.shape == (2, *inputs[m].shape[-2:])
        assert torch.isfinite(cam).all()
        peaks = cam.flatten(1).amax(dim=1)
        # normalised by its peak (a map whose evidence is all negative is zero after the ReLU)
        assert all(float(p) == pytest.approx(1.0) or float(p) == 0.0 for p in peaks)
        all_peaks += [float(p) for p in peaks]
    # not every map is the all-zero one (that would satisfy the line above without any normalisation)
    assert any(p == pytest.approx(1.0) for p in all_peaks)
    # a muted modality is not explained; the model's output is untouched by the explanation
    mask[:, 2] = False
    maps = gradcam(model, inputs, mask)
    assert set(maps) == {"tile_10x", "tile_5x"}
    with torch.no_grad():
        out = model(inputs, mask).out
    assert scalar_target(out, "5yss").shape == (2,)
    assert torch.allclose(scalar_target(out, "5yss"), out[:, 1] - out[:, 0])


def test_no_image_modality_is_an_error() -> None:
    model = MultimodalNet(3, task="cox", width=8, pretrained="none")
    mask = torch.zeros(1, 4, dtype=torch.bool)
    mask[:, 3] = True
    with pytest.raises(MmdlmError, match="no present image modality"):
        gradcam(model, {"genomics": torch.rand(1, 3)}, mask)
