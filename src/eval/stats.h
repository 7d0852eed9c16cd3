#pragma once
// Statistics that say whether a difference is real: the mean with a 95% percentile-bootstrap interval, the
// stratified version for an average over tasks (resampling within each task), and for two models scored on
// the same samples the paired difference with its bootstrap interval and a two-sided paired sign-flip
// (permutation) test — exact when at most 20 pairs differ, Monte Carlo otherwise. All resampling is seeded
// (ratkv::Rng), so a report is the same on every machine.
#include <cstdint>
#include <vector>

namespace ratkv::eval {

struct Interval {
  double mean = 0.0, lo = 0.0, hi = 0.0;
  int64_t n = 0;
};

struct BootstrapOptions {
  int64_t resamples = 2000;
  double level = 0.95;
  uint64_t seed = 12345;
};

double mean(const std::vector<double>& x);
double sample_sd(const std::vector<double>& x);  // n - 1 denominator; 0 for n < 2
// Linear-interpolation quantile of sorted values (numpy's default), q in [0, 1].
double quantile_sorted(const std::vector<double>& sorted, double q);

Interval bootstrap_mean(const std::vector<double>& x, const BootstrapOptions& o = {});
// Mean of the group means, resampling within each group (tasks of equal weight).
Interval bootstrap_mean_of_groups(const std::vector<std::vector<double>>& groups,
                                  const BootstrapOptions& o = {});

struct PairedComparison {
  Interval diff;         // mean of (b - a) with its bootstrap interval
  double p_value = 1.0;  // two-sided sign-flip test of mean(b - a) == 0
  bool exact = false;    // p enumerated over all sign patterns
};

// a[i] and b[i] are the same sample under two models.
PairedComparison paired_compare(const std::vector<double>& a, const std::vector<double>& b,
                                const BootstrapOptions& o = {});
// Grouped version (per-task pairs, the average over tasks): the statistic is the mean of per-group mean
// differences, signs flipped per pair.
PairedComparison paired_compare_groups(const std::vector<std::vector<double>>& a,
                                       const std::vector<std::vector<double>>& b,
                                       const BootstrapOptions& o = {});

// The two-sided sign-flip p-value of the weighted sum Σ w_i d_i (w_i = 1 for a plain paired test).
double sign_flip_p_value(const std::vector<double>& d, const std::vector<double>& w, int64_t resamples,
                         uint64_t seed, bool* exact);

}  // namespace ratkv::eval
