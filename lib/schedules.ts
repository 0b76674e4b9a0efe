// The Keras learning-rate schedules (SPEC.md section 10). Every operation is
// rounded to float32 on its own, as Keras computes them in floatx.
import { checkBoolean, checkFinite, invalid } from './checks.js';
import { describe, pyRepr, pyStr } from './python.js';

const f = Math.fround;
const PI32 = f(Math.PI);

type Config = Record<string, unknown>;
/** A schedule's arguments: Keras's snake_case config key and our camelCase option, in get_config order. */
type Keys = readonly (readonly [config: string, option: string])[];

/**
 * Base class of every schedule: `call(step)` gives the rate at a (raw) iteration count.
 * A subclass lists its arguments in `static configKeys` to get `getConfig()` and
 * `fromConfig()`, or overrides them.
 */
export abstract class LearningRateSchedule {
  abstract call(step: number): number;

  /** Keras's get_config(): snake_case keys in Keras's order. */
  getConfig(): Config {
    const keys = (this.constructor as { configKeys?: Keys }).configKeys;
    if (!keys) throw new TypeError(`${this.constructor.name} must implement getConfig()`);
    const self = this as unknown as Config;
    return Object.fromEntries(keys.map(([key, option]) => [key, Array.isArray(self[option]) ? [...(self[option] as [])] : self[option]]));
  }

  /** The schedule a Keras config (snake_case keys) describes; unknown keys are an error. */
  static fromConfig<T extends LearningRateSchedule>(this: (new (options: never) => T) & { configKeys?: Keys }, config: Config): T {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw invalid(TypeError, `${this.name}.fromConfig`, 'config', 'an object', config, { named: false });
    }
    const keys = new Map(this.configKeys ?? []);
    const options: Config = {};
    for (const key of Object.keys(config)) {
      if (!keys.has(key)) throw new TypeError(`${this.name}.fromConfig: unknown config key '${key}'`);
      options[keys.get(key)!] = config[key];
    }
    return new this(options as never);
  }
}

/** The options object of a schedule's constructor, with no key it does not know. */
function knownOptions(cls: { name: string; configKeys: Keys }, options: unknown): Config {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(TypeError, cls.name, 'options', 'an object', options, { named: false });
  }
  const known = cls.configKeys.map(([, option]) => option);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`${cls.name}: unknown option '${key}' (known: ${known.join(', ')})`);
  }
  return options as Config;
}

/** A schedule's step must be a finite number (Keras would fail on the tensor op with its own text). */
function checkStep(schedule: LearningRateSchedule, step: unknown): void {
  if (typeof step !== 'number' || !Number.isFinite(step)) {
    throw invalid(TypeError, `${schedule.constructor.name}.call`, 'step', 'a finite number', step, { named: false });
  }
}

function checkName(value: unknown): string {
  if (typeof value !== 'string') throw invalid(TypeError, null, 'name', 'a string', value);
  return value;
}

function checkSteps(arg: string, value: unknown): number {
  checkFinite(arg, value);
  if ((value as number) <= 0) {
    throw new RangeError(`Argument \`${arg}\` must be > 0. Received: ${arg}=${pyStr(value, 'int')}`);
  }
  return value as number;
}

function finite(arg: string, value: unknown): number {
  checkFinite(arg, value);
  return value as number;
}

function bool(arg: string, value: unknown): boolean {
  checkBoolean(arg, value);
  return value as boolean;
}

export interface ExponentialDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  staircase?: boolean;
  name?: string;
}
export type InverseTimeDecayOptions = ExponentialDecayOptions;

/** The arguments ExponentialDecay and InverseTimeDecay share, and the step/decay_steps ratio both use. */
abstract class RateDecay extends LearningRateSchedule {
  static readonly configKeys: Keys = [
    ['initial_learning_rate', 'initialLearningRate'],
    ['decay_steps', 'decaySteps'],
    ['decay_rate', 'decayRate'],
    ['staircase', 'staircase'],
    ['name', 'name'],
  ];
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;
  readonly name: string;

