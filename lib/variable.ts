import type { FloatArray } from './native.js';
import { invalid } from './checks.js';
import { describe } from './python.js';

export interface VariableOptions {
  name?: string;
  path?: string;
  shape?: readonly number[];
  trainable?: boolean;
}

function checkTrainable(value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalid(TypeError, 'Variable', 'trainable', 'a boolean', value);
}

const FIXED = ['value', 'name', 'path', 'shape', 'dtype', 'size'] as const;

/**
 * A named, shaped parameter. `value` is the caller's own typed array, updated in place.
 * Everything but `trainable` is fixed at construction (assigning it throws in strict
 * code): an optimizer built on a variable keeps stepping the array it was given, so
 * give a framework's new storage to `opt.rebind()` instead.
 */
export class Variable<T extends FloatArray = FloatArray> {
  readonly value: T;
  readonly name: string;
  readonly path: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'float64';
  /** Number of elements: the product of `shape`. */
  readonly size: number;
  #trainable: boolean;

  constructor(value: T, options: VariableOptions = {}) {
    if (!(value instanceof Float32Array || value instanceof Float64Array)) {
      throw invalid(TypeError, 'Variable', 'value', 'a Float32Array or Float64Array', value, { named: false });
    }
    const proto = options !== null && typeof options === 'object' ? Object.getPrototypeOf(options) : undefined;
    if (proto !== Object.prototype && proto !== null) {
      throw invalid(TypeError, 'Variable', 'options', 'a plain object', options, { named: false });
    }
    const name = options.name ?? 'variable';
    if (typeof name !== 'string' || name.includes('/')) {
      throw new TypeError(`Argument \`name\` must be a string and cannot contain character \`/\`. Received: name=${describe(name)}`);
    }
    const path = options.path ?? name;
    if (typeof path !== 'string' || path === '') {
      throw invalid(TypeError, 'Variable', 'path', 'a non-empty string', path);
    }
    const shape = options.shape ?? [value.length];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw invalid(TypeError, 'Variable', 'shape', 'an array of non-negative integers', shape);
    }
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    if (size !== value.length) {
      throw new RangeError(`Variable '${path}': shape [${shape.join(', ')}] holds ${size} elements, but \`value\` has ${value.length}`);
    }
    const trainable = options.trainable ?? true;
    checkTrainable(trainable);
    this.value = value;
    this.name = name;
    this.path = path;
    this.shape = Object.freeze([...shape]);
    this.dtype = value instanceof Float32Array ? 'float32' : 'float64';
    this.size = size;
    this.#trainable = trainable;
    for (const key of FIXED) Object.defineProperty(this, key, { writable: false, configurable: false });
  }

  /** Whether the variable is trained (Keras's `trainable`); the one field that may change. */
  get trainable(): boolean {
    return this.#trainable;
  }

  set trainable(value: boolean) {
    checkTrainable(value);
    this.#trainable = value;
  }

  toString(): string {
    return `<Variable path=${this.path}, shape=(${this.shape.join(', ')}${this.shape.length === 1 ? ',' : ''}), dtype=${this.dtype}>`;
  }
}
