// node examples/resume-keras.mjs [out.keras]: a training run moves from Keras to Node and back.
//
// examples/data/iris-keras.keras is a 4-8-3 Iris classifier that Keras 3 trained for 30
// steps with model.fit (SGD, Nesterov momentum) and saved with model.save()
// (tools/make-keras-example.py made it; iris-keras.history.json has Keras's losses).
// This program reads it with its optimizer state, trains on with sgd-native (forward and
// backward in plain JavaScript), prints the loss curve, and writes a .keras file that
// keras.saving.load_model opens and continues from.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readKerasFile, writeKerasFile } from '../dist/keras/index.mjs';

const STEPS = 30;
const SPECIES = ['setosa', 'versicolor', 'virginica'];
const data = (name) => new URL(`./data/${name}`, import.meta.url);

// --- the data, standardized as tools/make-keras-example.py did for Keras ------------------
const rows = readFileSync(data('iris.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','));
const xs = rows.map((r) => r.slice(0, 4).map(Number));
const ys = rows.map((r) => SPECIES.indexOf(r[4]));
const n = xs.length;
const mean = [0, 1, 2, 3].map((k) => xs.reduce((s, x) => s + x[k], 0) / n);
const std = [0, 1, 2, 3].map((k) => Math.sqrt(xs.reduce((s, x) => s + (x[k] - mean[k]) ** 2, 0) / n));
const X = xs.map((x) => x.map((v, k) => Math.fround((v - mean[k]) / std[k])));

// --- the model as Keras saved it ----------------------------------------------------------
const run = await readKerasFile(data('iris-keras.keras').pathname);
const history = JSON.parse(readFileSync(data('iris-keras.history.json'), 'utf8'));
const [w1, b1, w2, b2] = run.weights; // Dense(8, tanh) kernel/bias, Dense(3, softmax) kernel/bias
const H = w1.shape[1];
const C = w2.shape[1];
console.log(`read ${run.config.config.name}: ${run.weights.map((w) => `${w.path} (${w.shape})`).join(', ')}`);
console.log(
  `optimizer: SGD momentum=${run.optimizer.getConfig().momentum} nesterov=${run.optimizer.getConfig().nesterov}, ` +
    `${run.optimizer.iterations} steps taken in Keras, momentum buffers loaded`,
);

// Full-batch softmax cross-entropy (Keras's sparse_categorical_crossentropy clips at 1e-7)
// and its gradient, written out for this two-layer model.
const grads = run.trainableVariables.map((v) => new Float32Array(v.size));
const [gw1, gb1, gw2, gb2] = grads;
function lossAndGradients() {
  grads.forEach((g) => g.fill(0));
  let loss = 0;
  const h = new Float64Array(H);
  const p = new Float64Array(C);
  for (let i = 0; i < n; ++i) {
    const x = X[i];
    for (let j = 0; j < H; ++j) {
      let s = b1.value[j];
      for (let k = 0; k < 4; ++k) s += x[k] * w1.value[k * H + j];
      h[j] = Math.tanh(s);
    }
    let max = -Infinity;
    for (let c = 0; c < C; ++c) {
      let s = b2.value[c];
      for (let j = 0; j < H; ++j) s += h[j] * w2.value[j * C + c];
      p[c] = s;
      max = Math.max(max, s);
    }
    let z = 0;
    for (let c = 0; c < C; ++c) z += p[c] = Math.exp(p[c] - max);
    for (let c = 0; c < C; ++c) p[c] /= z;
    loss -= Math.log(Math.min(Math.max(p[ys[i]], 1e-7), 1 - 1e-7));
    for (let c = 0; c < C; ++c) {
      const d = (p[c] - (c === ys[i] ? 1 : 0)) / n; // d loss / d logit
      gb2[c] += d;
      for (let j = 0; j < H; ++j) gw2[j * C + c] += h[j] * d;
    }
    for (let j = 0; j < H; ++j) {
      let d = 0;
      for (let c = 0; c < C; ++c) d += ((p[c] - (c === ys[i] ? 1 : 0)) / n) * w2.value[j * C + c];
      d *= 1 - h[j] * h[j];
      gb1[j] += d;
      for (let k = 0; k < 4; ++k) gw1[k * H + j] += x[k] * d;
    }
  }
  return loss / n;
}

// --- the loss curve: Keras's steps, then ours -------------------------------------------------
const bar = (loss) => '#'.repeat(Math.round(loss * 40));
console.log('\nstep  loss     (Keras: model.fit; Node: sgd-native)');
history.loss.forEach((loss, i) => {
  if (i % 5 === 0) console.log(`${String(i + 1).padStart(4)}  ${loss.toFixed(4)}   keras ${bar(loss)}`);
});
const first = lossAndGradients();
console.log(`  at save: Keras evaluated ${history.loss_at_save.toFixed(4)}, Node computes ${first.toFixed(4)} on the weights read`);
const jump = Math.abs(first - history.loss_at_save);
let loss = first;
for (let s = 0; s < STEPS; ++s) {
  if (s > 0) loss = lossAndGradients();
  const step = run.optimizer.iterations + 1;
  if (s % 5 === 0) console.log(`${String(step).padStart(4)}  ${loss.toFixed(4)}   node  ${bar(loss)}`);
  run.optimizer.apply(grads, run.trainableVariables);
}
const last = lossAndGradients();
console.log(`${String(run.optimizer.iterations).padStart(4)}  ${last.toFixed(4)}   node  ${bar(last)}  (after the last step)`);

// --- back to Keras ---------------------------------------------------------------------------
const out = process.argv[2] ?? path.join(tmpdir(), 'iris-keras-resumed.keras');
await writeKerasFile(out, run);
const back = await readKerasFile(out);
console.log(`\nwrote ${out}: ${back.optimizer.iterations} steps, the same weights and momentum buffers`);
console.log(`continue in Keras: keras.saving.load_model(${JSON.stringify(out)}) and model.fit(...)`);

// The point of the exercise: no jump in the loss where the run changed hands.
if (!(jump < 1e-4) || !(last < first)) {
  console.error(`loss jumped (${history.loss_at_save} in Keras, ${first} in Node) or did not fall (${first} -> ${last})`);
  process.exit(1);
}
console.log(`no jump: |Node - Keras| at the hand-over = ${jump.toExponential(1)}`);
