// The public API beyond the golden replay: validation, atomicity, state, config, loading.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SGD, Variable, isa, schedules, setIsa } from '../lib/index.js';
import { backend, smallSteps } from '../lib/load.js';
import { scalarLayout } from '../lib/native.js';
import { STEP_CONFIGS } from './helpers.js';

const ROOT = path.join(__dirname, '..');
// Under user-mode emulation (arm64 via qemu) node cannot start another node: skip what spawns one.
const canSpawn = !process.env.SGD_TEST_NO_SPAWN;
const f32 = (...v: number[]) => Float32Array.from(v);

function model() {
  const kernel = new Variable(f32(1, -2, 3, -4, 5, -6), { name: 'kernel', path: 'dense/kernel', shape: [2, 3] });
  const bias = new Variable(f32(0.5, -0.5, 0.25), { name: 'bias', path: 'dense/bias' });
  return { kernel, bias, vars: [kernel, bias] };
}
const grads = () => [f32(0.1, 0.2, 0.3, 0.4, 0.5, 0.6), f32(1, 2, 3)];

/** Everything a call could change: variables, state arrays, counters. */
function snapshot(opt: SGD, vars: Variable[]) {
  return {
    vars: vars.map((v) => [...v.value]),
    state: Object.fromEntries(opt.variables.map((v) => [v.path, [...v.value]])),
    iterations: opt.iterations,
    built: opt.built,
  };
}

afterEach(() => vi.restoreAllMocks());

describe('Variable', () => {
  it('wraps the caller array without copying', () => {
    const a = f32(1, 2, 3, 4);
    const v = new Variable(a, { name: 'w', path: 'layer/w', shape: [2, 2] });
    expect(v.value).toBe(a);
    expect([v.name, v.path, v.dtype, v.size, v.trainable]).toEqual(['w', 'layer/w', 'float32', 4, true]);
    expect(v.shape).toEqual([2, 2]);
    expect(new Variable(new Float64Array(3)).path).toBe('variable');
  });
  it('rejects what is not a parameter', () => {
    expect(() => new Variable([1, 2] as unknown as Float32Array)).toThrow(TypeError);
    expect(() => new Variable(new Int32Array(2) as unknown as Float32Array)).toThrow(/Received: Int32Array\(2\)/);
    expect(() => new Variable(f32(1, 2), { shape: [3] })).toThrow(RangeError);
    expect(() => new Variable(f32(1), { name: 'a/b' })).toThrow(/cannot contain character `\/`. Received: name="a\/b"/);
    expect(() => new Variable(f32(1), { shape: [1.5] as number[] })).toThrow(TypeError);
  });
});

