#include "memory.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace sgd {
namespace {

const char* list_name(Role r) {
  switch (r) {
    case Role::kVariable:
      return "variables";
    case Role::kGrad:
      return "grads";
    case Role::kMomentum:
      return "momentums";
    case Role::kAverage:
      return "averages";
    case Role::kAccumulator:
      return "accumulators";
  }
  return "?";
}

std::string name(const Range& r) { return std::string(list_name(r.role)) + "[" + std::to_string(r.tensor) + "]"; }

bool overlap(const Range& a, const Range& b) { return a.begin < b.end && b.begin < a.end; }

struct Entry {
  const void* owner;
  const void* env;
  Range range;
};

std::mutex registry_mutex;
std::vector<Entry> registry;
std::atomic<std::size_t> registry_size{0};

std::string conflict_locked(const std::vector<Range>& ranges) {
  for (const Range& r : ranges)
    for (const Entry& e : registry)
      if ((r.writes() || e.range.writes()) && overlap(r, e.range))
        return name(r) +
               " uses memory that an async step still running uses (another optimizer's applyAsync, or the "
               "same arrays stepped twice at once); await it first";
  return "";
}

}  // namespace

std::string check_disjoint(std::vector<Range>& ranges) {
  // Written ranges first, by address; then gradients.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    if (a.writes() != b.writes()) return a.writes();
    return a.begin < b.begin;
  });
  const auto first_read = std::find_if(ranges.begin(), ranges.end(), [](const Range& r) { return !r.writes(); });
  for (auto it = ranges.begin(); it != first_read && it + 1 != first_read; ++it)
    if (overlap(*it, *(it + 1)))
      return name(*(it + 1)) + " shares memory with " + name(*it) + ", which the step writes";
  for (auto g = first_read; g != ranges.end(); ++g) {
    // Written ranges are disjoint and sorted: only the last one starting before g ends can reach g.
    auto w = std::lower_bound(ranges.begin(), first_read, g->end,
                              [](const Range& r, std::uintptr_t end) { return r.begin < end; });
    if (w != ranges.begin() && overlap(*(w - 1), *g))
      return name(*g) + " shares memory with " + name(*(w - 1)) + ", which the step writes";
  }
  return "";
}

void advise_huge_pages(const void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t(2) << 20;
  if (bytes < 2 * kHuge) return;  // (smaller arrays would gain at most a page or two)
  static const bool off = [] {
    const char* v = std::getenv("SGD_NATIVE_HUGEPAGES");
    return v != nullptr && std::string(v) == "0";
  }();
  if (off) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

namespace in_flight {

std::string conflict(const std::vector<Range>& ranges) {
  if (registry_size.load(std::memory_order_acquire) == 0) return "";
  std::lock_guard<std::mutex> lock(registry_mutex);
  return conflict_locked(ranges);
}

std::string add(const void* owner, const void* env, const std::vector<Range>& ranges) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  std::string why = conflict_locked(ranges);
  if (!why.empty()) return why;
  for (const Range& r : ranges) registry.push_back({owner, env, r});
  registry_size.store(registry.size(), std::memory_order_release);
  return "";
}

void remove(const void* owner) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry.erase(std::remove_if(registry.begin(), registry.end(), [&](const Entry& e) { return e.owner == owner; }),
                 registry.end());
  registry_size.store(registry.size(), std::memory_order_release);
}

void remove_env(const void* env) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry.erase(std::remove_if(registry.begin(), registry.end(), [&](const Entry& e) { return e.env == env; }),
                 registry.end());
  registry_size.store(registry.size(), std::memory_order_release);
}

}  // namespace in_flight
}  // namespace sgd
