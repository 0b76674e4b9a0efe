// The WebAssembly module's surface (lib/backend-wasm.ts is its only caller): a scratch
// area the caller copies its arrays into, and one step over tensors described there.
// The caller has checked every argument (lib/step-args.ts) and laid the arrays out in
// bounds; this file trusts it, as native/step.cc trusts native/binding.cc.
#include <cstdint>
#include <cstdlib>

#include "../fill_scalars.h"
#include "../step.h"

namespace sgd {
extern const Kernels kWasmKernels;
}

namespace {

// One tensor as the caller lays it out: byte offsets into memory, 0 for absent.
struct Desc {
  std::uint32_t is_f64, size, var, grad, momentum, average, accumulator;
};

sgd::Step step;
void* scratch = nullptr;
std::size_t scratch_size = 0;

template <class T>
T* at(std::uint32_t offset) {
  return offset == 0 ? nullptr : reinterpret_cast<T*>(static_cast<std::uintptr_t>(offset));
}

#define SGD_LAYOUT_NAME(name, meaning) #name ","
const char kLayout[] = SGD_SCALARS(SGD_LAYOUT_NAME) ";decayOn,decayLr";
#undef SGD_LAYOUT_NAME

}  // namespace

extern "C" {

// A 16-byte aligned area of at least `bytes`, kept between steps (grown, never shrunk).
// Its address may change when it grows; 0 when memory is exhausted.
__attribute__((export_name("sgd_scratch"))) void* sgd_scratch(std::size_t bytes) {
  if (bytes > scratch_size) {
    std::free(scratch);
    scratch = std::aligned_alloc(16, (bytes + 15) / 16 * 16);
    scratch_size = scratch == nullptr ? 0 : bytes;
  }
  return scratch;
}

// scalars.h's names, comma-terminated, then ';' and the per-tensor tails.
__attribute__((export_name("sgd_layout"))) const char* sgd_layout() { return kLayout; }

__attribute__((export_name("sgd_isa"))) const char* sgd_isa() { return sgd::kWasmKernels.name; }

// One step over n tensors described at `descs`, with `scalars` laid out as scalars.h says.
// `momentum_on`: the momentum slot exists.
__attribute__((export_name("sgd_step"))) void sgd_step(const Desc* descs, std::uint32_t n, const double* x,
                                                       std::uint32_t momentum_on) {
  namespace scalar = sgd::scalar;
  step.clear();
  sgd::fill_scalars(step.s32, x);
  sgd::fill_scalars(step.s64, x);
  step.s32.momentum_on = step.s64.momentum_on = momentum_on != 0;
  step.clip_value = x[scalar::clipValue];
  for (std::uint32_t i = 0; i < n; ++i) {
    const Desc& d = descs[i];
    const bool decays = x[scalar::decay_on(n, i)] != 0;
    const double lr = x[scalar::decay_lr(n, i)];
    step.is_f64.push_back(d.is_f64 ? 1 : 0);
    if (d.is_f64) {
      step.index.push_back(step.f64.size());
      step.f64.push_back({at<double>(d.var), at<const double>(d.grad), at<double>(d.momentum), at<double>(d.average),
                          at<double>(d.accumulator), d.size, decays, lr, 0.0});
    } else {
      step.index.push_back(step.f32.size());
      step.f32.push_back({at<float>(d.var), at<const float>(d.grad), at<float>(d.momentum), at<float>(d.average),
                          at<float>(d.accumulator), d.size, decays, static_cast<float>(lr), 0.0f});
    }
  }
  sgd::run(sgd::kWasmKernels, step);
}

}  // extern "C"
