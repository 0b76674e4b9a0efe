// Keras's SGD config in and out: the constructor arguments, their checks in
// Keras's order with Keras's messages (SPEC.md 1.1), get_config's keys and order.
// Messages that print values with pyStr/pyRepr are Keras's own texts, replayed against
// test/conformance/sgd_errors.json: keep them verbatim (odd spacing included).
import { checkBoolean, checkFinite, checkFloat32, invalid } from './checks.js';
import { describe, pyRepr, pyStr } from './python.js';
import { deserialize, isScheduleClass, LearningRateSchedule, serialize } from './schedules.js';

export type LearningRate = number | LearningRateSchedule | (() => number);

/** The arguments of `keras.optimizers.SGD`, in camelCase. */
export interface SGDOptions {
  learningRate?: LearningRate;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number | null;
  clipnorm?: number | null;
  clipvalue?: number | null;
  globalClipnorm?: number | null;
  useEma?: boolean;
  emaMomentum?: number;
  emaOverwriteFrequency?: number | null;
  lossScaleFactor?: number | null;
  gradientAccumulationSteps?: number | null;
  name?: string;
}

/** A checked configuration: every argument present, as given (Keras keeps values as given). */
export type OptimizerConfig = Required<SGDOptions>;

// camelCase option -> Keras argument, in get_config's order.
const KERAS_NAMES: Record<keyof SGDOptions, string> = {
  name: 'name',
  learningRate: 'learning_rate',
  weightDecay: 'weight_decay',
  clipnorm: 'clipnorm',
  globalClipnorm: 'global_clipnorm',
  clipvalue: 'clipvalue',
  useEma: 'use_ema',
  emaMomentum: 'ema_momentum',
  emaOverwriteFrequency: 'ema_overwrite_frequency',
  lossScaleFactor: 'loss_scale_factor',
  gradientAccumulationSteps: 'gradient_accumulation_steps',
  momentum: 'momentum',
  nesterov: 'nesterov',
};
const OPTION_OF_KERAS: Record<string, keyof SGDOptions> = Object.fromEntries(
  Object.entries(KERAS_NAMES).map(([option, keras]) => [keras, option as keyof SGDOptions]),
);

const DEFAULTS: OptimizerConfig = {
  name: 'sgd',
  learningRate: 0.01,
  weightDecay: null,
  clipnorm: null,
  globalClipnorm: null,
  clipvalue: null,
  useEma: false,
  emaMomentum: 0.99,
  emaOverwriteFrequency: null,
  lossScaleFactor: null,
  gradientAccumulationSteps: null,
  momentum: 0.0,
  nesterov: false,
};

const LR_MESSAGE =
  'Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a callable ' +
  '(that takes in the current iteration value and returns the corresponding learning rate value). ' +
  'Received instead: learning_rate=';

/** A Keras UserWarning, through Node's process warnings. */
export function warn(message: string): void {
  process.emitWarning(message, { type: 'UserWarning' });
}

/**
 * Checks SGD arguments exactly as Keras does, in Keras's order, plus the checks a
 * JS API needs (types, finiteness). `style` says whether keys are our camelCase
 * options or Keras's snake_case config keys.
 */
