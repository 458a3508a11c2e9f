"""Shapes, masking and muting of the multimodal net; ImageNet weights only from a local file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torchvision

from mmdlm.errors import MmdlmError
from mmdlm.modalities import MODALITIES
from mmdlm.model import MultimodalNet, mute
from mmdlm.model.backbones import imagenet_weights_file


def _inputs(batch: int = 4, size: int = 32, n_gen: int = 5, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {m: torch.randn(batch, 3, size, size, generator=g) for m in ("tile_10x", "tile_5x", "radiology")}
    out["genomics"] = torch.randint(0, 2, (batch, n_gen), generator=g).float()
    return out


@pytest.fixture(scope="module")
def net() -> MultimodalNet:
    torch.manual_seed(0)
    return MultimodalNet(5, task="cox", width=16, dropout=0.0, pretrained="none").eval()


def test_shapes_for_both_heads(net: MultimodalNet) -> None:
    mask = torch.ones(4, 4, dtype=torch.bool)
    out = net(_inputs(), mask)
    assert out.out.shape == (4,) and out.attention.shape == (4, len(MODALITIES))
    assert torch.allclose(out.attention.sum(1), torch.ones(4))
    five = MultimodalNet(5, task="5yss", width=16, pretrained="none").eval()
    assert five(_inputs(), mask).out.shape == (4, 2)


def test_missing_modality_gets_zero_attention_and_cannot_change_the_output(net: MultimodalNet) -> None:
    mask = torch.ones(4, 4, dtype=torch.bool)
    mask[1, MODALITIES.index("radiology")] = False
    mask[2, MODALITIES.index("genomics")] = False
    x = _inputs()
    with torch.no_grad():
        ref = net(x, mask)
        y = dict(x)
        y["radiology"] = x["radiology"].clone()
        y["radiology"][1] = torch.randn(3, 32, 32) * 50
        y["genomics"] = x["genomics"].clone()
        y["genomics"][2] = 7.0
        got = net(y, mask)
    assert ref.attention[1, MODALITIES.index("radiology")] == 0.0
    assert ref.attention[2, MODALITIES.index("genomics")] == 0.0
    assert torch.equal(ref.out, got.out) and torch.equal(ref.attention, got.attention)
    # a present modality does change it
    y["tile_10x"] = x["tile_10x"] + 1.0
    with torch.no_grad():
        assert not torch.allclose(net(y, mask).out, ref.out)


def test_muting_leaves_only_the_active_modality(net: MultimodalNet) -> None:
    mask = mute(torch.ones(4, 4, dtype=torch.bool), ["radiology"])
    assert mask.tolist() == [[False, False, True, False]] * 4
    x = _inputs()
    with torch.no_grad():
        out = net(x, mask)
        alone = net({"radiology": x["radiology"]}, mask)
    assert torch.all(out.attention[:, MODALITIES.index("radiology")] == 1.0)
    assert torch.equal(out.out, alone.out)
    with pytest.raises(MmdlmError, match="unknown modality"):
        mute(mask, ["ct"])


def test_row_without_any_modality_gives_the_no_evidence_output(net: MultimodalNet) -> None:
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[0] = False
    with torch.no_grad():
        out = net(_inputs(3), mask)
        expected = net.head(torch.zeros(1, 16)).squeeze()
    assert torch.all(out.attention[0] == 0) and torch.isfinite(out.out).all()
    assert torch.allclose(out.out[0], expected)


def test_imagenet_weights_come_from_the_torch_cache_never_the_network(tmp_path: Path) -> None:
    # conftest points TORCH_HOME at an empty folder: nothing there yet -> a clear offline message
    with pytest.raises(MmdlmError, match="nothing is downloaded") as err:
        MultimodalNet(3, pretrained="imagenet")
    assert str(imagenet_weights_file("resnet18")) in str(err.value)
    # a weights file put where the message says is loaded into every image branch
    torch.manual_seed(1)
    state = torchvision.models.resnet18(weights=None).state_dict()
    target = imagenet_weights_file("resnet18")
    assert str(target).startswith(os.environ["TORCH_HOME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, target)
    try:
        net = MultimodalNet(3, pretrained="imagenet")
        for m in ("tile_10x", "tile_5x", "radiology"):
            assert torch.equal(net.branches[m].backbone.conv1.weight, state["conv1.weight"])
        named = tmp_path / "my_resnet18.pth"
        torch.save(state, named)
        net2 = MultimodalNet(3, pretrained="imagenet", pretrained_path=named)
        assert torch.equal(
            net2.branches["radiology"].backbone.layer4[0].conv1.weight, state["layer4.0.conv1.weight"]
        )
    finally:
        target.unlink()
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(MmdlmError, match="cannot load"):
        MultimodalNet(3, pretrained="imagenet", pretrained_path=bad)
