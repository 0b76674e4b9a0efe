// One optimizer step over every tensor of a call: the norm pass clipping needs,
// then the fused elementwise pass. Plain C++; the binding fills a Step and calls run().
#pragma once
#include <cstddef>
#include <vector>
#include "kernels/step_types.h"
#include "memory.h"

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
  // Work lists, kept between steps so a step allocates nothing once they have grown.
  struct Piece {
    std::size_t tensor;  // position in the call (is_f64/index say where it lives)
    std::size_t begin, n;
  };
  std::vector<Piece> leaves;            // norm pass: subtrees of numpy's pairwise sum
  std::vector<double> leaf_sums;        // their results (float32 sums are held exactly)
  std::vector<Piece> chunks;            // fused pass: slices of the tensors, in call order
  std::vector<std::size_t> task_begin;  // task i runs chunks [task_begin[i], task_begin[i + 1])
  std::vector<double> sums;             // per-tensor sums of squares, in call order
  std::vector<Range> ranges;            // the memory the step touches, for the sharing checks
  std::vector<Range> checked;           // the ranges of the last step found disjoint
  std::vector<Range> sorted;            // scratch for the check

  std::size_t size() const { return is_f64.size(); }

  // Calls f(tensor, scalars) for tensor i of the call, typed by its dtype: the one
  // place that chooses between float32 and float64.
  template <class F>
  void with_tensor(std::size_t i, F&& f) {
    if (is_f64[i])
      f(f64[index[i]], s64);
    else
      f(f32[index[i]], s32);
  }

  void clear() {
    f32.clear();
    f64.clear();
    is_f64.clear();
    index.clear();
    ranges.clear();
  }
};

void run(const Kernels& k, Step& step);

}  // namespace sgd
