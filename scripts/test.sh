#!/usr/bin/env bash
# Sets up, builds and runs every test: the unit and integration tests (CTest), the same unit tests under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the clang-format check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --train

echo "== build (Release) and tests"
bash scripts/build.sh -DRATKV_TRAIN=ON
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600

echo "== unit tests under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRATKV_SANITIZE=ON -DRATKV_TRAIN=OFF >/dev/null
cmake --build build-asan -j"$(nproc)" --target ratkv_tests ratkv
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ./build-asan/ratkv_tests --gtest_brief=1

echo "== clang-format"
git ls-files '*.cpp' '*.h' '*.cu' | grep -v '^tests/fixtures/' | xargs clang-format --dry-run -Werror
echo "all checks passed"
