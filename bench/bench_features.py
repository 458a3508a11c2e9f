"""Feature-extraction and MIL benchmark: tiles/s of `mmdlm features`' per-slide loop (tissue grid read by
coordinates in a DataLoader worker while the encoder runs) against the pure batched forward of the same
encoder on the same tiles already in memory (its ceiling; goal >= 0.9), and MIL training samples/s. On a CUDA
device the same with a ViT-L/16 (UNI's architecture, random weights, bf16 autocast, channels_last) and the
fraction of the card's dense bf16 throughput (FLOPs from torch's FlopCounterMode; peak 790 TFLOP/s = H200).

    .venv/bin/python bench/bench_features.py [OUT_DIR]     # about 90 s on 2 CPU cores
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

from mmdlm.encoders.config import EncoderConfig
from mmdlm.encoders.registry import build_encoder
from mmdlm.features.config import FeaturesConfig
from mmdlm.features.embed import embed_grid, runtime
from mmdlm.features.tiles import GridTiles, slide_grid
from mmdlm.slides.config import TilingConfig
from mmdlm.synth.tiff import tissue_like, write_array_tiff

#: dense bf16 matrix throughput of an H200 (TFLOP/s)
H200_BF16_TFLOPS = 790.0


def _slide(folder: Path, height: int, width: int) -> Path:
    return write_array_tiff(
        folder / "bench.tiff", tissue_like(height, width, seed=5, blobs=14), mpp=0.5, downsamples=(1, 4, 16)
    )


def _pure_rate(encoder, tiles: torch.Tensor, rt, repeats: int = 1) -> float:
    """Tiles/s of encoder.embed over in-memory uint8 tiles in batches (no decoding, no DataLoader)."""
    encoder.embed(tiles[: rt.batch_size].to(rt.device), channels_last=rt.channels_last, bf16=rt.bf16)  # warm
    _sync(rt.device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        for start in range(0, len(tiles), rt.batch_size):
            batch = tiles[start : start + rt.batch_size].to(rt.device, non_blocking=True)
            encoder.embed(batch, channels_last=rt.channels_last, bf16=rt.bf16)
    _sync(rt.device)
    return repeats * len(tiles) / (time.perf_counter() - t0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def extraction_vs_forward(
    folder: Path, encoder_cfg: EncoderConfig, features: FeaturesConfig, size: tuple[int, int], tile_size: int
) -> dict:
    """Extraction tiles/s of one slide vs the pure forward of the same tiles (all tiles kept: blur off)."""
    tiling = TilingConfig(magnifications=(20.0,), tile_size=tile_size, blur_threshold=0.0)
    grid = slide_grid(_slide(folder, *size), tiling)
    rt = runtime(features, in_worker=False)
    encoder = build_encoder(encoder_cfg).to(rt.device)
    if rt.channels_last:
        encoder = encoder.to(memory_format=torch.channels_last)
    data = GridTiles(grid, 0.0)
    tiles = torch.stack([tile for _, _, tile, _ in data])
    pure = _pure_rate(encoder, tiles, rt)
    embed_grid(encoder, grid, 0.0, rt)  # warm: workers' imports, allocator
    _sync(rt.device)
    t0 = time.perf_counter()
    parts, _ = embed_grid(encoder, grid, 0.0, rt)
    _sync(rt.device)
    rate = sum(len(p.coords) for p in parts) / (time.perf_counter() - t0)
    return {
        "tiles": len(tiles),
        "extraction_tiles_per_s": round(rate, 1),
        "forward_tiles_per_s": round(pure, 1),
        "ratio": round(rate / pure, 3),
        "encoder": encoder.identity.label,
        "loader_workers": rt.num_workers,
        "device": rt.device.type,
        "bf16": rt.bf16,
    }


def mil_training(n: int = 240, dim: int = 512) -> dict:
    """MIL training samples/s (patients per second) on planted bags of 100-600 tiles (512 drawn per step)."""
    from mmdlm.config import Config
    from mmdlm.mil.bags import feature_dims
    from mmdlm.mil.config import MilConfig
    from mmdlm.mil.staged import build_mil
    from mmdlm.mil.toy import planted_bags
    from mmdlm.mil.train import fit

    records = planted_bags(n=n, dim=dim, instances=(100, 600))
    cfg = Config(mil=MilConfig(max_instances=512))
    dims = feature_dims(records)
    model = build_mil(cfg, "cox", dims, 0)
    fit(model, records, ("tile_10x", "tile_5x"), cfg.mil, 1, 0, dims, 0)  # warm
    t0 = time.perf_counter()
    seen = fit(model, records, ("tile_10x", "tile_5x"), cfg.mil, 3, 0, dims, 0)
    return {
        "samples_per_s": round(seen / (time.perf_counter() - t0), 1),
        "patients": n,
        "feature_dim": dim,
        "threads": cfg.mil.cpu_threads,
    }


def gpu_vit_large(folder: Path) -> dict:
    """ViT-L/16 (UNI's architecture, random weights) on CUDA: extraction vs forward, fraction of bf16 peak."""
    from torch.utils.flop_counter import FlopCounterMode

    vit = EncoderConfig(
        family="timm",
        name="vit_large_patch16_224",
        weights="random",
        kwargs={"init_values": 1.0e-5, "dynamic_img_size": True},
        label="ViT-L/16 (random)",
    )
    features = FeaturesConfig(batch_size=256, num_workers=8, device="cuda")
    figures = extraction_vs_forward(folder, vit, features, (8192, 12288), 224)
    encoder = build_encoder(vit).cuda()
    x = torch.zeros(1, 3, 224, 224, device="cuda")
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        encoder(x)
    flops = counter.get_total_flops()
    figures["gflop_per_tile"] = round(flops / 1e9, 2)
    figures["fraction_of_bf16_peak"] = round(
        figures["forward_tiles_per_s"] * flops / (H200_BF16_TFLOPS * 1e12), 3
    )
    figures["gpu"] = torch.cuda.get_device_name()
    return figures


def run(out_dir: Path) -> dict:
    """Every figure of this bench (the GPU one only where CUDA is available)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        cpu = extraction_vs_forward(
            Path(tmp),
            EncoderConfig(name="resnet18", weights="random"),
            FeaturesConfig(batch_size=32, num_workers=1, device="cpu"),
            (3072, 4096),
            224,
        )
        torch.set_num_threads(threads)
        figures = {"cpu_resnet18_224px": cpu, "mil_training": mil_training()}
        if torch.cuda.is_available():
            figures["gpu_vit_l16_224px"] = gpu_vit_large(Path(tmp))
        else:
            figures["gpu_vit_l16_224px"] = "skipped: no CUDA device"
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench/out/features")), indent=2))
