// Checkpoints: stateDict/loadStateDict by Keras path, Keras's save/load_own_variables,
// and a restart in a fresh process that continues with identical bits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SGD, Variable } from '../lib/index.js';
const resume = require('./fixtures/resume.cjs') as {
  first(n: number): Saved;
  rest(saved: Saved, n: number, m: number): Saved;
  uninterrupted(total: number): Saved;
};
interface Saved {
  vars: string[];
  state: { iterations: number; variables: Record<string, { values: string }> };
}

const f32 = (...v: number[]) => Float32Array.from(v);
afterEach(() => vi.restoreAllMocks());

function trained() {
  const w = new Variable(f32(1, 2, 3), { name: 'w', path: 'dense/w' });
  const b = new Variable(f32(0.5), { name: 'b', path: 'dense/b' });
  const opt = new SGD({ momentum: 0.9, useEma: true, gradientAccumulationSteps: 2 });
  for (let i = 0; i < 3; ++i) opt.apply([f32(0.1, 0.2, 0.3), f32(1)], [w, b]);
  return { opt, vars: [w, b] };
}
const snapshot = (opt: SGD) => opt.variables.map((v) => [v.path, [...v.value]]);

describe('stateDict', () => {
  it('holds the config, the raw counter and a copy of every state array by Keras path', () => {
    const { opt } = trained();
    const state = opt.stateDict();
    expect(state.format).toBe('sgd-native/state@1');
    expect(state.config).toEqual(opt.getConfig());
    expect(state.iterations).toBe(3);
    expect(Object.keys(state.variables)).toEqual(opt.variables.map((v) => v.path));
    expect(state.variables['sgd/dense_w_momentum']).toMatchObject({ dtype: 'float32', shape: [3] });
    (state.variables['sgd/dense_w_momentum'].values as Float32Array)[0] = 99;
    expect(opt.variables.find((v) => v.path === 'sgd/dense_w_momentum')!.value[0]).not.toBe(99);
    expect(structuredClone(state)).toEqual(state);
  });

  it('loadStateDict restores by path, whatever the order of the entries', () => {
    const { opt } = trained();
    const state = opt.stateDict();
    const reversed = { ...state, variables: Object.fromEntries(Object.entries(state.variables).reverse()) };
    const fresh = SGD.fromConfig(state.config);
    fresh.build(trained().vars);
    fresh.loadStateDict(reversed);
    expect(snapshot(fresh)).toEqual(snapshot(opt));
    expect(fresh.iterations).toBe(opt.iterations);
  });

  it.each([
    [
      'a wrong length',
      (s: any) => (s.variables['sgd/dense_w_momentum'].values = f32(1, 2)),
      /has 2 values, but 'sgd\/dense_w_momentum' has 3/,
    ],
    ['a missing array', (s: any) => delete s.variables['sgd/dense_b_average'], /no array for 'sgd\/dense_b_average'/],
    ['an extra array', (s: any) => (s.variables['sgd/other_momentum'] = { values: f32(1) }), /does not: sgd\/other_momentum/],
    ['another dtype', (s: any) => (s.variables['sgd/dense_w_momentum'].dtype = 'float64'), /is "float64", but/],
    ['another format', (s: any) => (s.format = 'v0'), RangeError],
    ['a fractional counter', (s: any) => (s.variables['sgd/iteration'].values = Float64Array.of(1.5)), /iteration count/],
    ['strings for numbers', (s: any) => (s.variables['sgd/dense_w_momentum'].values = ['1', '2', '3']), TypeError],
  ])('rejects %s, changing nothing', (_name, spoil, error) => {
    const { opt } = trained();
    const state = opt.stateDict();
    spoil(state);
    const target = trained().opt;
    for (const v of target.variables) v.value.fill(7);
    const before = snapshot(target);
    expect(() => target.loadStateDict(state)).toThrow(error as RegExp);
    expect(snapshot(target)).toEqual(before);
  });

  it('says to build first when the optimizer has no slots yet', () => {
    const { opt } = trained();
    expect(() => new SGD({ momentum: 0.9, useEma: true, gradientAccumulationSteps: 2 }).loadStateDict(opt.stateDict())).toThrow(
      /not built yet/,
    );
  });
});

describe("Keras's save_own_variables / load_own_variables", () => {
  it('stores keys "0", "1", ... in Keras order and loads them back', () => {
    const { opt } = trained();
    const store: Record<string, unknown> = {};
    opt.saveOwnVariables(store);
    expect(Object.keys(store)).toEqual(opt.variables.map((_, i) => String(i)));
    expect([...(store['0'] as Float64Array)]).toEqual([3]); // sgd/iteration
    const target = trained().opt;
    for (const v of target.variables) v.value.fill(0);
    target.loadOwnVariables(Object.fromEntries(Object.entries(store).map(([k, v]) => [k, [...(v as Float32Array)]])));
    expect(snapshot(target)).toEqual(snapshot(opt));
  });

  it('skips a store of another size with a warning, as Keras does; a wrong length is an error', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { opt } = trained();
    const before = snapshot(opt);
    opt.loadOwnVariables({ 0: [1] });
    expect(String(warn.mock.calls[0][0])).toMatch(
      /Skipping variable loading for optimizer 'sgd', because it has 8 variables whereas the saved optimizer has 1 variables/,
    );
    const store: Record<string, unknown> = {};
    opt.saveOwnVariables(store);
    store['3'] = f32(1, 2);
    expect(() => opt.loadOwnVariables(store)).toThrow(RangeError);
    expect(snapshot(opt)).toEqual(before);
  });
});

