// 128-bit NEON kernels (every arm64 CPU; NEON is baseline there, no flag).
#include <cstddef>
#include <arm_neon.h>
#include "../kernels/step_types.h"

#define SGD_ISA neon
#define SGD_ISA_LABEL "neon"
#define SGD_KERNELS_NAME kNeonKernels
#include "../kernels/lanes.h"

namespace sgd {
namespace neon {

struct F4 {
  static constexpr std::size_t lanes = 4;
  float32x4_t v;
  static F4 load(const float* p) { return {vld1q_f32(p)}; }
  static void store(float* p, F4 x) { vst1q_f32(p, x.v); }
  static F4 set1(float x) { return {vdupq_n_f32(x)}; }
  static F4 if_less(F4 a, F4 b, F4 t, F4 f) { return {vbslq_f32(vcltq_f32(a.v, b.v), t.v, f.v)}; }
  friend F4 operator+(F4 a, F4 b) { return {vaddq_f32(a.v, b.v)}; }
  friend F4 operator-(F4 a, F4 b) { return {vsubq_f32(a.v, b.v)}; }
  friend F4 operator*(F4 a, F4 b) { return {vmulq_f32(a.v, b.v)}; }
  friend F4 operator/(F4 a, F4 b) { return {vdivq_f32(a.v, b.v)}; }
};

struct D2 {
  static constexpr std::size_t lanes = 2;
  float64x2_t v;
  static D2 load(const double* p) { return {vld1q_f64(p)}; }
  static void store(double* p, D2 x) { vst1q_f64(p, x.v); }
  static D2 set1(double x) { return {vdupq_n_f64(x)}; }
  static D2 if_less(D2 a, D2 b, D2 t, D2 f) { return {vbslq_f64(vcltq_f64(a.v, b.v), t.v, f.v)}; }
  friend D2 operator+(D2 a, D2 b) { return {vaddq_f64(a.v, b.v)}; }
  friend D2 operator-(D2 a, D2 b) { return {vsubq_f64(a.v, b.v)}; }
  friend D2 operator*(D2 a, D2 b) { return {vmulq_f64(a.v, b.v)}; }
  friend D2 operator/(D2 a, D2 b) { return {vdivq_f64(a.v, b.v)}; }
};

#include "vec128.h"

}  // namespace neon
}  // namespace sgd

#include "../kernels/sgd_kernel.h"
