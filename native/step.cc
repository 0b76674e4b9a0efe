#include "step.h"

#include <cmath>
#include <type_traits>

#include "kernels/pairwise.h"
#include "pool.h"

namespace sgd {
namespace {

// The kernel table's entries for each dtype, so code below is written once as a template.
float sumsq(const Kernels& k, const Tensor<float>& t, const Scalars<float>& s, std::size_t b, std::size_t n) {
  return k.sumsq_f32(t, s, b, n);
}
double sumsq(const Kernels& k, const Tensor<double>& t, const Scalars<double>& s, std::size_t b, std::size_t n) {
  return k.sumsq_f64(t, s, b, n);
}
void update(const Kernels& k, const Tensor<float>& t, const Scalars<float>& s, std::size_t b, std::size_t e) {
  k.update_f32(t, s, b, e);
}
void update(const Kernels& k, const Tensor<double>& t, const Scalars<double>& s, std::size_t b, std::size_t e) {
  k.update_f64(t, s, b, e);
}

// clipnorm: the divisor max(norm, c), with numpy's NaN-propagating maximum.
template <class T>
T norm_divisor(T sumsq, T c) {
  const T norm = sumsq > T(0) ? std::sqrt(sumsq) : sumsq;
  if (std::isnan(norm)) return norm;
  return norm > c ? norm : c;
}

// global_clipnorm: c * min(1/G, 1/c) + (G - G); 1/c is taken in double, then rounded.
template <class T>
T global_scale(const std::vector<double>& sums, double c) {
  const T g = std::sqrt(pairwise::sum<T>(sums.data(), sums.size()));
  const T inv = T(1) / g;
  const T inv_c = static_cast<T>(1.0 / c);
  const T m = std::isnan(inv) ? inv : (inv < inv_c ? inv : inv_c);
  return static_cast<T>(c) * m + (g - g);
}

// Work is cut at fixed sizes, so results never depend on how many threads run it.
constexpr std::size_t kLeaf = std::size_t(1) << 15;  // elements per norm subtree task
constexpr std::size_t kAlign = 64;  // fused-pass cuts fall on multiples of 64 elements (whole cache lines)
constexpr std::size_t kParallelMin = std::size_t(1) << 17;  // measured: 2 threads lose below it, win above
// A step reading more than this comes from memory, not the caches: the kernel prefetches by hand.
constexpr std::size_t kStreamBytes = std::size_t(32) << 20;

// The subtrees of numpy's pairwise recursion that are at most kLeaf long, left to right.
void collect_leaves(Step& st, std::size_t tensor, std::size_t off, std::size_t n) {
  if (n <= kLeaf) {
    st.leaves.push_back({tensor, off, n});
    return;
  }
  const std::size_t m = pairwise::split(n);
  collect_leaves(st, tensor, off, m);
  collect_leaves(st, tensor, off + m, n - m);
}

// Adds the leaves' results back up the same recursion, in T.
template <class T>
T combine_leaves(const Step& st, std::size_t& leaf, std::size_t n) {
  if (n <= kLeaf) return static_cast<T>(st.leaf_sums[leaf++]);
  const std::size_t m = pairwise::split(n);
  const T a = combine_leaves<T>(st, leaf, m);
  const T b = combine_leaves<T>(st, leaf, n - m);
  return a + b;
}

struct Job {
  const Kernels* k;
  Step* st;
};

void norm_task(void* ctx, std::size_t i) {
  Job& job = *static_cast<Job*>(ctx);
  const Step::Piece& p = job.st->leaves[i];
  job.st->with_tensor(p.tensor,
                      [&](auto& t, const auto& s) { job.st->leaf_sums[i] = sumsq(*job.k, t, s, p.begin, p.n); });
}

// Task i runs the pieces [task_begin[i], task_begin[i + 1]): one contiguous share of all elements.
void update_task(void* ctx, std::size_t i) {
  Job& job = *static_cast<Job*>(ctx);
  for (std::size_t k = job.st->task_begin[i]; k < job.st->task_begin[i + 1]; ++k) {
    const Step::Piece& p = job.st->chunks[k];
    job.st->with_tensor(p.tensor, [&](auto& t, const auto& s) { update(*job.k, t, s, p.begin, p.begin + p.n); });
  }
}

// The fused pass gives the same bits however it is cut (each element is computed on its
// own), so each thread gets one contiguous share of the call's elements, as OpenMP's
// static schedule would: tensors cut where the shares meet.
void cut_shares(Step& st, std::size_t total, std::size_t tasks) {
  std::size_t share = (total + tasks - 1) / tasks;
  share = (share + kAlign - 1) / kAlign * kAlign;
  st.chunks.clear();
  st.task_begin.assign(1, 0);
  std::size_t room = share;  // elements left in the current task's share
  for (std::size_t i = 0; i < st.size(); ++i)
    st.with_tensor(i, [&](auto& t, const auto&) {
      for (std::size_t b = 0; b < t.size;) {
        const std::size_t n = t.size - b < room ? t.size - b : room;
        st.chunks.push_back({i, b, n});
        b += n;
        room -= n;
        if (room == 0) {
          st.task_begin.push_back(st.chunks.size());
          room = share;
        }
      }
    });
  if (st.task_begin.back() != st.chunks.size()) st.task_begin.push_back(st.chunks.size());
}

void run_tasks(std::size_t count, void (*task)(void*, std::size_t), Job& job, bool parallel) {
  if (parallel) {
    parallel_for(count, task, &job);
  } else {
    for (std::size_t i = 0; i < count; ++i) task(&job, i);
  }
}

// SPEC 4: the per-tensor sums of squares (in call order), then each tensor's clip factor.
void norms(Step& st, Job& job, bool parallel) {
  const std::size_t n = st.size();
  st.leaves.clear();
  for (std::size_t i = 0; i < n; ++i)
    st.with_tensor(i, [&](auto& t, const auto&) {
      if (t.grad != nullptr) collect_leaves(st, i, 0, t.size);
    });
  st.leaf_sums.resize(st.leaves.size());
  run_tasks(st.leaves.size(), norm_task, job, parallel);

  const Clip clip = st.s64.clip;
  st.sums.clear();
  bool any_f64 = false;
  std::size_t leaf = 0;
  for (std::size_t i = 0; i < n; ++i)
    st.with_tensor(i, [&](auto& t, const auto& s) {
      using T = typename std::remove_reference_t<decltype(t)>::Value;
      if (t.grad == nullptr) return;
      any_f64 = any_f64 || std::is_same_v<T, double>;
      const T sum = combine_leaves<T>(st, leaf, t.size);
      if (clip == Clip::kNorm) t.clip_factor = norm_divisor(sum, s.clip_value);
      st.sums.push_back(sum);
    });
  if (clip == Clip::kGlobalNorm) {
    // All-float32 gradients reduce in float32, as Keras does; any float64 one makes it float64.
    const double scale =
        any_f64 ? global_scale<double>(st.sums, st.clip_value) : global_scale<float>(st.sums, st.clip_value);
    for (Tensor<float>& t : st.f32) t.clip_factor = static_cast<float>(scale);
    for (Tensor<double>& t : st.f64) t.clip_factor = scale;
  }
}

}  // namespace

void run(const Kernels& k, Step& st) {
  const std::size_t n = st.size();
  std::size_t total = 0;  // elements
  std::size_t bytes = 0;  // what the fused pass reads
  for (std::size_t i = 0; i < n; ++i)
    st.with_tensor(i, [&](auto& t, const auto&) {
      total += t.size;
      const std::size_t streams =
          1 + (t.grad != nullptr) + (t.momentum != nullptr) + (t.average != nullptr) + (t.accumulator != nullptr);
      bytes += t.size * sizeof(*t.var) * streams;
    });
  const bool parallel = total >= kParallelMin && num_threads() > 1;
  st.s32.stream = st.s64.stream = bytes >= kStreamBytes;
  Job job{&k, &st};

  if (st.s64.mode == Mode::kUpdate && (st.s64.clip == Clip::kNorm || st.s64.clip == Clip::kGlobalNorm))
    norms(st, job, parallel);

  cut_shares(st, total, parallel ? static_cast<std::size_t>(num_threads()) : 1);
  run_tasks(st.task_begin.size() - 1, update_task, job, parallel);
}

}  // namespace sgd
