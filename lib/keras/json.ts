// JSON as Keras's config.json has it. JavaScript has one number type, Python two, and
// Keras checks some arguments with isinstance(x, float) (SGD's `momentum`, a numeric
// `learning_rate`): a float written as `0` would come back as an int and be refused.
// So the optimizer config is written with its float arguments spelt as Python floats.

/** Keys of an SGD config (and of the Keras learning-rate schedules) that Keras holds as Python floats. */
const FLOAT_KEYS = new Set([
  'learning_rate',
  'weight_decay',
  'clipnorm',
  'global_clipnorm',
  'clipvalue',
  'ema_momentum',
  'momentum',
  'loss_scale_factor',
  'initial_learning_rate',
  'decay_rate',
  'end_learning_rate',
  'power',
  'alpha',
  't_mul',
  'm_mul',
  'warmup_target',
  'values',
]);

/** Python's repr of a float, which json.loads reads back as a float. */
function pyFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  return Number.isInteger(x) && Math.abs(x) < 1e16 ? `${x.toFixed(1)}` : String(x);
}

/** Writes `value` as Python's json.dumps would (", " and ": " separators); numbers under FLOAT_KEYS of a
 *  config inside `floatScope` objects are written as floats. */
export function toKerasJson(value: unknown, floatScope: Set<object>): string {
  const write = (v: unknown, asFloat: boolean, scoped: boolean): string => {
    if (typeof v === 'number') return asFloat ? pyFloat(v) : JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map((x) => write(x, asFloat, scoped)).join(', ')}]`;
    if (v !== null && typeof v === 'object') {
      const inScope = scoped || floatScope.has(v);
      const parts = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${write(x, inScope && FLOAT_KEYS.has(k), inScope)}`);
      return `{${parts.join(', ')}}`;
    }
    return JSON.stringify(v) ?? 'null';
  };
  return write(value, false, false);
}
