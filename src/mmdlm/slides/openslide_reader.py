"""The OpenSlide reader behind mmdlm.slides.reader's protocol, with its private fast path: regions are
decoded by openslide_read_region straight into a numpy ARGB buffer (openslide-python's ctypes binding),
skipping the un-premultiply to RGBA that `read_region` would only undo (`reads_argb`, `read_argb`,
`rgb_from_argb`). Nothing outside this module touches openslide-python's private names."""

from __future__ import annotations

import sys
from ctypes import POINTER, c_uint32
from pathlib import Path

import numpy as np
import openslide
import openslide.lowlevel
from PIL import Image

from mmdlm.errors import MmdlmError
from mmdlm.slides.reader import MppKeys, ReaderBase

#: Errors OpenSlide and the image stack raise for a file they cannot read.
READ_ERRORS: tuple[type[BaseException], ...] = (openslide.OpenSlideError, OSError, ValueError)
#: OpenSlide's property names of the pixel size and objective power.
OPENSLIDE_KEYS = MppKeys(
    openslide.PROPERTY_NAME_MPP_X, openslide.PROPERTY_NAME_MPP_Y, openslide.PROPERTY_NAME_OBJECTIVE_POWER
)


def argb_to_rgb(argb: np.ndarray) -> np.ndarray:
    """RGB uint8 [h, w, 3] from OpenSlide's premultiplied ARGB uint32 [h, w], composited onto white:
    c + (255 - alpha), so transparent (unscanned/outside) pixels become white and opaque ones stay as read."""
    argb = np.asarray(argb, dtype=np.uint32)
    white = (255 - (argb >> 24)).astype(np.uint16)
    channels = [((argb >> shift) & 0xFF).astype(np.uint16) + white for shift in (16, 8, 0)]
    return np.minimum(np.stack(channels, axis=-1), 255).astype(np.uint8)


def rgb_from_argb(argb: np.ndarray, reduce: int = 1) -> np.ndarray:
    """RGB uint8 [h // reduce, w // reduce, 3] of a premultiplied ARGB uint32 [h, w] buffer, box-averaged
    over `reduce` x `reduce` blocks (PIL's reduce). When every pixel is opaque (the usual case inside a slide)
    the buffer is reduced where it lies and packed to RGB in one pass; otherwise composited onto white."""
    h, w = argb.shape
    if int(argb.min()) < 0xFF000000 or sys.byteorder != "little":  # alpha is the top byte: not all opaque
        rgb = argb_to_rgb(argb)
        return np.asarray(Image.fromarray(rgb).reduce(reduce)) if reduce > 1 else rgb
    # little-endian ARGB words are the bytes B, G, R, A: mapped as PIL "RGBX" (no copy), packed as "BGR"
    image = Image.frombuffer("RGBX", (w, h), argb, "raw", "RGBX", 0, 1)
    if reduce > 1:
        image = image.reduce(reduce)
    return np.frombuffer(image.tobytes("raw", "BGR"), np.uint8).reshape(image.height, image.width, 3)


