#include "niah/scorer.h"

namespace ratkv::niah {

namespace {

std::string strip(const std::string& s) {
  // Python's str.strip() without arguments strips whitespace; for ASCII that is " \t\n\r\v\f" and the
  // separators \x1c-\x1f.
  auto ws = [](unsigned char c) { return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f); };
  size_t a = 0, b = s.size();
  while (a < b && ws(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && ws(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

std::string postprocess_prediction(const std::string& prediction) {
  std::string s = strip(prediction);
  for (char& c : s)
    if (static_cast<unsigned char>(c) <= 0x1f) c = '\n';
  return strip(s);
}

std::vector<bool> matched_references(const std::string& prediction,
                                     const std::vector<std::string>& references) {
  const std::string pred = lower(postprocess_prediction(prediction));
  std::vector<bool> out;
  for (const auto& r : references) out.push_back(pred.find(lower(r)) != std::string::npos);
  return out;
}

double string_match_all(const std::string& prediction, const std::vector<std::string>& references) {
  if (references.empty()) return 0.0;
  int hits = 0;
  for (bool m : matched_references(prediction, references)) hits += m ? 1 : 0;
  return 100.0 * hits / static_cast<double>(references.size());
}

}  // namespace ratkv::niah
