#include "io/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace ratkv {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test under gtest's temp dir, so tests never see each other's files.
std::string test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / cat("ratkv_", info->test_suite_name(), "_", info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::string text = read_text_file(path);
  return {text.begin(), text.end()};
}

// A hand-built file: 8-byte length (the header's own by default), the header text, then `buffer` bytes.
std::vector<uint8_t> image(std::string_view header, size_t buffer = 0, std::optional<uint64_t> n = {}) {
  const uint64_t length = n.value_or(header.size());
  std::vector<uint8_t> out;
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<uint8_t>(length >> (8 * b)));
  out.insert(out.end(), header.begin(), header.end());
  for (size_t i = 0; i < buffer; ++i) out.push_back(static_cast<uint8_t>(i * 7 + 1));
  return out;
}

SafetensorsIndex parse(const std::vector<uint8_t>& file) {
  return parse_safetensors(file.data(), file.size(), "t.safetensors");
}

// Passes when parsing throws one ratkv::Error whose message starts with the origin and contains `needle`.
::testing::AssertionResult fails_with(const std::vector<uint8_t>& file, const std::string& needle) {
  try {
    parse(file);
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.rfind("t.safetensors: ", 0) != 0)
      return ::testing::AssertionFailure() << "message does not start with the origin: " << message;
    if (message.find(needle) == std::string::npos)
      return ::testing::AssertionFailure() << "message lacks \"" << needle << "\": " << message;
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "parsed without error; expected \"" << needle << "\"";
}

// ---------------------------------------------------------------------------------------------------------
// Round trip through write_safetensors and SafetensorsFile.

TEST(SafetensorsRoundTrip, AllDTypesScalarEmptyAndMetadata) {
  const std::string path = test_dir() + "/model.safetensors";
  const std::vector<float> f32 = {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, 7.0f};
  const std::vector<uint16_t> bf16 = {f32_to_bf16(1.5f), f32_to_bf16(-0.25f), f32_to_bf16(3.0f),
                                      f32_to_bf16(100.0f)};
  const std::vector<uint16_t> f16 = {f32_to_f16(0.5f), f32_to_f16(-8.0f)};
  const float scalar = 42.0f;
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "tr\"ic\\ky \xc3\xa9"}};
  write_safetensors(path,
                    {{"w.f16", DType::F16, {2}, f16.data()},
                     {"w.bf16", DType::BF16, {2, 2}, bf16.data()},
                     {"w.f32", DType::F32, {2, 3}, f32.data()},
                     {"scalar", DType::F32, {}, &scalar},
                     {"empty", DType::BF16, {0, 5}, nullptr}},
                    metadata);
  EXPECT_FALSE(file_exists(path + cat(".tmp.", ::getpid())));

  SafetensorsFile file(path);
  EXPECT_EQ(file.path(), path);
  EXPECT_EQ(file.index().metadata, metadata);
  ASSERT_EQ(file.index().tensors.size(), 5u);

  const SafetensorsTensor* t = file.find("w.f32");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype_name, "F32");
  EXPECT_EQ(t->dtype, DType::F32);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t->numel, 6);
  EXPECT_EQ(t->end - t->begin, 24u);
  EXPECT_EQ(std::memcmp(t->data, f32.data(), 24), 0);

  t = file.find("w.bf16");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::BF16);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(std::memcmp(t->data, bf16.data(), 8), 0);
  EXPECT_EQ(load_as_f32(t->data, 3, DType::BF16), 100.0f);

  t = file.find("w.f16");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::F16);
  EXPECT_EQ(load_as_f32(t->data, 1, DType::F16), -8.0f);

  t = file.find("scalar");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->shape.empty());
  EXPECT_EQ(t->numel, 1);
  EXPECT_EQ(load_as_f32(t->data, 0, DType::F32), 42.0f);

  t = file.find("empty");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(t->numel, 0);
  EXPECT_EQ(t->begin, t->end);

  EXPECT_EQ(file.find("missing"), nullptr);
}

