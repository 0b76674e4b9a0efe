#include "dispatch.h"

#include <cstdlib>
#include <stdexcept>

#if defined(__x86_64__) || defined(_M_X64)
#define SGD_X64 1
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#elif defined(__aarch64__) || defined(_M_ARM64)
#define SGD_ARM64 1
#endif

namespace sgd {

extern const Kernels kScalarKernels;
#if SGD_X64
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
#elif SGD_ARM64
extern const Kernels kNeonKernels;
#endif

namespace {

#if SGD_X64
void cpuid(int leaf, int sub, unsigned r[4]) {
#if defined(_MSC_VER)
  int regs[4];
  __cpuidex(regs, leaf, sub);
  for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(regs[i]);
#else
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}

// CPUID says what the CPU has; XGETBV says whether the OS saves the registers.
void detect_x64(bool* avx2, bool* avx512) {
  *avx2 = *avx512 = false;
  unsigned r[4];
  cpuid(0, 0, r);
  if (r[0] < 7) return;
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
  if (!osxsave || !avx) return;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  cpuid(7, 0, r);
  *avx2 = ymm_state && ((r[1] >> 5) & 1);
  *avx512 = *avx2 && zmm_state && ((r[1] >> 16) & 1);  // AVX-512F
}
#endif

std::vector<const Kernels*> detect() {
  std::vector<const Kernels*> list{&kScalarKernels};
#if SGD_X64
  bool avx2, avx512;
  detect_x64(&avx2, &avx512);
  if (avx2) list.push_back(&kAvx2Kernels);
  if (avx512) list.push_back(&kAvx512Kernels);
#elif SGD_ARM64
  list.push_back(&kNeonKernels);
#endif
  return list;
}

}  // namespace

const std::vector<const Kernels*>& available_kernels() {
  static const std::vector<const Kernels*> list = detect();
  return list;
}

const Kernels* find_kernels(const std::string& name) {
  for (const Kernels* k : available_kernels())
    if (name == k->name) return k;
  return nullptr;
}

const Kernels* default_kernels() {
  const char* forced = std::getenv("SGD_NATIVE_ISA");
  if (forced == nullptr || *forced == '\0') return available_kernels().back();
  if (const Kernels* k = find_kernels(forced)) return k;
  std::string names;
  for (const Kernels* k : available_kernels()) names += std::string(names.empty() ? "" : ", ") + k->name;
  throw std::invalid_argument(std::string("SGD_NATIVE_ISA=") + forced +
                              " is not available on this machine (available: " + names + ")");
}

}  // namespace sgd
