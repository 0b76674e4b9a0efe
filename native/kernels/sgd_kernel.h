// The fused SGD step, written once. An ISA file defines SGD_ISA (its namespace),
// SGD_ISA_LABEL and SGD_KERNELS_NAME, includes lanes.h, defines inside
// sgd::SGD_ISA the vector types Vec<T> (native width) and Vec8<T> (exactly 8
// lanes: numpy's pairwise block), then includes this file.
// Everything here is compiled separately per instruction set, in that namespace,
// so no inline function is shared across ISAs.
//
// Each + - * / is rounded on its own in Keras's order (SPEC.md sections 3-7);
// files are built with -ffp-contract=off so no multiply-add is ever fused.
#ifndef SGD_ISA
#error "define SGD_ISA before including sgd_kernel.h"
#endif
#include <cstdint>
#include "pairwise.h"

namespace sgd {
namespace SGD_ISA {

// How a step's branches are decided: at run time from the scalars (Generic), or fixed at
// compile time (Fixed) for the common update steps, so that the compiler drops every
// branch the step does not take. The arithmetic below is written once for both.
struct Generic {
  template <class T>
  static bool has_grad(const Tensor<T>& t) {
    return t.grad != nullptr;
  }
  template <class T>
  static bool accumulate(const Scalars<T>& s) {
    return s.mode == Mode::kAccumulate;
  }
  template <class T>
  static bool unscale(const Scalars<T>& s) {
    return s.unscale;
  }
  template <class T>
  static bool average(const Scalars<T>& s) {
    return s.average;
  }
  template <class T>
  static Clip clip(const Scalars<T>& s) {
    return s.clip;
  }
  template <class T>
  static bool momentum(const Scalars<T>& s) {
    return s.momentum_on;
  }
  template <class T>
  static bool nesterov(const Scalars<T>& s) {
    return s.nesterov;
  }
  template <class T>
  static bool decay(const Tensor<T>& t) {
    return t.decay;
  }
  template <class T>
  static bool ema(const Scalars<T>& s) {
    return s.ema;
  }
};

// An update step of a tensor with a gradient, no loss scaling and no accumulation.
template <Clip kClip, bool kMomentum, bool kNesterov, bool kDecay, bool kEma>
struct Fixed {
  template <class T>
  static constexpr bool has_grad(const Tensor<T>&) {
    return true;
  }
  template <class T>
  static constexpr bool accumulate(const Scalars<T>&) {
    return false;
  }
  template <class T>
  static constexpr bool unscale(const Scalars<T>&) {
    return false;
  }
  template <class T>
  static constexpr bool average(const Scalars<T>&) {
    return false;
  }
  template <class T>
  static constexpr Clip clip(const Scalars<T>&) {
    return kClip;
  }
  template <class T>
  static constexpr bool momentum(const Scalars<T>&) {
    return kMomentum;
  }
  template <class T>
  static constexpr bool nesterov(const Scalars<T>&) {
    return kNesterov;
  }
  template <class T>
  static constexpr bool decay(const Tensor<T>&) {
    return kDecay;
  }
  template <class T>
  static constexpr bool ema(const Scalars<T>&) {
    return kEma;
  }
};

// The gradient as clipping sees it: unscaled, then averaged with the accumulator.
template <class V, class K = Generic, class T>
static inline V pre_clip_gradient(const Tensor<T>& t, const Scalars<T>& s, std::size_t i) {
  V g = V::load(t.grad + i);
  if (K::unscale(s)) g = g / V::set1(s.loss_scale);
  if (K::average(s)) g = (g + V::load(t.accumulator + i)) / V::set1(s.accum_steps);
  return g;
}

// The sum of squares of the pre-clip gradient over [off, off + n), in numpy's pairwise
// order (pairwise.h), with Vec8 as numpy's 8 lanes.
template <class T>
static T sumsq_pairwise(const Tensor<T>& t, const Scalars<T>& s, std::size_t off, std::size_t n) {
  using V8 = Vec8<T>;
  using V1 = One<T>;
  static_assert(V8::lanes == pairwise::kBlock, "Vec8 must have numpy's block width");
  if (n < pairwise::kBlock) {
    T r = 0;
    for (std::size_t i = 0; i < n; ++i) {
      V1 g = pre_clip_gradient<V1>(t, s, off + i);
      r = r + g.v * g.v;
    }
    return r;
  }
  if (n <= pairwise::kMaxBlocked) {
    V8 g = pre_clip_gradient<V8>(t, s, off);
    V8 p = g * g;
    const std::size_t full = n - n % pairwise::kBlock;
    for (std::size_t i = pairwise::kBlock; i < full; i += pairwise::kBlock) {
      g = pre_clip_gradient<V8>(t, s, off + i);
      p = p + g * g;
    }
    T l[pairwise::kBlock];
    V8::store(l, p);
    T r = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (std::size_t i = full; i < n; ++i) {
      V1 x = pre_clip_gradient<V1>(t, s, off + i);
      r = r + x.v * x.v;
    }
    return r;
  }
  const std::size_t m = pairwise::split(n);
  return sumsq_pairwise(t, s, off, m) + sumsq_pairwise(t, s, off + m, n - m);
}

// A hint to fetch the cache line at p (no fault, no effect on any value). Compilers
// without the builtin get nothing.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__wasm__)
#define SGD_PREFETCH(p) __builtin_prefetch(p)
constexpr bool kPrefetch = true;
#else
#define SGD_PREFETCH(p) ((void)(p))
constexpr bool kPrefetch = false;  // (WebAssembly has no prefetch: no second loop)
#endif
constexpr std::size_t kAhead = 2048;  // bytes ahead of the element being computed

// Every elementwise stage of one call for lanes [i, i + V::lanes).
template <class V, class K, class T>
static inline void step_lanes(const Tensor<T>& t, const Scalars<T>& s, std::size_t i) {
  V w = V::load(t.var + i);
  bool write_var = false;
  if (K::has_grad(t)) {
    if (K::accumulate(s)) {
      V g = V::load(t.grad + i);
      if (K::unscale(s)) g = g / V::set1(s.loss_scale);
      V::store(t.accumulator + i, g + V::load(t.accumulator + i));
    } else {
      V g = pre_clip_gradient<V, K>(t, s, i);
      if (K::average(s)) V::store(t.accumulator + i, V::set1(T(0)));
      switch (K::clip(s)) {
        case Clip::kValue: {
          // numpy clip: NaN stays NaN, -0.0 stays -0.0 (explicit, not min/max).
          const V hi = V::set1(s.clip_value);
          const V lo = V::set1(-s.clip_value);
          g = V::if_less(g, lo, lo, g);
          g = V::if_less(hi, g, hi, g);
          break;
        }
        case Clip::kNorm:
          g = (g * V::set1(s.clip_value)) / V::set1(t.clip_factor);
          break;
        case Clip::kGlobalNorm:
          g = g * V::set1(t.clip_factor);
          break;
        case Clip::kNone:
          break;
      }
      if (K::decay(t)) w = w - (w * V::set1(s.weight_decay)) * V::set1(t.decay_lr);
      const V lr = V::set1(s.lr);
      if (K::momentum(s)) {
        const V mu = V::set1(s.momentum);
        const V m = V::load(t.momentum + i) * mu - g * lr;
        V::store(t.momentum + i, m);
        w = K::nesterov(s) ? w + (m * mu - g * lr) : w + m;
      } else {
        w = w - g * lr;
      }
      write_var = true;
    }
  } else if (!K::accumulate(s) && K::average(s)) {
    // Keras zeroes every accumulator at an update step, even without a gradient.
    V::store(t.accumulator + i, V::set1(T(0)));
  }
  if (K::ema(s)) {
    const V a = V::set1(s.ema_e) * V::load(t.average + i) + V::set1(s.ema_one_minus_e) * w;
    V::store(t.average + i, a);
    if (s.overwrite) {
      w = a;
      write_var = true;
    }
  }
  if (write_var) V::store(t.var + i, w);
}

template <class K, class T>
static void run_range(const Tensor<T>& tensor, const Scalars<T>& scalars, std::size_t begin, std::size_t end) {
  // Local copies: a store through t.var may alias a T member of the caller's structs (the
  // types allow it), which would reload every scalar and pointer for each vector.
  const Tensor<T> t = tensor;
  const Scalars<T> s = scalars;
  using V = Vec<T>;
  // Whole vectors cover [head, body). In ranges of 32 vectors or more they start where
  // t.var is aligned to a vector: typed arrays are often only 16-byte aligned, and loads
  // and stores split across cache lines cost up to 20%; in shorter ones the scalar steps
  // before the first aligned vector cost more than that. Elements are independent, so
  // where the cuts fall changes no bits.
  const std::size_t skew = (reinterpret_cast<std::uintptr_t>(t.var + begin) / sizeof(T)) % V::lanes;
  const std::size_t head = skew == 0 || end - begin < 32 * V::lanes ? begin : begin + (V::lanes - skew);
  const std::size_t body = head + (end - head) / V::lanes * V::lanes;
  if (kPrefetch && V::lanes >= 4 && s.stream && end - begin >= 64 * V::lanes) {  // (a scalar loop gains nothing)
    // From memory: the hardware prefetchers stop at every 4 KiB page, so each stream is
    // also fetched kAhead bytes ahead, once per cache line (measured on 1e7 elements:
    // 11-27% less time; in cache the hints cost more than they bring).
    constexpr std::size_t kLine = 64 / sizeof(T), kFar = kAhead / sizeof(T);
    for (std::size_t i = head; i < body; i += V::lanes) {
      if (i % kLine < V::lanes) {
        SGD_PREFETCH(t.var + i + kFar);
        if (t.grad != nullptr) SGD_PREFETCH(t.grad + i + kFar);
        if (t.momentum != nullptr) SGD_PREFETCH(t.momentum + i + kFar);
        if (t.average != nullptr) SGD_PREFETCH(t.average + i + kFar);
        if (t.accumulator != nullptr) SGD_PREFETCH(t.accumulator + i + kFar);
      }
      step_lanes<V, K>(t, s, i);
    }
  } else {
    for (std::size_t i = head; i < body; i += V::lanes) step_lanes<V, K>(t, s, i);
  }
  // The few elements before and after, in one loop (one copy of the code, which the
  // compiler does not try to vectorize).
  for (std::size_t i = begin == head ? body : begin; i < end; i = i + 1 == head ? body : i + 1)
    step_lanes<One<T>, K>(t, s, i);
}

// The common update steps, each compiled with its branches fixed (36 kinds per dtype).
template <class T, Clip kClip, bool kMomentum, bool kNesterov, bool kDecay>
static void fixed_ema(const Tensor<T>& t, const Scalars<T>& s, std::size_t b, std::size_t e) {
  if (s.ema)
    run_range<Fixed<kClip, kMomentum, kNesterov, kDecay, true>>(t, s, b, e);
  else
    run_range<Fixed<kClip, kMomentum, kNesterov, kDecay, false>>(t, s, b, e);
}
template <class T, Clip kClip, bool kMomentum, bool kNesterov>
static void fixed_decay(const Tensor<T>& t, const Scalars<T>& s, std::size_t b, std::size_t e) {
  if (t.decay)
    fixed_ema<T, kClip, kMomentum, kNesterov, true>(t, s, b, e);
  else
    fixed_ema<T, kClip, kMomentum, kNesterov, false>(t, s, b, e);
}
template <class T, Clip kClip>
static void fixed_momentum(const Tensor<T>& t, const Scalars<T>& s, std::size_t b, std::size_t e) {
  if (!s.momentum_on)
    fixed_decay<T, kClip, false, false>(t, s, b, e);
  else if (s.nesterov)
    fixed_decay<T, kClip, true, true>(t, s, b, e);
  else
    fixed_decay<T, kClip, true, false>(t, s, b, e);
}

template <class T>
static void step_range(const Tensor<T>& t, const Scalars<T>& s, std::size_t begin, std::size_t end) {
  const bool common = t.grad != nullptr && s.mode == Mode::kUpdate && !s.unscale && !s.average;
  if (common && s.clip == Clip::kNone) return fixed_momentum<T, Clip::kNone>(t, s, begin, end);
  if (common && s.clip == Clip::kNorm) return fixed_momentum<T, Clip::kNorm>(t, s, begin, end);
  if (common && s.clip == Clip::kGlobalNorm) return fixed_momentum<T, Clip::kGlobalNorm>(t, s, begin, end);
  run_range<Generic>(t, s, begin, end);  // accumulation, loss scaling, clipvalue, no gradient
}

static float sumsq_f32(const Tensor<float>& t, const Scalars<float>& s, std::size_t b, std::size_t n) {
  return sumsq_pairwise<float>(t, s, b, n);
}
static double sumsq_f64(const Tensor<double>& t, const Scalars<double>& s, std::size_t b, std::size_t n) {
  return sumsq_pairwise<double>(t, s, b, n);
}
static void update_f32(const Tensor<float>& t, const Scalars<float>& s, std::size_t b, std::size_t e) {
  step_range<float>(t, s, b, e);
}
static void update_f64(const Tensor<double>& t, const Scalars<double>& s, std::size_t b, std::size_t e) {
  step_range<double>(t, s, b, e);
}

}  // namespace SGD_ISA

// The one symbol each ISA file exports.
extern const Kernels SGD_KERNELS_NAME;
const Kernels SGD_KERNELS_NAME = {SGD_ISA_LABEL, SGD_ISA::sumsq_f32, SGD_ISA::sumsq_f64, SGD_ISA::update_f32,
                                  SGD_ISA::update_f64};

}  // namespace sgd
