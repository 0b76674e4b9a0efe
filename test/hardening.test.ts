// Malformed input never crashes and never half-applies a step: every rejected call
// leaves variables, state and counters exactly as they were.
import { describe, expect, it } from 'vitest';
import { SGD, Variable, schedules } from '../lib/index.js';
const { rng } = require('./fixtures/data.cjs') as { rng(seed: number): () => number };

const f32 = (...v: number[]) => Float32Array.from(v);
const detach = (a: ArrayBufferView) => structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });

function setup(options = { momentum: 0.9, useEma: true, gradientAccumulationSteps: 2, weightDecay: 0.01, globalClipnorm: 1 }) {
  const a = new Variable(f32(1, 2, 3, 4), { name: 'a', path: 'l/a' });
  const b = new Variable(new Float64Array([5, 6]), { name: 'b', path: 'l/b' });
  return { opt: new SGD(options), vars: [a, b] as Variable[], a, b };
}
const good = () => [f32(0.1, 0.2, 0.3, 0.4), new Float64Array([1, -1])];
const state = (opt: SGD, vars: Variable[]) =>
  JSON.stringify([opt.variables.map((v) => [v.path, ...v.value]), vars.map((v) => [...v.value]), opt.iterations, opt.built]);

describe('inputs of every kind', () => {
  it('SharedArrayBuffer-backed arrays are valid and give the same results', () => {
    const plain = setup();
    const shared = setup();
    const sharedA = new Float32Array(new SharedArrayBuffer(16));
    sharedA.set(shared.a.value);
    const a = new Variable(sharedA, { name: 'a', path: 'l/a' });
    const g = () => {
      const x = new Float32Array(new SharedArrayBuffer(16));
      x.set([0.1, 0.2, 0.3, 0.4]);
      return x;
    };
    for (let i = 0; i < 4; ++i) {
      plain.opt.apply(good(), plain.vars);
      shared.opt.apply([g(), good()[1]], [a, shared.b]);
    }
    expect([...a.value]).toEqual([...plain.a.value]);
  });

  it('views into one flat parameter buffer work; overlapping ones are refused', () => {
    const flat = new Float32Array(8);
    const w = new Variable(flat.subarray(0, 6), { name: 'w' });
    const b = new Variable(flat.subarray(6), { name: 'b' });
    new SGD({ learningRate: 1 }).apply([f32(1, 1, 1, 1, 1, 1), f32(2, 2)], [w, b]);
    expect([...flat]).toEqual([-1, -1, -1, -1, -1, -1, -2, -2]);
    const overlapping = new Variable(flat.subarray(5, 7), { name: 'o' });
    expect(() => new SGD().apply([f32(1, 1, 1, 1, 1, 1), f32(1, 1)], [w, overlapping])).toThrow(/shares memory with 'w'/);
  });

  it.each([
    ['a plain array', [1, 2, 3, 4]],
    ['a DataView', new DataView(new ArrayBuffer(16))],
    ['an Int32Array', new Int32Array(4)],
    ['a BigInt64Array', new BigInt64Array(4)],
    ['a Uint8Array', new Uint8Array(4)],
    ['a string', 'grads'],
    ['a number', 4],
    ['a BigInt', 4n],
    ['an object', { length: 4 }],
  ])('a gradient that is %s is a TypeError naming it', (_name, bad) => {
    const { opt, vars } = setup();
    opt.apply(good(), vars);
    const before = state(opt, vars);
    expect(() => opt.apply([bad as unknown as Float32Array, null], vars)).toThrow(/grads\[0\] \(for 'l\/a'\)/);
    expect(state(opt, vars)).toBe(before);
  });

  it('detached buffers are refused, as variable or gradient', () => {
    const { opt, vars, a } = setup();
    opt.apply(good(), vars);
    const g = f32(1, 1, 1, 1);
    detach(g);
    const before = state(opt, vars);
    expect(() => opt.apply([g, null], vars)).toThrow(RangeError);
    expect(state(opt, vars)).toBe(before);
    detach(a.value);
    expect(() => opt.apply(good(), vars)).toThrow(/detached/);
  });

  it('a gradient that is a state array, or another variable, is refused', () => {
    const { opt, vars, a } = setup({ momentum: 0.9 } as never);
    opt.apply(good(), vars);
    const momentum = opt.variables.find((v) => v.path === 'sgd/l_a_momentum')!;
    expect(() => opt.apply([momentum.value as Float32Array, null], vars)).toThrow(/shares memory with 'sgd\/l_a_momentum'/);
    expect(() => opt.apply([null, f32(1, 2)], [a, new Variable(f32(0, 0))])).toThrow(/Unknown variable/);
    const view = new Float32Array(a.value.buffer, 0, 4);
    expect(() => opt.apply([view, null], vars)).toThrow(/shares memory with 'l\/a'/);
  });

  it('a getter that throws propagates, and nothing changes', () => {
    const { opt, vars } = setup();
    opt.apply(good(), vars);
    const before = state(opt, vars);
    const grads = good();
    Object.defineProperty(grads, 1, {
      get: () => {
        throw new Error('getter');
      },
    });
    expect(() => opt.apply(grads, vars)).toThrow('getter');
    const options = {};
    Object.defineProperty(options, 'momentum', {
      enumerable: true,
      get: () => {
        throw new Error('option getter');
      },
    });
    expect(() => new SGD(options)).toThrow('option getter');
    expect(state(opt, vars)).toBe(before);
  });

  it.each([
    ['learningRate', NaN],
    ['learningRate', Infinity],
    ['learningRate', 1e39],
    ['learningRate', 1n],
    ['learningRate', '0.1'],
    ['momentum', -0.5],
    ['momentum', '0.9'],
    ['weightDecay', 1e40],
    ['weightDecay', -Infinity],
    ['clipnorm', NaN],
    ['clipvalue', 'x'],
    ['globalClipnorm', true],
    ['lossScaleFactor', 1e39],
    ['emaMomentum', null],
    ['emaOverwriteFrequency', 1.5],
    ['gradientAccumulationSteps', 1e3 + 0.5],
    ['nesterov', 1],
    ['useEma', 'yes'],
    ['name', {}],
  ])('%s = %s is refused with a message naming it', (option, value) => {
    const keras = option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const options = { [option]: value, ...(option.startsWith('ema') ? { useEma: true } : {}) };
    expect(() => new SGD(options as never)).toThrow(new RegExp(`\`${keras}\``));
  });

  it('schedules refuse malformed arguments too', () => {
    expect(() => new schedules.ExponentialDecay({ initialLearningRate: NaN, decaySteps: 1, decayRate: 0.5 })).toThrow(
      /initial_learning_rate/,
    );
    expect(() => new schedules.PiecewiseConstantDecay({ boundaries: [1], values: [0.1, 'x' as never] })).toThrow(/values\[1\]/);
    expect(() => new schedules.CosineDecay(null as never)).toThrow(TypeError);
  });
});

