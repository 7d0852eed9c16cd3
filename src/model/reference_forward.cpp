#include "model/reference_forward.h"

#include <cmath>

#include "kernels/cpu/rope.h"

namespace ratkv {

namespace {

using Vec = std::vector<double>;

Vec apply_linear(const Linear& l, const Vec& x) {
  const WeightView& w = l.weight;
  Vec y(static_cast<size_t>(w.rows));
  for (int64_t r = 0; r < w.rows; ++r) {
    double sum = l.bias.empty() ? 0.0 : l.bias[static_cast<size_t>(r)];
    for (int64_t c = 0; c < w.cols; ++c)
      sum += load_as_f32(w.row(r), static_cast<size_t>(c), w.dtype) * x[static_cast<size_t>(c)];
    y[static_cast<size_t>(r)] = sum;
  }
  return y;
}

Vec rms_norm(const Vec& x, const std::vector<float>& weight, double eps) {
  double mean_square = 0.0;
  for (double v : x) mean_square += v * v;
  mean_square /= static_cast<double>(x.size());
  const double inv = 1.0 / std::sqrt(mean_square + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * weight[i];
  return y;
}

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// rotate_half RoPE of one head vector at `position` (frequencies from the engine's Rope, which follows
// transformers' f32 computation; the rotation itself is done here in double).
void rotate(double* head, int64_t dim, int64_t position, const std::vector<float>& inv_freq) {
  const int64_t half = dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double angle = static_cast<double>(static_cast<float>(position) * inv_freq[static_cast<size_t>(i)]);
    const double c = std::cos(angle), s = std::sin(angle);
    const double a = head[i], b = head[i + half];
    head[i] = a * c - b * s;
    head[i + half] = b * c + a * s;
  }
}

}  // namespace

std::vector<float> reference_forward(const ModelConfig& c, const ModelWeights& w,
                                     const std::vector<int32_t>& tokens, const ReferenceOptions& options) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t hd = c.head_dim;
  const int64_t group = c.num_heads / c.num_kv_heads;
  const Rope rope(c.rope, hd, c.max_position_embeddings);
  const std::vector<float> inv_freq = rope.inv_freq(n);

