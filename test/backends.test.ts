// Choosing the backend: native, then wasm, then js; SGD_NATIVE_BACKEND forces one; a
// fallback is said once. (That every backend gives the same bits: golden.test.ts.)
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backend as info } from '../lib/index.js';
import { choose } from '../lib/choose.js';
import { jsBackend } from '../lib/backend-js.js';
import { backend, useBackend } from '../lib/load.js';
import { SGD, Variable } from '../lib/index.js';

const ROOT = path.join(__dirname, '..');
const canSpawn = !process.env.SGD_TEST_NO_SPAWN;

/** Runs a CommonJS snippet on the built package; returns its exit status, stdout and stderr. */
function run(script: string, env: Record<string, string | undefined>, preload: string[] = []) {
  const r = spawnSync(process.execPath, [...preload, '-e', script], { cwd: ROOT, env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout.toString().trim(), err: r.stderr.toString() };
}
const STEP = `
  const { SGD, Variable, backend } = require('./dist/index.js');
  const w = new Variable(new Float32Array([1, 2]));
  new SGD({ learningRate: 0.5, momentum: 0.9 }).apply([new Float32Array([1, -1])], [w]);
  console.log(JSON.stringify({ ...backend(), w: [...w.value] }));`;

const broken = (why: string) => () => {
  throw new Error(why);
};

describe('backend()', () => {
  it('names the backend in use and every one that loads here', () => {
    const { active, available } = info();
    expect(active).toBe(backend.name);
    expect(available).toContain(active);
    expect(available).toContain('js'); // loads everywhere
    expect(available.filter((b) => !['native', 'wasm', 'js'].includes(b))).toEqual([]);
  });

  it.runIf(canSpawn)('SGD_NATIVE_BACKEND forces each backend, all with the same results', () => {
    for (const name of ['native', 'wasm', 'js']) {
      const r = run(STEP, { SGD_NATIVE_BACKEND: name });
      expect(r.status, r.err).toBe(0);
      expect(r.err).not.toMatch(/Warning/);
      expect(JSON.parse(r.out)).toEqual({ active: name, available: ['native', 'wasm', 'js'], w: [0.5, 2.5] });
    }
  });

  it.runIf(canSpawn)('an unknown SGD_NATIVE_BACKEND is an error that lists the backends', () => {
    const r = run(STEP, { SGD_NATIVE_BACKEND: 'gpu' });
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/SGD_NATIVE_BACKEND=gpu is not a backend \(backends: native, wasm, js\)/);
  });

  it.runIf(canSpawn)('without a native binary it falls back to wasm and says why, once', () => {
    const r = run(STEP, { SGD_NATIVE_BACKEND: '' }, ['-r', path.join(__dirname, 'fixtures', 'no-native.cjs')]);
    expect(r.status, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ active: 'wasm', available: ['wasm', 'js'], w: [0.5, 2.5] });
    expect(r.err.match(/SGD_NATIVE_FALLBACK/g)).toHaveLength(1);
    expect(r.err).toMatch(
      /using the wasm backend .*the native backend could not be loaded: sgd-native: the native addon could not be loaded on .*No native build was found/,
    );
  });
});

