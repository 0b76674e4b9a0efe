// The js backend: the fused step of native/step.cc + native/kernels/sgd_kernel.h in
// plain JavaScript, with the same bits. float32 tensors round every + - * / and sqrt on
// its own with Math.fround (an operation on two float32 values done in double and then
// rounded to float32 is the correctly rounded float32 result), float64 tensors use plain
// doubles; hyperparameters are rounded to the tensor's dtype as native/binding.cc does.
// In place on the caller's arrays; nothing is allocated per step. One thread: the native
// backend's threads never change bits (fixed pieces), so there is nothing to reproduce.
import { CLIP, PER_TENSOR, SCALAR_NAMES, type Backend, type FloatArray } from './native.js';
import { checkLengths, checkStepArgs, isF64, onCallingThread } from './step-args.js';

type Round = (x: number) => number;
const at = Object.fromEntries(SCALAR_NAMES.map((n, i) => [n, i])) as Record<(typeof SCALAR_NAMES)[number], number>;
const COUNT = SCALAR_NAMES.length;

/** One call's hyperparameters, rounded to one dtype (native/kernels/step_types.h's Scalars<T>). */
class Hyper {
  accumulate = false;
  unscale = false;
  lossScale = 0;
  average = false;
  accumSteps = 0;
  clip = 0;
  clipValue = 0;
  lr = 0;
  momentumOn = false;
  momentum = 0;
  nesterov = false;
  weightDecay = 0;
  ema = false;
  emaE = 0;
  emaOneMinusE = 0;
  overwrite = false;

  constructor(readonly f32: boolean) {}

  /** To this dtype. (A method, not a stored function, so V8 inlines it: a double returned from a call would be boxed.) */
  round(v: number): number {
    return this.f32 ? Math.fround(v) : v;
  }

  fill(x: Float64Array, momentumOn: boolean): void {
    this.accumulate = x[at.mode] === 1;
    this.unscale = !Number.isNaN(x[at.lossScale]);
    this.lossScale = this.round(x[at.lossScale]);
    this.average = x[at.accumSteps] !== 0;
    this.accumSteps = this.round(x[at.accumSteps]);
    this.clip = Math.trunc(x[at.clip]);
    this.clipValue = this.round(x[at.clipValue]);
    this.lr = this.round(x[at.lr]);
    this.momentumOn = momentumOn; // the slot exists exactly when momentum != 0
    this.momentum = this.round(x[at.momentum]);
    this.nesterov = x[at.nesterov] !== 0;
    this.weightDecay = this.round(x[at.weightDecay]);
    this.ema = x[at.ema] !== 0;
    this.emaE = this.round(x[at.emaE]);
    this.emaOneMinusE = this.round(1 - this.emaE);
    this.overwrite = x[at.overwrite] !== 0;
  }
}

// Per-tensor numbers of the step in call order, in Float64Arrays: a double passed to or
// returned from a call V8 does not inline is boxed (an allocation per step).
let sums = new Float64Array(16); // sums of squares of the gradients, in call order
let factors = new Float64Array(16); // clip factors
let decayLrs = new Float64Array(16); // learning rates of the weight decay, rounded to the tensor's dtype
let f64s = new Uint8Array(16); // 1 where the tensor is float64 (asked once per step)
const result = new Float64Array(1);
const BLOCK = 1024; // elements per block of update()

