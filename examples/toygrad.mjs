// node examples/toygrad.mjs: sgd-native as the optimizer of a second framework, toygrad (a
// TypeScript port of ConvNetJS, MIT). toygrad exposes what an external optimizer needs:
// nn.getParamsAndGrads() returns every parameter array with its gradient array (Float32Arrays,
// the ones the next forward pass reads and backward() accumulates into). The trainer below
// has the shape of toygrad's own Trainers.SGD; it trains an MLP on the Iris data set
// (examples/data/iris.csv) next to Trainers.SGD from the same initial weights.
import { NeuralNetwork, Tensor, Trainers } from 'toygrad';
import { SGD, Variable } from '../dist/index.mjs';
import { loadIris } from './data/iris.mjs';

const EPOCHS = 100;
const BATCH = 8;

/** toygrad's trainer interface, with sgd-native's SGD doing the update. */
class SGDNativeTrainer {
  #k = 0;
  constructor(nn, { batchSize = 1, ...options } = {}) {
    this.nn = nn;
    this.batchSize = batchSize;
    const pairs = nn.getParamsAndGrads(); // fixed arrays for the network's life: bind them once
    this.vars = pairs.map(({ params }, i) => new Variable(params, { name: `param_${i}` }));
    this.grads = pairs.map(({ grads }) => grads);
    // toygrad sums the gradients of a batch; Keras's loss_scale_factor divides them by the batch size.
    this.sgd = new SGD({ ...options, lossScaleFactor: batchSize });
  }

  train(input, output) {
    this.nn.forward(input, true);
    const cost = this.nn.backward(output);
    if (++this.#k % this.batchSize === 0) {
      this.sgd.apply(this.grads, this.vars); // every parameter array, one native call
      for (const g of this.grads) g.fill(0); // toygrad accumulates: start the next batch from zero
    }
    return { cost, loss: cost };
  }
}

const iris = loadIris(7);
const tensors = (rows) => rows.map((r) => ({ x: new Tensor(1, 1, 4, Float32Array.from(r.x)), y: r.y }));
const train = tensors(iris.train);
const test = tensors(iris.test);

const layers = [
  { type: 'input', sx: 1, sy: 1, sz: 4 },
  { type: 'dense', filters: 64 },
  { type: 'tanh' },
  { type: 'dense', filters: 3 },
  { type: 'softmax' },
];
const initial = new NeuralNetwork({ layers }).getAsOptions('f32');

function run(label, makeTrainer) {
  const nn = new NeuralNetwork(initial);
  const trainer = makeTrainer(nn);
  const start = performance.now();
  let loss = 0;
  for (let epoch = 0; epoch < EPOCHS; ++epoch) {
    loss = 0;
    for (const s of train) loss += trainer.train(s.x, s.y).cost / train.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const argmax = (w) => w.indexOf(Math.max(...w));
  const correct = test.filter((s) => argmax(Array.from(nn.forward(s.x, false).w)) === s.y).length;
  return { label, loss, accuracy: correct / test.length, msPerEpoch: (seconds * 1000) / EPOCHS };
}

console.log(`toygrad MLP 4-64-3 on Iris (120 train / 30 test), batch ${BATCH}, ${EPOCHS} epochs, momentum 0.9\n`);
const results = [
  run('toygrad Trainers.SGD', (nn) => new Trainers.SGD(nn, { learningRate: 0.05, momentum: 0.9, batchSize: BATCH })),
  run('sgd-native trainer', (nn) => new SGDNativeTrainer(nn, { learningRate: 0.05, momentum: 0.9, batchSize: BATCH })),
];
console.log('| trainer | final training loss | test accuracy | ms per epoch |\n|---|---|---|---|');
for (const r of results)
  console.log(`| ${r.label} | ${r.loss.toFixed(4)} | ${(r.accuracy * 100).toFixed(1)} % | ${r.msPerEpoch.toFixed(2)} |`);
