// Loads the backend the optimizer uses in Node, Bun and Deno: the one place it comes
// from. Native first, then WebAssembly, then JavaScript (lib/choose.ts); all three give
// the same bits.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { markAsUntransferable } from 'node:worker_threads';
import { jsBackend, stepOwnLists } from './backend-js.js';
import { wasmBackend, WASM_FILE } from './backend-wasm.js';
import { choose } from './choose.js';
import { bufferOf, isShared } from './memory.js';
import type { Backend, LoadedBackend } from './native.js';

const root = path.join(__dirname, '..');

function libc(): string {
  if (process.platform !== 'linux') return '';
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl (no glibc found)';
}

/** The addon: a prebuilt binary if one fits, else a local build; says why and what to do when neither loads. */
function loadNative(): Backend {
  const gypBuild = require('node-gyp-build') as (dir: string) => Backend;
  try {
    return gypBuild(root);
  } catch (e) {
    if (/SGD_NATIVE_ISA/.test(String((e as Error).message))) Object.assign(e as Error, { fatal: true });
    if ((e as { fatal?: boolean }).fatal) throw e;
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

let nativeAsyncInFlight = 0; // the addon's async steps started by this thread, not yet settled

/**
 * The addon's async step reads and writes raw memory on a worker thread while JavaScript
 * goes on. Node-API cannot keep a buffer alive through a transfer, so every buffer an
 * async step uses is made untransferable (Node's markAsUntransferable: transferring it
 * copies, or throws, instead of moving its memory away). This is permanent for the
 * buffer; SharedArrayBuffers are never moved and are left alone.
 */
function withPinnedAsyncMemory(impl: Backend): Backend {
  const stepAsync = impl.stepAsync;
  return {
    ...impl,
    stepAsync(...args) {
      const settled = stepAsync(...args); // checks everything first: a refused step marks nothing
      ++nativeAsyncInFlight;
      const done = () => void --nativeAsyncInFlight;
      settled.then(done, done);
      for (const list of args.slice(0, 5) as (readonly (ArrayBufferView | null)[] | null)[]) {
        for (const a of list ?? []) {
          if (a === null) continue;
          const buffer = bufferOf(a);
          if (!isShared(buffer)) markAsUntransferable(buffer as ArrayBuffer);
        }
      }
      return settled;
    },
  };
}

const chooser = choose(
  [
    { name: 'native', load: () => withPinnedAsyncMemory(loadNative()) },
    { name: 'wasm', load: () => wasmBackend(readFileSync(path.join(root, WASM_FILE))) },
    { name: 'js', load: () => jsBackend },
  ],
  process.env.SGD_NATIVE_BACKEND,
  (message) => process.emitWarning(message, { code: 'SGD_NATIVE_FALLBACK' }),
);

/** The backend every optimizer in this thread uses. */
export const backend: LoadedBackend = chooser.backend;
/** Backends that load here, in order of preference. */
export const availableBackends = chooser.available;
/** Test hook: run everything on another backend from now on (SGD_NATIVE_BACKEND is the public way). */
export const useBackend = chooser.use;

/**
 * Small synchronous steps cost more in crossing into the addon than in arithmetic: the js
 * backend takes them for the native one, with the same bits (tested on both sides of the
 * line). Not when the addon must judge memory itself: an async step of this thread in
 * flight (its registry), or SharedArrayBuffer memory (sharing by real address). `perTensor`
 * is the line, in elements per tensor of the step; 0 turns the path off.
 */
export const smallSteps: { backend: Backend | null; step: Backend['step']; perTensor: number; busy(): boolean } = {
  backend: sameOrder(chooser) ? jsBackend : null,
  /** The js backend's step for lists the optimizer built itself. */
  step: stepOwnLists,
  perTensor: 40,
  /** Whether the addon has async steps of this thread in flight. */
  busy: () => nativeAsyncInFlight > 0,
};

function sameOrder(c: typeof chooser): boolean {
  const native = c.backend.name === 'native' ? c.backend.impl.scalarLayout : null;
  const js = jsBackend.scalarLayout;
  return native !== null && native.names.join() === js.names.join() && native.perTensor.join() === js.perTensor.join();
}