describe('SGD step', () => {
  it('updates the caller memory in place with the Keras formula (float32)', () => {
    const { kernel, bias, vars } = model();
    const before = [...kernel.value];
    const opt = new SGD({ learningRate: 0.1 });
    const g = grads();
    opt.apply(g, vars);
    const lr = Math.fround(0.1);
    before.forEach((w, i) => expect(kernel.value[i]).toBe(Math.fround(w - Math.fround(g[0][i] * lr))));
    expect(bias.value[0]).toBe(Math.fround(0.5 - Math.fround(1 * lr)));
    expect(opt.iterations).toBe(1);
  });

  it('float64 uses float64 arithmetic with a float32-rounded rate (Keras on TensorFlow)', () => {
    const v = new Variable(Float64Array.of(1, 2), { name: 'w' });
    const opt = new SGD({ learningRate: 0.1, momentum: 0.9 });
    opt.apply([Float64Array.of(0.3, -0.7)], [v]);
    const lr = Math.fround(0.1);
    const mu = Math.fround(0.9);
    const m0 = 0 * mu - 0.3 * lr;
    expect(v.value[0]).toBe(1 + m0);
    expect(opt.variables.find((s) => s.path === 'sgd/w_momentum')!.value[0]).toBe(m0);
  });

  it('applyGradients(pairs) equals apply(grads, vars)', () => {
    const a = model();
    const b = model();
    const o1 = new SGD({ momentum: 0.9, nesterov: true });
    const o2 = new SGD({ momentum: 0.9, nesterov: true });
    for (let i = 0; i < 3; ++i) {
      o1.apply(grads(), a.vars);
      const g = grads();
      o2.applyGradients([
        [g[0], b.kernel],
        [g[1], b.bias],
      ]);
    }
    expect([...a.kernel.value]).toEqual([...b.kernel.value]);
  });

  it('variables may come in any order, and may be omitted once built', () => {
    const a = model();
    const b = model();
    const c = model();
    const o1 = new SGD({ momentum: 0.5, weightDecay: 0.01, useEma: true });
    const o2 = new SGD({ momentum: 0.5, weightDecay: 0.01, useEma: true });
    const o3 = new SGD({ momentum: 0.5, weightDecay: 0.01, useEma: true });
    o2.build(b.vars); // built as [kernel, bias], called as [bias, kernel]
    o3.build(c.vars);
    for (let i = 0; i < 4; ++i) {
      const g = grads();
      o1.apply(g, a.vars);
      o2.apply([g[1], g[0]], [b.bias, b.kernel]);
      o3.apply(grads());
    }
    expect(snapshot(o2, b.vars)).toEqual(snapshot(o1, a.vars));
    expect(snapshot(o3, c.vars)).toEqual(snapshot(o1, a.vars));
    // A call with only some of the variables: the others keep their weights, EMA still averages them.
    o1.apply([grads()[1]], [a.bias]);
    o2.apply([null, grads()[1]], b.vars);
    expect(snapshot(o1, a.vars)).toEqual(snapshot(o2, b.vars));
  });

  it('a null gradient skips its variable but EMA still averages it', () => {
    const { kernel, bias, vars } = model();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const opt = new SGD({ useEma: true });
    const biasBefore = [...bias.value];
    opt.apply([grads()[0], null], vars);
    opt.apply([grads()[0], null], vars);
    expect([...bias.value]).toEqual(biasBefore);
    expect([...opt.variables.find((v) => v.path === 'sgd/dense_bias_average')!.value]).toEqual(biasBefore);
    expect(kernel.value[0]).not.toBe(1);
    expect(warn).toHaveBeenCalledTimes(1); // once per optimizer
    expect(String(warn.mock.calls[0][0])).toContain("Gradients do not exist for variables ['dense/bias']");
  });

  it('converts a gradient of the other dtype to the variable dtype', () => {
    const a = model();
    const b = model();
    new SGD({ momentum: 0.9 }).apply(grads(), a.vars);
    new SGD({ momentum: 0.9 }).apply(
      grads().map((g) => Float64Array.from(g)),
      b.vars,
    );
    expect([...b.kernel.value]).toEqual([...a.kernel.value]);
  });

  it('gradient accumulation updates every N calls; iterations counts real updates', () => {
    const { kernel, vars } = model();
    const opt = new SGD({ gradientAccumulationSteps: 3, momentum: 0.9 });
    const k0 = [...kernel.value];
    opt.apply(grads(), vars);
    opt.apply(grads(), vars);
    expect([...kernel.value]).toEqual(k0);
    expect(opt.iterations).toBe(0);
    opt.apply(grads(), vars);
    expect(kernel.value[0]).not.toBe(k0[0]);
    expect(opt.iterations).toBe(1);
    expect(opt.variables[0].value[0]).toBe(3);
    expect([...opt.variables.find((v) => v.path === 'sgd/dense_kernel_gradient_accumulator')!.value]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('apply([]) is a no-op, even before build', () => {
    const opt = new SGD();
    opt.apply([]);
    expect(opt.built).toBe(false);
    expect(opt.iterations).toBe(0);
  });
});

describe('state and config', () => {
  it('names state with Keras paths, in Keras order', () => {
    const { vars } = model();
    const opt = new SGD({ momentum: 0.9, useEma: true, gradientAccumulationSteps: 2, name: 'opt' });
    expect(opt.variables.map((v) => v.path)).toEqual(['opt/iteration', 'opt/learning_rate']);
    opt.build(vars);
    expect(opt.variables.map((v) => v.path)).toEqual([
      'opt/iteration',
      'opt/learning_rate',
      'opt/dense_kernel_average',
      'opt/dense_bias_average',
      'opt/dense_kernel_gradient_accumulator',
      'opt/dense_bias_gradient_accumulator',
      'opt/dense_kernel_momentum',
      'opt/dense_bias_momentum',
    ]);
    expect(opt.variables[6].shape).toEqual([2, 3]);
    const paths = opt.variables.map((v) => v.path);
    opt.build([new Variable(f32(1), { name: 'other' })]); // Keras: build() on a built optimizer does nothing
    expect(opt.variables.map((v) => v.path)).toEqual(paths);
  });

  it('getConfig has Keras keys, order and defaults', () => {
    expect(new SGD().getConfig()).toEqual({
      name: 'sgd',
      learning_rate: 0.009999999776482582,
      weight_decay: null,
      clipnorm: null,
      global_clipnorm: null,
      clipvalue: null,
      use_ema: false,
      ema_momentum: 0.99,
      ema_overwrite_frequency: null,
      loss_scale_factor: null,
      gradient_accumulation_steps: null,
      momentum: 0,
      nesterov: false,
    });
    expect(Object.keys(new SGD().getConfig())).toEqual([
      'name',
      'learning_rate',
      'weight_decay',
      'clipnorm',
      'global_clipnorm',
      'clipvalue',
      'use_ema',
      'ema_momentum',
      'ema_overwrite_frequency',
      'loss_scale_factor',
      'gradient_accumulation_steps',
      'momentum',
      'nesterov',
    ]);
  });

  it('fromConfig(getConfig()) round-trips, with every schedule and the serialized wrapper', () => {
    const lrs = [
      0.05,
      new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true }),
      new schedules.PiecewiseConstantDecay({ boundaries: [2, 5], values: [0.1, 0.01, 0.001] }),
      new schedules.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 7, cycle: true }),
      new schedules.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.5 }),
      new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 9, warmupTarget: 0.2, warmupSteps: 2 }),
      new schedules.CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 4, mMul: 0.5 }),
    ];
    for (const learningRate of lrs) {
      const opt = new SGD({ learningRate, momentum: 0.5, clipnorm: 2, useEma: true, emaOverwriteFrequency: 3, name: 'x' });
      const config = opt.getConfig();
      expect(SGD.fromConfig(JSON.parse(JSON.stringify(config))).getConfig()).toEqual(config);
      expect(SGD.fromConfig({ class_name: 'SGD', config }).getConfig()).toEqual(config);
    }
  });

  it('learningRate: settable as a number, an error with a schedule', () => {
    const opt = new SGD({ learningRate: 0.1 });
    opt.learningRate = 0.3;
    expect(opt.learningRate).toBe(Math.fround(0.3));
    expect(opt.getConfig().learning_rate).toBe(Math.fround(0.3));
    expect(opt.variables[1].value[0]).toBe(Math.fround(0.3));
    const sched = new SGD({ learningRate: new schedules.InverseTimeDecay({ initialLearningRate: 1, decaySteps: 1, decayRate: 1 }) });
    expect(() => {
      sched.learningRate = 0.1;
    }).toThrow(/not settable/);
    expect(() => {
      opt.learningRate = NaN;
    }).toThrow(RangeError);
  });

  it('a function learning rate is called per decayed variable plus once', () => {
    const { vars } = model();
    let calls = 0;
    const myRate = () => (++calls, 0.01);
    const opt = new SGD({ learningRate: myRate, weightDecay: 0.1 });
    opt.apply(grads(), vars);
    expect(calls).toBe(3);
    expect(opt.getConfig().learning_rate).toEqual({
      module: 'builtins',
      class_name: 'function',
      config: 'myRate',
      registered_name: 'function',
    });
  });

  it('excludeFromWeightDecay by variable and by name pattern', () => {
    const run = (exclude?: (m: ReturnType<typeof model>, o: SGD) => void) => {
      const m = model();
      const opt = new SGD({ learningRate: 0.1, weightDecay: 0.5 });
      exclude?.(m, opt);
      opt.apply([new Float32Array(6), new Float32Array(3)], m.vars);
      return m;
    };
    const none = run();
    expect(none.bias.value[0]).not.toBe(0.5);
    expect(run((m, o) => o.excludeFromWeightDecay({ variables: [m.bias] })).bias.value[0]).toBe(0.5);
    const byName = run((_, o) => o.excludeFromWeightDecay({ varNames: ['^b'] }));
    expect(byName.bias.value[0]).toBe(0.5);
    expect(byName.kernel.value[0]).toBe(none.kernel.value[0]);
    expect(() => new SGD().excludeFromWeightDecay({ varNames: ['('] })).toThrow(RangeError);
  });

  it('finalizeVariableValues copies the averages; a count mismatch is the Keras error', () => {
    const { kernel, vars } = model();
    const opt = new SGD({ useEma: true, emaMomentum: 0.5 });
    opt.apply(grads(), vars);
    opt.apply(grads(), vars);
    const avg = [...opt.variables.find((v) => v.path === 'sgd/dense_kernel_average')!.value];
    expect(() => opt.finalizeVariableValues([kernel])).toThrow(/The length of model variables \(1\) to override/);
    opt.finalizeVariableValues();
    expect([...kernel.value]).toEqual(avg);
    const plain = new SGD();
    plain.finalizeVariableValues([kernel]); // no EMA: nothing happens
    expect([...kernel.value]).toEqual(avg);
  });

  it('scaleLoss multiplies by the loss scale factor', () => {
    expect(new SGD({ lossScaleFactor: 128 }).scaleLoss(0.5)).toBe(64);
    expect(new SGD().scaleLoss(0.5)).toBe(0.5);
  });
});

