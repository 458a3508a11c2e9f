"""The batched colour jitter gives exactly the pixels of the per-image one (torchvision's kernels)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmdlm.data.transforms import (
    augment_tile,
    colour_jitter,
    colour_jitter_batch,
    flip_rotate,
    jitter_factors,
)


@pytest.mark.parametrize("size", [32, 17])  # 17: rows that end in the kernels' scalar tails
@pytest.mark.parametrize("threads", [1, 2])
def test_batched_colour_jitter_equals_the_per_image_jitter(size: int, threads: int) -> None:
    rng = np.random.default_rng(size)
    images = torch.from_numpy(rng.integers(0, 256, (24, 3, size, size), dtype=np.uint8))
    images[0], images[1], images[2] = 0, 255, 128  # black, white, grey: hue and saturation undefined
    images[3, :, :4] = 9  # a grey band in a coloured image
    factors = [jitter_factors(rng, 0.4) for _ in images]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        batched = colour_jitter_batch(images, factors)
        one_by_one = torch.stack([colour_jitter(im, f) for im, f in zip(images, factors, strict=True)])
    finally:
        torch.set_num_threads(before)
    assert batched.dtype == torch.uint8 and torch.equal(batched, one_by_one)
    assert not torch.equal(batched, images)  # it did change the pixels


def test_augment_tile_is_flip_rotate_then_colour_jitter_with_the_same_draws() -> None:
    t = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 16, 16), dtype=np.uint8))
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    whole = augment_tile(t, a, 0.1)
    parts = colour_jitter(flip_rotate(t, b), jitter_factors(b, 0.1))
    assert torch.equal(whole, parts) and a.random() == b.random()  # both generators left alike
