// WebAssembly SIMD128 kernels: 128-bit lanes, like NEON (built only for wasm32; see
// native/wasm/build.sh).
#include <cstddef>
#include <wasm_simd128.h>
#include "../kernels/step_types.h"

#define SGD_ISA wasm_simd128
#define SGD_ISA_LABEL "wasm-simd128"
#define SGD_KERNELS_NAME kWasmKernels
#include "../kernels/lanes.h"

namespace sgd {
namespace wasm_simd128 {

struct F4 {
  static constexpr std::size_t lanes = 4;
  v128_t v;
  static F4 load(const float* p) { return {wasm_v128_load(p)}; }
  static void store(float* p, F4 x) { wasm_v128_store(p, x.v); }
  static F4 set1(float x) { return {wasm_f32x4_splat(x)}; }
  static F4 if_less(F4 a, F4 b, F4 t, F4 f) { return {wasm_v128_bitselect(t.v, f.v, wasm_f32x4_lt(a.v, b.v))}; }
  friend F4 operator+(F4 a, F4 b) { return {wasm_f32x4_add(a.v, b.v)}; }
  friend F4 operator-(F4 a, F4 b) { return {wasm_f32x4_sub(a.v, b.v)}; }
  friend F4 operator*(F4 a, F4 b) { return {wasm_f32x4_mul(a.v, b.v)}; }
  friend F4 operator/(F4 a, F4 b) { return {wasm_f32x4_div(a.v, b.v)}; }
};

struct D2 {
  static constexpr std::size_t lanes = 2;
  v128_t v;
  static D2 load(const double* p) { return {wasm_v128_load(p)}; }
  static void store(double* p, D2 x) { wasm_v128_store(p, x.v); }
  static D2 set1(double x) { return {wasm_f64x2_splat(x)}; }
  static D2 if_less(D2 a, D2 b, D2 t, D2 f) { return {wasm_v128_bitselect(t.v, f.v, wasm_f64x2_lt(a.v, b.v))}; }
  friend D2 operator+(D2 a, D2 b) { return {wasm_f64x2_add(a.v, b.v)}; }
  friend D2 operator-(D2 a, D2 b) { return {wasm_f64x2_sub(a.v, b.v)}; }
  friend D2 operator*(D2 a, D2 b) { return {wasm_f64x2_mul(a.v, b.v)}; }
  friend D2 operator/(D2 a, D2 b) { return {wasm_f64x2_div(a.v, b.v)}; }
};

#include "vec128.h"

}  // namespace wasm_simd128
}  // namespace sgd

#include "../kernels/sgd_kernel.h"
