// sgd-native/keras: read and write Keras 3 model files (.keras) and weights files
// (.weights.h5) with their SGD state, so a training run moves between Keras and Node
// without a jump. A .keras file is a zip of config.json, metadata.json and
// model.weights.h5; the weights file keeps each layer's variables under
// 'layers/<group>/vars/<i>' and the optimizer's under 'optimizer/vars/<i>'.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { SGD, Variable } from '../index.js';
import { readStoreTree, readStoreTreeFromBytes, writeStoreTreeToBytes } from './h5.js';
import type { Array_, StoreTree, WriteTree } from './h5.js';
import { toKerasJson } from './json.js';
import { KerasFormatError, SUPPORTED_LAYERS, planModel, shapeFits, shapeText } from './model.js';
import type { ModelPlan } from './model.js';

export { KerasFormatError, SUPPORTED_LAYERS };

/** The Keras version whose files this module was checked against (written to metadata.json of new files). */
export const KERAS_VERSION = '3.15.1';

type FloatArray = Float32Array | Float64Array;
type Json = Record<string, unknown>;

/** A model's weights and optimizer, as read from or written to a Keras file. */
export interface KerasRun {
  /** The model's config: the content of config.json (class_name, config, build_config, compile_config). */
  config: Json;
  /** Every model weight, in Keras's `model.weights` order, with its Keras path, shape, dtype and trainable flag. */
  weights: Variable[];
  /** The trainable weights in `model.trainable_variables` order: the order the optimizer's state follows. */
  trainableVariables: Variable[];
  /** An SGD from the compile config, built on `trainableVariables`, its saved state loaded; null without one. */
  optimizer: SGD | null;
  /** metadata.json of the file (keras_version, date_saved), when read from a .keras file. */
  metadata?: Json;
}

/** What the writers need: the model config, its weights in `model.weights` order and (optionally) the optimizer. */
export interface KerasRunInput {
  config: Json;
  weights: readonly Variable[];
  optimizer?: SGD | null;
  metadata?: Json;
}

/** A dataset of a weights file as stored. */
export type KerasArray = Array_;

/** The optimizer's saved variables keyed "0", "1", ... in Keras's order, as `SGD.loadOwnVariables` takes them. */
export type OptimizerStore = Record<string, Int32Array | FloatArray>;

