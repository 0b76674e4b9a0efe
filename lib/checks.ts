// Argument checks and their messages. Keras's own argument errors keep Keras's texts
// (config.ts, schedules.ts); every check of ours builds its message here, naming the
// argument and the value it received.
import type { FloatArray } from './native.js';
import { describe } from './python.js';

type ErrorClass = new (message: string) => Error;

/**
 * The error for an argument that is not what it must be:
 * "<where>: `arg` must be <expected>. Received: arg=<value>" ("Argument `arg` …" without
 * `where`). `shown` replaces the default description of the value; `named: false`
 * leaves out the "arg=" (for arguments whose name is a phrase).
 */
export function invalid(
  Err: ErrorClass,
  where: string | null,
  arg: string,
  expected: string,
  value: unknown,
  opts: { shown?: string; named?: boolean } = {},
): Error {
  const shown = opts.shown ?? describe(value);
  const received = opts.named === false ? shown : `${arg}=${shown}`;
  return new Err(`${where ? `${where}: ` : 'Argument '}\`${arg}\` must be ${expected}. Received: ${received}`);
}

/** A plain object (not null, not an array). */
export function checkObject(where: string, arg: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(TypeError, where, arg, 'an object', value, { named: false });
  }
}

/** A number option that must be finite; `nullable` also lets null mean "off". */
export function checkFinite(arg: string, value: unknown, opts: { nullable?: boolean; integer?: boolean } = {}): void {
  if (opts.nullable && value === null) return;
  const what = `${opts.integer ? 'an integer' : 'a finite number'}${opts.nullable ? ' or null' : ''}`;
  if (typeof value !== 'number') throw invalid(TypeError, null, arg, what, value);
  if (!Number.isFinite(value) || (opts.integer && !Number.isInteger(value))) throw invalid(RangeError, null, arg, what, value);
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** A hyperparameter Keras casts to float32 must not overflow it (it would become Infinity). */
export function checkFloat32(arg: string, value: number | null): void {
  if (value !== null && Math.abs(value) > FLOAT32_MAX) {
    throw new RangeError(`Argument \`${arg}\` overflows float32 (|x| <= 3.4e38). Received: ${arg}=${describe(value)}`);
  }
}

export function checkBoolean(arg: string, value: unknown): void {
  if (typeof value !== 'boolean') throw invalid(TypeError, null, arg, 'a boolean', value);
}

/** Whether two arrays overlap in memory. */
export function sameMemory(a: FloatArray, b: FloatArray): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
