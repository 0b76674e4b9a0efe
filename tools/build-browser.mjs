// Builds dist/browser/index.mjs, the package for browsers and bundlers targeting them (the
// `browser` export condition): lib/ as one ES module, with lib/load.browser.ts in place of
// lib/load.ts (wasm, then js; no native addon), wasm/sgd.wasm inlined as bytes, and
// Node's `process` replaced by lib/process.browser.ts. Run by `npm run build:ts`.
import { build } from 'esbuild';
import * as path from 'node:path';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');

/** Resolves lib/'s `./load.js` to the browser loader. */
const browserLoader = {
  name: 'browser-loader',
  setup(b) {
    b.onResolve({ filter: /^\.\/load\.js$/ }, () => ({ path: path.join(root, 'lib', 'load.browser.ts') }));
  },
};

await build({
  entryPoints: [path.join(root, 'lib', 'index.ts')],
  outfile: path.join(root, 'dist', 'browser', 'index.mjs'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  loader: { '.wasm': 'binary' },
  inject: [path.join(root, 'lib', 'process.browser.ts')],
  plugins: [browserLoader],
  keepNames: true, // lib/ reads class names (Keras class_name in configs)
  logLevel: 'warning',
});
