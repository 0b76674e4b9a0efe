// tools/suite-runner.cjs stands in for vitest where vitest cannot run (Windows Node under Wine,
// npm run test:win32): its matchers, hooks and tables must pass and fail where vitest's do.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..');
const canSpawn = !process.env.SGD_TEST_NO_SPAWN;

describe('tools/suite-runner.cjs', () => {
  it.runIf(canSpawn)('passes what vitest passes, fails what vitest fails, skips what it skips', () => {
    const fixtures = path.join(__dirname, 'fixtures');
    const run = spawnSync(
      process.execPath,
      [path.join(ROOT, 'tools', 'suite-runner.cjs'), '--skip=> fail each row \\d', fixtures, 'runner-cases.cjs'],
      {
        encoding: 'utf8',
      },
    );
    const lines = run.stdout.split('\n');
    const named = (mark: string) => lines.filter((l) => l.startsWith(mark)).map((l) => l.slice(2).split(' > ').at(-1)!);
    const passed = named('✓ ');
    const failed = named('✗ ');
    expect(run.status, run.stderr).toBe(1);
    expect(
      failed.filter((n) => !n.startsWith('fail ')),
      run.stdout,
    ).toEqual([]);
    expect(
      passed.filter((n) => !n.startsWith('pass ')),
      run.stdout,
    ).toEqual([]);
    expect(passed).toContain('pass each row b has 2');
    expect(passed).toContain('pass gets its row x');
    expect(failed).toContain('fail toEqual tells -0 from 0');
    expect(named('- ')).toEqual([
      'fail each row 1 is 3 (skipped: --skip=> fail each row \\d)',
      'fail each row 2 is 3 (skipped: --skip=> fail each row \\d)',
      'skipped by runIf (skipped)',
    ]);
    expect(lines).toContain(`${passed.length} passed, ${failed.length} failed, 3 skipped`);
    expect([passed.length, failed.length]).toEqual([11, 24]);
  });

  it.runIf(canSpawn)('fails a file that does not load, and a run with no test', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'suite-runner.cjs'), __dirname, 'no-such.test.js'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('0 passed, 1 failed, 0 skipped');
  });
});