describe('a rejected call changes nothing', () => {
  const bad: [string, (opt: SGD, m: ReturnType<typeof model>) => void, RegExp | ErrorConstructor][] = [
    [
      'a gradient of the wrong length',
      (o, m) => o.apply([f32(1), f32(1, 2, 3)], m.vars),
      /operands could not be broadcast together with shapes \(2, 3\) \(1,\)/,
    ],
    ['a plain array as gradient', (o, m) => o.apply([[1, 2, 3, 4, 5, 6] as unknown as Float32Array, f32(1, 2, 3)], m.vars), TypeError],
    ['an Int8Array gradient', (o, m) => o.apply([new Int8Array(6) as unknown as Float32Array, f32(1, 2, 3)], m.vars), TypeError],
    ['all gradients null', (o, m) => o.apply([null, null], m.vars), /No gradients provided for any variable/],
    ['more gradients than variables', (o, m) => o.apply([...grads(), f32(1)], m.vars), RangeError],
    ['an unknown variable', (o) => o.apply([f32(1)], [new Variable(f32(1))]), /Unknown variable: <Variable path=variable/],
    ['a variable twice', (o, m) => o.apply([grads()[1], grads()[1]], [m.bias, m.bias]), /appears more than once/],
    ['a gradient that is the variable', (o, m) => o.apply([m.kernel.value, null], m.vars), /shares memory/],
    ['a non-array', (o) => o.apply('grads' as unknown as Float32Array[]), TypeError],
  ];
  it.each(bad)('%s', (_name, call, error) => {
    const m = model();
    const opt = new SGD({ momentum: 0.9, useEma: true, gradientAccumulationSteps: 2, weightDecay: 0.1 });
    opt.apply(grads(), m.vars);
    const before = snapshot(opt, m.vars);
    expect(() => call(opt, m)).toThrow(error as RegExp);
    expect(snapshot(opt, m.vars)).toEqual(before);
  });

  it('does not even build the optimizer', () => {
    const m = model();
    const opt = new SGD({ momentum: 0.9 });
    expect(() => opt.apply([f32(1), f32(1, 2, 3)], m.vars)).toThrow(RangeError);
    expect(opt.built).toBe(false);
    expect(opt.variables).toHaveLength(2);
  });

  it('a learning-rate function that throws leaves everything as it was', () => {
    const m = model();
    let fail = false;
    const opt = new SGD({
      learningRate: () => {
        if (fail) throw new Error('boom');
        return 0.1;
      },
      momentum: 0.9,
    });
    opt.apply(grads(), m.vars);
    const before = snapshot(opt, m.vars);
    fail = true;
    expect(() => opt.apply(grads(), m.vars)).toThrow('boom');
    expect(snapshot(opt, m.vars)).toEqual(before);
  });
});

