// 512-bit kernels (AVX-512F CPUs). Compiled with -mavx512f in this file only.
// The pairwise norm keeps numpy's 8 lanes: a 256-bit register for float32.
#include <cstddef>
#include <immintrin.h>
#include "../kernels/step_types.h"

#define SGD_ISA avx512
#define SGD_ISA_LABEL "avx512"
#define SGD_KERNELS_NAME kAvx512Kernels
#include "../kernels/lanes.h"

namespace sgd {
namespace avx512 {

struct F16 {
  static constexpr std::size_t lanes = 16;
  __m512 v;
  static F16 load(const float* p) { return {_mm512_loadu_ps(p)}; }
  static void store(float* p, F16 x) { _mm512_storeu_ps(p, x.v); }
  static F16 set1(float x) { return {_mm512_set1_ps(x)}; }
  static F16 if_less(F16 a, F16 b, F16 t, F16 f) {
    return {_mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ), f.v, t.v)};
  }
  friend F16 operator+(F16 a, F16 b) { return {_mm512_add_ps(a.v, b.v)}; }
  friend F16 operator-(F16 a, F16 b) { return {_mm512_sub_ps(a.v, b.v)}; }
  friend F16 operator*(F16 a, F16 b) { return {_mm512_mul_ps(a.v, b.v)}; }
  friend F16 operator/(F16 a, F16 b) { return {_mm512_div_ps(a.v, b.v)}; }
};

#include "avx_f8.h"

struct D8 {
  static constexpr std::size_t lanes = 8;
  __m512d v;
  static D8 load(const double* p) { return {_mm512_loadu_pd(p)}; }
  static void store(double* p, D8 x) { _mm512_storeu_pd(p, x.v); }
  static D8 set1(double x) { return {_mm512_set1_pd(x)}; }
  static D8 if_less(D8 a, D8 b, D8 t, D8 f) {
    return {_mm512_mask_blend_pd(_mm512_cmp_pd_mask(a.v, b.v, _CMP_LT_OQ), f.v, t.v)};
  }
  friend D8 operator+(D8 a, D8 b) { return {_mm512_add_pd(a.v, b.v)}; }
  friend D8 operator-(D8 a, D8 b) { return {_mm512_sub_pd(a.v, b.v)}; }
  friend D8 operator*(D8 a, D8 b) { return {_mm512_mul_pd(a.v, b.v)}; }
  friend D8 operator/(D8 a, D8 b) { return {_mm512_div_pd(a.v, b.v)}; }
};

template <class T>
struct Pick;
template <>
struct Pick<float> {
  using V = F16;
  using V8 = F8;
};
template <>
struct Pick<double> {
  using V = D8;
  using V8 = D8;
};
template <class T>
using Vec = typename Pick<T>::V;
template <class T>
using Vec8 = typename Pick<T>::V8;

}  // namespace avx512
}  // namespace sgd

#include "../kernels/sgd_kernel.h"
