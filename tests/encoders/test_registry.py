"""The encoder registry: small random models of both families (a timm ViT, a torchvision ResNet18), their
feature width, input preparation, a weights-file round trip, and the errors for missing or wrong weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from mmdlm.config import load_config
from mmdlm.encoders.config import EncoderConfig
from mmdlm.encoders.registry import FAMILIES, build_encoder
from mmdlm.errors import MmdlmError

VIT = EncoderConfig(
    family="timm",
    name="vit_tiny_patch16_224",
    weights="random",
    input_size=32,
    kwargs={"init_values": 1.0e-5},
)
RESNET = EncoderConfig(family="torchvision", name="resnet18", weights="random", input_size=48)


@pytest.fixture(scope="module")
def vit():
    return build_encoder(VIT)


@pytest.fixture(scope="module")
def resnet():
    return build_encoder(RESNET)


def test_registry_holds_both_families() -> None:
    assert set(FAMILIES) == {"torchvision", "timm"}


@pytest.mark.parametrize(("fixture", "width", "size"), [("vit", 192, 32), ("resnet", 512, 48)])
def test_feature_width_and_identity(
    request: pytest.FixtureRequest, fixture: str, width: int, size: int
) -> None:
    enc = request.getfixturevalue(fixture)
    feats = enc.embed(torch.randint(0, 256, (3, 3, 40, 40), dtype=torch.uint8))
    assert feats.shape == (3, width) and enc.width == width and feats.dtype == torch.float32
    ident = enc.identity
    assert (
        ident.input_size == size
        and ident.mean == (0.485, 0.456, 0.406)
        and ident.std == (0.229, 0.224, 0.225)
    )
    assert ident.weights_hash == "random-0" and len(ident.key) == 32


def test_prepare_resizes_and_normalises(vit) -> None:
    images = torch.full((2, 3, 64, 64), 255, dtype=torch.uint8)
    images[:, 1] = 0
    x = vit.prepare(images)
    assert x.shape == (2, 3, 32, 32)
    expected = torch.tensor([(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (1 - 0.406) / 0.225])
    torch.testing.assert_close(x[0, :, 5, 5], expected)
    custom = build_encoder(VIT.model_copy(update={"mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}))
    torch.testing.assert_close(custom.prepare(images)[0, :, 0, 0], torch.tensor([2.0, -2.0, 2.0]))


def test_random_initialisation_is_seeded(vit) -> None:
    again = build_encoder(VIT)
    other = build_encoder(VIT.model_copy(update={"seed": 1}))
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    torch.testing.assert_close(vit.embed(x), again.embed(x))
    assert not torch.allclose(vit.embed(x), other.embed(x))
    assert other.identity.key != vit.identity.key


@pytest.mark.parametrize(
    ("fixture", "cfg", "suffix"),
    [("vit", VIT, ".pth"), ("vit", VIT, ".safetensors"), ("resnet", RESNET, ".pth")],
)
def test_weights_file_round_trip(
    request: pytest.FixtureRequest, tmp_path: Path, fixture: str, cfg: EncoderConfig, suffix: str
) -> None:
    src = request.getfixturevalue(fixture)
    trained = build_encoder(cfg.model_copy(update={"seed": 7}))  # different weights than `src`
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in trained.net.state_dict().items()}, str(path))
    else:
        torch.save({"state_dict": trained.net.state_dict()}, path)  # nested, as training frameworks save
    loaded = build_encoder(cfg.model_copy(update={"weights": path}))
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    torch.testing.assert_close(loaded.embed(x), trained.embed(x))
    assert not torch.allclose(loaded.embed(x), src.embed(x))
    import hashlib

    assert loaded.identity.weights_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.identity.weights == str(path)


def test_missing_weights_file_is_one_line_naming_file_and_source(tmp_path: Path) -> None:
    missing = tmp_path / "uni" / "pytorch_model.bin"
    with pytest.raises(MmdlmError) as info:
        build_encoder(VIT.model_copy(update={"weights": missing, "label": "UNI"}))
    text = info.value.one_line()
    assert str(missing) in text and "Hugging Face" in text and "licence" in text and "\n" not in text
    with pytest.raises(MmdlmError, match="resnet18"):
        build_encoder(RESNET.model_copy(update={"weights": missing}))


def test_wrong_weights_are_named(tmp_path: Path, resnet) -> None:
    path = tmp_path / "resnet.pth"
    torch.save(resnet.net.state_dict(), path)
    with pytest.raises(MmdlmError, match="do not fit vit_tiny") as info:
        build_encoder(VIT.model_copy(update={"weights": path}))
    assert str(path) in info.value.one_line()
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(MmdlmError, match="cannot read weights"):
        build_encoder(VIT.model_copy(update={"weights": garbage}))


def test_unknown_architecture_and_bad_combinations() -> None:
    with pytest.raises(MmdlmError, match="unknown timm architecture"):
        build_encoder(VIT.model_copy(update={"name": "no_such_vit"}))
    with pytest.raises(MmdlmError, match="weights file"):
        build_encoder(VIT.model_copy(update={"weights": "imagenet"}))
    with pytest.raises(MmdlmError, match="unknown torchvision backbone"):
        build_encoder(RESNET.model_copy(update={"name": "no_such_net"}))


def test_cls_mean_pool_concatenates_tokens() -> None:
    enc = build_encoder(VIT.model_copy(update={"pool": "cls_mean"}))
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    out = enc.embed(x)
    tokens = enc.net.vit.forward_features(enc.prepare(x))
    assert out.shape == (2, 384)
    torch.testing.assert_close(out, torch.cat([tokens[:, 0], tokens[:, 1:].mean(1)], -1))


def test_config_section_is_strict(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        yaml.safe_dump(
            {
                "model": {
                    "family": "mil",
                    "encoder": {
                        "family": "timm",
                        "name": "vit_large_patch16_224",
                        "weights": "/models/uni.bin",
                        "kwargs": {"init_values": 1.0e-5, "dynamic_img_size": True},
                    },
                }
            }
        )
    )
    cfg = load_config(good)
    assert cfg.model.family == "mil" and cfg.model.encoder.weights == Path("/models/uni.bin")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"model": {"encoder": {"name": "resnet18", "wieghts": "x"}}}))
    with pytest.raises(MmdlmError, match="model.encoder.wieghts"):
        load_config(bad)


def test_documented_presets_are_valid_configs() -> None:
    import re

    import timm

    doc = (Path(__file__).resolve().parents[2] / "docs" / "formats" / "features.md").read_text()
    block = re.search(r"```yaml\n(model:.*?)```", doc, re.S).group(1)
    presets = [d.get("model", d)["encoder"] for d in yaml.safe_load_all(block)]
    assert [p["label"] for p in presets] == ["UNI", "Virchow2", "H-optimus-0", "Prov-GigaPath"]
    for preset in presets:
        cfg = EncoderConfig.model_validate(preset)
        assert cfg.family == "timm" and timm.is_model(cfg.name)
