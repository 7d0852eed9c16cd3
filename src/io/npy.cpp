#include "io/npy.h"

#include <cstring>
#include <fstream>
#include <regex>

#include "base/error.h"
#include "base/mapped_file.h"

namespace ratkv {

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string dims;
  int64_t numel = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    numel *= d;
  }
  if (shape.size() > 1) dims.erase(dims.size() - 2);  // "(3,)" for 1-D, "(3, 4)" otherwise
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so that magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("cannot write ", path);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t length = static_cast<uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&length), 2);
  out << header;
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(numel * 4));
  if (!out) fail("error writing ", path);
}

NpyArray read_npy(const std::string& path) {
  MappedFile file(path);
  const uint8_t* p = file.data();
  const size_t size = file.size();
  require(size >= 10 && std::memcmp(p, "\x93NUMPY", 6) == 0, path, ": not a .npy file");
  const uint8_t major = p[6];
  require(major == 1 || major == 2, path, ": unsupported .npy version ", int(major));
  size_t header_len, offset;
  if (major == 1) {
    header_len = p[8] | (p[9] << 8);
    offset = 10;
  } else {
    require(size >= 12, path, ": truncated .npy header");
    header_len = p[8] | (p[9] << 8) | (size_t(p[10]) << 16) | (size_t(p[11]) << 24);
    offset = 12;
  }
  require(offset + header_len <= size, path, ": truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(p + offset), header_len);
  std::smatch m;
  require(std::regex_search(header, m, std::regex("'descr':\\s*'([<|=]?)([fi])([48])'")), path,
          ": .npy dtype must be little-endian f4 or i4");
  require(m[3] == "4", path, ": .npy dtype must be f4 or i4");
  const bool is_float = m[2] == "f";
  require(header.find("'fortran_order': False") != std::string::npos, path,
          ": Fortran-order .npy is not supported");
  require(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), path,
          ": .npy header has no shape");
  NpyArray array;
  int64_t numel = 1;
  const std::string dims = m[1];
  std::regex number("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it) {
    array.shape.push_back(std::stoll(it->str()));
    numel *= array.shape.back();
  }
  const size_t data_offset = offset + header_len;
  require(size - data_offset == static_cast<size_t>(numel) * 4, path, ": .npy data holds ",
          size - data_offset, " bytes, the shape needs ", numel * 4);
  array.data.resize(static_cast<size_t>(numel));
  if (is_float) {
    std::memcpy(array.data.data(), p + data_offset, array.data.size() * 4);
  } else {
    for (size_t i = 0; i < array.data.size(); ++i) {
      int32_t v;
      std::memcpy(&v, p + data_offset + 4 * i, 4);
      array.data[i] = static_cast<float>(v);
    }
  }
  return array;
}

}  // namespace ratkv