describe('restart', () => {
  const N = 7; // stops in the middle of an accumulation window of 3
  const M = 5;
  const canSpawn = !process.env.SGD_TEST_NO_SPAWN;

  it(`N=${N} steps, restore ${canSpawn ? 'in a fresh process' : 'in fresh objects'}, M=${M} more: the same bits as N+M uninterrupted`, () => {
    let resumed: Saved;
    if (canSpawn) {
      const dir = mkdtempSync(path.join(tmpdir(), 'sgd-resume-'));
      try {
        const script = path.join(__dirname, 'fixtures', 'resume.cjs');
        const a = path.join(dir, 'a.json');
        const b = path.join(dir, 'b.json');
        execFileSync(process.execPath, [script, 'first', String(N), a]);
        execFileSync(process.execPath, [script, 'rest', String(M), a, b]);
        resumed = JSON.parse(readFileSync(b, 'utf8'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      resumed = resume.rest(JSON.parse(JSON.stringify(resume.first(N))), N, M);
    }
    const straight = resume.uninterrupted(N + M);
    expect(resumed.state.iterations).toBe(N + M);
    expect(resumed.vars).toEqual(straight.vars);
    expect(resumed.state.variables).toEqual(straight.state.variables);
    expect(Object.keys(straight.state.variables)).toContain('sgd/layer0_p_gradient_accumulator');
  });
});

describe('rebind', () => {
  const moved = (vars: Variable[], buffer?: ArrayBuffer) =>
    vars.map((v, i) => {
      const value = buffer ? new Float32Array(buffer, 64 * i, v.size) : new Float32Array(v.size);
      value.set(v.value);
      return new Variable(value, { name: v.name, path: v.path, shape: v.shape });
    });

  it('steps new storage with the state it had: the same bits as never moving', () => {
    const a = trained();
    const b = trained();
    const next = [f32(0.3, -0.2, 0.1), f32(-1)];
    const rebound = moved(b.vars, new ArrayBuffer(4096));
    b.opt.rebind(rebound);
    a.opt.apply(next, a.vars);
    b.opt.apply(next, rebound);
    expect(rebound.map((v) => [...v.value])).toEqual(a.vars.map((v) => [...v.value]));
    expect(snapshot(b.opt)).toEqual(snapshot(a.opt));
    expect(b.vars[0].value[0]).not.toBe(rebound[0].value[0]); // the old storage is no longer stepped
    expect(() => b.opt.apply(next, b.vars)).toThrow(/Unknown variable/);
    b.opt.apply(next); // without variables: the rebound ones
  });

  it('keeps weight-decay exclusions on the rebound variables', () => {
    const make = () => {
      const w = new Variable(f32(1, 2), { name: 'w', path: 'd/w' });
      const b = new Variable(f32(3), { name: 'b', path: 'd/b' });
      const opt = new SGD({ weightDecay: 0.5, learningRate: 0.1 });
      opt.excludeFromWeightDecay({ variables: [b] });
      opt.build([w, b]);
      return { opt, vars: [w, b] };
    };
    const a = make();
    const b = make();
    const rebound = moved(b.vars);
    b.opt.rebind(rebound);
    a.opt.apply([f32(0, 0), f32(0)], a.vars);
    b.opt.apply([f32(0, 0), f32(0)], rebound);
    expect(rebound.map((v) => [...v.value])).toEqual(a.vars.map((v) => [...v.value]));
    expect(rebound[1].value[0]).toBe(3); // excluded: no decay
  });

  it('refuses what does not fit, changing nothing', () => {
    const { opt, vars } = trained();
    const before = snapshot(opt);
    expect(() => new SGD().rebind(vars)).toThrow(/not built/);
    expect(() => opt.rebind(vars.slice(0, 1))).toThrow(/got 1 variables, but this optimizer is built on 2/);
    const renamed = moved(vars);
    const wrong = [new Variable(renamed[0].value, { name: 'x', path: 'other/x' }), renamed[1]];
    expect(() => opt.rebind(wrong)).toThrow(/'other\/x' float32 \[3\], but the optimizer's variable there is 'dense\/w'/);
    expect(() => opt.rebind([new Variable(new Float64Array(3), { path: 'dense/w' }), renamed[1]])).toThrow(/float64/);
    const momentum = opt.variables.find((v) => v.path.endsWith('dense_w_momentum'))!;
    expect(() => opt.rebind([new Variable(momentum.value, { name: 'w', path: 'dense/w' }), renamed[1]])).toThrow(
      /shares memory with optimizer state/,
    );
    const shared = new Float32Array(4);
    const overlapping = [
      new Variable(shared.subarray(0, 3), { name: 'w', path: 'dense/w' }),
      new Variable(shared.subarray(2, 3), { name: 'b', path: 'dense/b' }),
    ];
    expect(() => opt.rebind(overlapping)).toThrow(/variables\[1\] \('dense\/b'\) shares memory with 'dense\/w'/);
    expect(snapshot(opt)).toEqual(before);
    opt.apply([f32(1, 1, 1), f32(1)]); // still stepping the original variables
    expect(vars[0].value).not.toEqual(f32(1, 2, 3));
  });
});