describe('backend layer', () => {
  const native = backend.name === 'native';

  it.runIf(native)('reports the instruction sets and can switch between them', () => {
    const { active, available } = isa();
    expect(available[0]).toBe('scalar');
    expect(available).toContain(active);
    setIsa('scalar');
    expect(isa().active).toBe('scalar');
    setIsa(active);
    expect(() => setIsa('sse9')).toThrow(/not available/);
  });

  it.runIf(canSpawn && native)('SGD_NATIVE_ISA picks the instruction set at load, and a bad value says what exists', () => {
    const script = "console.log(require('./dist/index.js').isa().active)";
    const env = { ...process.env, SGD_NATIVE_ISA: 'scalar' };
    expect(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, env }).toString().trim()).toBe('scalar');
    const bad = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, env: { ...env, SGD_NATIVE_ISA: 'sse9' } });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.toString()).toMatch(/SGD_NATIVE_ISA=sse9 is not available on this machine \(available: scalar/);
  });

  it('re-checks memory safety itself', () => {
    const { impl: native, layout } = backend;
    const scalars = () => new Float64Array(layout.length(1));
    expect(() => native.step([f32(1)], [f32(1, 2)], null, null, null, scalars())).toThrow(RangeError);
    expect(() => native.step([f32(1)], [new Float64Array(1)], null, null, null, scalars())).toThrow(TypeError);
    expect(() => native.step([f32(1)], [f32(1)], null, null, null, new Float64Array(layout.length(1) - 1))).toThrow(RangeError);
    expect(() => native.step([{} as Float32Array], [null], null, null, null, scalars())).toThrow(TypeError);
    expect(() => native.step([f32(1)], [f32(1)], [f32(1, 2)], null, null, scalars())).toThrow(RangeError);
    const ema = scalars();
    ema[layout.ema] = 1; // EMA without averages
    expect(() => native.step([f32(1)], [f32(1)], null, null, null, ema)).toThrow(TypeError);
  });

  it('exports the layout of `scalars`, which lib/ checks at load', () => {
    const { names, perTensor } = backend.impl.scalarLayout;
    expect(names).toContain('emaE');
    expect(perTensor).toEqual(['decayOn', 'decayLr']);
    expect(backend.layout.count).toBe(names.length);
    expect(backend.layout.decayLr(3, 1)).toBe(names.length + 3 + 1);
    expect(() => scalarLayout({ names: names.slice(1), perTensor }, 'test')).toThrow(/does not match this version of lib/);
    expect(() => scalarLayout({ names, perTensor: ['decayLr', 'decayOn'] }, 'test')).toThrow(/rebuild/);
  });
});

