// snapkv (Li et al. 2024): once, at the end of the prompt (L tokens), if L > C (C = budget resolved at
// L), the last W prompt queries vote over the prefix: vote[j] = Σ_{w} softmax_f32(q_w·k / √d)[j] for
// j < L - W, each row's softmax over all keys up to its own position (causal). The votes are pooled
// (kernel k odd, padding k/2, stride 1; avg divides by k counting the zero padding, max ignores the
// padding), the top C - W prefix tokens (ties: lower position) are kept together with the W window
// tokens: exactly C tokens per unit. Per KV head the group's votes are summed. Decode then attends densely
// to the kept tokens plus every token appended after the prompt. The prompt's own attention is dense.
// The sequence's cache is not changed (diagnostics still compare with the dense softmax over it); when each
// unit is one KV head, the kept tokens are also copied once, per layer and head in position order, into a
// compact cache that decode streams instead of gathering ~C scattered rows per head (Selector::compacted).
#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "sparse/selection_util.h"
#include "sparse/selector.h"
#include "tensor/dtype.h"

namespace ratkv {

namespace {
class SnapKvSelector final : public Selector {
 public:
  SnapKvSelector(const SparseConfig& c, const SelectorShape& s) : c_(c), shape_(s) { reset(); }

  void reset() override {
    const int64_t units = c_.per_query_head ? shape_.num_heads : shape_.num_kv_heads;
    kept_.assign(static_cast<size_t>(shape_.num_layers),
                 std::vector<std::vector<TokenSpan>>(static_cast<size_t>(units)));
    prompt_end_.assign(static_cast<size_t>(shape_.num_layers), -1);
    if (compact_) compact_->clear();
  }
  bool uses_budget() const override { return false; }

  void observe_prompt(const PromptView& p) override {
    const int64_t L = p.position0 + p.n, C = c_.budget.resolve(L), W = c_.snap_window;
    prompt_end_[static_cast<size_t>(p.layer)] = -1;
    if (L <= C) return;  // nothing to evict: decode stays dense
    require(W < C, "snapkv: --snap-window ", W, " must be smaller than the kept capacity C = ", C,
            " (the budget at the prompt's end)");
    const int64_t units = c_.per_query_head ? shape_.num_heads : shape_.num_kv_heads;
    const int64_t group = shape_.num_heads / shape_.num_kv_heads;
    const int64_t prefix = L - W;
    // The votes depend on the window, not on C: arms at other budgets reuse those of this prompt.
    PromptVotes::Entry* memo =
        p.votes && !c_.random_scores ? &p.votes->entry(L, W, c_.per_query_head, p.layer, units) : nullptr;
    const bool reuse = memo && memo->filled;
#pragma omp parallel for schedule(dynamic)
    for (int64_t u = 0; u < units; ++u) {
      std::vector<float> own, pooled(static_cast<size_t>(prefix));
      // This unit's votes: the memo's (computed by an earlier arm, or into it now), or this call's own.
      std::vector<float>& votes = memo ? memo->units[static_cast<size_t>(u)] : own;
      if (!reuse) {
        votes.assign(static_cast<size_t>(prefix), 0.0f);
        if (!c_.random_scores) vote(p, u, group, votes);
      }
      pool(votes, pooled);
      if (c_.random_scores)
        for (int64_t j = 0; j < prefix; ++j)
          pooled[static_cast<size_t>(j)] = seeded_uniform(c_.random_seed, p.layer, u, L, j);
      std::vector<int64_t> candidates(static_cast<size_t>(prefix)), chosen;
      for (int64_t j = 0; j < prefix; ++j) candidates[static_cast<size_t>(j)] = j;
      top_k(pooled.data(), candidates, C - W, chosen);
      for (int64_t j = prefix; j < L; ++j) chosen.push_back(j);
      auto& spans = kept_[static_cast<size_t>(p.layer)][static_cast<size_t>(u)];
      spans.clear();
      spans_of_tokens(chosen.data(), static_cast<int64_t>(chosen.size()), shape_.page_size, spans);
    }
    if (memo) memo->filled = true;
    prompt_end_[static_cast<size_t>(p.layer)] = L;
    // One unit per KV head: the kept rows of each head can share compact slots (the other mode, a unit per
    // query head of a GQA group, keeps several sets per KV head).
    if (units == shape_.num_kv_heads) compact_layer(p, C);
  }

  CompactedPrompt compacted(int64_t layer) const override {
    const int64_t end = prompt_end_[static_cast<size_t>(layer)];
    if (!compact_ || end < 0 || compact_->length(layer) == 0) return {};
    return {compact_.get(), compact_->length(layer), end};
  }

  void select(const SelectRequest& r, SelectScratch&, std::vector<TokenSpan>& spans) const override {
    spans.clear();
    const int64_t prompt_end = prompt_end_[static_cast<size_t>(r.layer)];
    if (prompt_end < 0) {
      spans_of_range(0, r.position + 1, shape_.page_size, spans);
      return;
    }
    const auto& kept = kept_[static_cast<size_t>(r.layer)][static_cast<size_t>(r.unit)];
    spans.insert(spans.end(), kept.begin(), kept.end());
    spans_of_range(prompt_end, r.position + 1, shape_.page_size, spans);
  }

