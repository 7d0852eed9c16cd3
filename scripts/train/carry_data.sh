#!/usr/bin/env bash
# Makes, on this (CPU) machine, everything a training campaign carries to the GPU machine, in $CARRY
# (default out/carry, git-ignored; ~25 MB): the corpus (xz), the tokenizer trained on it, and the NIAH
# fine-tuning sets (xz) — the GPU image has neither the documentation packages nor linux-doc's essays.
#   1. corpus.jsonl from the Debian documentation packages (scripts/setup.sh --corpus), the evaluation
#      essay files excluded; 8,192-piece SentencePiece tokenizer trained on it.
#   2. the NIAH evaluation split at 4,096 tokens (500 samples per task, seed 42): generated only so that
#      the train split can exclude its keys and values (and for `ratkv niah` later, same prompts).
#   3. the train split (seed 20240917, other essay files, evaluation keys/values excluded): 2,000 samples
#      per task at 1,024 tokens and 1,000 at 4,096; checked disjoint from the evaluation split; tokenized
#      into SFT files (loss on the answer only).
#   4. niah_check.tar.xz: the first 10 evaluation samples per task, for the campaign's in-lease check;
#      niah_eval500.tar.xz: all 500, for the seed grid on a device host (scripts/train/device_grid.sh GRID_EVAL).
# Needs build/ratkv and build-train/src/train/ratkv-train-data (scripts/build.sh, RATKV_TRAIN=ON).
# ~20 minutes on 2 cores. Each step is skipped when its output exists.
# EVAL_ONLY=1 makes only the evaluation split and its two tarballs (a minute; needs only build/ratkv and
# scripts/setup.sh's packages), with the shipped models' tokenizer, which step 1 remakes byte for byte.
set -euo pipefail
cd "$(dirname "$0")/../.."
RATKV=${RATKV:-build/ratkv}
DATA=${DATA:-build-train/src/train/ratkv-train-data}
WORK=${WORK:-out/train}
CARRY=${CARRY:-out/carry}
SFT=${SFT:-out/sft}
mkdir -p "$WORK" "$CARRY" "$SFT"

if [[ ${EVAL_ONLY:-0} == 1 ]]; then
  cp models/ratplus-attn-s0/tokenizer.model "$WORK/tokenizer.model"
else
  [[ -f $WORK/corpus.jsonl ]] || "$DATA" corpus --out "$WORK/corpus.jsonl" --exclude-list data/essay_sources.txt
  [[ -f $WORK/tokenizer.model ]] || "$DATA" tokenizer --corpus "$WORK/corpus.jsonl" --vocab 8192 --out "$WORK/tokenizer.model"
  [[ -f $CARRY/corpus.jsonl.xz ]] || xz -T0 -6 -c "$WORK/corpus.jsonl" > "$CARRY/corpus.jsonl.xz"
fi
cp "$WORK/tokenizer.model" "$CARRY/tokenizer.model"

# The generator needs a model directory for the tokenizer: a one-layer stand-in holding it.
tok=$SFT/tokenizer-model
[[ -f $tok/config.json ]] || "$RATKV" init -m "$tok" --family ratplus --layers 1 --hidden 64 --heads 1 \
  --tokenizer "$WORK/tokenizer.model" > /dev/null
niah=("$RATKV" niah --models "tok=$tok" --tasks all --generate-only --no-progress)
[[ -d $SFT/eval/data ]] || "${niah[@]}" --lengths 4096 --samples 500 --out "$SFT/eval"
sft_specs="1k:1024:2000 4k:4096:1000"
[[ ${EVAL_ONLY:-0} == 1 ]] && sft_specs=""
for spec in $sft_specs; do
  IFS=: read -r name length samples <<< "$spec"
  [[ -f $CARRY/niah_$name.sft.xz ]] && continue
  [[ -d $SFT/train$name/data ]] || "${niah[@]}" --split train --exclude "$SFT/eval" --lengths "$length" \
    --samples "$samples" --out "$SFT/train$name"
  "$RATKV" niah --check-disjoint "$SFT/eval,$SFT/train$name"
  cat "$SFT/train$name"/data/tok/"$length"/*/train.jsonl > "$SFT/train$name.jsonl"
  "$DATA" sft-tokens --data "$SFT/train$name.jsonl" --tokenizer "$WORK/tokenizer.model" --out "$SFT/niah_$name.sft"
  xz -T0 -6 -c "$SFT/niah_$name.sft" > "$CARRY/niah_$name.sft.xz"
done
# The in-lease check (campaign_gpu.sh): the first 10 evaluation samples of each task, RULER layout.
if [[ ! -f $CARRY/niah_check.tar.xz ]]; then
  rm -rf "$SFT/niah_check"
  for f in "$SFT"/eval/data/tok/4096/*/validation.jsonl; do
    task=$(basename "$(dirname "$f")")
    mkdir -p "$SFT/niah_check/$task"
    head -n 10 "$f" > "$SFT/niah_check/$task/validation.jsonl"
  done
  tar cJf "$CARRY/niah_check.tar.xz" -C "$SFT/niah_check" .
fi
[[ -f $CARRY/niah_eval500.tar.xz ]] || tar cJf "$CARRY/niah_eval500.tar.xz" -C "$SFT/eval/data/tok/4096" .
ls -l "$CARRY"
