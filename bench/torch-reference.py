# The PyTorch baseline of `npm run bench`: one step of torch.optim.SGD(lr=0.01, momentum=0.9,
# fused=True), PyTorch's fused CPU kernel, over zero parameters whose gradients hold 1e-3.
# bench/models.mjs runs it once per row, as it runs the C reference, with the Python of the venv
# tools/torch-venv.sh makes. Timed like bench/measure.mjs: one warm-up step, batches of steps
# sized to at least 30 ms, 7 samples, the median. It prints the seconds per step and the
# implementation measured ("fused", or "foreach" where this torch refuses fused=True on CPU).
#   torch-reference.py <float32|float64> <threads> <size> [<size> ...]
import math
import sys
import time
import warnings

# torch warns on import when numpy is missing; the bench does not need numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402


def measure(fn, samples=7, min_sample=0.03, max_batch=1 << 20):
    fn()
    batch = 1
    while True:
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        s = time.perf_counter() - t
        if s >= min_sample or batch >= max_batch:
            break
        batch *= min(16, math.ceil(min_sample / s * 1.2)) if s > 0 else 16
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t) / batch)
    times.sort()
    return times[len(times) // 2]


def optimizer(params):
    """The fused SGD, or the foreach one where this build has no fused CPU kernel."""
    for kind in ("fused", "foreach"):
        try:
            opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, **{kind: True})
            opt.step()  # a missing kernel may only show on the first step
            return opt, kind
        except (RuntimeError, ValueError, NotImplementedError):
            for p in params:
                p.data.zero_()
    raise SystemExit("torch.optim.SGD accepts neither fused=True nor foreach=True on CPU")


def main(argv):
    dtype = {"float32": torch.float32, "float64": torch.float64}[argv[0]]
    torch.set_num_threads(int(argv[1]))
    params = []
    for n in argv[2:]:
        p = torch.zeros(int(n), dtype=dtype, requires_grad=True)
        p.grad = torch.full_like(p, 1e-3, requires_grad=False)
        params.append(p)
    opt, kind = optimizer(params)
    print(f"{measure(opt.step):.9e} {kind}")


if __name__ == "__main__":
    main(sys.argv[1:])
