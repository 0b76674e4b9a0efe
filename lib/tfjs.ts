// sgd-native/tfjs: Keras's SGD as a TensorFlow.js optimizer (tfjs-core 4.x).
//
// One native call per step over every variable. On the cpu and wasm backends the
// optimizer updates the tf.Variables' own storage (zero copy); on every other backend,
// or with `storage: 'copy'`, gradients are copied out and weights written back.
// tfjs is an optional peer: its types are imported as types only, and bindTfjs(tf)
// receives the caller's instance (its Optimizer class and serialization registry).
import type * as tfc from '@tensorflow/tfjs-core';
import type { SGDOptions } from './config.js';
import { describe } from './python.js';
import { SGD as CoreSGD } from './sgd.js';
import { Variable } from './variable.js';

/** The part of a tfjs namespace (`@tensorflow/tfjs` or `@tensorflow/tfjs-core`) the adapter uses. */
export type Tfjs = Pick<typeof tfc, 'Optimizer' | 'serialization' | 'engine' | 'tensor' | 'scalar'>;

export interface TfjsSGDOptions extends SGDOptions {
  /** 'auto' (default): zero-copy on the cpu and wasm backends, copying elsewhere; 'copy': always copy. */
  storage?: 'auto' | 'copy';
}

/** How the last step reached the variables: in place on the cpu or wasm backend, or through copies. */
export type StorageKind = 'cpu' | 'wasm' | 'copy';

/** A tf.Optimizer running sgd-native's SGD. */
export interface TfjsSGD extends tfc.Optimizer {
  /** The sgd-native SGD underneath (excludeFromWeightDecay, stateDict, iterations, ...). */
  readonly native: CoreSGD;
  /** The storage path of the last step (null before the first). */
  readonly storage: StorageKind | null;
  /** With `useEma`: copies the moving averages into the model's variables (use this, not native's). */
  finalizeVariableValues(): void;
}

export interface TfjsSGDClass {
  /** The same options as sgd-native's SGD (plus `storage`), or an sgd-native SGD not yet built. */
  new (options?: TfjsSGDOptions | CoreSGD): TfjsSGD;
  readonly className: string;
  /** Keras's config (snake_case) or what tfjs-layers hands back on load (camelCased, with customObjects). */
  fromConfig(cls: unknown, config: object): TfjsSGD;
}

export const CLASS_NAME = 'SGDNative';

type TfVariable = tfc.Variable;
/** tfjs's `{name, tensor}` pair (what tfjs-layers passes to applyGradients and getWeights returns). */
export interface NamedTensor {
  name: string;
  tensor: tfc.Tensor;
}
type DataId = object;
/** An optimizer weight from setWeights(), copied out of its tensor. */
interface SavedArray {
  name: string;
  shape: number[];
  values: ArrayLike<number>;
}
/** Where the optimizer's array for one tf.Variable lives, and the tfjs storage it was taken from. */
interface Binding {
  dataId: DataId;
  array: Float32Array;
}

// tfjs backend internals the zero-copy paths rely on (checked at run time: a backend that
// does not look like this gets the copying path).
interface DataStorage<T> {
  get(dataId: DataId): T | undefined;
  has(dataId: DataId): boolean;
  data?: WeakMap<DataId, T>;
}
interface CpuBackend {
  data: DataStorage<{ values: unknown; dtype: string; refCount: number }>;
}
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array; tfjs: { disposeData(id: number): void; registerTensor(id: number, size: number, offset: number): void } };
  dataIdMap: DataStorage<{ id: number; memoryOffset: number | null; dtype: string; refCount: number }>;
  dataIdNextNumber: number;
}
/** What a backend's read returns: a typed array (or, for strings, an array of byte arrays). */
type BackendValues = { slice(): BackendValues };
interface Engine {
  backend: object;
  backendName: string;
  registeredVariables: Record<string, TfVariable>;
  readSync(dataId: DataId): BackendValues;
  read(dataId: DataId): Promise<BackendValues>;
}

/**
 * A backend's record of a tensor's data, without tfjs's DataStorage.get() side effect
 * (moving unknown data to this backend): one lookup in its WeakMap where it has one.
 */
function dataOf<T>(storage: DataStorage<T>, dataId: DataId): T | undefined {
  if (storage.data instanceof WeakMap) return storage.data.get(dataId);
  return storage.has(dataId) ? storage.get(dataId) : undefined;
}

