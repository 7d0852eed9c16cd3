#!/usr/bin/env bash
# The long runs, in resumable pieces: each call trains for at most PIECE_MINUTES (default 8) and exits
# with a checkpoint; call it again (any day later) to continue. `scripts/train/pretrain_gpu.sh NAME` with
# NAME one of:
#   attention   8-layer d=512 attention model from scratch (the base of the continued-pretraining study)
#   ratplus     the same with the RAT+ memory, RAT+'s recipe (joint dilated D=64 + dense steps)
#   memory-cpt  --add-memory on the exported attention model, memory lr 10x the rest (paper §3.2)
#   control-cpt the matched control: the same command without --add-memory
#   sft-memory / sft-control  NIAH SFT (lr 1e-5, batch 32, seq 4096) of the two continued models
#               (needs $WORK/niah_train.sft from data_gpu.sh with NIAH_TRAIN_JSONL set)
# NPROC=2 or 4 uses that many GPUs of the machine (same global batch, so the same trajectory).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
name=${1:?usage: pretrain_gpu.sh attention|ratplus|memory-cpt|control-cpt}
common=(--device cuda --nproc "${NPROC:-1}" --data "$WORK/shards" --tokenizer "$WORK/tokenizer.model"
        --seq-len 4096 --batch 32 --micro-batch 8 --max-minutes "${PIECE_MINUTES:-8}" --checkpoint-minutes 4
        --log-every 20 --run-dir "$WORK/$name")
model=(--family llama --layers 8 --hidden 512 --heads 8 --max-pos 4096)
case "$name" in
  attention) "$TRAIN" pretrain "${common[@]}" "${model[@]}" --steps 4000 --warmup 200 --lr 1e-3 --min-lr 1e-4 ;;
  ratplus) "$TRAIN" pretrain "${common[@]}" --family ratplus --layers 8 --hidden 512 --heads 4 --steps 4000 \
             --warmup 200 --lr 1e-3 --min-lr 1e-4 --joint-dilated 64 ;;
  memory-cpt|control-cpt)
    base="$WORK/attention/model"
    [[ -f $base/config.json ]] || "$TRAIN" export --checkpoint "$WORK/attention" --out "$base" --dtype f32
    extra=()
    [[ $name == memory-cpt ]] && extra=(--add-memory --memory-lr-mult 10)
    "$TRAIN" pretrain "${common[@]}" --init-from "$base" --steps 1000 --warmup 20 --lr 1e-4 --min-lr 1e-5 "${extra[@]}" ;;
  sft-memory|sft-control)
    base="$WORK/${name#sft-}-cpt/model"
    "$TRAIN" sft --device cuda --nproc "${NPROC:-1}" --data "$WORK/niah_train.sft" --tokenizer "$WORK/tokenizer.model" \
      --init-from "$base" --seq-len 4096 --batch 32 --micro-batch 8 --steps 2000 --warmup 100 --lr 1e-5 --min-lr 1e-6 \
      --max-minutes "${PIECE_MINUTES:-8}" --checkpoint-minutes 4 --log-every 20 --run-dir "$WORK/$name" ;;
  *) echo "unknown run $name" >&2; exit 2 ;;
esac
if grep -q '"step":\(4000\|2000\|1000\),' "$WORK/$name/metrics.jsonl" 2>/dev/null; then
  "$TRAIN" export --checkpoint "$WORK/$name" --out "$WORK/$name/model" --dtype bf16
  "$TRAIN" plot --metrics "$WORK/$name" --out "$WORK/$name/loss.svg"
fi
