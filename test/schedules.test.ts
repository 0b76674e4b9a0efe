// The six Keras learning-rate schedules (SPEC.md section 10): values against an
// independent float64 model of the formulas, the exact properties SPEC states, configs.
import { describe, expect, it } from 'vitest';
import { SGD, Variable, schedules } from '../lib/index.js';

const f = Math.fround;
const STEPS = [...Array.from({ length: 41 }, (_, i) => i), 100, 1000, 12345];

/**
 * A float32 value within float32 rounding of the float64 model: a few ulps of the
 * schedule's largest rate (cos near -1 cancels, so relative to the rate itself it can be more).
 */
function near(schedule: schedules.LearningRateSchedule, model: (s: number) => number) {
  const scale = Math.max(...STEPS.map((t) => Math.abs(model(t))));
  for (const s of STEPS) {
    const got = schedule.call(s);
    const want = model(s);
    expect(f(got), `step ${s}`).toBe(got);
    expect(Math.abs(got - want), `step ${s}: ${got} vs ${want}`).toBeLessThanOrEqual(5e-7 * scale);
  }
}

describe('ExponentialDecay', () => {
  const s = new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 7, decayRate: 0.5 });
  it('follows initial * rate^(step/decay_steps)', () => near(s, (t) => 0.1 * 0.5 ** (t / 7)));
  it('staircase: constant within each window', () => {
    const st = new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 7, decayRate: 0.5, staircase: true });
    near(st, (t) => 0.1 * 0.5 ** Math.floor(t / 7));
    expect(st.call(7)).toBe(st.call(13));
    expect(st.call(14)).toBeLessThan(st.call(13));
  });
});

describe('PiecewiseConstantDecay', () => {
  const s = new schedules.PiecewiseConstantDecay({ boundaries: [3, 10], values: [0.1, 0.05, 0.01] });
  it('values[0] up to and including the first boundary, then (b[i-1], b[i]], then the last', () => {
    expect([0, 3, 4, 10, 11, 1e6].map((t) => s.call(t))).toEqual([0.1, 0.1, 0.05, 0.05, 0.01, 0.01].map(f));
  });
  it('truncates float boundaries to the integer step type', () => {
    const t = new schedules.PiecewiseConstantDecay({ boundaries: [0.5, 2.5], values: [1, 2, 3] });
    expect([0, 1, 2, 3].map((x) => t.call(x))).toEqual([1, 2, 2, 3]);
  });
});

describe('PolynomialDecay', () => {
  it('decays to end_learning_rate and stays there', () => {
    const s = new schedules.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10, endLearningRate: 0.01, power: 2 });
    near(s, (t) => (0.1 - 0.01) * (1 - Math.min(t, 10) / 10) ** 2 + 0.01);
    expect(s.call(10)).toBe(f(0.01));
    expect(s.call(500)).toBe(f(0.01));
  });
  it('cycle: at multiples of decay_steps the rate is end_learning_rate, the next period starts after', () => {
    const s = new schedules.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 4, endLearningRate: 0.001, cycle: true });
    near(s, (t) => {
      const d = 4 * (t === 0 ? 1 : Math.ceil(t / 4));
      return (0.1 - 0.001) * (1 - t / d) + 0.001;
    });
    for (const t of [4, 8, 12]) expect(s.call(t)).toBe(f(0.001));
    expect(s.call(5)).toBeGreaterThan(s.call(4));
  });
});

describe('InverseTimeDecay', () => {
  it('is bit-exact against a float32 model (only + - * /)', () => {
    const s = new schedules.InverseTimeDecay({ initialLearningRate: 0.3, decaySteps: 3, decayRate: 1.5, staircase: true });
    for (const t of STEPS) expect(s.call(t)).toBe(f(f(0.3) / f(1 + f(f(1.5) * Math.floor(f(f(t) / 3))))));
    const c = new schedules.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5 });
    near(c, (t) => 0.1 / (1 + 0.5 * (t / 2)));
  });
});

describe('CosineDecay', () => {
  it('decays to initial * alpha over decay_steps, then stays', () => {
    const s = new schedules.CosineDecay({ initialLearningRate: 0.2, decaySteps: 20, alpha: 0.1 });
    near(s, (t) => 0.2 * (0.9 * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, 20)) / 20)) + 0.1));
    expect(s.call(20)).toBe(s.call(999));
    expect(s.call(20)).toBeCloseTo(0.02, 7);
  });
  it('warms up linearly from initial to warmup_target, then decays from the target', () => {
    const s = new schedules.CosineDecay({ initialLearningRate: 0, decaySteps: 10, warmupTarget: 0.1, warmupSteps: 5 });
    near(s, (t) => (t < 5 ? 0.1 * (t / 5) : 0.1 * 0.5 * (1 + Math.cos((Math.PI * Math.min(t - 5, 10)) / 10))));
    expect(s.call(5)).toBe(f(0.1));
  });
  it('with warmup_target and no warmup steps, decay starts from the target', () => {
    const s = new schedules.CosineDecay({ initialLearningRate: 5, decaySteps: 10, warmupTarget: 0.1 });
    expect(s.call(0)).toBe(f(0.1));
  });
});

