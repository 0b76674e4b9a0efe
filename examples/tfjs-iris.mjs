// npm run demo:tfjs [-- --backend wasm]: trains a TensorFlow.js (tfjs-layers) model on the Iris
// data set (examples/data/iris.csv) with sgd-native's SGD through sgd-native/tfjs, then the
// same model from the same initial weights with tfjs's own tf.train.momentum, and prints
// test accuracy and seconds per epoch for both.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { bindTfjs } from '../dist/tfjs.mjs';
import { loadIris } from './data/iris.mjs';

const EPOCHS = 40;
const BATCH = 16;
const backendArg = process.argv.indexOf('--backend');
const BACKEND = backendArg > 0 ? process.argv[backendArg + 1] : 'cpu';

await tf.setBackend(BACKEND);
await tf.ready();

// --- data: 120 rows to train on, 30 to test ---
const iris = loadIris();
const tensors = (rows) => ({
  x: tf.tensor2d(rows.map((r) => r.x)),
  y: tf
    .oneHot(
      tf.tensor1d(
        rows.map((r) => r.y),
        'int32',
      ),
      3,
    )
    .toFloat(),
});
const train = tensors(iris.train);
const test = tensors(iris.test);

// --- model: 4-512-512-3, the same initial weights for both optimizers ---
function makeModel() {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 512, activation: 'relu' }),
      tf.layers.dense({ units: 512, activation: 'relu' }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
}
const initial = makeModel()
  .getWeights()
  .map((w) => w.clone());

function progress(label, epoch, loss) {
  const width = 30;
  const done = Math.round(((epoch + 1) / EPOCHS) * width);
  const line = `${label.padEnd(22)} [${'#'.repeat(done)}${'.'.repeat(width - done)}] epoch ${epoch + 1}/${EPOCHS} loss ${loss.toFixed(4)}`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line}${epoch + 1 === EPOCHS ? '\n' : ''}`);
  else if ((epoch + 1) % 10 === 0) console.log(line);
}

async function run(label, makeOptimizer) {
  // A short untimed run first: the first training in a process pays for compiling and warming up tfjs.
  const warmup = makeModel();
  warmup.compile({ optimizer: makeOptimizer(), loss: 'categoricalCrossentropy' });
  await warmup.fit(train.x, train.y, { epochs: 2, batchSize: BATCH, verbose: 0 });
  warmup.dispose();

  const model = makeModel();
  model.setWeights(initial);
  model.compile({ optimizer: makeOptimizer(), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const start = performance.now();
  await model.fit(train.x, train.y, {
    epochs: EPOCHS,
    batchSize: BATCH,
    shuffle: false,
    verbose: 0,
    callbacks: { onEpochEnd: (epoch, logs) => progress(label, epoch, logs.loss) },
  });
  const seconds = (performance.now() - start) / 1000;
  const [, accuracy] = model.evaluate(test.x, test.y).map((t) => t.dataSync()[0]);
  model.dispose();
  return { label, accuracy, secondsPerEpoch: seconds / EPOCHS };
}

const { SGD } = bindTfjs(tf);
console.log(
  `Iris, 150 rows (120 train / 30 test), MLP 4-512-512-3, batch ${BATCH}, ${EPOCHS} epochs, tfjs ${tf.version.tfjs} on '${tf.getBackend()}'\n`,
);
const results = [
  await run('sgd-native/tfjs', () => new SGD({ learningRate: 0.02, momentum: 0.9, nesterov: true })),
  await run('tf.train.momentum', () => tf.train.momentum(0.02, 0.9, true)),
];
console.log('\n| optimizer | test accuracy | seconds per epoch |\n|---|---|---|');
for (const r of results) console.log(`| ${r.label} | ${(r.accuracy * 100).toFixed(1)} % | ${r.secondsPerEpoch.toFixed(4)} |`);
