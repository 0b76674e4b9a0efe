// The optimizer: what one step does (SPEC.md section 3), its state and counters.
// The arithmetic itself is one native call per step (native/).
import { checkOptions, toKerasConfig, unwrapConfig, warn, type LearningRate, type OptimizerConfig, type SGDOptions } from './config.js';
import { checkFinite, checkFloat32, describe } from './messages.js';
import { native, S, type FloatArray } from './native.js';
import { LearningRateSchedule } from './schedules.js';
import { Variable } from './variable.js';

export type Gradient = FloatArray | null | undefined;

/** What stateDict() returns and loadStateDict() takes: plain data, structured-clone friendly. */
export interface StateDict {
  format: typeof STATE_FORMAT;
  config: Record<string, unknown>;
  /** Keras's raw step counter (`_iterations`). */
  iterations: number;
  /** Every state array (iteration, learning_rate, slots) by its Keras path, in Keras's order. */
  variables: Record<string, { dtype: 'float32' | 'float64'; shape: number[]; values: FloatArray | number[] }>;
}
const STATE_FORMAT = 'sgd-native/state@1';

/** `values` checked to fit `target` exactly (length, and dtype/shape when given). */
function fitting(entry: unknown, target: Variable, where: string): ArrayLike<number> {
  const wrapped = entry !== null && typeof entry === 'object' && !Array.isArray(entry) && !ArrayBuffer.isView(entry);
  const e = wrapped ? (entry as { dtype?: unknown; shape?: unknown; values?: unknown }) : null;
  const values = e ? e.values : entry;
  const numeric = ArrayBuffer.isView(values) && !(values instanceof DataView) && !(values instanceof BigInt64Array || values instanceof BigUint64Array);
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

const CLIP_NONE = 0;
const CLIP_VALUE = 1;
const CLIP_NORM = 2;
const CLIP_GLOBAL_NORM = 3;

const f = Math.fround;

function shapeText(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

function sameMemory(a: FloatArray, b: FloatArray): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Keras 3 `keras.optimizers.SGD`, updating the caller's typed arrays in place. */
export class SGD {
  readonly #config: OptimizerConfig;
  #learningRate: LearningRate;
  readonly #iteration: Variable<Float64Array>; // Keras's raw counter `_iterations`
  readonly #lrVariable: Variable<Float32Array> | null;

  #built = false;
  #vars: Variable[] = [];
  readonly #index = new Map<Variable, number>();
  #momentums: Variable[] = [];
  #averages: Variable[] = [];
  #accumulators: Variable[] = [];

  // What the native step reads, made once at build time and reused by every step.
  #plan = {
    vars: [] as FloatArray[],
    momentums: null as FloatArray[] | null,
    averages: null as FloatArray[] | null,
    accumulators: null as FloatArray[] | null,
  };
  // Per-call scratch in the order of the call (no allocation per step).
  #scratch = {
    vars: [] as FloatArray[],
    grads: [] as (FloatArray | null)[],
    momentums: [] as FloatArray[],
    averages: [] as FloatArray[],
    accumulators: [] as FloatArray[],
    seen: new Uint8Array(0),
    params: new Float64Array(S.Count), // see S in native.ts: scalars, decay flags, decay rates
  };
  // What #prepare decided for the step about to run (a field, so a step allocates nothing).
  readonly #prepared = { raw: 0, vars: [] as readonly Variable[], converted: null as (FloatArray | null)[] | null };
  #inFlight = 0; // applyAsync steps not yet settled
  #queue: Promise<void> = Promise.resolve(); // they run one after another

  #written = new Map<ArrayBufferLike, FloatArray[]>(); // every array a step writes, by buffer
  #excluded = new Set<Variable>();
  #excludedPattern: RegExp | null = null;
  #decayCache = new Map<Variable, boolean>();
  readonly #warned = new Set<string>(); // each warning once per optimizer
  #missing = 0; // null gradients in the call being prepared

  constructor(options?: SGDOptions) {
    this.#config = checkOptions(options, 'options');
    const { name } = this.#config;
    this.#learningRate = this.#config.learningRate;
    this.#iteration = new Variable(new Float64Array(1), { name: 'iteration', path: `${name}/iteration` });
    this.#lrVariable =
      typeof this.#learningRate === 'number'
        ? new Variable(Float32Array.of(this.#learningRate), { name: 'learning_rate', path: `${name}/learning_rate` })
        : null;
  }

  /** An optimizer from Keras's `get_config()` output, or its serialized form `{class_name: 'SGD', config}`. */
  static fromConfig(config: object): SGD {
    return new SGD(checkOptions(unwrapConfig(config), 'config'));
  }

  /** Keras's `get_config()`: snake_case keys in Keras's order. */
  getConfig(): Record<string, unknown> {
    return toKerasConfig({ ...this.#config, learningRate: this.#learningRate }, this.#lrVariable?.value[0] ?? null);
  }

  get name(): string {
    return this.#config.name;
  }

  get built(): boolean {
    return this.#built;
  }

  /** Keras's `iterations`: steps taken, counted in real updates under gradient accumulation. */
  get iterations(): number {
    const raw = this.#iteration.value[0];
    const n = this.#config.gradientAccumulationSteps;
    return n ? Math.floor(raw / n) : raw;
  }

  /** The current learning rate (a schedule is evaluated; a function is called). */
  get learningRate(): number {
    return this.#readLearningRate();
  }

  set learningRate(value: LearningRate) {
    if (value instanceof LearningRateSchedule || typeof value === 'function') {
      this.#learningRate = value;
      return;
    }
    if (!(this.#learningRate instanceof LearningRateSchedule) && typeof this.#learningRate === 'function') {
      throw new TypeError(
        'This optimizer was created with a function as its `learning_rate`, hence its learning rate is not ' +
          `settable to a number. Received: learning_rate=${describe(value)}`,
      );
    }
    if (this.#learningRate instanceof LearningRateSchedule || this.#lrVariable === null) {
      throw new TypeError(
        'This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` constructor ' +
          'argument, hence its learning rate is not settable. If you need the learning rate to be settable, ' +
          'you should instantiate the optimizer with a float `learning_rate` argument.',
      );
    }
    checkFinite('learning_rate', value);
    checkFloat32('learning_rate', value);
    this.#learningRate = value;
    this.#lrVariable.value[0] = value;
  }

  /** The optimizer's state in Keras's order, with Keras's paths. */
  get variables(): Variable[] {
    const out: Variable[] = [this.#iteration];
    if (this.#lrVariable) out.push(this.#lrVariable);
    return out.concat(this.#averages, this.#accumulators, this.#momentums);
  }

  /** The whole state as plain data: the config, the raw step counter, a copy of every state array by its Keras path. */
  stateDict(): StateDict {
    this.#checkIdle('stateDict');
    const variables: StateDict['variables'] = {};
    for (const v of this.variables) variables[v.path] = { dtype: v.dtype, shape: [...v.shape], values: v.value.slice() };
    return { format: STATE_FORMAT, config: this.getConfig(), iterations: this.#iteration.value[0], variables };
  }

  /**
   * Restores a stateDict(), matching every state array by its Keras path (build the
   * optimizer on its variables first). A state that does not fit is an error, and
   * changes nothing. The config is not restored: construct the optimizer from it.
   */
  loadStateDict(state: StateDict): void {
    this.#checkIdle('loadStateDict');
    if (state === null || typeof state !== 'object') throw new TypeError(`loadStateDict: \`state\` must be an object. Received: ${describe(state)}`);
    if (state.format !== STATE_FORMAT) {
      throw new RangeError(`loadStateDict: \`state.format\` must be '${STATE_FORMAT}'. Received: ${describe(state.format)}`);
    }
    const entries = state.variables;
    if (entries === null || typeof entries !== 'object') {
      throw new TypeError(`loadStateDict: \`state.variables\` must be an object. Received: ${describe(entries)}`);
    }
    const own = this.variables;
    const paths = new Set(own.map((v) => v.path));
    const extra = Object.keys(entries).filter((p) => !paths.has(p));
    if (extra.length > 0) {
      const hint = this.#built ? '' : ' (this optimizer is not built yet: call opt.build(variables) first)';
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
  saveOwnVariables(store: Record<string, unknown>): void {
    if (store === null || typeof store !== 'object') throw new TypeError(`saveOwnVariables: \`store\` must be an object. Received: ${describe(store)}`);
    this.#checkIdle('saveOwnVariables');
    this.variables.forEach((v, i) => (store[String(i)] = v.value.slice()));
  }

  /** Keras's load_own_variables(): like Keras, a store with another number of arrays is skipped with a warning. */
  loadOwnVariables(store: Record<string, unknown>): void {
    if (store === null || typeof store !== 'object') throw new TypeError(`loadOwnVariables: \`store\` must be an object. Received: ${describe(store)}`);
    this.#checkIdle('loadOwnVariables');
    const own = this.variables;
    const count = Object.keys(store).length;
    if (count !== own.length) {
      warn(
        `Skipping variable loading for optimizer '${this.#config.name}', because it has ${own.length} variables ` +
          `whereas the saved optimizer has ${count} variables. ` +
          (this.#built ? '' : 'This is likely because the optimizer has not been called/built yet.'),
      );
      return;
    }
    const values = own.map((v, i) => fitting(store[String(i)], v, `store['${i}']`));
    const raw = values[0][0];
    if (!Number.isSafeInteger(raw) || raw < 0) throw new RangeError(`loadOwnVariables: store['0'] (the iteration count) is ${describe(raw)}`);
    own.forEach((v, i) => v.value.set(values[i]));
  }

  /** Creates the state for `variables` (apply() calls it on first use). */
  build(variables: Variable[]): void {
    this.#checkIdle('build');
    this.#checkVariableList(variables, 'variables');
    if (this.#built) {
      throw new Error(
        `SGD.build: this optimizer is already built on ${this.#vars.length} variables. ` +
          'When working with a new set of variables, create a new optimizer.',
      );
    }
    this.#build(variables);
  }

  /** Marks variables (or names matching any of the regular expressions) as free of weight decay. */
  excludeFromWeightDecay(options: { variables?: Variable[]; varNames?: string[] }): void {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`excludeFromWeightDecay: \`options\` must be an object. Received: ${describe(options)}`);
    }
    const { variables, varNames } = options;
    if (variables !== undefined) this.#checkVariableList(variables, 'variables');
    let pattern: RegExp | null = null;
    if (varNames !== undefined && varNames !== null) {
      if (!Array.isArray(varNames) || !varNames.every((n) => typeof n === 'string')) {
        throw new TypeError(`excludeFromWeightDecay: \`varNames\` must be an array of strings. Received: ${describe(varNames)}`);
      }
      if (varNames.length > 0) {
        try {
          pattern = new RegExp([...new Set(varNames)].join('|'));
        } catch (e) {
          throw new RangeError(`excludeFromWeightDecay: \`varNames\` is not a valid regular expression: ${(e as Error).message}`);
        }
      }
    }
    this.#excluded = new Set(variables ?? []);
    this.#excludedPattern = pattern;
    this.#decayCache = new Map();
  }

  /** Copies the moving averages into the variables (position by position), when `useEma` is on. */
  finalizeVariableValues(variables?: Variable[]): void {
    this.#checkIdle('finalizeVariableValues');
    if (!this.#config.useEma) return;
    const list = variables ?? this.#vars;
    this.#checkVariableList(list, 'variables');
    if (list.length !== this.#averages.length) {
      throw new RangeError(
        `The length of model variables (${list.length}) to override does not match the length of model ` +
          `variables stored in the optimizer (${this.#averages.length}). Please check if the optimizer was ` +
          'called on your model.',
      );
    }
    list.forEach((v, i) => {
      if (v.value.length !== this.#averages[i].value.length) {
        throw new RangeError(`finalizeVariableValues: variables[${i}] ('${v.path}') has ${v.value.length} elements, its average ${this.#averages[i].value.length}`);
      }
    });
    list.forEach((v, i) => v.value.set(this.#averages[i].value));
  }

  /** `loss * lossScaleFactor`, or `loss` when no factor is set. */
  scaleLoss(loss: number): number {
    if (typeof loss !== 'number') throw new TypeError(`scaleLoss: \`loss\` must be a number. Received: ${describe(loss)}`);
    const factor = this.#config.lossScaleFactor;
    return factor === null ? loss : loss * factor;
  }

  /** Keras's `apply_gradients(grads_and_vars)`. */
  applyGradients(pairs: Array<[Gradient, Variable]>): void {
    const [grads, variables] = this.#splitPairs(pairs);
    this.apply(grads, variables);
  }

  #splitPairs(pairs: Array<[Gradient, Variable]>): [Gradient[], Variable[]] {
    if (!Array.isArray(pairs)) throw new TypeError(`applyGradients: \`pairs\` must be an array. Received: ${describe(pairs)}`);
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

  /**
   * One optimizer step: `grads[i]` updates `variables[i]` (or, without `variables`, the
   * i-th variable the optimizer was built with). Null gradients skip their variable.
   * Every check runs first: a call that throws changes nothing.
   */
  apply(grads: Gradient[], variables?: Variable[]): void {
    this.#checkIdle('apply');
    if (!this.#prepare(grads, variables)) return;
    const { raw, vars, converted } = this.#prepared;
    this.#runStep(grads, vars, converted, false);
    this.#iteration.value[0] = raw + 1;
  }

  /**
   * `apply()` on a worker thread, keeping the event loop free. Steps of one optimizer run
   * in call order; a rejected step changes nothing. Leave the gradients and variables
   * untouched until the promise settles.
   */
  applyAsync(grads: Gradient[], variables?: Variable[]): Promise<void> {
    ++this.#inFlight;
    const run = async (): Promise<void> => {
      if (!this.#prepare(grads, variables)) return;
      const { raw, vars, converted } = this.#prepared;
      await this.#runStep(grads, vars, converted, true);
      this.#iteration.value[0] = raw + 1;
    };
    const result = this.#queue.then(run);
    this.#queue = result.catch(() => undefined);
    return result.finally(() => {
      --this.#inFlight;
    });
  }

  /** `applyGradients()` on a worker thread (see applyAsync). */
  applyGradientsAsync(pairs: Array<[Gradient, Variable]>): Promise<void> {
    try {
      const [grads, variables] = this.#splitPairs(pairs);
      return this.applyAsync(grads, variables);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #checkIdle(what: string): void {
    if (this.#inFlight > 0) {
      throw new Error(
        `${what}: ${this.#inFlight} applyAsync step(s) of this optimizer are still running; await them first`,
      );
    }
  }

  /**
   * Checks a call and decides the whole step before anything is written, into
   * #prepared and the native scalars; false for `apply([])`, which does nothing.
   */
  #prepare(grads: Gradient[], variables: Variable[] | undefined): boolean {
    if (!Array.isArray(grads)) throw new TypeError(`apply: \`grads\` must be an array. Received: ${describe(grads)}`);
    if (grads.length === 0) return false; // Keras: an empty list is a no-op, the counter included.
    const vars = this.#callVariables(grads, variables);
    const converted = this.#checkGradients(grads, vars);
    const c = this.#config;

    // Reading the rate may call user code: do it before touching anything.
    const raw = this.#iteration.value[0];
    const steps = c.gradientAccumulationSteps || 0;
    const isUpdate = steps === 0 || (raw + 1) % steps === 0;
    const n = this.#built ? this.#vars.length : vars.length;
    this.#growScratch(n);
    const sc = this.#scratch.params;
    const decay = S.Count; // where the per-tensor flags start; their rates follow
    let lr = 0;
    if (isUpdate) {
      // Keras reads the rate once per decayed variable (in call order), then once for the update.
      for (let i = 0; i < vars.length; ++i) {
        sc[decay + i] = Number(c.weightDecay !== null && grads[i] != null && this.#usesWeightDecay(vars[i]));
        if (sc[decay + i]) sc[decay + n + i] = this.#readLearningRate();
      }
      lr = this.#readLearningRate();
    } else {
      sc.fill(0, decay, decay + vars.length);
    }
    sc.fill(0, decay + vars.length, decay + n);

    if (!this.#built) this.#build(vars);
    this.#warnMissing(grads, vars);
    const k = steps ? Math.floor(raw / steps) : raw; // Keras's public `iterations`
    sc[S.Mode] = isUpdate ? 0 : 1;
    sc[S.LossScale] = c.lossScaleFactor ?? NaN;
    sc[S.AccumSteps] = steps && isUpdate ? steps : 0;
    // Keras clips only with a positive value, checking clipnorm, then global_clipnorm, then clipvalue.
    if (c.clipnorm !== null && c.clipnorm > 0) sc[S.Clip] = CLIP_NORM;
    else if (c.globalClipnorm !== null && c.globalClipnorm > 0) sc[S.Clip] = CLIP_GLOBAL_NORM;
    else if (c.clipvalue !== null && c.clipvalue > 0) sc[S.Clip] = CLIP_VALUE;
    else sc[S.Clip] = CLIP_NONE;
    sc[S.ClipValue] = c.clipnorm ?? c.globalClipnorm ?? c.clipvalue ?? 0;
    sc[S.Lr] = lr;
    // TensorFlow casts these Python floats through float32, for float64 variables too.
    sc[S.Momentum] = f(c.momentum);
    sc[S.Nesterov] = Number(c.nesterov);
    sc[S.WeightDecay] = f(c.weightDecay ?? 0);
    sc[S.Ema] = Number(c.useEma);
    sc[S.EmaE] = k !== 0 ? c.emaMomentum : 0;
    sc[S.Overwrite] = Number(c.useEma && !!c.emaOverwriteFrequency && (k + 1) % c.emaOverwriteFrequency === 0);
    const p = this.#prepared;
    p.raw = raw;
    p.vars = vars;
    p.converted = converted;
    return true;
  }

  /** The native step. Async steps get lists of their own (the native side holds them until done). */
  #runStep(grads: Gradient[], vars: readonly Variable[], converted: (FloatArray | null)[] | null, async: true): Promise<void>;
  #runStep(grads: Gradient[], vars: readonly Variable[], converted: (FloatArray | null)[] | null, async: false): void;
  #runStep(grads: Gradient[], vars: readonly Variable[], converted: (FloatArray | null)[] | null, async: boolean): Promise<void> | void {
    const plan = this.#plan;
    const n = this.#vars.length;
    const s = async
      ? { vars: new Array(n), grads: new Array(n), momentums: new Array(n), averages: new Array(n), accumulators: new Array(n), seen: new Uint8Array(n) }
      : this.#scratch;
    const step = async ? native.stepAsync : native.step;
    let inBuiltOrder = vars.length === n;
    for (let i = 0; inBuiltOrder && i < n; ++i) inBuiltOrder = vars[i] === this.#vars[i];
    try {
      if (inBuiltOrder) {
        for (let i = 0; i < n; ++i) s.grads[i] = converted?.[i] ?? grads[i] ?? null;
        return step(plan.vars, s.grads, plan.momentums, plan.averages, plan.accumulators, this.#scratch.params);
      }
      // Keras sums norms in the call's order: pass the call's variables first, then the rest.
      s.seen.fill(0);
      let p = 0;
      for (let b = 0; p < n; ++b) {
        const inCall = p < vars.length;
        const built = inCall ? this.#index.get(vars[p])! : b - vars.length;
        if (!inCall && s.seen[built]) continue;
        s.seen[built] = 1;
        s.vars[p] = plan.vars[built];
        s.grads[p] = inCall ? (converted?.[p] ?? grads[p] ?? null) : null;
        if (plan.momentums) s.momentums[p] = plan.momentums[built];
        if (plan.averages) s.averages[p] = plan.averages[built];
        if (plan.accumulators) s.accumulators[p] = plan.accumulators[built];
        ++p;
      }
      return step(
        s.vars,
        s.grads,
        plan.momentums && s.momentums,
        plan.averages && s.averages,
        plan.accumulators && s.accumulators,
        this.#scratch.params,
      );
    } finally {
      if (!async) s.grads.fill(null); // do not keep the caller's gradients alive
    }
  }

  #readLearningRate(): number {
    const lr = this.#learningRate;
    let value: unknown;
    if (lr instanceof LearningRateSchedule) value = lr.call(this.#iteration.value[0]);
    else if (typeof lr === 'function') value = lr();
    else return this.#lrVariable!.value[0];
    if (typeof value !== 'number') {
      throw new TypeError(`The learning rate ${lr instanceof LearningRateSchedule ? 'schedule' : 'function'} returned ${describe(value)}, not a number`);
    }
    return f(value); // the rate is a float32 value, as in Keras (floatx)
  }

  #usesWeightDecay(v: Variable): boolean {
    let use = this.#decayCache.get(v);
    if (use === undefined) {
      use = !this.#excluded.has(v) && !(this.#excludedPattern?.test(v.name) ?? false);
      this.#decayCache.set(v, use);
    }
    return use;
  }

  #checkVariableList(variables: unknown, arg: string): asserts variables is Variable[] {
    if (!Array.isArray(variables)) throw new TypeError(`\`${arg}\` must be an array of Variable. Received: ${describe(variables)}`);
    if (this.#isBuiltList(variables)) return;
    const seen = new Set<Variable>();
    variables.forEach((v, i) => {
      if (!(v instanceof Variable)) throw new TypeError(`${arg}[${i}] must be a Variable. Received: ${describe(v)}`);
      if (seen.has(v)) throw new RangeError(`${arg}[${i}] ('${v.path}') appears more than once`);
      for (const other of seen) {
        if (sameMemory(v.value, other.value)) throw new RangeError(`${arg}[${i}] ('${v.path}') shares memory with '${other.path}'`);
      }
      seen.add(v);
      if (v.value.length !== v.size) {
        throw new RangeError(`${arg}[${i}] ('${v.path}'): its value has ${v.value.length} elements, its shape ${v.size} (was its buffer detached?)`);
      }
    });
  }

  /** The variables the optimizer was built with, in its order, none detached: the common case, checked without allocating. */
  #isBuiltList(variables: unknown[]): boolean {
    const built = this.#vars;
    if (!this.#built || variables.length !== built.length) return false;
    for (let i = 0; i < built.length; ++i) {
      const v = built[i];
      if (variables[i] !== v || v.value.length !== v.size) return false;
    }
    return true;
  }

  #callVariables(grads: Gradient[], variables: Variable[] | undefined): readonly Variable[] {
    if (variables === undefined) {
      if (!this.#built) {
        throw new Error(
          'When passing `grads` without `variables`, the optimizer must already be built on a list of ' +
            'variables. Call `optimizer.build(trainable_variables)` first. ',
        );
      }
      if (grads.length !== this.#vars.length) {
        throw new RangeError(
          'When passing `grads` as a list of gradient tensors, the gradients must match `optimizer.variables` ' +
            `one-to-on. Received a list of ${grads.length} gradients, but the optimizer is tracking ` +
            `${this.#vars.length} trainable variables.`,
        );
      }
      return this.#vars;
    }
    this.#checkVariableList(variables, 'variables');
    if (variables.length !== grads.length) {
      throw new RangeError(`apply: got ${grads.length} gradients for ${variables.length} variables`);
    }
    if (this.#built) {
      for (const v of variables) {
        if (!this.#index.has(v)) {
          throw new Error(
            `Unknown variable: ${v}. This optimizer can only be called for the variables it was originally ` +
              'built with. When working with a new set of variables, you should recreate a new optimizer instance.',
          );
        }
      }
    }
    return variables;
  }

  /** Checks every gradient; returns converted copies for gradients of another dtype. */
  #checkGradients(grads: Gradient[], vars: readonly Variable[]): (FloatArray | null)[] | null {
    let converted: (FloatArray | null)[] | null = null;
    let present = 0;
    for (let i = 0; i < grads.length; ++i) {
      const g = grads[i];
      if (g === null || g === undefined) continue;
      const v = vars[i];
      if (!(g instanceof Float32Array || g instanceof Float64Array)) {
        throw new TypeError(`grads[${i}] (for '${v.path}') must be a Float32Array, Float64Array or null. Received: ${describe(g)}`);
      }
      if (g.length !== v.value.length) {
        throw new RangeError(
          `grads[${i}] has ${g.length} elements but variable '${v.path}' has ${v.value.length}: ` +
            `operands could not be broadcast together with shapes ${shapeText(v.shape)} (${g.length},) `,
        );
      }
      this.#checkNotWritten(g, i, vars);
      ++present;
      if (g.constructor !== v.value.constructor) {
        // Keras casts a gradient to its variable's dtype; this is the one copy a step may make.
        converted ??= new Array(grads.length).fill(null);
        converted[i] = v.dtype === 'float32' ? new Float32Array(g) : new Float64Array(g);
      }
    }
    if (present === 0) throw new Error('No gradients provided for any variable.');
    this.#missing = grads.length - present;
    return converted;
  }

  /** A gradient must not share memory with anything the step writes (the fused pass reads it while writing). */
  #checkNotWritten(g: FloatArray, i: number, vars: readonly Variable[]): void {
    // Before the first build the call's variables are all the step writes.
    const written: readonly FloatArray[] | undefined = this.#built ? this.#written.get(g.buffer) : vars.map((v) => v.value);
    if (written === undefined) return;
    for (const a of written) {
      if (sameMemory(g, a)) {
        const owner = [...this.variables, ...vars].find((v) => v.value === a);
        throw new RangeError(`grads[${i}] shares memory with '${owner?.path ?? 'a variable'}', which the step writes`);
      }
    }
  }

  #warnMissing(grads: Gradient[], vars: readonly Variable[]): void {
    if (this.#missing === 0) return; // counted by #checkGradients
    const missing = vars.filter((_, i) => grads[i] == null).map((v) => `'${v.path}'`);
    const message =
      `Gradients do not exist for variables [${missing.join(', ')}] when minimizing the loss. ` +
      'If using `model.compile()`, did you forget to provide a `loss` argument?';
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    warn(message);
  }

  #slots(suffix: string): Variable[] {
    return this.#vars.map((v) => {
      const name = `${v.path.replace(/\//g, '_')}_${suffix}`;
      const value = v.dtype === 'float32' ? new Float32Array(v.size) : new Float64Array(v.size);
      return new Variable(value, { name, path: `${this.#config.name}/${name}`, shape: v.shape });
    });
  }

  #build(variables: readonly Variable[]): void {
    const c = this.#config;
    this.#vars = [...variables];
    this.#vars.forEach((v, i) => this.#index.set(v, i));
    if (c.useEma) this.#averages = this.#slots('average');
    if (c.gradientAccumulationSteps) this.#accumulators = this.#slots('gradient_accumulator');
    if (c.momentum !== 0) this.#momentums = this.#slots('momentum');
    const values = (list: Variable[]) => (list.length || !this.#vars.length ? list.map((v) => v.value) : null);
    this.#plan = {
      vars: this.#vars.map((v) => v.value),
      momentums: c.momentum !== 0 ? values(this.#momentums) : null,
      averages: c.useEma ? values(this.#averages) : null,
      accumulators: c.gradientAccumulationSteps ? values(this.#accumulators) : null,
    };
    this.#written = new Map();
    for (const v of [...this.#vars, ...this.#averages, ...this.#accumulators, ...this.#momentums]) {
      const list = this.#written.get(v.value.buffer) ?? [];
      list.push(v.value);
      this.#written.set(v.value.buffer, list);
    }
    this.#growScratch(this.#vars.length);
    this.#built = true;
  }

  #growScratch(n: number): void {
    const s = this.#scratch;
    if (s.params.length >= S.Count + 2 * n) return;
    s.vars.length = s.grads.length = s.momentums.length = s.averages.length = s.accumulators.length = n;
    s.grads.fill(null);
    s.seen = new Uint8Array(n);
    s.params = new Float64Array(S.Count + 2 * n);
  }
}