describe('small steps', () => {
  const { data } = require('./fixtures/data.cjs') as { data(n: number, seed: number, scale?: number): Float32Array };
  const CONFIGS = STEP_CONFIGS;
  const MODELS = [[1], [7], [31, 2], [64, 16, 48, 3], [96], [97], [400, 3]];
  /** Counts the js backend's steps (a plain wrapper: the win32 suite runner has no spies). */
  const countCalls = () => {
    const js = smallSteps;
    const step = js.step;
    const counter = { calls: 0, restore: () => void (js.step = step) };
    js.step = (...args) => {
      ++counter.calls;
      return step(...args);
    };
    return counter;
  };
  /** Every state after 5 steps of every config on every model, as bits. */
  const run = () =>
    CONFIGS.flatMap((config) =>
      MODELS.map((shapes) => {
        const vars = shapes.map((n, i) => new Variable(data(n, i + 1), { name: `v${i}` }));
        // One config mixes in a float64 variable (such steps stay with the addon).
        const mixed = vars.map((v, i) => (i === 1 && config === CONFIGS[0] ? new Variable(new Float64Array(v.value), { name: 'f64' }) : v));
        const opt = new SGD(config);
        for (let k = 0; k < 5; ++k)
          opt.apply(
            shapes.map((n, i) => (k === 2 && i === 0 && shapes.length > 1 ? null : data(n, 10 * k + i, 3))),
            mixed,
          );
        return [...mixed, ...opt.variables].map((v) => Buffer.from(v.value.buffer).toString('base64')).join();
      }),
    );

  it.runIf(backend.name === 'native' && smallSteps.backend !== null)(
    'run in JavaScript below the line, with the bits of the addon on both sides of it',
    () => {
      const js = countCalls();
      const line = smallSteps.perTensor;
      try {
        const mixed = run();
        expect(js.calls).toBeGreaterThan(0); // the small models took the js path
        const calls = js.calls;
        smallSteps.perTensor = 0; // every step through the addon
        expect(run()).toEqual(mixed);
        expect(js.calls).toBe(calls);
      } finally {
        smallSteps.perTensor = line;
        js.restore();
      }
    },
  );

  it.runIf(backend.name === 'native' && smallSteps.backend !== null)('go to the addon when it must judge memory itself', async () => {
    const js = countCalls();
    const sab = new SharedArrayBuffer(16);
    const w = new Variable(new Float32Array(sab), { name: 'w' });
    expect(() => new SGD().apply([new Float32Array(structuredClone(sab))], [w])).toThrow(/shares memory/); // the addon's check
    const v = new Variable(f32(1, 2), { name: 'v' });
    const opt = new SGD();
    opt.apply([f32(1, 1)], [v]); // the first step builds, through the addon
    opt.apply([f32(1, 1)], [v]);
    expect(js.calls).toBe(1);
    const big = new Variable(new Float32Array(1 << 16), { name: 'big' });
    const other = new SGD();
    const pending = other.applyAsync([new Float32Array(1 << 16)], [big]);
    await Promise.resolve(); // in flight now
    opt.apply([f32(1, 1)], [v]); // the addon (its registry) decides while an async step runs
    expect(js.calls).toBe(1);
    await pending;
    js.restore();
  });
});

describe('package entry points', () => {
  it.runIf(canSpawn)('require() and import give the same classes', () => {
    const script = `
      const cjs = require('sgd-native');
      import('sgd-native').then((esm) => {
        const same = esm.SGD === cjs.SGD && esm.Variable === cjs.Variable && esm.schedules.CosineDecay === cjs.schedules.CosineDecay;
        const v = new esm.Variable(new Float32Array([1]));
        new cjs.SGD({ learningRate: 0.5 }).apply([new Float32Array([1])], [v]);
        console.log(same, v.value[0]);
      });`;
    expect(execFileSync(process.execPath, ['-e', script], { cwd: ROOT }).toString().trim()).toBe('true 0.5');
  });
});
