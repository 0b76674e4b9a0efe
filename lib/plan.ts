// What one step does, decided before anything is written (SPEC.md 3-8): from the
// config, the step counter and the rate reads to the `scalars` a backend reads and
// the order the call's tensors go in. Pure: no backend, no state of its own beyond
// the reusable arrays it fills.
import type { OptimizerConfig } from './config.js';
import { CLIP, type FloatArray, type ScalarLayout } from './native.js';

const f = Math.fround;

/** What the optimizer tells the plan about one call. */
export interface StepInput<V> {
  config: OptimizerConfig;
  /** Keras's raw step counter `_iterations` before this call. */
  raw: number;
  /** The call's variables, in the call's order. */
  vars: readonly V[];
  /** Whether the call has a gradient for vars[i]. */
  hasGradient(i: number): boolean;
  /** The variables the optimizer is built on (null before the first build: the call's become them). */
  built: readonly V[] | null;
  /** Position of a variable in `built`. */
  builtIndex(v: V): number;
  /** Whether weight decay applies to a variable. */
  usesWeightDecay(v: V): boolean;
  /** Reads the learning rate (may run user code, may throw). */
  readLearningRate(): number;
}

/** The reusable result of planning a step: valid until the next plan. */
export class StepPlan {
  readonly #layout: ScalarLayout;
  /** The numbers of the step, laid out as `layout` says. */
  scalars: Float64Array;
  /** Position p of the backend's lists holds built variable order[p]: the call's variables first, then the rest. */
  order: Int32Array;
  #inCall = new Uint8Array(0);
  #constantsOf: OptimizerConfig | null = null; // the config whose constants `scalars` holds
  /** Tensors in the step (every built variable). */
  size = 0;
  /** How many of them the call passed (the first `callSize` of `order`). */
  callSize = 0;

  constructor(layout: ScalarLayout) {
    this.#layout = layout;
    this.scalars = new Float64Array(layout.length(0));
    this.order = new Int32Array(0);
  }

  /**
   * Decides the step. Rates are read first, in Keras's order (once per decayed
   * variable in call order, then once for the update): if user code throws, the plan
   * is all that changed.
   */
  decide<V>(step: StepInput<V>): void {
    const c = step.config;
    const L = this.#layout;
    const vars = step.vars;
    const n = step.built ? step.built.length : vars.length;
    this.#reserve(n);
    const s = this.scalars;

    const accumSteps = c.gradientAccumulationSteps || 0;
    const isUpdate = accumSteps === 0 || (step.raw + 1) % accumSteps === 0;
    let lr = 0;
    for (let i = 0; i < n; ++i) s[L.decayOn(n, i)] = 0;
    if (isUpdate) {
      for (let i = 0; i < vars.length; ++i) {
        if (c.weightDecay === null || !step.hasGradient(i) || !step.usesWeightDecay(vars[i])) continue;
        s[L.decayOn(n, i)] = 1;
        s[L.decayLr(n, i)] = step.readLearningRate();
      }
      lr = step.readLearningRate();
    }

    const k = accumSteps ? Math.floor(step.raw / accumSteps) : step.raw; // Keras's public `iterations`
    if (this.#constantsOf !== c) this.#writeConstants(c);
    s[L.mode] = isUpdate ? 0 : 1;
    s[L.accumSteps] = accumSteps && isUpdate ? accumSteps : 0;
    s[L.lr] = lr;
    s[L.emaE] = k !== 0 ? c.emaMomentum : 0;
    s[L.overwrite] = Number(c.useEma && !!c.emaOverwriteFrequency && (k + 1) % c.emaOverwriteFrequency === 0);

    // Keras sums norms in the call's order: the call's variables first, then the rest.
    const order = this.order;
    if (step.built === null || vars === step.built) {
      for (let p = 0; p < n; ++p) order[p] = p; // the built list itself: its own order
    } else {
      const inCall = this.#inCall;
      inCall.fill(0, 0, n);
      for (let p = 0; p < vars.length; ++p) {
        order[p] = step.builtIndex(vars[p]);
        inCall[order[p]] = 1;
      }
      for (let b = 0, p = vars.length; b < n; ++b) if (!inCall[b]) order[p++] = b;
    }
    this.size = n;
    this.callSize = vars.length;
  }

  /** The numbers that depend on the config alone (it does not change): written once per scalars array. */
  #writeConstants(c: OptimizerConfig): void {
    const L = this.#layout;
    const s = this.scalars;
    s[L.lossScale] = c.lossScaleFactor ?? NaN;
    // Keras clips only with a positive value, checking clipnorm, then global_clipnorm, then clipvalue.
    if (c.clipnorm !== null && c.clipnorm > 0) s[L.clip] = CLIP.norm;
    else if (c.globalClipnorm !== null && c.globalClipnorm > 0) s[L.clip] = CLIP.globalNorm;
    else if (c.clipvalue !== null && c.clipvalue > 0) s[L.clip] = CLIP.value;
    else s[L.clip] = CLIP.none;
    s[L.clipValue] = c.clipnorm ?? c.globalClipnorm ?? c.clipvalue ?? 0;
    // TensorFlow casts these Python floats through float32, for float64 variables too.
    s[L.momentum] = f(c.momentum);
    s[L.nesterov] = Number(c.nesterov);
    s[L.weightDecay] = f(c.weightDecay ?? 0);
    s[L.ema] = Number(c.useEma);
    this.#constantsOf = c;
  }

  #reserve(n: number): void {
    if (this.scalars.length < this.#layout.length(n)) {
      this.scalars = new Float64Array(this.#layout.length(n));
      this.#constantsOf = null;
    }
    if (this.order.length < n) {
      this.order = new Int32Array(n);
      this.#inCall = new Uint8Array(n);
    }
  }
}

/** The lists a backend step reads, in the plan's order. */
export interface StepLists {
  vars: FloatArray[];
  grads: (FloatArray | null)[];
  momentums: FloatArray[] | null;
  averages: FloatArray[] | null;
  accumulators: FloatArray[] | null;
}

/** Lists for a step over n tensors, with the state lists `config` has. */
export function newStepLists(n: number, config: OptimizerConfig): StepLists {
  const list = <T>(on: boolean): T[] | null => (on ? new Array<T>(n) : null);
  return {
    vars: new Array(n),
    grads: new Array(n).fill(null),
    momentums: list(config.momentum !== 0),
    averages: list(config.useEma),
    accumulators: list(!!config.gradientAccumulationSteps),
  };
}