describe('atomicity, as a property', () => {
  // Random malformed calls mixed with valid steps: after every throw the state must be as
  // before it, and at the end equal to a run of the valid steps alone.
  const malformed: ((ctx: ReturnType<typeof setup>, r: () => number) => void)[] = [
    ({ opt, vars }) => opt.apply([f32(1, 2, 3), null], vars),
    ({ opt, vars }) => opt.apply([null, null], vars),
    ({ opt, vars }) => opt.apply([new Float64Array(4), new Int16Array(2) as never], vars),
    ({ opt, vars }) => opt.apply([...good(), f32(1)], [...vars, new Variable(f32(1))]),
    ({ opt, vars }) => opt.apply(good(), [vars[0], vars[0]]),
    ({ opt, vars }) => opt.apply(good().reverse(), vars),
    ({ opt }) => opt.apply(good(), [new Variable(f32(1, 2, 3, 4)), new Variable(new Float64Array(2))]),
    ({ opt, vars }) => opt.applyGradients([[good()[0], vars[0]], [good()[1]] as never]),
    ({ opt, vars }) => opt.apply([opt.variables[2].value as never, null], vars),
    ({ opt }) => opt.apply([good()[0]]),
    ({ opt }) => opt.finalizeVariableValues([]),
    ({ opt }) => opt.loadStateDict({ ...opt.stateDict(), iterations: -1 }),
    ({ opt }) => opt.loadOwnVariables(Object.fromEntries(opt.variables.map((v, i) => [String(i), i === 1 ? [1, 2] : [...v.value]]))),
    ({ opt }) => opt.excludeFromWeightDecay({ varNames: ['['] }),
    ({ opt }) => {
      opt.learningRate = NaN;
    },
    ({ opt, vars }, r) => {
      const g = good();
      g[0][Math.floor(r() * 4)] = NaN;
      opt.apply([g[0], f32(1, 2, 3)], vars); // the second gradient has the wrong length
    },
  ];

  it.each([1, 2, 3, 4, 5])('seed %i: 300 calls', (seed) => {
    const r = rng(seed);
    const subject = setup();
    const reference = setup();
    let throws = 0;
    for (let call = 0; call < 300; ++call) {
      if (r() < 0.4) {
        const grads = good().map((g) => g.map((x) => x * (1 + r())));
        subject.opt.apply(grads as never, subject.vars);
        reference.opt.apply(grads.map((g) => g.slice()) as never, reference.vars);
        continue;
      }
      const before = state(subject.opt, subject.vars);
      const which = Math.floor(r() * malformed.length);
      expect(() => malformed[which](subject, r), `malformed call #${which}`).toThrow();
      expect(state(subject.opt, subject.vars), `after malformed call #${which}`).toBe(before);
      ++throws;
    }
    expect(throws).toBeGreaterThan(100);
    expect(state(subject.opt, subject.vars)).toBe(state(reference.opt, reference.vars));
  });
});

