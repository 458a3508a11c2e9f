"""The tiffslide reader behind mmdlm.slides.reader's protocol (config `tiling.reader: tiffslide`): pure
Python on tifffile + imagecodecs, and it opens what fsspec opens. No ARGB fast path: regions come from
tiffslide's `read_region(as_array=True)`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tiffslide
from PIL import Image

from mmdlm.errors import MmdlmError
from mmdlm.slides.reader import MppKeys, ReaderBase

#: Errors tiffslide and the image stack raise for a file they cannot read.
READ_ERRORS: tuple[type[BaseException], ...] = (tiffslide.TiffFileError, OSError, ValueError, KeyError)
TIFFSLIDE_KEYS = MppKeys(
    tiffslide.PROPERTY_NAME_MPP_X, tiffslide.PROPERTY_NAME_MPP_Y, tiffslide.PROPERTY_NAME_OBJECTIVE_POWER
)


class TiffSlideReader(ReaderBase):
    """An open whole-slide image read by tiffslide (the `tiffslide` reader): open_slide(path, "tiffslide")."""

    def __init__(self, path: str | Path, ts: tiffslide.TiffSlide) -> None:
        self.path = Path(path)
        self._ts = ts
        # tiffslide types its property values (floats, ints, None); the protocol's are OpenSlide-like strings
        self.properties: dict[str, str] = {k: str(v) for k, v in ts.properties.items() if v is not None}
        self.dimensions: tuple[int, int] = tuple(int(v) for v in ts.dimensions)
        self.level_dimensions: tuple[tuple[int, int], ...] = tuple(
            (int(d[0]), int(d[1])) for d in ts.level_dimensions
        )
        self.level_downsamples: tuple[float, ...] = tuple(float(d) for d in ts.level_downsamples)
        self._associated: dict[str, Image.Image | None] = {}
        self._resolve(TIFFSLIDE_KEYS, tiffslide.PROPERTY_NAME_VENDOR)

    @property
    def reads_argb(self) -> bool:
        """No ARGB fast path in this backend."""
        return False

    def read_argb(self, location: tuple[int, int], level: int, size: tuple[int, int]) -> np.ndarray:
        """Not available (reads_argb is False): a clear error."""
        raise MmdlmError("the tiffslide reader has no raw ARGB region read", file=self.path)

    def read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int], reduce: int = 1
    ) -> np.ndarray:
        """RGB uint8 [h, w, 3] of `size` (w, h) at `level`, top-left at level-0 `location` (x, y),
        box-averaged over `reduce` blocks (PIL's reduce); an RGBA level is composited onto white."""
        xy, wh = (int(location[0]), int(location[1])), (int(size[0]), int(size[1]))
        try:
            arr = self._ts.read_region(xy, int(level), wh, as_array=True)
        except READ_ERRORS as exc:
            raise MmdlmError(f"cannot read slide region ({exc})", file=self.path) from None
        arr = np.asarray(arr)
        if arr.ndim == 3 and arr.shape[2] == 4:  # RGBA: composite onto white like the OpenSlide reader
            alpha = arr[..., 3:4].astype(np.uint16)
            arr = ((arr[..., :3].astype(np.uint16) * alpha + 255 * (255 - alpha)) // 255).astype(np.uint8)
        rgb = np.ascontiguousarray(arr[..., :3], dtype=np.uint8)
        return np.asarray(Image.fromarray(rgb).reduce(reduce)) if reduce > 1 else rgb

    def associated_image(self, name: str) -> Image.Image | None:
        """An associated image (thumbnail, label, macro) as RGB; None if the slide has none by that name."""
        if name not in self._associated:
            try:
                images = self._ts.associated_images
                self._associated[name] = images[name].convert("RGB") if name in images else None
            except READ_ERRORS:
                self._associated[name] = None
        return self._associated[name]

    def close(self) -> None:
        """Release the file handle."""
        self._ts.close()


def open_tiffslide(path: Path) -> TiffSlideReader:
    """Open an existing slide file with tiffslide; MmdlmError naming the file if it is unreadable."""
    try:
        ts = tiffslide.TiffSlide(str(path))
    except READ_ERRORS as exc:
        raise MmdlmError(f"not a slide tiffslide can read ({exc})", file=path) from None
    return TiffSlideReader(path, ts)