TEST(SafetensorsRoundTrip, NoTensorsNoMetadata) {
  const std::string path = test_dir() + "/empty.safetensors";
  write_safetensors(path, {}, {});
  EXPECT_EQ(read_bytes(path), image("{}      "));
  SafetensorsFile file(path);
  EXPECT_TRUE(file.index().tensors.empty());
  EXPECT_TRUE(file.index().metadata.empty());
}

TEST(SafetensorsRoundTrip, OverwritesAnExistingFile) {
  const std::string path = test_dir() + "/m.safetensors";
  write_text_file(path, "not a safetensors file");
  const float x = 1.0f;
  write_safetensors(path, {{"x", DType::F32, {1}, &x}});
  SafetensorsFile file(path);
  EXPECT_EQ(file.index().metadata.at("format"), "pt");
  EXPECT_NE(file.find("x"), nullptr);
}

TEST(SafetensorsRoundTrip, HeaderOrderIsKept) {
  const auto file = image(R"({"z":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"__metadata__":{"k":"v"},)"
                          R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                          2);
  const SafetensorsIndex index = parse(file);
  ASSERT_EQ(index.tensors.size(), 2u);
  EXPECT_EQ(index.tensors[0].name, "z");
  EXPECT_EQ(index.tensors[1].name, "a");
  EXPECT_FALSE(index.tensors[0].dtype.has_value());
  EXPECT_EQ(index.tensors[0].data, file.data() + file.size() - 1);
}

// ---------------------------------------------------------------------------------------------------------
// Byte layout of written files.

TEST(SafetensorsLayout, MatchesTheReferenceWriterBytes) {
  // The reference test_serialization: one F32 [1, 2, 3] tensor "attn.0", no metadata, header padded to 64.
  const std::string path = test_dir() + "/ref.safetensors";
  const std::vector<float> values = {0, 1, 2, 3, 4, 5};
  write_safetensors(path, {{"attn.0", DType::F32, {1, 2, 3}, values.data()}}, {});
  std::vector<uint8_t> expected =
      image(R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})");
  const auto* raw = reinterpret_cast<const uint8_t*>(values.data());
  expected.insert(expected.end(), raw, raw + 24);
  EXPECT_EQ(read_bytes(path), expected);

  write_safetensors(path, {}, {{"framework", "pt"}});
  EXPECT_EQ(read_bytes(path), image(R"({"__metadata__":{"framework":"pt"}}     )"));
}

TEST(SafetensorsLayout, HeaderPaddedToEightAndTensorsOrderedByAlignmentThenName) {
  const std::string path = test_dir() + "/order.safetensors";
  const std::vector<uint8_t> zeros(64, 0);
  write_safetensors(path, {{"a", DType::F16, {3}, zeros.data()},
                           {"b", DType::BF16, {1}, zeros.data()},
                           {"c", DType::F32, {1}, zeros.data()},
                           {"a2", DType::F32, {2}, zeros.data()},
                           {"B", DType::F16, {1}, zeros.data()}});
  const std::vector<uint8_t> bytes = read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<ptrdiff_t>(n));
  EXPECT_EQ(header.rfind(R"({"__metadata__":{"format":"pt"},"a2":)", 0), 0u) << header;
  EXPECT_NE(header.find_last_not_of(' '), std::string::npos);
  EXPECT_EQ(header[header.find_last_not_of(' ')], '}');

  // Descending alignment (F32, then BF16, then F16, as the reference enum order), then bytewise name order.
  SafetensorsFile file(path);
  const std::vector<std::pair<std::string, size_t>> expected = {
      {"a2", 0}, {"c", 8}, {"b", 12}, {"B", 14}, {"a", 16}};
  for (const auto& [name, begin] : expected) {
    const SafetensorsTensor* t = file.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->begin, begin) << name;
    // The map is page aligned and the buffer 8-byte aligned, so each tensor is naturally aligned.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % dtype_size(*t->dtype), 0u) << name;
  }
  EXPECT_EQ(bytes.size(), 8 + n + 22);
}

// ---------------------------------------------------------------------------------------------------------
// Writer errors.

