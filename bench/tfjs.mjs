// The tfjs section of `npm run bench` (alone: `npm run bench:tfjs`, or `node --expose-gc bench/tfjs.mjs [--quick]`): sgd-native/tfjs
// against tfjs's own tf.train.momentum on the cpu and wasm backends, measured in the same run.
//   1. The optimizer part alone: applyGradients on a model's variables with fixed gradients;
//      "sgd-native alone" is the same native call on the very arrays the adapter passes it.
//   2. A whole trainOnBatch step (batch 64), and the time spent inside applyGradients during it.
// Medians; read the ratios. Writes bench/tfjs-results.md.
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { isa, numThreads } from '../dist/index.mjs';
import { measure } from './measure.mjs';
import { bindTfjs } from '../dist/tfjs.mjs';

const QUICK = process.argv.includes('--quick');
const MODELS = [
  { name: 'MLP 784-256-128-10', units: [256, 128, 10], steps: { rounds: QUICK ? 3 : 6, block: 5 } },
  ...(QUICK ? [] : [{ name: 'wide MLP 784-2048-2048-10', units: [2048, 2048, 10], steps: { rounds: 3, block: 2 } }]),
];
const BACKENDS = ['cpu', 'wasm'];
const BATCH = 64;
const log = (...a) => console.log(...a);
const gc = globalThis.gc ?? (() => {}); // node --expose-gc (npm run bench passes it)
const fmt = (x, d = 3) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(d));

/** Median milliseconds per call of a synchronous fn, over batches sized to ~minSample ms (bench/measure.mjs). */
function medianMs(fn, { samples = 9, minSample = 40 } = {}) {
  return measure(fn, { samples, minSample: minSample / 1000, maxBatch: 1 << 16 }) * 1000;
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

function mlp(units) {
  return tf.sequential({
    layers: units.map((u, i) =>
      tf.layers.dense({ ...(i === 0 ? { inputShape: [784] } : {}), units: u, activation: i === units.length - 1 ? 'softmax' : 'relu' }),
    ),
  });
}

/** The arrays the adapter hands sgd-native for these gradient tensors (the backend's own storage). */
function gradientArrays(tensors) {
  const be = tf.backend();
  if (tf.getBackend() === 'cpu') return tensors.map((t) => be.data.get(t.dataId).values);
  return tensors.map((t) => new Float32Array(be.wasm.HEAPU8.buffer, be.dataIdMap.get(t.dataId).memoryOffset, t.size));
}

const { SGD } = bindTfjs(tf);
const OPTIMIZERS = {
  'tf.train.momentum': () => tf.train.momentum(0.01, 0.9),
  'sgd-native/tfjs': () => new SGD({ learningRate: 0.01, momentum: 0.9 }),
  'sgd-native/tfjs, copy path': () => new SGD({ learningRate: 0.01, momentum: 0.9, storage: 'copy' }),
};

/**
 * 1. applyGradients alone, every optimizer on the same model variables and fixed gradients,
 * interleaved round by round (the machine's load drifts): the median of the rounds' medians.
 */
function optimizerPart(model, rounds = 5) {
  const vars = model.trainableWeights.map((w) => w.read());
  const grads = vars.map((v) => ({ name: v.name, tensor: tf.fill(v.shape, 1e-3) }));
  const opts = Object.fromEntries(Object.entries(OPTIMIZERS).map(([label, make]) => [label, make()]));
  const steps = Object.fromEntries(Object.entries(opts).map(([label, opt]) => [label, () => opt.applyGradients(grads)]));
  for (const step of Object.values(steps)) step(); // builds; the heap settles
  const adapter = opts['sgd-native/tfjs'];
  adapter.applyGradients(grads); // re-binds after the other optimizers' assign()
  let arrays = gradientArrays(grads.map((g) => g.tensor));
  steps['sgd-native alone'] = () => adapter.native.apply(arrays);
  const times = Object.fromEntries(Object.keys(steps).map((label) => [label, []]));
  for (let r = 0; r < rounds; ++r) {
    for (const [label, step] of Object.entries(steps)) {
      if (label === 'sgd-native alone') {
        adapter.applyGradients(grads); // re-binds if the others moved the variables or grew the heap
        arrays = gradientArrays(grads.map((g) => g.tensor)); // fresh views: the heap may have grown since
      }
      gc(); // the garbage of the candidate before is not this one's cost
      times[label].push(medianMs(step, { samples: 3 }));
    }
  }
  // The adapter's own cost is small against the load's drift: measure it paired, the adapter
  // and the same native call alternating a few calls at a time.
  adapter.applyGradients(grads);
  arrays = gradientArrays(grads.map((g) => g.tensor));
  const [withAdapter, alone] = paired(steps['sgd-native/tfjs'], steps['sgd-native alone']);
  for (const opt of Object.values(opts)) opt.dispose();
  tf.dispose(grads.map((g) => g.tensor));
  const row = Object.fromEntries(Object.entries(times).map(([label, t]) => [label, median(t)]));
  row.overhead = withAdapter / alone - 1;
  return row;
}

/** Median ms per call of a and of b, run alternately `calls` calls at a time for ~`ms` milliseconds. */
function paired(a, b, { calls = 5, ms = 1500 } = {}) {
  const ta = [];
  const tb = [];
  for (const end = performance.now() + ms; performance.now() < end || ta.length < 20;) {
    for (const [fn, out] of [
      [a, ta],
      [b, tb],
    ]) {
      const t = performance.now();
      for (let i = 0; i < calls; ++i) fn();
      out.push((performance.now() - t) / calls);
    }
  }
  return [median(ta), median(tb)];
}

/**
 * 2. Whole trainOnBatch steps, each optimizer in blocks of consecutive steps (so each pays for
 * collecting its own garbage, as in real training), the blocks interleaved in a rotating
 * order (the machine's load drifts), a collection and an untimed step before each block.
 */
async function trainingStep(units, { rounds, block }) {
  const x = tf.randomNormal([BATCH, 784], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 2), 10).toFloat();
  const runs = Object.entries(OPTIMIZERS).map(([label, make]) => {
    const model = mlp(units);
    const opt = make();
    const inside = [];
    const apply = opt.applyGradients.bind(opt);
    opt.applyGradients = (g) => {
      const t = performance.now();
      apply(g);
      inside.push(performance.now() - t);
    };
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    return { label, model, opt, inside, times: [] };
  });
  for (let r = 0; r < rounds; ++r) {
    for (let k = 0; k < runs.length; ++k) {
      const run = runs[(r + k) % runs.length];
      gc();
      await run.model.trainOnBatch(x, y); // not counted
      run.inside.pop();
      for (let s = 0; s < block; ++s) {
        const t = performance.now();
        await run.model.trainOnBatch(x, y);
        run.times.push(performance.now() - t);
      }
    }
  }
  const row = {};
  for (const r of runs) {
    row[r.label] = { step: median(r.times), inside: median(r.inside) };
    r.model.dispose();
    r.opt.dispose();
  }
  tf.dispose([x, y]);
  return row;
}

