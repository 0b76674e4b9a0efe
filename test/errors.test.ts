// Replays every argument-error case recorded from Keras (shared/conformance/sgd_errors.json).
// JS has one number type, so two kinds of case cannot behave as in Python; each is
// listed here with the reason, and asserted to behave as documented.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SGD, Variable, schedules } from '../lib/index.js';
import { CONFORMANCE_DIR, decode, loadJson } from './helpers.js';

interface ErrorCase {
  config?: Record<string, unknown>;
  schedule?: { class_name: string; config: Record<string, unknown> };
  apply?: {
    variables: { name: string; shape: number[]; values: number[] }[];
    steps: (number[] | null)[][];
    prebuild?: boolean;
    pass_variables?: boolean;
  };
  note: string;
  error_type: string | null;
  message: string | null;
  warnings: string[];
}

const cases = loadJson<ErrorCase[]>('sgd_errors.json');

/** Python can tell 1 from 1.0; JS cannot. A JS number is a float where Keras wants a float, an int where it wants an int. */
const INEXPRESSIBLE = new Set([
  'int momentum (Python int, even though in range)',
  'int zero momentum',
  'int learning rate',
  'float overwrite frequency',
]);
/** Keras accepts these, but in JS they are clear mistakes (API.md): rejected, naming the argument and value. */
const STRICTER: Record<string, RegExp> = {
  'NaN momentum (passes the range check)': /`momentum`.*Received: momentum=NaN/,
  'NaN learning rate is accepted': /`learning_rate` must be a finite number. Received: learning_rate=NaN/,
  'weight decay is not validated at construction': /`weight_decay` must be a finite number or null. Received: weight_decay="x"/,
  'nesterov is not validated': /`nesterov` must be a boolean. Received: nesterov="yes"/,
  'non-int accumulation steps >= 2 is accepted':
    /`gradient_accumulation_steps` must be an integer. Received: gradient_accumulation_steps=2.5/,
};

/** Our camelCase option for a Keras argument; unknown keys stay as they are. */
const camel = (k: string) =>
  [
    'learning_rate',
    'weight_decay',
    'global_clipnorm',
    'use_ema',
    'ema_momentum',
    'ema_overwrite_frequency',
    'loss_scale_factor',
    'gradient_accumulation_steps',
  ].includes(k)
    ? k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
    : k;

function attempt(c: ErrorCase, form: 'config' | 'options'): () => unknown {
  if (c.schedule) return () => schedules.deserialize(c.schedule!);
  if (c.apply) {
    return () => {
      const vars = c.apply!.variables.map((v) => new Variable(Float32Array.from(v.values), { name: v.name, shape: v.shape }));
      const opt = SGD.fromConfig(c.config ?? {});
      if (c.apply!.prebuild) opt.build(vars);
      for (const step of c.apply!.steps) {
        const grads = step.map((g) => (g === null ? null : Float32Array.from(g)));
        if (c.apply!.pass_variables === false) opt.apply(grads);
        else opt.apply(grads, vars);
      }
      return opt;
    };
  }
  const config = decode(c.config);
  if (form === 'config') return () => SGD.fromConfig(config);
  return () => new SGD(Object.fromEntries(Object.entries(config).map(([k, v]) => [camel(k), v])));
}

afterEach(() => vi.restoreAllMocks());

describe('Keras argument errors (sgd_errors.json)', () => {
  it('has all 57 cases', () => expect(cases).toHaveLength(57));

  for (const c of cases) {
    // The constructor takes the same arguments in camelCase; serialized schedules only come through configs.
    const optionsForm = c.config && !c.apply && typeof c.config.learning_rate !== 'object';
    const forms = optionsForm ? (['config', 'options'] as const) : (['config'] as const);
    for (const form of forms) {
      it(`${c.note} [${form}]`, () => {
        const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
        const run = attempt(c, form);
        if (c.note in STRICTER) {
          expect(run).toThrow(STRICTER[c.note]);
        } else if (c.error_type === null || INEXPRESSIBLE.has(c.note)) {
          expect(run).not.toThrow();
          expect(warn.mock.calls.map((call) => call[0])).toEqual(c.warnings);
        } else {
          let error: unknown;
          try {
            run();
          } catch (e) {
            error = e;
          }
          expect(error, 'Keras rejects this').toBeInstanceOf(Error);
          expect((error as Error).message).toContain(c.message);
          // Keras's TypeError stays a TypeError; its ValueErrors become TypeError (wrong type) or RangeError/Error.
          if (c.error_type === 'TypeError') expect(error).toBeInstanceOf(TypeError);
        }
      });
    }
  }
});

describe('JS twins of the inexpressible cases', () => {
  it('momentum 0 and 1 are the floats 0.0 and 1.0', () => {
    expect(new SGD({ momentum: 0 }).getConfig().momentum).toBe(0);
    expect(new SGD({ momentum: 1 }).getConfig().momentum).toBe(1);
  });
  it('learning rate 1 is the float 1.0', () => {
    expect(new SGD({ learningRate: 1 }).learningRate).toBe(1);
  });
  it('an integral overwrite frequency is an int', () => {
    expect(new SGD({ useEma: true, emaOverwriteFrequency: 2.0 }).getConfig().ema_overwrite_frequency).toBe(2);
    expect(() => new SGD({ useEma: true, emaOverwriteFrequency: 2.5 })).toThrow(/ema_overwrite_frequency=2.5/);
  });
});

describe('conformance data', () => {
  // The repo carries a copy of shared/conformance so it tests on its own; when the shared
  // folder sits beside the repo (as in CI), the copy must not have gone stale.
  const shared = path.join(__dirname, '..', '..', 'shared', 'conformance');
  it.runIf(existsSync(shared))('matches ../shared/conformance', () => {
    for (const file of ['sgd_golden.json', 'sgd_errors.json']) {
      expect(readFileSync(path.join(CONFORMANCE_DIR, file), 'utf8'), file).toBe(readFileSync(path.join(shared, file), 'utf8'));
    }
  });
});
