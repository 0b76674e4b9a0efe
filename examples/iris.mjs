// npm run demo: trains a 4-16-3 MLP on the Iris data set (examples/data/iris.csv) with
// sgd-native's SGD (Nesterov momentum, a cosine-decay schedule, EMA of the weights).
// Forward and backward passes are plain JavaScript over Float32Arrays; the optimizer
// updates the weights in place, one call per step (a model this small steps in JavaScript,
// with the addon's bits: see README, Speed).
import { SGD, Variable, schedules, isa } from '../dist/index.mjs';
import { loadIris, random } from './data/iris.mjs';

const EPOCHS = 200;
const BATCH = 16;
const HIDDEN = 16;

// Deterministic randomness (mulberry32), so every run trains the same model: the shuffle of
// the data, then the initial weights.
const rand = random(42);
const { train, test } = loadIris(rand);

// --- model ----------------------------------------------------------------------------
const glorot = (n, fanIn, fanOut) => {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * limit);
};
const w1 = new Variable(glorot(4 * HIDDEN, 4, HIDDEN), { name: 'kernel', path: 'dense/kernel', shape: [4, HIDDEN] });
const b1 = new Variable(new Float32Array(HIDDEN), { name: 'bias', path: 'dense/bias', shape: [HIDDEN] });
const w2 = new Variable(glorot(HIDDEN * 3, HIDDEN, 3), { name: 'kernel', path: 'dense_1/kernel', shape: [HIDDEN, 3] });
const b2 = new Variable(new Float32Array(3), { name: 'bias', path: 'dense_1/bias', shape: [3] });
const params = [w1, b1, w2, b2];
const grads = params.map((p) => new Float32Array(p.size)); // allocated once, refilled every step
const [gw1, gb1, gw2, gb2] = grads;

const hidden = new Float32Array(HIDDEN);
const dHidden = new Float32Array(HIDDEN);
const probs = new Float32Array(3);

function forward(x) {
  for (let j = 0; j < HIDDEN; ++j) {
    let s = b1.value[j];
    for (let k = 0; k < 4; ++k) s += x[k] * w1.value[k * HIDDEN + j];
    hidden[j] = Math.tanh(s);
  }
  let max = -Infinity;
  for (let c = 0; c < 3; ++c) {
    let s = b2.value[c];
    for (let j = 0; j < HIDDEN; ++j) s += hidden[j] * w2.value[j * 3 + c];
    probs[c] = s;
    max = Math.max(max, s);
  }
  let z = 0;
  for (let c = 0; c < 3; ++c) z += probs[c] = Math.exp(probs[c] - max);
  for (let c = 0; c < 3; ++c) probs[c] /= z;
}

/** Adds the batch-mean gradient of the cross-entropy for one example; returns its loss. */
function backward(x, y, scale) {
  forward(x);
  dHidden.fill(0);
  for (let c = 0; c < 3; ++c) {
    const d = (probs[c] - (c === y ? 1 : 0)) * scale; // softmax + cross-entropy
    gb2[c] += d;
    for (let j = 0; j < HIDDEN; ++j) {
      gw2[j * 3 + c] += hidden[j] * d;
      dHidden[j] += w2.value[j * 3 + c] * d;
    }
  }
  for (let j = 0; j < HIDDEN; ++j) {
    const d = dHidden[j] * (1 - hidden[j] * hidden[j]);
    gb1[j] += d;
    for (let k = 0; k < 4; ++k) gw1[k * HIDDEN + j] += x[k] * d;
  }
  return -Math.log(Math.max(probs[y], 1e-12));
}

function evaluate(set) {
  let loss = 0;
  let correct = 0;
  for (const { x, y } of set) {
    forward(x);
    loss -= Math.log(Math.max(probs[y], 1e-12));
    correct += Number(probs.indexOf(Math.max(...probs)) === y);
  }
  return { loss: loss / set.length, accuracy: correct / set.length };
}

// --- training -------------------------------------------------------------------------
const stepsPerEpoch = Math.ceil(train.length / BATCH);
const opt = new SGD({
  learningRate: new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: EPOCHS * stepsPerEpoch, alpha: 0.05 }),
  momentum: 0.9,
  nesterov: true,
  useEma: true,
  emaMomentum: 0.99,
});

const tty = process.stdout.isTTY;
function progress(epoch, loss) {
  const done = epoch / EPOCHS;
  if (tty) {
    const width = 30;
    const bar = '#'.repeat(Math.round(done * width)).padEnd(width, '.');
    process.stdout.write(`\r[${bar}] epoch ${String(epoch).padStart(3)}/${EPOCHS}  loss ${loss.toFixed(4)}`);
    if (epoch === EPOCHS) process.stdout.write('\n');
  } else if (epoch % (EPOCHS / 10) === 0) {
    console.log(`${String(Math.round(done * 100)).padStart(3)}%  epoch ${epoch}/${EPOCHS}  loss ${loss.toFixed(4)}`);
  }
}

const started = performance.now();
let steps = 0;
for (let epoch = 1; epoch <= EPOCHS; ++epoch) {
  let epochLoss = 0;
  for (let start = 0; start < train.length; start += BATCH) {
    const batch = train.slice(start, start + BATCH);
    for (const g of grads) g.fill(0);
    for (const { x, y } of batch) epochLoss += backward(x, y, 1 / batch.length);
    opt.apply(grads, params);
    ++steps;
  }
  progress(epoch, epochLoss / train.length);
}
const seconds = (performance.now() - started) / 1000;

const raw = { train: evaluate(train), test: evaluate(test) };
opt.finalizeVariableValues(params); // the EMA weights replace the raw ones
const ema = { train: evaluate(train), test: evaluate(test) };

const pct = (a) => `${(a * 100).toFixed(1)}%`;
console.log(`trained ${steps} steps (optimizer iterations ${opt.iterations}) in ${seconds.toFixed(2)} s on the ${isa().active} kernels`);
console.log(`final train loss ${raw.train.loss.toFixed(4)}, train accuracy ${pct(raw.train.accuracy)}`);
console.log(`test accuracy: ${pct(raw.test.accuracy)} with the trained weights, ${pct(ema.test.accuracy)} with their moving average`);
if (ema.test.accuracy < 0.85) {
  console.error('demo failed: test accuracy below 85%');
  process.exit(1);
}
