// npm run bench: SGD steps measured against baselines taken in the same run (the
// machine's copy bandwidth, a plain JavaScript loop, the tfjs WebAssembly backend).
// Every number is the median of repeated samples after a warm-up; ratios, not absolute
// times, are what compare across machines. Writes bench/results.md and bench/chart.svg.
//   --quick         smaller sizes, for a fast look
//   --models        the model section alone (bench/models.mjs), printed only: results.md and
//                   chart.svg are written by the full run
//   --only Iris,1e3 model rows whose name starts with one of the words (any case), or of the
//                   dtypes named (float32, float64); implies --models
//   --rows-out F    with --models: also write the model rows to F as JSON (the full run runs
//                   the model section this way, in a fresh process: see modelSection)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { SGD, Variable, backend, isa, numThreads, setNumThreads } from '../dist/index.mjs';
import { measure } from './measure.mjs';
import { MLP, modelMarkdown, modelRows, modelText, resnet50Shapes } from './models.mjs';

const { values: ARGS } = parseArgs({
  options: { quick: { type: 'boolean' }, models: { type: 'boolean' }, only: { type: 'string' }, 'rows-out': { type: 'string' } },
});
const QUICK = ARGS.quick ?? false;
const MODELS_ONLY = ARGS.models || ARGS.only !== undefined;
const SIZES = QUICK ? [1e3, 1e4, 1e5, 1e6] : [1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
const MAX_F64 = 1e7; // float64 arrays of 1e8 take 2.4 GB per step
const MAX_TFJS = 1e7; // the wasm heap is 32-bit
const THREADS = [...new Set([1, Math.min(2, numThreads())])];
const defaultThreads = numThreads();

function filled(Type, n, value) {
  const a = new Type(n);
  a.fill(value);
  return a;
}

const VARIANTS = {
  plain: { learningRate: 0.01 },
  momentum: { learningRate: 0.01, momentum: 0.9 },
  nesterov: { learningRate: 0.01, momentum: 0.9, nesterov: true },
  'momentum+ema': { learningRate: 0.01, momentum: 0.9, useEma: true },
  'momentum+global_clipnorm': { learningRate: 0.01, momentum: 0.9, globalClipnorm: 1 },
};
// Bytes a step must move per element (float32): read w, g (+m, +avg), write w (+m, +avg).
const BYTES_PER_ELEMENT = { plain: 12, momentum: 20, nesterov: 20, 'momentum+ema': 28, 'momentum+global_clipnorm': 24 };

/** Seconds per step of sgd-native on `shapes` (a list of tensor sizes). */
function sgdStep(shapes, Type, options, threads) {
  setNumThreads(threads);
  const vars = shapes.map((n, i) => new Variable(new Type(n), { name: `v${i}` }));
  const grads = shapes.map((n) => filled(Type, n, 1e-3));
  const opt = new SGD(options);
  const t = measure(() => opt.apply(grads, vars));
  setNumThreads(defaultThreads);
  return t;
}

function copyBandwidth(n) {
  const src = filled(Float32Array, n, 1);
  const dst = new Float32Array(n);
  return measure(() => dst.set(src));
}

function jsLoop(n) {
  const w = new Float32Array(n);
  const m = new Float32Array(n);
  const g = filled(Float32Array, n, 1e-3);
  const lr = 0.01;
  const mu = 0.9;
  return measure(() => {
    for (let i = 0; i < n; ++i) {
      const v = m[i] * mu - g[i] * lr;
      m[i] = v;
      w[i] += v;
    }
  });
}

function tfjsStep(shapes) {
  const vars = {};
  const grads = {};
  shapes.forEach((n, i) => {
    vars[`v${i}`] = tf.variable(tf.zeros([n]), true, `v${i}`);
    grads[`v${i}`] = tf.fill([n], 1e-3);
  });
  const opt = tf.train.momentum(0.01, 0.9);
  const t = measure(() => opt.applyGradients(grads), { samples: 5 });
  opt.dispose();
  for (const v of Object.values(vars)) v.dispose();
  for (const g of Object.values(grads)) g.dispose();
  return t;
}

const ns = (seconds, n) => (seconds * 1e9) / n;
const fmt = (x, d = 2) => (x >= 100 ? x.toFixed(0) : x.toFixed(d));
const log = (...a) => console.log(...a);

/** The model section (bench/models.mjs), printed; its rows for results.md. */
function modelSection() {
  const models = modelRows({ measure, sgdStep, threads: THREADS, quick: QUICK, only: ARGS.only });
  log('');
  for (const line of modelText(models)) log(line);
  if (ARGS['rows-out'])
    writeFileSync(
      ARGS['rows-out'],
      JSON.stringify(models, (_, v) => (Number.isNaN(v) ? 'NaN' : v)),
    );
  return models;
}

/**
 * The model section in a process of its own, so that its small steps are timed on a JIT that
 * has seen only them, as in a training process (run after the sections above, in the same
 * process, the Iris step measured 1.47 µs, against 0.68 µs alone in another run).
 */
function modelSectionApart() {
  const dir = mkdtempSync(join(tmpdir(), 'sgd-bench-'));
  const file = join(dir, 'rows.json');
  try {
    const run = spawnSync(
      process.execPath,
      [new URL(import.meta.url).pathname, '--models', '--rows-out', file, ...(QUICK ? ['--quick'] : [])],
      {
        stdio: 'inherit',
      },
    );
    if (run.status !== 0) throw new Error('the model section failed');
    return JSON.parse(readFileSync(file, 'utf8'), (_, v) => (v === 'NaN' ? NaN : v));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- run ---------------------------------------------------------------------------------
const env = `${isa().active} kernels, ${numThreads()} threads available, Node ${process.version}`;
const section = MODELS_ONLY ? `, model section${ARGS.only ? ` (only ${ARGS.only})` : ''}` : '';
log(`sgd-native benchmark${section} (${env})${QUICK ? ' [quick]' : ''}`);
// Other work on the machine shows in every number, most in the OpenMP baselines' 2-thread rows.
const [load] = loadavg();
if (load > 0.5) log(`(load average ${load.toFixed(1)} on ${availableParallelism()} CPUs: other work is running, expect noise)`);
if (MODELS_ONLY) {
  modelSection();
  log('\n(--models prints only: bench/results.md and chart.svg are written by the full npm run bench)');
} else {
  await fullBench();
}

async function fullBench() {
  await tf.setBackend('wasm');

  const baseline = {};
  log('\nBaselines (float32, ns per element)');
  log('size        copy(set)  GB/s   JS loop   tfjs-wasm');
  for (const n of SIZES) {
    const copy = copyBandwidth(n);
    const js = jsLoop(n);
    const tfw = n <= MAX_TFJS ? tfjsStep([n]) : NaN;
    baseline[n] = { copy, js, tfjs: tfw };
    log(
      `${String(n).padEnd(10)}  ${fmt(ns(copy, n)).padStart(8)}  ${fmt((8 * n) / copy / 1e9, 1).padStart(5)}  ${fmt(ns(js, n)).padStart(8)}  ${Number.isNaN(tfw) ? '       -' : fmt(ns(tfw, n)).padStart(8)}`,
    );
  }

  // The three backends on the same float32 momentum step, one thread (wasm and js have one),
  // through the public API: the wasm and js backends against the native one and the plain loop.
  // Measured first, before the other sections' work (large arrays, other dtypes) can change
  // what the JIT makes of the js backend.
  const { availableBackends, useBackend } = createRequire(import.meta.url)('../dist/load.js');
  const BACKENDS = availableBackends();
  const backendRows = [];
  const startBackend = backend().active;
  for (const n of SIZES.filter((x) => x <= 1e7)) {
    const row = { n };
    for (const b of BACKENDS) {
      useBackend(b);
      row[b] = sgdStep([n], Float32Array, VARIANTS.momentum, 1);
    }
    backendRows.push(row);
  }
  useBackend(startBackend);
  const speedup = (r, slow, fast) => (r[slow] && r[fast] ? fmt(r[slow] / r[fast], 2) : '-');
  log('\nBackends, float32 momentum, one thread (ns per element; wasm x js = times faster than js; js / loop = times the plain JS loop)');
  log(`size        ${BACKENDS.map((b) => b.padStart(8)).join('')}  JS loop   wasm x js   js / loop   native x wasm`);
  for (const r of backendRows) {
    const loop = baseline[r.n].js;
    log(
      `${String(r.n).padEnd(10)}  ${BACKENDS.map((b) => fmt(ns(r[b], r.n)).padStart(8)).join('')}  ${fmt(ns(loop, r.n)).padStart(7)}  ${speedup(r, 'js', 'wasm').padStart(10)}  ${fmt(r.js / loop, 2).padStart(10)}  ${speedup(r, 'wasm', 'native').padStart(14)}`,
    );
  }

  const rows = [];
  for (const dtype of ['float32', 'float64']) {
    const Type = dtype === 'float32' ? Float32Array : Float64Array;
    for (const [variant, options] of Object.entries(VARIANTS)) {
      for (const n of SIZES) {
        if (dtype === 'float64' && n > MAX_F64) continue;
        for (const threads of THREADS) {
          const t = sgdStep([n], Type, options, threads);
          const bytes = BYTES_PER_ELEMENT[variant] * (dtype === 'float64' ? 2 : 1);
          rows.push({ dtype, variant, n, threads, t, gbs: (bytes * n) / t / 1e9 });
        }
      }
    }
  }

  log('\nsgd-native, one tensor (ns per element; GB/s moved; x = times faster than the baseline)');
  log('dtype    variant                   size        thr   ns/el    GB/s   vs copy GB/s   x JS loop   x tfjs-wasm');
  for (const r of rows) {
    const b = baseline[r.n];
    const copyGbs = (8 * r.n) / b.copy / 1e9;
    const vsJs = r.dtype === 'float32' && r.variant === 'momentum' ? fmt(b.js / r.t, 1) : '-';
    const vsTf = r.dtype === 'float32' && r.variant === 'momentum' && !Number.isNaN(b.tfjs) ? fmt(b.tfjs / r.t, 1) : '-';
    r.vsCopy = r.gbs / copyGbs;
    log(
      `${r.dtype}  ${r.variant.padEnd(24)}  ${String(r.n).padEnd(10)}  ${String(r.threads).padStart(3)}  ${fmt(ns(r.t, r.n)).padStart(6)}  ${fmt(r.gbs, 1).padStart(6)}  ${fmt(r.vsCopy, 2).padStart(12)}  ${vsJs.padStart(10)}  ${vsTf.padStart(12)}`,
    );
  }

  // Many tensors against one tensor of the same total size.
  const workloads = [];
  for (const [name, shapes] of [
    ['ResNet-50 (161 tensors)', resnet50Shapes()],
    ['MLP 784-512-256-10', MLP],
  ]) {
    const total = shapes.reduce((a, b) => a + b, 0);
    if (QUICK && total > 1e6) continue;
    for (const threads of THREADS) {
      const many = sgdStep(shapes, Float32Array, VARIANTS.momentum, threads);
      const one = sgdStep([total], Float32Array, VARIANTS.momentum, threads);
      workloads.push({ name, total, tensors: shapes.length, threads, many, one });
    }
    const tfw = total <= 3e7 ? tfjsStep(shapes) : NaN;
    workloads.push({ name: `${name}, tfjs-wasm`, total, tensors: shapes.length, threads: 1, many: tfw, one: NaN });
  }
  log('\nMany-tensor workloads, float32 momentum (ms per step)');
  log('workload                              params       thr   many tensors   one tensor   many/one');
  for (const w of workloads) {
    log(
      `${w.name.padEnd(36)}  ${String(w.total).padEnd(11)}  ${String(w.threads).padStart(3)}  ${fmt(w.many * 1e3).padStart(12)}  ${Number.isNaN(w.one) ? '          -' : fmt(w.one * 1e3).padStart(11)}  ${Number.isNaN(w.one) ? '' : fmt(w.many / w.one, 2).padStart(8)}`,
    );
  }

  // The model sizes Node users train, against the C reference, the plain JS loop and torch.
  const models = modelSectionApart();

  // Latency of a small step through the whole public API.
  setNumThreads(1);
  const small = new Variable(new Float32Array(1000));
  const smallGrad = [filled(Float32Array, 1000, 1e-3)];
  const smallOpt = new SGD(VARIANTS.momentum);
  const smallVars = [small];
  const latency = measure(() => smallOpt.apply(smallGrad, smallVars), { samples: 15 });
  setNumThreads(defaultThreads);
  log(`\nA 1e3-element momentum step through opt.apply(): ${fmt(latency * 1e9, 0)} ns (median)`);

  // --- results.md and chart.svg --------------------------------------------------------------
  const md = [];
  md.push(`# Benchmark results\n\n\`npm run bench\` on ${env}, ${new Date().toISOString().slice(0, 10)}. Medians of repeated samples.\n`);
  md.push(
    '## Baselines (float32, ns per element)\n\n| size | copy (`TypedArray.set`) | copy GB/s | plain JS momentum loop | tfjs-wasm momentum |\n|---|---|---|---|---|',
  );
  for (const n of SIZES) {
    const b = baseline[n];
    md.push(
      `| ${n.toExponential(0)} | ${fmt(ns(b.copy, n))} | ${fmt((8 * n) / b.copy / 1e9, 1)} | ${fmt(ns(b.js, n))} | ${Number.isNaN(b.tfjs) ? '-' : fmt(ns(b.tfjs, n))} |`,
    );
  }
  md.push(
    '\n## sgd-native, one tensor\n\n"GB/s" counts the bytes a step must move (momentum: read w, g, m, write w, m = 20 bytes per float32 element); "vs copy" divides it by the copy baseline\'s GB/s.\n',
  );
  md.push(
    '| dtype | variant | size | threads | ns/element | GB/s | vs copy | x JS loop | x tfjs-wasm |\n|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    const b = baseline[r.n];
    const mom = r.dtype === 'float32' && r.variant === 'momentum';
    md.push(
      `| ${r.dtype} | ${r.variant} | ${r.n.toExponential(0)} | ${r.threads} | ${fmt(ns(r.t, r.n))} | ${fmt(r.gbs, 1)} | ${fmt(r.vsCopy, 2)} | ${mom ? fmt(b.js / r.t, 1) : ''} | ${mom && !Number.isNaN(b.tfjs) ? fmt(b.tfjs / r.t, 1) : ''} |`,
    );
  }
  md.push(
    '\n## Many tensors (float32 momentum, ms per step)\n\n| workload | parameters | tensors | threads | many tensors | one tensor of the same size | ratio |\n|---|---|---|---|---|---|---|',
  );
  for (const w of workloads) {
    md.push(
      `| ${w.name} | ${w.total} | ${w.tensors} | ${w.threads} | ${fmt(w.many * 1e3)} | ${Number.isNaN(w.one) ? '-' : fmt(w.one * 1e3)} | ${Number.isNaN(w.one) ? '-' : fmt(w.many / w.one, 2)} |`,
    );
  }
  md.push(
    `\n## Backends (float32 momentum, one thread, ns per element)\n\nThe same step on each backend (\`SGD_NATIVE_BACKEND\`), all with the same bits. "wasm x js": times faster than the js backend; "js / loop": the js backend's time over the plain JS momentum loop above.\n`,
  );
  md.push(
    `| size | ${BACKENDS.join(' | ')} | plain JS loop | wasm x js | js / loop | native x wasm |\n|${'---|'.repeat(BACKENDS.length + 5)}`,
  );
  for (const r of backendRows) {
    const loop = baseline[r.n].js;
    md.push(
      `| ${r.n.toExponential(0)} | ${BACKENDS.map((b) => fmt(ns(r[b], r.n))).join(' | ')} | ${fmt(ns(loop, r.n))} | ${speedup(r, 'js', 'wasm')} | ${fmt(r.js / loop, 2)} | ${speedup(r, 'wasm', 'native')} |`,
    );
  }

  md.push('', ...modelMarkdown(models));
  md.push(`\nA 1e3-element float32 momentum step through the public \`opt.apply()\`: **${fmt(latency * 1e9, 0)} ns** (median).\n`);
  md.push('![ns per element](chart.svg)\n');
  const out = new URL('.', import.meta.url);
  writeFileSync(new URL('results.md', out), md.join('\n'));

  // Log-log chart of ns per element against size: float32 momentum, and the baselines.
  const series = [
    ...THREADS.map((th, i) => ({
      name: `sgd-native momentum, ${th} thread${th > 1 ? 's' : ''}`,
      color: ['#1f77b4', '#2ca02c'][i],
      pts: rows.filter((r) => r.dtype === 'float32' && r.variant === 'momentum' && r.threads === th).map((r) => [r.n, ns(r.t, r.n)]),
    })),
    { name: 'copy (TypedArray.set)', color: '#7f7f7f', pts: SIZES.map((n) => [n, ns(baseline[n].copy, n)]) },
    { name: 'plain JS loop', color: '#ff7f0e', pts: SIZES.map((n) => [n, ns(baseline[n].js, n)]) },
    {
      name: 'tfjs-wasm momentum',
      color: '#d62728',
      pts: SIZES.filter((n) => !Number.isNaN(baseline[n].tfjs)).map((n) => [n, ns(baseline[n].tfjs, n)]),
    },
  ];
  const W = 720,
    H = 420,
    L = 70,
    R = 250,
    T = 30,
    B = 50;
  const xs = SIZES.map(Math.log10);
  const allY = series.flatMap((s) => s.pts.map((p) => p[1])).filter((y) => y > 0);
  const y0 = Math.floor(Math.log10(Math.min(...allY))),
    y1 = Math.ceil(Math.log10(Math.max(...allY)));
  const px = (n) => L + ((Math.log10(n) - xs[0]) / (xs[xs.length - 1] - xs[0])) * (W - L - R);
  const py = (y) => T + (1 - (Math.log10(y) - y0) / (y1 - y0)) * (H - T - B);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  for (let e = y0; e <= y1; ++e)
    svg.push(
      `<line x1="${L}" x2="${W - R}" y1="${py(10 ** e)}" y2="${py(10 ** e)}" stroke="#ddd"/><text x="${L - 8}" y="${py(10 ** e) + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toPrecision(1)}</text>`,
    );
  for (const n of SIZES) svg.push(`<text x="${px(n)}" y="${H - B + 18}" text-anchor="middle">1e${Math.log10(n)}</text>`);
  svg.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">elements per step (one float32 tensor)</text>`);
  svg.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">ns per element (log)</text>`);
  svg.push(`<text x="${L}" y="18" font-weight="bold">SGD step time per element: lower is better (${env})</text>`);
  series.forEach((s, i) => {
    if (s.pts.length === 0) return;
    svg.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.pts.map(([n, y]) => `${px(n).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
    );
    svg.push(
      `<rect x="${W - R + 15}" y="${T + i * 22}" width="14" height="4" fill="${s.color}"/><text x="${W - R + 35}" y="${T + i * 22 + 6}">${s.name}</text>`,
    );
  });
  svg.push('</svg>');
  writeFileSync(new URL('chart.svg', out), svg.join('\n'));
  log('\nwrote bench/results.md and bench/chart.svg');

  // The tfjs section (sgd-native/tfjs against tf.train.momentum, bench/tfjs.mjs) runs in a process of its own.
  const tfjsSection = spawnSync(
    process.execPath,
    ['--expose-gc', new URL('tfjs.mjs', import.meta.url).pathname, ...(QUICK ? ['--quick'] : [])],
    { stdio: 'inherit' },
  );
  if (tfjsSection.status !== 0) process.exitCode = 1;
}
