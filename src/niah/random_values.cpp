#include "niah/random_values.h"

#include "base/error.h"

namespace ratkv::niah {

std::string random_number(Rng& rng) {
  return std::to_string(1000000 + rng.below(9000000));
}

std::string random_uuid(Rng& rng) {
  uint64_t hi = rng.next_u64(), lo = rng.next_u64();
  hi = (hi & ~(0xf000ull)) | 0x4000ull;                // version 4 in bits 76..79 of the 128-bit value
  lo = (lo & ~(0xc000ull << 48)) | (0x8000ull << 48);  // variant 10 in bits 62..63
  static const char* hex = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 32; ++i) {
    const uint64_t word = i < 16 ? hi : lo;
    const int shift = 60 - 4 * (i % 16);
    s += hex[(word >> shift) & 0xf];
    if (i == 7 || i == 11 || i == 15 || i == 19) s += '-';
  }
  return s;
}

std::string random_value(NeedleKind kind, Rng& rng, const KeyWords& words) {
  switch (kind) {
    case NeedleKind::Numbers:
      return random_number(rng);
    case NeedleKind::Uuids:
      return random_uuid(rng);
    case NeedleKind::Words:
      return words.draw(rng);
  }
  return {};
}

std::vector<int64_t> sample_indices(Rng& rng, int64_t n, int64_t k) {
  require(k >= 0 && k <= n, "cannot sample ", k, " of ", n);
  std::vector<int64_t> pool(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pool[i] = i;
  std::vector<int64_t> out(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - i)));
    out[i] = pool[j];
    pool[j] = pool[n - i - 1];
  }
  return out;
}

uint64_t mix_seed(uint64_t seed, const std::string& a, int64_t b, int64_t c) {
  uint64_t h = 1469598103934665603ull;
  auto add = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  add(seed);
  for (char ch : a) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ull;
  }
  add(static_cast<uint64_t>(b));
  add(static_cast<uint64_t>(c));
  h ^= h >> 31;
  h *= 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

}  // namespace ratkv::niah