/** What readKerasWeights finds in a .weights.h5 file. */
export interface KerasWeights {
  /** The model config it was read with, or null. */
  config: Json | null;
  /** With a config: the weights as in KerasRun; without one: null (the file alone does not give Keras's order). */
  weights: Variable[] | null;
  trainableVariables: Variable[] | null;
  /** With a config that has an SGD in its compile config: built and loaded; otherwise null. */
  optimizer: SGD | null;
  /** The optimizer's state as stored (the iteration count is an Int32Array), or null when the file has none. */
  optimizerStore: OptimizerStore | null;
  /** Every layer group of the file as stored, in the file's order (HDF5 sorts names), with the layer name Keras recorded. */
  layers: { group: string; name: string | null; arrays: KerasArray[] }[];
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkPath(file: unknown, fn: string): string {
  if (typeof file !== 'string' || file === '') throw new TypeError(`${fn}: \`path\` must be a non-empty string. Received: ${String(file)}`);
  return file;
}

// --- reading ---------------------------------------------------------------------------

/** The model's weights as Variables, checked against what the config says each layer stores. */
function weightsFrom(plan: ModelPlan, tree: StoreTree, source: string): Variable[] {
  const known = new Set(['', 'optimizer', ...plan.layers.map((l) => l.group)]);
  for (const [group, { vars }] of tree.groups) {
    if (!known.has(group) && Object.keys(vars).length > 0) {
      throw new KerasFormatError(`${source}: '${group}/vars' holds variables that the model config does not account for`);
    }
  }
  const root = tree.groups.get('');
  if (root && Object.keys(root.vars).length > 0) {
    throw new KerasFormatError(`${source}: the model itself holds variables ('vars'), which ${plan.kind} models do not`);
  }
  const weights: Variable[] = [];
  for (const layer of plan.layers) {
    const vars = tree.groups.get(layer.group)?.vars ?? {};
    const keys = Object.keys(vars);
    if (keys.length !== layer.variables.length) {
      throw new KerasFormatError(
        `${source}: layer '${layer.name}' (${layer.className}) should have ${layer.variables.length} variables in ` +
          `'${layer.group}/vars', but the file has ${keys.length}`,
      );
    }
    layer.variables.forEach((spec, i) => {
      const a = vars[String(i)];
      const where = `${source}: '${layer.group}/vars/${i}' (${spec.path})`;
      if (!a) throw new KerasFormatError(`${where} is missing`);
      if (!shapeFits(a.shape, spec.shape)) {
        throw new KerasFormatError(`${where} has shape ${shapeText(a.shape)}, but the config gives ${shapeText(spec.shape)}`);
      }
      const dtype = a.values instanceof Float32Array ? 'float32' : a.values instanceof Float64Array ? 'float64' : 'int32';
      if (dtype !== spec.dtype) throw new KerasFormatError(`${where} is ${dtype}, but the layer's variables are ${spec.dtype}`);
      weights.push(new Variable(a.values as FloatArray, { name: spec.name, path: spec.path, shape: a.shape, trainable: spec.trainable }));
    });
  }
  return weights;
}

function optimizerStoreFrom(tree: StoreTree): OptimizerStore | null {
  const vars = tree.groups.get('optimizer')?.vars;
  if (!vars || Object.keys(vars).length === 0) return null;
  const store: OptimizerStore = {};
  const n = Object.keys(vars).length;
  for (let i = 0; i < n; ++i) {
    const a = vars[String(i)];
    if (!a) throw new KerasFormatError(`the optimizer's variables are not numbered 0..${n - 1} ('optimizer/vars/${i}' is missing)`);
    store[String(i)] = a.values;
  }
  return store;
}

/** The SGD of a compile config (null when there is none); any other optimizer is refused. */
function optimizerFromConfig(config: Json): SGD | null {
  const compile = config.compile_config;
  if (!isObject(compile) || compile.optimizer === undefined || compile.optimizer === null) return null;
  const o = compile.optimizer;
  if (typeof o === 'string') {
    if (o.toLowerCase() !== 'sgd')
      throw new KerasFormatError(`the model's optimizer is '${o}': sgd-native/keras reads SGD optimizers only`);
    return new SGD();
  }
  if (!isObject(o) || o.class_name !== 'SGD') {
    const name = isObject(o) ? o.class_name : o;
    throw new KerasFormatError(`the model's optimizer is ${JSON.stringify(name)}: sgd-native/keras reads SGD optimizers only`);
  }
  return SGD.fromConfig(o);
}

/** Builds the optimizer on the trainable variables and loads the saved state into it (when there is one). */
function restoreOptimizer(opt: SGD, trainable: Variable[], store: OptimizerStore | null, source: string): void {
  opt.build(trainable);
  if (!store) return;
  const own = opt.variables;
  const count = Object.keys(store).length;
  // An optimizer compiled but never built (no step taken) saved only its iteration count and
  // learning rate: Keras starts such a run afresh, and so do we.
  if (count !== own.length && count <= 2 && Number(store['0']?.[0]) === 0) return;
  if (count !== own.length) {
    throw new KerasFormatError(
      `${source}: the saved optimizer has ${count} variables, but an SGD with this config built on the model's ` +
        `${trainable.length} trainable variables has ${own.length} (was the file saved with another optimizer config?)`,
    );
  }
  own.forEach((v, i) => {
    if (store[String(i)].length !== v.size) {
      throw new KerasFormatError(`${source}: 'optimizer/vars/${i}' has ${store[String(i)].length} values, but '${v.path}' has ${v.size}`);
    }
  });
  opt.loadOwnVariables(store);
}

function runFrom(config: Json, tree: StoreTree, source: string): Omit<KerasRun, 'metadata'> {
  const plan = planModel(config);
  const weights = weightsFrom(plan, tree, source);
  const trainableVariables = weights.filter((w) => w.trainable);
  const optimizer = optimizerFromConfig(config);
  if (optimizer) restoreOptimizer(optimizer, trainableVariables, optimizerStoreFrom(tree), source);
  return { config, weights, trainableVariables, optimizer };
}

/**
 * Reads a .keras file written by Keras 3's `model.save()`: the model config, every weight,
 * and an SGD built from the compile config with its saved state (momentum, EMA averages,
 * gradient accumulators, iteration count, learning rate).
 */
export async function readKerasFile(path: string): Promise<KerasRun> {
  checkPath(path, 'readKerasFile');
  const bytes = readFileSync(path);
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (f) => ['config.json', 'metadata.json', 'model.weights.h5', 'model.weights.npz'].includes(f.name),
    });
  } catch (e) {
    throw new KerasFormatError(`${path} is not a .keras file (not a zip archive: ${(e as Error).message})`);
  }
  if (!entries['config.json']) throw new KerasFormatError(`${path} is not a .keras file (it has no config.json)`);
  if (!entries['model.weights.h5']) {
    const other = entries['model.weights.npz'] ? 'npz weights' : 'no weights';
    throw new KerasFormatError(`${path}: ${other}; sgd-native/keras reads .keras files with a model.weights.h5`);
  }
  const config = JSON.parse(strFromU8(entries['config.json'])) as Json;
  const metadata = entries['metadata.json'] ? (JSON.parse(strFromU8(entries['metadata.json'])) as Json) : {};
  const tree = await readStoreTreeFromBytes(entries['model.weights.h5']);
  return { ...runFrom(config, tree, path), metadata };
}

