// The sgd-native/tfjs suite, run once per tfjs backend (tfjs-cpu.test.ts, tfjs-wasm.test.ts).
// Reference: the same tfjs-layers model, its gradients taken with tf.variableGrads and stepped
// by sgd-native's own SGD on plain Float32Array copies. The adapter must match it bit for bit
// after every step.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { SGD, Variable, schedules, type SGDOptions } from '../lib/index.js';
import { bindTfjs } from '../lib/tfjs.js';

export type Backend = 'cpu' | 'wasm';

const { SGD: TfSGD } = bindTfjs(tf);

const { data } = require('./fixtures/data.cjs') as { data(n: number, seed: number, scale?: number): Float32Array };

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
  const values =
    weights ??
    model.weights.map((w, i) =>
      data(
        w.shape.reduce((a, b) => a! * b!, 1)!,
        7 + i,
        0.6,
      ),
    );
  model.setWeights(values.map((v, i) => tf.tensor(v.slice(), model.weights[i].shape as number[])));
  return model;
}

function batch(seed: number, n = 16): { x: tf.Tensor; y: tf.Tensor } {
  return { x: tf.tensor2d(data(n * IN, seed), [n, IN]), y: tf.tensor2d(data(n * OUT, seed + 7919), [n, OUT]) };
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
  constructor(
    readonly model: tf.LayersModel,
    options: SGDOptions,
  ) {
    this.sgd = new SGD(options);
    this.tfVars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.vars = this.tfVars.map(
      (v) => new Variable(Float32Array.from(v.dataSync()), { name: v.name.split('/').pop(), path: v.name, shape: v.shape }),
    );
  }

  step(x: tf.Tensor, y: tf.Tensor): number {
    const { value, grads } = tf.variableGrads(() => mseLoss(this.model, x, y), this.tfVars);
    this.sgd.apply(
      this.tfVars.map((v) => Float32Array.from(grads[v.name].dataSync())),
      this.vars,
    );
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
  [
    'schedule',
    () => ({ learningRate: new schedules.ExponentialDecay({ initialLearningRate: 0.2, decaySteps: 2, decayRate: 0.5 }), momentum: 0.9 }),
    4,
  ],
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

/** Saves with the optimizer through JSON (as a file would) and loads it back. */
async function saveAndLoad(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  const { weightData, ...json } = saved!;
  return tf.loadLayersModel(tf.io.fromMemory({ ...JSON.parse(JSON.stringify(json)), weightData }));
}

export function defineTfjsTrapSuite(backend: Backend): void {
  describe(`sgd-native/tfjs on the ${backend} backend: tfjs's contract and traps`, () => {
    it('model.fit lowers the loss; no tensor leaks per step', async () => {
      const n = 64;
      const x = tf.tensor2d(data(n * IN, 3), [n, IN]);
      const y = tf.tidy(() => tf.matMul(x, tf.tensor2d(data(IN * OUT, 4), [IN, OUT])));
      const model = mlp();
      model.compile({ optimizer: new TfSGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'meanSquaredError' });
      const history = await model.fit(x, y, { epochs: 12, batchSize: 16, shuffle: false, verbose: 0 });
      const losses = history.history.loss as number[];
      expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.5);
      for (const storage of ['auto', 'copy'] as const) {
        const m = mlp();
        m.compile({ optimizer: new TfSGD({ learningRate: 0.05, momentum: 0.9, storage }), loss: 'meanSquaredError' });
        await m.trainOnBatch(x, y);
        const before = tf.memory().numTensors;
        for (let s = 0; s < 4; ++s) await m.trainOnBatch(x, y);
        expect(tf.memory().numTensors, storage).toBe(before);
        m.dispose();
      }
      tf.dispose([x, y]);
      model.dispose();
    });

    it('what is kept of a weight across steps keeps its value: a clone, a reshape, a slice, dataSync(), data(); so does an initial value', async () => {
      const p = pair(() => ({ learningRate: 0.1, momentum: 0.9 }));
      await stepBoth(p, 1, 'step 1');
      const kernel = p.model.weights[0].read(); // [6, 8]
      const snapshot = Float32Array.from(kernel.dataSync());
      const held = [tf.clone(kernel), kernel.reshape([-1]), tf.clone(tf.clone(kernel)), tf.slice(kernel, [0, 0], [6, 8])];
      const rows = tf.slice(kernel, [2, 0], [3, 8]); // contiguous: the cpu kernel would return a view
      const read = [kernel.dataSync(), await kernel.data(), kernel.bufferSync().values];
      for (let s = 2; s <= 4; ++s) await stepBoth(p, s, `step ${s}`);
      held.forEach((t, i) => expectSameBits(t.dataSync(), snapshot, `held tensor ${i}`));
      expectSameBits(rows.dataSync(), snapshot.subarray(16, 40), 'held rows');
      read.forEach((values, i) => expectSameBits(values, snapshot, `values read ${i}`));
      expect(Object.is(kernel.dataSync()[0], snapshot[0])).toBe(false); // the weight itself did train
      tf.dispose([...held, rows]);

      const init = tf.tensor1d([1, 2, 3, 4]);
      const v = tf.variable(init, true);
      const opt = new TfSGD({ learningRate: 0.1 });
      for (let s = 0; s < 2; ++s) opt.minimize(() => tf.sum(tf.square(v)));
      expect(Array.from(init.dataSync())).toEqual([1, 2, 3, 4]);
      expect(v.dataSync()[0]).toBeCloseTo(0.64, 6);
      tf.dispose([init, v]);
      dispose(p.model, p.twin);
    });

    it('a gradient that is (a reshape or a slice of) the weight it updates is read before the weight is written', () => {
      const v = tf.variable(tf.tensor1d([1, -2, 3, -4, 5, -6, 7, -8]));
      const expected = new Variable(Float32Array.from(v.dataSync()));
      const sgd = new SGD({ learningRate: 0.25 });
      const opt = new TfSGD({ learningRate: 0.25 });
      for (const grad of [(a: tf.Tensor) => a.reshape([8]), (a: tf.Tensor) => tf.slice(a, [0], [8])]) {
        const f = tf.customGrad((a) => ({ value: tf.sum(a as tf.Tensor), gradFunc: () => grad(a as tf.Tensor) }));
        opt.minimize(() => f(v) as tf.Scalar, false, [v]);
        sgd.apply([expected.value.slice()], [expected]);
        expectSameBits(v.dataSync(), expected.value, 'v');
      }
      v.dispose();
    });

    it('setWeights / assign moving a variable to other storage: training continues from the new values, state kept', async () => {
      const p = pair(() => ({ learningRate: 0.05, momentum: 0.9 }));
      for (let s = 1; s <= 2; ++s) await stepBoth(p, s, `step ${s}`);
      const source = mlp(weightsOf(p.model).map((w) => w.map((x) => x * 0.5)));
      const sourceValues = weightsOf(source);
      p.model.setWeights(source.getWeights()); // the model's variables now share the source's storage
      p.twin.setWeights(source.getWeights());
      p.ref.read();
      for (let s = 3; s <= 4; ++s) await stepBoth(p, s, `step ${s} after setWeights`);
      weightsOf(source).forEach((w, i) => expectSameBits(w, sourceValues[i], `source weight ${i}`));
      const bias = p.model.weights[1].read() as tf.Variable;
      const twinBias = p.twin.weights[1].read() as tf.Variable;
      tf.tidy(() => {
        bias.assign(tf.fill(bias.shape, 0.25));
        twinBias.assign(tf.fill(twinBias.shape, 0.25));
      });
      p.ref.read();
      for (let s = 5; s <= 6; ++s) await stepBoth(p, s, `step ${s} after assign`);
      dispose(p.model, p.twin, source);
    });

    it('the model predicts with the updated weights (the wasm kernels drop weights they packed)', async () => {
      const p = pair(() => ({ learningRate: 0.1, momentum: 0.9 }));
      const { x } = batch(9);
      for (let s = 1; s <= 3; ++s) {
        await stepBoth(p, s, `step ${s}`);
        const fresh = mlp(weightsOf(p.model));
        const [a, b] = [p.model.predict(x) as tf.Tensor, fresh.predict(x) as tf.Tensor];
        expectSameBits(a.dataSync(), b.dataSync(), `prediction after step ${s}`);
        tf.dispose([a, b]);
        fresh.dispose();
      }
      x.dispose();
      dispose(p.model, p.twin);
    });

    it.runIf(backend === 'wasm')('wasm heap growth (every view detached): re-bound, state kept', async () => {
      const p = pair(() => ({ learningRate: 0.05, momentum: 0.9, useEma: true }));
      for (let s = 1; s <= 2; ++s) await stepBoth(p, s, `step ${s}`);
      const wasm = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm;
      const heap = wasm.HEAPU8.buffer;
      const big = tf.zeros([(heap.byteLength >> 2) + (1 << 22)]); // more than the whole heap: it must grow
      expect(wasm.HEAPU8.buffer).not.toBe(heap);
      expect(heap.byteLength).toBe(0); // detached
      for (let s = 3; s <= 5; ++s) await stepBoth(p, s, `step ${s} after heap growth`);
      big.dispose();
      dispose(p.model, p.twin);
    });

    it.runIf(backend === 'cpu')(
      'a backend switch between steps (cpu to wasm and back): re-bound on the new backend, state kept',
      async () => {
        const p = pair(() => ({ learningRate: 0.05, momentum: 0.9 }));
        try {
          for (let s = 1; s <= 2; ++s) await stepBoth(p, s, `cpu step ${s}`);
          await tf.setBackend('wasm');
          for (let s = 3; s <= 4; ++s) await stepBoth(p, s, `wasm step ${s}`);
          expect(p.opt.storage).toBe('wasm');
          await tf.setBackend('cpu');
          for (let s = 5; s <= 6; ++s) await stepBoth(p, s, `cpu step ${s}`);
          expect(p.opt.storage).toBe('cpu');
        } finally {
          await tf.setBackend(backend);
          dispose(p.model, p.twin);
        }
      },
    );

    it('applyGradients takes a NamedTensorMap (minimize without varList) and a list with missing gradients', () => {
      const w = tf.variable(tf.tensor1d([0.5, -0.5]), true);
      const b = tf.variable(tf.scalar(0.1), true);
      const refW = new Variable(Float32Array.of(0.5, -0.5), { name: 'w' });
      const refB = new Variable(Float32Array.of(0.1), { name: 'b', shape: [] });
      const opt = new TfSGD({ learningRate: 0.1, momentum: 0.9 });
      const sgd = new SGD({ learningRate: 0.1, momentum: 0.9 });
      const x = tf.tensor2d([1, 2, 3, -1, 0, 2], [3, 2]);
      const y = tf.tensor1d([1, 0, 2]);
      const loss = () => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w.reshape([2, 1])).reshape([3]), b), y))) as tf.Scalar;
      for (let s = 0; s < 3; ++s) {
        const { grads } = tf.variableGrads(loss, [w, b]);
        const g = [Float32Array.from(grads[w.name].dataSync()), Float32Array.from(grads[b.name].dataSync())];
        tf.dispose(grads);
        opt.minimize(loss); // the map form, over every trainable variable the loss uses
        sgd.apply(g, [refW, refB]);
        expectSameBits(w.dataSync(), refW.value, `w, step ${s + 1}`);
        expectSameBits(b.dataSync(), refB.value, `b, step ${s + 1}`);
      }
      const g = tf.tensor1d([1, 1]);
      const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      opt.applyGradients([
        { name: w.name, tensor: g },
        { name: b.name, tensor: null as unknown as tf.Tensor },
      ]);
      expect(String(warning.mock.calls[0]?.[0])).toMatch(new RegExp(`Gradients do not exist for variables \\['${b.name}'\\]`));
      warning.mockClear();
      sgd.apply([Float32Array.of(1, 1), null], [refW, refB]);
      warning.mockRestore();
      expectSameBits(w.dataSync(), refW.value, 'w after a missing gradient');
      expectSameBits(b.dataSync(), refB.value, 'b after a missing gradient');
      const stranger = tf.variable(tf.tensor1d([1]), true);
      expect(() => opt.applyGradients({ [stranger.name]: g })).toThrow(/not built with/);
      expect(opt.iterations).toBe(4);
      b.dispose();
      expect(() => opt.applyGradients({ [w.name]: g })).toThrow(/disposed/);
      tf.dispose([w, x, y, g, stranger]);
    });

    it('save with the optimizer, load, resume: equal to the uninterrupted run, bit for bit', async () => {
      const options = (): SGDOptions => ({
        learningRate: new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 8, warmupTarget: 0.2, warmupSteps: 2 }),
        momentum: 0.9,
        nesterov: true,
        globalClipnorm: 1,
        name: 'my_sgd',
      });
      const whole = mlp();
      whole.compile({ optimizer: new TfSGD(options()), loss: 'meanSquaredError' });
      const first = mlp();
      first.compile({ optimizer: new TfSGD(options()), loss: 'meanSquaredError' });
      const train = async (m: tf.LayersModel, from: number, to: number) => {
        const losses = [];
        for (let s = from; s < to; ++s) {
          const { x, y } = batch(s);
          losses.push((await m.trainOnBatch(x, y)) as number);
          tf.dispose([x, y]);
        }
        return losses;
      };
      const expected = await train(whole, 0, 6);
      await train(first, 0, 3);
      const resumed = await saveAndLoad(first);
      expect(resumed.optimizer).toBeInstanceOf(TfSGD);
      expect(resumed.optimizer.getConfig()).toEqual(first.optimizer.getConfig());
      expect(resumed.optimizer.iterations).toBe(3);
      expect((await train(resumed, 3, 6)).map(Math.fround)).toEqual(expected.slice(3).map(Math.fround));
      expectSameWeights(resumed, whole, 'resumed');
      dispose(whole, first, resumed);
    });

    it('getWeights / setWeights: iteration count first, Keras paths; restored by path, else by position; a misfit is skipped with a warning', async () => {
      const p = pair(() => ({ learningRate: 0.05, momentum: 0.9 }));
      for (let s = 1; s <= 2; ++s) await stepBoth(p, s, `step ${s}`);
      const weights = await p.opt.getWeights();
      expect(weights[0].name).toBe('iter');
      expect(weights[0].tensor.dtype).toBe('int32');
      expect(weights.slice(1).map((w) => w.name)).toEqual(p.opt.native.variables.slice(1).map((v) => v.path));
      expect(weights[2].name).toMatch(/^sgd\/dense_Dense\d+_kernel(_\d+)?_momentum$/);

      // By path: the same variables, the arrays shuffled.
      const byPath = new TfSGD({ learningRate: 0.05, momentum: 0.9 });
      await byPath.setWeights([weights[0], ...weights.slice(1).reverse()]);
      expect(byPath.iterations).toBe(2);
      p.model.compile({ optimizer: byPath, loss: 'meanSquaredError' });
      for (let s = 3; s <= 4; ++s) await stepBoth(p, s, `step ${s} by path`);

      // By position: another model (other variable names), after its first step.
      const q = pair(() => ({ learningRate: 0.05, momentum: 0.9 }));
      for (let s = 1; s <= 2; ++s) await stepBoth(q, s, `q step ${s}`);
      const fresh = pair(() => ({ learningRate: 0.05, momentum: 0.9 }));
      fresh.model.setWeights(q.model.getWeights());
      await fresh.opt.setWeights(await q.opt.getWeights());
      q.model.compile({ optimizer: fresh.opt, loss: 'meanSquaredError' });
      for (let s = 3; s <= 4; ++s) await stepBoth(q, s, `q step ${s} by position`);

      const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      const before = p.opt.native.stateDict();
      await byPath.setWeights(weights.slice(0, 3));
      expect(String(warning.mock.calls[0]?.[0])).toMatch(/Skipping variable loading/);
      expect(byPath.native.stateDict()).not.toEqual(before); // untouched: still its own, trained state
      warning.mockRestore();
      tf.dispose(weights.map((w) => w.tensor));
      dispose(p.model, p.twin, q.model, q.twin, fresh.model, fresh.twin);
    });
  });
}

