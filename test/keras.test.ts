// sgd-native/keras: Keras 3's own files (test/conformance/keras-files, saved by Keras 3.15.1)
// are read, continued and written back; every number is compared bit for bit with what
// Keras computed. With a Python that has Keras, the files we write are also opened and
// continued by real Keras (tools/keras-roundtrip.py).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SGD, Variable } from '../lib/index.js';
import { KerasFormatError, readKerasFile, readKerasWeights, writeKerasFile, writeKerasWeights } from '../lib/keras/index.js';
import type { KerasRun } from '../lib/keras/index.js';
import { h5 } from '../lib/keras/h5.js';
import { CONFORMANCE_DIR } from './helpers.js';

const ROOT = path.join(__dirname, '..');
const DIR = path.join(CONFORMANCE_DIR, 'keras-files');
// Our own Keras files for the layer types the public fixtures do not have (tools/make-keras-fixtures.py).
const LAYERS_DIR = path.join(__dirname, 'keras-layers');
const canSpawn = !process.env.SGD_TEST_NO_SPAWN;

interface Tensor {
  path: string;
  shape: number[];
  values: number[];
  trainable?: boolean;
  dtype?: string;
}
interface State {
  weights: Tensor[];
  optimizer_variables: Tensor[];
  iterations: number;
}
interface Fixture {
  id: string;
  keras_version: string;
  optimizer_config: { class_name: string; config: Record<string, unknown> };
  steps_before_save: number;
  trainable_variables: { path: string; shape: number[] }[];
  at_save: State;
  grads_after_load: number[][][];
  expected_after_load: State;
  grads_after_write: number[][][];
  expected_after_write: State;
}

const idsIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
const PUBLIC_IDS = idsIn(DIR);
const IDS = [...PUBLIC_IDS, ...idsIn(LAYERS_DIR)];
const dirOf = (id: string) => (PUBLIC_IDS.includes(id) ? DIR : LAYERS_DIR);
const fixture = (id: string): Fixture => JSON.parse(readFileSync(path.join(dirOf(id), `${id}.json`), 'utf8'));
const file = (id: string, ext: string) => path.join(dirOf(id), `${id}${ext}`);

// h5wasm compiles its WebAssembly module on first use: seconds natively, tens of seconds
// under CPU emulation (the qemu runs of CI), so outside any one test's time limit.
beforeAll(() => h5(), 600_000);

