// Process-level controls of the native layer.
import { native } from './native.js';

/** The instruction set in use and every one this machine can run (SGD_NATIVE_ISA picks at load). */
export function isa(): { active: string; available: string[] } {
  return native.isa();
}

/** Use another available instruction set (`scalar`, `avx2`, `avx512`, `neon`) from now on in this thread. */
export function setIsa(name: string): void {
  native.setIsa(name);
}

/** Threads a large step may use (default: SGD_NATIVE_THREADS, else the cores available to the process). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function numThreads(): number {
  return native.numThreads();
}
