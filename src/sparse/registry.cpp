// The selector registry: one line per method.
#include "base/error.h"
#include "sparse/selector.h"

namespace ratkv {

std::unique_ptr<Selector> make_selector(const SparseConfig& c, const SelectorShape& s) {
  switch (c.method) {
    case SparseMethod::Dense:
      return make_dense_selector(c, s);
    case SparseMethod::Streaming:
      return make_streaming_selector(c, s);
    case SparseMethod::Dilated:
      return make_dilated_selector(c, s);
    case SparseMethod::Quest:
      return make_quest_selector(c, s);
    case SparseMethod::Moba:
      return make_moba_selector(c, s);
    case SparseMethod::SnapKV:
      return make_snapkv_selector(c, s);
    case SparseMethod::Oracle:
      return make_oracle_selector(c, s);
    case SparseMethod::Random:
      return make_random_selector(c, s);
  }
  throw Error("unknown sparse method");
}

}  // namespace ratkv