const TMP = mkdtempSync(path.join(tmpdir(), 'sgd-native-keras-test-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
let counter = 0;
const tmp = (suffix: string) => path.join(TMP, `f${++counter}${suffix}`);

/** Bit-for-bit: each expected decimal rounded to float32 (an int32 stays as it is), compared with Object.is. */
function expectBits(actual: ArrayLike<number>, expected: Tensor, label: string): void {
  const want = expected.dtype === 'int32' ? expected.values : expected.values.map(Math.fround);
  expect(actual.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; ++i) {
    if (!Object.is(actual[i], want[i])) expect.fail(`${label}[${i}]: got ${actual[i]}, Keras ${want[i]} (bit-exact required)`);
  }
}

/** The run's whole state against a state Keras recorded: weights and optimizer variables by position. */
function expectState(run: Pick<KerasRun, 'weights' | 'optimizer'>, state: State, label: string): void {
  expect(
    run.weights.map((w) => [...w.shape]),
    `${label}: weight shapes`,
  ).toEqual(state.weights.map((w) => w.shape));
  run.weights.forEach((w, i) => expectBits(w.value, state.weights[i], `${label}: weight ${i} (${state.weights[i].path})`));
  const opt = run.optimizer!;
  expect(opt.variables.length, `${label}: optimizer variables`).toBe(state.optimizer_variables.length);
  opt.variables.forEach((v, i) => expectBits(v.value, state.optimizer_variables[i], `${label}: ${state.optimizer_variables[i].path}`));
  expect(opt.iterations, `${label}: iterations`).toBe(state.iterations);
}

function steps(run: KerasRun, grads: number[][][]): void {
  for (const step of grads)
    run.optimizer!.apply(
      step.map((g) => Float32Array.from(g)),
      run.trainableVariables,
    );
}

/** A fixture's .keras file with its config.json changed (to make files Keras would write for other models). */
function editedKeras(id: string, edit: (config: any) => void, extra: Record<string, Uint8Array> = {}): string {
  const entries = unzipSync(readFileSync(file(id, '.keras')));
  const config = JSON.parse(strFromU8(entries['config.json']));
  edit(config);
  const out = tmp('.keras');
  writeFileSync(out, zipSync({ ...entries, 'config.json': strToU8(JSON.stringify(config)), ...extra }, { level: 0 }));
  return out;
}

describe('the keras-files fixtures', () => {
  it('are all here', () => {
    expect(PUBLIC_IDS.length).toBeGreaterThanOrEqual(3);
    expect(IDS.length).toBeGreaterThanOrEqual(6);
    for (const id of IDS) for (const ext of ['.keras', '.weights.h5']) expect(existsSync(file(id, ext)), `${id}${ext}`).toBe(true);
  });

  // The repo carries a copy of shared/conformance/keras-files so that a clean clone tests on its own.
  const shared = path.join(ROOT, '..', 'shared', 'conformance', 'keras-files');
  it.runIf(existsSync(shared))('match ../shared/conformance/keras-files', () => {
    expect(readdirSync(DIR).sort()).toEqual(readdirSync(shared).sort());
    for (const f of readdirSync(shared)) expect(readFileSync(path.join(DIR, f)).equals(readFileSync(path.join(shared, f))), f).toBe(true);
  });
});

describe.each(IDS)('%s', (id) => {
  const fx = fixture(id);

  it('readKerasFile gives the saved weights, order, flags and optimizer state, bit for bit', async () => {
    const run = await readKerasFile(file(id, '.keras'));
    expect(run.weights.map((w) => w.path)).toEqual(fx.at_save.weights.map((w) => w.path));
    expect(run.weights.map((w) => w.trainable)).toEqual(fx.at_save.weights.map((w) => w.trainable));
    expect(run.weights.map((w) => [...w.shape])).toEqual(fx.at_save.weights.map((w) => w.shape));
    expect(run.weights.every((w) => w.dtype === 'float32')).toBe(true);
    expect(run.trainableVariables.map((w) => w.path)).toEqual(fx.trainable_variables.map((v) => v.path));
    expect(run.trainableVariables.every((v) => run.weights.includes(v))).toBe(true);
    expect(run.optimizer).toBeInstanceOf(SGD);
    expect(run.optimizer!.getConfig()).toEqual(fx.optimizer_config.config);
    expect(run.optimizer!.variables.map((v) => v.path)).toEqual(fx.at_save.optimizer_variables.map((v) => v.path));
    expect(run.config.class_name).toMatch(/^(Sequential|Functional)$/);
    expect(run.metadata?.keras_version).toBe(fx.keras_version);
    expectState(run, fx.at_save, 'as read');
  });

  it('reading, then the next steps with sgd-native, gives what Keras computed (expected_after_load)', async () => {
    const run = await readKerasFile(file(id, '.keras'));
    steps(run, fx.grads_after_load);
    expectState(run, fx.expected_after_load, 'after load + M steps');
  });

  it('writeKerasFile, read back, gives the same state, and continues as Keras did (expected_after_write)', async () => {
    const run = await readKerasFile(file(id, '.keras'));
    steps(run, fx.grads_after_load);
    const out = tmp('.keras');
    await writeKerasFile(out, run);
    const back = await readKerasFile(out);
    expect(back.weights.map((w) => w.path)).toEqual(run.weights.map((w) => w.path));
    expect(back.weights.map((w) => w.trainable)).toEqual(run.weights.map((w) => w.trainable));
    expect(back.optimizer!.getConfig()).toEqual(run.optimizer!.getConfig());
    const { compile_config: a, ...restBack } = back.config;
    const { compile_config: b, ...restRun } = run.config;
    expect(restBack).toEqual(restRun);
    expect({ ...(a as object), optimizer: null }).toEqual({ ...(b as object), optimizer: null });
    expectState(back, fx.expected_after_load, 'written and read back');
    steps(back, fx.grads_after_write);
    expectState(back, fx.expected_after_write, 'after K more steps');
  });

  it('writes what Keras writes: three zip entries, an int32 iteration count and a float32 scalar learning rate', async () => {
    const run = await readKerasFile(file(id, '.keras'));
    const out = tmp('.keras');
    await writeKerasFile(out, run);
    const entries = unzipSync(readFileSync(out));
    expect(Object.keys(entries)).toEqual(['metadata.json', 'config.json', 'model.weights.h5']);
    const h5file = tmp('.h5');
    writeFileSync(h5file, entries['model.weights.h5']);
    const lib = await h5();
    const f = new lib.File(h5file, 'r');
    try {
      const it0 = f.get('optimizer/vars/0') as InstanceType<typeof lib.Dataset>;
      expect([it0.shape, it0.metadata.type, it0.metadata.size, it0.metadata.signed]).toEqual([[], 0, 4, true]);
      expect(it0.value).toBe(fx.at_save.optimizer_variables[0].values[0]);
      const hasLr = fx.at_save.optimizer_variables[1]?.path.endsWith('/learning_rate');
      if (hasLr) {
        const lr = f.get('optimizer/vars/1') as InstanceType<typeof lib.Dataset>;
        expect([lr.shape, lr.metadata.type, lr.metadata.size]).toEqual([[], 1, 4]);
      }
      // The layer groups and their `name` attributes, as in Keras's own file.
      const original = await readKerasWeights(file(id, '.weights.h5'));
      const mine = await readKerasWeights(h5file);
      expect(mine.layers.map((l) => [l.group, l.name, l.arrays.map((a) => a.shape)])).toEqual(
        original.layers.map((l) => [l.group, l.name, l.arrays.map((a) => a.shape)]),
      );
    } finally {
      f.close();
    }
  });

  it('readKerasWeights with the model config gives the saved state, and continues as Keras did', async () => {
    const { config } = await readKerasFile(file(id, '.keras'));
    const w = await readKerasWeights(file(id, '.weights.h5'), config);
    expect(w.weights!.map((v) => v.path)).toEqual(fx.at_save.weights.map((v) => v.path));
    expect(w.trainableVariables!.map((v) => v.path)).toEqual(fx.trainable_variables.map((v) => v.path));
    expectState({ weights: w.weights!, optimizer: w.optimizer }, fx.at_save, 'weights file');
    const run = { config, weights: w.weights!, trainableVariables: w.trainableVariables!, optimizer: w.optimizer };
    steps(run, fx.grads_after_load);
    expectState(run, fx.expected_after_load, 'weights file + M steps');
  });

  it('readKerasWeights without a config gives the raw layer groups and the store for loadOwnVariables', async () => {
    const w = await readKerasWeights(file(id, '.weights.h5'));
    expect([w.weights, w.trainableVariables, w.optimizer, w.config]).toEqual([null, null, null, null]);
    expect(w.optimizerStore!['0']).toBeInstanceOf(Int32Array);
    expect(Object.keys(w.optimizerStore!).length).toBe(fx.at_save.optimizer_variables.length);
    // The documented manual route: own variables, an SGD from the config, loadOwnVariables.
    const run = await readKerasFile(file(id, '.keras'));
    const opt = SGD.fromConfig(fx.optimizer_config);
    opt.build(run.trainableVariables);
    opt.loadOwnVariables(w.optimizerStore!);
    expectState({ weights: run.weights, optimizer: opt }, fx.at_save, 'manual loadOwnVariables');
    const arrays = w.layers.flatMap((l) => l.arrays);
    expect(arrays.length).toBe(fx.at_save.weights.length);
  });

  it('writeKerasWeights, read back, gives the same state and continues as Keras did', async () => {
    const run = await readKerasFile(file(id, '.keras'));
    steps(run, fx.grads_after_load);
    const out = tmp('.weights.h5');
    await writeKerasWeights(out, run);
    const w = await readKerasWeights(out, run.config);
    const back = { config: run.config, weights: w.weights!, trainableVariables: w.trainableVariables!, optimizer: w.optimizer };
    expectState(back, fx.expected_after_load, 'weights written and read back');
    steps(back, fx.grads_after_write);
    expectState(back, fx.expected_after_write, 'weights file after K more steps');
  });
});

describe('what is refused, with a clear error', () => {
  const SEQ = 'seq_layernorm_plain_clipvalue';
  const FUNC = 'func_batchnorm_inversetime_accum';

  it('an optimizer other than SGD', async () => {
    const f = editedKeras(SEQ, (c) => (c.compile_config.optimizer.class_name = 'Adam'));
    await expect(readKerasFile(f)).rejects.toThrow(/optimizer is "Adam": sgd-native\/keras reads SGD optimizers only/);
  });

  it('a layer type whose variables are not mapped', async () => {
    const f = editedKeras(SEQ, (c) => (c.config.layers[2].class_name = 'GroupNormalization'));
    await expect(readKerasFile(f)).rejects.toThrow(
      /layer 'layer_normalization' \(GroupNormalization\): layer class "GroupNormalization" is not supported/,
    );
  });

  it('a nested model', async () => {
    const f = editedKeras(SEQ, (c) => c.config.layers.push({ class_name: 'Sequential', config: { name: 'inner', layers: [] } }));
    await expect(readKerasFile(f)).rejects.toThrow(/nested models are not supported/);
  });

  it('a subclassed model', async () => {
    const f = editedKeras(SEQ, (c) => (c.class_name = 'MyModel'));
    await expect(readKerasFile(f)).rejects.toThrow(/model class "MyModel" is not supported/);
  });

  it('a config that does not fit the weights (shape, count)', async () => {
    const f1 = editedKeras(SEQ, (c) => (c.config.layers[3].config.units = 2));
    await expect(readKerasFile(f1)).rejects.toThrow(
      /'layers\/dense_1\/vars\/0' \(regressor\/dense_1\/kernel\) has shape \(4, 1\), but the config gives \(4, 2\)/,
    );
    const f2 = editedKeras(SEQ, (c) => (c.config.layers[3].config.use_bias = false));
    await expect(readKerasFile(f2)).rejects.toThrow(
      /layer 'dense_1' \(Dense\) should have 1 variables in 'layers\/dense_1\/vars', but the file has 2/,
    );
  });

  it('an optimizer config that does not fit the saved state', async () => {
    const f = editedKeras(SEQ, (c) => (c.compile_config.optimizer.config.momentum = 0.9));
    await expect(readKerasFile(f)).rejects.toThrow(
      /the saved optimizer has 2 variables, but an SGD with this config built on the model's 5 trainable variables has 7/,
    );
  });

  it('LoRA, quantized and renormalizing layers', async () => {
    const f1 = editedKeras(SEQ, (c) => (c.config.layers[1].config.lora_rank = 4));
    await expect(readKerasFile(f1)).rejects.toThrow(/`lora_rank` \(4\) is not supported/);
    const f2 = editedKeras(
      SEQ,
      (c) => (c.config.layers[1].config.dtype = { class_name: 'QuantizedDTypePolicy', config: { name: 'int8_from_float32' } }),
    );
    await expect(readKerasFile(f2)).rejects.toThrow(/dtype policy "QuantizedDTypePolicy" is not supported/);
    const f3 = editedKeras(FUNC, (c) => (c.config.layers[2].config.renorm = true));
    await expect(readKerasFile(f3)).rejects.toThrow(/`renorm` \(true\) is not supported/);
  });

  it('variables the config does not account for', async () => {
    // As a LayerNormalization the layer would live in 'layers/layer_normalization': the BatchNormalization group is left over.
    const f = editedKeras(FUNC, (c) => (c.config.layers[2].class_name = 'LayerNormalization'));
    await expect(readKerasFile(f)).rejects.toThrow(
      /'layers\/batch_normalization\/vars' holds variables that the model config does not account for/,
    );
    const g = editedKeras(FUNC, (c) => c.config.layers.splice(4, 1)); // the head layer's weights are left over
    await expect(readKerasFile(g)).rejects.toThrow(/'layers\/dense_1\/vars' holds variables that the model config does not account for/);
  });

  it('files that are not .keras archives with h5 weights', async () => {
    const notZip = tmp('.keras');
    writeFileSync(notZip, 'hello');
    await expect(readKerasFile(notZip)).rejects.toThrow(/is not a \.keras file \(not a zip archive/);
    const entries = unzipSync(readFileSync(file(SEQ, '.keras')));
    const npz = tmp('.keras');
    writeFileSync(npz, zipSync({ 'config.json': entries['config.json'], 'model.weights.npz': new Uint8Array(4) }));
    await expect(readKerasFile(npz)).rejects.toThrow(/npz weights; sgd-native\/keras reads \.keras files with a model\.weights\.h5/);
    await expect(readKerasFile(path.join(TMP, 'missing.keras'))).rejects.toThrow(/ENOENT/);
    await expect(readKerasWeights(notZip)).rejects.toThrow(/is not an HDF5 file/);
    await expect(readKerasWeights(path.join(TMP, 'missing.weights.h5'))).rejects.toThrow(/ENOENT/);
  });

  it('writing: wrong file names, weights that do not fit, an optimizer not built on the model, a function learning rate', async () => {
    const run = await readKerasFile(file(SEQ, '.keras'));
    await expect(writeKerasFile(tmp('.zip'), run)).rejects.toThrow(/must end in '\.keras'/);
    await expect(writeKerasWeights(tmp('.h5'), run)).rejects.toThrow(/must end in '\.weights\.h5'/);
    await expect(writeKerasFile(tmp('.keras'), { ...run, weights: run.weights.slice(1) })).rejects.toThrow(
      /the model config has 5 weights, but `run.weights` has 4/,
    );
    const swapped = [run.weights[1], run.weights[0], ...run.weights.slice(2)];
    await expect(writeKerasFile(tmp('.keras'), { ...run, weights: swapped })).rejects.toThrow(
      /weight 0 \('regressor\/layer_normalization\/gamma'.*does not fit regressor\/dense\/kernel/,
    );
    const other = SGD.fromConfig({ ...fixture(SEQ).optimizer_config.config, momentum: 0.9 });
    other.build([new Variable(new Float32Array(3), { name: 'x' })]);
    await expect(writeKerasFile(tmp('.keras'), { ...run, optimizer: other })).rejects.toThrow(
      /does not line up with the model's 5 trainable variables/,
    );
    const fnLr = new SGD({ learningRate: () => 0.1 });
    fnLr.build(run.trainableVariables);
    await expect(writeKerasFile(tmp('.keras'), { ...run, optimizer: fnLr })).rejects.toThrow(/learning rate is a JavaScript function/);
    await expect(writeKerasFile(tmp('.keras'), { ...run, optimizer: new SGD() })).rejects.toThrow(/the optimizer is not built/);
  });

  it('errors are KerasFormatError', async () => {
    const f = editedKeras(SEQ, (c) => (c.class_name = 'MyModel'));
    await expect(readKerasFile(f)).rejects.toBeInstanceOf(KerasFormatError);
  });
});

describe('other models and options', () => {
  it('a frozen layer: its weights are non-trainable and the optimizer is built on the rest', async () => {
    // The fixture's state cannot load into an optimizer over fewer variables: check the plan only.
    const f = editedKeras('seq_nesterov_wd_ema', (c) => {
      c.config.layers[1].config.trainable = false;
      delete c.compile_config;
    });
    const run = await readKerasFile(f);
    expect(run.optimizer).toBeNull();
    expect(run.weights.map((w) => w.trainable)).toEqual([false, false, true, true]);
    expect(run.trainableVariables.map((w) => w.path)).toEqual(['sequential/dense_1/kernel', 'sequential/dense_1/bias']);
  });

  it('a run with a fresh optimizer is written and read back (state from zero, schedule kept)', async () => {
    const run = await readKerasFile(file('func_batchnorm_inversetime_accum', '.keras'));
    const opt = SGD.fromConfig({ ...run.optimizer!.getConfig(), momentum: 0 });
    opt.build(run.trainableVariables);
    const out = tmp('.keras');
    await writeKerasFile(out, { config: run.config, weights: run.weights, optimizer: opt });
    const back = await readKerasFile(out);
    expect(back.optimizer!.getConfig()).toEqual(opt.getConfig());
    expect(back.optimizer!.iterations).toBe(0);
    expect(back.optimizer!.variables.length).toBe(opt.variables.length);
  });

  it('an optimizer compiled but never built (no step taken) starts afresh, as in Keras', async () => {
    const run = await readKerasFile(file('seq_nesterov_wd_ema', '.keras'));
    const unbuilt = SGD.fromConfig({ ...run.optimizer!.getConfig(), momentum: 0, use_ema: false });
    unbuilt.build(run.trainableVariables); // iteration and learning rate only, as Keras saves an unbuilt SGD
    const plain = tmp('.keras');
    await writeKerasFile(plain, { config: run.config, weights: run.weights, optimizer: unbuilt });
    const entries = unzipSync(readFileSync(plain));
    const f = tmp('.keras');
    writeFileSync(f, zipSync({ ...entries, 'config.json': strToU8(JSON.stringify(run.config)) }, { level: 0 }));
    const back = await readKerasFile(f);
    expect(back.optimizer!.getConfig()).toEqual(run.optimizer!.getConfig());
    expect(back.optimizer!.iterations).toBe(0);
    expect(back.optimizer!.variables.slice(2).every((v) => v.value.every((x) => x === 0))).toBe(true);
  });

  it('readKerasWeights takes a KerasRun in place of its config', async () => {
    const run = await readKerasFile(file('seq_nesterov_wd_ema', '.keras'));
    const w = await readKerasWeights(file('seq_nesterov_wd_ema', '.weights.h5'), run);
    expect(w.config).toBe(run.config);
    expect(w.optimizer!.iterations).toBe(run.optimizer!.iterations);
  });

  it('a run without an optimizer is written without optimizer state', async () => {
    const run = await readKerasFile(file('seq_nesterov_wd_ema', '.keras'));
    const out = tmp('.weights.h5');
    await writeKerasWeights(out, { config: run.config, weights: run.weights });
    const w = await readKerasWeights(out);
    expect(w.optimizerStore).toBeNull();
    expect(w.layers.map((l) => l.group)).toEqual(['layers/dense', 'layers/dense_1']);
  });
});

describe('package entry point sgd-native/keras', () => {
  it.runIf(canSpawn)('require() and import both work from dist/, with the same SGD class as sgd-native', () => {
    const keras = JSON.stringify(file('seq_nesterov_wd_ema', '.keras'));
    const script = `
      const cjs = require('sgd-native/keras');
      const core = require('sgd-native');
      import('sgd-native/keras').then(async (esm) => {
        const esmCore = await import('sgd-native');
        const a = await cjs.readKerasFile(${keras});
        const b = await esm.readKerasFile(${keras});
        console.log(a.optimizer instanceof core.SGD, b.optimizer instanceof esmCore.SGD, esm.readKerasFile === cjs.readKerasFile,
          b.optimizer.iterations, typeof esm.writeKerasFile, typeof esm.readKerasWeights, typeof esm.writeKerasWeights);
      });`;
    expect(execFileSync(process.execPath, ['-e', script], { cwd: ROOT }).toString().trim()).toBe(
      'true true true 5 function function function',
    );
  });
});

describe('examples/resume-keras.mjs', () => {
  it.runIf(canSpawn)('continues the Keras run in Node without a jump and writes it back', async () => {
    const out = tmp('.keras');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'examples', 'resume-keras.mjs'), out], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/at save: Keras evaluated 0\.2134, Node computes 0\.2134/);
    expect(r.stdout).toMatch(/no jump/);
    const back = await readKerasFile(out);
    expect(back.optimizer!.iterations).toBe(60);
  });
});

// --- real Keras -----------------------------------------------------------------------------
// tools/keras-roundtrip.py opens our files with keras.saving.load_model / load_weights and
// continues with Keras's optimizer. It runs where a Python with Keras 3.15.1 is found:
// $SGD_KERAS_PYTHON, or the venv that the README's instructions make.
function kerasPython(): string | null {
  if (!canSpawn || process.env.SGD_TEST_SANITIZER) return null;
  const candidates = [process.env.SGD_KERAS_PYTHON, path.join(homedir(), '.cache', 'sgd-native', 'keras-venv', 'bin', 'python')];
  for (const py of candidates) {
    if (!py || !existsSync(py)) continue;
    // The version without importing Keras (which takes seconds): the round trip is bit-exact only on the fixtures' version.
    const probe = 'import importlib.metadata as m, importlib.util as u; print(m.version("keras") if u.find_spec("h5py") else "")';
    const r = spawnSync(py, ['-c', probe], { env: pythonEnv(), encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === fixture(IDS[0]).keras_version) return py;
  }
  return null;
}

/** The environment for Python: the numpy backend, and none of the sanitizer preloads meant for node. */
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, KERAS_BACKEND: 'numpy' };
  for (const key of ['LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS']) delete env[key];
  return env;
}

