// The fused pass starts its whole vectors where a variable is vector-aligned (a scalar head
// before them, a scalar tail after): variables at every element offset of their buffer, with
// gradients and state at other offsets, must give the same bits on every backend and ISA.
import { describe, expect, it } from 'vitest';
import { SGD, Variable, numThreads, setNumThreads } from '../lib/index.js';
import { TARGETS, useTarget } from './helpers.js';
const { data } = require('./fixtures/data.cjs') as { data(n: number, seed: number, scale?: number): Float32Array };

// Long enough for an aligned body (32 vectors of 16 floats or more); short ones take no head.
// (Threads cut tensors at multiples of 64 elements, so each share keeps its variable's
// alignment: threads.test.ts covers the cuts.)
const SIZES = [1_031, 517, 63, 2_000];
const CONFIGS = [{ momentum: 0.9 }, { momentum: 0.9, nesterov: true, weightDecay: 0.01 }, { learningRate: 0.1, useEma: true, clipnorm: 1 }];

/** `a` copied into a fresh buffer at element offset `off`. */
function at<T extends Float32Array | Float64Array>(a: T, off: number): T {
  const Type = a.constructor as new (n: number) => T;
  const out = new Type(a.length + off + 16).subarray(off, off + a.length) as T;
  out.set(a);
  return out;
}

/** The variables and slots, as bits, after 3 steps with the variables at element offset `off`. */
function run(off: number, config: (typeof CONFIGS)[number], f64: boolean) {
  const cast = (a: Float32Array) => (f64 ? new Float64Array(a) : a);
  const vars = SIZES.map((n, i) => new Variable(at(cast(data(n, i + 1)), off), { name: `v${i}` }));
  const opt = new SGD(config);
  for (let s = 0; s < 3; ++s)
    opt.apply(
      SIZES.map((n, i) => at(cast(data(n, 10 * s + i, 3)), (off * 7 + i) % 16)),
      vars,
    );
  return [...vars, ...opt.variables].map((v) => Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64'));
}

describe('variables at every offset of their buffer', () => {
  it.each([false, true])('give the same bits on every backend and ISA (float64: %s)', (f64) => {
    const start = TARGETS.at(-1)!;
    try {
      const offsets = Array.from({ length: f64 ? 8 : 16 }, (_, k) => k);
      for (const config of CONFIGS) {
        useTarget(TARGETS[0]);
        const expected = offsets.map((off) => run(off, config, f64));
        for (const target of TARGETS.slice(1)) {
          useTarget(target);
          offsets.forEach((off, k) => expect(run(off, config, f64), `${target}, offset ${off}`).toEqual(expected[k]));
        }
      }
    } finally {
      useTarget(start);
    }
  });
});

// A step reading 32 MiB or more comes from memory: its whole vectors run in a loop that also
// prefetches (native/kernels/sgd_kernel.h). The same bits as every other path.
describe('a step larger than the caches', () => {
  it('gives the same bits on every backend and ISA, on 1 and 2 threads', () => {
    const start = TARGETS.at(-1)!;
    const threadsBefore = numThreads();
    const n = 3_000_017; // with its gradient and momentum: 36 MB read
    const grad = at(data(n, 7, 3), 3);
    const step = () => {
      const w = new Variable(at(data(n, 5), 1), { name: 'w' });
      const opt = new SGD({ momentum: 0.9, nesterov: true });
      opt.apply([grad], [w]);
      opt.apply([grad], [w]);
      return [w, ...opt.variables].map((v) => Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64'));
    };
    try {
      useTarget(TARGETS[0]);
      const expected = step();
      for (const target of TARGETS) {
        useTarget(target);
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          expect(step(), `${target}, ${threads} thread(s)`).toEqual(expected);
        }
      }
    } finally {
      setNumThreads(threadsBefore);
      useTarget(start);
    }
  });
});
