// The wasm backend: native/step.cc and the kernel of native/kernels/ compiled to
// WebAssembly SIMD128 (wasm/sgd.wasm, built by `npm run build:wasm`, shipped). A step
// copies each array into the module's memory once and each array the step writes back
// out once (in cache-sized slices when no norm pass needs every gradient first); the
// kernel is the native one, so the bits are the native ones.
import { CLIP, PER_TENSOR, SCALAR_NAMES, type Backend, type ExportedLayout, type FloatArray } from './native.js';
import { checkStepArgs, isF64, onCallingThread } from './step-args.js';

/** Where the module lives, relative to the package root. */
export const WASM_FILE = 'wasm/sgd.wasm';

/** The part of the WebAssembly API used here (typed here: not every lib/ build has the DOM types). */
interface WasmApi {
  Module: new (bytes: ArrayBufferView | ArrayBuffer) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface Exports {
  memory: { buffer: ArrayBuffer };
  _initialize(): void;
  sgd_scratch(bytes: number): number;
  sgd_layout(): number;
  sgd_isa(): number;
  sgd_step(descs: number, n: number, scalars: number, momentumOn: number): void;
}

const CHUNK = 1 << 14; // elements per slice of a step without a norm pass
const DESC_WORDS = 7; // native/wasm/driver.cc's Desc: is_f64, size, var, grad, momentum, average, accumulator
const align = (bytes: number) => (bytes + 15) & ~15;
const INDEX = { mode: SCALAR_NAMES.indexOf('mode'), clip: SCALAR_NAMES.indexOf('clip') };

/** The wasm backend from the module's bytes (compiled synchronously: the module is small). */
export function wasmBackend(bytes: ArrayBufferView | ArrayBuffer): Backend {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) throw new Error('this runtime has no WebAssembly');
  const wasm = new api.Instance(new api.Module(bytes), {}).exports as Exports;
  wasm._initialize();
  let buffer: ArrayBuffer = new ArrayBuffer(0);
  let u8 = new Uint8Array(0);
  let u32 = new Uint32Array(0);
  let f32 = new Float32Array(0);
  let f64 = new Float64Array(0);
  const views = () => {
    if (buffer !== wasm.memory.buffer) {
      buffer = wasm.memory.buffer;
      u8 = new Uint8Array(buffer);
      u32 = new Uint32Array(buffer);
      f32 = new Float32Array(buffer);
      f64 = new Float64Array(buffer);
    }
  };
  const cString = (at: number) => {
    views();
    let end = at;
    while (u8[end] !== 0) ++end;
    let s = '';
    for (let i = at; i < end; ++i) s += String.fromCharCode(u8[i]);
    return s;
  };
  const [names, tails] = cString(wasm.sgd_layout()).split(';');
  const layout: ExportedLayout = { names: names.split(',').filter(Boolean), perTensor: tails.split(',') };
  const isaName = cString(wasm.sgd_isa());

  // Copies a[b, e) in at byte offset `at`; returns the offset after it.
  const copyIn = (a: FloatArray, b: number, e: number, at: number): number => {
    const part = b === 0 && e === a.length ? a : a.subarray(b, e);
    if (isF64(a)) f64.set(part, at >> 3);
    else f32.set(part, at >> 2);
    return align(at + part.byteLength);
  };
  // Copies memory at byte offset `at` out to a[b, e).
  const copyOut = (a: FloatArray | null | undefined, b: number, e: number, at: number): void => {
    if (!a) return;
    if (isF64(a)) a.set(f64.subarray(at >> 3, (at >> 3) + e - b), b);
    else a.set(f32.subarray(at >> 2, (at >> 2) + e - b), b);
  };
  const NAMED = SCALAR_NAMES.length;
  const descOf = (descs: number, i: number) => (descs >> 2) + DESC_WORDS * i;
  const mutable = [0, 2, 3, 4]; // the lists a step writes: variables, momentums, averages, accumulators

