// A bounded, seeded run of tools/fuzz.mjs (npm run fuzz runs it for longer): random and
// nearly-valid calls to every entry point and to the native step itself. Each batch
// runs in a child process, so a crash fails the test with the seed and the input.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..');
const CASES = 3000;

describe('fuzz', () => {
  it.each([1, 2, 3, 4])(`seed %i: ${CASES} calls, no crash, only our own errors`, async (seed) => {
    if (process.env.SGD_TEST_NO_SPAWN) {
      const { runCases } = await import('../tools/fuzz.mjs');
      expect(await runCases(seed, CASES, { globals: false })).toEqual([]); // other test files share this process
      return;
    }
    const out = execFileSync(process.execPath, ['--no-warnings', 'tools/fuzz.mjs', '--seed', String(seed), '--cases', String(CASES)], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(out).toContain(`${CASES} cases from seed ${seed}, 0 failing batches`);
  });
});