describe('memory checks', () => {
  it('a detached gradient or variable is called detached', () => {
    const w = new Variable(f32(1, 2, 3), { name: 'w' });
    const g = f32(1, 1, 1);
    detach(g);
    expect(() => new SGD().apply([g], [w])).toThrow(/grads\[0\] \(for 'w'\): its buffer was detached/);
    const opt = new SGD();
    opt.apply([f32(1, 1, 1)], [w]);
    detach(w.value);
    expect(() => opt.apply([f32(1, 1, 1)], [w])).toThrow(
      /variables\[0\] \('w'\): its value has 0 elements, its shape 3 \(its buffer was detached\)/,
    );
  });

  it('finds sharing among many arrays on one buffer, as on a wasm heap', () => {
    // 500 variables of 4 floats, 6 floats apart, placed in shuffled order on one buffer.
    const heap = new ArrayBuffer(4 * 3000);
    const rand = rng(7);
    const slots = [...Array(500).keys()].sort(() => rand() - 0.5);
    const vars = slots.map((k) => new Variable(new Float32Array(heap, 24 * k, 4), { name: `v${k}` }));
    const opt = new SGD({ learningRate: 0.5 });
    opt.apply(
      vars.map(() => f32(1, 1, 1, 1)),
      vars,
    );
    expect(vars[0].value[0]).toBe(-0.5);
    // Gradients in the gaps between variables are fine; one reaching into a variable is not.
    const gaps = slots.map((k) => new Float32Array(heap, 24 * k + 16, 2));
    expect(() => new SGD().build(gaps.map((g) => new Variable(g)))).not.toThrow();
    const grads = vars.map(() => new Float32Array(4));
    grads[321] = new Float32Array(heap, 24 * slots[17] + 8, 4);
    expect(() => opt.apply(grads, vars)).toThrow(new RegExp(`grads\\[321\\] shares memory with 'v${slots[17]}', which the step writes`));
    const overlapping = [...vars];
    overlapping[400] = new Variable(new Float32Array(heap, 24 * slots[3] + 4, 4), { name: 'late' });
    expect(() => new SGD().build(overlapping)).toThrow(/variables\[400\] \('late'\) shares memory with 'v/);
  });
});
