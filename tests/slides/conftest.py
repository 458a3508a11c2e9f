"""Fixtures for mmdlm.slides: the real Aperio slide and small synthetic pyramidal TIFFs written per test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmdlm.synth.tiff import tissue_like, write_array_tiff


@pytest.fixture(scope="session")
def cmu_slide(shared_data: Path) -> Path:
    """The real Aperio slide CMU-1-Small-Region.svs (2220 x 2967 at 0.499 um/px, one level)."""
    path = shared_data / "slides" / "CMU-1-Small-Region.svs"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return path


@pytest.fixture(scope="session")
def synthetic_rgb() -> np.ndarray:
    """A 1536 x 2048 H&E-like image (tissue blobs on glass)."""
    return tissue_like(1536, 2048, seed=4, blobs=8)


@pytest.fixture(scope="session")
def synthetic_slide(tmp_path_factory: pytest.TempPathFactory, synthetic_rgb: np.ndarray) -> Path:
    """synthetic_rgb as a 3-level JPEG pyramid (downsamples 1, 4, 16) at 0.25 um/px (~40x)."""
    path = tmp_path_factory.mktemp("synthetic") / "synthetic.tiff"
    return write_array_tiff(path, synthetic_rgb, mpp=0.25, downsamples=(1, 4, 16))


@pytest.fixture(scope="session")
def blank_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A white slide (glass only) at 0.5 um/px."""
    path = tmp_path_factory.mktemp("blank") / "blank.tiff"
    return write_array_tiff(path, np.full((1024, 1024, 3), 243, np.uint8), mpp=0.5, downsamples=(1, 4))


@pytest.fixture(scope="session")
def no_mpp_slide(tmp_path_factory: pytest.TempPathFactory, synthetic_rgb: np.ndarray) -> Path:
    """A generic TIFF with neither a pixel size nor an objective power."""
    path = tmp_path_factory.mktemp("nompp") / "nompp.tiff"
    return write_array_tiff(path, synthetic_rgb[:512, :512], mpp=None, downsamples=(1,))


def corrupt_tile_data(src: Path, dst: Path) -> Path:
    """Copy a tifffile-written TIFF, zeroing the compressed data of the middle half of every level's tiles
    (the file still opens; reading those tiles fails)."""
    import tifffile

    data = bytearray(src.read_bytes())
    with tifffile.TiffFile(src) as tif:
        for page in tif.pages:
            offsets, counts = page.dataoffsets, page.databytecounts
            n = len(offsets)
            for off, cnt in list(zip(offsets, counts, strict=True))[n // 4 : max(n // 4 + 1, 3 * n // 4)]:
                data[off : off + cnt] = bytes(cnt)
    dst.write_bytes(bytes(data))
    return dst