  std::vector<Vec> x(static_cast<size_t>(n), Vec(static_cast<size_t>(c.hidden_size)));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < c.hidden_size; ++i)
      x[static_cast<size_t>(t)][static_cast<size_t>(i)] = load_as_f32(
          w.embedding.row(tokens[static_cast<size_t>(t)]), static_cast<size_t>(i), w.embedding.dtype);

  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const LayerWeights& lw = w.layers[static_cast<size_t>(layer)];
    const bool pre_norm = c.norm_placement == NormPlacement::PreNorm;

    // Projections, q/k norm, memory (before RoPE), RoPE.
    std::vector<Vec> q(static_cast<size_t>(n)), k(q.size()), v(q.size()), og(q.size());
    Vec state_k(static_cast<size_t>(c.kv_dim()), 0.0), state_v(state_k);
    for (int64_t t = 0; t < n; ++t) {
      const size_t ts = static_cast<size_t>(t);
      const Vec u = pre_norm ? rms_norm(x[ts], lw.attn_norm, c.rms_norm_eps) : x[ts];
      q[ts] = apply_linear(lw.q, u);
      k[ts] = apply_linear(lw.k, u);
      v[ts] = apply_linear(lw.v, u);
      if (c.qk_norm) {
        q[ts] = rms_norm(q[ts], lw.q_norm, c.rms_norm_eps);
        k[ts] = rms_norm(k[ts], lw.k_norm, c.rms_norm_eps);
      }
      if (c.layer_has_memory(layer)) {
        const Vec f = apply_linear(lw.memory_gate, u);
        const double gate_max = c.memory_max_length > 0 ? 1.0 - 1.0 / c.memory_max_length : 1.0;
        for (size_t i = 0; i < state_k.size(); ++i) {
          const double g = gate_max * sigmoid(f[i]);
          state_k[i] = g * state_k[i] + (1.0 - g) * k[ts][i];
          state_v[i] = g * state_v[i] + (1.0 - g) * v[ts][i];
          k[ts][i] = state_k[i];
          v[ts][i] = state_v[i];
          if (options.memory_state_dtype != DType::F32) {
            state_k[i] = round_to(options.memory_state_dtype, static_cast<float>(state_k[i]));
            state_v[i] = round_to(options.memory_state_dtype, static_cast<float>(state_v[i]));
          }
        }
      }
      if (c.output_gate) og[ts] = apply_linear(lw.output_gate, u);
      for (int64_t head = 0; head < c.num_heads; ++head)
        rotate(&q[ts][static_cast<size_t>(head * hd)], hd, t, inv_freq);
      for (int64_t head = 0; head < c.num_kv_heads; ++head)
        rotate(&k[ts][static_cast<size_t>(head * hd)], hd, t, inv_freq);
      // What the cache stores.
      for (double& e : k[ts]) e = round_to(options.kv_dtype, static_cast<float>(e));
      for (double& e : v[ts]) e = round_to(options.kv_dtype, static_cast<float>(e));
    }

    // Causal softmax attention, output gate, output projection, residual.
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    for (int64_t t = 0; t < n; ++t) {
      const size_t ts = static_cast<size_t>(t);
      Vec attn(static_cast<size_t>(c.q_dim()), 0.0);
      for (int64_t head = 0; head < c.num_heads; ++head) {
        const int64_t kv_head = head / group;
        std::vector<double> scores(ts + 1);
        double max_score = -INFINITY;
        for (size_t j = 0; j <= ts; ++j) {
          double s = 0.0;
          for (int64_t i = 0; i < hd; ++i)
            s += q[ts][static_cast<size_t>(head * hd + i)] * k[j][static_cast<size_t>(kv_head * hd + i)];
          scores[j] = s * scale;
          max_score = std::max(max_score, scores[j]);
        }
        double total = 0.0;
        for (double& s : scores) total += (s = std::exp(s - max_score));
        for (size_t j = 0; j <= ts; ++j)
          for (int64_t i = 0; i < hd; ++i)
            attn[static_cast<size_t>(head * hd + i)] +=
                scores[j] / total * v[j][static_cast<size_t>(kv_head * hd + i)];
      }
      if (c.output_gate)
        for (size_t i = 0; i < attn.size(); ++i) attn[i] *= sigmoid(og[ts][i]);
      Vec out = apply_linear(lw.o, attn);
      if (!pre_norm) out = rms_norm(out, lw.attn_out_norm, c.rms_norm_eps);
      for (size_t i = 0; i < out.size(); ++i) x[ts][i] += out[i];
    }

    // Feed-forward.
    for (int64_t t = 0; t < n; ++t) {
      const size_t ts = static_cast<size_t>(t);
      const Vec u = pre_norm ? rms_norm(x[ts], lw.ffn_norm, c.rms_norm_eps) : x[ts];
      Vec hidden = apply_linear(lw.ffn_up, u);
      if (c.ffn == FfnKind::SwiGlu) {
        const Vec gate = apply_linear(lw.ffn_gate, u);
        for (size_t i = 0; i < hidden.size(); ++i) hidden[i] *= gate[i] * sigmoid(gate[i]);
      } else {
        for (double& e : hidden) e = 0.5 * e * (1.0 + std::erf(e / std::sqrt(2.0)));
      }
      Vec out = apply_linear(lw.ffn_down, hidden);
      if (!pre_norm) out = rms_norm(out, lw.ffn_out_norm, c.rms_norm_eps);
      for (size_t i = 0; i < out.size(); ++i) x[ts][i] += out[i];
    }
  }

  std::vector<float> logits(static_cast<size_t>(n * c.vocab_size));
  for (int64_t t = 0; t < n; ++t) {
    const Vec u = rms_norm(x[static_cast<size_t>(t)], w.final_norm, c.rms_norm_eps);
    for (int64_t r = 0; r < c.vocab_size; ++r) {
      double sum = 0.0;
      for (int64_t i = 0; i < c.hidden_size; ++i)
        sum += load_as_f32(w.lm_head.row(r), static_cast<size_t>(i), w.lm_head.dtype) *
               u[static_cast<size_t>(i)];
      logits[static_cast<size_t>(t * c.vocab_size + r)] = static_cast<float>(sum);
    }
  }
  return logits;
}

}  // namespace ratkv
