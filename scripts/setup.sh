#!/usr/bin/env bash
# Installs every Debian package ratkv needs to build, test and run. The one place that does so.
#   scripts/setup.sh            build + test dependencies
#   scripts/setup.sh --train    also libtorch (for ratkv-train on the CPU)
#   scripts/setup.sh --corpus   also the documentation packages the training corpus is made of (~2 GB;
#                               only `ratkv-train-data corpus` reads them, no test does)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang clang-format
  libopenblas-dev          # GEMM for prefill (single-threaded calls; ratkv owns the threading)
  nlohmann-json3-dev       # config.json, tokenizer.json, safetensors headers, JSONL
  libpcre2-dev             # the byte-level BPE split regex (\p{L}, \p{N}, lookahead)
  libsentencepiece-dev     # SentencePiece .model tokenizers
  libgtest-dev libgmock-dev
  libclang-rt-14-dev       # libFuzzer runtime and sanitizers for clang
  linux-doc-6.1            # English prose: the NIAH essay haystack (data/essay_sources*.txt)
  wordnet-base             # adjectives and nouns for NIAH keys
  python3                  # the analysis tools' tests (tools/analysis, standard library only)
)
if [[ " $* " == *" --train "* ]]; then
  packages+=(
    libtorch-dev libgloo-dev  # ratkv-train on the CPU, with Gloo for CPU data parallelism
  )
fi
if [[ " $* " == *" --corpus "* ]]; then
  packages+=(  # the training corpus (src/train/corpus.cpp, docs/training.md "Data")
    python3.11-doc perl-doc fortunes debian-reference-en debian-handbook postgresql-doc-15 git-doc sphinx-doc
    python-django-doc python-sqlalchemy-doc python-celery-doc python-sympy-doc python-scipy-doc
    python-astropy-doc python-pandas-doc python-sklearn-doc python-statsmodels-doc python-dask-doc
    python-skimage-doc python-xarray-doc python-pytest-doc rust-doc gimp-help-en lilypond-doc-html gnucash-docs
    octave-doc maxima-doc kicad-doc-en erlang-doc ghc-doc xz-utils
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
