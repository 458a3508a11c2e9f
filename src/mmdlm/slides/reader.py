"""Open whole-slide images through OpenSlide: RGB regions, pyramid levels and the physical pixel size.

The reader follows TIAToolbox's `WSIReader` idea: one small object per slide with its geometry and a
`read_region` that returns RGB numpy arrays; everything else (levels, tiles, masks) is built on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openslide
from PIL import Image

from mmdlm.errors import MmdlmError

#: um/px at 1x: magnification M corresponds to 10 / M um/px (20x ~ 0.5, 10x ~ 1.0, 5x ~ 2.0).
MPP_AT_1X = 10.0

#: Errors OpenSlide and the image stack raise for a file they cannot read.
READ_ERRORS: tuple[type[BaseException], ...] = (openslide.OpenSlideError, OSError, ValueError)


def mpp_for_magnification(magnification: float) -> float:
    """Micrometres per pixel of a nominal objective magnification (10 / magnification)."""
    return MPP_AT_1X / float(magnification)


@dataclass(frozen=True)
class SlideMpp:
    """Level-0 pixel size (um/px) and where it came from (openslide.mpp-x or objective-power)."""

    x: float
    y: float
    source: str


def _float_property(props: dict[str, str], key: str) -> float | None:
    raw = props.get(key)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if np.isfinite(value) and value > 0 else None


def resolve_mpp(props: dict[str, str], path: str | Path) -> SlideMpp:
    """Level-0 um/px from OpenSlide properties: `openslide.mpp-x/y`, else 10 / `openslide.objective-power`."""
    mpp_x = _float_property(props, openslide.PROPERTY_NAME_MPP_X)
    mpp_y = _float_property(props, openslide.PROPERTY_NAME_MPP_Y)
    if mpp_x is not None:
        return SlideMpp(mpp_x, mpp_y if mpp_y is not None else mpp_x, openslide.PROPERTY_NAME_MPP_X)
    power = _float_property(props, openslide.PROPERTY_NAME_OBJECTIVE_POWER)
    if power is not None:
        mpp = mpp_for_magnification(power)
        return SlideMpp(mpp, mpp, openslide.PROPERTY_NAME_OBJECTIVE_POWER)
    raise MmdlmError(
        "slide has neither a pixel size nor an objective power, so magnifications cannot be chosen",
        file=path,
        field=f"{openslide.PROPERTY_NAME_MPP_X} / {openslide.PROPERTY_NAME_OBJECTIVE_POWER}",
    )


def rgba_to_rgb(rgba: np.ndarray) -> np.ndarray:
    """RGB uint8 from OpenSlide's RGBA: transparent (unscanned/outside) pixels become white."""
    rgb = rgba[..., :3]
    alpha = rgba[..., 3]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgb)
    a = alpha[..., None].astype(np.float32) / 255.0
    return (rgb.astype(np.float32) * a + 255.0 * (1.0 - a) + 0.5).astype(np.uint8)


class SlideReader:
    """An open whole-slide image (any format OpenSlide reads). Use `open_slide(path)`; close when done."""

    def __init__(self, path: str | Path, osr: openslide.OpenSlide) -> None:
        self.path = Path(path)
        self._osr = osr
        self.properties: dict[str, str] = dict(osr.properties)
        self.dimensions: tuple[int, int] = tuple(osr.dimensions)
        self.level_dimensions: tuple[tuple[int, int], ...] = tuple(tuple(d) for d in osr.level_dimensions)
        self.level_downsamples: tuple[float, ...] = tuple(float(d) for d in osr.level_downsamples)
        self._associated: dict[str, Image.Image | None] = {}
        self._mpp: SlideMpp | MmdlmError
        try:
            self._mpp = resolve_mpp(self.properties, self.path)
        except MmdlmError as exc:
            self._mpp = exc

    @property
    def level_count(self) -> int:
        """Number of pyramid levels."""
        return len(self.level_dimensions)

    @property
    def mpp(self) -> SlideMpp:
        """Level-0 um/px; raises MmdlmError (file, field) when neither mpp nor objective power is known."""
        if isinstance(self._mpp, MmdlmError):
            raise self._mpp
        return self._mpp

    @property
    def vendor(self) -> str:
        """OpenSlide's format name (aperio, generic-tiff, ...)."""
        return self.properties.get(openslide.PROPERTY_NAME_VENDOR, "")

    def read_region_image(self, location: tuple[int, int], level: int, size: tuple[int, int]) -> Image.Image:
        """RGB PIL image of `size` (w, h) at `level`, top-left at level-0 `location`; transparent pixels
        (outside the scanned area) become white."""
        try:
            region = self._osr.read_region((int(location[0]), int(location[1])), int(level), size)
        except READ_ERRORS as exc:
            raise MmdlmError(f"cannot read slide region ({exc})", file=self.path) from None
        if region.getchannel("A").getextrema()[0] < 255:
            region = Image.alpha_composite(Image.new("RGBA", region.size, (255, 255, 255, 255)), region)
        return region.convert("RGB")

    def read_region(self, location: tuple[int, int], level: int, size: tuple[int, int]) -> np.ndarray:
        """RGB uint8 [h, w, 3] of `size` (w, h) at `level`, top-left at level-0 `location` (x, y)."""
        return np.asarray(self.read_region_image(location, level, size))

    def associated_image(self, name: str) -> Image.Image | None:
        """An associated image (thumbnail, label, macro) as RGB; None if the slide has none by that name.
        Decoded once per reader."""
        if name not in self._associated:
            try:
                image = self._osr.associated_images.get(name)
            except READ_ERRORS:
                image = None
            self._associated[name] = None if image is None else image.convert("RGB")
        return self._associated[name]

    def read_region_raw(self, location: tuple[int, int], level: int, size: tuple[int, int]) -> Image.Image:
        """OpenSlide's own RGBA PIL image, untouched (the benchmark's ceiling)."""
        return self._osr.read_region((int(location[0]), int(location[1])), int(level), size)

    def close(self) -> None:
        """Release the OpenSlide handle."""
        self._osr.close()

    def __enter__(self) -> SlideReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SlideReader({str(self.path)!r}, dimensions={self.dimensions}, levels={self.level_count})"


def open_slide(path: str | Path) -> SlideReader:
    """Open a whole-slide image with OpenSlide; MmdlmError naming the file if it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("slide file not found", file=path)
    try:
        osr = openslide.OpenSlide(str(path))
    except openslide.OpenSlideUnsupportedFormatError:
        raise MmdlmError(
            "not a slide OpenSlide can read (unsupported, truncated or corrupt)", file=path
        ) from None
    except READ_ERRORS as exc:
        raise MmdlmError(f"cannot open slide ({exc})", file=path) from None
    return SlideReader(path, osr)
