// npm run bench, models section (alone: npm run bench -- --models): one optimizer step of the
// model sizes Node users train, through the public API, against a C reference kernel
// (bench/c-reference.c, compiled here), a plain JavaScript loop and PyTorch's fused CPU SGD
// (bench/torch-reference.py, where a Python with torch is found), all measured in the same
// run: ratios, not absolute times. Then a check of each row against issue 10's goals.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

// ResNet-50's parameters (161 tensors, 25,557,032 values): stem, 16 bottlenecks, classifier.
export function resnet50Shapes() {
  const shapes = [];
  const conv = (cin, cout, k) => shapes.push(cin * cout * k * k);
  const bn = (c) => shapes.push(c, c);
  conv(3, 64, 7);
  bn(64);
  let cin = 64;
  for (const [blocks, width] of [
    [3, 64],
    [4, 128],
    [6, 256],
    [3, 512],
  ]) {
    for (let b = 0; b < blocks; ++b) {
      conv(cin, width, 1);
      bn(width);
      conv(width, width, 3);
      bn(width);
      conv(width, width * 4, 1);
      bn(width * 4);
      if (b === 0) {
        conv(cin, width * 4, 1);
        bn(width * 4);
      }
      cin = width * 4;
    }
  }
  shapes.push(2048 * 1000, 1000);
  return shapes;
}
export const MLP = [784 * 512, 512, 512 * 256, 256, 256 * 10, 10];

// The rows, with issue 10's goals for each (besides "no slower than the plain JS loop", which
// every row has): maxMicros, the step time through opt.apply(); maxVsC, sgd-native time / C
// reference time; aheadOfTorch, sgd-native time / torch time below 1.
export const MODELS = [
  { name: 'Iris MLP 4-16-3', shapes: [4 * 16, 16, 16 * 3, 3] },
  { name: '1e3', shapes: [1e3], maxMicros: 0.5 },
  { name: '1e5', shapes: [1e5], maxVsC: 1.2, aheadOfTorch: true },
  { name: '1e6', shapes: [1e6], maxVsC: 1.2, aheadOfTorch: true },
  { name: '1e7', shapes: [1e7], maxVsC: 1.05, aheadOfTorch: true },
  { name: 'MLP 784-512-256-10', shapes: MLP, maxVsC: 1.2, aheadOfTorch: true },
  { name: 'ResNet-50', shapes: resnet50Shapes(), maxVsC: 1.05, aheadOfTorch: true },
];
const DTYPES = ['float32', 'float64'];

/**
 * `--only` words: a model is kept when its name starts with one of them (any case), a dtype
 * when it is one of them; no model word keeps every model, no dtype word every dtype.
 */
function select(only) {
  const words = (only ?? '')
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  const dtypeWords = words.filter((w) => DTYPES.includes(w));
  const modelWords = words.filter((w) => !DTYPES.includes(w));
  const models = MODELS.filter((m) => modelWords.length === 0 || modelWords.some((w) => m.name.toLowerCase().startsWith(w)));
  if (models.length === 0)
    throw new Error(`--only ${only}: no model name starts with ${modelWords.join(' or ')} (${MODELS.map((m) => m.name).join(', ')})`);
  return { models, dtypes: dtypeWords.length ? dtypeWords : DTYPES };
}

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

/**
 * The Python that runs bench/torch-reference.py: $SGD_BENCH_TORCH_PYTHON, or the venv
 * tools/torch-venv.sh makes. Null (and a note saying how to get the rows) when neither has torch.
 */
