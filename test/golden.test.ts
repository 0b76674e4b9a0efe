// Replays every public Keras golden case (shared/conformance/sgd_golden.json) step
// by step on every instruction set this machine has, and compares bit for bit
// (SPEC.md section 14 says where a small difference is allowed).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SGD, Variable, setIsa } from '../lib/index.js';
import { ISAS, compare, decode, loadJson, num } from './helpers.js';

interface GoldenStep {
  variables?: unknown[][];
  slots?: Record<string, unknown[][] | undefined>;
  iterations: number;
  raw_iterations: number;
  learning_rate: unknown;
  lr_callable_calls?: number;
  lr_callable_returned?: unknown[];
}
interface GoldenCase {
  id: string;
  config: Record<string, any>;
  dtype: 'float32' | 'float64';
  variables: { name: string; shape: number[]; values: unknown[] }[];
  steps: (unknown[] | null)[][];
  finalize?: boolean;
  exclude_from_weight_decay?: { var_names?: string[] };
  trainable?: boolean[];
  record?: string;
  exactness: string[];
  expected: Expected;
  expected_tensorflow?: Expected;
}
interface Expected {
  steps: GoldenStep[];
  finalized_variables?: unknown[][];
  get_config: Record<string, unknown>;
  optimizer_variable_paths: string[];
}

const golden = loadJson<{ cases: GoldenCase[] }>('sgd_golden.json');
const SLOTS = ['momentum', 'average', 'gradient_accumulator'] as const; // golden slot names = Keras suffixes

/** Learning-rate callables are encoded in the goldens; this makes the JS function and counts its calls. */
function makeCallable(spec: { callable: string; value?: number; values?: number[] }) {
  const returned: number[] = [];
  const fn = () => {
    const v = spec.callable === 'constant' ? spec.value! : spec.values![Math.min(returned.length, spec.values!.length - 1)];
    returned.push(v);
    return v;
  };
  return { fn, returned };
}

// Per ISA: the final state of every case, to prove all ISAs agree bit for bit.
const finalStates = new Map<string, Map<string, number[][]>>();
const tally = { exact: 0, tolerated: [] as string[] };

function replay(c: GoldenCase, isaName: string) {
  const f64 = c.dtype === 'float64';
  const exp = f64 ? c.expected_tensorflow! : c.expected; // float64: Keras on TensorFlow (SPEC 9)
  const transcendental = c.exactness.includes('lr_transcendental');
  const tol = transcendental ? 4e-6 : f64 && c.exactness.includes('norm_sum') ? 1e-12 : 0;
  const config = decode(c.config);
  let callable: ReturnType<typeof makeCallable> | null = null;
  if (config.learning_rate?.callable) {
    callable = makeCallable(config.learning_rate);
    config.learning_rate = callable.fn;
  }
  const opt = SGD.fromConfig(config);
  const vars = c.variables.map(
    (v, i) =>
      new Variable((f64 ? Float64Array : Float32Array).from(v.values.map(num)), {
        name: v.name,
        shape: v.shape,
        trainable: c.trainable?.[i] ?? true,
      }),
  );
  if (c.exclude_from_weight_decay) opt.excludeFromWeightDecay({ varNames: c.exclude_from_weight_decay.var_names });
  let exact = true;
  c.steps.forEach((stepGrads, k) => {
    const e = exp.steps[k];
    const label = `${c.id} [${isaName}] step ${k}`;
    if (!callable) {
      const lr = opt.learningRate;
      if (transcendental) expect(Math.abs(lr - num(e.learning_rate))).toBeLessThanOrEqual(4e-6 * Math.abs(num(e.learning_rate)));
      else expect(lr, `${label}: learning rate`).toBe(num(e.learning_rate));
    }
    const before = callable?.returned.length ?? 0;
    const grads = stepGrads.map((g) => (g === null ? null : (f64 ? Float64Array : Float32Array).from(g.map(num))));
    opt.apply(grads, vars);
    if (callable) {
      expect(callable.returned.length - before, `${label}: learning-rate calls`).toBe(e.lr_callable_calls);
      expect(callable.returned.slice(before), `${label}: learning-rate values`).toEqual(e.lr_callable_returned!.map(num));
    }
    expect(opt.iterations, `${label}: iterations`).toBe(e.iterations);
    expect(opt.variables[0].value[0], `${label}: raw iterations`).toBe(e.raw_iterations);
    if (!e.variables) return; // record: "final" keeps only the last step
    vars.forEach((v, i) => (exact = compare(v.value, e.variables![i], tol, `${label}: ${v.name}`) && exact));
    for (const slot of SLOTS) {
      const expectedSlot = e.slots?.[slot];
      const mine = opt.variables.filter((s) => s.name.endsWith(`_${slot}`));
      if (!expectedSlot) {
        expect(mine, `${label}: no ${slot} slots`).toHaveLength(0);
        continue;
      }
      expect(mine).toHaveLength(vars.length);
      mine.forEach((s, i) => (exact = compare(s.value, expectedSlot[i], tol, `${label}: ${s.path}`) && exact));
    }
  });
  if (c.finalize) {
    opt.finalizeVariableValues(vars);
    vars.forEach((v, i) => (exact = compare(v.value, exp.finalized_variables![i], tol, `${c.id} finalized ${v.name}`) && exact));
  }
  expect(opt.variables.map((v) => v.path)).toEqual(exp.optimizer_variable_paths);
  if (!('error' in exp.get_config)) expect(opt.getConfig()).toEqual(decode(exp.get_config));
  else expect(typeof config.learning_rate).toBe('function'); // Keras could not serialize its callable object
  if (isaName === ISAS[0]) {
    if (exact) ++tally.exact;
    else tally.tolerated.push(c.id);
  }
  if (!finalStates.has(isaName)) finalStates.set(isaName, new Map());
  finalStates.get(isaName)!.set(c.id, [...vars.map((v) => [...v.value]), ...opt.variables.map((v) => [...v.value])]);
}

describe.each(ISAS)('Keras golden cases on %s', (isaName) => {
  it.each(golden.cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    setIsa(isaName);
    replay(c, isaName);
  });
});

describe('instruction sets', () => {
  it('all give identical bits on every golden case', () => {
    const [first, ...rest] = ISAS;
    for (const other of rest) {
      for (const c of golden.cases) {
        const a = finalStates.get(first)?.get(c.id);
        const b = finalStates.get(other)?.get(c.id);
        expect(a, c.id).toBeDefined();
        expect(b, `${c.id} on ${other}`).toEqual(a);
      }
    }
  });
});

/** A hash of every final state's bits, to compare runs on other machines (SGD_GOLDEN_DIGEST=file writes it). */
function digest(states: Map<string, number[][]>): string {
  const h = createHash('sha256');
  for (const c of golden.cases) for (const a of states.get(c.id) ?? []) h.update(new Uint8Array(Float64Array.from(a).buffer));
  return h.digest('hex');
}

afterAll(() => {
  const out = process.env.SGD_GOLDEN_DIGEST;
  if (out && finalStates.size === ISAS.length) writeFileSync(out, `${digest(finalStates.get(ISAS[0])!)}\n`);
  console.log(
    `golden: ${golden.cases.length} cases x ${ISAS.length} ISAs (${ISAS.join(', ')}); ` +
      `${tally.exact} bit-exact, ${tally.tolerated.length} within SPEC 14 tolerance (${tally.tolerated.join(', ')})`,
  );
});