 private:
  // votes[j] += attention of each window query of unit u (its head, or its KV head's group) on key j.
  void vote(const PromptView& p, int64_t u, int64_t group, std::vector<float>& votes) const {
    const KvCache& cache = *p.cache;
    const int64_t dim = shape_.head_dim, page = shape_.page_size, L = p.position0 + p.n;
    const int64_t kv_head = c_.per_query_head ? u / group : u;
    const int64_t first_head = c_.per_query_head ? u : u * group, heads = c_.per_query_head ? 1 : group;
    const DType dtype = cache.shape().dtype;
    const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
    std::vector<float> logits(static_cast<size_t>(L));
    const int64_t first_row = std::max(p.position0, L - c_.snap_window);
    for (int64_t pos = first_row; pos < L; ++pos) {
      for (int64_t h = first_head; h < first_head + heads; ++h) {
        const float* q = p.q + ((pos - p.position0) * p.num_heads + h) * dim;
        float max_logit = -std::numeric_limits<float>::infinity();
        for (int64_t p0 = 0; p0 <= pos; p0 += page) {
          const uint8_t* keys = cache.keys(p.layer, p0, kv_head);
          for (int64_t j = p0; j <= std::min(pos, p0 + page - 1); ++j) {
            const float s = dot_cached(q, keys + (j - p0) * dim * elem, dtype, dim) * p.scale;
            logits[static_cast<size_t>(j)] = s;
            max_logit = std::max(max_logit, s);
          }
        }
        float total = 0.0f;
        for (int64_t j = 0; j <= pos; ++j)
          total += (logits[static_cast<size_t>(j)] = std::exp(logits[static_cast<size_t>(j)] - max_logit));
        const float inv = 1.0f / total;
        for (size_t j = 0; j < votes.size(); ++j) votes[j] += logits[j] * inv;
      }
    }
  }

  // Copies layer p.layer's kept tokens (exactly C per KV head, in position order) into slots [0, C) of the
  // compact cache. Stored values are copied exactly (the cache dtype widened to f32 and stored back).
  void compact_layer(const PromptView& p, int64_t C) {
    const KvCache& cache = *p.cache;
    const KvCacheShape& shape = cache.shape();
    if (!compact_ || compact_->shape().dtype != shape.dtype)
      compact_ = std::make_unique<KvCache>(
          KvCacheShape{shape.num_layers, shape.num_kv_heads, shape.head_dim, shape.page_size, shape.dtype});
    if (compact_->length(p.layer) > 0) compact_->clear();  // a new prompt without reset()
    const int64_t heads = shape.num_kv_heads, dim = shape.head_dim;
    std::vector<float> k(static_cast<size_t>(C * heads * dim)), v(k.size());
    for (int64_t h = 0; h < heads; ++h) {
      int64_t slot = 0;
      for (const TokenSpan& span : kept_[static_cast<size_t>(p.layer)][static_cast<size_t>(h)])
        for (int64_t j = span.start; j < span.start + span.count; ++j, ++slot) {
          const auto row = static_cast<size_t>((slot * heads + h) * dim);
          convert_to_f32(cache.keys(p.layer, j, h), shape.dtype, static_cast<size_t>(dim), k.data() + row);
          convert_to_f32(cache.values(p.layer, j, h), shape.dtype, static_cast<size_t>(dim), v.data() + row);
        }
      require(slot == C, "snapkv: kept ", slot, " tokens of KV head ", h, " instead of ", C);
    }
    compact_->append(p.layer, k.data(), v.data(), C);
  }

  void pool(const std::vector<float>& votes, std::vector<float>& pooled) const {
    const int64_t n = static_cast<int64_t>(votes.size()), half = c_.snap_kernel / 2;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t lo = std::max<int64_t>(0, j - half), hi = std::min(n - 1, j + half);
      float acc = c_.snap_pool == SnapPool::Max ? -std::numeric_limits<float>::infinity() : 0.0f;
      for (int64_t i = lo; i <= hi; ++i)
        acc = c_.snap_pool == SnapPool::Max ? std::max(acc, votes[static_cast<size_t>(i)])
                                            : acc + votes[static_cast<size_t>(i)];
      pooled[static_cast<size_t>(j)] =
          c_.snap_pool == SnapPool::Max ? acc : acc / static_cast<float>(c_.snap_kernel);
    }
  }

  SparseConfig c_;
  SelectorShape shape_;
  std::vector<std::vector<std::vector<TokenSpan>>> kept_;  // [layer][unit] spans of the kept prompt tokens
  std::vector<int64_t> prompt_end_;                        // [layer] L, or -1 when nothing was evicted
  std::unique_ptr<KvCache> compact_;  // [layer] the kept tokens of each KV head in slots [0, C)
};
}  // namespace

std::unique_ptr<Selector> make_snapkv_selector(const SparseConfig& c, const SelectorShape& s) {
  return std::make_unique<SnapKvSelector>(c, s);
}

}  // namespace ratkv
