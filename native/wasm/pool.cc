// pool.h for WebAssembly: one thread. Steps cut their work at the same fixed sizes
// as natively, so the bits are those of any thread count.
#include "../pool.h"

namespace sgd {

void parallel_for(std::size_t count, void (*task)(void* ctx, std::size_t i), void* ctx) {
  for (std::size_t i = 0; i < count; ++i) task(ctx, i);
}

int num_threads() { return 1; }
void set_num_threads(int) {}

}  // namespace sgd
