#!/usr/bin/env bash
# Issue item 8: training throughput on one H100 of the 8-layer, d=512, vocab-8192 model at sequence 4096
# (target >= 600K tokens/s for attention; memory step time <= 1.3x attention's). Prints one JSON line per
# variant (attention, memory dense step, memory joint dilated+dense pair) and the ratio. ~2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
for family in ratplus llama; do
  "$TRAIN" bench --device cuda --family "$family" --layers 8 --hidden 512 --vocab 8192 --seq-len 4096 \
    --batch 16 --micro-batch "${MICRO:-8}" --steps 10 --warmup 3 --joint-dilated 64
done
