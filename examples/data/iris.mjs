// The Iris data set (iris.csv beside this file; Fisher 1936, public domain) for the examples:
// rows shuffled with a fixed seed, 120 to train on and 30 to test, the four measurements
// standardised with the training rows' statistics.
import { readFileSync } from 'node:fs';

export const SPECIES = ['setosa', 'versicolor', 'virginica'];

/** A uniform [0, 1) generator (mulberry32): the same numbers in every run. */
export function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * { train, test }: arrays of { x: four standardised numbers, y: the species index }, shuffled
 * with `random(seed)`, or with `seed` itself when it is a generator (which the caller may go
 * on drawing from).
 */
export function loadIris(seed = 42) {
  const rand = typeof seed === 'function' ? seed : random(seed);
  const rows = readFileSync(new URL('./iris.csv', import.meta.url), 'utf8').trim().split('\n').slice(1);
  const data = rows.map((line) => {
    const cells = line.split(',');
    return { x: cells.slice(0, 4).map(Number), y: SPECIES.indexOf(cells[4]) };
  });
  for (let i = data.length - 1; i > 0; --i) {
    const j = Math.floor(rand() * (i + 1));
    [data[i], data[j]] = [data[j], data[i]];
  }
  const train = data.slice(0, 120);
  const mean = [0, 1, 2, 3].map((k) => train.reduce((s, r) => s + r.x[k], 0) / train.length);
  const std = [0, 1, 2, 3].map((k) => Math.sqrt(train.reduce((s, r) => s + (r.x[k] - mean[k]) ** 2, 0) / train.length));
  const standardised = data.map((r) => ({ x: r.x.map((v, k) => (v - mean[k]) / std[k]), y: r.y }));
  return { train: standardised.slice(0, 120), test: standardised.slice(120) };
}
