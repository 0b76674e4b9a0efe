import { defineConfig } from 'vitest/config';

// The suite runs once per backend, as the golden cases run once per instruction set: the
// default project loads the native backend (and replays the goldens on every backend in
// process); the others force wasm and js through SGD_NATIVE_BACKEND. lifecycle.test.ts is
// about the native addon's worker threads and process exit, so it runs on native only.
const forced = (name: string) => ({
  extends: true as const,
  test: { name, env: { SGD_NATIVE_BACKEND: name }, exclude: ['test/lifecycle.test.ts', 'test/browser.test.ts'] },
});

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    projects: [{ extends: true, test: { name: 'native' } }, forced('wasm'), forced('js')],
  },
});
