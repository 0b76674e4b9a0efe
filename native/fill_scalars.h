// How the `scalars` Float64Array (scalars.h's layout) becomes one dtype's hyperparameters:
// each value rounded once to T, as TensorFlow reads float64 tensors' hyperparameters
// (SPEC 9). Shared by the Node-API binding and the WebAssembly driver.
#pragma once
#include <cmath>

#include "kernels/step_types.h"
#include "scalars.h"

namespace sgd {

template <class T>
void fill_scalars(Scalars<T>& s, const double* x) {
  using namespace scalar;
  s.mode = x[mode] == 1 ? Mode::kAccumulate : Mode::kUpdate;
  s.unscale = !std::isnan(x[lossScale]);
  s.loss_scale = static_cast<T>(x[lossScale]);
  s.average = x[accumSteps] != 0;
  s.accum_steps = static_cast<T>(x[accumSteps]);
  s.clip = static_cast<Clip>(static_cast<int>(x[clip]));
  s.clip_value = static_cast<T>(x[clipValue]);
  s.lr = static_cast<T>(x[lr]);
  s.momentum = static_cast<T>(x[momentum]);
  s.nesterov = x[nesterov] != 0;
  s.weight_decay = static_cast<T>(x[weightDecay]);
  s.ema = x[ema] != 0;
  s.ema_e = static_cast<T>(x[emaE]);
  s.ema_one_minus_e = T(1) - s.ema_e;
  s.overwrite = x[overwrite] != 0;
}

}  // namespace sgd
