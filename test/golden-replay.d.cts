// Types of test/golden-replay.cjs, for the TypeScript tests.
import type { SGD, Variable } from '../lib/index.js';

export function num(v: unknown): number;
/** The config with its non-finite encodings decoded (shape as in the JSON). */
export function decode<T = Record<string, unknown>>(v: unknown): T;
export function compare(actual: ArrayLike<number>, expected: unknown[], tol: number, label: string): boolean;
/** A case of test/conformance/sgd_golden.json (its fields: see test/golden-replay.cjs). */
export interface GoldenCase {
  id: string;
  [field: string]: unknown;
}
export function replay(
  lib: { SGD: typeof SGD; Variable: typeof Variable },
  c: GoldenCase,
  target?: string,
): { state: number[][]; exact: boolean };
export function digestBytes(cases: readonly { id: string }[], states: Map<string, number[][]>): Uint8Array;
export const GOLDEN_DIGEST: string;
