// Vec<T> and Vec8<T> for an instruction set with 128-bit registers (NEON, WebAssembly
// SIMD128): F4 (4 floats) and D2 (2 doubles), two registers per step, and as many as
// make numpy's 8 lanes. Included inside the ISA's namespace after F4 and D2.
template <class T>
struct Pick;
template <>
struct Pick<float> {
  using V = Multi<F4, 2, float>;
  using V8 = Multi<F4, 2, float>;
};
template <>
struct Pick<double> {
  using V = Multi<D2, 2, double>;
  using V8 = Multi<D2, 4, double>;
};
template <class T>
using Vec = typename Pick<T>::V;
template <class T>
using Vec8 = typename Pick<T>::V8;