  constructor(options: ExponentialDecayOptions) {
    super();
    const o = knownOptions(new.target as unknown as typeof RateDecay, options);
    this.initialLearningRate = finite('initial_learning_rate', o.initialLearningRate);
    this.decaySteps = checkSteps('decay_steps', o.decaySteps);
    this.decayRate = finite('decay_rate', o.decayRate);
    this.staircase = bool('staircase', o.staircase ?? false);
    this.name = checkName(o.name ?? new.target.name);
  }

  /** step / decay_steps in float32, floored with `staircase`. */
  protected progress(step: number): number {
    const p = f(f(step) / f(this.decaySteps));
    return this.staircase ? Math.floor(p) : p;
  }
}

/** lr = initial * decay_rate ^ (step / decay_steps), the exponent floored with `staircase`. */
export class ExponentialDecay extends RateDecay {
  call(step: number): number {
    checkStep(this, step);
    return f(f(this.initialLearningRate) * f(Math.pow(f(this.decayRate), this.progress(step))));
  }
}

/** lr = initial / (1 + decay_rate * step / decay_steps), the ratio floored with `staircase`. */
export class InverseTimeDecay extends RateDecay {
  call(step: number): number {
    checkStep(this, step);
    return f(f(this.initialLearningRate) / f(1 + f(f(this.decayRate) * this.progress(step))));
  }
}

export interface PiecewiseConstantDecayOptions {
  boundaries: number[];
  values: number[];
  name?: string;
}

/** values[0] up to and including boundaries[0], values[i] on (b[i-1], b[i]], values[-1] after the last. */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  static readonly configKeys: Keys = [
    ['boundaries', 'boundaries'],
    ['values', 'values'],
    ['name', 'name'],
  ];
  readonly boundaries: readonly number[];
  readonly values: readonly number[];
  readonly name: string;

  constructor(options: PiecewiseConstantDecayOptions) {
    super();
    const o = knownOptions(PiecewiseConstantDecay, options);
    const numbers = (arg: string, v: unknown): number[] => {
      if (!Array.isArray(v)) throw invalid(TypeError, null, arg, 'an array of numbers', v);
      v.forEach((x, i) => checkFinite(`${arg}[${i}]`, x));
      return [...v];
    };
    const boundaries = numbers('boundaries', o.boundaries);
    const values = numbers('values', o.values);
    if (boundaries.length !== values.length - 1) {
      throw new RangeError(
        'The length of boundaries should be 1 less than the length of values. ' +
          `Received: boundaries=${pyRepr(boundaries, 'int')} of length ${boundaries.length}, ` +
          `and values=${pyRepr(values)} of length ${values.length}.`,
      );
    }
    this.boundaries = Object.freeze(boundaries);
    this.values = Object.freeze(values);
    this.name = checkName(o.name ?? 'PiecewiseConstant');
  }

  call(step: number): number {
    checkStep(this, step);
    // Boundaries are cast to the step's integer type (truncated); every interval's
    // indicator times its value is added to 0 in Keras's order: first, last, middles.
    const b = this.boundaries.map(Math.trunc);
    const v = this.values.map(f);
    const last = b.length - 1;
    let r = f(0 + f(Number(step <= b[0]) * v[0]));
    r = f(r + f(Number(step > b[last]) * v[v.length - 1]));
    for (let i = 1; i <= last; ++i) r = f(r + f(Number(step > b[i - 1] && step <= b[i]) * v[i]));
    return r;
  }
}

export interface PolynomialDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  endLearningRate?: number;
  power?: number;
  cycle?: boolean;
  name?: string;
}