describe('CosineDecayRestarts', () => {
  it('t_mul = 1: periodic, each period m_mul times lower', () => {
    const s = new schedules.CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 5, tMul: 1, mMul: 0.5 });
    near(s, (t) => 0.1 * 0.5 ** Math.floor(t / 5) * 0.5 * (1 + Math.cos(Math.PI * ((t / 5) % 1))));
    expect(s.call(5)).toBe(f(0.05));
  });
  it('t_mul = 2: each period twice as long', () => {
    const s = new schedules.CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 3, alpha: 0.05 });
    near(s, (t) => {
      const frac = t / 3;
      const i = Math.floor(Math.log(1 + frac) / Math.log(2));
      const within = (frac - (2 ** i - 1)) / 2 ** i;
      return 0.1 * (0.95 * 0.5 * (1 + Math.cos(Math.PI * within)) + 0.05);
    });
    expect(s.call(3)).toBe(f(0.1)); // restart after 3 steps, the next after 3 + 6
    expect(s.call(9)).toBe(f(0.1));
  });
});

describe('configs', () => {
  const all = [
    [
      new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.5 }),
      ['initial_learning_rate', 'decay_steps', 'decay_rate', 'staircase', 'name'],
      'ExponentialDecay',
    ],
    [new schedules.PiecewiseConstantDecay({ boundaries: [1], values: [0.1, 0.01] }), ['boundaries', 'values', 'name'], 'PiecewiseConstant'],
    [
      new schedules.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 3 }),
      ['initial_learning_rate', 'decay_steps', 'end_learning_rate', 'power', 'cycle', 'name'],
      'PolynomialDecay',
    ],
    [
      new schedules.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.5 }),
      ['initial_learning_rate', 'decay_steps', 'decay_rate', 'staircase', 'name'],
      'InverseTimeDecay',
    ],
    [
      new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 3 }),
      ['initial_learning_rate', 'decay_steps', 'alpha', 'name', 'warmup_target', 'warmup_steps'],
      'CosineDecay',
    ],
    [
      new schedules.CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 3 }),
      ['initial_learning_rate', 'first_decay_steps', 't_mul', 'm_mul', 'alpha', 'name'],
      'SGDRDecay',
    ],
  ] as const;

  it.each(all)('%s: Keras keys, order and default name; fromConfig and deserialize round-trip', (s, keys, name) => {
    const config = s.getConfig();
    expect(Object.keys(config)).toEqual(keys);
    expect(config.name).toBe(name);
    const cls = s.constructor as unknown as { fromConfig(c: object): schedules.LearningRateSchedule };
    expect(cls.fromConfig(config).getConfig()).toEqual(config);
    const serialized = schedules.serialize(s);
    expect(serialized).toEqual({ module: 'keras.optimizers.schedules', class_name: s.constructor.name, config, registered_name: null });
    const back = schedules.deserialize(JSON.parse(JSON.stringify(serialized)));
    expect(STEPS.map((t) => back.call(t))).toEqual(STEPS.map((t) => s.call(t)));
  });

  it('refuses unknown keys, options and classes by name', () => {
    expect(() => schedules.CosineDecay.fromConfig({ initial_learning_rate: 0.1, decay_steps: 2, bogus: 1 })).toThrow(
      /unknown config key 'bogus'/,
    );
    expect(() => new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 2, decay_steps: 2 } as never)).toThrow(
      /unknown option 'decay_steps'/,
    );
    expect(() => schedules.deserialize({ class_name: 'NoSuchDecay', config: {} })).toThrow(/NoSuchDecay/);
    expect(() => new schedules.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: -2, decayRate: 1 })).toThrow(
      'Argument `decay_steps` must be > 0. Received: decay_steps=-2',
    );
  });
});

describe('a schedule written by the user', () => {
  class Halving extends schedules.LearningRateSchedule {
    call(step: number) {
      return 0.3 / 2 ** step;
    }
    getConfig() {
      return {};
    }
  }
  it('drives the optimizer, rounded to float32, read at the raw iteration', () => {
    const v = new Variable(Float32Array.of(1));
    const opt = new SGD({ learningRate: new Halving() });
    opt.apply([Float32Array.of(1)], [v]);
    expect(v.value[0]).toBe(f(1 - f(0.3)));
    expect(opt.learningRate).toBe(f(0.15));
    expect(opt.getConfig().learning_rate).toMatchObject({ class_name: 'Halving', config: {} });
  });
});
