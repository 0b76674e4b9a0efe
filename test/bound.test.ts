// The addon's bound step (Backend.bind + stepBound): an optimizer's synchronous steps of
// its built variables, in their order, go through it; it must give the bits of the list
// step and refuse what the list step refuses.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { SGD, Variable, setNumThreads, numThreads } from '../lib/index.js';
import { backend, smallSteps } from '../lib/load.js';
import type { BoundArrays, FloatArray } from '../lib/native.js';
import { STEP_CONFIGS as CONFIGS } from './helpers.js';

const { data } = require('./fixtures/data.cjs') as { data(n: number, seed: number, scale?: number): Float32Array };
const native = backend.name === 'native' && backend.impl.bind !== undefined;
const transfer = (b: ArrayBufferLike) => structuredClone(b, { transfer: [b as ArrayBuffer] });
const bits = (a: FloatArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

const MODELS = [[1], [64, 16, 48, 3], [1000], [300000, 7], Array.from({ length: 20 }, (_, i) => 10 + i)];

/** Counts the addon's stepBound calls while `fn` runs. */
function countingBound<T>(fn: () => T): [T, number] {
  const impl = backend.impl;
  const stepBound = impl.stepBound!;
  let calls = 0;
  impl.stepBound = (...args) => {
    ++calls;
    return stepBound(...args);
  };
  try {
    return [fn(), calls];
  } finally {
    impl.stepBound = stepBound;
  }
}

describe('the bound step', () => {
  it.runIf(native)('gives the bits of the list step, on 1 and 2 threads', () => {
    const line = smallSteps.perTensor;
    const threads = numThreads();
    const impl = backend.impl;
    const bind = impl.bind;
    smallSteps.perTensor = 0; // every step through the addon
    try {
      // Every state after 5 steps of every config on every model, as bits.
      const run = () =>
        CONFIGS.flatMap((config) =>
          MODELS.map((shapes) => {
            const vars = shapes.map((n, i) => new Variable(data(n, i + 1), { name: `v${i}` }));
            const opt = new SGD(config);
            for (let k = 0; k < 5; ++k)
              opt.apply(
                shapes.map((n, i) => data(n, 10 * k + i, 3)),
                vars,
              );
            return [...vars, ...opt.variables].map((v) => bits(v.value)).join();
          }),
        );
      for (const t of [1, Math.min(2, threads)]) {
        setNumThreads(t);
        const [bound, calls] = countingBound(run);
        expect(calls).toBe(CONFIGS.length * MODELS.length * 5);
        impl.bind = undefined; // optimizers made now have no bound arrays: every step passes its lists
        const [listed, none] = countingBound(run);
        impl.bind = bind;
        expect(none).toBe(0);
        expect(bound).toEqual(listed);
      }
    } finally {
      impl.bind = bind;
      smallSteps.perTensor = line;
      setNumThreads(threads);
    }
  });

  it.runIf(native)('takes apply() with or without the built variables, and not a call in another order', () => {
    const line = smallSteps.perTensor;
    smallSteps.perTensor = 0;
    try {
      const [, calls] = countingBound(() => {
        const vars = [new Variable(data(8, 1), { name: 'a' }), new Variable(Float64Array.from(data(8, 2)), { name: 'b' })];
        const opt = new SGD({ momentum: 0.9 });
        opt.build(vars);
        opt.apply([data(8, 3), data(8, 4)]);
        opt.apply([data(8, 3), data(8, 4)], vars);
        opt.apply([data(8, 4), data(8, 3)], [vars[1], vars[0]]); // another order: the list step
      });
      expect(calls).toBe(2);
    } finally {
      smallSteps.perTensor = line;
    }
  });

  it.runIf(native)('refuses a state array detached since the build, naming it, and changes nothing', () => {
    const w = new Variable(data(200, 1), { name: 'w' });
    const opt = new SGD({ momentum: 0.9 });
    opt.apply([data(200, 2)], [w]);
    const before = bits(w.value);
    const momentum = opt.variables.find((v) => v.path.endsWith('w_momentum'))!;
    transfer(momentum.value.buffer);
    expect(() => opt.apply([data(200, 3)], [w])).toThrow(
      /momentums\[0\] no longer has its 200 elements \(was its buffer detached or resized\?\)/,
    );
    expect(bits(w.value)).toBe(before);
  });

  it.runIf(native)('checks every held array at every step', () => {
    const impl = backend.impl;
    const scalars = new Float64Array(backend.layout.length(1));
    scalars[backend.layout.lr] = 0.5;
    scalars[backend.layout.lossScale] = NaN;
    const w = data(16, 1);
    const handle = impl.bind!([w], null, null, null);
    impl.stepBound!(handle, scalars, new Float32Array(16).fill(1));
    expect(w[0]).toBe(Math.fround(data(16, 1)[0] - 0.5));
    // Gradients: the count, the type, the length, or none.
    expect(() => impl.stepBound!(handle, scalars)).toThrow(/expected 1 gradients, got 0/);
    expect(() => impl.stepBound!(handle, scalars, new Float64Array(16))).toThrow(TypeError);
    expect(() => impl.stepBound!(handle, scalars, new Float32Array(15))).toThrow(/grads\[0\] has 15 elements, its variable 16/);
    expect(() => impl.stepBound!(handle, scalars, w)).toThrow(/shares memory/);
    impl.stepBound!(handle, scalars, null);
    // The handle.
    for (const fake of [{}, null, undefined, 1, 'handle', () => 0]) {
      expect(() => impl.stepBound!(fake as unknown as BoundArrays, scalars, null)).toThrow(/`handle` must come from bind\(\)/);
    }
    expect(() => impl.stepBound!(handle, new Float32Array(scalars.length) as unknown as Float64Array, null)).toThrow(
      /`scalars` has the wrong type/,
    );
    // A variable on a resizable buffer shrunk under it, then detached.
    const resizable = new ArrayBuffer(64, { maxByteLength: 128 }) as ArrayBuffer & { resize?(n: number): void };
    if (typeof resizable.resize === 'function') {
      const v = new Float32Array(resizable, 16, 8);
      const h = impl.bind!([v], null, null, null);
      impl.stepBound!(h, scalars, new Float32Array(8));
      resizable.resize(32);
      expect(() => impl.stepBound!(h, scalars, new Float32Array(8))).toThrow(/variables\[0\] no longer has its 8 elements/);
      resizable.resize(128); // back in place: fine again
      impl.stepBound!(h, scalars, new Float32Array(8));
    }
    const gone = data(16, 1);
    const h = impl.bind!([gone], null, null, null);
    transfer(gone.buffer);
    expect(() => impl.stepBound!(h, scalars, new Float32Array(16))).toThrow(/variables\[0\] no longer has its 16 elements/);
  });

  it.runIf(native)('binds what step() accepts and nothing else', () => {
    const impl = backend.impl;
    expect(() => impl.bind!([new Int32Array(4) as unknown as Float32Array], null, null, null)).toThrow(
      /variables\[0\] must be a Float32Array or Float64Array/,
    );
    expect(() => impl.bind!([new Float32Array(4)], [new Float32Array(3)], null, null)).toThrow(
      /momentums\[0\] has 3 elements, its variable 4/,
    );
    expect(() => impl.bind!([new Float32Array(4)], [], null, null)).toThrow(/a state list differs in length/);
    expect(() => impl.bind!('x' as unknown as Float32Array[], null, null, null)).toThrow(/`variables` must be an array/);
  });

  it.runIf(native)('holds SharedArrayBuffer memory too, with the same bits', () => {
    const shared = new Float32Array(new SharedArrayBuffer(4 * 40));
    shared.set(data(40, 1));
    const plain = data(40, 1);
    const a = new Variable(shared, { name: 'a' });
    const b = new Variable(plain, { name: 'a' });
    const oa = new SGD({ momentum: 0.9, nesterov: true });
    const ob = new SGD({ momentum: 0.9, nesterov: true });
    for (let k = 0; k < 3; ++k) {
      oa.apply([data(40, k, 2)], [a]);
      ob.apply([data(40, k, 2)], [b]);
    }
    expect(bits(Float32Array.from(shared))).toBe(bits(plain));
  });

  it.runIf(native)('lets go of the arrays of an optimizer that is gone', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const registry = new FinalizationRegistry<() => void>((done) => done());
    let collected = 0;
    for (let i = 0; i < 20; ++i) {
      const opt = new SGD({ momentum: 0.9 });
      const w = new Variable(new Float32Array(1 << 16), { name: 'w' });
      opt.apply([new Float32Array(1 << 16)], [w]);
      registry.register(w.value.buffer, () => ++collected); // (the addon holds buffers)
    }
    for (let i = 0; i < 10 && collected === 0; ++i) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(collected).toBeGreaterThan(0);
  });

  // Linux: the memory map says which ranges were advised (VmFlags "hg").
  const smaps =
    process.platform === 'linux' &&
    existsSync('/proc/self/smaps') &&
    existsSync('/sys/kernel/mm/transparent_hugepage/enabled') &&
    !process.env.SGD_TEST_NO_SPAWN;
  it.runIf(native && smaps)('asks for huge pages for large arrays it holds, unless SGD_NATIVE_HUGEPAGES=0', () => {
    const script = `
      const { SGD, Variable } = require('./dist/index.js');
      const advised = () => (require('fs').readFileSync('/proc/self/smaps', 'utf8').match(/^VmFlags:.* hg/gm) || []).length;
      const before = advised();
      new SGD({ momentum: 0.9 }).apply([new Float32Array(${1 << 12})], [new Variable(new Float32Array(${1 << 12}))]);
      const small = advised();
      new SGD({ momentum: 0.9 }).apply([new Float32Array(${1 << 21})], [new Variable(new Float32Array(${1 << 21}))]);
      console.log(JSON.stringify([before, small, advised()]));`;
    const run = (env: Record<string, string>) =>
      JSON.parse(
        execFileSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), env: { ...process.env, ...env } }).toString(),
      ) as number[];
    const [before, small, large] = run({});
    expect([before, small]).toEqual([0, 0]); // nothing under 4 MiB
    expect(large).toBeGreaterThan(0); // the variable and its momentum (8 MiB each)
    expect(run({ SGD_NATIVE_HUGEPAGES: '0' })[2]).toBe(0);
  });
});