TEST(SafetensorsWrite, RejectsBadInput) {
  const std::string path = test_dir() + "/bad.safetensors";
  const float x[4] = {};
  auto write_fails_with = [&](const std::vector<TensorToWrite>& tensors,
                              const std::string& needle) -> ::testing::AssertionResult {
    try {
      write_safetensors(path, tensors);
    } catch (const Error& e) {
      if (std::string(e.what()).find(needle) == std::string::npos)
        return ::testing::AssertionFailure() << e.what();
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "no error";
  };
  EXPECT_TRUE(write_fails_with({{"x", DType::F32, {1}, x}, {"x", DType::F16, {1}, x}}, "duplicate name"));
  EXPECT_TRUE(write_fails_with({{"x", DType::F32, {-1}, x}}, "shape[0] = -1"));
  EXPECT_TRUE(write_fails_with({{"x", DType::F32, {int64_t{1} << 48}, x}}, "shape[0]"));
  EXPECT_TRUE(write_fails_with({{"x", DType::F32, {1 << 20, 1 << 20, 1 << 20}, x}}, "larger than"));
  EXPECT_TRUE(write_fails_with({{"__metadata__", DType::F32, {1}, x}}, "reserved"));
  EXPECT_TRUE(write_fails_with({{"x", DType::F32, {2}, nullptr}}, "no data"));
  EXPECT_TRUE(write_fails_with({{"\xff", DType::F32, {1}, x}}, "UTF-8"));
  EXPECT_FALSE(file_exists(path));
  EXPECT_TRUE(fs::is_empty(fs::path(path).parent_path()));  // no temporary left behind
}

// ---------------------------------------------------------------------------------------------------------
// Reader validation: one hand-built malformed file per rule.

constexpr const char* kOne = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(SafetensorsValidation, AcceptsAMinimalFile) {
  const SafetensorsIndex index = parse(image(kOne, 8));
  ASSERT_EQ(index.tensors.size(), 1u);
  EXPECT_EQ(index.tensors[0].numel, 2);
}

TEST(SafetensorsValidation, TooShortForTheLength) {
  EXPECT_TRUE(fails_with({}, "0 bytes, too short"));
  EXPECT_TRUE(fails_with({1, 0, 0, 0, 0}, "5 bytes, too short"));
}

TEST(SafetensorsValidation, EmptyFileOnDiskNamesThePath) {
  const std::string path = test_dir() + "/zero.safetensors";
  write_text_file(path, "");
  try {
    SafetensorsFile file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": file has 0 bytes", 0), 0u) << e.what();
  }
  EXPECT_THROW(SafetensorsFile(path + ".missing"), Error);
}

TEST(SafetensorsValidation, HeaderTooLarge) {
  EXPECT_TRUE(fails_with(image(kOne, 8, 100'000'001), "header length 100000001 exceeds the limit"));
  EXPECT_TRUE(fails_with(image(kOne, 8, ~uint64_t{0}), "exceeds the limit"));
}

TEST(SafetensorsValidation, HeaderRunsPastTheFile) {
  const std::string header = kOne;
  EXPECT_TRUE(fails_with(image(header, 0, header.size() + 1), "runs past the end of the file"));
  EXPECT_TRUE(fails_with(image(kOne, 0, 100'000'000), "header length 100000000 runs past"));
  // A truncated file: the header itself is cut short.
  std::vector<uint8_t> cut = image(kOne, 8);
  cut.resize(20);
  EXPECT_TRUE(fails_with(cut, "runs past the end of the file (20 bytes)"));
}

TEST(SafetensorsValidation, HeaderNotUtf8) {
  EXPECT_TRUE(fails_with(image("{\"\xff\":1}"), "not valid UTF-8"));
  EXPECT_TRUE(fails_with(image("{\"\xc0\x80\":1}"), "not valid UTF-8"));      // overlong NUL
  EXPECT_TRUE(fails_with(image("{\"\xed\xa0\x80\":1}"), "not valid UTF-8"));  // surrogate
  EXPECT_TRUE(fails_with(image("{}\xe2\x82"), "not valid UTF-8"));            // cut sequence
}

