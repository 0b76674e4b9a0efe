// Replays a public Keras golden case (test/conformance/sgd_golden.json) on a build of the
// package, in any runtime: Node from 18.17 (vitest's golden.test.ts, the win32 suite runner,
// test/runtimes/check.mjs), Bun, Deno, and a browser page (test/browser.test.ts serves it
// wrapped as an ES module). Plain CommonJS with no imports, so each of them can load it.
// A mismatch throws an Error naming the case, step and value.
'use strict';

/** Golden numbers: plain JSON numbers, or "NaN" / "Infinity" / "-Infinity" / {"$float": ...}. */
function num(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v && typeof v === 'object' && '$float' in v) return Number(v.$float);
  throw new Error(`not a golden number: ${JSON.stringify(v)}`);
}

/** Recursively decodes the non-finite encodings inside a config. */
function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object') {
    if ('$float' in v) return num(v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

function check(ok, message) {
  if (!ok) throw new Error(message);
}

const show = (v) => (Object.is(v, -0) ? '-0' : String(v));

/** Deep equality as vitest's toEqual: Object.is on values, key order and undefined properties ignored. */
function same(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = (o) => Object.keys(o).filter((k) => o[k] !== undefined);
  const ka = keys(a);
  const kb = keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]));
}

/**
 * `tol` 0: identical bits (NaN matches NaN, zeros keep their sign). Otherwise
 * |a - e| <= tol * (largest finite |e| in the tensor), NaN where NaN is expected.
 * Returns whether the values were bit-identical.
 */
function compare(actual, expected, tol, label) {
  const e = expected.map(num);
  check(actual.length === e.length, `${label}: length ${actual.length}, Keras ${e.length}`);
  const i = e.findIndex((x, j) => !Object.is(actual[j], x));
  if (i < 0) return true;
  check(tol !== 0, `${label}[${i}]: got ${show(actual[i])}, Keras ${show(e[i])} (bit-exact required)`);
  const scale = Math.max(...e.filter(Number.isFinite).map(Math.abs), 0);
  for (let j = 0; j < e.length; ++j) {
    const bad = Number.isNaN(e[j])
      ? !Number.isNaN(actual[j])
      : !Number.isFinite(e[j])
        ? actual[j] !== e[j]
        : Math.abs(actual[j] - e[j]) > tol * scale;
    check(!bad, `${label}[${j}]: got ${show(actual[j])}, Keras ${show(e[j])}, beyond ${tol} x ${scale}`);
  }
  return false;
}

/** Learning-rate callables are encoded in the goldens; this makes the JS function and counts its calls. */
function makeCallable(spec) {
  const returned = [];
  const fn = () => {
    const v = spec.callable === 'constant' ? spec.value : spec.values[Math.min(returned.length, spec.values.length - 1)];
    returned.push(v);
    return v;
  };
  return { fn, returned };
}

const SLOTS = ['momentum', 'average', 'gradient_accumulator']; // golden slot names = Keras suffixes

/**
 * Replays case `c` step by step with the package's `SGD` and `Variable`, checking every step
 * against Keras. Returns the final state (variables, then optimizer variables) and whether
 * every value was bit-identical (else within SPEC 14's tolerance).
 */
function replay({ SGD, Variable }, c, target = '') {
  const f64 = c.dtype === 'float64';
  const Float = f64 ? Float64Array : Float32Array;
  const exp = f64 ? c.expected_tensorflow : c.expected; // float64: Keras on TensorFlow (SPEC 9)
  const transcendental = c.exactness.includes('lr_transcendental');
  const tol = transcendental ? 4e-6 : f64 && c.exactness.includes('norm_sum') ? 1e-12 : 0;
  const config = decode(c.config);
  let callable = null;
  if (config.learning_rate?.callable) {
    callable = makeCallable(config.learning_rate);
    config.learning_rate = callable.fn;
  }
  const opt = SGD.fromConfig(config);
  const vars = c.variables.map(
    (v, i) => new Variable(Float.from(v.values.map(num)), { name: v.name, shape: v.shape, trainable: c.trainable?.[i] ?? true }),
  );
  if (c.exclude_from_weight_decay) opt.excludeFromWeightDecay({ varNames: c.exclude_from_weight_decay.var_names });
  let exact = true;
  c.steps.forEach((stepGrads, k) => {
    const e = exp.steps[k];
    const label = `${c.id}${target ? ` [${target}]` : ''} step ${k}`;
    if (!callable) {
      const lr = opt.learningRate;
      const want = num(e.learning_rate);
      if (transcendental) check(Math.abs(lr - want) <= 4e-6 * Math.abs(want), `${label}: learning rate ${lr}, Keras ${want}`);
      else check(Object.is(lr, want), `${label}: learning rate ${lr}, Keras ${want}`);
    }
    const before = callable?.returned.length ?? 0;
    opt.apply(
      stepGrads.map((g) => (g === null ? null : Float.from(g.map(num)))),
      vars,
    );
    if (callable) {
      check(callable.returned.length - before === e.lr_callable_calls, `${label}: learning-rate calls`);
      check(same(callable.returned.slice(before), e.lr_callable_returned.map(num)), `${label}: learning-rate values`);
    }
    check(opt.iterations === e.iterations, `${label}: iterations ${opt.iterations}, Keras ${e.iterations}`);
    check(opt.variables[0].value[0] === e.raw_iterations, `${label}: raw iterations`);
    if (!e.variables) return; // record: "final" keeps only the last step
    vars.forEach((v, i) => (exact = compare(v.value, e.variables[i], tol, `${label}: ${v.name}`) && exact));
    for (const slot of SLOTS) {
      const expectedSlot = e.slots?.[slot];
      const mine = opt.variables.filter((s) => s.name.endsWith(`_${slot}`));
      if (!expectedSlot) {
        check(mine.length === 0, `${label}: no ${slot} slots expected`);
        continue;
      }
      check(mine.length === vars.length, `${label}: ${mine.length} ${slot} slots`);
      mine.forEach((s, i) => (exact = compare(s.value, expectedSlot[i], tol, `${label}: ${s.path}`) && exact));
    }
  });
  if (c.finalize) {
    opt.finalizeVariableValues(vars);
    vars.forEach((v, i) => (exact = compare(v.value, exp.finalized_variables[i], tol, `${c.id} finalized ${v.name}`) && exact));
  }
  check(
    same(
      opt.variables.map((v) => v.path),
      exp.optimizer_variable_paths,
    ),
    `${c.id}: optimizer variable paths`,
  );
  if (!('error' in exp.get_config)) check(same(opt.getConfig(), decode(exp.get_config)), `${c.id}: getConfig()`);
  else check(typeof config.learning_rate === 'function', `${c.id}: Keras could not serialize its callable object`);
  return { state: [...vars.map((v) => [...v.value]), ...opt.variables.map((v) => [...v.value])], exact };
}

/** The bytes the golden digest hashes: every final state, case by case, as float64. */
function digestBytes(cases, states) {
  const parts = cases.flatMap((c) => (states.get(c.id) ?? []).map((a) => new Uint8Array(Float64Array.from(a).buffer)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The digest of the public goldens' final states, the same on every backend, ISA, CPU and runtime. */
const GOLDEN_DIGEST = 'f7e6d49a1bb70215f77ddc131bc216898ec807b56f63d637272b7e024490ba20';

module.exports = { num, decode, compare, replay, digestBytes, GOLDEN_DIGEST };
