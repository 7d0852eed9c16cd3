#!/usr/bin/env bash
# The main job: set up, build, then show the engine end to end on this machine — a ~34M-parameter RAT+
# memory model and its attention twin, written by `ratkv init`, checked for parity with the plain
# reference implementation, run, and benchmarked against the machine's measured limits.
# (Once trained model pairs ship under models/, this runs the NIAH comparison on them instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bin=build/ratkv
work=${RATKV_WORK:-build/demo}
mkdir -p "$work"

echo "== two random 8-layer d=512 models: RAT+ with memory, and without"
$bin init -m "$work/memory" --family ratplus --layers 8 --hidden 512 --heads 8 --vocab 8192 --seed 1
$bin init -m "$work/attention" --family ratplus --no-memory --layers 8 --hidden 512 --heads 8 --vocab 8192 --seed 1
$bin inspect -m "$work/memory" | sed -n 1,12p

echo "== exactness: optimized engine vs plain reference, HF transformers and RAT+ fixtures"
build/ratkv_tests --gtest_brief=1 --gtest_filter='*ModelExactness*:*ReferenceFixture*:Kernels*'

echo "== generate (greedy) from token ids"
$bin generate -m "$work/memory" --ids 1,2,3,4 -n 16 --stats

echo "== bench"
$bin bench -m "$work/memory" -p 512 -n 32 -d 0,4096
$bin bench -m "$work/attention" -p 512 -n 32 -d 0,4096 --skip-limits
