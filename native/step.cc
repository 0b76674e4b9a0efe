#include "step.h"

#include <cmath>

namespace sgd {
namespace {

// numpy's pairwise sum (SPEC.md 4.4) of the per-tensor results, in T (float32
// results are held exactly in the double array).
template <class T>
T pairwise(const double* a, std::size_t n) {
  if (n < 8) {
    T r = 0;
    for (std::size_t i = 0; i < n; ++i) r = r + static_cast<T>(a[i]);
    return r;
  }
  if (n <= 128) {
    T p[8];
    for (int j = 0; j < 8; ++j) p[j] = static_cast<T>(a[j]);
    const std::size_t full = n - n % 8;
    for (std::size_t i = 8; i < full; i += 8)
      for (int j = 0; j < 8; ++j) p[j] = p[j] + static_cast<T>(a[i + j]);
    T r = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
    for (std::size_t i = full; i < n; ++i) r = r + static_cast<T>(a[i]);
    return r;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return pairwise<T>(a, half) + pairwise<T>(a + half, n - half);
}

// clipnorm: the divisor max(norm, c), with numpy's NaN-propagating maximum.
template <class T>
T norm_divisor(T sumsq, T c) {
  const T norm = sumsq > T(0) ? std::sqrt(sumsq) : sumsq;
  if (std::isnan(norm)) return norm;
  return norm > c ? norm : c;
}

// global_clipnorm: c * min(1/G, 1/c) + (G - G); 1/c is taken in double, then rounded.
template <class T>
T global_scale(const std::vector<double>& sums, double c) {
  const T g = std::sqrt(pairwise<T>(sums.data(), sums.size()));
  const T inv = T(1) / g;
  const T inv_c = static_cast<T>(1.0 / c);
  const T m = std::isnan(inv) ? inv : (inv < inv_c ? inv : inv_c);
  return static_cast<T>(c) * m + (g - g);
}

}  // namespace

void run(const Kernels& k, Step& st) {
  const std::size_t n = st.is_f64.size();
  const Clip clip = st.s64.clip;
  if (st.s64.mode == Mode::kUpdate && (clip == Clip::kNorm || clip == Clip::kGlobalNorm)) {
    st.sums.clear();
    bool any_f64 = false;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = st.index[i];
      if (st.is_f64[i]) {
        Tensor<double>& t = st.f64[j];
        if (t.grad == nullptr) continue;
        any_f64 = true;
        const double s = k.sumsq_f64(t, st.s64, 0, t.size);
        if (clip == Clip::kNorm) t.clip_factor = norm_divisor(s, st.s64.clip_value);
        st.sums.push_back(s);
      } else {
        Tensor<float>& t = st.f32[j];
        if (t.grad == nullptr) continue;
        const float s = k.sumsq_f32(t, st.s32, 0, t.size);
        if (clip == Clip::kNorm) t.clip_factor = norm_divisor(s, st.s32.clip_value);
        st.sums.push_back(s);
      }
    }
    if (clip == Clip::kGlobalNorm) {
      // All-float32 gradients reduce in float32, as Keras does; any float64 one makes it float64.
      const double scale = any_f64 ? global_scale<double>(st.sums, st.clip_value)
                                   : global_scale<float>(st.sums, st.clip_value);
      for (Tensor<float>& t : st.f32) t.clip_factor = static_cast<float>(scale);
      for (Tensor<double>& t : st.f64) t.clip_factor = scale;
    }
  }
  for (Tensor<float>& t : st.f32) k.update_f32(t, st.s32, 0, t.size);
  for (Tensor<double>& t : st.f64) k.update_f64(t, st.s64, 0, t.size);
}

}  // namespace sgd
