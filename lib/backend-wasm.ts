// The wasm backend: native/step.cc and the kernel of native/kernels/ compiled to
// WebAssembly SIMD128 (wasm/sgd.wasm, built by `npm run build:wasm`, shipped). A step
// copies each array into the module's memory once and each array the step writes back
// out once; the kernel is the native one, so the bits are the native ones.
import { PER_TENSOR, SCALAR_NAMES, type Backend, type ExportedLayout, type FloatArray } from './native.js';
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

const DESC_WORDS = 7; // native/wasm/driver.cc's Desc: is_f64, size, var, grad, momentum, average, accumulator
const align = (bytes: number) => (bytes + 15) & ~15;

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

  // Copies `a` in at byte offset `at`; returns the offset after it.
  const copyIn = (a: FloatArray, at: number): number => {
    if (isF64(a)) f64.set(a, at >> 3);
    else f32.set(a, at >> 2);
    return align(at + a.byteLength);
  };
  const copyOut = (a: FloatArray | null | undefined, at: number): void => {
    if (!a) return;
    if (isF64(a)) a.set(f64.subarray(at >> 3, (at >> 3) + a.length));
    else a.set(f32.subarray(at >> 2, (at >> 2) + a.length));
  };

  const step: Backend['step'] = (variables, grads, momentums, averages, accumulators, scalars) => {
    checkStepArgs(variables, grads, momentums, averages, accumulators, scalars);
    const n = variables.length;
    const lists = [variables, grads, momentums, averages, accumulators] as const;
    const scalarBytes = align(8 * (SCALAR_NAMES.length + PER_TENSOR.length * n));
    let bytes = scalarBytes + align(4 * DESC_WORDS * n);
    for (const l of lists) if (l) for (let i = 0; i < n; ++i) bytes += align(l[i]?.byteLength ?? 0);
    const base = wasm.sgd_scratch(bytes);
    if (base === 0) throw new RangeError(`step(): WebAssembly memory exhausted (${bytes} bytes needed)`);
    views();
    f64.set(scalars.subarray(0, SCALAR_NAMES.length + PER_TENSOR.length * n), base >> 3);
    const descs = base + scalarBytes;
    let at = descs + align(4 * DESC_WORDS * n);
    for (let i = 0; i < n; ++i) {
      const d = (descs >> 2) + DESC_WORDS * i;
      u32[d] = isF64(variables[i]) ? 1 : 0;
      u32[d + 1] = variables[i].length;
      for (let k = 0; k < lists.length; ++k) {
        const a = lists[k]?.[i];
        u32[d + 2 + k] = a ? at : 0;
        if (a) at = copyIn(a, at);
      }
    }
    const momentumOn = momentums !== null && momentums !== undefined;
    wasm.sgd_step(descs, n, base, momentumOn ? 1 : 0);
    views();
    for (let i = 0; i < n; ++i) {
      const d = (descs >> 2) + DESC_WORDS * i;
      copyOut(variables[i], u32[d + 2]);
      for (let k = 2; k < lists.length; ++k) copyOut(lists[k]?.[i], u32[d + 2 + k]);
    }
  };

  return { ...onCallingThread(step, isaName), scalarLayout: layout };
}
