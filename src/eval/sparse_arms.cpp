#include "eval/sparse_arms.h"

#include "base/error.h"

namespace ratkv::eval {

namespace {

int64_t option_int(const MethodLabel& m, const char* key, int64_t fallback) {
  const auto it = m.options.find(key);
  if (it == m.options.end() || it->second.empty()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    fail("--sparse: option ", key, "=", it->second, " is not an integer");
  }
}

}  // namespace

ArmConfig arm_config(const Arm& arm) {
  const MethodLabel m = MethodLabel::parse(arm.method);
  ArmConfig a;
  // Dense on the seed preset's page: attention over all keys does not depend on how they are paged, and the
  // same page size puts dense in the prefill the seed-preset arms share (engine_session.cpp).
  a.page_size = preset_page_size(SparsePreset::Seed, SparseMethod::Dense);
  if (m.name == "dense") return a;
  SparseMethod method = SparseMethod::Dense;
  require(parse_sparse_method(m.name, &method), "--sparse: the engine has no method \"", m.name, "\"");
  a.sparse = preset_config(SparsePreset::Seed, method);
  a.page_size = preset_page_size(SparsePreset::Seed, method);
  a.sparse.budget = SparseBudget::parse(arm.budget);
  switch (method) {
    case SparseMethod::Quest:
      a.page_size = option_int(m, "b", 64);  // Quest's block is a page
      break;
    case SparseMethod::Moba:
      a.sparse.moba_block = option_int(m, "b", 64);
      a.page_size = std::min<int64_t>(a.page_size > 0 ? a.page_size : 64, a.sparse.moba_block);
      break;
    case SparseMethod::SnapKV:
      a.sparse.snap_window = option_int(m, "w", 64);
      break;
    case SparseMethod::Oracle:
      a.sparse.oracle_pages = m.options.count("pages") > 0;
      if (a.sparse.oracle_pages) a.page_size = option_int(m, "b", 64);
      break;
    default:
      if (m.options.count("b")) a.page_size = option_int(m, "b", 64);
      break;
  }
  if (m.random()) {
    // H2: seeded uniform scores (Quest redraws each decode step, SnapKV once after prefill, MoBA per query).
    a.sparse.random_scores = method != SparseMethod::Random;
    a.sparse.random_seed = static_cast<uint64_t>(option_int(m, "seed", 0));
  }
  return a;
}

}  // namespace ratkv::eval
