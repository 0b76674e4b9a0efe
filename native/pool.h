// The persistent worker threads that share a step's chunks. Process-wide: every
// environment (main thread, worker_threads, async steps) uses the same workers.
#pragma once
#include <cstddef>

namespace sgd {

// Runs task(ctx, i) for every i in [0, count), on the calling thread plus the pool's
// workers, and returns when all are done. When the pool is busy with another caller's
// job, the caller runs its tasks alone: results never depend on who ran a task.
void parallel_for(std::size_t count, void (*task)(void* ctx, std::size_t i), void* ctx);

// Threads a step may use (the caller included). Default: SGD_NATIVE_THREADS, else
// the cores available to the process.
int num_threads();
void set_num_threads(int n);

}  // namespace sgd
