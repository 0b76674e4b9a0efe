// Checks of the lists one call passes (variables, gradients), before anything is written.
import { invalid } from './checks.js';
import { describe } from './python.js';
import { bufferOf, byteLengthOf, byteOffsetOf, DisjointArrays, firstOverlap, isShared } from './memory.js';
import type { FloatArray } from './native.js';
import { Variable } from './variable.js';

export type Gradient = FloatArray | null | undefined;

/** A copy of an array argument (each element read once), or the argument itself, for the checks to refuse. */
export function snapshot<T>(list: T): T {
  return (Array.isArray(list) ? Array.from(list) : list) as T;
}

/** `list` copied into `into` (reused: no allocation per step), each element read once. */
export function readOnce<T>(list: readonly T[], into: T[]): T[] {
  const n = list.length;
  if (into.length !== n) into.length = n; // (setting it is a runtime call: only when it changes)
  for (let i = 0; i < n; ++i) into[i] = list[i];
  return into;
}

/** A typed array whose buffer was detached (transferred) reads as empty. */
export function detached(a: ArrayBufferView): boolean {
  return byteLengthOf(a) === 0 && bufferOf(a).byteLength === 0 && byteOffsetOf(a) === 0;
}

function shapeText(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

/** An array of distinct Variables, none sharing memory with another, each the size of its shape. */
export function checkVariableList(variables: unknown, arg: string): asserts variables is Variable[] {
  if (!Array.isArray(variables)) throw invalid(TypeError, null, arg, 'an array of Variable', variables, { named: false });
  const seen = new Set<Variable>();
  variables.forEach((v, i) => {
    if (!(v instanceof Variable)) throw new TypeError(`${arg}[${i}] must be a Variable. Received: ${describe(v)}`);
    if (seen.has(v)) throw new RangeError(`${arg}[${i}] ('${v.path}') appears more than once`);
    seen.add(v);
    if (v.value.length !== v.size) {
      const why = detached(v.value) ? 'its buffer was detached' : 'was its buffer resized?';
      throw new RangeError(`${arg}[${i}] ('${v.path}'): its value has ${v.value.length} elements, its shape ${v.size} (${why})`);
    }
  });
  const overlap = firstOverlap((variables as Variable[]).map((v) => v.value));
  if (overlap) {
    const [j, i] = overlap;
    throw new RangeError(`${arg}[${i}] ('${variables[i].path}') shares memory with '${variables[j].path}'`);
  }
}

/** Whether `variables` is the list the optimizer is built on, in its order, none resized: the common case. */
function isBuiltList(variables: unknown, built: readonly Variable[] | null): boolean {
  let same = built !== null && Array.isArray(variables) && variables.length === built.length;
  for (let i = 0; same && i < built!.length; ++i)
    same = (variables as unknown[])[i] === built![i] && built![i].value.length === built![i].size;
  return same;
}

/** checkVariableList, skipped without allocating for the list the optimizer is built on. */
export function checkVariables(variables: unknown, arg: string, built: readonly Variable[] | null): asserts variables is Variable[] {
  if (!isBuiltList(variables, built)) checkVariableList(variables, arg);
}

/** The variables a call steps: `variables`, or without them every built variable (Keras's rules and texts). */
export function callVariables(
  grads: readonly Gradient[],
  variables: Variable[] | undefined,
  built: readonly Variable[] | null,
  index: ReadonlyMap<Variable, number>,
): readonly Variable[] {
  if (variables === undefined) {
    if (built === null) {
      // Keras's text, trailing space included.
      throw new Error(
        'When passing `grads` without `variables`, the optimizer must already be built on a list of ' +
          'variables. Call `optimizer.build(trainable_variables)` first. ',
      );
    }
    if (grads.length !== built.length) {
      // Keras's text, its typo ("one-to-on") included.
      throw new RangeError(
        'When passing `grads` as a list of gradient tensors, the gradients must match `optimizer.variables` ' +
          `one-to-on. Received a list of ${grads.length} gradients, but the optimizer is tracking ` +
          `${built.length} trainable variables.`,
      );
    }
    if (!isBuiltList(built, built)) checkVariableList(built, 'variables'); // says which one was resized or detached
    return built;
  }
  if (isBuiltList(variables, built)) {
    if (variables.length !== grads.length) throw new RangeError(`apply: got ${grads.length} gradients for ${variables.length} variables`);
    return built!; // the plan then knows the order without looking anything up
  }
  checkVariableList(variables, 'variables');
  if (variables.length !== grads.length) {
    throw new RangeError(`apply: got ${grads.length} gradients for ${variables.length} variables`);
  }
  if (built !== null) {
    for (const v of variables) {
      if (!index.has(v)) {
        throw new Error(
          `Unknown variable: ${v}. This optimizer can only be called for the variables it was originally ` +
            'built with. When working with a new set of variables, you should recreate a new optimizer instance.',
        );
      }
    }
  }
  return variables;
}

/** rebind(): `variables` replace `built` one for one (same paths, dtypes, shapes), sharing no memory with the optimizer's `state`. */
export function checkReplacements(
  built: readonly Variable[],
  variables: unknown,
  state: readonly Variable[],
): asserts variables is Variable[] {
  checkVariableList(variables, 'variables');
  if (variables.length !== built.length) {
    throw new RangeError(`rebind: got ${variables.length} variables, but this optimizer is built on ${built.length}`);
  }
  variables.forEach((v, i) => {
    const old = built[i];
    if (v.path !== old.path || v.dtype !== old.dtype || v.shape.join() !== old.shape.join()) {
      throw new RangeError(
        `rebind: variables[${i}] is '${v.path}' ${v.dtype} [${v.shape.join(', ')}], ` +
          `but the optimizer's variable there is '${old.path}' ${old.dtype} [${old.shape.join(', ')}]`,
      );
    }
  });
  // Variables do not overlap each other (checked above), nor do state arrays: a pair is a variable and a state array.
  const overlap = firstOverlap([...variables, ...state].map((v) => v.value));
  if (overlap)
    throw new RangeError(`rebind: variables[${overlap[0]}] ('${variables[overlap[0]].path}') shares memory with optimizer state`);
}

/**
 * A step that runs off this thread reads raw memory while JavaScript goes on: a buffer
 * that can shrink under it cannot be made safe (Node-API cannot pin it), so resizable
 * ArrayBuffers are refused there. (SharedArrayBuffers only grow: they are fine.)
 */
export function checkFixedMemory(grads: readonly Gradient[], vars: readonly Variable[]): void {
  const resizable = (a: ArrayBufferView) => {
    const buffer = bufferOf(a);
    return (buffer as ArrayBuffer & { resizable?: boolean }).resizable === true && !isShared(buffer);
  };
  vars.forEach((v, i) => {
    if (resizable(v.value))
      throw new TypeError(
        `applyAsync: variables[${i}] ('${v.path}') is on a resizable ArrayBuffer, which a step off the main thread cannot use safely: use apply(), or a fixed-length buffer`,
      );
  });
  grads.forEach((g, i) => {
    if (g && resizable(g))
      throw new TypeError(
        `applyAsync: grads[${i}] is on a resizable ArrayBuffer, which a step off the main thread cannot use safely: use apply(), or a fixed-length buffer`,
      );
  });
}

/** What the step writes: every variable and state array, asked which one a gradient overlaps. */
export class WrittenMemory {
  readonly #owners: readonly Variable[];
  readonly #arrays: DisjointArrays;

  constructor(owners: readonly Variable[]) {
    this.#owners = owners;
    this.#arrays = new DisjointArrays(owners.map((v) => v.value));
  }

  /** The variable or state array whose memory `a` (on `buffer`) shares, if any. */
  owner(a: FloatArray, buffer: ArrayBufferLike): Variable | undefined {
    const i = this.#arrays.overlapping(a, buffer);
    return i < 0 ? undefined : this.#owners[i];
  }
}

/**
 * Checks every gradient of a call against its variable; returns converted copies for
 * gradients of another dtype (null when there are none) and how many are missing.
 */
export interface CheckedGradients {
  /** Copies of the gradients of another dtype, by position (null when there are none). */
  converted: (FloatArray | null)[] | null;
  /** How many gradients are null or undefined. */
  missing: number;
  /** Whether a gradient is on a SharedArrayBuffer. */
  shared: boolean;
}

/** Checks every gradient of a call against its variable, into `out` (reused: no allocation per step). */
export function checkGradients(grads: readonly Gradient[], vars: readonly Variable[], written: WrittenMemory, out: CheckedGradients): void {
  let converted: (FloatArray | null)[] | null = null;
  let present = 0;
  let shared = false;
  for (let i = 0; i < grads.length; ++i) {
    const g = grads[i];
    if (g === null || g === undefined) continue;
    const v = vars[i];
    if (!(g instanceof Float32Array || g instanceof Float64Array)) {
      throw new TypeError(`grads[${i}] (for '${v.path}') must be a Float32Array, Float64Array or null. Received: ${describe(g)}`);
    }
    if (g.length !== v.value.length) {
      if (detached(g)) throw new RangeError(`grads[${i}] (for '${v.path}'): its buffer was detached`);
      throw new RangeError(
        `grads[${i}] has ${g.length} elements but variable '${v.path}' has ${v.value.length}: ` +
          // numpy's text, as Keras raises it, trailing space included.
          `operands could not be broadcast together with shapes ${shapeText(v.shape)} (${g.length},) `,
      );
    }
    const buffer = bufferOf(g);
    const owner = written.owner(g, buffer);
    if (owner) throw new RangeError(`grads[${i}] shares memory with '${owner.path}', which the step writes`);
    shared ||= isShared(buffer);
    ++present;
    if (g.constructor !== v.value.constructor) {
      // Keras casts a gradient to its variable's dtype; this is the one copy a step may make.
      converted ??= new Array(grads.length).fill(null);
      converted[i] = v.dtype === 'float32' ? new Float32Array(g) : new Float64Array(g);
    }
  }
  if (present === 0) throw new Error('No gradients provided for any variable.');
  out.converted = converted;
  out.missing = grads.length - present;
  out.shared = shared;
}

/** applyGradients' [gradient, variable] pairs as the two lists apply() takes. */
export function splitPairs(pairs: unknown): [Gradient[], Variable[]] {
  if (!Array.isArray(pairs)) throw invalid(TypeError, 'applyGradients', 'pairs', 'an array', pairs, { named: false });
  const grads: Gradient[] = [];
  const variables: Variable[] = [];
  pairs.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError(`applyGradients: pairs[${i}] must be a [gradient, variable] pair. Received: ${describe(pair)}`);
    }
    grads.push(pair[0]);
    variables.push(pair[1]);
  });
  return [grads, variables];
}

/** finalizeVariableValues(): one variable per moving average, each of its size (Keras's text for the count). */
export function checkFinalize(list: readonly Variable[], averages: readonly Variable[]): void {
  if (list.length !== averages.length) {
    throw new RangeError(
      `The length of model variables (${list.length}) to override does not match the length of model ` +
        `variables stored in the optimizer (${averages.length}). Please check if the optimizer was ` +
        'called on your model.',
    );
  }
  list.forEach((v, i) => {
    if (v.value.length !== averages[i].value.length) {
      throw new RangeError(
        `finalizeVariableValues: variables[${i}] ('${v.path}') has ${v.value.length} elements, its average ${averages[i].value.length}`,
      );
    }
  });
}

/** Keras's warning for the variables a call has no gradient for. */
export function missingGradients(grads: readonly Gradient[], vars: readonly Variable[]): string {
  const missing = vars.filter((_, i) => grads[i] == null).map((v) => `'${v.path}'`);
  return (
    `Gradients do not exist for variables [${missing.join(', ')}] when minimizing the loss. ` +
    'If using `model.compile()`, did you forget to provide a `loss` argument?'
  );
}
