#include "step.h"

#include <cmath>

#include "pool.h"

namespace sgd {
namespace {

// numpy's pairwise sum (SPEC.md 4.4) of the per-tensor results, in T (float32
// results are held exactly in the double array).
template <class T>
T pairwise(const double* a, std::size_t n) {
  if (n < 8) {
    T r = 0;
    for (std::size_t i = 0; i < n; ++i) r = r + static_cast<T>(a[i]);
    return r;
  }
  if (n <= 128) {
    T p[8];
    for (int j = 0; j < 8; ++j) p[j] = static_cast<T>(a[j]);
    const std::size_t full = n - n % 8;
    for (std::size_t i = 8; i < full; i += 8)
      for (int j = 0; j < 8; ++j) p[j] = p[j] + static_cast<T>(a[i + j]);
    T r = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
    for (std::size_t i = full; i < n; ++i) r = r + static_cast<T>(a[i]);
    return r;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return pairwise<T>(a, half) + pairwise<T>(a + half, n - half);
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
  const T g = std::sqrt(pairwise<T>(sums.data(), sums.size()));
  const T inv = T(1) / g;
  const T inv_c = static_cast<T>(1.0 / c);
  const T m = std::isnan(inv) ? inv : (inv < inv_c ? inv : inv_c);
  return static_cast<T>(c) * m + (g - g);
}

// Work is cut at fixed sizes, so results never depend on how many threads run it.
constexpr std::size_t kLeaf = std::size_t(1) << 15;   // elements per norm subtree task
constexpr std::size_t kChunk = std::size_t(1) << 14;  // elements per fused-pass task
constexpr std::size_t kParallelMin = std::size_t(1) << 17;  // measured: 2 threads lose below it, win above

std::size_t split(std::size_t n) {
  std::size_t half = n / 2;
  return half - half % 8;
}

// The subtrees of numpy's pairwise recursion that are at most kLeaf long, left to right.
void collect_leaves(Step& st, std::size_t tensor, std::size_t off, std::size_t n) {
  if (n <= kLeaf) {
    st.leaves.push_back({tensor, off, n});
    return;
  }
  const std::size_t m = split(n);
  collect_leaves(st, tensor, off, m);
  collect_leaves(st, tensor, off + m, n - m);
}

// Adds the leaves' results back up the same recursion, in T.
template <class T>
T combine_leaves(const Step& st, std::size_t& leaf, std::size_t n) {
  if (n <= kLeaf) return static_cast<T>(st.leaf_sums[leaf++]);
  const std::size_t m = split(n);
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
  Step& st = *job.st;
  const Step::Piece& p = st.leaves[i];
  const std::size_t j = st.index[p.tensor];
  st.leaf_sums[i] = st.is_f64[p.tensor] ? job.k->sumsq_f64(st.f64[j], st.s64, p.begin, p.n)
                                        : job.k->sumsq_f32(st.f32[j], st.s32, p.begin, p.n);
}

void update_task(void* ctx, std::size_t i) {
  Job& job = *static_cast<Job*>(ctx);
  Step& st = *job.st;
  const Step::Piece& p = st.chunks[i];
  const std::size_t j = st.index[p.tensor];
  if (st.is_f64[p.tensor]) job.k->update_f64(st.f64[j], st.s64, p.begin, p.begin + p.n);
  else job.k->update_f32(st.f32[j], st.s32, p.begin, p.begin + p.n);
}

void run_tasks(std::size_t count, void (*task)(void*, std::size_t), Job& job, bool parallel) {
  if (parallel) {
    parallel_for(count, task, &job);
  } else {
    for (std::size_t i = 0; i < count; ++i) task(&job, i);
  }
}

}  // namespace

void run(const Kernels& k, Step& st) {
  const std::size_t n = st.is_f64.size();
  std::size_t total = 0;
  for (const Tensor<float>& t : st.f32) total += t.size;
  for (const Tensor<double>& t : st.f64) total += t.size;
  const bool parallel = total >= kParallelMin && num_threads() > 1;
  Job job{&k, &st};

  const Clip clip = st.s64.clip;
  if (st.s64.mode == Mode::kUpdate && (clip == Clip::kNorm || clip == Clip::kGlobalNorm)) {
    st.leaves.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const bool f64 = st.is_f64[i];
      const std::size_t j = st.index[i];
      if (f64 ? st.f64[j].grad == nullptr : st.f32[j].grad == nullptr) continue;
      collect_leaves(st, i, 0, f64 ? st.f64[j].size : st.f32[j].size);
    }
    st.leaf_sums.resize(st.leaves.size());
    run_tasks(st.leaves.size(), norm_task, job, parallel);

    st.sums.clear();
    bool any_f64 = false;
    std::size_t leaf = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = st.index[i];
      if (st.is_f64[i]) {
        Tensor<double>& t = st.f64[j];
        if (t.grad == nullptr) continue;
        any_f64 = true;
        const double s = combine_leaves<double>(st, leaf, t.size);
        if (clip == Clip::kNorm) t.clip_factor = norm_divisor(s, st.s64.clip_value);
        st.sums.push_back(s);
      } else {
        Tensor<float>& t = st.f32[j];
        if (t.grad == nullptr) continue;
        const float s = combine_leaves<float>(st, leaf, t.size);
        if (clip == Clip::kNorm) t.clip_factor = norm_divisor(s, st.s32.clip_value);
        st.sums.push_back(s);
      }
    }
    if (clip == Clip::kGlobalNorm) {
      // All-float32 gradients reduce in float32, as Keras does; any float64 one makes it float64.
      const double scale = any_f64 ? global_scale<double>(st.sums, st.clip_value)
                                   : global_scale<float>(st.sums, st.clip_value);
      for (Tensor<float>& t : st.f32) t.clip_factor = static_cast<float>(scale);
      for (Tensor<double>& t : st.f64) t.clip_factor = scale;
    }
  }

  st.chunks.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t size = st.is_f64[i] ? st.f64[st.index[i]].size : st.f32[st.index[i]].size;
    for (std::size_t b = 0; b < size; b += kChunk) st.chunks.push_back({i, b, size - b < kChunk ? size - b : kChunk});
  }
  run_tasks(st.chunks.size(), update_task, job, parallel);
}

}  // namespace sgd
