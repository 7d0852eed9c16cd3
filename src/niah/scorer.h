#pragma once
// RULER's NIAH scoring (scripts/eval/evaluate.py postprocess_pred, scripts/eval/synthetic/constants.py
// string_match_all): strip, control characters to newlines, strip again; then the fraction of expected
// answers contained in the prediction, case-insensitively (ASCII case folding; Python's lower() also folds
// non-ASCII letters, which NIAH answers — digits, uuids, ASCII words — do not contain). Scores are 0..100 per
// sample.
#include <string>
#include <vector>

namespace ratkv::niah {

std::string postprocess_prediction(const std::string& prediction);
// 100 × |{r : lower(r) ⊂ lower(pred)}| / |refs|, on the post-processed prediction.
double string_match_all(const std::string& prediction, const std::vector<std::string>& references);
// Per reference: whether it was found (for per-answer diagnostics).
std::vector<bool> matched_references(const std::string& prediction,
                                     const std::vector<std::string>& references);

}  // namespace ratkv::niah
