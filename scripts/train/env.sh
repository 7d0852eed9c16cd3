# Shared settings for the GPU scripts (sourced). The GPU image's libtorch is pip torch 2.11 + CUDA 13.
TORCH_DIR=${TORCH_DIR:-/opt/torch/.venv/lib/python3.12/site-packages/torch}
BUILD=${BUILD:-build-gpu}
TRAIN=${TRAIN:-$BUILD/src/train/ratkv-train}
DATA=${DATA:-$BUILD/src/train/ratkv-train-data}
RATKV=${RATKV:-$BUILD/ratkv}
WORK=${WORK:-out/train}  # data, checkpoints and metrics (out/ is git-ignored)
# Libraries bundled in the pip wheel (libc10, libtorch_cuda, NCCL, ...) are found through the rpath that
# CMake records; the wheel's lib dir is added here as well for tools run by hand.
export LD_LIBRARY_PATH="$TORCH_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
