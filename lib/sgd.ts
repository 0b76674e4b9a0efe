// The optimizer: Keras's API, its state and counters, and the orchestration of one step
// (SPEC.md section 3): check the call (call-checks.ts), decide the step (plan.ts), then
// one backend call (load.ts) does the arithmetic.
import {
  callVariables,
  checkGradients,
  checkFinalize,
  checkFixedMemory,
  checkReplacements,
  checkVariableList,
  checkVariables,
  missingGradients,
  readOnce,
  snapshot,
  splitPairs,
  WrittenMemory,
  type CheckedGradients,
  type Gradient,
} from './call-checks.js';
import * as checkpoint from './checkpoint.js';
import { checkOptions, toKerasConfig, unwrapConfig, warn, type LearningRate, type OptimizerConfig, type SGDOptions } from './config.js';
import { backend, smallSteps } from './load.js';
import { CLIP, type Backend, type BoundArrays, type FloatArray } from './native.js';
import { bufferOf, isShared } from './memory.js';
import { newStepLists, StepPlan, type StepInput, type StepLists } from './plan.js';
import { invalid } from './checks.js';
import { RateSource } from './learning-rate.js';
import { Variable } from './variable.js';
import { DecayExclusions } from './weight-decay.js';

export type { Gradient } from './call-checks.js';
export type { StateDict } from './checkpoint.js';

const NONE: readonly never[] = Object.freeze([]); // what #call and #input hold between steps

/**
 * f(...args). Up to 8 arguments it is a direct call, which V8 makes into the fast path
 * for a native function (Reflect.apply goes through its generic one: ~0.3 µs a call).
 */