/**
 * Reads a .weights.h5 file written by `model.save_weights()`. The file alone does not say
 * in which order Keras holds the layers: pass the model config (a KerasRun's `config`, or
 * a parsed config.json) to get the weights as Variables and, with an SGD in its compile
 * config, the optimizer built and loaded. The optimizer's raw store is always returned.
 */
export async function readKerasWeights(path: string, config?: Json | KerasRun | null): Promise<KerasWeights> {
  checkPath(path, 'readKerasWeights');
  if (path.endsWith('.json'))
    throw new KerasFormatError(`${path}: sharded weights (a .weights.json index) are not supported; save with max_shard_size=None`);
  const tree = await readStoreTree(path);
  const layers = [...tree.groups]
    .filter(([group]) => group.startsWith('layers/'))
    .map(([group, { name, vars }]) => ({
      group,
      name,
      arrays: Object.keys(vars)
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => vars[k]),
    }));
  const optimizerStore = optimizerStoreFrom(tree);
  // A KerasRun given instead of its config: take its config.
  const modelConfig =
    isObject(config) && config.class_name === undefined && 'weights' in config
      ? (config.config as Json)
      : (config as Json | null | undefined);
  if (modelConfig === undefined || modelConfig === null) {
    return { config: null, weights: null, trainableVariables: null, optimizer: null, optimizerStore, layers };
  }
  const run = runFrom(modelConfig, tree, path);
  return { ...run, optimizerStore, layers };
}

// --- writing ---------------------------------------------------------------------------

/** The weights file's content for a run: every layer group with its arrays, the model's own group, the optimizer's. */
function treeFor(run: KerasRunInput, fn: string): { tree: WriteTree; plan: ModelPlan } {
  if (!isObject(run)) throw new TypeError(`${fn}: \`run\` must be an object {config, weights, optimizer?}. Received: ${String(run)}`);
  const plan = planModel(run.config);
  const weights = run.weights;
  if (!Array.isArray(weights) || !weights.every((w) => w instanceof Variable)) {
    throw new TypeError(`${fn}: \`run.weights\` must be an array of Variables (model.weights order)`);
  }
  if (weights.length !== plan.variables.length) {
    throw new KerasFormatError(`${fn}: the model config has ${plan.variables.length} weights, but \`run.weights\` has ${weights.length}`);
  }
  const tree: WriteTree = [];
  let k = 0;
  for (const layer of plan.layers) {
    const arrays = layer.variables.map((spec) => {
      const w = weights[k++];
      if (!shapeFits(w.shape, spec.shape) || w.dtype !== spec.dtype) {
        throw new KerasFormatError(
          `${fn}: weight ${k - 1} ('${w.path}', ${w.dtype} ${shapeText(w.shape)}) does not fit ${spec.path} (${spec.dtype} ${shapeText(spec.shape)})`,
        );
      }
      return { shape: [...w.shape], values: w.value };
    });
    tree.push({ group: layer.group, name: layer.name, arrays });
  }
  const opt = run.optimizer ?? null;
  if (opt !== null) {
    if (!(opt instanceof SGD)) throw new TypeError(`${fn}: \`run.optimizer\` must be an SGD or null`);
    tree.push({ group: 'optimizer', name: opt.getConfig().name as string, arrays: optimizerArrays(opt, plan, weights, fn) });
  }
  tree.push({ group: '', name: plan.name, arrays: [] });
  return { tree, plan };
}

