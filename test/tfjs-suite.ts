// The sgd-native/tfjs suite, run once per tfjs backend (tfjs-cpu.test.ts, tfjs-wasm.test.ts).
// Reference: the same tfjs-layers model, its gradients taken with tf.variableGrads and stepped
// by sgd-native's own SGD on plain Float32Array copies. The adapter must match it bit for bit
// after every step.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { SGD, Variable, schedules, type SGDOptions } from '../lib/index.js';
import { bindTfjs } from '../lib/tfjs.js';

export type Backend = 'cpu' | 'wasm';

const { SGD: TfSGD } = bindTfjs(tf);

/** A small deterministic generator (mulberry32), for weights and data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(rng: () => number, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

const IN = 6;
const OUT = 3;

/** An MLP 6-8-5-3 with the given weights (or seeded ones): the same architecture every time. */
function mlp(weights?: Float32Array[]): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [IN], units: 8, activation: 'relu' }),
      tf.layers.dense({ units: 5, activation: 'tanh' }),
      tf.layers.dense({ units: OUT }),
    ],
  });
  const rng = random(7);
  const values = weights ?? model.weights.map((w) => uniform(rng, w.shape.reduce((a, b) => a! * b!, 1)!, 0.6));
  model.setWeights(values.map((v, i) => tf.tensor(v.slice(), model.weights[i].shape as number[])));
  return model;
}

function batch(seed: number, n = 16): { x: tf.Tensor; y: tf.Tensor } {
  const rng = random(seed);
  return { x: tf.tensor2d(uniform(rng, n * IN), [n, IN]), y: tf.tensor2d(uniform(rng, n * OUT), [n, OUT]) };
}

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => Float32Array.from(w.read().dataSync()));
}

/** Identical bits, element by element. */
function expectSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; ++i) {
    if (!Object.is(actual[i], expected[i])) expect.fail(`${label}[${i}]: adapter ${actual[i]}, reference ${expected[i]}`);
  }
}

function expectSameWeights(a: tf.LayersModel, b: tf.LayersModel, label: string): void {
  const wa = weightsOf(a);
  const wb = weightsOf(b);
  wa.forEach((w, i) => expectSameBits(w, wb[i], `${label} ${a.weights[i].originalName}`));
}

/** What trainOnBatch minimises for loss 'meanSquaredError'. */
function mseLoss(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.mean(tf.metrics.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor));
}

/** sgd-native's own SGD on copies of `model`'s trainable weights, on tf.variableGrads' gradients. */
class Reference {
  readonly sgd: SGD;
  readonly vars: Variable<Float32Array>[];
  readonly tfVars: tf.Variable[];
  constructor(readonly model: tf.LayersModel, options: SGDOptions) {
    this.sgd = new SGD(options);
    this.tfVars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.vars = this.tfVars.map(
      (v) => new Variable(Float32Array.from(v.dataSync()), { name: v.name.split('/').pop(), path: v.name, shape: v.shape }),
    );
  }

  step(x: tf.Tensor, y: tf.Tensor): number {
    const { value, grads } = tf.variableGrads(() => mseLoss(this.model, x, y), this.tfVars);
    this.sgd.apply(this.tfVars.map((v) => Float32Array.from(grads[v.name].dataSync())), this.vars);
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    this.write();
    return loss;
  }

  write(): void {
    this.tfVars.forEach((v, i) => {
      const t = tf.tensor(this.vars[i].value.slice(), v.shape);
      v.assign(t);
      t.dispose();
    });
  }

  /** Weights set from outside (setWeights): the reference adopts them. */
  read(): void {
    this.tfVars.forEach((v, i) => this.vars[i].value.set(v.dataSync()));
  }
}

/** A model compiled with the adapter and its reference twin, same initial weights (options made once for each). */
function pair(options: () => SGDOptions, storage: 'auto' | 'copy' = 'auto') {
  const model = mlp();
  const opt = new TfSGD({ ...options(), storage });
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  const twin = mlp();
  const ref = new Reference(twin, options());
  return { model, opt, twin, ref };
}

async function stepBoth(p: ReturnType<typeof pair>, seed: number, label: string): Promise<void> {
  const { x, y } = batch(seed);
  const loss = (await p.model.trainOnBatch(x, y)) as number;
  const expected = p.ref.step(x, y);
  tf.dispose([x, y]);
  expect(Object.is(Math.fround(loss), Math.fround(expected)), `${label}: loss ${loss} vs ${expected}`).toBe(true);
  expectSameWeights(p.model, p.twin, label);
}

function dispose(...models: tf.LayersModel[]): void {
  for (const m of models) m.dispose();
}

/** Each call a new function, same values: lr = 0.1 / (1 + calls / 4). */
function decayingRate(): () => number {
  let calls = 0;
  return () => 0.1 / (1 + calls++ / 4);
}

const CASES: [string, () => SGDOptions, number][] = [
  ['plain', () => ({ learningRate: 0.1 }), 3],
  ['momentum', () => ({ learningRate: 0.05, momentum: 0.9 }), 4],
  ['nesterov', () => ({ learningRate: 0.05, momentum: 0.9, nesterov: true }), 4],
  ['weight decay', () => ({ learningRate: 0.05, momentum: 0.5, weightDecay: 0.1 }), 3],
  ['clipnorm', () => ({ learningRate: 0.1, momentum: 0.9, clipnorm: 0.05 }), 3],
  ['global_clipnorm', () => ({ learningRate: 0.1, momentum: 0.9, globalClipnorm: 0.1 }), 3],
  ['clipvalue', () => ({ learningRate: 0.1, clipvalue: 0.002 }), 3],
  ['EMA with overwrite', () => ({ learningRate: 0.1, momentum: 0.9, useEma: true, emaMomentum: 0.8, emaOverwriteFrequency: 3 }), 5],
  ['gradient accumulation', () => ({ learningRate: 0.1, momentum: 0.9, gradientAccumulationSteps: 2 }), 5],
  ['schedule', () => ({ learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.2, decaySteps: 2, decayRate: 0.5 }), momentum: 0.9 }), 4],
  ['learning-rate function', () => ({ learningRate: decayingRate(), momentum: 0.9 }), 4],
];

export function defineTfjsSuite(backend: Backend): void {
  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined); // tfjs's "install tfjs-node" banner
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
  });

  describe(`sgd-native/tfjs on the ${backend} backend`, () => {
    for (const storage of ['auto', 'copy'] as const) {
      describe(`storage '${storage}'`, () => {
        it.each(CASES)('%s: trainOnBatch equals sgd-native on tf.variableGrads, bit for bit, every step', async (_, options, steps) => {
          const p = pair(options, storage);
          if (_ === 'weight decay') {
            p.opt.native.excludeFromWeightDecay({ varNames: ['bias'] });
            p.ref.sgd.excludeFromWeightDecay({ varNames: ['bias'] });
          }
          for (let s = 0; s < steps; ++s) await stepBoth(p, 100 + s, `step ${s + 1}`);
          expect(p.opt.storage).toBe(storage === 'copy' ? 'copy' : backend);
          expect(p.opt.iterations).toBe(steps);
          if (_ === 'EMA with overwrite') {
            p.opt.finalizeVariableValues();
            p.ref.sgd.finalizeVariableValues(p.ref.vars);
            p.ref.write();
            expectSameWeights(p.model, p.twin, 'finalized');
            await stepBoth(p, 200, 'after finalize'); // the finalized weights are the ones trained on
          }
          dispose(p.model, p.twin);
        });
      });
    }
  });
}
