#!/usr/bin/env bash
# Training and inference benchmarks on a CUDA GPU (bf16 autocast, channels_last, pinned memory, 8 loader
# workers, non-blocking copies), within 5 minutes. Prints samples/s per stage at 64 and 224 px, the pure
# forward (markup-style) samples/s, the end-to-end/in-memory ratio, and the fraction of the card's dense bf16
# matrix throughput (FLOPs counted by torch's FlopCounterMode; peak 790 TFLOP/s = H200).
#   bash bench/gpu.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT="${1:-bench/out/gpu}"
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible')"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
timeout 290 "$PY" bench/bench_training.py "$OUT" --gpu
