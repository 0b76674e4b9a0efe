// The memory a step touches, as real address ranges: checked for sharing before a step
// runs, and registered while an async step runs so no other step (of any optimizer, in
// any thread of the process) writes what it reads or touches what it writes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sgd {

enum class Role : uint8_t { kVariable, kGrad, kMomentum, kAverage, kAccumulator };

struct Range {
  std::uintptr_t begin, end;  // bytes [begin, end)
  Role role;
  uint32_t tensor;  // position in the call
  bool writes() const { return role != Role::kGrad; }
  bool operator==(const Range& o) const {
    return begin == o.begin && end == o.end && role == o.role && tensor == o.tensor;
  }
  bool operator!=(const Range& o) const { return !(*this == o); }
};

// What the step writes must not overlap itself, and gradients must not overlap what it
// writes. Sorts `ranges`. Returns "" or what overlaps, in the JS names of the lists.
std::string check_disjoint(std::vector<Range>& ranges);

// Asks the kernel to back [p, p + bytes) with huge pages where it can (Linux: madvise
// MADV_HUGEPAGE on the whole 2 MiB pages inside it; elsewhere nothing). A step streams
// its arrays: with 4 KiB pages the hardware prefetchers stop at every page and the TLB
// misses (a 1e7 step: 1.15-1.3x faster, ours and the C loop). Memory not yet touched (the optimizer's
// new state arrays) gets huge pages at once; the rest as the kernel gets to it. Only a
// hint: it changes no value, and failure is ignored.
void advise_huge_pages(const void* p, std::size_t bytes);

// Steps running off the main thread, process-wide.
namespace in_flight {
// Whether `ranges` conflict with a step in flight: "" or what conflicts.
std::string conflict(const std::vector<Range>& ranges);
// conflict(), and when there is none, registers `ranges` under `owner` in the same lock.
std::string add(const void* owner, const void* env, const std::vector<Range>& ranges);
void remove(const void* owner);
// Everything an environment registered (it is being torn down).
void remove_env(const void* env);
}  // namespace in_flight

}  // namespace sgd
