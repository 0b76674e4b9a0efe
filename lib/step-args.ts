// The argument checks of a backend step that runs in JavaScript's own memory (the js and
// wasm backends): the same checks, error types and messages as native/binding.cc's
// parse(), so every backend refuses the same calls. Allocates nothing unless it throws.
import { PER_TENSOR, SCALAR_NAMES, type Backend, type FloatArray } from './native.js';

type List = readonly (FloatArray | null | undefined)[];

const COUNT = SCALAR_NAMES.length;
const MODE = SCALAR_NAMES.indexOf('mode');
const CLIP = SCALAR_NAMES.indexOf('clip');
const ACCUM_STEPS = SCALAR_NAMES.indexOf('accumSteps');
const EMA = SCALAR_NAMES.indexOf('ema');

/** 'Float32Array', 'Float64Array', another typed array's name, or undefined (works across realms). */
function typedName(v: unknown): string | undefined {
  return ArrayBuffer.isView(v) ? (v as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : undefined;
}

/** True for a Float64Array: the one place a backend asks a tensor's dtype. */
export function isF64(a: FloatArray): a is Float64Array {
  return typedName(a) === 'Float64Array';
}

function list(v: unknown, name: string, nullable: boolean): boolean {
  if (Array.isArray(v)) return true;
  if (nullable && (v === null || v === undefined)) return false;
  throw new TypeError(`step(): \`${name}\` must be an array`);
}

function wrongLength(name: string, i: number, length: number, varLength: number): RangeError {
  return new RangeError(`step(): ${name}[${i}] has ${length} elements, its variable ${varLength}`);
}

function matching(l: List, i: number, name: string, varType: string, varLength: number, nullable: boolean): void {
  const v = l[i];
  if (typedName(v) === varType) {
    if (v!.length === varLength) return;
    throw wrongLength(name, i, v!.length, varLength);
  }
  if (nullable && (v === null || v === undefined)) return;
  throw new TypeError(`step(): ${name}[${i}] must be a typed array of its variable's type`);
}

/**
 * Checks step(variables, grads, momentums|null, averages|null, accumulators|null, scalars)
 * as the native binding does; `scalars` uses lib/native.ts's layout (SCALAR_NAMES order).
 */
export const checkStepArgs: Backend['step'] = (variables, grads, momentums, averages, accumulators, scalars) => {
  list(variables, 'variables', false);
  list(grads, 'grads', false);
  const hasM = list(momentums, 'momentums', true);
  const hasA = list(averages, 'averages', true);
  const hasC = list(accumulators, 'accumulators', true);
  const n = variables.length;
  if (grads.length !== n) throw new RangeError('step(): `grads` and `variables` differ in length');
  if ((hasM && momentums!.length !== n) || (hasA && averages!.length !== n) || (hasC && accumulators!.length !== n))
    throw new RangeError('step(): a state list differs in length from `variables`');
  if (typedName(scalars) !== 'Float64Array') throw new TypeError('step(): `scalars` has the wrong type');
  if (scalars.length < COUNT + PER_TENSOR.length * n) throw new RangeError('step(): `scalars` is too short');
  const clip = Math.trunc(scalars[CLIP]);
  const mode = scalars[MODE];
  if (!(clip >= 0 && clip <= 3) || !(mode === 0 || mode === 1)) throw new RangeError('step(): bad `scalars`');
  if ((mode === 1 || scalars[ACCUM_STEPS] !== 0) && !hasC) throw new TypeError('step(): gradient accumulation needs `accumulators`');
  if (scalars[EMA] !== 0 && !hasA) throw new TypeError('step(): EMA needs `averages`');
  for (let i = 0; i < n; ++i) {
    const v = variables[i];
    const type = typedName(v);
    if (type !== 'Float32Array' && type !== 'Float64Array')
      throw new TypeError(`step(): variables[${i}] must be a Float32Array or Float64Array`);
    matching(grads, i, 'grads', type, v.length, true);
    if (hasM) matching(momentums!, i, 'momentums', type, v.length, false);
    if (hasA) matching(averages!, i, 'averages', type, v.length, false);
    if (hasC) matching(accumulators!, i, 'accumulators', type, v.length, false);
  }
};

/**
 * The lengths alone, for lists whose types and shape are right by construction (lib/sgd.ts's
 * own): what a detached or resized buffer changes since they were built.
 */
export const checkLengths: Backend['step'] = (variables, grads, momentums, averages, accumulators) => {
  const n = variables.length;
  for (let i = 0; i < n; ++i) {
    const length = variables[i].length;
    const g = grads[i];
    if (g && g.length !== length) throw wrongLength('grads', i, g.length, length);
    if (momentums && momentums[i].length !== length) throw wrongLength('momentums', i, momentums[i].length, length);
    if (averages && averages[i].length !== length) throw wrongLength('averages', i, averages[i].length, length);
    if (accumulators && accumulators[i].length !== length) throw wrongLength('accumulators', i, accumulators[i].length, length);
  }
};

/**
 * A backend that steps on the calling thread, from its step and its one instruction set:
 * `stepAsync` runs the step at once (bad arguments throw before a promise exists, as
 * natively) and returns a settled promise; the thread count is kept and checked as
 * natively, though the step always runs in one thread.
 */
export function onCallingThread(step: Backend['step'], isaName: string): Omit<Backend, 'scalarLayout'> {
  let threads = 1;
  return {
    step,
    stepAsync(...args) {
      step(...args);
      return Promise.resolve();
    },
    isa: () => ({ active: isaName, available: [isaName] }),
    setIsa(name: string) {
      if (typeof name !== 'string') throw new TypeError('setIsa(): `name` must be a string');
      if (name !== isaName) throw new RangeError(`setIsa(): '${name}' is not available on this machine`);
    },
    numThreads: () => threads,
    setNumThreads(n: number) {
      if (typeof n !== 'number') throw new TypeError('setNumThreads(): `n` must be a number');
      if (!(n >= 1 && n <= 256) || !Number.isInteger(n)) throw new RangeError('setNumThreads(): `n` must be an integer from 1 to 256');
      threads = n;
    },
  };
}