function callWith(f: (...a: never[]) => void, args: unknown[]): void {
  const a = args as never[];
  switch (a.length) {
    case 3:
      return f(a[0], a[1], a[2]);
    case 4:
      return f(a[0], a[1], a[2], a[3]);
    case 5:
      return f(a[0], a[1], a[2], a[3], a[4]);
    case 6:
      return f(a[0], a[1], a[2], a[3], a[4], a[5]);
    case 7:
      return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    case 8:
      return f(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    default:
      return Reflect.apply(f, undefined, a);
  }
}

/** Sets every element to null (a loop: Array.prototype.fill is a runtime call, slower for the few tensors of a small step). */
function clear(list: unknown[]): void {
  for (let i = 0; i < list.length; ++i) list[i] = null;
}

/** Keras 3 `keras.optimizers.SGD`, updating the caller's typed arrays in place. */
export class SGD {
  readonly #config: OptimizerConfig;
  readonly #rate: RateSource;
  readonly #iteration: Variable<Float64Array>; // Keras's raw counter `_iterations`

  #built = false;
  #vars: Variable[] = [];
  readonly #index = new Map<Variable, number>();
  #momentums: Variable[] = [];
  #averages: Variable[] = [];
  #accumulators: Variable[] = [];
  #written = new WrittenMemory([]); // every array a step writes
  #elements = 0; // in all built variables
  #smallOk = false; // small steps may go to the js backend: float32 only (its float64 path is slower than the addon's), no shared memory

  readonly #plan = new StepPlan(backend.layout);
  // The call being stepped, and the lists of synchronous steps: fields, so a step allocates nothing.
  readonly #call = {
    raw: 0,
    grads: NONE as readonly Gradient[],
    vars: NONE as readonly Variable[],
    checked: { converted: null, missing: 0, shared: false } as CheckedGradients,
  };
  readonly #input: StepInput<Variable>;
  readonly #args = { grads: [] as Gradient[], vars: [] as Variable[] }; // the call's lists, read once
  #lists: StepLists = { vars: [], grads: [], momentums: null, averages: null, accumulators: null };
  // The backend's hold on the variables and state (Backend.bind), and the arguments of its stepBound().
  #bound: { impl: Backend; handle: BoundArrays } | null = null;
  #boundArgs: unknown[] = [];
  #inStep = false; // a step is being prepared or run on this thread (user code may run meanwhile)
  #inFlight = 0; // applyAsync steps not yet settled
  #queue: Promise<void> = Promise.resolve(); // they run one after another

  readonly #decay = new DecayExclusions();
  readonly #warned = new Set<string>(); // each warning once per optimizer

  constructor(options?: SGDOptions) {
    this.#config = checkOptions(options, 'options');
    const { name } = this.#config;
    this.#rate = new RateSource(this.#config.learningRate, name);
    this.#iteration = new Variable(new Float64Array(1), { name: 'iteration', path: `${name}/iteration` });
    this.#input = {
      config: this.#config,
      raw: 0,
      vars: [],
      built: null,
      hasGradient: (i) => this.#call.grads[i] != null,
      builtIndex: (v) => this.#index.get(v)!,
      usesWeightDecay: (v) => this.#decay.applies(v),
      readLearningRate: () => this.#rate.read(this.#iteration.value[0]),
    };
  }

  /** An optimizer from Keras's `get_config()` output, or its serialized form `{class_name: 'SGD', config}`. */
  static fromConfig(config: object): SGD {
    return new SGD(checkOptions(unwrapConfig(config), 'config'));
  }

  /** Keras's `get_config()`: snake_case keys in Keras's order. */
  getConfig(): Record<string, unknown> {
    return toKerasConfig({ ...this.#config, learningRate: this.#rate.rate }, this.#rate.variable?.value[0] ?? null);
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
    return this.#rate.read(this.#iteration.value[0]);
  }

  set learningRate(value: LearningRate) {
    this.#checkNotInStep('learningRate');
    this.#rate.set(value);
  }

  /** The optimizer's state in Keras's order, with Keras's paths. */
  get variables(): Variable[] {
    const out: Variable[] = [this.#iteration];
    if (this.#rate.variable) out.push(this.#rate.variable);
    return out.concat(this.#averages, this.#accumulators, this.#momentums);
  }

  /** The whole state as plain data: the config, the raw step counter, a copy of every state array by its Keras path. */
  stateDict(): checkpoint.StateDict {
    this.#checkIdle('stateDict');
    return checkpoint.stateDict(this);
  }

  /**
   * Restores a stateDict(), matching every state array by its Keras path (build the
   * optimizer on its variables first). A state that does not fit is an error, and
   * changes nothing. The config is not restored: construct the optimizer from it.
   */
  loadStateDict(state: checkpoint.StateDict): void {
    this.#checkIdle('loadStateDict');
    checkpoint.loadStateDict(this, state);
  }

  /** Keras's save_own_variables(): state arrays under the keys "0", "1", ... in Keras's order. */
  saveOwnVariables(store: Record<string, unknown>): void {
    this.#checkIdle('saveOwnVariables');
    checkpoint.saveOwnVariables(this, store);
  }

  /** Keras's load_own_variables(): like Keras, a store with another number of arrays is skipped with a warning. */
  loadOwnVariables(store: Record<string, unknown>): void {
    this.#checkIdle('loadOwnVariables');
    checkpoint.loadOwnVariables(this, store);
  }

  /** Creates the state for `variables` (apply() calls it on first use); on a built optimizer it does nothing, as in Keras. */
  build(variables: Variable[]): void {
    this.#checkIdle('build');
    if (this.#built) return;
    const list = snapshot(variables);
    checkVariableList(list, 'variables');
    this.#build(list);
  }

  /**
   * Points the optimizer at new storage for the variables it is built on: the same
   * paths, shapes and dtypes in the same order, other arrays (a framework that moved
   * its tensors). Every state array and counter is kept; nothing is copied.
   */
  rebind(variables: Variable[]): void {
    this.#checkIdle('rebind');
    if (!this.#built) throw new Error('rebind: this optimizer is not built yet: call build(variables) or apply() first');
    variables = snapshot(variables);
    checkReplacements(this.#vars, variables, [...this.#averages, ...this.#accumulators, ...this.#momentums]);
    this.#decay.replace(this.#vars, variables);
    this.#bindVariables(variables);
  }

  /** Marks variables (or names matching any of the regular expressions) as free of weight decay. */
  excludeFromWeightDecay(options: { variables?: Variable[]; varNames?: string[] }): void {
    this.#checkNotInStep('excludeFromWeightDecay');
    if (options === null || typeof options !== 'object') {
      throw invalid(TypeError, 'excludeFromWeightDecay', 'options', 'an object', options, { named: false });
    }
    const { variables, varNames } = options;
    const list = snapshot(variables);
    if (list !== undefined) checkVariables(list, 'variables', this.#builtList());
    this.#decay.set(list, varNames);
  }

  /** Copies the moving averages into the variables (position by position), when `useEma` is on. */
  finalizeVariableValues(variables?: Variable[]): void {
    this.#checkIdle('finalizeVariableValues');
    if (!this.#config.useEma) return;
    const list = snapshot(variables) ?? this.#vars;
    checkVariables(list, 'variables', this.#builtList());
    checkFinalize(list, this.#averages);
    list.forEach((v, i) => v.value.set(this.#averages[i].value));
  }

  /** `loss * lossScaleFactor`, or `loss` when no factor is set. */
  scaleLoss(loss: number): number {
    if (typeof loss !== 'number') throw invalid(TypeError, 'scaleLoss', 'loss', 'a number', loss, { named: false });
    const factor = this.#config.lossScaleFactor;
    return factor === null ? loss : loss * factor;
  }

  /** Keras's `apply_gradients(grads_and_vars)`. */
  applyGradients(pairs: Array<[Gradient, Variable]>): void {
    const [grads, variables] = splitPairs(pairs);
    this.apply(grads, variables);
  }

  /**
   * One optimizer step: `grads[i]` updates `variables[i]` (or, without `variables`, the
   * i-th variable the optimizer was built with). Null gradients skip their variable.
   * Every check runs first: a call that throws changes nothing.
   */
  apply(grads: Gradient[], variables?: Variable[]): void {
    this.#checkIdle('apply');
    this.#inStep = true;
    try {
      if (!this.#prepare(grads, variables)) return;
      this.#launch(this.#small() ? smallSteps.step : backend.impl.step, null);
    } finally {
      this.#inStep = false;
      clear(this.#lists.grads); // do not keep the caller's gradients alive
      this.#forgetCall();
    }
    this.#iteration.value[0] = this.#call.raw + 1;
  }

  /**
   * `apply()` on a worker thread, keeping the event loop free. Steps of one optimizer run
   * in call order; a rejected step changes nothing. The arrays a step uses must keep
   * their memory until it settles (see the README's rules for async steps).
   */
  applyAsync(grads: Gradient[], variables?: Variable[]): Promise<void> {
    ++this.#inFlight;
    const run = async (): Promise<void> => {
      this.#checkNotInStep('applyAsync');
      let step: Promise<void>;
      this.#inStep = true;
      try {
        if (!this.#prepare(grads, variables)) return;
        // It runs off this thread, on every built variable (not only the call's).
        checkFixedMemory(this.#call.grads, this.#builtList() ?? this.#call.vars);
        // Lists of its own: the backend holds them until the step is done.
        step = this.#launch(backend.impl.stepAsync, newStepLists);
      } finally {
        this.#inStep = false;
        this.#forgetCall();
      }
      const raw = this.#call.raw;
      await step;
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
      const [grads, variables] = splitPairs(pairs);
      return this.applyAsync(grads, variables);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Refuses a change to the optimizer from user code running inside one of its steps (a rate function, a schedule). */
  #checkNotInStep(what: string): void {
    if (this.#inStep) {
      throw new Error(
        `${what}: called from inside a step of this optimizer (its learning-rate function or schedule); a step cannot start or change the optimizer while one is being prepared`,
      );
    }
  }

  #checkIdle(what: string): void {
    this.#checkNotInStep(what);
    if (this.#inFlight > 0) {
      throw new Error(`${what}: ${this.#inFlight} applyAsync step(s) of this optimizer are still running; await them first`);
    }
  }

  /**
   * Checks a call and decides the whole step before anything is written (into #call and
   * the plan); false for `apply([])`, which does nothing. #launch builds on first use.
   */
  #prepare(gradsArg: Gradient[], variablesArg: Variable[] | undefined): boolean {
    if (!Array.isArray(gradsArg)) throw invalid(TypeError, 'apply', 'grads', 'an array', gradsArg, { named: false });
    // Each list is read once (a Proxy or a getter cannot show the checks one thing and the step another).
    const grads = readOnce(gradsArg, this.#args.grads);
    if (grads.length === 0) return false; // Keras: an empty list is a no-op, the counter included.
    const variables = Array.isArray(variablesArg) ? readOnce(variablesArg, this.#args.vars) : variablesArg;
    const vars = callVariables(grads, variables, this.#builtList(), this.#index);
    const call = this.#call;
    // Before the first build the call's variables are all the step writes.
    checkGradients(grads, vars, this.#built ? this.#written : new WrittenMemory(vars), call.checked);
    call.grads = grads;
    call.raw = this.#iteration.value[0];

    const input = this.#input;
    input.raw = call.raw;
    input.vars = vars;
    input.built = this.#builtList();
    this.#plan.decide(input); // reads the rate: may run user code and throw
    input.vars = NONE;
    call.vars = vars;
    return true;
  }

  /**
   * Builds the optimizer on first use, fills the backend's lists (the shared ones, or
   * `ownLists(n, config)` for an async step, which keeps them) and calls `step` with them.
   * When the backend refuses the first step, the optimizer is left unbuilt: a rejected
   * call changes nothing. (No closure here: a synchronous step allocates nothing.)
   */
  #launch<R>(step: (...args: Parameters<Backend['step']>) => R, ownLists: typeof newStepLists | null): R {
    const { grads, vars, checked } = this.#call;
    const fresh = !this.#built;
    if (fresh) this.#build(vars);
    let result: R;
    try {
      // The call's variables are the built ones in their order (on the first step, they become them).
      if (ownLists === null && step === this.#bound?.impl.step && (fresh || vars === this.#vars)) {
        result = this.#stepBound() as R;
      } else {
        const l = this.#fillLists(ownLists ? ownLists(this.#vars.length, this.#config) : this.#lists);
        result = step(l.vars, l.grads, l.momentums, l.averages, l.accumulators, this.#plan.scalars);
      }
    } catch (e) {
      if (fresh) this.#unbuild();
      throw e;
    }
    if (checked.missing > 0) this.#warnMissing(grads, vars);
    return result;
  }

  /** The backend's lists for the planned step: the call's gradients, every built variable and its state. */
  #fillLists(lists: StepLists): StepLists {
    const { order, size, callSize } = this.#plan;
    const { grads, checked } = this.#call;
    const converted = checked.converted;
    for (let p = 0; p < size; ++p) {
      const b = order[p];
      lists.vars[p] = this.#vars[b].value;
      lists.grads[p] = p < callSize ? (converted?.[p] ?? grads[p] ?? null) : null;
      if (lists.momentums) lists.momentums[p] = this.#momentums[b].value;
      if (lists.averages) lists.averages[p] = this.#averages[b].value;
      if (lists.accumulators) lists.accumulators[p] = this.#accumulators[b].value;
    }
    return lists;
  }

  /** A synchronous step of every built variable, in their order, on the arrays the backend holds (#bindVariables). */
  #stepBound(): void {
    const { handle, impl } = this.#bound!;
    const { grads, checked } = this.#call;
    const converted = checked.converted;
    const args = this.#boundArgs;
    args[0] = handle;
    args[1] = this.#plan.scalars;
    for (let i = 0; i < this.#vars.length; ++i) args[2 + i] = converted?.[i] ?? grads[i] ?? null;
    try {
      callWith(impl.stepBound!, args);
    } finally {
      for (let i = 2; i < args.length; ++i) args[i] = null; // do not keep the caller's gradients alive
    }
  }

  /** The variables the optimizer is built on, or null before it is built. */
  #builtList(): readonly Variable[] | null {
    return this.#built ? this.#vars : null;
  }

  #warnMissing(grads: readonly Gradient[], vars: readonly Variable[]): void {
    const message = missingGradients(grads, vars);
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
    if (c.useEma) this.#averages = this.#slots('average');
    if (c.gradientAccumulationSteps) this.#accumulators = this.#slots('gradient_accumulator');
    if (c.momentum !== 0) this.#momentums = this.#slots('momentum');
    this.#lists = newStepLists(this.#vars.length, this.#config);
    this.#bindVariables(variables);
    this.#built = true;
  }

  /** Whether this synchronous step goes to the js backend (see smallSteps in load.ts). */
  #small(): boolean {
    if (smallSteps.backend === null || backend.name !== 'native' || !this.#built || !this.#smallOk || smallSteps.busy()) return false;
    if (this.#elements > smallSteps.perTensor * this.#vars.length) return false;
    const clip = this.#plan.scalars[backend.layout.clip];
    if (clip === CLIP.norm || clip === CLIP.globalNorm) return false; // the js norm pass allocates
    return !this.#call.checked.shared;
  }

  /** Drops the references to the caller's lists once a step has been handed to the backend. */
  #forgetCall(): void {
    this.#call.grads = NONE;
    this.#call.vars = NONE;
    clear(this.#args.grads);
    clear(this.#args.vars);
  }

  /** Undoes #build (the first step was refused). */
  #unbuild(): void {
    this.#built = false;
    this.#momentums = this.#averages = this.#accumulators = [];
    this.#lists = newStepLists(0, this.#config);
    this.#bindVariables([]);
  }

  /** Makes `variables` the ones the optimizer steps (at build, or by rebind). */
  #bindVariables(variables: readonly Variable[]): void {
    this.#vars = [...variables];
    this.#index.clear();
    this.#vars.forEach((v, i) => this.#index.set(v, i));
    this.#written = new WrittenMemory([...this.#vars, ...this.#averages, ...this.#accumulators, ...this.#momentums]);
    this.#elements = this.#vars.reduce((sum, v) => sum + v.size, 0);
    this.#smallOk = this.#vars.every((v) => v.dtype === 'float32' && !isShared(bufferOf(v.value)));
    this.#bound = null;
    const impl = backend.impl;
    if (impl.bind && impl.stepBound && this.#vars.length > 0) {
      const values = (list: Variable[]) => (list.length ? list.map((v) => v.value as FloatArray) : null);
      try {
        const handle = impl.bind(values(this.#vars)!, values(this.#momentums), values(this.#averages), values(this.#accumulators));
        this.#bound = { impl, handle };
        this.#boundArgs = new Array(2 + this.#vars.length).fill(null);
      } catch {
        // Steps then pass every list (and a bad array gets its error there).
      }
    }
  }
}
