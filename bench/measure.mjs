// The bench's timer: the median seconds per call of fn, over `samples` samples of a batch of
// calls sized (after a warm-up call) to last at least `minSample` seconds.
export function measure(fn, { samples = 7, minSample = 0.03, maxBatch = 1 << 20 } = {}) {
  fn();
  let batch = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < batch; ++i) fn();
    const s = (performance.now() - t) / 1000;
    if (s >= minSample || batch >= maxBatch) break;
    batch *= s > 0 ? Math.min(16, Math.ceil((minSample / s) * 1.2)) : 16;
  }
  const times = [];
  for (let r = 0; r < samples; ++r) {
    const t = performance.now();
    for (let i = 0; i < batch; ++i) fn();
    times.push((performance.now() - t) / 1000 / batch);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}
