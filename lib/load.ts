// Loads the backend the optimizer uses: the one place it comes from.
import * as path from 'node:path';
import { scalarLayout, type Backend, type LoadedBackend } from './native.js';

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

function load(): LoadedBackend {
  const impl = loadNative();
  return { name: 'native', impl, layout: scalarLayout(impl.scalarLayout, 'native') };
}

/** The backend every optimizer in this thread uses. */
export const backend: LoadedBackend = load();