/** The kernels for one dtype: `r` rounds a double to it (Math.fround, or nothing for float64). */
function kernels(r: Round) {
  const h = new Hyper(r === Math.fround);
  const lanes = new Float64Array(8);
  const stack = new Float64Array(64); // pairwise(): the result of a call at depth d is stack[d]
  const gbuf = r === Math.fround ? new Float32Array(BLOCK) : new Float64Array(BLOCK); // a block's gradient
  // What pairwise() sums: the squares of the pre-clip gradient `src` (with `acc`), or src's values.
  let src: FloatArray | null = null;
  let acc: FloatArray | null = null;
  let squares = false;

  function term(i: number): number {
    let g = src![i];
    if (!squares) return r(g);
    if (h.unscale) g = r(g / h.lossScale);
    if (h.average) g = r(r(g + acc![i]) / h.accumSteps);
    return r(g * g);
  }

  // numpy's pairwise sum of terms [off, off + n) into stack[d] (native/kernels/pairwise.h).
  function pairwise(off: number, n: number, d: number): void {
    if (n < 8) {
      let s = 0;
      for (let i = 0; i < n; ++i) s = r(s + term(off + i));
      stack[d] = s;
    } else if (n <= 128) {
      for (let j = 0; j < 8; ++j) lanes[j] = term(off + j);
      const full = n - (n % 8);
      for (let i = 8; i < full; i += 8) for (let j = 0; j < 8; ++j) lanes[j] = r(lanes[j] + term(off + i + j));
      let s = r(r(r(lanes[0] + lanes[1]) + r(lanes[2] + lanes[3])) + r(r(lanes[4] + lanes[5]) + r(lanes[6] + lanes[7])));
      for (let i = full; i < n; ++i) s = r(s + term(off + i));
      stack[d] = s;
    } else {
      let m = n >>> 1;
      m -= m % 8;
      pairwise(off, m, d + 1);
      stack[d] = stack[d + 1]; // no double held across a call (V8 would box it)
      pairwise(off + m, n - m, d + 1);
      stack[d] = r(stack[d] + stack[d + 1]);
    }
  }

  return {
    h,
    /** sums[at] = the sum of squares of the pre-clip gradient; clipnorm: factors[i] = max(norm, c). */
    sumsq(grad: FloatArray, accumulator: FloatArray | null, at: number, i: number): void {
      src = grad;
      acc = accumulator;
      squares = true;
      pairwise(0, grad.length, 0);
      src = acc = null;
      const sum = stack[0];
      sums[at] = sum;
      if (h.clip !== CLIP.norm) return;
      // numpy's maximum: NaN propagates.
      const norm = sum > 0 ? r(Math.sqrt(sum)) : sum;
      factors[i] = Number.isNaN(norm) ? norm : norm > h.clipValue ? norm : h.clipValue;
    },

    /** global_clipnorm's scale into result[0]: c * min(1/G, 1/c) + (G - G), 1/c taken in double then rounded. */
    globalScale(n: number, scalars: Float64Array): void {
      const c = scalars[at.clipValue];
      src = sums;
      squares = false;
      pairwise(0, n, 0);
      src = null;
      const g = r(Math.sqrt(stack[0]));
      const inv = r(1 / g);
      const invC = r(1 / c);
      const m = Number.isNaN(inv) ? inv : inv < invC ? inv : invC;
      result[0] = r(r(r(c) * m) + r(g - g));
    },

    /**
     * Every elementwise stage of the step over one whole tensor (sgd_kernel.h's step_lanes),
     * block by block: each stage a loop of its own over the block, so no loop tests an
     * option per element (the same arithmetic per element, in the same order).
     */
    update(
      t: number,
      w: FloatArray,
      grad: FloatArray | null,
      mom: FloatArray | null,
      avg: FloatArray | null,
      acc: FloatArray | null,
      decay: boolean,
    ): void {
      const n = w.length;
      const factor = factors[t];
      const decayLr = decayLrs[t];
      const { unscale, lossScale, average, accumSteps, clip, lr, momentum: mu, nesterov, ema, overwrite } = h;
      const e = h.emaE;
      const ome = h.emaOneMinusE;
      if (grad !== null && h.accumulate) {
        for (let i = 0; i < n; ++i) acc![i] = r((unscale ? r(grad[i] / lossScale) : grad[i]) + acc![i]);
      }
      if (grad === null && !h.accumulate && average) acc!.fill(0); // Keras zeroes every accumulator at an update step
      const updating = grad !== null && !h.accumulate;
      if (!updating && !ema) return;
      const hi = h.clipValue;
      const lo = -h.clipValue;
      const wd = h.weightDecay;
      // The gradient as the update reads it: g[i - o] (the caller's array, or the block's transformed copy).
      const transformed = unscale || average || clip !== CLIP.none;
      for (let b = 0; b < n; b += BLOCK) {
        const end = Math.min(n, b + BLOCK);
        if (updating) {
          let g = grad!;
          let o = 0;
          if (transformed) {
            for (let i = b; i < end; ++i) {
              let x = grad![i];
              if (unscale) x = r(x / lossScale);
              if (average) {
                x = r(r(x + acc![i]) / accumSteps);
                acc![i] = 0;
              }
              if (clip === CLIP.value) {
                // numpy clip: NaN stays NaN, -0.0 stays -0.0 (the native comparisons, in order).
                x = x < lo ? lo : x;
                x = hi < x ? hi : x;
              } else if (clip === CLIP.norm) {
                x = r(r(x * hi) / factor);
              } else if (clip === CLIP.globalNorm) {
                x = r(x * factor);
              }
              gbuf[i - b] = x;
            }
            g = gbuf;
            o = b;
          }
          if (decay) for (let i = b; i < end; ++i) w[i] = r(w[i] - r(r(w[i] * wd) * decayLr));
          if (!h.momentumOn) {
            for (let i = b; i < end; ++i) w[i] = r(w[i] - r(g[i - o] * lr));
          } else if (!nesterov) {
            for (let i = b; i < end; ++i) {
              const m = r(r(mom![i] * mu) - r(g[i - o] * lr));
              mom![i] = m;
              w[i] = r(w[i] + m);
            }
          } else {
            for (let i = b; i < end; ++i) {
              const m = r(r(mom![i] * mu) - r(g[i - o] * lr));
              mom![i] = m;
              w[i] = r(w[i] + r(r(m * mu) - r(g[i - o] * lr)));
            }
          }
        }
        if (ema) {
          for (let i = b; i < end; ++i) avg![i] = r(r(e * avg![i]) + r(ome * w[i]));
          if (overwrite) for (let i = b; i < end; ++i) w[i] = avg![i];
        }
      }
    },
  };
}

