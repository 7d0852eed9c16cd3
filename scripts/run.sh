#!/usr/bin/env bash
# The main job: set up, build, then the NIAH comparison on the two shipped model pairs (models/, trained by
# ratkv-train, docs/training.md): RAT+ with the memory next to its attention twin (from scratch), and an
# OLMo2-architecture model continued with the memory added next to its matched control. For each pair: the
# 8 RULER NIAH tasks at 4,096 tokens, dense and the three query-aware sparse methods at 1/8 of the context,
# with the report's table (means, 95% bootstrap intervals, paired tests). Then the engine's exactness
# checks and a decode benchmark of the memory model. A few minutes on 2 cores; NIAH_SAMPLES sets the
# samples per task (default 1: a demonstration, not a measurement — docs/results.md has the measured grids).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bin=build/ratkv
work=${RATKV_WORK:-build/demo}
samples=${NIAH_SAMPLES:-1}
mkdir -p "$work"

# compare TITLE NAME=DIR,NAME=DIR: the NIAH comparison of one pair (control first: differences read memory − it)
compare() {
  local title=$1 models=$2 out=$work/niah-$3
  rm -rf "$out"
  echo "== $title: 8 tasks x $samples samples at 4096 tokens; dense, Quest, MoBA, SnapKV at 1/8 (seed-paper settings)"
  $bin niah --models "$models" --sparse dense,quest:b=64,moba:b=64,snapkv:w=64 --budgets 1/8 --tasks all \
    --lengths 4096 --samples "$samples" --out "$out" --no-progress
  $bin report "$out" > /dev/null
  cat "$out/report/summary.md"
}

echo "== the shipped models"
$bin inspect -m models/ratplus-mem-s0 | sed -n 1,11p
for m in models/ratplus-attn-s0 models/olmo2-cpt-mem-s0 models/olmo2-cpt-ctl-s0; do $bin inspect -m $m | sed -n 1,6p; done

compare "RAT+ from scratch: attention vs memory" attention=models/ratplus-attn-s0,memory=models/ratplus-mem-s0 ratplus
compare "OLMo2 continued pretraining: control vs memory added" \
  control=models/olmo2-cpt-ctl-s0,memory=models/olmo2-cpt-mem-s0 olmo2

echo "== exactness: optimized engine vs plain reference, HF transformers and RAT+ fixtures"
build/ratkv_tests --gtest_brief=1 --gtest_filter='*ModelExactness*:*ReferenceFixture*:Kernels*'

echo "== bench: the memory model, prefill 512 and decode at depth 0 and 4096"
$bin bench -m models/ratplus-mem-s0 -p 512 -n 32 -d 0,4096
