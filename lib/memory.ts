// Which arrays share memory, in O(n log n): arrays are grouped by buffer and sorted by
// offset, so overlaps are found by a sweep or a binary search instead of comparing every
// pair (all of a wasm heap's tensors share one buffer). Empty arrays hold no memory.
import type { FloatArray } from './native.js';

const start = (a: FloatArray) => a.byteOffset;
const end = (a: FloatArray) => a.byteOffset + a.byteLength;

/** Indices of the non-empty arrays, grouped by buffer, each group sorted by offset. */
function groups(arrays: readonly FloatArray[]): Map<ArrayBufferLike, number[]> {
  const out = new Map<ArrayBufferLike, number[]>();
  arrays.forEach((a, i) => {
    if (a.byteLength === 0) return;
    const group = out.get(a.buffer);
    if (group) group.push(i);
    else out.set(a.buffer, [i]);
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

  /** The index of an array that shares memory with `a`, or -1. */
  overlapping(a: FloatArray): number {
    const group = this.#groups.get(a.buffer);
    if (group === undefined || a.byteLength === 0) return -1;
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
