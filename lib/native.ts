// The typed surface of the addon: exactly what native/binding.cc exports.
import * as path from 'node:path';

export type FloatArray = Float32Array | Float64Array;

/**
 * Layout of the `params` Float64Array of `step` (mirrored in native/binding.cc): these
 * scalars, then a weight-decay flag per tensor, then the learning rate each decay uses.
 */
export const S = {
  Mode: 0, // 0: update step, 1: accumulate only
  LossScale: 1, // NaN: no loss scaling
  AccumSteps: 2, // 0: no averaging with the accumulators on this update
  Clip: 3, // 0 none, 1 clipvalue, 2 clipnorm, 3 global_clipnorm
  ClipValue: 4,
  Lr: 5,
  Momentum: 6, // used when `momentums` is passed (the slot exists exactly when momentum != 0)
  Nesterov: 7,
  WeightDecay: 8,
  Ema: 9,
  EmaE: 10, // (iterations != 0) * ema_momentum
  Overwrite: 11,
  Count: 12,
} as const;

export interface Native {
  /** One optimizer step over every tensor; state lists are null when the slot does not exist. */
  step(
    variables: readonly FloatArray[],
    grads: readonly (FloatArray | null)[],
    momentums: readonly FloatArray[] | null,
    averages: readonly FloatArray[] | null,
    accumulators: readonly FloatArray[] | null,
    params: Float64Array,
  ): void;
  /** The same step on a worker thread; the arrays must stay as they are until it settles. */
  stepAsync(...args: Parameters<Native['step']>): Promise<void>;
  isa(): { active: string; available: string[] };
  numThreads(): number;
  setNumThreads(n: number): void;
  setIsa(name: string): void;
}

const root = path.join(__dirname, '..');

function libc(): string {
  if (process.platform !== 'linux') return '';
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl (no glibc found)';
}

/** Loads the addon: a prebuilt binary if one fits, else a local build; says why and what to do when neither loads. */
function load(): Native {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gypBuild = require('node-gyp-build') as (dir: string) => Native;
  try {
    return gypBuild(root);
  } catch (e) {
    if (/SGD_NATIVE_ISA/.test(String((e as Error).message))) throw e;
    const target = `${process.platform}-${process.arch}`;
    const where = [
      process.env.PREBUILDS_ONLY ? null : path.join(root, 'build', 'Release', '*.node'),
      path.join(root, 'prebuilds', target, '*.node'),
    ].filter(Boolean);
    const err = new Error(
      `sgd-native: the native addon could not be loaded on ${target}` +
        `${libc() ? ` (${libc()})` : ''}, Node ${process.version} (Node-API ${process.versions.napi}).\n` +
        `Looked for: ${where.join(', ')}.\n` +
        `Cause: ${(e as Error).message.split('\n')[0]}\n` +
        'To build it from source (needs Python 3, make and a C++17 compiler): ' +
        '`npm rebuild sgd-native --build-from-source` (or `npm install --build-from-source`). ' +
        'Prebuilt binaries ship for linux-x64 (glibc), linux-arm64 (glibc), darwin-x64, darwin-arm64 and win32-x64.',
    );
    (err as Error & { cause?: unknown }).cause = e;
    throw err;
  }
}

export const native: Native = load();
