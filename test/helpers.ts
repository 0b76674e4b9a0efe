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
