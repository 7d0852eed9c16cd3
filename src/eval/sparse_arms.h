#pragma once
// Where the grid's arms meet the sparse module: a method label and budget → the engine's SparseConfig and
// page size. This is the seam the sparse selectors plug into; docs/niah.md lists the mapping.
#include <cstdint>

#include "eval/grid.h"
#include "sparse/sparse_config.h"

namespace ratkv::eval {

struct ArmConfig {
  SparseConfig sparse;
  int64_t page_size = 16;
};

ArmConfig arm_config(const Arm& arm);

}  // namespace ratkv::eval