/** lr = (initial - end) * (1 - step / decay_steps) ^ power + end, optionally cycling. */
export class PolynomialDecay extends LearningRateSchedule {
  static readonly configKeys: Keys = [
    ['initial_learning_rate', 'initialLearningRate'],
    ['decay_steps', 'decaySteps'],
    ['end_learning_rate', 'endLearningRate'],
    ['power', 'power'],
    ['cycle', 'cycle'],
    ['name', 'name'],
  ];
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly endLearningRate: number;
  readonly power: number;
  readonly cycle: boolean;
  readonly name: string;

  constructor(options: PolynomialDecayOptions) {
    super();
    const o = knownOptions(PolynomialDecay, options);
    this.initialLearningRate = finite('initial_learning_rate', o.initialLearningRate);
    this.decaySteps = checkSteps('decay_steps', o.decaySteps);
    this.endLearningRate = finite('end_learning_rate', o.endLearningRate ?? 0.0001);
    this.power = finite('power', o.power ?? 1.0);
    this.cycle = bool('cycle', o.cycle ?? false);
    this.name = checkName(o.name ?? 'PolynomialDecay');
  }

  call(step: number): number {
    checkStep(this, step);
    const initial = f(this.initialLearningRate);
    const end = f(this.endLearningRate);
    let s = f(step);
    let d = f(this.decaySteps);
    if (this.cycle) {
      const multiplier = s === 0 ? 1 : Math.ceil(f(s / d));
      d = f(d * multiplier);
    } else {
      s = Math.min(s, d);
    }
    const p = f(s / d);
    return f(f(f(initial - end) * f(Math.pow(f(1 - p), f(this.power)))) + end);
  }
}

export interface CosineDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  alpha?: number;
  name?: string;
  warmupTarget?: number | null;
  warmupSteps?: number;
}

/** Cosine decay to `alpha * initial` over `decay_steps`, after an optional linear warmup. */
export class CosineDecay extends LearningRateSchedule {
  static readonly configKeys: Keys = [
    ['initial_learning_rate', 'initialLearningRate'],
    ['decay_steps', 'decaySteps'],
    ['alpha', 'alpha'],
    ['name', 'name'],
    ['warmup_target', 'warmupTarget'],
    ['warmup_steps', 'warmupSteps'],
  ];
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly alpha: number;
  readonly name: string;
  readonly warmupTarget: number | null;
  readonly warmupSteps: number;

  constructor(options: CosineDecayOptions) {
    super();
    const o = knownOptions(CosineDecay, options);
    this.initialLearningRate = finite('initial_learning_rate', o.initialLearningRate);
    this.decaySteps = checkSteps('decay_steps', o.decaySteps);
    this.alpha = finite('alpha', o.alpha ?? 0.0);
    this.name = checkName(o.name ?? 'CosineDecay');
    const target = o.warmupTarget ?? null;
    checkFinite('warmup_target', target, { nullable: true });
    this.warmupTarget = target as number | null;
    this.warmupSteps = finite('warmup_steps', o.warmupSteps ?? 0);
    if (this.warmupSteps < 0) {
      throw invalid(RangeError, null, 'warmup_steps', '>= 0', this.warmupSteps);
    }
  }

  private decay(t: number, from: number): number {
    const fraction = f(t / f(this.decaySteps));
    const cosine = f(0.5 * f(1 + f(Math.cos(f(PI32 * fraction)))));
    // (1 - alpha) is a Python float product, rounded once when it meets float32.
    const decayed = f(f(f(1 - this.alpha) * cosine) + f(this.alpha));
    return f(from * decayed);
  }

  call(step: number): number {
    checkStep(this, step);
    const initial = f(this.initialLearningRate);
    const decaySteps = f(this.decaySteps);
    let s = f(step);
    if (this.warmupTarget === null) return this.decay(Math.min(s, decaySteps), initial);
    const target = f(this.warmupTarget);
    const warmupSteps = f(this.warmupSteps);
    s = Math.min(s, f(decaySteps + warmupSteps));
    if (s < warmupSteps) return f(f(f(target - initial) * f(s / warmupSteps)) + initial);
    return this.decay(f(s - warmupSteps), target);
  }
}

