#include "io/safetensors.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "base/error.h"

namespace ratkv {
namespace {

using Json = nlohmann::json;

// The reference reader's MAX_HEADER_SIZE: larger headers are refused before any parsing.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
// Every integer in the header is a schema `size_t`: at most 2^48-1.
constexpr uint64_t kMaxHeaderInt = (uint64_t{1} << 48) - 1;
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeInfo {
  std::string_view name;
  unsigned bits;
};

// Every dtype string of the reference `enum Dtype`, in its (increasing-alignment) order.
constexpr std::array<DTypeInfo, 22> kDTypes{{
    {"BOOL", 8},    {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6},     {"U8", 8},          {"I8", 8},
    {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"I16", 16},
    {"U16", 16},    {"F16", 16},    {"BF16", 16},   {"I32", 32},        {"U32", 32},        {"F32", 32},
    {"C64", 64},    {"F64", 64},    {"I64", 64},    {"U64", 64},
}};

const DTypeInfo* find_dtype(std::string_view name) {
  for (const DTypeInfo& info : kDTypes)
    if (info.name == name) return &info;
  return nullptr;
}

// A string as a JSON literal, so names with quotes or control characters stay readable in messages.
std::string quote(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A JSON value for a message, cut short: a hostile header could hold megabytes in one value.
std::string excerpt(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 64) text = text.substr(0, 60) + " ...";
  return text;
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

std::string type_text(const Json& value) {
  if (value.is_number_float()) return "a non-integer number";
  return cat(value.is_object() || value.is_array() ? "an " : "a ", value.type_name());
}

bool is_json_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Returns the offset of the first byte that is not part of well-formed UTF-8 (overlong forms, surrogates
// and code points above U+10FFFF included, as Rust's str::from_utf8 rejects them), or size if none.
size_t invalid_utf8_at(const uint8_t* s, size_t size) {
  size_t i = 0;
  while (i < size) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (size - i < len || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += len;
  }
  return size;
}

// A parser callback that sees every key before nlohmann stores it. nlohmann keeps the last of duplicate keys
// silently, so this rejects repeats (naming the tensor whose entry holds one); and since nlohmann's object
// sorts its keys, this records the top-level keys in header order.
class HeaderKeys {
 public:
  explicit HeaderKeys(const std::string& origin) : origin_(origin) {}
  const std::vector<std::string>& top_level() const { return top_level_; }
  static constexpr size_t kMaxDepth = 128;

  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        // serde_json, which the reference reader uses, stops at 128 levels; without a limit a 100 MB
        // header of brackets would cost gigabytes here and in nlohmann's own stacks.
        if (frames_.size() >= kMaxDepth) fail(origin_, ": header nests deeper than ", kMaxDepth, " levels");
        frames_.push_back({event == Json::parse_event_t::object_start, {}});
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case Json::parse_event_t::key: {
        if (frames_.empty() || !frames_.back().is_object) break;
        const std::string& key = parsed.get_ref<const std::string&>();
        if (frames_.size() == 1) top_key_ = key;
        if (!frames_.back().keys.insert(key).second) report(key);
        if (frames_.size() == 1) top_level_.push_back(key);
        break;
      }
      case Json::parse_event_t::value:
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string> keys;
  };

  [[noreturn]] void report(const std::string& key) const {
    if (frames_.size() == 1) {
      if (key == kMetadataKey) fail(origin_, ": header has more than one \"", kMetadataKey, "\"");
      fail(origin_, ": duplicate tensor ", quote(key), " in the header");
    }
    if (top_key_ == kMetadataKey) fail(origin_, ": ", kMetadataKey, " has duplicate key ", quote(key));
    fail(origin_, ": tensor ", quote(top_key_), ": duplicate field ", quote(key));
  }

  const std::string& origin_;
  std::vector<Frame> frames_;
  std::string top_key_;
  std::vector<std::string> top_level_;
};

// Reads a header integer: a JSON integer in [0, 2^48-1]. `what` names it for the message.
uint64_t header_int(const Json& value, const std::string& where, const std::string& what) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > kMaxHeaderInt) fail(where, what, " = ", v, " exceeds the limit 2^48-1 = ", kMaxHeaderInt);
    return v;
  }
  if (value.is_number_integer()) {  // nlohmann gives negative integers (and -0) this type
    const int64_t v = value.get<int64_t>();
    if (v < 0) fail(where, what, " = ", v, " is negative");
    return static_cast<uint64_t>(v);
  }
  fail(where, what, " must be a non-negative integer, got ", type_text(value), " ", excerpt(value));
}

