#include "sparse/sparse_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attention/attend.h"
#include "base/error.h"
#include "sparse/selection_util.h"

namespace ratkv {

SparseStats::SparseStats(int64_t num_layers, int64_t num_heads)
    : num_layers_(num_layers), num_heads_(num_heads), heads_(static_cast<size_t>(num_layers * num_heads)) {}

SparseStats::~SparseStats() {
  close();
}

void SparseStats::open_jsonl(const std::string& path) {
  close();
  out_ = std::fopen(path.c_str(), "w");
  require(out_ != nullptr, "--sparse-stats: cannot open ", path, " for writing");
}

void SparseStats::close() {
  if (!out_) return;
  for (int64_t l = 0; l < num_layers_; ++l)
    for (int64_t h = 0; h < num_heads_; ++h) std::fprintf(out_, "%s\n", summary(l, h).dump().c_str());
  std::fclose(out_);
  out_ = nullptr;
}

void SparseStats::begin_sample(std::vector<int64_t> gold_per_step) {
  gold_schedule_ = std::move(gold_per_step);
  sample_step_ = -1;
  last_position_ = -1;
  for (auto& h : heads_) {
    h.sample_all_hit = true;
    h.sample_gold_steps = 0;
  }
}

void SparseStats::end_sample() {
  for (auto& h : heads_) {
    if (h.sample_gold_steps > 0) {
      h.gold_samples += 1;
      h.strict_hits += h.sample_all_hit ? 1 : 0;
    }
    h.sample_all_hit = true;
    h.sample_gold_steps = 0;
  }
  ++sample_;
}

std::vector<std::pair<int64_t, int64_t>> SparseStats::heads_by_hit_rate() const {
  std::vector<std::pair<int64_t, int64_t>> order;
  for (int64_t l = 0; l < num_layers_; ++l)
    for (int64_t h = 0; h < num_heads_; ++h) order.emplace_back(l, h);
  std::stable_sort(order.begin(), order.end(), [this](const auto& a, const auto& b) {
    const auto &x = head(a.first, a.second), &y = head(b.first, b.second);
    if (x.strict_hit_rate() != y.strict_hit_rate()) return x.strict_hit_rate() > y.strict_hit_rate();
    return x.mean_mass() > y.mean_mass();
  });
  return order;
}

Json SparseStats::summary(int64_t layer, int64_t head) const {
  const auto& s = this->head(layer, head);
  return Json{{"summary", true},
              {"layer", layer},
              {"head", head},
              {"steps", s.steps},
              {"mean_mass", s.mean_mass()},
              {"mean_oracle_overlap", s.mean_oracle_overlap()},
              {"mean_selected_tokens", s.steps ? s.selected_tokens_sum / static_cast<double>(s.steps) : 0.0},
              {"gold_steps", s.gold_steps},
              {"gold_step_hits", s.gold_step_hits},
              {"gold_samples", s.gold_samples},
              {"strict_hits", s.strict_hits},
              {"strict_hit_rate", s.strict_hit_rate()}};
}

void SparseStats::on_selection(const SelectionEvent& e) {
  // A new position (or the first layer again) starts a new decode step.
  if (e.position != last_position_ || e.layer < last_layer_) {
    ++sample_step_;
    ++step_;
    step_gold_ = pending_gold_ >= 0 ? pending_gold_
                 : sample_step_ < static_cast<int64_t>(gold_schedule_.size())
                     ? gold_schedule_[static_cast<size_t>(sample_step_)]
                     : -1;
    pending_gold_ = -1;
    last_position_ = e.position;
  }
  last_layer_ = e.layer;

  const KvCache& cache = *e.cache;
  const int64_t end = e.position + 1, dim = cache.shape().head_dim, page = cache.shape().page_size;
  const DType dtype = cache.shape().dtype;
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  logits_.resize(static_cast<size_t>(end));
  selected_.assign(static_cast<size_t>(end), 0);
  float max_logit = -std::numeric_limits<float>::infinity();
  for (int64_t p0 = 0; p0 < end; p0 += page) {
    const uint8_t* keys = cache.keys(e.layer, p0, e.kv_head);
    for (int64_t j = p0; j < std::min(end, p0 + page); ++j) {
      logits_[static_cast<size_t>(j)] = dot_cached(e.q, keys + (j - p0) * dim * elem, dtype, dim) * e.scale;
      max_logit = std::max(max_logit, logits_[static_cast<size_t>(j)]);
    }
  }
  int64_t count = 0;
  std::vector<int64_t> pages;
  for (const auto& s : *e.spans) {
    for (int64_t j = s.start; j < s.start + s.count; ++j) selected_[static_cast<size_t>(j)] = 1;
    count += s.count;
    if (pages.empty() || pages.back() != s.start / page) pages.push_back(s.start / page);
  }
  double total = 0.0, captured = 0.0;
  for (int64_t j = 0; j < end; ++j) {
    const double p = std::exp(static_cast<double>(logits_[static_cast<size_t>(j)] - max_logit));
    total += p;
    if (selected_[static_cast<size_t>(j)]) captured += p;
  }
  candidates_.resize(static_cast<size_t>(end));
  for (int64_t j = 0; j < end; ++j) candidates_[static_cast<size_t>(j)] = j;
  top_k(logits_.data(), candidates_, count, oracle_);
  int64_t overlap = 0;
  for (int64_t j : oracle_) overlap += selected_[static_cast<size_t>(j)];

  auto& h = heads_[static_cast<size_t>(e.layer * num_heads_ + e.head)];
  const double mass = captured / total;
  const double overlap_fraction = count ? static_cast<double>(overlap) / static_cast<double>(count) : 1.0;
  h.steps += 1;
  h.mass_sum += mass;
  h.oracle_overlap_sum += overlap_fraction;
  h.selected_tokens_sum += static_cast<double>(count);
  const bool has_gold = step_gold_ >= 0 && step_gold_ < end;
  const bool hit = has_gold && selected_[static_cast<size_t>(step_gold_)];
  if (has_gold) {
    h.gold_steps += 1;
    h.gold_step_hits += hit ? 1 : 0;
    h.sample_gold_steps += 1;
    h.sample_all_hit = h.sample_all_hit && hit;
  }
  if (out_) {
    Json j{{"sample", sample_}, {"step", sample_step_}, {"position", e.position},
           {"layer", e.layer},  {"head", e.head},       {"kv_head", e.kv_head},
           {"dense", e.dense},  {"visible", end},       {"selected_tokens", count},
           {"pages", pages},    {"mass", mass},         {"oracle_overlap", overlap_fraction}};
    if (has_gold) {
      j["gold"] = step_gold_;
      j["gold_hit"] = hit;
    }
    std::fprintf(out_, "%s\n", j.dump().c_str());
  }
}

}  // namespace ratkv