/** The optimizer's variables as Keras stores them: the iteration count int32, the learning rate a float32 scalar. */
function optimizerArrays(opt: SGD, plan: ModelPlan, weights: readonly Variable[], fn: string): Array_[] {
  if (!opt.built) throw new KerasFormatError(`${fn}: the optimizer is not built (build it on the model's trainable variables first)`);
  const own = opt.variables;
  const store: Record<string, unknown> = {};
  opt.saveOwnVariables(store);
  const trainable = plan.variables.map((s, i) => (s.trainable ? weights[i] : null)).filter((w): w is Variable => w !== null);
  const first = own.length > 1 && own[1].path.endsWith('/learning_rate') ? 2 : 1;
  // Keras builds the optimizer on model.trainable_variables when it loads the file; every
  // slot must line up with them, or Keras would skip the whole state with a warning.
  const slots = own.length - first;
  const n = trainable.length;
  const fits =
    n === 0 ? slots === 0 : slots % n === 0 && own.slice(first).every((v, i) => v.shape.join() === trainable[i % n].shape.join());
  if (!fits) {
    throw new KerasFormatError(
      `${fn}: the optimizer's state does not line up with the model's ${n} trainable variables (was it built on run.trainableVariables?)`,
    );
  }
  return own.map((v, i) => {
    const values = store[String(i)] as FloatArray;
    if (i === 0) {
      const raw = values[0];
      if (!Number.isSafeInteger(raw) || raw < 0 || raw > 2 ** 31 - 1)
        throw new KerasFormatError(`${fn}: the iteration count ${raw} does not fit in int32`);
      return { shape: [], values: Int32Array.of(raw) };
    }
    if (i === 1 && first === 2) return { shape: [], values: Float32Array.from(values) };
    return { shape: [...v.shape], values };
  });
}

/** The config.json to write: the model config as given, its compile config naming this optimizer. */
function configFor(run: KerasRunInput, fn: string): string {
  const config = structuredClone(run.config);
  const opt = run.optimizer ?? null;
  if (opt !== null) {
    const optimizerConfig = opt.getConfig();
    const lr = optimizerConfig.learning_rate;
    if (isObject(lr) && lr.module === 'builtins') {
      throw new KerasFormatError(`${fn}: an optimizer whose learning rate is a JavaScript function cannot be saved for Keras`);
    }
    const compile = isObject(config.compile_config)
      ? config.compile_config
      : {
          loss: null,
          loss_weights: null,
          metrics: null,
          weighted_metrics: null,
          run_eagerly: false,
          steps_per_execution: 1,
          jit_compile: 'auto',
        };
    config.compile_config = {
      ...compile,
      optimizer: { module: 'keras.optimizers', class_name: 'SGD', config: optimizerConfig, registered_name: null },
    };
    // compile_config keeps Keras's key order: optimizer first.
    const { optimizer, ...rest } = config.compile_config as Json;
    config.compile_config = { optimizer, ...rest };
    return toKerasJson(config, new Set([optimizer as object]));
  }
  return toKerasJson(config, new Set());
}

function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function savedAt(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}@${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * Writes a .keras file that Keras 3's `keras.saving.load_model` opens and continues from:
 * the model config (its compile config naming the optimizer's current config), every
 * weight, and the optimizer's state. `run` is what readKerasFile returned (or the same shape).
 */
export async function writeKerasFile(path: string, run: KerasRunInput): Promise<void> {
  checkPath(path, 'writeKerasFile');
  if (!path.endsWith('.keras'))
    throw new KerasFormatError(`writeKerasFile: the file name must end in '.keras' (as Keras requires). Received: ${path}`);
  const { tree } = treeFor(run, 'writeKerasFile');
  const config = configFor(run, 'writeKerasFile');
  const version = isObject(run.metadata) && typeof run.metadata.keras_version === 'string' ? run.metadata.keras_version : KERAS_VERSION;
  const metadata = { keras_version: version, date_saved: savedAt() };
  const h5bytes = await writeStoreTreeToBytes(tree);
  // Stored, not deflated, as Keras writes its archives.
  const zip = zipSync(
    {
      'metadata.json': strToU8(JSON.stringify(metadata)),
      'config.json': strToU8(config),
      'model.weights.h5': h5bytes,
    },
    { level: 0 },
  );
  writeAtomically(path, zip);
}

/**
 * Writes a .weights.h5 file as `model.save_weights()` does: every weight and, with
 * `run.optimizer`, the optimizer's state. `model.load_weights()` in Keras reads it.
 */
export async function writeKerasWeights(path: string, run: KerasRunInput): Promise<void> {
  checkPath(path, 'writeKerasWeights');
  if (!path.endsWith('.weights.h5')) {
    throw new KerasFormatError(`writeKerasWeights: the file name must end in '.weights.h5' (as Keras requires). Received: ${path}`);
  }
  const { tree } = treeFor(run, 'writeKerasWeights');
  writeAtomically(path, await writeStoreTreeToBytes(tree));
}
