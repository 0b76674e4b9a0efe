// The typed surface of the addon: exactly what native/binding.cc exports.
import * as path from 'node:path';

export type FloatArray = Float32Array | Float64Array;

/** Indices into the `scalars` Float64Array of `step` (mirrored in native/binding.cc). */
export const S = {
  Mode: 0, // 0: update step, 1: accumulate only
  LossScale: 1, // NaN: no loss scaling
  AccumSteps: 2, // 0: no averaging with the accumulators on this update
  Clip: 3, // 0 none, 1 clipvalue, 2 clipnorm, 3 global_clipnorm
  ClipValue: 4,
  Lr: 5,
  Momentum: 6, // 0: no momentum slot
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
    decay: Uint8Array,
    decayLr: Float64Array,
    scalars: Float64Array,
  ): void;
  isa(): { active: string; available: string[] };
  setIsa(name: string): void;
}

const root = path.join(__dirname, '..');

function load(): Native {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gypBuild = require('node-gyp-build') as (dir: string) => Native;
  return gypBuild(root);
}

export const native: Native = load();