TEST(SafetensorsValidation, HeaderNotJson) {
  EXPECT_TRUE(fails_with(image(R"({"t":)"), "header is not valid JSON"));
  EXPECT_TRUE(fails_with(image(R"({} {})"), "header is not valid JSON"));
  EXPECT_TRUE(fails_with(image(R"({/*c*/})"), "header is not valid JSON"));
  EXPECT_TRUE(fails_with(image(std::string_view("{}\0\0", 4)), "header is not valid JSON: NUL byte"));
  EXPECT_TRUE(fails_with(image(std::string_view("{}\0junk", 7)), "header is not valid JSON: NUL byte"));
}

TEST(SafetensorsValidation, NestingDepthIsLimited) {
  const std::string deep = R"({"__metadata__":)" + std::string(200, '[') + std::string(200, ']') + "}";
  EXPECT_TRUE(fails_with(image(deep), "header nests deeper than 128 levels"));
  const std::string ok = R"({"__metadata__":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_TRUE(fails_with(image(ok), "__metadata__ must be an object of strings"));
}

TEST(SafetensorsValidation, HeaderNotAnObject) {
  EXPECT_TRUE(fails_with(image(""), "must be a JSON object starting with '{'"));
  EXPECT_TRUE(fails_with(image("        "), "must be a JSON object starting with '{'"));
  EXPECT_TRUE(fails_with(image("[]"), "must be a JSON object starting with '{'"));
  EXPECT_TRUE(fails_with(image("\"x\""), "must be a JSON object starting with '{'"));
  EXPECT_TRUE(fails_with(image("\xef\xbb\xbf{}"), "must be a JSON object starting with '{'"));  // BOM
}

TEST(SafetensorsValidation, LeadingAndTrailingWhitespaceAccepted) {
  const std::string padded = std::string(" \t\r\n") + kOne + "   \n ";
  EXPECT_EQ(parse(image(padded, 8)).tensors.size(), 1u);
}

TEST(SafetensorsValidation, EntryNotAnObject) {
  EXPECT_TRUE(fails_with(image(R"({"t":[1]})"), "tensor \"t\": entry must be an object"));
}

TEST(SafetensorsValidation, UnknownAndMissingFields) {
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"U8","shape":[],"data_offsets":[0,1],"x":1}})", 1),
                         "tensor \"t\": unknown field \"x\""));
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"U8","shape":[]}})"),
                         "tensor \"t\": missing field \"data_offsets\""));
  EXPECT_TRUE(fails_with(image(R"({"t":{"shape":[],"data_offsets":[0,1]}})", 1), "missing field \"dtype\""));
}

TEST(SafetensorsValidation, BadDType) {
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"Q4","shape":[],"data_offsets":[0,1]}})", 1),
                         "tensor \"t\": unknown dtype \"Q4\""));
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"bf16","shape":[],"data_offsets":[0,2]}})", 2),
                         "unknown dtype \"bf16\""));
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":32,"shape":[],"data_offsets":[0,4]}})", 4),
                         "dtype must be a string"));
}

TEST(SafetensorsValidation, EveryReferenceDTypeWithItsWidth) {
  const std::vector<std::pair<std::string, unsigned>> widths = {
      {"BOOL", 8},    {"F4", 4},          {"F6_E2M3", 6},     {"F6_E3M2", 6}, {"U8", 8},   {"I8", 8},
      {"F8_E5M2", 8}, {"F8_E4M3", 8},     {"F8_E8M0", 8},     {"I16", 16},    {"U16", 16}, {"F16", 16},
      {"BF16", 16},   {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"I32", 32},    {"U32", 32}, {"F32", 32},
      {"C64", 64},    {"F64", 64},        {"I64", 64},        {"U64", 64}};
  for (const auto& [name, bits] : widths) {
    const size_t bytes = bits;  // shape [8]: 8 elements of `bits` bits
    const auto file =
        image(cat(R"({"t":{"dtype":")", name, R"(","shape":[8],"data_offsets":[0,)", bytes, "]}}"), bytes);
    const SafetensorsIndex index = parse(file);
    EXPECT_EQ(index.tensors[0].dtype_name, name);
    EXPECT_EQ(index.tensors[0].dtype.has_value(), name == "F32" || name == "BF16" || name == "F16") << name;
  }
}

