"""The two slide-reader backends (tiling.reader: openslide | tiffslide) give the same tiles on the real Aperio
slide and on a synthetic pyramid: identical pixels (both decode JPEG with libjpeg-turbo), same coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmdlm.errors import MmdlmError
from mmdlm.slides import open_store, tile_slides
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.reader import open_slide
from mmdlm.slides.store import params_hash

CFG = TilingConfig(tile_size=96)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, cmu_slide: Path, synthetic_slide: Path) -> dict[str, Path]:
    """The two slides tiled once with each backend."""
    table = pd.DataFrame(
        [("cmu", "P1", str(cmu_slide)), ("syn", "P2", str(synthetic_slide))],
        columns=["slide_id", "patient_id", "path"],
    )
    out = {}
    for reader in ("openslide", "tiffslide"):
        out[reader] = tmp_path_factory.mktemp(reader)
        summary = tile_slides(table, out[reader], CFG.model_copy(update={"reader": reader}), progress=False)
        assert summary["failed"] == [], summary["failed"]
    return out


@pytest.mark.parametrize("slide_id", ["cmu", "syn"])
def test_same_tiles_from_both_backends(both: dict[str, Path], slide_id: str) -> None:
    with (
        open_store(both["openslide"] / f"{slide_id}.h5") as a,
        open_store(both["tiffslide"] / f"{slide_id}.h5") as b,
    ):
        for m in CFG.magnifications:
            assert a.n_tiles(m) > 0
            np.testing.assert_array_equal(a.coords(m), b.coords(m))
            np.testing.assert_array_equal(a.tiles(m)[:], b.tiles(m)[:])
        assert b.identity["mpp_x"] == pytest.approx(a.identity["mpp_x"])


def test_same_regions_and_geometry(cmu_slide: Path, synthetic_slide: Path) -> None:
    for path in (cmu_slide, synthetic_slide):
        with open_slide(path, "openslide") as a, open_slide(path, "tiffslide") as b:
            assert (a.dimensions, a.level_dimensions) == (b.dimensions, b.level_dimensions)
            assert a.level_downsamples == pytest.approx(b.level_downsamples)
            assert (a.mpp.x, a.mpp.y) == pytest.approx((b.mpp.x, b.mpp.y))
            level = a.level_count - 1
            np.testing.assert_array_equal(
                a.read_region((64, 32), level, (80, 60), 2), b.read_region((64, 32), level, (80, 60), 2)
            )


def test_the_default_backend_keeps_existing_hashes_and_unknown_is_refused(cmu_slide: Path) -> None:
    # the hash mmdlm wrote for this config before `tiling.reader` existed: stores tiled then stay fresh
    assert params_hash(CFG, 0) == "706a2e55089957ddd51d60474aa75fe9"
    assert params_hash(CFG.model_copy(update={"reader": "tiffslide"}), 0) != params_hash(CFG, 0)
    with pytest.raises(MmdlmError, match="unknown slide reader") as exc:
        open_slide(cmu_slide, "nope")
    assert exc.value.field == "tiling.reader"