describe('bindTfjs', () => {
  it.runIf(!process.env.SGD_TEST_NO_SPAWN)('sgd-native/tfjs: require() and import give one adapter, on the one core', () => {
    const script = `
      const tf = require('@tensorflow/tfjs');
      const cjs = require('sgd-native/tfjs');
      Promise.all([import('sgd-native/tfjs'), import('sgd-native')]).then(([esm, core]) => {
        const { SGD } = esm.bindTfjs(tf);
        console.log(esm.bindTfjs === cjs.bindTfjs, cjs.bindTfjs(tf).SGD === SGD, new SGD().native instanceof core.SGD);
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..') }).toString();
    expect(out.trim().split('\n').pop()).toBe('true true true');
  });

  it("registers the class as SGDNative, leaves tfjs's SGD alone, binds once per tfjs instance", () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map.SGDNative[0]).toBe(TfSGD);
    expect(map.SGD[0]).toBe(tf.train.sgd(0.1).constructor);
    expect(bindTfjs(tf).SGD).toBe(TfSGD);
    const opt = new TfSGD({ momentum: 0.5 });
    expect(opt).toBeInstanceOf(tf.Optimizer);
    expect(opt.getClassName()).toBe('SGDNative');
    expect(opt.native).toBeInstanceOf(SGD);
    expect(() => bindTfjs({} as typeof tf)).toThrow(/TensorFlow.js namespace/);
    expect(() => new TfSGD({ storage: 'shared' as 'copy' })).toThrow(/storage/);
    const v = tf.variable(tf.tensor1d([1, 2]));
    const g = tf.tensor1d([1, 1]);
    opt.dispose();
    expect(() => opt.applyGradients({ [v.name]: g })).toThrow(/disposed/);
    tf.dispose([v, g]);
  });

  it("fromConfig takes Keras's config and what tfjs-layers hands back on load (camelCased, customObjects added)", () => {
    const keras = new SGD({
      learningRate: new schedules.PiecewiseConstantDecay({ boundaries: [2, 4], values: [0.1, 0.05, 0.01] }),
      momentum: 0.9,
      globalClipnorm: 2,
      emaOverwriteFrequency: 3,
      useEma: true,
    }).getConfig();
    const camel = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(camel)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), camel(x)]))
          : v;
    const loaded = { ...(camel(keras) as object), customObjects: {} };
    for (const config of [keras, loaded]) {
      const opt = TfSGD.fromConfig(TfSGD, config);
      expect(opt).toBeInstanceOf(TfSGD);
      expect(opt.getConfig()).toEqual(keras);
    }
  });
});
