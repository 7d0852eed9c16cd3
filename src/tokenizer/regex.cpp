#include "tokenizer/regex.h"

#include <pcre2.h>

#include "base/error.h"
#include "tokenizer/utf8.h"

namespace ratkv {
namespace {

// The set Oniguruma means by \s (Unicode White_Space), written so that it also works inside a
// character class.
constexpr std::string_view kOnigurumaSpaceSet =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
    "\\x{3000}";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? cat("PCRE2 error ", code) : std::string(reinterpret_cast<const char*>(buffer), n);
}

// Length of the escape sequence starting at pattern[pos] == '\\', braces included (\p{L}, \x{85}).
size_t escape_length(std::string_view pattern, size_t pos) {
  if (pos + 1 >= pattern.size()) return 1;
  size_t end = pos + 2;
  char kind = pattern[pos + 1];
  if ((kind == 'p' || kind == 'P' || kind == 'x' || kind == 'o' || kind == 'g' || kind == 'k') &&
      end < pattern.size() && pattern[end] == '{') {
    size_t close = pattern.find('}', end);
    if (close != std::string_view::npos) end = close + 1;
  }
  return end - pos;
}

// Per-thread match state, so that encoding does not allocate per call. One ovector pair is enough:
// only the whole-match span is used. Patterns come from files and may backtrack deeply, which can
// exhaust PCRE2's default 32 KiB JIT stack, so it may grow to 1 MiB here.
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);

  MatchState() { pcre2_jit_stack_assign(context, nullptr, jit_stack); }
  ~MatchState() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  MatchState(const MatchState&) = delete;
  MatchState& operator=(const MatchState&) = delete;
};

MatchState& thread_match_state() {
  thread_local MatchState state;
  return state;
}

}  // namespace

std::string to_pcre2_syntax(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 16);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      size_t n = escape_length(pattern, i);
      char kind = n >= 2 ? pattern[i + 1] : '\0';
      if (kind == 's') {
        if (in_class) {
          out.append(kOnigurumaSpaceSet);
        } else {
          out.append("[").append(kOnigurumaSpaceSet).append("]");
        }
      } else if (kind == 'S' && !in_class) {
        out.append("[^").append(kOnigurumaSpaceSet).append("]");
      } else {
        out.append(pattern.substr(i, n));
      }
      i += n - 1;
    } else if (in_class) {
      if (c == ']') in_class = false;
      out.push_back(c);
    } else if (c == '[') {
      in_class = true;
      out.push_back(c);
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }

  static std::shared_ptr<const Compiled> build(std::string_view pcre2_pattern, uint32_t extra_options,
                                               std::string_view shown_pattern) {
    utf8::require_valid_utf8(shown_pattern, "regex pattern");
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    auto compiled = std::make_shared<Compiled>();
    compiled->code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre2_pattern.data()), pcre2_pattern.size(),
                      PCRE2_UTF | PCRE2_NO_UTF_CHECK | extra_options, &error_code, &error_offset, nullptr);
    if (compiled->code == nullptr) {
      std::string rewritten =
          pcre2_pattern == shown_pattern ? "" : cat(" (of its PCRE2 form \"", pcre2_pattern, "\")");
      fail("invalid regex \"", shown_pattern, "\": ", pcre2_message(error_code), " at offset ", error_offset,
           rewritten);
    }
    // JIT is an optimisation only: where it is unavailable the interpreter gives the same matches.
    pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE);
    return compiled;
  }
};

Regex Regex::compile(std::string_view pattern) {
  return Regex(Compiled::build(to_pcre2_syntax(pattern), PCRE2_UCP, pattern), std::string(pattern));
}

// PCRE2 refuses UCP together with LITERAL; it has no meaning for a literal anyway.
Regex Regex::literal(std::string_view text) {
  return Regex(Compiled::build(text, PCRE2_LITERAL, text), std::string(text));
}

void Regex::find_all(std::string_view text, std::vector<MatchSpan>& out) const {
  MatchState& state = thread_match_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  bool have_previous = false;
  size_t previous_end = 0;
  while (start <= text.size()) {
    int rc = pcre2_match(compiled_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, state.data,
                         state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0)
      fail("regex \"", pattern_, "\" failed on a ", text.size(), "-byte input: ", pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    size_t begin = ovector[0], end = ovector[1];
    if (begin == end && have_previous && previous_end == end) {
      // Step over one character and search again, as Oniguruma's iterator does.
      if (start >= text.size()) break;
      start += utf8::sequence_length(static_cast<uint8_t>(text[start]));
      continue;
    }
    out.push_back({begin, end});
    have_previous = true;
    previous_end = end;
    start = end;
  }
}

std::vector<MatchSpan> Regex::find_all(std::string_view text) const {
  std::vector<MatchSpan> out;
  find_all(text, out);
  return out;
}

bool Regex::search(std::string_view text) const {
  MatchState& state = thread_match_state();
  int rc = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                       PCRE2_NO_UTF_CHECK, state.data, state.context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) fail("regex \"", pattern_, "\" failed: ", pcre2_message(rc));
  return true;
}

}  // namespace ratkv
