// 256-bit kernels (AVX/AVX2 CPUs). Compiled with -mavx2 in this file only.
#include <cstddef>
#include <immintrin.h>
#include "../kernels/step_types.h"

#define SGD_ISA avx2
#define SGD_ISA_LABEL "avx2"
#define SGD_KERNELS_NAME kAvx2Kernels
#include "../kernels/lanes.h"

namespace sgd {
namespace avx2 {

#include "avx_f8.h"

struct D4 {
  static constexpr std::size_t lanes = 4;
  __m256d v;
  static D4 load(const double* p) { return {_mm256_loadu_pd(p)}; }
  static void store(double* p, D4 x) { _mm256_storeu_pd(p, x.v); }
  static D4 set1(double x) { return {_mm256_set1_pd(x)}; }
  static D4 if_less(D4 a, D4 b, D4 t, D4 f) {
    return {_mm256_blendv_pd(f.v, t.v, _mm256_cmp_pd(a.v, b.v, _CMP_LT_OQ))};
  }
  friend D4 operator+(D4 a, D4 b) { return {_mm256_add_pd(a.v, b.v)}; }
  friend D4 operator-(D4 a, D4 b) { return {_mm256_sub_pd(a.v, b.v)}; }
  friend D4 operator*(D4 a, D4 b) { return {_mm256_mul_pd(a.v, b.v)}; }
  friend D4 operator/(D4 a, D4 b) { return {_mm256_div_pd(a.v, b.v)}; }
};

template <class T>
struct Pick;
template <>
struct Pick<float> {
  using V = F8;
  using V8 = F8;
};
template <>
struct Pick<double> {
  using V = D4;
  using V8 = Multi<D4, 2, double>;
};
template <class T>
using Vec = typename Pick<T>::V;
template <class T>
using Vec8 = typename Pick<T>::V8;

}  // namespace avx2
}  // namespace sgd

#include "../kernels/sgd_kernel.h"
