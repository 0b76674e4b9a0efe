// Plain data shared by the driver and every ISA's kernels. No code lives here:
// the kernels are compiled once per instruction set and must not share inline
// functions with other translation units (see STYLE.md, Numerics).
#pragma once
#include <cstddef>

namespace sgd {

// What one native step does to every tensor of the call.
enum class Mode { kUpdate = 0, kAccumulate = 1 };
enum class Clip { kNone = 0, kValue = 1, kNorm = 2, kGlobalNorm = 3 };

// Hyperparameters of one call, already rounded to the tensor dtype T.
template <class T>
struct Scalars {
  Mode mode;
  bool unscale;  // loss_scale_factor is set: g = g / loss_scale
  T loss_scale;
  bool average;  // update step under accumulation: g = (g + acc) / steps, acc = 0
  T accum_steps;
  Clip clip;
  T clip_value;  // clipvalue v, or clipnorm c
  T lr;
  bool momentum_on;  // momentum != 0: the momentum slot exists
  T momentum;
  bool nesterov;
  T weight_decay;
  bool ema;
  T ema_e;            // (iterations != 0) * ema_momentum
  T ema_one_minus_e;  // 1 - ema_e, rounded once
  bool overwrite;     // copy the new averages into the variables
  bool stream;        // the step's memory is larger than the caches: prefetch by hand (set by run())
};

// One variable with its gradient and state. Absent parts are null.
template <class T>
struct Tensor {
  using Value = T;
  T* var;
  const T* grad;  // null: no gradient for this variable in this call
  T* momentum;
  T* average;
  T* accumulator;
  std::size_t size;
  bool decay;     // weight decay applies to this variable in this call
  T decay_lr;     // the learning rate read for this variable's weight decay
  T clip_factor;  // clipnorm: the divisor max(norm, c); global norm: the scale
};

// One instruction set's kernels.
struct Kernels {
  const char* name;
  // Sum of squares of the pre-clip gradient over [begin, begin + n), in numpy's pairwise order.
  float (*sumsq_f32)(const Tensor<float>&, const Scalars<float>&, std::size_t begin, std::size_t n);
  double (*sumsq_f64)(const Tensor<double>&, const Scalars<double>&, std::size_t begin, std::size_t n);
  // Every elementwise stage of the step, fused, over [begin, end).
  void (*update_f32)(const Tensor<float>&, const Scalars<float>&, std::size_t begin, std::size_t end);
  void (*update_f64)(const Tensor<double>&, const Scalars<double>&, std::size_t begin, std::size_t end);
};

}  // namespace sgd