const env = `${isa().active} kernels, ${numThreads()} threads, Node ${process.version}, tfjs ${tf.version.tfjs}`;
log(`\nsgd-native/tfjs against tf.train.momentum (${env})${QUICK ? ' [quick]' : ''}`);
const results = [];
for (const backend of BACKENDS) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const m of MODELS) {
    const model = mlp(m.units);
    const params = model.countParams();
    const alone = optimizerPart(model);
    model.dispose();
    const step = await trainingStep(m.units, m.steps);
    results.push({ backend, model: m.name, params, alone, step });
    const a = alone;
    log(`\n${backend}, ${m.name} (${params} parameters)`);
    log(
      `  optimizer part, ms: tf.train.momentum ${fmt(a['tf.train.momentum'])}, adapter ${fmt(a['sgd-native/tfjs'])}, copy path ${fmt(a['sgd-native/tfjs, copy path'])}, sgd-native alone ${fmt(a['sgd-native alone'])}`,
    );
    log(
      `    adapter: ${fmt(a['tf.train.momentum'] / a['sgd-native/tfjs'], 1)}x faster than tf.train.momentum, ${fmt(a.overhead * 100, 1)} % over sgd-native alone (paired)`,
    );
    for (const [label, s] of Object.entries(step))
      log(`  trainOnBatch, ${label}: ${fmt(s.step)} ms (inside applyGradients ${fmt(s.inside)} ms)`);
    const gain = 1 - step['sgd-native/tfjs'].step / step['tf.train.momentum'].step;
    log(`    adapter: the step ${fmt(gain * 100, 1)} % faster than with tf.train.momentum`);
  }
}

const md = [
  `# sgd-native/tfjs benchmark\n\n\`npm run bench\` (tfjs section; alone: \`npm run bench:tfjs\`) on ${env}, ${new Date().toISOString().slice(0, 10)}. Medians, milliseconds.\n`,
  '## The optimizer part alone (applyGradients, momentum 0.9, fixed gradients)\n',
  '"sgd-native alone" is the same native call on the arrays the adapter passes it; "adapter over sgd-native alone" is measured paired (the two alternating a few calls at a time), the other columns in rounds.\n',
  '| backend | model | parameters | tf.train.momentum | adapter | copy path | sgd-native alone | adapter vs tf.train.momentum | adapter over sgd-native alone |',
  '|---|---|---|---|---|---|---|---|---|',
  ...results.map(
    ({ backend, model, params, alone: a }) =>
      `| ${backend} | ${model} | ${params} | ${fmt(a['tf.train.momentum'])} | ${fmt(a['sgd-native/tfjs'])} | ${fmt(a['sgd-native/tfjs, copy path'])} | ${fmt(a['sgd-native alone'])} | ${fmt(a['tf.train.momentum'] / a['sgd-native/tfjs'], 1)}x faster | ${fmt(a.overhead * 100, 1)} % |`,
  ),
  `\n## A whole trainOnBatch step (batch ${BATCH}, categorical cross-entropy; in brackets: inside applyGradients)\n`,
  '| backend | model | tf.train.momentum | adapter | copy path | step time saved by the adapter |',
  '|---|---|---|---|---|---|',
  ...results.map(({ backend, model, step: s }) => {
    const cell = (l) => `${fmt(s[l].step)} (${fmt(s[l].inside)})`;
    const gain = 1 - s['sgd-native/tfjs'].step / s['tf.train.momentum'].step;
    return `| ${backend} | ${model} | ${cell('tf.train.momentum')} | ${cell('sgd-native/tfjs')} | ${cell('sgd-native/tfjs, copy path')} | ${fmt(gain * 100, 1)} % |`;
  }),
  '',
];
writeFileSync(new URL('tfjs-results.md', import.meta.url), md.join('\n'));
log('\nwrote bench/tfjs-results.md');
