// The C reference of `npm run bench`: a plain momentum step in Keras's form
// (m = m*mu - g*lr; w = w + m; float32, or float64 with -DREAL=double) over a list of tensors, compiled by bench/models.mjs with
// -O3 -march=native (vectorized by the compiler, no contracted multiply-add, like the
// addon) and OpenMP's static schedule. It prints the median seconds per step.
//   c-reference <threads> <size> [<size> ...]
#ifndef REAL
#define REAL float
#endif
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int by_value(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const int threads = atoi(argv[1]);
  const int count = argc - 2;
  REAL **w = malloc(sizeof(REAL*) * count), **m = malloc(sizeof(REAL*) * count), **g = malloc(sizeof(REAL*) * count);
  long* n = malloc(sizeof(long) * count);
  long total = 0;
  for (int t = 0; t < count; ++t) {
    n[t] = atol(argv[t + 2]);
    total += n[t];
    w[t] = calloc(n[t] + 16, sizeof(REAL));
    m[t] = calloc(n[t] + 16, sizeof(REAL));
    g[t] = malloc(sizeof(REAL) * (n[t] + 16));
    for (long i = 0; i < n[t]; ++i) g[t][i] = (REAL)1e-3;
  }
  const REAL mu = (REAL)0.9, lr = (REAL)0.01;
  omp_set_num_threads(threads);
  // Batches of steps sized to about 30 ms, 7 samples, the median.
  long batch = 1;
  double samples[7];
  for (int s = -1; s < 7; ++s) {
    for (;;) {
      const double t0 = now();
      for (long b = 0; b < batch; ++b)
        for (int t = 0; t < count; ++t) {
          REAL *wt = w[t], *mt = m[t];
          const REAL* gt = g[t];
          const long nt = n[t];
          if (threads > 1 && nt >= 65536) {
#pragma omp parallel for schedule(static)
            for (long i = 0; i < nt; ++i) {
              const REAL v = mt[i] * mu - gt[i] * lr;
              mt[i] = v;
              wt[i] = wt[i] + v;
            }
          } else {
            for (long i = 0; i < nt; ++i) {
              const REAL v = mt[i] * mu - gt[i] * lr;
              mt[i] = v;
              wt[i] = wt[i] + v;
            }
          }
        }
      const double dt = now() - t0;
      if (s >= 0) {
        samples[s] = dt / batch;
        break;
      }
      if (dt >= 0.03 || batch >= (1L << 24)) break;
      batch *= dt > 0 ? (long)(0.036 / dt) + 1 : 16;
    }
  }
  qsort(samples, 7, sizeof(double), by_value);
  printf("%.9e\n", samples[3]);
  (void)total;
  return 0;
}
