#include "pool.h"

#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

namespace sgd {
namespace {

int default_threads() {
  if (const char* env = std::getenv("SGD_NATIVE_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n > 256 ? 256 : n;
  }
#if defined(__linux__)
  cpu_set_t set;  // the cores this process may run on, not all the machine has
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

class Pool {
 public:
  Pool() : threads_(default_threads()) {}

  // Workers are detached and live as long as the process: joining them from a static
  // destructor at exit could deadlock with threads the runtime already stopped.
  void ensure_workers(int n) {
    while (static_cast<int>(started_) < n) {
      std::thread(&Pool::worker, this).detach();
      ++started_;
    }
  }

  void run(std::size_t count, void (*task)(void*, std::size_t), void* ctx) {
    const int threads = threads_.load();
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (threads <= 1 || count <= 1 || !busy.owns_lock()) {
      for (std::size_t i = 0; i < count; ++i) task(ctx, i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ensure_workers(threads - 1);
      task_ = task;
      ctx_ = ctx;
      count_ = count;
      next_.store(0);
      done_.store(0);
      helpers_wanted_ = threads - 1;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return done_.load() == count_ && active_ == 0; });
    helpers_wanted_ = 0;  // a worker waking late must not join a finished job
    task_ = nullptr;
  }

  int threads() const { return threads_.load(); }
  void set_threads(int n) { threads_.store(n < 1 ? 1 : n); }

 private:
  void work() {
    std::size_t finished = 0;
    for (std::size_t i; (i = next_.fetch_add(1)) < count_;) {
      task_(ctx_, i);
      ++finished;
    }
    done_.fetch_add(finished);
  }

  // A worker joins a job only while it runs (helpers_wanted_ > 0, under the lock), and the
  // job's caller waits for every joined worker before it returns.
  void worker() {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      // Steps often come back to back, and waking a sleeping thread costs more than a
      // small step: look for the next job for a moment before sleeping.
      lock.unlock();
      for (int k = 0; k < kSpins && generation_.load(std::memory_order_acquire) == seen; ++k) std::this_thread::yield();
      lock.lock();
      wake_.wait(lock, [&] { return generation_ != seen && helpers_wanted_ > 0; });
      seen = generation_;
      --helpers_wanted_;
      ++active_;
      lock.unlock();
      work();
      lock.lock();
      --active_;
      finished_.notify_all();
    }
  }

  std::atomic<int> threads_;
  std::mutex run_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::size_t started_ = 0;
  static constexpr int kSpins = 200;  // yields, about 50-200 µs
  std::atomic<std::uint64_t> generation_{0};
  int helpers_wanted_ = 0;
  int active_ = 0;
  void (*task_)(void*, std::size_t) = nullptr;
  void* ctx_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> done_{0};
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destructors
  return *p;
}

}  // namespace

void parallel_for(std::size_t count, void (*task)(void*, std::size_t), void* ctx) { pool().run(count, task, ctx); }
int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }

}  // namespace sgd
