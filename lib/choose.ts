// Picks the backend from an ordered list of candidates (native, wasm, js): the first that
// loads, or the one SGD_NATIVE_BACKEND names. Says once, as a warning, when it falls back
// and why. No platform code: lib/load.ts (Node, Bun, Deno) and lib/load.browser.ts give
// the candidates.
import { scalarLayout, type Backend, type LoadedBackend } from './native.js';

export type BackendName = 'native' | 'wasm' | 'js';

export interface Candidate {
  readonly name: BackendName;
  /** Loads it, or throws why not. An error with `fatal: true` stops the search (a bad setting). */
  readonly load: () => Backend;
}

export interface Chooser {
  /** The backend in use; swapped in place by use(), so every module sees the change. */
  readonly backend: LoadedBackend;
  /** Every candidate that loads here, in order of preference. */
  available(): BackendName[];
  /** Makes `name` the backend in use (tests run the suite once per backend with it). */
  use(name: string): void;
}

function fail(message: string, cause?: unknown): Error {
  const err = new Error(message);
  if (cause !== undefined) (err as Error & { cause?: unknown }).cause = cause;
  return err;
}

const oneLine = (e: unknown) => String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ');

export function choose(candidates: readonly Candidate[], forced: string | undefined, warn: (message: string) => void): Chooser {
  const loaded = new Map<BackendName, LoadedBackend | Error>();
  const names = candidates.map((c) => c.name);
  const tryLoad = (c: Candidate): LoadedBackend | Error => {
    if (!loaded.has(c.name)) {
      try {
        const impl = c.load();
        loaded.set(c.name, { name: c.name, impl, layout: scalarLayout(impl.scalarLayout, c.name) });
      } catch (e) {
        if ((e as { fatal?: boolean }).fatal) throw e;
        loaded.set(c.name, e as Error);
      }
    }
    return loaded.get(c.name)!;
  };
  const available = () => candidates.filter((c) => !(tryLoad(c) instanceof Error)).map((c) => c.name);

  const pick = (name: string): LoadedBackend => {
    const c = candidates.find((x) => x.name === name);
    if (!c) throw fail(`sgd-native: SGD_NATIVE_BACKEND=${name} is not a backend (backends: ${names.join(', ')})`);
    const b = tryLoad(c);
    if (b instanceof Error) {
      throw fail(
        `sgd-native: SGD_NATIVE_BACKEND=${name}: the ${name} backend cannot be loaded here ` +
          `(available: ${available().join(', ')}).\n${b.message}`,
        b,
      );
    }
    return b;
  };

  let first: LoadedBackend;
  if (forced) {
    first = pick(forced);
  } else {
    const reasons: string[] = [];
    let found: LoadedBackend | undefined;
    for (const c of candidates) {
      const b = tryLoad(c);
      if (!(b instanceof Error)) {
        found = b;
        break;
      }
      reasons.push(`the ${c.name} backend could not be loaded: ${oneLine(b)}`);
    }
    if (!found) throw fail(`sgd-native: no backend loads here.\n${reasons.join('\n')}`);
    if (reasons.length > 0) warn(`sgd-native: using the ${found.name} backend (same results, slower): ${reasons.join('; ')}`);
    first = found;
  }
  const backend = { ...first };
  return {
    backend,
    available,
    use(name: string) {
      Object.assign(backend, pick(name));
    },
  };
}
