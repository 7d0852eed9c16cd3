#!/usr/bin/env bash
# Corpus → tokenizer → token shards (once; ~5 minutes), plus the NIAH SFT split when NIAH_TRAIN_JSONL
# names the generator's train-split JSONL. The corpus excludes the evaluation essay files
# (data/essay_sources.txt, the NIAH haystack list) when that list exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
mkdir -p "$WORK"
exclude=()
[[ -f data/essay_sources.txt ]] && exclude=(--exclude-list data/essay_sources.txt)
[[ -f $WORK/corpus.jsonl ]] || "$DATA" corpus --out "$WORK/corpus.jsonl" "${exclude[@]}"
[[ -f $WORK/tokenizer.model ]] || "$DATA" tokenizer --corpus "$WORK/corpus.jsonl" --vocab 8192 --out "$WORK/tokenizer.model"
[[ -d $WORK/shards ]] || "$DATA" shards --corpus "$WORK/corpus.jsonl" --tokenizer "$WORK/tokenizer.model" --out "$WORK/shards"
if [[ -n ${NIAH_TRAIN_JSONL:-} ]]; then
  "$DATA" sft-tokens --data "$NIAH_TRAIN_JSONL" --tokenizer "$WORK/tokenizer.model" --out "$WORK/niah_train.sft"
fi
