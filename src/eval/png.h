#pragma once
// A PNG encoder for 8-bit RGB images, self-contained (no zlib): zlib stream of fixed-Huffman deflate blocks
// with matches against the previous pixel and the pixel above, which is what plots — large flat areas and
// straight lines — compress well with. CRC-32 and Adler-32 as the PNG and zlib specifications define.
#include <cstdint>
#include <string>
#include <vector>

namespace ratkv::eval {

// rgb: width * height * 3 bytes, rows top to bottom.
std::vector<uint8_t> encode_png(const std::vector<uint8_t>& rgb, int width, int height);
uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0);
// A zlib stream (RFC 1950) holding a deflate (RFC 1951) encoding of data.
std::vector<uint8_t> zlib_compress(const std::vector<uint8_t>& data, size_t match_distance);

}  // namespace ratkv::eval
