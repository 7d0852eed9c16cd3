#!/usr/bin/env bash
# A 3-minute smoke run on the GPU: a small memory model pretrains on the shards of data_gpu.sh in two
# pieces (stop, resume), is exported and read back by ratkv, and the loss curve is drawn.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
run="$WORK/smoke"
rm -rf "$run"
args=(pretrain --device cuda --data "$WORK/shards" --tokenizer "$WORK/tokenizer.model" --family ratplus
      --layers 4 --hidden 256 --heads 4 --seq-len 1024 --batch 16 --steps 200 --warmup 20 --lr 1e-3
      --joint-dilated 64 --log-every 10 --run-dir "$run")
"$TRAIN" "${args[@]}" --stop-at 100
"$TRAIN" "${args[@]}"
"$TRAIN" export --checkpoint "$run" --out "$run/model" --dtype bf16
"$RATKV" generate -m "$run/model" -p "The kernel" -n 32 || true
"$TRAIN" plot --metrics "$run" --out "$run/loss.svg"
tail -n 2 "$run/metrics.jsonl"