function float32(values: ArrayLike<number>): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

/**
 * One backend's way to reach variables and gradients. sync() checks every binding and
 * re-adopts what tfjs moved; it returns true when the arrays the optimizer holds changed.
 */
interface Storage {
  readonly kind: StorageKind;
  readonly backend: object;
  sync(vars: readonly TfVariable[], bindings: Binding[]): boolean;
  gradient(t: tfc.Tensor): Float32Array;
  afterStep(vars: readonly TfVariable[], bindings: Binding[]): void;
}

/** Data of variables whose cpu storage the adapter updates in place. */
const liveData = new WeakSet<DataId>();
const snapshotEngines = new WeakSet<object>();

/**
 * On the cpu backend, dataSync() and data() return the backend's own array: for a variable
 * the adapter updates in place, that array changes at the next step. The engine's reads of
 * such data return a copy instead (as every other backend does); kernels read the backend
 * directly and are not affected.
 */
function snapshotReads(engine: Engine): void {
  if (snapshotEngines.has(engine)) return;
  snapshotEngines.add(engine);
  const readSync = engine.readSync.bind(engine);
  const read = engine.read.bind(engine);
  engine.readSync = (dataId) => {
    const values = readSync(dataId);
    return liveData.has(dataId) ? values.slice() : values;
  };
  engine.read = async (dataId) => {
    const values = await read(dataId);
    return liveData.has(dataId) ? values.slice() : values;
  };
}

/** tfjs's cpu slice kernel returns `values.subarray(...)` for a contiguous slice: of our arrays, it gets a copy. */
function copyingSubarray(array: Float32Array): Float32Array {
  return Object.defineProperty(array, 'subarray', {
    value: (begin?: number, end?: number) => array.slice(begin, end),
    enumerable: false,
  });
}

/**
 * cpu backend: the variable's values are an array the adapter owns (one copy, at bind).
 * tfjs shares a tensor's storage with its clones and reshapes (same dataId) and with a
 * variable's initial value: whoever else holds it gets a snapshot before the next step.
 * Reads through the engine (dataSync, data) and contiguous slices get copies.
 */
class CpuStorage implements Storage {
  readonly kind = 'cpu';
  constructor(
    private readonly tf: Tfjs,
    readonly backend: CpuBackend,
  ) {}

  static accepts(backend: object): backend is CpuBackend {
    const data = (backend as Partial<CpuBackend>).data;
    return typeof data?.get === 'function' && typeof data.has === 'function';
  }

  sync(vars: readonly TfVariable[], bindings: Binding[]): boolean {
    const fresh = bindings.length === 0;
    for (let i = 0; i < vars.length; ++i) {
      const v = vars[i];
      const b = bindings[i];
      const entry = b && v.dataId === b.dataId ? dataOf(this.backend.data, b.dataId) : undefined;
      if (entry === undefined || entry.refCount !== 1 || entry.values !== b.array) bindings[i] = this.#adopt(v, b);
    }
    return fresh;
  }

  #adopt(v: TfVariable, previous: Binding | undefined): Binding {
    const array = previous?.array ?? copyingSubarray(new Float32Array(v.size));
    if (previous) {
      // A clone, a reshape or the tensor assign() replaced may still hold our array: it keeps a snapshot.
      const old = dataOf(this.backend.data, previous.dataId);
      if (old !== undefined && old.values === array) old.values = array.slice();
      liveData.delete(previous.dataId);
    }
    array.set(v.dataSync());
    const t = this.tf.tensor(array, v.shape, 'float32');
    v.assign(t);
    t.dispose();
    if (dataOf(this.backend.data, v.dataId)?.values !== array) {
      throw new Error(
        `sgd-native/tfjs: the cpu backend did not keep the array given to tf.tensor (variable '${v.name}'); use { storage: 'copy' }`,
      );
    }
    liveData.add(v.dataId);
    return { dataId: v.dataId, array };
  }

  gradient(t: tfc.Tensor): Float32Array {
    // Never one of our arrays: a reshape of a weight was given a snapshot by sync(), a slice is a copy.
    const entry = dataOf(this.backend.data, t.dataId);
    return entry?.dtype === 'float32' && entry.values instanceof Float32Array ? entry.values : float32(t.dataSync());
  }

  afterStep(): void {}
}

/**
 * wasm backend: views on the module's heap. Heap growth replaces the heap's ArrayBuffer and
 * detaches every view (re-view, rebind); the kernels cache weights they packed by tensor id,
 * so every updated tensor gets a new id after the step.
 */