SafetensorsTensor parse_entry(const std::string& name, const Json& entry, const std::string& origin) {
  const std::string where = cat(origin, ": tensor ", quote(name), ": ");
  if (!entry.is_object())
    fail(where, "entry must be an object with dtype, shape and data_offsets, got ", type_text(entry));
  for (const auto& [key, value] : entry.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets") fail(where, "unknown field ", quote(key));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail(where, "missing field \"", key, "\"");

  SafetensorsTensor t;
  t.name = name;

  const Json& dtype = entry["dtype"];
  if (!dtype.is_string()) fail(where, "dtype must be a string, got ", type_text(dtype));
  t.dtype_name = dtype.get<std::string>();
  const DTypeInfo* info = find_dtype(t.dtype_name);
  if (!info) fail(where, "unknown dtype ", quote(t.dtype_name));
  if (t.dtype_name == "F32") t.dtype = DType::F32;
  if (t.dtype_name == "BF16") t.dtype = DType::BF16;
  if (t.dtype_name == "F16") t.dtype = DType::F16;

  const Json& shape = entry["shape"];
  if (!shape.is_array()) fail(where, "shape must be an array, got ", type_text(shape));
  // Like the reference, the element count is a left-to-right product that must not overflow 64 bits.
  uint64_t numel = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const uint64_t dim = header_int(shape[i], where, cat("shape[", i, "]"));
    t.shape.push_back(static_cast<int64_t>(dim));
    if (__builtin_mul_overflow(numel, dim, &numel))
      fail(where, "shape ", dims_text(t.shape), "... has more than 2^64 elements");
  }
  uint64_t bits = 0;
  if (__builtin_mul_overflow(numel, uint64_t{info->bits}, &bits))
    fail(where, t.dtype_name, " ", dims_text(t.shape), " holds more than 2^64 bits");
  if (bits % 8 != 0)
    fail(where, t.dtype_name, " ", dims_text(t.shape), " is ", bits, " bits, not a whole number of bytes");
  t.numel = static_cast<int64_t>(numel);  // numel <= 2^62 since bits fit in 64 bits and each is >= 4 bits

  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(where, "data_offsets must be an array [begin, end], got ", excerpt(offsets));
  const uint64_t begin = header_int(offsets[0], where, "data_offsets[0]");
  const uint64_t end = header_int(offsets[1], where, "data_offsets[1]");
  if (end < begin) fail(where, "data_offsets [", begin, ", ", end, "] end before they begin");
  t.begin = static_cast<size_t>(begin);
  t.end = static_cast<size_t>(end);
  if (end - begin != bits / 8)
    fail(where, "data_offsets [", begin, ", ", end, "] hold ", end - begin, " bytes but ", t.dtype_name, " ",
         dims_text(t.shape), " needs ", bits / 8);
  return t;
}

void parse_metadata(const Json& value, const std::string& origin, std::map<std::string, std::string>* out) {
  if (!value.is_object())
    fail(origin, ": ", kMetadataKey, " must be an object of strings, got ", type_text(value));
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string())
      fail(origin, ": ", kMetadataKey, " value of ", quote(key), " must be a string, got ", type_text(item));
    (*out)[key] = item.get<std::string>();
  }
}

// Checks that the tensors, sorted by offsets, tile [0, buffer_end) with no gap or overlap, and returns
// buffer_end. Holes are forbidden by the format so that a file cannot hide a second payload.
uint64_t check_tiling(const std::vector<SafetensorsTensor>& tensors, const std::string& origin) {
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::pair(tensors[a].begin, tensors[a].end) < std::pair(tensors[b].begin, tensors[b].end);
  });
  uint64_t cursor = 0;
  const SafetensorsTensor* previous = nullptr;
  for (size_t i : order) {
    const SafetensorsTensor& t = tensors[i];
    const std::string where =
        cat(origin, ": tensor ", quote(t.name), ": data_offsets [", t.begin, ", ", t.end, "] ");
    if (t.begin > cursor) {
      if (!previous) fail(where, "leave a gap of ", t.begin, " bytes at the start of the data buffer");
      fail(where, "leave a gap of ", t.begin - cursor, " bytes after tensor ", quote(previous->name),
           ", which ends at ", cursor);
    }
    if (t.begin < cursor) fail(where, "overlap tensor ", quote(previous->name), ", which ends at ", cursor);
    cursor = t.end;
    previous = &t;
  }
  return cursor;
}

}  // namespace

