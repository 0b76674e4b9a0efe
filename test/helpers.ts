// Shared by the test files: the conformance data and the backend x ISA targets.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isa, setIsa } from '../lib/index.js';
import { availableBackends, backend, useBackend } from '../lib/load.js';

export const CONFORMANCE_DIR = path.join(__dirname, 'conformance');

export function loadJson<T = any>(file: string): T {
  return JSON.parse(readFileSync(path.join(CONFORMANCE_DIR, file), 'utf8')) as T;
}

export { decode, num } from './golden-replay.cjs';

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

/** Optimizer configs that together take every stage of a step (the tests that compare two paths of a step). */
export const STEP_CONFIGS = [
  { momentum: 0.9 },
  { momentum: 0.9, nesterov: true, weightDecay: 0.01 },
  { useEma: true, emaOverwriteFrequency: 2, learningRate: 0.3 },
  { gradientAccumulationSteps: 2, lossScaleFactor: 4, momentum: 0.5 },
  { clipvalue: 0.1 },
  { clipnorm: 0.5, momentum: 0.9 },
  { globalClipnorm: 0.5, momentum: 0.9, useEma: true },
];
