// Eight float32 lanes in a 256-bit register (AVX). Shared by the AVX2 file (its main
// vector) and the AVX-512 file (numpy's 8-lane pairwise block); included inside each
// ISA's own namespace, so each compiles its own copy with its own flags.
struct F8 {
  static constexpr std::size_t lanes = 8;
  __m256 v;
  static F8 load(const float* p) { return {_mm256_loadu_ps(p)}; }
  static void store(float* p, F8 x) { _mm256_storeu_ps(p, x.v); }
  static F8 set1(float x) { return {_mm256_set1_ps(x)}; }
  static F8 if_less(F8 a, F8 b, F8 t, F8 f) {
    return {_mm256_blendv_ps(f.v, t.v, _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ))};
  }
  friend F8 operator+(F8 a, F8 b) { return {_mm256_add_ps(a.v, b.v)}; }
  friend F8 operator-(F8 a, F8 b) { return {_mm256_sub_ps(a.v, b.v)}; }
  friend F8 operator*(F8 a, F8 b) { return {_mm256_mul_ps(a.v, b.v)}; }
  friend F8 operator/(F8 a, F8 b) { return {_mm256_div_ps(a.v, b.v)}; }
};
