// Shared by the test files: the conformance data, value decoding and bit-level comparison.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { isa, setIsa } from '../lib/index.js';
import { availableBackends, backend, useBackend } from '../lib/load.js';

export const CONFORMANCE_DIR = path.join(__dirname, 'conformance');

export function loadJson<T = any>(file: string): T {
  return JSON.parse(readFileSync(path.join(CONFORMANCE_DIR, file), 'utf8')) as T;
}

/** Golden numbers: plain JSON numbers, or "NaN" / "Infinity" / "-Infinity" / {"$float": ...}. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v && typeof v === 'object' && '$float' in v) return Number((v as { $float: string }).$float);
  throw new Error(`not a golden number: ${JSON.stringify(v)}`);
}

/** Recursively decodes the non-finite encodings inside a config. */
export function decode(v: any): any {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object') {
    if ('$float' in v) return num(v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

/**
 * Every backend x instruction set this machine can run, as 'backend/isa' (the golden suite is
 * repeated for each): all backends that load, or only the one SGD_NATIVE_BACKEND forces.
 */
export const TARGETS: string[] = (() => {
  const start = backend.name;
  const names = process.env.SGD_NATIVE_BACKEND ? [start] : availableBackends();
  const targets = names.flatMap((b) => {
    useBackend(b);
    return isa().available.map((i) => `${b}/${i}`);
  });
  useBackend(start);
  return targets;
})();

/** Runs everything on a target of TARGETS from now on. */
export function useTarget(target: string): void {
  const [b, i] = target.split('/');
  useBackend(b);
  setIsa(i);
}

/**
 * `tol` 0: identical bits (NaN matches NaN, zeros keep their sign). Otherwise
 * |a - e| <= tol * (largest finite |e| in the tensor), NaN where NaN is expected.
 * Returns whether the values were bit-identical.
 */
export function compare(actual: ArrayLike<number>, expected: unknown[], tol: number, label: string): boolean {
  const e = expected.map(num);
  expect(actual.length, `${label}: length`).toBe(e.length);
  let exact = true;
  for (let i = 0; i < e.length; ++i) if (!Object.is(actual[i], e[i])) exact = false;
  if (exact) return true;
  if (tol === 0) {
    const i = e.findIndex((x, j) => !Object.is(actual[j], x));
    expect.fail(`${label}[${i}]: got ${actual[i]}, Keras ${e[i]} (bit-exact required)`);
  }
  const scale = Math.max(...e.filter(Number.isFinite).map(Math.abs), 0);
  for (let i = 0; i < e.length; ++i) {
    if (Number.isNaN(e[i])) expect(actual[i], `${label}[${i}]`).toBeNaN();
    else if (!Number.isFinite(e[i])) expect(actual[i], `${label}[${i}]`).toBe(e[i]);
    else if (Math.abs(actual[i] - e[i]) > tol * scale) {
      expect.fail(`${label}[${i}]: got ${actual[i]}, Keras ${e[i]}, beyond ${tol} x ${scale}`);
    }
  }
  return false;
}
