// Loads the backend in a browser (or any bundle built for one, `browser` export
// condition): WebAssembly, then JavaScript; the native addon does not exist there.
// globalThis.SGD_NATIVE_BACKEND = 'wasm' | 'js', set before the import, forces one.
// tools/build-browser.mjs bundles this file in place of load.ts, with the module's bytes.
import bytes from '../wasm/sgd.wasm';
import { jsBackend } from './backend-js.js';
import { wasmBackend } from './backend-wasm.js';
import { choose } from './choose.js';
import type { Backend, LoadedBackend } from './native.js';

const chooser = choose(
  [
    { name: 'wasm', load: () => wasmBackend(bytes) },
    { name: 'js', load: () => jsBackend },
  ],
  (globalThis as { SGD_NATIVE_BACKEND?: string }).SGD_NATIVE_BACKEND,
  (message) => console.warn(message),
);

/** The backend every optimizer in this page or worker uses. */
export const backend: LoadedBackend = chooser.backend;
/** Backends that load here, in order of preference. */
export const availableBackends = chooser.available;
/** Test hook: run everything on another backend from now on. */
export const useBackend = chooser.use;
/** No addon here: no small steps to take off it (see load.ts). */
export const smallSteps: { backend: Backend | null; perTensor: number; busy(): boolean } = {
  backend: null,
  perTensor: 0,
  busy: () => false,
};
