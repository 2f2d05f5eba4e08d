#!/usr/bin/env bash
# The GPU checks in one short run, for the minutes a GPU machine is lent:
# the supernet's weight and architecture steps at the paper's setting (321x321, batch 2) in
# fp32 and bf16 autocast, with and without activation checkpointing, on both paths (step times,
# peak GPU memory), and a tiny bf16 search end to end on CUDA. Runs under the machine's own
# python3 and torch (no venv there, no downloads).
# Usage: bash bench/gpu_check.sh [OUT_DIR]   (default $OUT, else /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-/tmp}}"
mkdir -p "$out"
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
# the fast path (the search's default) in both precisions, checkpointed, and the reference
for run in "fast fp32" "fast bf16" "fast fp32 --checkpoint-activations" "reference fp32"; do
  set -- $run
  name="bench-321-$1-$2${3:+-checkpointed}"
  python3 bench/supernet_step.py --device cuda --path "$1" --precision "$2" ${3:-} \
    --size 321 --batch 2 --steps 5 --warmup 2 | tee "$out/$name.txt"
done
python3 - "$out/gpu_search" <<'PY' | tee "$out/gpu_search.txt"
import logging, sys
from pathlib import Path
from nas_core import SearchCallbacks, SearchConfig, Searcher, SupernetConfig
from nas_core.data import open_source
logging.basicConfig(level=logging.INFO)
train = open_source("synthetic", None, "train", num_classes=3, num_samples=16, image_size=64)
val = open_source("synthetic", None, "val", num_classes=3, num_samples=4, image_size=64)
search = SearchConfig(epochs=2, arch_start_epoch=1, batch_size=4, crop_size=64,
                      device="cuda", precision="bf16", val_batches=1)
net = SupernetConfig(num_classes=3, layers=4, filter_multiplier=4)
result = Searcher(net, search, train, val, Path(sys.argv[1])).run()
print("cuda bf16 search:", result.epochs_completed, "epochs, genotype", result.genotype.to_dict())
PY
