#!/usr/bin/env bash
# Makes .gpu-deps/ (git-ignored, carried to the GPU machine with `carry: [".gpu-deps", ...]`): the headers
# the GPU image lacks. The image has the runtime libraries ratkv links (pcre2, sentencepiece, openblas) but
# not pcre2's development header, and nothing can be installed there, so Debian's libpcre2-dev is unpacked
# here and build_gpu.sh / campaign_gpu.sh point CMAKE_INCLUDE_PATH at .gpu-deps/root/usr/include.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -f .gpu-deps/root/usr/include/pcre2.h ]] && exit 0
tmp=$(mktemp -d)
(cd "$tmp" && apt-get download libpcre2-dev > /dev/null 2>&1)
dpkg-deb -x "$tmp"/libpcre2-dev_*.deb "$tmp/x"
mkdir -p .gpu-deps/root/usr
cp -r "$tmp/x/usr/include" .gpu-deps/root/usr/
rm -rf "$tmp"
ls .gpu-deps/root/usr/include
