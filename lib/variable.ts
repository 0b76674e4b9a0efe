import type { FloatArray } from './native.js';
import { invalid } from './checks.js';
import { describe } from './python.js';

export interface VariableOptions {
  name?: string;
  path?: string;
  shape?: readonly number[];
  trainable?: boolean;
}

/** A named, shaped parameter. `value` is the caller's own typed array, updated in place. */
export class Variable<T extends FloatArray = FloatArray> {
  readonly value: T;
  readonly name: string;
  readonly path: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'float64';
  /** Number of elements: the product of `shape`. */
  readonly size: number;
  trainable: boolean;

  constructor(value: T, options: VariableOptions = {}) {
    if (!(value instanceof Float32Array || value instanceof Float64Array)) {
      throw invalid(TypeError, 'Variable', 'value', 'a Float32Array or Float64Array', value, { named: false });
    }
    if (options === null || typeof options !== 'object') {
      throw invalid(TypeError, 'Variable', 'options', 'an object', options, { named: false });
    }
    const name = options.name ?? 'variable';
    if (typeof name !== 'string' || name.includes('/')) {
      throw new TypeError(
        `Argument \`name\` must be a string and cannot contain character \`/\`. Received: name=${describe(name)}`,
      );
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
      throw new RangeError(
        `Variable '${path}': shape [${shape.join(', ')}] holds ${size} elements, but \`value\` has ${value.length}`,
      );
    }
    const trainable = options.trainable ?? true;
    if (typeof trainable !== 'boolean') {
      throw invalid(TypeError, 'Variable', 'trainable', 'a boolean', trainable);
    }
    this.value = value;
    this.name = name;
    this.path = path;
    this.shape = Object.freeze([...shape]);
    this.dtype = value instanceof Float32Array ? 'float32' : 'float64';
    this.size = size;
    this.trainable = trainable;
  }

  toString(): string {
    return `<Variable path=${this.path}, shape=(${this.shape.join(', ')}${this.shape.length === 1 ? ',' : ''}), dtype=${this.dtype}>`;
  }
}