function findTorch() {
  const candidates = [process.env.SGD_BENCH_TORCH_PYTHON, join(homedir(), '.cache', 'sgd-native', 'torch-venv', 'bin', 'python')];
  for (const python of candidates) {
    if (!python || !existsSync(python)) continue;
    // The version without importing torch (which takes a second or two).
    const r = spawnSync(python, ['-c', 'import importlib.metadata as m; print(m.version("torch"))'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  console.log(
    '(no PyTorch baseline: the torch columns are skipped. tools/torch-venv.sh makes ~/.cache/sgd-native/torch-venv with torch 2.13.0,\n' +
      ' or set SGD_BENCH_TORCH_PYTHON to a Python that has torch)',
  );
  return null;
}

/** Seconds per step of torch's SGD, and which implementation ran ("fused", or "foreach" where fused is refused). */
function torchStep(torch, dtype, threads, shapes) {
  try {
    const out = execFileSync(torch.python, [join(here, 'torch-reference.py'), dtype, String(threads), ...shapes.map(String)], {
      encoding: 'utf8',
    });
    const [seconds, kind] = out.trim().split(/\s+/);
    return { seconds: Number(seconds), kind };
  } catch (e) {
    console.log(`(torch ${dtype} ${threads} threads failed: ${String(e.message).split('\n')[0]})`);
    return { seconds: NaN, kind: '' };
  }
}

// The plain JS loop (Keras's momentum form, no roundings), one function per dtype: a function
// shared by Float32Array and Float64Array would see both element kinds and go polymorphic
// (measured: see the README's bench section). `new Function` with the dtype in its source gives
// each its own code and feedback, as the same source would be cached and shared.
const jsLoops = {};
function jsLoopFor(Type) {
  jsLoops[Type.name] ??= new Function(`// the plain JS momentum loop over ${Type.name}s
    return function step(w, m, g, lr, mu) {
      for (let t = 0; t < w.length; ++t) {
        const wt = w[t], mt = m[t], gt = g[t], n = wt.length;
        for (let i = 0; i < n; ++i) {
          const v = mt[i] * mu - gt[i] * lr;
          mt[i] = v;
          wt[i] += v;
        }
      }
    };`)();
  return jsLoops[Type.name];
}

/** Median seconds per step of the plain JS loop over `shapes`. */
function jsLoop(measure, shapes, Type) {
  const step = jsLoopFor(Type);
  const w = shapes.map((n) => new Type(n));
  const m = shapes.map((n) => new Type(n));
  const g = shapes.map((n) => new Type(n).fill(1e-3));
  return measure(() => step(w, m, g, 0.01, 0.9));
}

/**
 * Rows: { name, dtype, threads, sgd, c, js, torch, torchKind } (seconds per step) and the row's
 * goals. `sgdStep(shapes, Type, options, threads)` and `measure(fn)` come from bench.mjs;
 * `only` is the --only filter.
 */
export function modelRows({ measure, sgdStep, threads: threadCounts, quick, only }) {
  const { models, dtypes } = select(only);
  const reference = buildReference();
  const torch = findTorch();
  const rows = [];
  for (const dtype of dtypes) {
    const Type = dtype === 'float32' ? Float32Array : Float64Array;
    for (const model of models) {
      const total = model.shapes.reduce((a, b) => a + b, 0);
      if (quick && total > 2e6) continue;
      if (dtype === 'float64' && total > 1e7) continue;
      const js = jsLoop(measure, model.shapes, Type);
      for (const threads of threadCounts) {
        const sgd = sgdStep(model.shapes, Type, { learningRate: 0.01, momentum: 0.9 }, threads);
        const c = reference ? Number(execFileSync(reference[dtype], [String(threads), ...model.shapes.map(String)]).toString()) : NaN;
        const t = torch ? torchStep(torch, dtype, threads, model.shapes) : { seconds: NaN, kind: '' };
        rows.push({ ...model, dtype, total, tensors: model.shapes.length, threads, sgd, c, js, torch: t.seconds, torchKind: t.kind });
      }
    }
  }
  return { rows, torchVersion: torch?.version };
}

// --- the table and the goals --------------------------------------------------------------

const fmt = (x, d = 2) => (Number.isNaN(x) ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(d));
const us = (s) => fmt(s * 1e6);
const torchCell = (r) => (Number.isNaN(r.torch) ? '-' : `${us(r.torch)}${r.torchKind === 'fused' ? '' : ` (${r.torchKind})`}`);

// Each goal: which rows it applies to, the number it judges, and whether that number meets it.
const GOALS = [
  { title: 'no slower than the JS loop', applies: () => true, value: (r) => r.sgd / r.js, met: (v) => v <= 1, show: (v) => `${fmt(v)}x` },
  {
    title: '≤ 0.5 µs through opt.apply()',
    applies: (r) => r.maxMicros !== undefined,
    value: (r) => r.sgd * 1e6,
    met: (v, r) => v <= r.maxMicros,
    show: (v, r) => `${fmt(v)} µs (goal ${r.maxMicros})`,
  },
  {
    title: 'x C ≤ 1.2 (1e5, 1e6, MLP), ≤ 1.05 (1e7, 1e8, ResNet-50)',
    applies: (r) => r.maxVsC !== undefined,
    value: (r) => r.sgd / r.c,
    met: (v, r) => v <= r.maxVsC,
    show: (v, r) => `${fmt(v)} (goal ${r.maxVsC})`,
  },
  {
    title: 'ahead of torch, x torch < 1',
    applies: (r) => r.aheadOfTorch,
    value: (r) => r.sgd / r.torch,
    met: (v) => v < 1,
    show: (v) => fmt(v),
  },
];

/** Each goal's verdict on each row it applies to: { goal, row, value, verdict: 'met' | 'missed' | 'not measured' }. */
function judge(rows) {
  return GOALS.flatMap((goal) =>
    rows.filter(goal.applies).map((row) => {
      const value = goal.value(row);
      return { goal, row, value, verdict: Number.isNaN(value) ? 'not measured' : goal.met(value, row) ? 'met' : 'missed' };
    }),
  );
}

const rowName = (r) => `${r.dtype} ${r.name}, ${r.threads} thread${r.threads > 1 ? 's' : ''}`;

/** The model table and the goal check, as printed lines. */
export function modelText({ rows, torchVersion }) {
  const torchName = torchVersion ? `torch ${torchVersion} SGD(fused=True)` : 'torch (not found)';
  const out = [
    `Model steps, momentum 0.9 (µs per step; x C, x JS loop, x torch = sgd-native time / theirs, lower is better; torch: ${torchName})`,
    'dtype    model                  thr  sgd-native      C ref    JS loop      torch     x C  x JS loop  x torch',
  ];
  for (const r of rows) {
    out.push(
      `${r.dtype}  ${r.name.padEnd(21)}  ${String(r.threads).padStart(3)}  ${us(r.sgd).padStart(10)}  ${us(r.c).padStart(9)}  ${us(r.js).padStart(9)}  ${torchCell(r).padStart(9)}  ${fmt(r.sgd / r.c).padStart(6)}  ${fmt(r.sgd / r.js).padStart(9)}  ${fmt(r.sgd / r.torch).padStart(7)}`,
    );
  }
  out.push('', "Goals (issue 10), each row's number against the goal:");
  const verdicts = judge(rows);
  for (const goal of GOALS) {
    const mine = verdicts.filter((v) => v.goal === goal);
    if (mine.length === 0) continue;
    const count = (verdict) => mine.filter((v) => v.verdict === verdict).length;
    const notMeasured = count('not measured');
    out.push(`  ${goal.title}: ${count('met')} of ${mine.length} met${notMeasured ? `, ${notMeasured} not measured` : ''}`);
    for (const v of mine) out.push(`    ${v.verdict.padEnd(12)}  ${rowName(v.row).padEnd(40)}  ${goal.show(v.value, v.row)}`);
  }
  return out;
}

/** The model table and the goal check, as results.md lines. */
export function modelMarkdown({ rows, torchVersion }) {
  const md = [
    `## Model steps (momentum 0.9, µs per step; x C, x JS loop and x torch: sgd-native time divided by theirs, lower is better)\n\ntorch: ${torchVersion ? `${torchVersion}, \`torch.optim.SGD(params, lr=0.01, momentum=0.9, fused=True)\`, \`opt.step()\` timed in Python` : 'not found, skipped (tools/torch-venv.sh)'}.\n`,
    '| dtype | model | threads | sgd-native | C reference | plain JS loop | torch | x C | x JS loop | x torch |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    md.push(
      `| ${r.dtype} | ${r.name} | ${r.threads} | ${us(r.sgd)} | ${us(r.c)} | ${us(r.js)} | ${torchCell(r)} | ${fmt(r.sgd / r.c)} | ${fmt(r.sgd / r.js)} | ${fmt(r.sgd / r.torch)} |`,
    );
  }
  md.push('\n### Goals (issue 10)\n\n| goal | row | number | verdict |\n|---|---|---|---|');
  for (const v of judge(rows)) md.push(`| ${v.goal.title} | ${rowName(v.row)} | ${v.goal.show(v.value, v.row)} | ${v.verdict} |`);
  return md;
}
