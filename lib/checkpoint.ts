// The optimizer's state on disk and in memory: stateDict/loadStateDict (by Keras path)
// and Keras's save_own_variables/load_own_variables (by position). Every load checks
// everything first and changes nothing when the state does not fit.
import { warn } from './config.js';
import type { FloatArray } from './native.js';
import { invalid } from './checks.js';
import { describe } from './python.js';
import type { Variable } from './variable.js';

export const STATE_FORMAT = 'sgd-native/state@1';

/** What stateDict() returns and loadStateDict() takes: plain data, structured-clone friendly. */
export interface StateDict {
  format: typeof STATE_FORMAT;
  config: Record<string, unknown>;
  /** Keras's raw step counter (`_iterations`). */
  iterations: number;
  /** Every state array (iteration, learning_rate, slots) by its Keras path, in Keras's order. */
  variables: Record<string, { dtype: 'float32' | 'float64'; shape: number[]; values: FloatArray | number[] }>;
}

/** The optimizer as a checkpoint sees it. */
export interface Checkpointed {
  readonly name: string;
  readonly built: boolean;
  /** The state arrays in Keras's order; the first is the raw step counter. */
  readonly variables: Variable[];
  getConfig(): Record<string, unknown>;
}

/** `values` checked to fit `target` exactly (length, and dtype/shape when given). */
function fitting(entry: unknown, target: Variable, where: string): ArrayLike<number> {
  const wrapped = entry !== null && typeof entry === 'object' && !Array.isArray(entry) && !ArrayBuffer.isView(entry);
  const e = wrapped ? (entry as { dtype?: unknown; shape?: unknown; values?: unknown }) : null;
  const values = e ? e.values : entry;
  const numeric =
    ArrayBuffer.isView(values) && !(values instanceof DataView) && !(values instanceof BigInt64Array || values instanceof BigUint64Array);
  if (!numeric && !(Array.isArray(values) && values.every((x) => typeof x === 'number'))) {
    throw new TypeError(`${where} must be a typed array or an array of numbers (or {values}). Received: ${describe(values)}`);
  }
  const list = values as ArrayLike<number>;
  if (list.length !== target.size) {
    throw new RangeError(`${where} has ${list.length} values, but '${target.path}' has ${target.size}`);
  }
  if (e) {
    if (e.dtype !== undefined && e.dtype !== target.dtype) {
      throw new RangeError(`${where} is ${describe(e.dtype)}, but '${target.path}' is '${target.dtype}'`);
    }
    if (e.shape !== undefined && (!Array.isArray(e.shape) || e.shape.join() !== target.shape.join())) {
      throw new RangeError(`${where} has shape ${describe(e.shape)}, but '${target.path}' has [${target.shape.join(', ')}]`);
    }
  }
  return list;
}

function checkStore(where: string, store: unknown): asserts store is Record<string, unknown> {
  if (store === null || typeof store !== 'object') throw invalid(TypeError, where, 'store', 'an object', store, { named: false });
}

/** The whole state as plain data: the config, the raw step counter, a copy of every state array by its Keras path. */
export function stateDict(opt: Checkpointed): StateDict {
  const variables: StateDict['variables'] = {};
  for (const v of opt.variables) variables[v.path] = { dtype: v.dtype, shape: [...v.shape], values: v.value.slice() };
  return { format: STATE_FORMAT, config: opt.getConfig(), iterations: opt.variables[0].value[0], variables };
}

/** Restores a stateDict() into `opt`'s state arrays, matched by Keras path. */
export function loadStateDict(opt: Checkpointed, state: StateDict): void {
  if (state === null || typeof state !== 'object') throw invalid(TypeError, 'loadStateDict', 'state', 'an object', state, { named: false });
  if (state.format !== STATE_FORMAT) {
    throw invalid(RangeError, 'loadStateDict', 'state.format', `'${STATE_FORMAT}'`, state.format, { named: false });
  }
  const entries = state.variables;
  if (entries === null || typeof entries !== 'object') {
    throw invalid(TypeError, 'loadStateDict', 'state.variables', 'an object', entries, { named: false });
  }
  const own = opt.variables;
  const paths = new Set(own.map((v) => v.path));
  const extra = Object.keys(entries).filter((p) => !paths.has(p));
  if (extra.length > 0) {
    const hint = opt.built ? '' : ' (this optimizer is not built yet: call opt.build(variables) first)';
    throw new RangeError(`loadStateDict: the state has arrays this optimizer does not: ${extra.join(', ')}${hint}`);
  }
  const values = own.map((v) => {
    if (!(v.path in entries)) throw new RangeError(`loadStateDict: the state has no array for '${v.path}'`);
    return fitting(entries[v.path], v, `state.variables['${v.path}']`);
  });
  const raw = values[0][0];
  if (!Number.isSafeInteger(raw) || raw < 0 || (state.iterations !== undefined && state.iterations !== raw)) {
    throw new RangeError(`loadStateDict: the iteration count ${describe(raw)} is not a whole number agreeing with state.iterations`);
  }
  own.forEach((v, i) => v.value.set(values[i]));
}

/** Keras's save_own_variables(): state arrays under the keys "0", "1", ... in Keras's order. */
export function saveOwnVariables(opt: Checkpointed, store: Record<string, unknown>): void {
  checkStore('saveOwnVariables', store);
  opt.variables.forEach((v, i) => (store[String(i)] = v.value.slice()));
}

/** Keras's load_own_variables(): like Keras, a store with another number of arrays is skipped with a warning. */
export function loadOwnVariables(opt: Checkpointed, store: Record<string, unknown>): void {
  checkStore('loadOwnVariables', store);
  const own = opt.variables;
  const count = Object.keys(store).length;
  if (count !== own.length) {
    // Keras's warning text.
    warn(
      `Skipping variable loading for optimizer '${opt.name}', because it has ${own.length} variables ` +
        `whereas the saved optimizer has ${count} variables. ` +
        (opt.built ? '' : 'This is likely because the optimizer has not been called/built yet.'),
    );
    return;
  }
  const values = own.map((v, i) => fitting(store[String(i)], v, `store['${i}']`));
  const raw = values[0][0];
  if (!Number.isSafeInteger(raw) || raw < 0) throw new RangeError(`loadOwnVariables: store['0'] (the iteration count) is ${describe(raw)}`);
  own.forEach((v, i) => v.value.set(values[i]));
}