class OpenSlideReader(ReaderBase):
    """An open whole-slide image read by OpenSlide (the `openslide` reader). Use `open_slide(path)`."""

    def __init__(self, path: str | Path, osr: openslide.OpenSlide) -> None:
        self.path = Path(path)
        self._osr = osr
        self.properties: dict[str, str] = dict(osr.properties)
        self.dimensions: tuple[int, int] = tuple(osr.dimensions)
        self.level_dimensions: tuple[tuple[int, int], ...] = tuple(tuple(d) for d in osr.level_dimensions)
        self.level_downsamples: tuple[float, ...] = tuple(float(d) for d in osr.level_downsamples)
        self._associated: dict[str, Image.Image | None] = {}
        # openslide_read_region itself (openslide-python's ctypes binding and handle): regions are decoded
        # straight into a numpy buffer, skipping openslide-python's un-premultiply to RGBA that
        # `read_region` would only undo. Absent in another openslide-python: the public call is used.
        self._c_read_region = getattr(openslide.lowlevel, "_read_region", None)
        self._c_handle = getattr(osr, "_osr", None)
        self._resolve(OPENSLIDE_KEYS, openslide.PROPERTY_NAME_VENDOR)

    @property
    def reads_argb(self) -> bool:
        """True when `read_argb` can hand out OpenSlide's own premultiplied ARGB buffers (openslide-python's
        ctypes binding is present)."""
        return self._c_read_region is not None and self._c_handle is not None

    def read_argb(self, location: tuple[int, int], level: int, size: tuple[int, int]) -> np.ndarray:
        """OpenSlide's premultiplied ARGB uint32 [h, w] of `size` (w, h) at `level`, top-left at level-0
        `location`, exactly as decoded; `rgb_from_argb` makes RGB of it. Needs `reads_argb`."""
        if not self.reads_argb:
            raise MmdlmError("this openslide-python has no raw region read", file=self.path)
        x, y, level = int(location[0]), int(location[1]), int(level)
        w, h = int(size[0]), int(size[1])
        argb = np.empty((h, w), dtype=np.uint32)
        if w > 0 and h > 0:
            try:
                self._c_read_region(self._c_handle, argb.ctypes.data_as(POINTER(c_uint32)), x, y, level, w, h)
            except READ_ERRORS as exc:
                raise MmdlmError(f"cannot read slide region ({exc})", file=self.path) from None
        return argb

    def read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int], reduce: int = 1
    ) -> np.ndarray:
        """RGB uint8 [h, w, 3] of `size` (w, h) at `level`, top-left at level-0 `location` (x, y),
        box-averaged over `reduce` x `reduce` blocks (PIL's reduce); transparent pixels (outside the scanned
        area) become white."""
        if self.reads_argb and size[0] > 0 and size[1] > 0:
            return rgb_from_argb(self.read_argb(location, level, size), reduce)
        x, y, level = int(location[0]), int(location[1]), int(level)
        try:
            region = self._osr.read_region((x, y), level, (int(size[0]), int(size[1])))
        except READ_ERRORS as exc:
            raise MmdlmError(f"cannot read slide region ({exc})", file=self.path) from None
        if region.getchannel("A").getextrema()[0] < 255:
            region = Image.alpha_composite(Image.new("RGBA", region.size, (255, 255, 255, 255)), region)
        region = region.convert("RGB")
        return np.asarray(region.reduce(reduce) if reduce > 1 else region)

    def associated_image(self, name: str) -> Image.Image | None:
        """An associated image (thumbnail, label, macro) as RGB; None if the slide has none by that name.
        Decoded once per reader."""
        if name not in self._associated:
            try:
                self._associated[name] = self._decode_associated(name)
            except READ_ERRORS:
                self._associated[name] = None
        return self._associated[name]

    def _decode_associated(self, name: str) -> Image.Image | None:
        """Decode an associated image straight into a buffer and unpack it once to RGB, as regions are
        (2 ms less than openslide-python's RGBA image converted, for an Aperio thumbnail); else the public
        API."""
        if name not in list(self._osr.associated_images):  # iterating lists the names; nothing is decoded
            return None
        read = getattr(openslide.lowlevel, "_read_associated_image", None)
        size = getattr(openslide.lowlevel, "get_associated_image_dimensions", None)
        if read is None or size is None or self._c_handle is None:
            return self._osr.associated_images[name].convert("RGB")
        w, h = size(self._c_handle, name)
        argb = np.empty((h, w), dtype=np.uint32)
        read(self._c_handle, name, argb.ctypes.data_as(POINTER(c_uint32)))
        return Image.fromarray(rgb_from_argb(argb))

    def close(self) -> None:
        """Release the OpenSlide handle."""
        self._osr.close()


def open_openslide(path: Path) -> OpenSlideReader:
    """Open an existing slide file with OpenSlide; MmdlmError naming the file if it is unreadable."""
    try:
        osr = openslide.OpenSlide(str(path))
    except openslide.OpenSlideUnsupportedFormatError:
        raise MmdlmError(
            "not a slide OpenSlide can read (unsupported, truncated or corrupt)", file=path
        ) from None
    except READ_ERRORS as exc:
        raise MmdlmError(f"cannot open slide ({exc})", file=path) from None
    return OpenSlideReader(path, osr)
