// Misuse that once corrupted memory or gave wrong results through the public API (the
// audit behind issue 11): each case now ends in a clear error, or is made safe.
import { describe, expect, it } from 'vitest';
import { SGD, Variable, schedules } from '../lib/index.js';

const f32 = (...v: number[]) => Float32Array.from(v);
const filled = (n: number, x: number) => new Float32Array(n).fill(x);
const transfer = (b: ArrayBufferLike) => structuredClone(b, { transfer: [b as ArrayBuffer] });

/** Transferring `buffer` either throws or copies it: either way its memory stays where it was. */
function transferIsRefusedOrCopies(buffer: ArrayBufferLike) {
  const length = buffer.byteLength;
  try {
    transfer(buffer);
  } catch (e) {
    expect((e as Error).name).toBe('DataCloneError');
  }
  expect(buffer.byteLength).toBe(length);
}

describe('async steps and the memory they use', () => {
  // Node 18's ArrayBuffer has no resizable form (the option is ignored).
  const resizable = (new ArrayBuffer(8, { maxByteLength: 16 }) as ArrayBuffer & { resizable?: boolean }).resizable === true;
  it.runIf(resizable)('refuse resizable ArrayBuffers (a buffer shrunk mid-step crashed the process)', async () => {
    const buffer = new ArrayBuffer(16, { maxByteLength: 64 });
    const w = new Variable(new Float32Array(buffer), { name: 'w' });
    const opt = new SGD();
    await expect(opt.applyAsync([filled(4, 1)], [w])).rejects.toThrow(/variables\[0\] \('w'\) is on a resizable ArrayBuffer/);
    const g = new Float32Array(new ArrayBuffer(16, { maxByteLength: 64 }));
    await expect(opt.applyAsync([g], [new Variable(filled(4, 0))])).rejects.toThrow(/grads\[0\] is on a resizable ArrayBuffer/);
    expect(opt.built).toBe(false);
    opt.apply([filled(4, 1)], [w]); // a synchronous step may use it
    expect(w.value[0]).toBe(-0.009999999776482582);
    // Every built variable is in an async step (EMA averages them all), not only the call's.
    const fixed = new Variable(filled(4, 0), { name: 'fixed' });
    const both = new SGD({ useEma: true });
    both.apply([filled(4, 1), filled(4, 1)], [w, fixed]);
    await expect(both.applyAsync([filled(4, 1)], [fixed])).rejects.toThrow(/\('w'\) is on a resizable ArrayBuffer/);
    const shared = new Variable(new Float32Array(new SharedArrayBuffer(16, { maxByteLength: 64 })), { name: 's' });
    await new SGD().applyAsync([filled(4, 1)], [shared]); // growable shared memory only grows: fine
  });

  it('keep every buffer they use in place: a transfer during the step cannot free it', async () => {
    const n = 1 << 20;
    const w = new Variable(filled(n, 1), { name: 'w' });
    const g = filled(n, 0.5);
    const opt = new SGD({ momentum: 0.9 });
    const step = opt.applyAsync([g], [w]);
    await Promise.resolve(); // the step has started (it starts after the optimizer's earlier steps)
    const momentum = opt.variables.find((v) => v.path.endsWith('_momentum'))!.value;
    for (const buffer of [w.value.buffer, g.buffer, momentum.buffer]) transferIsRefusedOrCopies(buffer);
    await step;
    const reference = new Variable(filled(n, 1));
    new SGD({ momentum: 0.9 }).apply([filled(n, 0.5)], [reference]);
    expect(w.value).toEqual(reference.value);
  });

  it('from two optimizers on the same memory at once are refused (they raced)', async () => {
    const w = new Variable(filled(1 << 16, 1), { name: 'w' });
    const first = new SGD().applyAsync([filled(1 << 16, 1)], [w]);
    const second = new SGD().applyAsync([filled(1 << 16, 1)], [w]);
    await expect(second).rejects.toThrow(/uses memory that an async step still running uses/);
    await first;
    expect(w.value[0]).toBe(Math.fround(1 - Math.fround(0.01))); // one step, not two
    // A synchronous step of another optimizer may not write it meanwhile either, nor read a gradient being written.
    const third = new SGD().applyAsync([filled(1 << 16, 1)], [w]);
    await Promise.resolve();
    expect(() => new SGD().apply([filled(1 << 16, 1)], [w])).toThrow(/uses memory that an async step still running uses/);
    expect(() => new SGD().apply([w.value], [new Variable(filled(1 << 16, 0))])).toThrow(/grads\[0\] uses memory/);
    await third;
    new SGD().apply([filled(1 << 16, 1)], [w]); // done: free again
  });
});

describe('memory sharing is judged by the real memory', () => {
  it('a SharedArrayBuffer and its clone are the same memory', () => {
    const sab = new SharedArrayBuffer(16);
    const w = new Variable(new Float32Array(sab), { name: 'w' });
    const g = new Float32Array(structuredClone(sab)).fill(1); // another object over the same memory
    const opt = new SGD();
    expect(() => opt.apply([g], [w])).toThrow(/grads\[0\] shares memory with variables\[0\]/);
    expect(opt.built).toBe(false); // a step refused by the addon on the first call leaves nothing built
    expect(opt.variables).toHaveLength(2);
    const twin = new Variable(new Float32Array(structuredClone(sab)), { name: 'twin' });
    expect(() => new SGD().apply([filled(4, 1), filled(4, 1)], [w, twin])).toThrow(/variables\[1\] shares memory with variables\[0\]/);
  });

  it('a typed-array subclass lying about its buffer does not hide sharing', () => {
    class Lying extends Float32Array {
      override get buffer(): ArrayBuffer {
        return new ArrayBuffer(16);
      }
    }
    const w = new Variable(filled(4, 1), { name: 'w' });
    const g = new Lying(w.value.buffer, 0, 4);
    expect(() => new SGD().apply([g], [w])).toThrow(/grads\[0\] shares memory with 'w'/);
    expect([...w.value]).toEqual([1, 1, 1, 1]);
  });
});