SafetensorsIndex parse_safetensors(const uint8_t* bytes, size_t size, const std::string& origin) {
  if (size < 8) fail(origin, ": file has ", size, " bytes, too short for the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeaderSize)
    fail(origin, ": header length ", n, " exceeds the limit of ", kMaxHeaderSize, " bytes");
  if (n > size - 8) fail(origin, ": header length ", n, " runs past the end of the file (", size, " bytes)");

  const uint8_t* header = bytes + 8;
  if (const size_t bad = invalid_utf8_at(header, n); bad != n)
    fail(origin, ": header is not valid UTF-8 (bad byte 0x", std::hex, unsigned{header[bad]}, std::dec,
         " at header offset ", bad, ")");
  // nlohmann treats a NUL byte as the end of its input, so `{}\0junk` would pass; JSON allows no raw NUL.
  if (const void* nul = std::memchr(header, 0, n))
    fail(origin, ": header is not valid JSON: NUL byte at header offset ",
         static_cast<const uint8_t*>(nul) - header);
  // Writers pad the JSON with spaces (and some with leading whitespace for page alignment).
  size_t first = 0, last = n;
  while (first < last && is_json_space(header[first])) ++first;
  while (last > first && is_json_space(header[last - 1])) --last;
  if (first == last || header[first] != '{') fail(origin, ": header must be a JSON object starting with '{'");

  Json root;
  HeaderKeys keys(origin);
  try {
    root = Json::parse(header + first, header + last, std::ref(keys));
  } catch (const Json::exception& e) {
    fail(origin, ": header is not valid JSON: ", e.what());
  }
  if (!root.is_object()) fail(origin, ": header must be a JSON object");

  SafetensorsIndex index;
  for (const std::string& key : keys.top_level()) {
    const Json& value = root.at(key);
    if (key == kMetadataKey)
      parse_metadata(value, origin, &index.metadata);
    else
      index.tensors.push_back(parse_entry(key, value, origin));
  }

  const uint64_t buffer_end = check_tiling(index.tensors, origin);
  const uint64_t expected = 8 + n + buffer_end;  // each term < 2^48: no overflow
  if (expected > size)
    fail(origin, ": file has ", size, " bytes but the header and tensors need ", expected, " (data buffer ",
         "truncated by ", expected - size, " bytes)");
  if (expected < size)
    fail(origin, ": file has ", size, " bytes but the header and tensors end at ", expected, " (",
         size - expected, " trailing bytes)");

  const uint8_t* buffer = bytes + 8 + n;
  for (SafetensorsTensor& t : index.tensors) t.data = buffer + t.begin;
  return index;
}

const SafetensorsTensor* SafetensorsIndex::find(std::string_view name) const {
  for (const SafetensorsTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : file_(path), index_(parse_safetensors(file_.data(), file_.size(), path)) {}

namespace {

// The reference writer sorts by descending `enum Dtype` index, which puts BF16 before F16.
int writer_rank(DType t) {
  switch (t) {
    case DType::F32:
      return 2;
    case DType::BF16:
      return 1;
    case DType::F16:
      return 0;
  }
  return 0;
}

void write_all(std::ofstream& out, const void* data, size_t size, const std::string& path) {
  if (size == 0) return;
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) fail("error writing ", path, ": ", std::strerror(errno));
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<uint64_t> sizes(tensors.size());
  std::set<std::string_view> names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    const std::string where = cat(path, ": tensor ", quote(t.name), ": ");
    if (t.name == kMetadataKey) fail(where, "the name is reserved for the metadata");
    if (!names.insert(t.name).second) fail(where, "duplicate name");
    if (invalid_utf8_at(reinterpret_cast<const uint8_t*>(t.name.data()), t.name.size()) != t.name.size())
      fail(where, "the name is not valid UTF-8");
    uint64_t numel = 1;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (t.shape[d] < 0 || static_cast<uint64_t>(t.shape[d]) > kMaxHeaderInt)
        fail(where, "shape[", d, "] = ", t.shape[d], " is outside [0, 2^48-1]");
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(t.shape[d]), &numel))
        fail(where, "shape ", dims_text(t.shape), " has more than 2^64 elements");
    }
    if (__builtin_mul_overflow(numel, uint64_t{dtype_size(t.dtype)}, &sizes[i]) || sizes[i] > kMaxHeaderInt)
      fail(where, dtype_name(t.dtype), " ", dims_text(t.shape), " is larger than 2^48-1 bytes");
    if (sizes[i] > 0 && t.data == nullptr) fail(where, "no data for ", sizes[i], " bytes");
  }
  for (const auto& [key, value] : metadata) {
    const auto* k = reinterpret_cast<const uint8_t*>(key.data());
    const auto* v = reinterpret_cast<const uint8_t*>(value.data());
    if (invalid_utf8_at(k, key.size()) != key.size() || invalid_utf8_at(v, value.size()) != value.size())
      fail(path, ": metadata entry ", quote(key), " is not valid UTF-8");
  }

  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int ra = writer_rank(tensors[a].dtype), rb = writer_rank(tensors[b].dtype);
    return ra != rb ? ra > rb : tensors[a].name < tensors[b].name;
  });

  // ordered_json keeps insertion order: metadata first, then tensors in file order, as the reference.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = std::move(meta);
  }
  uint64_t offset = 0;
  for (size_t i : order) {
    const TensorToWrite& t = tensors[i];
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + sizes[i]}}};
    offset += sizes[i];
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data buffer 8-byte aligned in the file
  uint8_t length[8];
  for (int b = 0; b < 8; ++b) length[b] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * b));

  // A temporary file renamed into place: a reader never sees a half-written checkpoint.
  const std::string tmp = cat(path, ".tmp.", ::getpid());
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write ", tmp, ": ", std::strerror(errno));
    write_all(out, length, sizeof length, tmp);
    write_all(out, text.data(), text.size(), tmp);
    for (size_t i : order) write_all(out, tensors[i].data, sizes[i], tmp);
    out.close();
    if (!out) fail("error writing ", tmp, ": ", std::strerror(errno));
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      fail("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace ratkv