TEST(SafetensorsValidation, SubByteDTypesMustFillWholeBytes) {
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2),
                         "tensor \"t\": F4 [3] is 12 bits, not a whole number of bytes"));
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"F6_E2M3","shape":[2],"data_offsets":[0,2]}})", 2),
                         "F6_E2M3 [2] is 12 bits"));
  EXPECT_EQ(
      parse(image(R"({"t":{"dtype":"F6_E3M2","shape":[2,2],"data_offsets":[0,3]}})", 3)).tensors[0].numel, 4);
}

TEST(SafetensorsValidation, BadShapeEntries) {
  auto with_shape = [](const std::string& shape) {
    return image(cat(R"({"t":{"dtype":"U8","shape":)", shape, R"(,"data_offsets":[0,1]}})"), 1);
  };
  EXPECT_TRUE(fails_with(with_shape("[-1]"), "tensor \"t\": shape[0] = -1 is negative"));
  EXPECT_TRUE(fails_with(with_shape("[1.0]"), "shape[0] must be a non-negative integer, got a non-integer"));
  EXPECT_TRUE(fails_with(with_shape("[1e0]"), "shape[0] must be a non-negative integer"));
  EXPECT_TRUE(fails_with(with_shape("[1,\"1\"]"), "shape[1] must be a non-negative integer, got a string"));
  EXPECT_TRUE(fails_with(with_shape("[281474976710656]"), "shape[0] = 281474976710656 exceeds the limit"));
  EXPECT_TRUE(fails_with(with_shape("[99999999999999999999999]"), "shape[0] must be a non-negative integer"));
  EXPECT_TRUE(fails_with(with_shape("{}"), "shape must be an array"));
  EXPECT_TRUE(fails_with(with_shape("null"), "shape must be an array"));
}

TEST(SafetensorsValidation, ElementCountOverflow) {
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"U8","shape":[281474976710655,281474976710655],)"
                               R"("data_offsets":[0,1]}})",
                               1),
                         "tensor \"t\": shape [281474976710655, 281474976710655]... has more than 2^64"));
  EXPECT_TRUE(
      fails_with(image(R"({"t":{"dtype":"F64","shape":[4294967296,268435456],"data_offsets":[0,1]}})", 1),
                 "holds more than 2^64 bits"));
}

TEST(SafetensorsValidation, BadDataOffsets) {
  auto with_offsets = [](const std::string& offsets) {
    return image(cat(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":)", offsets, "}}"), 1);
  };
  EXPECT_TRUE(fails_with(with_offsets("[0]"), "data_offsets must be an array [begin, end], got [0]"));
  EXPECT_TRUE(fails_with(with_offsets("[0,1,2]"), "data_offsets must be an array"));
  EXPECT_TRUE(fails_with(with_offsets("\"0,1\""), "data_offsets must be an array"));
  EXPECT_TRUE(fails_with(with_offsets("[-1,0]"), "data_offsets[0] = -1 is negative"));
  EXPECT_TRUE(fails_with(with_offsets("[0,1.5]"), "data_offsets[1] must be a non-negative integer"));
  EXPECT_TRUE(fails_with(with_offsets("[1,0]"), "tensor \"t\": data_offsets [1, 0] end before they begin"));
  EXPECT_TRUE(fails_with(with_offsets("[0,281474976710656]"), "data_offsets[1] = 281474976710656 exceeds"));
}

TEST(SafetensorsValidation, ByteCountMismatch) {
  EXPECT_TRUE(
      fails_with(image(R"({"lm_head.weight":{"dtype":"BF16","shape":[3,4],"data_offsets":[0,10]}})", 10),
                 "t.safetensors: tensor \"lm_head.weight\": data_offsets [0, 10] hold 10 bytes but "
                 "BF16 [3, 4] needs 24"));
  EXPECT_TRUE(fails_with(image(R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,0]}})"),
                         "data_offsets [0, 0] hold 0 bytes but F32 [] needs 4"));
}

