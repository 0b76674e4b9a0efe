// The step plan alone, without a backend: what a call decides before anything is written.
import { describe, expect, it } from 'vitest';
import { checkOptions, type SGDOptions } from '../lib/config.js';
import { CLIP, PER_TENSOR, SCALAR_NAMES, scalarLayout } from '../lib/native.js';
import { StepPlan, type StepInput } from '../lib/plan.js';

// A layout in another order than the addon's: the plan must go by names, not positions.
const layout = scalarLayout({ names: [...SCALAR_NAMES].reverse(), perTensor: [...PER_TENSOR] }, 'test');

function plan(options: SGDOptions, input: Partial<StepInput<string>> & { vars: string[] }) {
  const reads: string[] = [];
  let rate = 0;
  const p = new StepPlan(layout);
  const built = input.built ?? null;
  p.decide<string>({
    config: checkOptions(options, 'options'),
    raw: 0,
    hasGradient: () => true,
    builtIndex: (v) => built!.indexOf(v),
    usesWeightDecay: (v) => v !== 'bias',
    readLearningRate: () => {
      reads.push(`read ${++rate}`);
      return rate / 10;
    },
    ...input,
    built,
  });
  const at = (name: (typeof SCALAR_NAMES)[number]) => p.scalars[layout[name]];
  return { p, reads, at };
}

describe('StepPlan', () => {
  it('reads the rate once per decayed variable in call order, then once for the update', () => {
    const { p, reads, at } = plan({ weightDecay: 0.01 }, { vars: ['w', 'bias', 'v'] });
    expect(reads).toEqual(['read 1', 'read 2', 'read 3']);
    expect([0, 1, 2].map((i) => p.scalars[layout.decayOn(3, i)])).toEqual([1, 0, 1]);
    expect(p.scalars[layout.decayLr(3, 0)]).toBe(0.1);
    expect(p.scalars[layout.decayLr(3, 2)]).toBe(0.2);
    expect(at('lr')).toBe(0.3);
    expect(at('mode')).toBe(0);
  });

  it('reads no rate on an accumulation-only call', () => {
    const { reads, at } = plan({ gradientAccumulationSteps: 3, weightDecay: 0.01 }, { vars: ['w'], raw: 0 });
    expect(reads).toEqual([]);
    expect([at('mode'), at('accumSteps'), at('lr')]).toEqual([1, 0, 0]);
    const update = plan({ gradientAccumulationSteps: 3 }, { vars: ['w'], raw: 2 });
    expect([update.at('mode'), update.at('accumSteps')]).toEqual([0, 3]);
  });

  it("puts the call's variables first, then the other built ones in built order", () => {
    const { p } = plan({}, { vars: ['c', 'a'], built: ['a', 'b', 'c', 'd'] });
    expect([...p.order.subarray(0, p.size)]).toEqual([2, 0, 1, 3]);
    expect([p.size, p.callSize]).toEqual([4, 2]);
    const first = plan({}, { vars: ['x', 'y'] }).p;
    expect([...first.order.subarray(0, 2)]).toEqual([0, 1]);
  });

  it('encodes clipping as Keras checks it, float32 hyperparameters and the EMA weights', () => {
    expect(plan({ clipnorm: 2 }, { vars: ['w'] }).at('clip')).toBe(CLIP.norm);
    expect(plan({ globalClipnorm: 2 }, { vars: ['w'] }).at('clip')).toBe(CLIP.globalNorm);
    expect(plan({ clipvalue: 0.5 }, { vars: ['w'] }).at('clipValue')).toBe(0.5);
    expect(plan({ clipvalue: -1 }, { vars: ['w'] }).at('clip')).toBe(CLIP.none); // not positive: no clipping
    expect(plan({ momentum: 0.9 }, { vars: ['w'] }).at('momentum')).toBe(Math.fround(0.9));
    expect(plan({ lossScaleFactor: null }, { vars: ['w'] }).at('lossScale')).toBeNaN();
    const ema = { useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 3 };
    expect(plan(ema, { vars: ['w'], raw: 0 }).at('emaE')).toBe(0); // SPEC 7: e = 0 at k = 0
    expect(plan(ema, { vars: ['w'], raw: 1 }).at('emaE')).toBe(0.9);
    expect([1, 2, 5].map((raw) => plan(ema, { vars: ['w'], raw }).at('overwrite'))).toEqual([0, 1, 1]);
  });

  it('reads the rate before it commits to a step: a rate that throws leaves the last plan in place', () => {
    const p = new StepPlan(layout);
    const input: StepInput<string> = {
      config: checkOptions({}, 'options'),
      raw: 0,
      vars: ['w'],
      hasGradient: () => true,
      built: null,
      builtIndex: () => 0,
      usesWeightDecay: () => true,
      readLearningRate: () => {
        throw new Error('boom');
      },
    };
    p.decide({ ...input, vars: ['a', 'b'], readLearningRate: () => 0.5 });
    expect([p.size, p.callSize]).toEqual([2, 2]);
    expect(() => p.decide({ ...input, vars: ['x', 'y', 'z'] })).toThrow('boom');
    expect([p.size, p.callSize]).toEqual([2, 2]); // the size and order are the last step's
  });
});