class WasmStorage implements Storage {
  readonly kind = 'wasm';
  #heap: ArrayBufferLike | null = null;
  #heapF32: Float32Array<ArrayBufferLike> = new Float32Array(0); // the whole heap: views are subarrays of it (cheaper than new views)
  readonly #offsets = new Set<number>(); // where the variables live on the heap
  constructor(
    private readonly tf: Tfjs,
    readonly backend: WasmBackend,
  ) {}

  static accepts(backend: object): backend is WasmBackend {
    const b = backend as Partial<WasmBackend>;
    return (
      b.wasm?.HEAPU8 instanceof Uint8Array &&
      typeof b.wasm.tfjs?.registerTensor === 'function' &&
      typeof b.dataIdMap?.get === 'function' &&
      typeof b.dataIdNextNumber === 'number'
    );
  }

  sync(vars: readonly TfVariable[], bindings: Binding[]): boolean {
    const map = this.backend.dataIdMap;
    let moved = bindings.length === 0;
    for (let i = 0; i < vars.length; ++i) {
      const v = vars[i];
      const d = dataOf(map, v.dataId);
      if (d === undefined || d.refCount !== 1 || d.memoryOffset === null) {
        // On another backend, or shared with a reshape or an initial value: a private copy on the heap.
        const t = this.tf.tensor(v.dataSync(), v.shape, 'float32');
        v.assign(t);
        t.dispose();
        moved = true;
      } else if (bindings[i]?.dataId !== v.dataId) moved = true;
    }
    const heap = this.backend.wasm.HEAPU8.buffer; // read after the copies above: they may grow the heap
    if (!moved && heap === this.#heap) return false;
    this.#heap = heap;
    this.#heapF32 = new Float32Array(heap);
    this.#offsets.clear();
    for (let i = 0; i < vars.length; ++i) {
      const offset = map.get(vars[i].dataId)!.memoryOffset!;
      this.#offsets.add(offset);
      bindings[i] = { dataId: vars[i].dataId, array: this.#view(offset, vars[i].size) };
    }
    return true;
  }

  gradient(t: tfc.Tensor): Float32Array {
    const d = dataOf(this.backend.dataIdMap, t.dataId);
    if (d === undefined || d.dtype !== 'float32' || d.memoryOffset === null || this.#offsets.has(d.memoryOffset)) {
      return float32(t.dataSync()); // a copy (also for a gradient that is a reshape of a weight)
    }
    return this.#view(d.memoryOffset, t.size);
  }

  #view(offset: number, size: number): Float32Array {
    if (offset % 4 !== 0) return new Float32Array(this.#heap!, offset, size); // throws: tfjs aligns float32 data
    return this.#heapF32.subarray(offset / 4, offset / 4 + size);
  }

  afterStep(vars: readonly TfVariable[]): void {
    const { backend } = this;
    for (const v of vars) {
      const d = backend.dataIdMap.get(v.dataId)!;
      backend.wasm.tfjs.disposeData(d.id); // drops operators holding packed copies of the old values
      d.id = backend.dataIdNextNumber++;
      backend.wasm.tfjs.registerTensor(d.id, v.size, d.memoryOffset!);
    }
  }
}

/** Any other backend (tensorflow, webgl, webgpu) or `storage: 'copy'`: a JS copy of every variable. */
class CopyStorage implements Storage {
  readonly kind = 'copy';
  constructor(
    private readonly tf: Tfjs,
    readonly backend: object,
    private readonly uploadCopies: boolean, // tf.tensor() copies the values into the backend (wasm): no copy of ours needed
  ) {}

  sync(vars: readonly TfVariable[], bindings: Binding[]): boolean {
    const fresh = bindings.length === 0;
    for (let i = 0; i < vars.length; ++i) {
      const v = vars[i];
      const b = bindings[i];
      if (b?.dataId === v.dataId) continue; // still the tensor our last step wrote
      const array = b?.array ?? new Float32Array(v.size);
      array.set(v.dataSync());
      bindings[i] = { dataId: v.dataId, array };
    }
    return fresh;
  }

  gradient(t: tfc.Tensor): Float32Array {
    return float32(t.dataSync());
  }

  afterStep(vars: readonly TfVariable[], bindings: Binding[]): void {
    for (let i = 0; i < vars.length; ++i) {
      const b = bindings[i];
      const t = this.tf.tensor(this.uploadCopies ? b.array : b.array.slice(), vars[i].shape, 'float32');
      vars[i].assign(t);
      t.dispose();
      b.dataId = vars[i].dataId;
    }
  }
}

function makeStorage(tf: Tfjs, engine: Engine, option: 'auto' | 'copy'): Storage {
  const backend = engine.backend;
  const name = engine.backendName;
  if (option === 'auto' && name === 'cpu' && CpuStorage.accepts(backend)) {
    snapshotReads(engine);
    return new CpuStorage(tf, backend);
  }
  if (option === 'auto' && name === 'wasm' && WasmStorage.accepts(backend)) return new WasmStorage(tf, backend);
  return new CopyStorage(tf, backend, name === 'wasm');
}

/** Undoes what tfjs-layers does to a saved config on load: camelCased keys, an added `customObjects`. */
function toKerasKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toKerasKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'customObjects') continue;
    out[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = toKerasKeys(v);
  }
  return out;
}

