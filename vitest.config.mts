import { defineConfig } from 'vitest/config';

// The suite runs once per backend, as the golden cases run once per instruction set: the
// default project loads the native backend (and replays the goldens on every backend in
// process); the others force wasm and js through SGD_NATIVE_BACKEND. lifecycle.test.ts (the
// addon's worker threads and process exit) and safety.test.ts (its async steps and sharing
// checks by real address) are about the native addon, so they run on native only;
// browser.test.ts runs both other backends in its page.
const forced = (name: string) => ({
  extends: true as const,
  test: { name, env: { SGD_NATIVE_BACKEND: name }, exclude: ['test/lifecycle.test.ts', 'test/browser.test.ts', 'test/safety.test.ts'] },
});

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    projects: [{ extends: true, test: { name: 'native' } }, forced('wasm'), forced('js')],
  },
});