describe('choose()', () => {
  const js = { name: 'js' as const, load: () => jsBackend };

  it('takes the first candidate that loads and warns once with every reason', () => {
    const warnings: string[] = [];
    const c = choose(
      [{ name: 'native', load: broken('no binary') }, { name: 'wasm', load: broken('no WebAssembly') }, js],
      undefined,
      (m) => warnings.push(m),
    );
    expect(c.backend.name).toBe('js');
    expect(c.available()).toEqual(['js']);
    expect(warnings).toEqual([
      'sgd-native: using the js backend (same results, slower): the native backend could not be loaded: no binary; ' +
        'the wasm backend could not be loaded: no WebAssembly',
    ]);
  });

  it('a forced backend that cannot load is an error listing what can', () => {
    expect(() => choose([{ name: 'wasm', load: broken('no WebAssembly') }, js], 'wasm', () => {})).toThrow(
      /SGD_NATIVE_BACKEND=wasm: the wasm backend cannot be loaded here \(available: js\)\.\nno WebAssembly/,
    );
  });

  it('a fatal load error (a bad setting) is thrown, not fallen back from', () => {
    const fatal = () => {
      throw Object.assign(new Error('SGD_NATIVE_ISA=sse9 is not available'), { fatal: true });
    };
    expect(() => choose([{ name: 'native', load: fatal }, js], undefined, () => {})).toThrow(/sse9/);
  });

  it('refuses a backend whose scalar layout differs from lib/', () => {
    const stale = { name: 'js' as const, load: () => ({ ...jsBackend, scalarLayout: { names: ['mode'], perTensor: [] } }) };
    expect(() => choose([stale], 'js', () => {})).toThrow(/does not match this version of lib/);
  });

  it('use() swaps the backend in place, so every holder of it sees the change', () => {
    const c = choose([{ name: 'native', load: broken('none') }, js], 'js', () => {});
    const held = c.backend;
    expect(() => c.use('native')).toThrow(/cannot be loaded here/);
    c.use('js');
    expect(held.name).toBe('js');
  });
});

describe('every backend gives the native bits', () => {
  const { data, rng } = require('./fixtures/data.cjs') as {
    data(n: number, seed: number, scale?: number): Float32Array;
    rng(seed: number): () => number;
  };
  // Sizes around the kernels' edges: under a SIMD width, numpy's 8-lane block and its
  // 128-element blocked sum, the fused pass's 16384-element chunks and the norm's 32768-element leaves.
  const SIZES = [1, 7, 8, 9, 127, 129, 1000, 16_385, 70_001];
  const OPTIONS = [
    { learningRate: 0.1 },
    { learningRate: 0.1, momentum: 0.9, nesterov: true, clipnorm: 0.5 },
    { learningRate: 0.05, momentum: 0.5, weightDecay: 0.01, globalClipnorm: 2, useEma: true, emaOverwriteFrequency: 2 },
    { learningRate: 0.1, gradientAccumulationSteps: 2, lossScaleFactor: 8, clipvalue: 0.25, momentum: 0.3 },
  ];
  /** Gradients with the awkward values: NaN, infinities, signed zeros, huge and tiny numbers. */
  function gradients(seed: number, f64: boolean[]) {
    const next = rng(seed);
    return SIZES.map((n, i) => {
      const g = (f64[i] ? Float64Array : Float32Array).from(data(n, seed * 31 + i, 3));
      for (let k = 0; k < 3; ++k) g[Math.floor(next() * n)] = [NaN, Infinity, -0, 1e30, 1e-30, -Infinity][Math.floor(next() * 6)];
      return next() < 0.1 ? null : g;
    });
  }
  function train(name: string, options: object, f64: boolean[], withSpecials: boolean) {
    useBackend(name);
    const vars = SIZES.map((n, i) => new Variable((f64[i] ? Float64Array : Float32Array).from(data(n, i + 1)), { name: `v${i}` }));
    const opt = new SGD(options);
    for (let s = 0; s < 4; ++s) {
      const g = withSpecials
        ? gradients(s + 1, f64)
        : SIZES.map((n, i) => (f64[i] ? Float64Array : Float32Array).from(data(n, 100 * s + i, 2)));
      opt.apply(g, vars);
    }
    return [...vars, ...opt.variables].map((v) => Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength));
  }

  const start = backend.name;
  const others = info().available.filter((b) => b !== 'native');
  const KINDS = ['float32', 'float32 with NaN, infinities, signed zeros', 'float32 and float64 mixed'];
  it.each(OPTIONS.flatMap((o) => KINDS.map((k) => [JSON.stringify(o), k])))('%s, %s', (json, kind) => {
    const options = JSON.parse(json) as object;
    const specials = kind === KINDS[1];
    const f64 = SIZES.map((_n, i) => kind === KINDS[2] && i % 2 === 1);
    try {
      const want = train('native', options, f64, specials);
      for (const b of others) {
        const got = train(b, options, f64, specials);
        got.forEach((a, i) => expect(a.equals(want[i]), `${b}: array ${i}`).toBe(true));
      }
    } finally {
      useBackend(start);
    }
  });
});
