// npm run bench, models section: one optimizer step of the model sizes Node users train,
// through the public API, against a C reference kernel (bench/c-reference.c, compiled
// here) and a plain JavaScript loop, measured in the same run: ratios, not absolute times.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The C reference for float32 and float64, or null when no C compiler with OpenMP is here. */
function buildReference() {
  const dir = mkdtempSync(join(tmpdir(), 'sgd-bench-'));
  const out = {};
  try {
    for (const [dtype, real] of [
      ['float32', 'float'],
      ['float64', 'double'],
    ]) {
      out[dtype] = join(dir, `c-reference-${dtype}`);
      execFileSync(process.env.CC ?? 'cc', [
        '-O3',
        '-march=native',
        '-ffp-contract=off',
        '-fopenmp',
        `-DREAL=${real}`,
        join(here, 'c-reference.c'),
        '-o',
        out[dtype],
      ]);
    }
    return out;
  } catch (e) {
    console.log(`(no C reference: ${String(e.message).split('\n')[0]})`);
    return null;
  }
}

/** Median seconds per step of the plain JS loop (Keras's momentum form, no roundings) over `shapes`. */
function jsLoop(measure, shapes, Type) {
  const w = shapes.map((n) => new Type(n));
  const m = shapes.map((n) => new Type(n));
  const g = shapes.map((n) => new Type(n).fill(1e-3));
  const lr = 0.01;
  const mu = 0.9;
  return measure(() => {
    for (let t = 0; t < shapes.length; ++t) {
      const wt = w[t],
        mt = m[t],
        gt = g[t],
        n = wt.length;
      for (let i = 0; i < n; ++i) {
        const v = mt[i] * mu - gt[i] * lr;
        mt[i] = v;
        wt[i] += v;
      }
    }
  });
}

/**
 * Rows: { name, dtype, threads, sgd, c, js } in seconds per step. `sgdStep(shapes, Type, options, threads)`
 * and `measure(fn)` come from bench.mjs.
 */
export function modelRows({ measure, sgdStep, threads: threadCounts, models, quick }) {
  const reference = buildReference();
  const rows = [];
  for (const dtype of ['float32', 'float64']) {
    const Type = dtype === 'float32' ? Float32Array : Float64Array;
    for (const [name, shapes] of models) {
      const total = shapes.reduce((a, b) => a + b, 0);
      if (quick && total > 2e6) continue;
      if (dtype === 'float64' && total > 1e7) continue;
      const js = jsLoop(measure, shapes, Type);
      for (const threads of threadCounts) {
        const sgd = sgdStep(shapes, Type, { learningRate: 0.01, momentum: 0.9 }, threads);
        const c = reference ? Number(execFileSync(reference[dtype], [String(threads), ...shapes.map(String)]).toString()) : NaN;
        rows.push({ name, dtype, total, tensors: shapes.length, threads, sgd, c, js });
      }
    }
  }
  return rows;
}