export function checkOptions(input: unknown, style: 'options' | 'config'): OptimizerConfig {
  if (input === undefined) input = {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalid(TypeError, 'SGD', style, 'an object', input, { named: false });
  }
  // Read every key once (a throwing getter throws here, before anything else happens).
  const given: Partial<Record<keyof SGDOptions, unknown>> = {};
  const unknown: Record<string, unknown> = {};
  let decay: unknown;
  for (const key of Object.keys(input)) {
    const value = (input as Record<string, unknown>)[key];
    const option = style === 'options' ? (key in KERAS_NAMES ? (key as keyof SGDOptions) : undefined) : OPTION_OF_KERAS[key];
    if (key === 'decay') decay = value;
    else if (option === undefined) unknown[key] = value;
    else if (value !== undefined) given[option] = value;
  }
  const c = { ...DEFAULTS, ...given } as Record<keyof SGDOptions, unknown>;

  if (decay !== undefined && decay !== null) warn('Argument `decay` is no longer supported and will be ignored.');
  if (Object.keys(unknown).length > 0) throw new TypeError(`Argument(s) not recognized: ${pyRepr(unknown)}`);

  if (c.name === null) c.name = DEFAULTS.name;
  if (typeof c.name !== 'string' || c.name.includes('/')) {
    const err = typeof c.name !== 'string' ? TypeError : RangeError;
    throw new err(`Argument \`name\` must be a string and cannot contain character \`/\`. Received: name=${pyStr(c.name, 'int')}`);
  }

  const steps = c.gradientAccumulationSteps;
  if (steps !== null && steps !== 0) {
    if (typeof steps === 'boolean') {
      throw new TypeError(`\`gradient_accumulation_steps\` must be an integer >= 2. Received: gradient_accumulation_steps=${pyStr(steps)}`);
    }
    if (typeof steps !== 'number') {
      // Keras fails on the comparison itself; its text is kept for the string case.
      const keras = typeof steps === 'string' ? "'>=' not supported between instances of 'str' and 'int': " : '';
      throw new TypeError(
        `${keras}\`gradient_accumulation_steps\` must be an integer >= 2 or null. ` +
          `Received: gradient_accumulation_steps=${describe(steps)}`,
      );
    }
    if (!(steps >= 2)) {
      throw new RangeError(
        `\`gradient_accumulation_steps\` must be an integer >= 2. Received: gradient_accumulation_steps=${pyStr(steps, 'int')}`,
      );
    }
    checkFinite('gradient_accumulation_steps', steps, { integer: true });
  }

  checkBoolean('use_ema', c.useEma);
  checkFinite('ema_momentum', c.emaMomentum);
  const freq = c.emaOverwriteFrequency;
  if (freq !== null && typeof freq !== 'number') {
    throw new TypeError(
      `\`ema_overwrite_frequency\` must be an integer >= 1 or None. Received: ema_overwrite_frequency=${pyStr(freq, 'int')}`,
    );
  }
  if (c.useEma) {
    const m = c.emaMomentum as number;
    if (m > 1 || m < 0) {
      throw new RangeError(`\`ema_momentum\` must be in the range [0, 1]. Received: ema_momentum=${pyStr(m)}`);
    }
    if (freq && (!Number.isInteger(freq) || (freq as number) < 1)) {
      throw new RangeError(
        `\`ema_overwrite_frequency\` must be an integer >= 1 or None. Received: ema_overwrite_frequency=${pyStr(freq, 'int')}`,
      );
    }
  }
  checkFinite('ema_overwrite_frequency', freq, { nullable: true });

  for (const option of ['clipnorm', 'clipvalue', 'globalClipnorm'] as const) {
    checkFinite(KERAS_NAMES[option], c[option], { nullable: true });
  }
  if ([c.clipnorm, c.clipvalue, c.globalClipnorm].filter((v) => v !== null).length > 1) {
    throw new RangeError(
      'Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. ' +
        `Received: clipnorm=${pyStr(c.clipnorm)}, clipvalue=${pyStr(c.clipvalue)}, global_clipnorm=${pyStr(c.globalClipnorm)}`,
    );
  }

  c.learningRate = checkLearningRate(c.learningRate, style);

  const momentum = c.momentum;
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
    const err = typeof momentum !== 'number' ? TypeError : RangeError;
    throw new err(`\`momentum\` must be a float between [0, 1]. Received: momentum=${describe(momentum)}`);
  }

  checkBoolean('nesterov', c.nesterov);
  checkFinite('weight_decay', c.weightDecay, { nullable: true });
  checkFinite('loss_scale_factor', c.lossScaleFactor, { nullable: true });
  for (const option of ['learningRate', 'weightDecay', 'clipnorm', 'clipvalue', 'globalClipnorm', 'lossScaleFactor'] as const) {
    if (typeof c[option] === 'number') checkFloat32(KERAS_NAMES[option], c[option] as number);
  }
  return c as OptimizerConfig;
}

function checkLearningRate(lr: unknown, style: 'options' | 'config'): LearningRate {
  if (lr instanceof LearningRateSchedule || typeof lr === 'function') return lr as LearningRate;
  if (typeof lr === 'number') {
    if (!Number.isFinite(lr)) {
      throw invalid(RangeError, null, 'learning_rate', 'a finite number', lr);
    }
    return lr;
  }
  if (style === 'config' && lr !== null && typeof lr === 'object' && !Array.isArray(lr)) {
    const { class_name: className } = lr as Record<string, unknown>;
    if (isScheduleClass(className)) return deserialize(lr as Record<string, unknown>);
    if (className === 'function') {
      throw new TypeError(
        `learning_rate=${pyRepr(lr)} is a serialized function: functions cannot be restored from a config. ` +
          'Pass the function itself as `learning_rate` in the config.',
      );
    }
    throw new TypeError(LR_MESSAGE + pyStr(className ?? lr));
  }
  throw new TypeError(LR_MESSAGE + pyStr(lr));
}

/** Keras's get_config(): its keys, its order, values as given (a float rate rounded to float32). */
export function toKerasConfig(c: OptimizerConfig, learningRate: number | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [option, keras] of Object.entries(KERAS_NAMES) as [keyof SGDOptions, string][]) {
    out[keras] = c[option];
  }
  const lr = c.learningRate;
  if (lr instanceof LearningRateSchedule) out.learning_rate = serialize(lr);
  else if (typeof lr === 'function') {
    out.learning_rate = { module: 'builtins', class_name: 'function', config: lr.name || '<lambda>', registered_name: 'function' };
  } else out.learning_rate = learningRate;
  return out;
}

/** Accepts Keras's config or its serialized wrapper {class_name: 'SGD', config}. */
export function unwrapConfig(config: unknown): unknown {
  if (config !== null && typeof config === 'object' && 'class_name' in config && 'config' in config) {
    const { class_name: name, config: inner } = config as Record<string, unknown>;
    if (name !== 'SGD') throw new TypeError(`SGD.fromConfig: class_name must be 'SGD'. Received: ${describe(name)}`);
    return inner;
  }
  return config;
}
