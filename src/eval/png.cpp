#include "eval/png.h"

#include <algorithm>

namespace ratkv::eval {

uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc) {
  static const auto table = [] {
    std::vector<uint32_t> t(256);
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

namespace {

class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out) {}
  void bits(uint32_t value, int count) {  // LSB first
    for (int i = 0; i < count; ++i) {
      acc_ |= ((value >> i) & 1u) << n_;
      if (++n_ == 8) flush_byte();
    }
  }
  void huffman(uint32_t code, int length) {  // Huffman codes go MSB first
    for (int i = length - 1; i >= 0; --i) bits((code >> i) & 1u, 1);
  }
  void align() {
    if (n_) flush_byte();
  }

 private:
  void flush_byte() {
    out_.push_back(static_cast<uint8_t>(acc_));
    acc_ = 0;
    n_ = 0;
  }
  std::vector<uint8_t>& out_;
  uint32_t acc_ = 0;
  int n_ = 0;
};

void literal_length_code(BitWriter& w, int symbol) {  // fixed Huffman table of RFC 1951 §3.2.6
  if (symbol < 144)
    w.huffman(0x30 + symbol, 8);
  else if (symbol < 256)
    w.huffman(0x190 + symbol - 144, 9);
  else if (symbol < 280)
    w.huffman(symbol - 256, 7);
  else
    w.huffman(0xC0 + symbol - 280, 8);
}

void write_length(BitWriter& w, int length) {
  static const int base[] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                             31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
  static const int extra[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                              2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
  int i = 28;
  while (base[i] > length) --i;
  literal_length_code(w, 257 + i);
  w.bits(static_cast<uint32_t>(length - base[i]), extra[i]);
}

void write_distance(BitWriter& w, int distance) {
  static const int base[] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                             33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                             1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
  static const int extra[] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                              6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
  int i = 29;
  while (base[i] > distance) --i;
  w.huffman(static_cast<uint32_t>(i), 5);
  w.bits(static_cast<uint32_t>(distance - base[i]), extra[i]);
}

}  // namespace

std::vector<uint8_t> zlib_compress(const std::vector<uint8_t>& data, size_t row_distance) {
  std::vector<uint8_t> out = {0x78, 0x01};
  BitWriter w(out);
  w.bits(1, 1);  // final block
  w.bits(1, 2);  // fixed Huffman
  const size_t candidates[2] = {3, row_distance};
  size_t i = 0;
  while (i < data.size()) {
    size_t best_len = 0, best_dist = 0;
    for (size_t d : candidates) {
      if (d == 0 || d > i || d > 32768) continue;
      size_t len = 0;
      while (len < 258 && i + len < data.size() && data[i + len] == data[i + len - d]) ++len;
      if (len > best_len) best_len = len, best_dist = d;
    }
    if (best_len >= 3) {
      write_length(w, static_cast<int>(best_len));
      write_distance(w, static_cast<int>(best_dist));
      i += best_len;
    } else {
      literal_length_code(w, data[i++]);
    }
  }
  literal_length_code(w, 256);
  w.align();
  uint32_t a = 1, b = 0;
  for (uint8_t c : data) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  const uint32_t adler = (b << 16) | a;
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(adler >> s));
  return out;
}

std::vector<uint8_t> encode_png(const std::vector<uint8_t>& rgb, int width, int height) {
  const size_t row = static_cast<size_t>(width) * 3;
  std::vector<uint8_t> raw;
  raw.reserve((row + 1) * static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), rgb.begin() + static_cast<long>(y * row),
               rgb.begin() + static_cast<long>((y + 1) * row));
  }
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&png](const char* type, const std::vector<uint8_t>& body) {
    const uint32_t n = static_cast<uint32_t>(body.size());
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<uint8_t>(n >> s));
    std::vector<uint8_t> typed(type, type + 4);
    typed.insert(typed.end(), body.begin(), body.end());
    png.insert(png.end(), typed.begin(), typed.end());
    const uint32_t c = crc32(typed.data(), typed.size());
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<uint8_t>(c >> s));
  };
  std::vector<uint8_t> ihdr;
  for (uint32_t v : {static_cast<uint32_t>(width), static_cast<uint32_t>(height)})
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<uint8_t>(v >> s));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, adaptive filters, no interlace
  chunk("IHDR", ihdr);
  chunk("IDAT", zlib_compress(raw, row + 1));
  chunk("IEND", {});
  return png;
}

}  // namespace ratkv::eval
