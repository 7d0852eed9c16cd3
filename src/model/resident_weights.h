#pragma once
// Resident weights (`--no-mmap`): every matrix copied out of the mapped safetensors files into one
// anonymous buffer backed by 2 MiB transparent huge pages.
//
// Why: decode streams every matrix once per token. Read in place, the weights sit on the page cache's
// 4 KiB pages, so a step walks ~16K pages for a 67 MB model and its TLB misses interleave with the
// KV cache's; on the development EPYC the copy makes the weight-streaming part of a decode step at depth
// 4096 ~20% faster (docs/performance.md). The price is a private copy of the weights in memory (the
// mapped file's pages stay reclaimable page cache) and the copy's time at load.
#include "model/weights.h"

namespace ratkv {

// Copies the matrices of `weights` (each distinct one once: a tied head shares the embedding's copy)
// into one streaming buffer (base/huge_pages.h: 2 MiB huge pages), each matrix at a 64-byte boundary, and
// points the views at it. Values are unchanged bit for bit. Norm vectors are already f32 copies.
void make_weights_resident(ModelWeights& weights);

}  // namespace ratkv
