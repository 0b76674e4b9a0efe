// Lifecycle: garbage collection during async steps, worker threads training at once,
// the addon in several threads, and processes that exit with a step in flight.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SGD, Variable, isa } from '../lib/index.js';
const { train } = require('./fixtures/train-worker.cjs') as { train(seed: number): Float32Array[] };
const { data } = require('./fixtures/data.cjs') as { data(n: number, seed: number): Float32Array };

const ROOT = path.join(__dirname, '..');
const canSpawn = !process.env.SGD_TEST_NO_SPAWN;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const same = (a: Float32Array[], b: Float32Array[]) =>
  a.length === b.length &&
  a.every((x, i) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(b[i].buffer, b[i].byteOffset, b[i].byteLength)));

describe('lifecycle', () => {
  it('garbage collection while async steps run changes nothing', async () => {
    const make = () => [new Variable(data(300_000, 1)), new Variable(data(10, 2))];
    const ref = make();
    const sub = make();
    const refOpt = new SGD({ momentum: 0.9, useEma: true });
    const subOpt = new SGD({ momentum: 0.9, useEma: true });
    const pending: Promise<void>[] = [];
    for (let k = 0; k < 12; ++k) {
      refOpt.apply([data(300_000, 100 + k), data(10, 200 + k)], ref);
      // The only references to these gradients are inside the optimizer's queue.
      pending.push(subOpt.applyAsync([data(300_000, 100 + k), data(10, 200 + k)], sub));
      gc();
    }
    const collector = setInterval(gc, 0);
    await Promise.all(pending);
    clearInterval(collector);
    expect(
      same(
        sub.map((v) => v.value as Float32Array),
        ref.map((v) => v.value as Float32Array),
      ),
    ).toBe(true);
  });

  it('worker threads each train their own model at once, equal to a single-threaded run', async () => {
    const script = path.join(__dirname, 'fixtures', 'train-worker.cjs');
    const isas = isa().available;
    const runs = [1, 2, 3].map(
      (seed, i) =>
        new Promise<{ isa: string; result: Float32Array[] }>((resolve, reject) => {
          // Each thread has its own instance of the addon: a different ISA in each.
          const worker = new Worker(script, { workerData: { role: 'train', seed, isa: isas[i % isas.length] } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    );
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      expect(r.isa).toBe(isas[i % isas.length]);
      expect(same(r.result, train(i + 1)), `worker ${i}`).toBe(true);
    });
    expect(isa().active).toBe(process.env.SGD_NATIVE_ISA || isas.at(-1)); // the main thread's choice is its own
  });

  it('a worker terminated during an async step does not take the process down', async () => {
    const worker = new Worker(
      `const { SGD, Variable } = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
       const { parentPort } = require('node:worker_threads');
       const v = new Variable(new Float32Array(30_000_000));
       new SGD({ momentum: 0.9 }).applyAsync([new Float32Array(30_000_000).fill(1)], [v]);
       parentPort.postMessage('started');`,
      { eval: true },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    expect(await worker.terminate()).toBe(1);
  });

  it.runIf(canSpawn)('a process that exits with a step in flight exits cleanly', () => {
    for (const exit of ['process.exit(0)', '/* let the loop end */']) {
      const child = spawnSync(
        process.execPath,
        [
          '-e',
          `const { SGD, Variable } = require('./dist/index.js');
          const v = new Variable(new Float32Array(40_000_000));
          new SGD({ momentum: 0.9, useEma: true }).applyAsync([new Float32Array(40_000_000).fill(1)], [v]).then(() => console.log('done'));
          ${exit};`,
        ],
        { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
      );
      expect(child.signal, child.stderr).toBeNull();
      expect(child.status, child.stderr).toBe(0);
      if (!exit.startsWith('process')) expect(child.stdout.trim()).toBe('done');
    }
  });
});
