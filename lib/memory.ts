// Which arrays share memory, in O(n log n): arrays are grouped by buffer and sorted by
// offset, so overlaps are found by a sweep or a binary search instead of comparing every
// pair (all of a wasm heap's tensors share one buffer). Empty arrays hold no memory.
// These checks give clear messages in JavaScript's terms; the addon checks the real
// addresses again (two SharedArrayBuffer objects may map the same memory).
import type { FloatArray } from './native.js';

// The engine's own getters: a typed-array subclass may override `buffer`, `byteOffset`
// and `byteLength` with getters that lie; these cannot be overridden.
const typedArray = Object.getPrototypeOf(Float32Array.prototype) as object;
const getter = (name: string) => Object.getOwnPropertyDescriptor(typedArray, name)!.get! as (this: ArrayBufferView) => unknown;
const bufferGetter = getter('buffer');
const offsetGetter = getter('byteOffset');
const lengthGetter = getter('byteLength');

/** The buffer a typed array really views. */
export const bufferOf = (a: ArrayBufferView) => bufferGetter.call(a) as ArrayBufferLike;
export const byteOffsetOf = (a: ArrayBufferView) => offsetGetter.call(a) as number;
export const byteLengthOf = (a: ArrayBufferView) => lengthGetter.call(a) as number;
const start = byteOffsetOf;
const byteLength = byteLengthOf;
const end = (a: ArrayBufferView) => start(a) + byteLength(a);

/** Whether a buffer is a SharedArrayBuffer (which exists only where the runtime allows it). */
export function isShared(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
}

/** Indices of the non-empty arrays, grouped by buffer, each group sorted by offset. */
function groups(arrays: readonly FloatArray[]): Map<ArrayBufferLike, number[]> {
  const out = new Map<ArrayBufferLike, number[]>();
  arrays.forEach((a, i) => {
    if (byteLength(a) === 0) return;
    const buffer = bufferOf(a);
    const group = out.get(buffer);
    if (group) group.push(i);
    else out.set(buffer, [i]);
  });
  for (const group of out.values()) group.sort((i, j) => start(arrays[i]) - start(arrays[j]));
  return out;
}

/** Arrays no two of which overlap (what a step writes), asked which one a given array overlaps. */
export class DisjointArrays {
  readonly #arrays: readonly FloatArray[];
  readonly #groups: Map<ArrayBufferLike, number[]>;

  constructor(arrays: readonly FloatArray[]) {
    this.#arrays = arrays;
    this.#groups = groups(arrays);
  }

  /** The index of an array that shares memory with `a` (on `buffer`, its buffer), or -1. */
  overlapping(a: FloatArray, buffer: ArrayBufferLike = bufferOf(a)): number {
    const group = this.#groups.get(buffer);
    if (group === undefined || byteLength(a) === 0) return -1;
    // The last array starting before `a` ends: sorted and disjoint, only it can reach into `a`.
    let lo = 0;
    let hi = group.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (start(this.#arrays[group[mid]]) < end(a)) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && end(this.#arrays[group[lo - 1]]) > start(a) ? group[lo - 1] : -1;
  }
}

/**
 * A pair [earlier, later] of indices whose arrays overlap, the later one as early in the
 * list as possible, or null when no two overlap.
 */
export function firstOverlap(arrays: readonly FloatArray[]): [number, number] | null {
  let found: [number, number] | null = null;
  for (const group of groups(arrays).values()) {
    let reach = group[0]; // the array reaching furthest so far
    for (let k = 1; k < group.length; ++k) {
      const i = group[k];
      if (start(arrays[i]) < end(arrays[reach])) {
        const pair: [number, number] = reach < i ? [reach, i] : [i, reach];
        if (found === null || pair[1] < found[1]) found = pair;
      }
      if (end(arrays[i]) > end(arrays[reach])) reach = i;
    }
  }
  return found;
}