const PYTHON = kerasPython();
const NO_PYTHON = `no Python with Keras ${fixture(IDS[0]).keras_version} found (npm run test:keras makes one)`;

// Without such a Python the round trip is reported as skipped, with the reason in its title;
// npm run test:keras requires it.
it.runIf(!PYTHON && process.env.SGD_KERAS_REQUIRED)('real Keras round trip required (SGD_KERAS_REQUIRED)', () => {
  expect.fail(NO_PYTHON);
});

describe.runIf(PYTHON)(`real Keras continues from files sgd-native wrote${PYTHON ? '' : ` (skipped: ${NO_PYTHON})`}`, () => {
  it(`every fixture: load_model and load_weights, then Keras steps, bit for bit (${IDS.join(', ')})`, async () => {
    const args: string[] = [];
    for (const id of IDS) {
      const run = await readKerasFile(file(id, '.keras'));
      steps(run, fixture(id).grads_after_load);
      const keras = tmp('.keras');
      const weights = tmp('.weights.h5');
      await writeKerasFile(keras, run);
      await writeKerasWeights(weights, run);
      args.push(file(id, '.json'), keras, weights);
    }
    const r = spawnSync(PYTHON!, [path.join(ROOT, 'tools', 'keras-roundtrip.py'), ...args], { env: pythonEnv(), encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout.match(/^ok /gm)?.length).toBe(4 * IDS.length);
  });
});
