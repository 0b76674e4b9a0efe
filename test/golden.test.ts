// Replays every public Keras golden case (shared/conformance/sgd_golden.json) step
// by step on every backend and instruction set this machine has, and compares bit for bit
// (SPEC.md section 14 says where a small difference is allowed).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SGD, Variable } from '../lib/index.js';
import { GOLDEN_DIGEST, digestBytes, replay, type GoldenCase } from './golden-replay.cjs';
import { TARGETS, loadJson, useTarget } from './helpers.js';

const golden = loadJson<{ cases: GoldenCase[] }>('sgd_golden.json');

// Per target (backend/ISA): the final state of every case, to prove all agree bit for bit.
const finalStates = new Map<string, Map<string, number[][]>>();
const tally = { exact: 0, tolerated: [] as string[] };

function replayOn(c: GoldenCase, target: string) {
  const { state, exact } = replay({ SGD, Variable }, c, target);
  if (target === TARGETS[0]) {
    if (exact) ++tally.exact;
    else tally.tolerated.push(c.id);
  }
  if (!finalStates.has(target)) finalStates.set(target, new Map());
  finalStates.get(target)!.set(c.id, state);
}

describe.each(TARGETS)('Keras golden cases on %s', (target) => {
  it.each(golden.cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    useTarget(target);
    replayOn(c, target);
  });
});

describe('backends and instruction sets', () => {
  it('hash to the digest every backend, ISA, CPU and runtime gives', () => {
    expect(finalStates.size).toBe(TARGETS.length);
    for (const [target, states] of finalStates) expect(digest(states), target).toBe(GOLDEN_DIGEST);
  });

  it('all give identical bits on every golden case', () => {
    const [first, ...rest] = TARGETS;
    for (const other of rest) {
      for (const c of golden.cases) {
        const a = finalStates.get(first)?.get(c.id);
        const b = finalStates.get(other)?.get(c.id);
        expect(a, c.id).toBeDefined();
        expect(b, `${c.id} on ${other}`).toEqual(a);
      }
    }
  });
});

/** A hash of every final state's bits, to compare runs on other machines (SGD_GOLDEN_DIGEST=file writes it). */
function digest(states: Map<string, number[][]>): string {
  return createHash('sha256').update(digestBytes(golden.cases, states)).digest('hex');
}

afterAll(() => {
  const out = process.env.SGD_GOLDEN_DIGEST;
  useTarget(TARGETS.at(-1)!);
  if (out && finalStates.size === TARGETS.length) writeFileSync(out, `${digest(finalStates.get(TARGETS[0])!)}\n`);
  console.log(
    `golden: ${golden.cases.length} cases x ${TARGETS.length} targets (${TARGETS.join(', ')}); ` +
      `${tally.exact} bit-exact, ${tally.tolerated.length} within SPEC 14 tolerance (${tally.tolerated.join(', ')})`,
  );
});
