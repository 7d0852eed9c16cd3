#!/usr/bin/env bash
# Data parallelism on a 2-GPU machine: 2 ranks (NCCL) and 1 rank with the same global batch must end at
# the same loss (to bf16 rounding). ~2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
args=(pretrain --device cuda --data "$WORK/shards" --tokenizer "$WORK/tokenizer.model" --family llama --memory
      --layers 4 --hidden 256 --heads 4 --seq-len 1024 --batch 16 --steps 30 --log-every 10)
rm -rf "$WORK/dp1" "$WORK/dp2"
"$TRAIN" "${args[@]}" --run-dir "$WORK/dp1" --micro-batch 8
"$TRAIN" "${args[@]}" --run-dir "$WORK/dp2" --nproc 2
tail -n 1 "$WORK/dp1/metrics.jsonl" "$WORK/dp2/metrics.jsonl"
