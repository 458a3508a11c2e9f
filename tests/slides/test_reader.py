"""open_slide: RGB regions, geometry and pixel size of real and synthetic slides; clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest
from PIL import Image

from mmdlm.errors import MmdlmError
from mmdlm.slides import open_slide
from mmdlm.slides.openslide_reader import OpenSlideReader, argb_to_rgb, rgb_from_argb
from mmdlm.synth.tiff import write_array_tiff


def test_real_aperio_slide_geometry_and_mpp(cmu_slide: Path) -> None:
    with open_slide(cmu_slide) as slide:
        assert slide.dimensions == (2220, 2967)
        assert slide.level_count == 1 and slide.level_downsamples == (1.0,)
        assert slide.mpp.x == pytest.approx(0.499) and slide.mpp.y == pytest.approx(0.499)
        assert slide.mpp.source == "openslide.mpp-x"
        assert slide.vendor == "aperio"
        region = slide.read_region((1000, 1500), 0, (64, 32))
    assert region.shape == (32, 64, 3) and region.dtype == np.uint8
    raw = np.asarray(openslide.OpenSlide(str(cmu_slide)).read_region((1000, 1500), 0, (64, 32)))
    np.testing.assert_array_equal(region, raw[..., :3])  # opaque pixels: RGB is OpenSlide's RGB


def test_transparent_pixels_become_white() -> None:
    argb = np.zeros((2, 2), np.uint32)  # premultiplied ARGB, as openslide_read_region writes it
    argb[0, 0] = 0xFF0A141E  # opaque (10, 20, 30)
    argb[0, 1] = 0x80400000  # half transparent, premultiplied red 64 -> 64 + 127 on white
    rgb = argb_to_rgb(argb)
    assert rgb[0, 0].tolist() == [10, 20, 30] and rgb[1, 1].tolist() == [255, 255, 255]
    assert rgb[0, 1].tolist() == [191, 127, 127]


@pytest.mark.parametrize(
    "location, size",
    [((1000, 1500), (448, 448)), ((2000, 2800), (448, 448)), ((-100, -50), (300, 200))],
    ids=["inside", "past-the-edge", "before-the-origin"],
)
def test_direct_read_equals_openslide_python(cmu_slide: Path, location: tuple, size: tuple) -> None:
    """The direct openslide_read_region path gives OpenSlide's own RGB where opaque and white where
    transparent, the same as openslide-python's read_region composited onto white."""
    with open_slide(cmu_slide) as slide:
        assert slide._c_read_region is not None  # this openslide-python has the binding: the fast path runs
        direct = slide.read_region(location, 0, size)
        direct_reduced = [slide.read_region(location, 0, size, reduce=f) for f in (2, 4)]
        slide._c_read_region = None  # the public read_region path
        public = slide.read_region(location, 0, size)
    rgba = np.asarray(openslide.OpenSlide(str(cmu_slide)).read_region(location, 0, size))
    opaque = rgba[..., 3] == 255
    np.testing.assert_array_equal(direct, public)
    for f, reduced in zip((2, 4), direct_reduced, strict=True):  # = PIL's reduce of the full-size RGB
        np.testing.assert_array_equal(reduced, np.asarray(Image.fromarray(public).reduce(f)))
    np.testing.assert_array_equal(direct[opaque], rgba[..., :3][opaque])
    assert (direct[rgba[..., 3] == 0] == 255).all()
    if location[0] != 1000:
        assert (~opaque).sum() > 1000  # the case really has transparent pixels


def test_read_argb_is_openslides_buffer(cmu_slide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """read_argb hands out OpenSlide's premultiplied ARGB: opaque inside the slide, with openslide-python's
    RGB, transparent (0) outside it; rgb_from_argb of it is read_region; without the binding, clear error."""
    location, size = (2000, 2800), (448, 300)  # runs past the slide's right and bottom edges
    with open_slide(cmu_slide) as slide:
        assert slide.reads_argb
        argb = slide.read_argb(location, 0, size)
        region = slide.read_region(location, 0, size, reduce=2)
        monkeypatch.setattr(OpenSlideReader, "reads_argb", property(lambda self: False))
        with pytest.raises(MmdlmError, match="CMU-1-Small-Region.svs"):
            slide.read_argb(location, 0, size)
    rgba = np.asarray(openslide.OpenSlide(str(cmu_slide)).read_region(location, 0, size))
    assert argb.shape == (300, 448) and argb.dtype == np.uint32
    opaque = rgba[..., 3] == 255
    assert ((argb >> 24) == 255).sum() == opaque.sum() and (argb[~opaque] == 0).all()
    for shift, channel in ((16, 0), (8, 1), (0, 2)):
        np.testing.assert_array_equal((argb[opaque] >> shift) & 0xFF, rgba[..., channel][opaque])
    np.testing.assert_array_equal(rgb_from_argb(argb, 2), region)


def test_associated_image_equals_openslide_python(cmu_slide: Path) -> None:
    """The scanner's thumbnail decoded straight into a buffer is openslide-python's image in RGB, as is the
    public-API fallback; decoded once per reader; an absent name is None."""
    expected = np.asarray(openslide.OpenSlide(str(cmu_slide)).associated_images["thumbnail"])[..., :3]
    with open_slide(cmu_slide) as slide:
        direct = slide.associated_image("thumbnail")
        assert slide.associated_image("thumbnail") is direct and slide.associated_image("no-such") is None
    with open_slide(cmu_slide) as slide:
        slide._c_handle = None  # as without openslide-python's binding
        fallback = slide.associated_image("thumbnail")
    assert direct.mode == fallback.mode == "RGB" and expected.shape == (768, 574, 3)
    np.testing.assert_array_equal(np.asarray(direct), expected)
    np.testing.assert_array_equal(np.asarray(fallback), expected)


def test_objective_power_gives_mpp_when_mpp_absent(tmp_path: Path, synthetic_rgb: np.ndarray) -> None:
    header = "Aperio Image Library v10.0.0\n512x512 (256x256) JPEG/RGB Q=75|AppMag = 20|Filename = x"
    path = write_array_tiff(
        tmp_path / "ap.tiff", synthetic_rgb[:512, :512], mpp=None, downsamples=(1,), description=header
    )
    with open_slide(path) as slide:
        assert openslide.PROPERTY_NAME_MPP_X not in slide.properties
        assert slide.mpp.x == pytest.approx(0.5) and slide.mpp.source == "openslide.objective-power"


def test_missing_mpp_and_objective_power_is_a_clear_error(no_mpp_slide: Path) -> None:
    with open_slide(no_mpp_slide) as slide:
        assert slide.dimensions == (512, 512)  # the slide itself opens
        with pytest.raises(MmdlmError) as exc:
            _ = slide.mpp
    assert exc.value.file == str(no_mpp_slide)
    assert "openslide.mpp-x" in exc.value.field and "objective-power" in exc.value.field


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_truncated_slide_is_an_error_naming_the_file(tmp_path: Path, cmu_slide: Path, keep: float) -> None:
    data = cmu_slide.read_bytes()
    path = tmp_path / "truncated.svs"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(MmdlmError) as exc:
        open_slide(path)
    assert exc.value.file == str(path) and "truncated or corrupt" in exc.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MmdlmError, match="not found") as exc:
        open_slide(tmp_path / "nope.svs")
    assert exc.value.file == str(tmp_path / "nope.svs")