TEST(SafetensorsValidation, EmptyTensorsAndScalars) {
  const SafetensorsIndex index = parse(image(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                                             R"("s":{"dtype":"F16","shape":[],"data_offsets":[0,2]},)"
                                             R"("b":{"dtype":"I64","shape":[3,0,2],"data_offsets":[2,2]},)"
                                             R"("c":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}})",
                                             2));
  ASSERT_EQ(index.tensors.size(), 4u);
  EXPECT_EQ(index.find("b")->numel, 0);
  EXPECT_EQ(index.find("s")->numel, 1);
}

TEST(SafetensorsValidation, GapsAreRejected) {
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2),
                         "tensor \"t\": data_offsets [1, 2] leave a gap of 1 bytes at the start"));
  EXPECT_TRUE(fails_with(image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                               R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                               6),
                         "tensor \"b\": data_offsets [4, 6] leave a gap of 3 bytes after tensor \"a\""));
}

TEST(SafetensorsValidation, OverlapsAreRejected) {
  EXPECT_TRUE(fails_with(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                               R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                               4),
                         "tensor \"b\": data_offsets [2, 4] overlap tensor \"a\", which ends at 4"));
  // Two tensors sharing the same bytes (a tied weight stored twice) overlap too.
  EXPECT_TRUE(fails_with(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                               R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                               4),
                         "overlap tensor"));
}

TEST(SafetensorsValidation, FileSizeMustMatchTheBufferEnd) {
  EXPECT_TRUE(fails_with(image(kOne, 9), "file has 71 bytes but the header and tensors end at 70"));
  EXPECT_TRUE(fails_with(image(kOne, 9), "(1 trailing bytes)"));
  EXPECT_TRUE(fails_with(image(kOne, 5), "(data buffer truncated by 3 bytes)"));
  EXPECT_TRUE(fails_with(image("{}", 1), "(1 trailing bytes)"));
}

TEST(SafetensorsValidation, DuplicateKeys) {
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                               R"("t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                               2),
                         "duplicate tensor \"t\""));
  EXPECT_TRUE(fails_with(image(R"({"t":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})", 1),
                         "tensor \"t\": duplicate field \"dtype\""));
  EXPECT_TRUE(
      fails_with(image(R"({"__metadata__":{"a":"1","a":"2"}})"), "__metadata__ has duplicate key \"a\""));
  EXPECT_TRUE(
      fails_with(image(R"({"__metadata__":{},"__metadata__":{}})"), "more than one \"__metadata__\""));
  // Keys equal after unescaping are the same key.
  EXPECT_TRUE(fails_with(image(R"({"__metadata__":{"a":"1","\u0061":"2"}})"), "duplicate key \"a\""));
}

TEST(SafetensorsValidation, MetadataMustMapStringsToStrings) {
  EXPECT_TRUE(
      fails_with(image(R"({"__metadata__":{"n":1}})"), "__metadata__ value of \"n\" must be a string"));
  EXPECT_TRUE(fails_with(image(R"({"__metadata__":{"n":null}})"), "must be a string, got a null"));
  EXPECT_TRUE(fails_with(image(R"({"__metadata__":{"n":{"a":"b"}}})"), "must be a string, got an object"));
  EXPECT_TRUE(fails_with(image(R"({"__metadata__":["a"]})"), "__metadata__ must be an object of strings"));
  EXPECT_TRUE(fails_with(image(R"({"__metadata__":"pt"})"), "__metadata__ must be an object of strings"));
  EXPECT_EQ(parse(image(R"({"__metadata__":{}})")).metadata.size(), 0u);
}

TEST(SafetensorsValidation, NamesWithSpecialCharactersAreQuotedInMessages) {
  EXPECT_TRUE(fails_with(image(R"({"a\"b\n":{"dtype":"X","shape":[],"data_offsets":[0,0]}})"),
                         R"(tensor "a\"b\n": unknown dtype "X")"));
}

}  // namespace
}  // namespace ratkv
