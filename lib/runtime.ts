// Process-level controls of the backend.
import { availableBackends, backend } from './load.js';

/** The backend in use (`native`, `wasm` or `js`) and every one that loads here (SGD_NATIVE_BACKEND picks at load). */
export function backendInfo(): { active: string; available: string[] } {
  return { active: backend.name, available: availableBackends() };
}

/** The instruction set in use and every one this machine can run (SGD_NATIVE_ISA picks at load). */
export function isa(): { active: string; available: string[] } {
  return backend.impl.isa();
}

/** Use another available instruction set (`scalar`, `avx2`, `avx512`, `neon`) from now on in this thread. */
export function setIsa(name: string): void {
  backend.impl.setIsa(name);
}

/** Threads a large step may use (default: SGD_NATIVE_THREADS, else the cores available to the process). */
export function setNumThreads(n: number): void {
  backend.impl.setNumThreads(n);
}

export function numThreads(): number {
  return backend.impl.numThreads();
}
