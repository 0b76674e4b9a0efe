// One optimizer step over every tensor of a call: the norm pass clipping needs,
// then the fused elementwise pass. Plain C++; the binding fills a Step and calls run().
#pragma once
#include <cstddef>
#include <vector>
#include "kernels/step_types.h"

namespace sgd {

struct Step {
  // Tensors in the caller's order; `is_f64[i]` says which list tensor i lives in
  // and `index[i]` where.
  std::vector<Tensor<float>> f32;
  std::vector<Tensor<double>> f64;
  std::vector<unsigned char> is_f64;
  std::vector<std::size_t> index;
  Scalars<float> s32;
  Scalars<double> s64;
  double clip_value;  // exact, as the user gave it (global norm needs 1/c in double)
  // Scratch for the per-tensor sums of squares (kept to avoid allocating per step).
  std::vector<double> sums;

  void clear() {
    f32.clear();
    f64.clear();
    is_f64.clear();
    index.clear();
  }
};

void run(const Kernels& k, Step& step);

}  // namespace sgd
