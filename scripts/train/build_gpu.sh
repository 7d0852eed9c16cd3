#!/usr/bin/env bash
# Builds ratkv, ratkv-train and the trainer tests against the GPU image's libtorch (CUDA kernels for
# H100, sm_90). ~5 minutes on 16 cores (ratkv alone, TARGETS=ratkv: about one). Needs the Debian
# packages of scripts/setup.sh --train (for nlohmann-json, sentencepiece, gtest, openblas; libtorch-dev
# itself is not used here).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/env.sh
# The image lacks pcre2's headers: scripts/train/gpu_deps.sh puts them in .gpu-deps (carried with the call).
[[ -d .gpu-deps/root/usr/include ]] && export CMAKE_INCLUDE_PATH=$PWD/.gpu-deps/root/usr/include
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DRATKV_TRAIN=ON -DRATKV_TESTS=ON \
  -DCMAKE_PREFIX_PATH="$TORCH_DIR/share/cmake" -DCMAKE_CUDA_COMPILER="${NVCC:-/usr/local/cuda/bin/nvcc}" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 -DCUDAToolkit_ROOT="${CUDA_HOME:-/usr/local/cuda}"
# TARGETS=ratkv builds the engine alone (a NIAH grid on the host's CPUs needs nothing else).
cmake --build "$BUILD" -j"$(nproc)" --target ${TARGETS:-ratkv ratkv-train ratkv-train-data ratkv_train_tests}
if [[ -x $TRAIN ]]; then "$TRAIN" --help | head -3; else "$RATKV" --help | head -3; fi