/** An update step that reads the gradient as it is: no accumulation, loss scaling, clipping or EMA. */
function plainUpdate(h: Hyper): boolean {
  return !h.accumulate && !h.unscale && !h.average && h.clip === CLIP.none && !h.ema;
}

// update() of plainUpdate steps on float32 tensors without weight decay: the same arithmetic.
const fr = Math.fround;
function plainF32(w: Float32Array, g: Float32Array, lr: number): void {
  const n = w.length;
  for (let i = 0; i < n; ++i) w[i] = fr(w[i] - fr(g[i] * lr));
}
function momentumF32(w: Float32Array, g: Float32Array, mom: Float32Array, lr: number, mu: number, nesterov: boolean): void {
  const n = w.length;
  if (!nesterov) {
    for (let i = 0; i < n; ++i) {
      const m = fr(fr(mom[i] * mu) - fr(g[i] * lr));
      mom[i] = m;
      w[i] = fr(w[i] + m);
    }
  } else {
    for (let i = 0; i < n; ++i) {
      const m = fr(fr(mom[i] * mu) - fr(g[i] * lr));
      mom[i] = m;
      w[i] = fr(w[i] + fr(fr(m * mu) - fr(g[i] * lr)));
    }
  }
}

const k32 = kernels(Math.fround);
const k64 = kernels((x) => x);

/** The step on checked arguments. */
const run: Backend['step'] = (variables, grads, momentums, averages, accumulators, scalars) => {
  const n = variables.length;
  const momentumOn = momentums !== null && momentums !== undefined;
  if (factors.length < n) {
    sums = new Float64Array(2 * n);
    factors = new Float64Array(2 * n);
    decayLrs = new Float64Array(2 * n);
    f64s = new Uint8Array(2 * n);
  }
  let hasF32 = false;
  let hasF64 = false;
  for (let i = 0; i < n; ++i) {
    const f64 = isF64(variables[i]);
    f64s[i] = f64 ? 1 : 0;
    if (f64) hasF64 = true;
    else hasF32 = true;
    const lr = scalars[COUNT + n + i];
    decayLrs[i] = f64 ? lr : Math.fround(lr);
  }
  if (hasF32) k32.h.fill(scalars, momentumOn);
  if (hasF64) k64.h.fill(scalars, momentumOn);
  const { clip, accumulate } = (hasF32 ? k32 : k64).h; // (the same in both dtypes)
  if (!accumulate && (clip === CLIP.norm || clip === CLIP.globalNorm)) {
    let count = 0;
    let anyF64 = false;
    for (let i = 0; i < n; ++i) {
      const g = grads[i];
      if (g === null || g === undefined) continue;
      const f64 = f64s[i] === 1;
      anyF64 ||= f64;
      (f64 ? k64 : k32).sumsq(g, accumulators?.[i] ?? null, count++, i);
    }
    if (clip === CLIP.globalNorm) {
      // All-float32 gradients reduce in float32, as Keras does; any float64 one makes it float64.
      (anyF64 ? k64 : k32).globalScale(count, scalars);
      for (let i = 0; i < n; ++i) factors[i] = f64s[i] ? result[0] : Math.fround(result[0]);
    }
  }
  const fast = hasF32 && !hasF64 && plainUpdate(k32.h);
  for (let i = 0; i < n; ++i) {
    const g = grads[i];
    if (fast && g && scalars[COUNT + i] === 0) {
      // The common float32 step: small functions of their own, which V8 compiles tighter than update()'s blocks.
      const h = k32.h;
      if (!h.momentumOn) plainF32(variables[i] as Float32Array, g as Float32Array, h.lr);
      else momentumF32(variables[i] as Float32Array, g as Float32Array, momentums![i] as Float32Array, h.lr, h.momentum, h.nesterov);
      continue;
    }
    (f64s[i] ? k64 : k32).update(
      i,
      variables[i],
      grads[i] ?? null,
      momentumOn ? momentums[i] : null,
      averages?.[i] ?? null,
      accumulators?.[i] ?? null,
      scalars[COUNT + i] !== 0,
    );
  }
};

const step: Backend['step'] = (...args) => {
  checkStepArgs(...args);
  run(...args);
};

/**
 * step() for the lists lib/sgd.ts builds itself (their types are right by construction):
 * only the lengths, which a detached or resized buffer changes, are checked again.
 */
export const stepOwnLists: Backend['step'] = (...args) => {
  checkLengths(...args);
  run(...args);
};

/** The js backend (one thread: see onCallingThread). */
export const jsBackend: Backend = {
  ...onCallingThread(step, 'js'),
  scalarLayout: { names: SCALAR_NAMES, perTensor: PER_TENSOR },
};
