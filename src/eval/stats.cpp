#include "eval/stats.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/rng.h"

namespace ratkv::eval {

double mean(const std::vector<double>& x) {
  if (x.empty()) return 0.0;
  double s = 0.0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double sample_sd(const std::vector<double>& x) {
  if (x.size() < 2) return 0.0;
  const double m = mean(x);
  double s = 0.0;
  for (double v : x) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size() - 1));
}

double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(i);
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

namespace {

Interval percentile_interval(double point, std::vector<double> stats, double level, int64_t n) {
  std::sort(stats.begin(), stats.end());
  Interval r;
  r.mean = point;
  r.n = n;
  r.lo = quantile_sorted(stats, (1.0 - level) / 2.0);
  r.hi = quantile_sorted(stats, 1.0 - (1.0 - level) / 2.0);
  return r;
}

double mean_of_means(const std::vector<std::vector<double>>& groups) {
  double s = 0.0;
  int64_t k = 0;
  for (const auto& g : groups)
    if (!g.empty()) s += mean(g), ++k;
  return k ? s / static_cast<double>(k) : 0.0;
}

}  // namespace

Interval bootstrap_mean(const std::vector<double>& x, const BootstrapOptions& o) {
  return bootstrap_mean_of_groups({x}, o);
}

Interval bootstrap_mean_of_groups(const std::vector<std::vector<double>>& groups, const BootstrapOptions& o) {
  int64_t n = 0;
  for (const auto& g : groups) n += static_cast<int64_t>(g.size());
  if (n == 0) return {};
  Rng rng(o.seed);
  std::vector<double> stats;
  stats.reserve(static_cast<size_t>(o.resamples));
  for (int64_t r = 0; r < o.resamples; ++r) {
    double s = 0.0;
    int64_t k = 0;
    for (const auto& g : groups) {
      if (g.empty()) continue;
      double gs = 0.0;
      for (size_t i = 0; i < g.size(); ++i) gs += g[rng.below(g.size())];
      s += gs / static_cast<double>(g.size());
      ++k;
    }
    stats.push_back(s / static_cast<double>(k));
  }
  return percentile_interval(mean_of_means(groups), std::move(stats), o.level, n);
}

double sign_flip_p_value(const std::vector<double>& d, const std::vector<double>& w, int64_t resamples,
                         uint64_t seed, bool* exact) {
  std::vector<double> terms;
  for (size_t i = 0; i < d.size(); ++i)
    if (d[i] != 0.0) terms.push_back(d[i] * w[i]);  // zero differences do not change under a flip
  double observed = 0.0;
  for (double t : terms) observed += t;
  observed = std::fabs(observed);
  // A small relative tolerance so that ties with the observed value count as "as extreme".
  const double tol = 1e-9 * (1.0 + observed);
  if (terms.empty()) {
    if (exact) *exact = true;
    return 1.0;
  }
  if (terms.size() <= 20) {
    if (exact) *exact = true;
    const uint64_t patterns = 1ull << terms.size();
    uint64_t extreme = 0;
    for (uint64_t mask = 0; mask < patterns; ++mask) {
      double s = 0.0;
      for (size_t i = 0; i < terms.size(); ++i) s += (mask >> i & 1) ? -terms[i] : terms[i];
      if (std::fabs(s) >= observed - tol) ++extreme;
    }
    return static_cast<double>(extreme) / static_cast<double>(patterns);
  }
  if (exact) *exact = false;
  Rng rng(seed);
  int64_t extreme = 0;
  for (int64_t r = 0; r < resamples; ++r) {
    double s = 0.0;
    for (double t : terms) s += (rng.next_u64() >> 63) ? -t : t;
    if (std::fabs(s) >= observed - tol) ++extreme;
  }
  // (k + 1) / (R + 1): a Monte Carlo p-value is never 0.
  return static_cast<double>(extreme + 1) / static_cast<double>(resamples + 1);
}

PairedComparison paired_compare(const std::vector<double>& a, const std::vector<double>& b,
                                const BootstrapOptions& o) {
  return paired_compare_groups({a}, {b}, o);
}

PairedComparison paired_compare_groups(const std::vector<std::vector<double>>& a,
                                       const std::vector<std::vector<double>>& b, const BootstrapOptions& o) {
  require(a.size() == b.size(), "paired comparison: group counts differ");
  std::vector<std::vector<double>> diffs(a.size());
  std::vector<double> flat, weights;
  int64_t groups = 0;
  for (size_t g = 0; g < a.size(); ++g) {
    require(a[g].size() == b[g].size(), "paired comparison: group ", g, " has ", a[g].size(), " and ",
            b[g].size(), " samples");
    if (!a[g].empty()) ++groups;
  }
  for (size_t g = 0; g < a.size(); ++g) {
    for (size_t i = 0; i < a[g].size(); ++i) {
      diffs[g].push_back(b[g][i] - a[g][i]);
      flat.push_back(b[g][i] - a[g][i]);
      // Each group's mean difference weighs 1 / groups: a pair's weight is 1 / (groups × group size).
      weights.push_back(1.0 / (static_cast<double>(groups) * static_cast<double>(a[g].size())));
    }
  }
  PairedComparison r;
  r.diff = bootstrap_mean_of_groups(diffs, o);
  r.p_value = sign_flip_p_value(flat, weights, std::max<int64_t>(o.resamples, 2000), o.seed + 1, &r.exact);
  return r;
}

}  // namespace ratkv::eval
