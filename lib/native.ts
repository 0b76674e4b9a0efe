// The backend contract: what an implementation of the step provides (native/binding.cc
// exports exactly this), and the layout of the `scalars` it reads. No side effects:
// loading lives in load.ts.

export type FloatArray = Float32Array | Float64Array;

/** The named entries of `scalars` lib/ uses; their order and meanings are defined in native/scalars.h. */
export const SCALAR_NAMES = [
  'mode',
  'lossScale',
  'accumSteps',
  'clip',
  'clipValue',
  'lr',
  'momentum',
  'nesterov',
  'weightDecay',
  'ema',
  'emaE',
  'overwrite',
] as const;
/** The per-tensor tails that follow the named entries, n values each, in this order. */
export const PER_TENSOR = ['decayOn', 'decayLr'] as const;

export type ScalarName = (typeof SCALAR_NAMES)[number];

/** Values of `scalars[layout.clip]`. */
export const CLIP = { none: 0, value: 1, norm: 2, globalNorm: 3 } as const;

/**
 * Where each number of a step lives in `scalars`:
 * [named entries (count) | decayOn per tensor (n) | decayLr per tensor (n)].
 */
export type ScalarLayout = Readonly<Record<ScalarName, number>> & {
  readonly count: number;
  /** Index of tensor i's weight-decay flag in a step over n tensors. */
  decayOn(n: number, i: number): number;
  /** Index of the learning rate tensor i's weight decay uses. */
  decayLr(n: number, i: number): number;
  /** Length of `scalars` for a step over n tensors. */
  length(n: number): number;
};

/** What a backend exports to describe its layout: the names in index order. */
export interface ExportedLayout {
  names: readonly string[];
  perTensor: readonly string[];
}

/** The layout a backend exports, checked against the names lib/ uses. */
export function scalarLayout(exported: ExportedLayout | undefined, backendName: string): ScalarLayout {
  const names = exported?.names;
  const tails = exported?.perTensor;
  const agree =
    Array.isArray(names) &&
    Array.isArray(tails) &&
    names.length === SCALAR_NAMES.length &&
    SCALAR_NAMES.every((n) => names.includes(n)) &&
    tails.length === PER_TENSOR.length &&
    PER_TENSOR.every((t, i) => tails[i] === t);
  if (!agree) {
    throw new Error(
      `sgd-native: the ${backendName} backend's scalar layout (${JSON.stringify(exported)}) does not match this ` +
        `version of lib/ (names ${SCALAR_NAMES.join(', ')}; per tensor ${PER_TENSOR.join(', ')}). ` +
        'The binary and the JavaScript come from different builds: rebuild (npm rebuild sgd-native).',
    );
  }
  const count = names.length;
  const index = Object.fromEntries(SCALAR_NAMES.map((n) => [n, names.indexOf(n)])) as Record<ScalarName, number>;
  return Object.freeze({
    ...index,
    count,
    decayOn: (_n: number, i: number) => count + i,
    decayLr: (n: number, i: number) => count + n + i,
    length: (n: number) => count + PER_TENSOR.length * n,
  });
}

/** What Backend.bind() returns: an opaque handle. */
export interface BoundArrays {
  readonly __boundArrays: never; // a brand: only bind() makes one
}

/** One implementation of the step (today: the native addon). */
export interface Backend {
  /** One optimizer step over every tensor; state lists are null when the slot does not exist. */
  step(
    variables: readonly FloatArray[],
    grads: readonly (FloatArray | null)[],
    momentums: readonly FloatArray[] | null,
    averages: readonly FloatArray[] | null,
    accumulators: readonly FloatArray[] | null,
    scalars: Float64Array,
  ): void;
  /** The same step on a worker thread; the arrays must stay as they are until it settles. */
  stepAsync(...args: Parameters<Backend['step']>): Promise<void>;
  /**
   * Optional (the addon has it): holds the arrays a synchronous step writes (variables and
   * state lists, as step() takes them) from one step to the next, so that stepBound()
   * takes only the scalars and the gradients (in the same order as the variables).
   */
  bind?(
    variables: readonly FloatArray[],
    momentums: readonly FloatArray[] | null,
    averages: readonly FloatArray[] | null,
    accumulators: readonly FloatArray[] | null,
  ): BoundArrays;
  stepBound?(handle: BoundArrays, scalars: Float64Array, ...grads: (FloatArray | null)[]): void;
  isa(): { active: string; available: string[] };
  numThreads(): number;
  setNumThreads(n: number): void;
  setIsa(name: string): void;
  readonly scalarLayout: ExportedLayout;
}

/** A loaded backend with its checked layout. */
export interface LoadedBackend {
  readonly name: string;
  readonly impl: Backend;
  readonly layout: ScalarLayout;
}
