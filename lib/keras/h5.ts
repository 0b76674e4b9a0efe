// HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly). h5wasm is
// ESM-only and loads its wasm module asynchronously: it is imported once, on the
// first use, so that both the CommonJS and the ESM builds of this package can use it.
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { KerasFormatError } from './model.js';

type H5 = typeof import('h5wasm/node').default;
type Group = InstanceType<H5['Group']>;

let loading: Promise<H5> | null = null;

export function h5(): Promise<H5> {
  loading ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return loading;
}

/** One dataset as stored: its shape ([] for a scalar) and its values. */
export interface Array_ {
  shape: number[];
  values: Int32Array | Float32Array | Float64Array;
}

/** A group's `vars` datasets, keyed "0", "1", ... as Keras writes them. */
export type Store = Record<string, Array_>;

/** A weights file as a tree: every group that has a `vars` subgroup, by its path ('' for the root). */
export interface StoreTree {
  /** Group path → the `name` attribute Keras recorded and the `vars` datasets. */
  groups: Map<string, { name: string | null; vars: Store }>;
}

function readArray(ds: InstanceType<H5['Dataset']>, where: string): Array_ {
  const meta = ds.metadata;
  const shape = ds.shape ?? [];
  if (ds.attrs.dtype !== undefined) {
    throw new KerasFormatError(`${where}: dtype ${JSON.stringify(ds.attrs.dtype.value)} is not supported`);
  }
  if (!meta.littleEndian && meta.size > 1) throw new KerasFormatError(`${where}: big-endian data is not supported`);
  const value = ds.value;
  // type 0: integer, 1: float (HDF5 type classes).
  let values: Int32Array | Float32Array | Float64Array;
  if (meta.type === 1 && meta.size === 4) values = value instanceof Float32Array ? value.slice() : Float32Array.of(Number(value));
  else if (meta.type === 1 && meta.size === 8) values = value instanceof Float64Array ? value.slice() : Float64Array.of(Number(value));
  else if (meta.type === 0 && meta.signed && meta.size <= 4) {
    values = Int32Array.from(ArrayBuffer.isView(value) ? (value as unknown as ArrayLike<number>) : [Number(value)]);
  } else if (meta.type === 0 && meta.size === 8) {
    const list = ArrayBuffer.isView(value) ? Array.from(value as BigInt64Array, Number) : [Number(value)];
    if (!list.every((x) => Number.isSafeInteger(x) && Math.abs(x) <= 2 ** 31 - 1)) {
      throw new KerasFormatError(`${where}: an int64 value does not fit in int32`);
    }
    values = Int32Array.from(list);
  } else {
    throw new KerasFormatError(
      `${where}: HDF5 type class ${meta.type} of ${meta.size} bytes is not supported (float32, float64 or integer)`,
    );
  }
  return { shape, values };
}

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Whether a file is HDF5: its signature at offset 0, 512, 1024, 2048, ... (after a user block). Throws ENOENT & co. */
function isHdf5(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      if (readSync(fd, head, 0, 8, at) === 8 && head.equals(SIGNATURE)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Reads every `vars` group of an HDF5 file written by Keras. */
export async function readStoreTree(file: string): Promise<StoreTree> {
  if (!isHdf5(file)) throw new KerasFormatError(`${file} is not an HDF5 file`);
  const h5mod = await h5();
  const f = new h5mod.File(path.resolve(file), 'r');
  try {
    const groups: StoreTree['groups'] = new Map();
    const walk = (g: Group, at: string): void => {
      for (const key of g.keys()) {
        const child = g.get(key);
        const childPath = at ? `${at}/${key}` : key;
        if (key === 'vars' && child instanceof h5mod.Group) {
          const vars: Store = {};
          for (const k of child.keys()) {
            const ds = child.get(k);
            if (!(ds instanceof h5mod.Dataset)) throw new KerasFormatError(`'${childPath}/${k}' is not a dataset`);
            vars[k] = readArray(ds, `'${childPath}/${k}'`);
          }
          const nameAttr = child.attrs.name?.value;
          groups.set(at, { name: typeof nameAttr === 'string' ? nameAttr : null, vars });
        } else if (child instanceof h5mod.Group) walk(child, childPath);
        else throw new KerasFormatError(`'${childPath}' is not a group (Keras keeps datasets under 'vars' groups only)`);
      }
    };
    walk(f, '');
    return { groups };
  } finally {
    f.close();
  }
}

/** Runs `fn` on a file path in a fresh temporary folder, removed afterwards. */
async function inTempFile<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgd-native-keras-'));
  try {
    return await fn(path.join(dir, 'model.weights.h5'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads an HDF5 file given as bytes (e.g. the model.weights.h5 inside a .keras zip). */
export function readStoreTreeFromBytes(bytes: Uint8Array): Promise<StoreTree> {
  return inTempFile((file) => {
    writeFileSync(file, bytes);
    return readStoreTree(file);
  });
}

/** What to write: group path ('' for the root) → its `name` attribute and its datasets in order. */
export type WriteTree = { group: string; name: string; arrays: Array_[] }[];

const DTYPE = (a: Array_): string => (a.values instanceof Int32Array ? '<i' : a.values instanceof Float32Array ? '<f' : '<d');

/** Writes a Keras weights file: each entry becomes '<group>/vars' with its `name` attribute and datasets "0", "1", ... */
export async function writeStoreTree(file: string, tree: WriteTree): Promise<void> {
  const h5mod = await h5();
  const f = new h5mod.File(path.resolve(file), 'w');
  try {
    for (const { group, name, arrays } of tree) {
      let g: Group = f;
      for (const part of group ? group.split('/') : []) {
        g = g.keys().includes(part) ? (g.get(part) as Group) : g.create_group(part);
      }
      const vars = g.create_group('vars');
      vars.create_attribute('name', name);
      arrays.forEach((a, i) => vars.create_dataset({ name: String(i), data: a.values, shape: a.shape, dtype: DTYPE(a) }));
    }
  } finally {
    f.close();
  }
}

/** The bytes of a weights file written to a temporary place. */
export function writeStoreTreeToBytes(tree: WriteTree): Promise<Uint8Array> {
  return inTempFile(async (file) => {
    await writeStoreTree(file, tree);
    return readFileSync(file);
  });
}