const bound = new WeakMap<object, { SGD: TfjsSGDClass }>();

/**
 * The adapter class for the caller's tfjs instance, registered with its serialization
 * registry as 'SGDNative'. Binding the same instance again returns the same class.
 */
export function bindTfjs(tf: Tfjs): { SGD: TfjsSGDClass } {
  if (tf === null || typeof tf !== 'object' || typeof tf.Optimizer !== 'function' || typeof tf.engine !== 'function') {
    throw new TypeError(
      `bindTfjs: \`tf\` must be a TensorFlow.js namespace (@tensorflow/tfjs or @tensorflow/tfjs-core). Received: ${describe(tf)}`,
    );
  }
  const known = bound.get(tf.Optimizer);
  if (known) return known;

  const engine = () => tf.engine() as unknown as Engine;

  class SGDNative extends tf.Optimizer implements TfjsSGD {
    static className = CLASS_NAME;

    readonly native: CoreSGD;
    readonly #option: 'auto' | 'copy';
    #storage: Storage | null = null;
    #names: string[] | null = null; // tf variable names, in build order
    readonly #index = new Map<string, number>();
    #tfVars: TfVariable[] = [];
    #bindings: Binding[] = [];
    #vars: Variable[] = [];
    #grads: (Float32Array | null)[] = [];
    #pending: SavedArray[] | null = null; // setWeights() before the first step
    #disposed = false;

    constructor(options?: TfjsSGDOptions | CoreSGD) {
      super();
      if (options instanceof CoreSGD) {
        if (options.built) throw new Error('SGDNative: the sgd-native SGD given is already built; pass a new one');
        this.native = options;
        this.#option = 'auto';
        return;
      }
      const { storage = 'auto', ...rest } = options ?? {};
      if (storage !== 'auto' && storage !== 'copy') {
        throw new TypeError(`SGDNative: \`storage\` must be 'auto' or 'copy'. Received: storage=${describe(storage)}`);
      }
      this.native = new CoreSGD(rest);
      this.#option = storage;
    }

    get storage(): StorageKind | null {
      return this.#storage?.kind ?? null;
    }

    /** tfjs's step counter: calls of applyGradients (Keras's raw `iterations`). */
    override get iterations(): number {
      return this.#pending ? (this.#pending[0]?.values[0] ?? 0) : this.native.variables[0].value[0];
    }

    applyGradients(variableGradients: NamedTensor[] | tfc.NamedTensorMap): void {
      if (this.#disposed) throw new Error('SGDNative: this optimizer was disposed');
      const list = Array.isArray(variableGradients)
        ? variableGradients
        : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
      if (this.#names === null) this.#build(list.map((e) => e.name));
      this.#sync();
      const storage = this.#storage!;
      const grads = this.#grads;
      try {
        for (const { name, tensor } of list) {
          if (tensor == null) continue;
          const i = this.#index.get(name);
          if (i === undefined) {
            throw new Error(
              `SGDNative: got a gradient for '${name}', which this optimizer was not built with ` +
                `(${this.#names!.length} variables, from the first step). Use a new optimizer for a new set of variables.`,
            );
          }
          grads[i] = storage.gradient(tensor);
        }
        this.native.apply(grads);
      } finally {
        grads.fill(null); // keep no gradient alive
      }
      storage.afterStep(this.#tfVars, this.#bindings);
    }

    /** Copies the moving averages (`useEma`) into the model's variables. */
    finalizeVariableValues(): void {
      if (this.#names === null || !this.native.getConfig().use_ema) return;
      this.#sync();
      this.native.finalizeVariableValues(this.#vars);
      this.#storage!.afterStep(this.#tfVars, this.#bindings);
    }

    #build(names: string[]): void {
      const registered = engine().registeredVariables;
      const tfVars = names.map((name) => {
        const v = registered[name];
        if (v === undefined) throw new Error(`SGDNative: no tf.Variable is named '${name}'`);
        if (v.dtype !== 'float32')
          throw new TypeError(`SGDNative: tf.Variable '${name}' is ${v.dtype}; only float32 variables can be trained`);
        return v;
      });
      this.#names = names;
      names.forEach((n, i) => this.#index.set(n, i));
      this.#tfVars = tfVars;
      this.#grads = new Array(names.length).fill(null);
    }

    /** Checks that every binding still points at its variable's storage; re-binds what tfjs moved. */
    #sync(): void {
      const e = engine();
      for (const v of this.#tfVars) {
        if (v.isDisposed) throw new Error(`SGDNative: tf.Variable '${v.name}' was disposed`);
      }
      if (this.#storage?.backend !== e.backend) {
        this.#storage = makeStorage(tf, e, this.#option);
        this.#bindings = [];
      }
      if (!this.#storage.sync(this.#tfVars, this.#bindings)) return;
      this.#vars = this.#tfVars.map((v, i) => {
        const name = v.name.slice(v.name.lastIndexOf('/') + 1) || 'variable';
        return new Variable(this.#bindings[i].array, { name, path: v.name, shape: v.shape });
      });
      if (this.native.built) {
        this.native.rebind(this.#vars);
        return;
      }
      this.native.build(this.#vars);
      const pending = this.#pending;
      this.#pending = null;
      if (pending) this.#load(pending);
    }

    async getWeights(): Promise<NamedTensor[]> {
      const state = this.native.variables;
      return [
        { name: 'iter', tensor: tf.scalar(this.iterations, 'int32') },
        ...state.slice(1).map((v) => ({ name: v.path, tensor: tf.tensor(Float32Array.from(v.value), [...v.shape], 'float32') })),
      ];
    }

    /**
     * Restores getWeights() output: the iteration count first, then the state arrays,
     * matched by Keras path when every name matches, else by position (names of tf
     * variables change between processes). Before the first step it is kept until then.
     */
    async setWeights(weightValues: NamedTensor[]): Promise<void> {
      const weights = await Promise.all(
        weightValues.map(async ({ name, tensor }) => ({ name, shape: tensor.shape, values: await tensor.data() })),
      );
      if (this.native.built) this.#load(weights);
      else this.#pending = weights;
    }

    #load(weights: SavedArray[]): void {
      const own = this.native.variables;
      const byPath = new Map(weights.map((w) => [w.name, w]));
      const matched = weights.length === own.length && own.slice(1).every((v) => byPath.has(v.path));
      const ordered = matched ? [weights[0], ...own.slice(1).map((v) => byPath.get(v.path)!)] : weights;
      // The count is a scalar, sgd-native's a [1]: compared by length only. loadOwnVariables warns and skips when the counts differ.
      const store = Object.fromEntries(ordered.map((w, i) => [String(i), i === 0 ? w.values : { shape: w.shape, values: w.values }]));
      this.native.loadOwnVariables(store);
    }

    getConfig(): tfc.serialization.ConfigDict {
      return this.native.getConfig() as tfc.serialization.ConfigDict;
    }

    static override fromConfig<T extends tfc.serialization.Serializable>(
      cls: tfc.serialization.SerializableConstructor<T>,
      config: tfc.serialization.ConfigDict,
    ): T {
      const native = CoreSGD.fromConfig(toKerasKeys(config) as object);
      const Cls = (typeof cls === 'function' ? cls : SGDNative) as unknown as new (o: CoreSGD) => T;
      return new Cls(native);
    }

    override dispose(): void {
      this.#disposed = true;
      this.#pending = null;
      this.#storage = null;
      this.#bindings = [];
      this.#tfVars = [];
      super.dispose();
    }
  }

  tf.serialization.registerClass(SGDNative as unknown as tfc.serialization.SerializableConstructor<SGDNative>);
  const result = { SGD: SGDNative as unknown as TfjsSGDClass };
  bound.set(tf.Optimizer, result);
  return result;
}
