#!/usr/bin/env bash
# The trainer tests on the GPU machine: the CUDA memory-scan kernel against the reference (forward and
# gradients, odd sizes) plus the whole CPU suite against libtorch 2.11. ~3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
"$BUILD/src/train/ratkv_train_tests" --gtest_brief=1