export interface CosineDecayRestartsOptions {
  initialLearningRate: number;
  firstDecaySteps: number;
  tMul?: number;
  mMul?: number;
  alpha?: number;
  name?: string;
}

/** SGDR: cosine decay that restarts, each period t_mul times longer and m_mul times lower. */
export class CosineDecayRestarts extends LearningRateSchedule {
  static readonly configKeys: Keys = [
    ['initial_learning_rate', 'initialLearningRate'],
    ['first_decay_steps', 'firstDecaySteps'],
    ['t_mul', 'tMul'],
    ['m_mul', 'mMul'],
    ['alpha', 'alpha'],
    ['name', 'name'],
  ];
  readonly initialLearningRate: number;
  readonly firstDecaySteps: number;
  readonly tMul: number;
  readonly mMul: number;
  readonly alpha: number;
  readonly name: string;

  constructor(options: CosineDecayRestartsOptions) {
    super();
    const o = knownOptions(CosineDecayRestarts, options);
    this.initialLearningRate = finite('initial_learning_rate', o.initialLearningRate);
    this.firstDecaySteps = checkSteps('first_decay_steps', o.firstDecaySteps);
    this.tMul = finite('t_mul', o.tMul ?? 2.0);
    this.mMul = finite('m_mul', o.mMul ?? 1.0);
    this.alpha = finite('alpha', o.alpha ?? 0.0);
    this.name = checkName(o.name ?? 'SGDRDecay');
  }

  call(step: number): number {
    checkStep(this, step);
    const tMul = f(this.tMul);
    const alpha = f(this.alpha);
    let fraction = f(f(step) / f(this.firstDecaySteps));
    let i: number;
    if (tMul === 1) {
      i = Math.floor(fraction);
      fraction = f(fraction - i);
    } else {
      i = Math.floor(f(f(Math.log(f(1 - f(fraction * f(1 - tMul))))) / f(Math.log(tMul))));
      const tPow = f(Math.pow(tMul, i));
      const done = f(f(1 - tPow) / f(1 - tMul));
      fraction = f(f(fraction - done) / tPow);
    }
    const cosine = f(f(0.5 * f(Math.pow(f(this.mMul), i))) * f(1 + f(Math.cos(f(PI32 * fraction)))));
    return f(f(this.initialLearningRate) * f(f(f(1 - alpha) * cosine) + alpha));
  }
}

const registry: Record<string, { fromConfig(config: Config): LearningRateSchedule }> = {
  ExponentialDecay,
  PiecewiseConstantDecay,
  PolynomialDecay,
  InverseTimeDecay,
  CosineDecay,
  CosineDecayRestarts,
};

/** Whether `name` is one of the six Keras schedule classes. */
export function isScheduleClass(name: unknown): boolean {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(registry, name);
}

/** Keras's serialized form: {module, class_name, config, registered_name}. */
export function serialize(schedule: LearningRateSchedule): Config {
  if (!(schedule instanceof LearningRateSchedule)) {
    throw new TypeError(`serialize: expected a LearningRateSchedule. Received: ${describe(schedule)}`);
  }
  return {
    module: 'keras.optimizers.schedules',
    class_name: schedule.constructor.name,
    config: schedule.getConfig(),
    registered_name: null,
  };
}

/** The schedule a serialized form ({class_name, config}) describes. */
export function deserialize(serialized: Config): LearningRateSchedule {
  if (serialized === null || typeof serialized !== 'object') {
    throw new TypeError(`deserialize: expected {class_name, config}. Received: ${describe(serialized)}`);
  }
  const name = serialized.class_name;
  if (!isScheduleClass(name)) {
    throw new RangeError(
      `deserialize: unknown learning rate schedule class_name=${describe(name)} ` + `(known: ${Object.keys(registry).join(', ')})`,
    );
  }
  return registry[name as string].fromConfig((serialized.config ?? {}) as Config);
}
