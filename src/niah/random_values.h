#pragma once
// The random draws of RULER's generator, on ratkv::Rng (the same numbers on every machine): 7-digit numbers,
// version-4 uuids, word keys, and Python's sample/shuffle shapes (pool-style sampling without replacement and
// a descending Fisher-Yates), so the structure of each draw follows niah.py even though the bit stream
// differs.
#include <cstdint>
#include <string>
#include <vector>

#include "base/rng.h"
#include "niah/key_words.h"
#include "niah/task_spec.h"

namespace ratkv::niah {

// Uniform over [1000000, 9999999], as random.randint(10**6, 10**7 - 1).
std::string random_number(Rng& rng);
// 36 lowercase hex characters 8-4-4-4-12, version nibble 4, variant bits 10 (17th hex digit in 8, 9, a, b).
std::string random_uuid(Rng& rng);
std::string random_value(NeedleKind kind, Rng& rng, const KeyWords& words);

// k distinct indices of [0, n), in draw order (random.sample(range(n), k)); k <= n.
std::vector<int64_t> sample_indices(Rng& rng, int64_t n, int64_t k);
// In-place shuffle, for i = n-1 .. 1: swap(x[i], x[below(i+1)]).
template <typename T>
void shuffle(std::vector<T>& x, Rng& rng) {
  for (size_t i = x.size(); i-- > 1;) std::swap(x[i], x[rng.below(i + 1)]);
}

// A stable 64-bit seed from parts (FNV-1a over the parts, then splitmix-style mixing), so that each sample's
// draws depend only on (seed, task, length, index): samples can be made in any order or shard.
uint64_t mix_seed(uint64_t seed, const std::string& a, int64_t b, int64_t c);

}  // namespace ratkv::niah