describe('the lists of a call', () => {
  it('are read once: a Proxy cannot show the checks one list and the step another', () => {
    const w = new Variable(f32(1, 2), { name: 'w' });
    const reads = new Map<string, number>();
    const counted = <T extends object>(name: string, list: T[], swap?: T) =>
      new Proxy(list, {
        get(target, key) {
          if (typeof key === 'string' && /^\d+$/.test(key)) {
            reads.set(`${name}[${key}]`, (reads.get(`${name}[${key}]`) ?? 0) + 1);
            if (swap && reads.get(`${name}[${key}]`)! > 1) return swap; // a second read would see something else
          }
          return Reflect.get(target, key);
        },
      });
    const opt = new SGD({ weightDecay: 0.1, clipnorm: 1 });
    opt.apply(counted('grads', [f32(1, 1)], f32(9, 9)), counted('variables', [w])); // builds
    expect([...reads.values()]).toEqual([1, 1]);
    reads.clear();
    opt.apply(counted('grads', [f32(1, 1)], f32(9, 9)), counted('variables', [w])); // built
    expect([...reads.values()]).toEqual([1, 1]);
    const reference = new Variable(f32(1, 2));
    const plain = new SGD({ weightDecay: 0.1, clipnorm: 1 });
    plain.apply([f32(1, 1)], [reference]);
    plain.apply([f32(1, 1)], [reference]);
    expect(w.value).toEqual(reference.value);
  });
});

describe('user code inside a step', () => {
  it('cannot start another step of the same optimizer (it ran two steps and counted one)', () => {
    const w = new Variable(f32(1), { name: 'w' });
    const opt: SGD = new SGD({
      learningRate: () => {
        opt.apply([f32(1)], [w]);
        return 0.1;
      },
    });
    expect(() => opt.apply([f32(1)], [w])).toThrow(/apply: called from inside a step of this optimizer/);
    expect([opt.iterations, w.value[0], opt.built]).toEqual([0, 1, false]);
  });

  it('cannot change the optimizer meanwhile', async () => {
    const w = new Variable(f32(1), { name: 'w' });
    const attempts: string[] = [];
    const opt: SGD = new SGD({
      learningRate: () => {
        for (const [what, act] of [
          ['loadStateDict', () => opt.loadStateDict(opt.stateDict())],
          ['excludeFromWeightDecay', () => opt.excludeFromWeightDecay({ varNames: ['w'] })],
          ['learningRate', () => (opt.learningRate = 0.5)],
        ] as const) {
          try {
            act();
          } catch (e) {
            if (/inside a step/.test((e as Error).message)) attempts.push(what);
          }
        }
        return 0.1;
      },
    });
    opt.apply([f32(1)], [w]);
    await opt.applyAsync([f32(1)], [w]);
    expect(attempts).toEqual([
      'loadStateDict',
      'excludeFromWeightDecay',
      'learningRate',
      'loadStateDict',
      'excludeFromWeightDecay',
      'learningRate',
    ]);
    expect(opt.iterations).toBe(2);
  });
});

describe('Variable', () => {
  it('fields cannot be reassigned (an assignment was ignored by steps)', () => {
    const w = new Variable(f32(1, 2), { name: 'w' });
    const other = f32(5, 5);
    expect(() => ((w as unknown as { value: Float32Array }).value = other)).toThrow(TypeError);
    expect(() => ((w as unknown as { path: string }).path = 'x')).toThrow(TypeError);
    expect(w.value).not.toBe(other);
    w.trainable = false;
    expect(w.trainable).toBe(false);
    expect(() => ((w as unknown as { trainable: unknown }).trainable = 'yes')).toThrow(
      /`trainable` must be a boolean. Received: trainable="yes"/,
    );
  });

  it('options must be a plain object', () => {
    expect(() => new Variable(f32(1), [] as never)).toThrow(/`options` must be a plain object/);
    expect(() => new Variable(f32(1), new Map() as never)).toThrow(/`options` must be a plain object/);
    expect(new Variable(f32(1), Object.create(null)).name).toBe('variable');
  });
});

describe('the last Keras differences', () => {
  it('setting the rate to a schedule or a function untracks learning_rate, as Keras does', () => {
    const w = new Variable(f32(1, 2), { name: 'w' });
    const opt = new SGD({ momentum: 0.9 });
    opt.build([w]);
    expect(opt.variables.map((v) => v.path)).toEqual(['sgd/iteration', 'sgd/learning_rate', 'sgd/w_momentum']);
    opt.learningRate = new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
    expect(opt.variables.map((v) => v.path)).toEqual(['sgd/iteration', 'sgd/w_momentum']);
    expect(Object.keys(opt.stateDict().variables)).toEqual(['sgd/iteration', 'sgd/w_momentum']);
    const store: Record<string, unknown> = {};
    opt.saveOwnVariables(store);
    expect(Object.keys(store)).toEqual(['0', '1']);
    expect(() => (opt.learningRate = 0.3)).toThrow(/LearningRateSchedule/);
    opt.learningRate = () => 0.2;
    expect(opt.variables).toHaveLength(2);
  });

  it('a schedule refuses a step that is not a finite number, naming it', () => {
    const s = new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 10 });
    for (const step of [NaN, Infinity, '3', undefined]) {
      expect(() => s.call(step as number)).toThrow(/CosineDecay.call: `step` must be a finite number/);
    }
    expect(s.call(3)).toBeGreaterThan(0);
  });
});
