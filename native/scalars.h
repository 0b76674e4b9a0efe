// The `scalars` Float64Array that carries every number of one step from lib/ to the
// addon: the one definition of its layout. The addon exports it (scalarLayout) and
// lib/native.ts checks at load that the names it uses agree.
//
//   [ the named scalars below (kCount) | decayOn per tensor (n) | decayLr per tensor (n) ]
#pragma once
#include <cstddef>

// X(name, meaning): in order; the index of each is its position.
#define SGD_SCALARS(X)                                                                   \
  X(mode, "0: update step, 1: accumulate only")                                          \
  X(lossScale, "loss_scale_factor; NaN: no loss scaling")                                \
  X(accumSteps, "accumulation steps to average over on this update; 0: none")            \
  X(clip, "0 none, 1 clipvalue, 2 clipnorm, 3 global_clipnorm")                          \
  X(clipValue, "the clipvalue, clipnorm or global_clipnorm value")                       \
  X(lr, "learning rate of the update")                                                   \
  X(momentum, "momentum (used when the momentum slot exists)")                           \
  X(nesterov, "1: Nesterov momentum")                                                    \
  X(weightDecay, "weight_decay")                                                         \
  X(ema, "1: update the moving averages")                                                \
  X(emaE, "SPEC 7's e: (iterations != 0) * ema_momentum, the weight of the old average") \
  X(overwrite, "1: copy the new averages into the variables")

namespace sgd {
namespace scalar {

enum Index : std::size_t {
#define SGD_SCALAR_INDEX(name, meaning) name,
  SGD_SCALARS(SGD_SCALAR_INDEX)
#undef SGD_SCALAR_INDEX
      kCount
};

// The per-tensor tails, for a step over n tensors.
constexpr std::size_t decay_on(std::size_t n, std::size_t i) { return kCount + 0 * n + i; }
constexpr std::size_t decay_lr(std::size_t n, std::size_t i) { return kCount + 1 * n + i; }
constexpr std::size_t length(std::size_t n) { return kCount + 2 * n; }

}  // namespace scalar
}  // namespace sgd
