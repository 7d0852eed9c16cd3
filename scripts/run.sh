#!/usr/bin/env bash
# The main job: set up, build, then the NIAH comparison on the shipped model pair (models/, trained by
# ratkv-train: RAT+ with the memory and its attention twin, docs/training.md) — the 8 RULER NIAH tasks at
# 4,096 tokens, dense and the three query-aware sparse methods at 1/8 of the context, on both models, with
# the report's table (means, 95% bootstrap intervals, paired tests). Then the engine's exactness checks
# and a decode benchmark of the memory model. A few minutes on 2 cores; NIAH_SAMPLES sets the samples per
# task (default 2: a demonstration, not a measurement — docs/results.md has the measured grid).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bin=build/ratkv
work=${RATKV_WORK:-build/demo}
samples=${NIAH_SAMPLES:-2}
rm -rf "$work/niah"
mkdir -p "$work"

echo "== the shipped pair"
$bin inspect -m models/ratplus-mem-s0 | sed -n 1,11p
$bin inspect -m models/ratplus-attn-s0 | sed -n 3,5p

echo "== NIAH: 8 tasks x $samples samples at 4096 tokens; dense, Quest, MoBA, SnapKV at 1/8 (seed-paper settings)"
$bin niah --models attention=models/ratplus-attn-s0,memory=models/ratplus-mem-s0 \
  --sparse dense,quest:b=64,moba:b=64,snapkv:w=64 --budgets 1/8 --tasks all --lengths 4096 \
  --samples "$samples" --out "$work/niah" --no-progress
$bin report "$work/niah" > /dev/null
cat "$work/niah/report/summary.md"

echo "== exactness: optimized engine vs plain reference, HF transformers and RAT+ fixtures"
build/ratkv_tests --gtest_brief=1 --gtest_filter='*ModelExactness*:*ReferenceFixture*:Kernels*'

echo "== bench: the memory model, prefill 512 and decode at depth 0 and 4096"
$bin bench -m models/ratplus-mem-s0 -p 512 -n 32 -d 0,4096