  // A step with a norm pass (clipnorm, global_clipnorm) needs every gradient at once:
  // every array is copied in whole, stepped, and copied out.
  function whole(lists: readonly (readonly (FloatArray | null)[] | null)[], n: number, scalars: Float64Array, momentumOn: number) {
    const scalarBytes = align(8 * (NAMED + PER_TENSOR.length * n));
    let bytes = scalarBytes + align(4 * DESC_WORDS * n);
    for (const l of lists) if (l) for (let i = 0; i < n; ++i) bytes += align(l[i]?.byteLength ?? 0);
    const base = scratch(bytes);
    f64.set(scalars.subarray(0, NAMED + PER_TENSOR.length * n), base >> 3);
    const descs = base + scalarBytes;
    let offset = descs + align(4 * DESC_WORDS * n);
    for (let i = 0; i < n; ++i) {
      const d = descOf(descs, i);
      u32[d] = isF64(lists[0]![i]!) ? 1 : 0;
      u32[d + 1] = lists[0]![i]!.length;
      for (let k = 0; k < lists.length; ++k) {
        const a = lists[k]?.[i];
        u32[d + 2 + k] = a ? offset : 0;
        if (a) offset = copyIn(a, 0, a.length, offset);
      }
    }
    wasm.sgd_step(descs, n, base, momentumOn);
    views();
    for (let i = 0; i < n; ++i) for (const k of mutable) copyOut(lists[k]?.[i], 0, lists[0]![i]!.length, u32[descOf(descs, i) + 2 + k]);
  }

  // Any other step is elementwise: each tensor goes through in slices of CHUNK elements, so
  // the copies stay in cache and the module's memory stays small whatever the model's size.
  // (Each element sees the same operations as in a whole step.)
  function sliced(lists: readonly (readonly (FloatArray | null)[] | null)[], n: number, scalars: Float64Array, momentumOn: number) {
    const scalarBytes = align(8 * (NAMED + PER_TENSOR.length));
    const slot = align(8 * CHUNK);
    const base = scratch(scalarBytes + align(4 * DESC_WORDS) + lists.length * slot);
    const descs = base + scalarBytes;
    const data = descs + align(4 * DESC_WORDS);
    f64.set(scalars.subarray(0, NAMED), base >> 3);
    const d = descOf(descs, 0);
    for (let i = 0; i < n; ++i) {
      const v = lists[0]![i]!;
      f64[(base >> 3) + NAMED] = scalars[NAMED + i]; // decayOn, decayLr of a one-tensor step
      f64[(base >> 3) + NAMED + 1] = scalars[NAMED + n + i];
      u32[d] = isF64(v) ? 1 : 0;
      for (let b = 0; b < v.length; b += CHUNK) {
        const e = Math.min(v.length, b + CHUNK);
        u32[d + 1] = e - b;
        for (let k = 0; k < lists.length; ++k) {
          const a = lists[k]?.[i];
          u32[d + 2 + k] = a ? data + k * slot : 0;
          if (a) copyIn(a, b, e, data + k * slot);
        }
        wasm.sgd_step(descs, 1, base, momentumOn);
        for (const k of mutable) copyOut(lists[k]?.[i], b, e, data + k * slot);
      }
    }
  }

  /** The module's scratch area of at least `bytes`, with fresh views of its memory. */
  function scratch(bytes: number): number {
    const base = wasm.sgd_scratch(bytes);
    if (base === 0) throw new RangeError(`step(): WebAssembly memory exhausted (${bytes} bytes needed)`);
    views();
    return base;
  }

  const step: Backend['step'] = (variables, grads, momentums, averages, accumulators, scalars) => {
    checkStepArgs(variables, grads, momentums, averages, accumulators, scalars);
    const lists = [variables, grads, momentums, averages, accumulators] as const;
    const momentumOn = momentums !== null && momentums !== undefined ? 1 : 0;
    const clip = Math.trunc(scalars[INDEX.clip]);
    const normPass = scalars[INDEX.mode] === 0 && (clip === CLIP.norm || clip === CLIP.globalNorm);
    (normPass ? whole : sliced)(lists, variables.length, scalars, momentumOn);
  };

  return { ...onCallingThread(step, isaName), scalarLayout: layout };
}
