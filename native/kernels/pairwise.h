// numpy's pairwise summation (SPEC.md 4.4), the one statement of its shape: sums of
// fewer than kBlock values run left to right, sums of at most kMaxBlocked values run in
// kBlock lanes combined as ((0+1)+(2+3))+((4+5)+(6+7)), and longer ones split at
// split(n) into two halves summed the same way, then added.
// The kernel (sgd_kernel.h) follows this within a tensor; step.cc cuts large tensors
// into subtrees at the same split points so threads can sum them, then adds the
// subtrees back up the same tree. Everything here has internal linkage, so each ISA
// file may include it without sharing a function with other translation units.
#pragma once
#include <cstddef>

namespace sgd {
namespace pairwise {

static constexpr std::size_t kBlock = 8;         // lanes of numpy's unrolled loop
static constexpr std::size_t kMaxBlocked = 128;  // longest sum done in one blocked pass

// Where numpy splits a sum of n > kMaxBlocked values: half, rounded down to a whole block.
static inline std::size_t split(std::size_t n) {
  const std::size_t half = n / 2;
  return half - half % kBlock;
}

// The pairwise sum of a[0..n) in T (used for short arrays of per-tensor results).
template <class T, class A>
static T sum(const A* a, std::size_t n) {
  if (n < kBlock) {
    T r = 0;
    for (std::size_t i = 0; i < n; ++i) r = r + static_cast<T>(a[i]);
    return r;
  }
  if (n <= kMaxBlocked) {
    T p[kBlock];
    for (std::size_t j = 0; j < kBlock; ++j) p[j] = static_cast<T>(a[j]);
    const std::size_t full = n - n % kBlock;
    for (std::size_t i = kBlock; i < full; i += kBlock)
      for (std::size_t j = 0; j < kBlock; ++j) p[j] = p[j] + static_cast<T>(a[i + j]);
    T r = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
    for (std::size_t i = full; i < n; ++i) r = r + static_cast<T>(a[i]);
    return r;
  }
  const std::size_t m = split(n);
  return sum<T>(a, m) + sum<T>(a + m, n - m);
}

}  // namespace pairwise
}  // namespace sgd
