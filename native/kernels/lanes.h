// Generic lane types every ISA file can build on: One<T> (a single lane, used
// for loop tails) and Multi<V, K, T> (K registers side by side). Included by an
// ISA file inside its own namespace, after defining SGD_ISA; see sgd_kernel.h.
#ifndef SGD_ISA
#error "define SGD_ISA before including lanes.h"
#endif

namespace sgd {
namespace SGD_ISA {

// One lane: the tail of every loop, with exactly the same arithmetic.
template <class T>
struct One {
  static constexpr std::size_t lanes = 1;
  T v;
  static One load(const T* p) { return {*p}; }
  static void store(T* p, One x) { *p = x.v; }
  static One set1(T x) { return {x}; }
  static One if_less(One a, One b, One t, One f) { return {a.v < b.v ? t.v : f.v}; }
  friend One operator+(One a, One b) { return {a.v + b.v}; }
  friend One operator-(One a, One b) { return {a.v - b.v}; }
  friend One operator*(One a, One b) { return {a.v * b.v}; }
  friend One operator/(One a, One b) { return {a.v / b.v}; }
};

// K registers side by side, for ISAs whose registers hold fewer than 8 lanes.
template <class V, std::size_t K, class T>
struct Multi {
  static constexpr std::size_t lanes = V::lanes * K;
  V r[K];
  static Multi load(const T* p) {
    Multi m;
    for (std::size_t k = 0; k < K; ++k) m.r[k] = V::load(p + k * V::lanes);
    return m;
  }
  static void store(T* p, const Multi& m) {
    for (std::size_t k = 0; k < K; ++k) V::store(p + k * V::lanes, m.r[k]);
  }
  static Multi set1(T x) {
    Multi m;
    for (std::size_t k = 0; k < K; ++k) m.r[k] = V::set1(x);
    return m;
  }
  static Multi if_less(const Multi& a, const Multi& b, const Multi& t, const Multi& f) {
    Multi m;
    for (std::size_t k = 0; k < K; ++k) m.r[k] = V::if_less(a.r[k], b.r[k], t.r[k], f.r[k]);
    return m;
  }
#define SGD_MULTI_OP(op)                                           \
  friend Multi operator op(const Multi& a, const Multi& b) {       \
    Multi m;                                                       \
    for (std::size_t k = 0; k < K; ++k) m.r[k] = a.r[k] op b.r[k]; \
    return m;                                                      \
  }
  SGD_MULTI_OP(+)
  SGD_MULTI_OP(-)
  SGD_MULTI_OP(*)
  SGD_MULTI_OP(/)
#undef SGD_MULTI_OP
};

}  // namespace SGD_ISA
}  // namespace sgd
