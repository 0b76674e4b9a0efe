// Seeded fuzzing of every public entry point and of the native surface behind them.
//
//   npm run fuzz                        # seeds 1.. for 5 minutes, each batch in a child process
//   node tools/fuzz.mjs --seed 7 --cases 20000 [--minutes 10]
//   node tools/fuzz.mjs --child --seed 7 --cases 2000 [--trace]   (one batch, in this process)
//
// A finding is: the process dying (a crash: reported with the seed and the input that
// caused it, found by replaying the batch with --trace), an error that is not an Error,
// or an error thrown by the JS engine itself (a TypeError such as "Cannot read
// properties of undefined") instead of one of our messages.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

const { rng } = require('../test/fixtures/data.cjs'); // the tests' seeded generator

const ENGINE_ERRORS =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not a constructor|Cannot convert|Maximum call stack|Invalid array length|undefined is not|null is not/;

/**
 * Runs `count` random calls from `seed`; returns the findings (crashes end the process
 * instead). `globals: false` leaves process-wide settings (the thread count) alone, for
 * runs that share their process with other tests.
 */
export async function runCases(seed, count, { trace = false, globals = true } = {}) {
  const { SGD, Variable, schedules, setIsa, isa, setNumThreads, numThreads } = require(`${root}/dist/index.js`);
  const { backend } = require(`${root}/dist/load.js`);
  const native = backend.impl;
  const r = rng(seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const int = (n) => Math.floor(r() * n);
  const findings = [];

  // With --trace every generated input is printed before it is used, so the last lines
  // before a crash show the input that caused it.
  const show = (v, depth = 0) => {
    try {
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v === 'function') return 'function';
      if (typeof v === 'symbol' || v === undefined || v === null || typeof v !== 'object')
        return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v);
      if (ArrayBuffer.isView(v)) {
        const detached = v.buffer.byteLength === 0 && v.byteLength === 0 ? ' detached' : '';
        const shared = typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer ? ' shared' : '';
        return `${v.constructor.name}(${v.length ?? v.byteLength})${shared}${detached}${'length' in v ? `[${Array.from(v.slice(0, 6)).join(',')}${v.length > 6 ? ',…' : ''}]` : ''}`;
      }
      if (depth > 2) return '…';
      if (Array.isArray(v)) return `[${v.map((x) => show(x, depth + 1)).join(', ')}]`;
      if (v instanceof Variable) return `Variable(${show(v.value, depth + 1)})`;
      return `{${Object.keys(v)
        .map((k) => `${k}: ${show(v[k], depth + 1)}`)
        .join(', ')}}`;
    } catch {
      return '<proxy or throwing getter>';
    }
  };
  const traced = (name, make) =>
    trace
      ? (...a) => {
          const v = make(...a);
          process.stderr.write(`  ${name}: ${show(v)}\n`);
          return v;
        }
      : make;

  const NUMBERS = [0, -0, 1, -1, 0.5, 0.9, 2, 2.5, 3, 1e-45, 1e39, -1e39, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53, 1e300];
  const floatArray = traced('floatArray', (n = int(12)) => {
    const Type = pick([Float32Array, Float64Array]);
    const bytes = n * Type.BYTES_PER_ELEMENT;
    const kind = r();
    // Plain, shared, resizable (may shrink under a step) and growable shared memory.
    const a =
      kind < 0.12
        ? new Type(new SharedArrayBuffer(bytes))
        : kind < 0.17
          ? new Type(new ArrayBuffer(bytes, { maxByteLength: 2 * bytes + 8 }))
          : kind < 0.2
            ? new Type(new SharedArrayBuffer(bytes, { maxByteLength: 2 * bytes + 8 }))
            : new Type(n);
    for (let i = 0; i < n; ++i) a[i] = r() < 0.05 ? pick(NUMBERS) : r() * 4 - 2;
    if (r() < 0.05) structuredClone(a.buffer, { transfer: [a.buffer] }); // detached
    return a;
  });
  const anyValue = traced('value', (depth = 0) => {
    switch (int(depth > 1 ? 9 : 14)) {
      case 0:
        return pick(NUMBERS);
      case 1:
        return pick(['', 'sgd', 'a/b', '0.1', 'NaN', 'x'.repeat(200)]);
      case 2:
        return pick([true, false, null, undefined]);
      case 3:
        return floatArray();
      case 4:
        return new (pick([Int8Array, Uint8Array, Int32Array, Float32Array, Float64Array, BigInt64Array]))(int(6));
      case 5:
        return pick([new DataView(new ArrayBuffer(8)), new ArrayBuffer(8), 1n, Symbol('s')]);
      case 6:
        return () => pick(NUMBERS);
      case 7:
        return () => {
          throw new Error('user function');
        };
      case 8:
        return new Proxy(
          {},
          {
            get() {
              throw new Error('proxy');
            },
            ownKeys() {
              throw new Error('proxy keys');
            },
          },
        );
      case 9:
        return Array.from({ length: int(4) }, () => anyValue(depth + 1));
      case 10:
        return Object.fromEntries(
          Array.from({ length: int(4) }, () => [
            pick(['learning_rate', 'momentum', 'values', 'dtype', 'config', 'class_name', 'x']),
            anyValue(depth + 1),
          ]),
        );
      case 11:
        return new Variable(floatArray(1 + int(8)), { name: pick(['v', 'bias', 'kernel']) });
      case 12:
        return { length: pick([1e9, -1, 3]) };
      default:
        return pick([[], {}, Object.create(null)]);
    }
  });
  const maybe = (make, p = 0.7) => (r() < p ? make() : anyValue());
  // Lists that are not what they seem: a Proxy over an array (Array.isArray says yes)
  // whose reads may throw, change between reads, or be counted.
  const sneakyList = (list) => {
    if (r() < 0.8 || !Array.isArray(list)) return list;
    let reads = 0;
    const mode = int(3);
    return new Proxy(list, {
      get(target, key) {
        if (key === 'length' || typeof key !== 'string' || !/^\d+$/.test(key)) return Reflect.get(target, key);
        if (mode === 0 && ++reads > 2) throw new Error('proxy getter');
        if (mode === 1 && ++reads % 2 === 0) return anyValue();
        return Reflect.get(target, key);
      },
    });
  };
  // Memory pulled away from under a step: transferred, shrunk or grown.
  const disturb = (a) => {
    if (!ArrayBuffer.isView(a)) return;
    const buffer = a.buffer;
    try {
      if (buffer.resizable) buffer.resize(int(2) ? 0 : buffer.maxByteLength);
      else if (buffer.growable) buffer.grow(buffer.maxByteLength);
      else structuredClone(buffer, { transfer: [buffer] });
    } catch {
      // untransferable (in use by an async step), or already detached
    }
  };
  // User code that runs inside a step: steps again, or disturbs the step's memory.
  const meddlingRate = () => () => {
    const what = int(3);
    if (what === 0)
      optimizer?.apply(
        variables.map((v) => new v.value.constructor(v.value.length)),
        variables,
      );
    else if (what === 1 && variables.length) disturb(pick(variables).value);
    else
      optimizer
        ?.applyAsync(
          variables.map((v) => new v.value.constructor(v.value.length)),
          variables,
        )
        .catch(settle);
    return 0.1;
  };
  const pending = [];
  const settle = (e) => {
    if (!(e instanceof Error)) findings.push(`async: rejected with a non-Error: ${String(e)}`);
    else if (ENGINE_ERRORS.test(e.message) && !/proxy|user function/.test(e.message))
      findings.push(`async: engine error instead of a message: ${e.message}`);
  };

  const options = traced('options', () => {
    const o = {};
    for (const key of [
      'learningRate',
      'momentum',
      'nesterov',
      'weightDecay',
      'clipnorm',
      'clipvalue',
      'globalClipnorm',
      'useEma',
      'emaMomentum',
      'emaOverwriteFrequency',
      'lossScaleFactor',
      'gradientAccumulationSteps',
      'name',
      'decay',
      'bogus',
    ]) {
      if (r() < 0.3) o[key] = r() < 0.6 ? pick(NUMBERS.concat([0.01, 0.9, 3])) : anyValue();
    }
    if (r() < 0.2) o.learningRate = new schedules.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5 });
    else if (r() < 0.1) o.learningRate = meddlingRate();
    return o;
  });
  const nativeArgs = traced('native.step arguments', () => {
    const n = int(4);
    const vars = Array.from({ length: n }, () => floatArray(int(40)));
    const like = (v) => (r() < 0.85 ? new v.constructor(r() < 0.9 ? v.length : int(40)) : anyValue());
    const list = (p) => (r() < p ? vars.map(like) : r() < 0.5 ? null : anyValue());
    const scalars = new Float64Array(r() < 0.9 ? backend.layout.length(n) : int(20));
    for (let i = 0; i < scalars.length; ++i) scalars[i] = r() < 0.3 ? pick(NUMBERS) : int(4);
    return [
      r() < 0.95 ? vars : anyValue(),
      vars.map((v) => (r() < 0.2 ? null : like(v))),
      list(0.5),
      list(0.4),
      list(0.4),
      r() < 0.95 ? scalars : anyValue(),
    ];
  });

  let optimizer = null;
  let variables = [];
  const targets = [
    () =>
      new Variable(
        maybe(() => floatArray()),
        maybe(() => ({ name: pick(['w', 'a/b']), shape: pick([[2], [3, 4], [0], [-1]]) }), 0.5),
      ),
    () => {
      optimizer = new SGD(maybe(options, 0.9));
      variables = Array.from({ length: 1 + int(3) }, () => new Variable(floatArray(1 + int(10))));
    },
    () =>
      optimizer?.apply(
        maybe(() => variables.map((v) => (r() < 0.8 ? new v.value.constructor(v.value.length) : anyValue()))),
        r() < 0.8 ? variables : anyValue(),
      ),
    () => {
      const grads = maybe(() => variables.map((v) => (r() < 0.8 ? new v.value.constructor(v.value.length) : anyValue())));
      const step = optimizer?.applyAsync(sneakyList(grads), r() < 0.8 ? sneakyList(variables) : anyValue());
      if (step) pending.push(step.catch(settle));
      if (r() < 0.5) disturb(pick([...(Array.isArray(grads) ? grads : []), ...variables.map((v) => v.value), null]));
      if (r() < 0.3 && optimizer)
        new SGD().applyAsync([new Float32Array(variables[0]?.value.length ?? 1)], variables.slice(0, 1)).catch(settle);
    },
    () => optimizer?.apply(sneakyList(variables.map((v) => new v.value.constructor(v.value.length))), sneakyList(variables)),
    () => optimizer?.applyGradients(maybe(() => variables.map((v) => [r() < 0.8 ? floatArray(v.value.length) : anyValue(), v]))),
    () => optimizer?.build(maybe(() => variables)),
    () => optimizer?.excludeFromWeightDecay(maybe(() => ({ varNames: [pick(['bias', '[', '.*'])], variables: variables.slice(0, 1) }))),
    () => optimizer?.finalizeVariableValues(r() < 0.5 ? undefined : anyValue()),
    () => optimizer?.loadStateDict(r() < 0.5 ? { ...optimizer.stateDict(), variables: anyValue() } : anyValue()),
    () => optimizer?.loadOwnVariables(anyValue()),
    () => optimizer && (optimizer.learningRate = anyValue()),
    () =>
      optimizer?.getConfig() &&
      SGD.fromConfig(r() < 0.5 ? { ...optimizer.getConfig(), [pick(['momentum', 'learning_rate', 'name'])]: anyValue() } : anyValue()),
    () =>
      schedules
        .deserialize(
          maybe(() => ({
            class_name: pick([
              'ExponentialDecay',
              'PiecewiseConstantDecay',
              'PolynomialDecay',
              'InverseTimeDecay',
              'CosineDecay',
              'CosineDecayRestarts',
              'Nope',
            ]),
            config: anyValue(),
          })),
        )
        .call(int(100)),
    () => native.step(...nativeArgs()),
    () => native.step(...Array.from({ length: int(8) }, () => anyValue())),
    () => setIsa(r() < 0.7 ? pick(isa().available) : anyValue()),
    () => globals && setNumThreads(r() < 0.8 ? 1 + int(4) : anyValue()),
  ];

  const names = [
    'new Variable',
    'new SGD',
    'apply',
    'applyAsync (memory disturbed meanwhile)',
    'apply (lists behind a Proxy)',
    'applyGradients',
    'build',
    'excludeFromWeightDecay',
    'finalizeVariableValues',
    'loadStateDict',
    'loadOwnVariables',
    'learningRate =',
    'SGD.fromConfig',
    'schedules.deserialize',
    'native.step (nearly valid)',
    'native.step (random)',
    'setIsa',
    'setNumThreads',
  ];
  const threads = numThreads();
  for (let i = 0; i < count; ++i) {
    const which = int(targets.length);
    if (trace) process.stderr.write(`case ${i}: ${names[which]}\n`);
    try {
      targets[which]();
    } catch (e) {
      if (!(e instanceof Error)) findings.push(`case ${i} (${names[which]}): threw a non-Error: ${String(e)}`);
      else if (ENGINE_ERRORS.test(e.message) && !/proxy|user function/.test(e.message)) {
        findings.push(`case ${i} (${names[which]}): engine error instead of a message: ${e.message}`);
      }
    }
  }
  await Promise.allSettled(pending);
  setIsa(isa().available.at(-1));
  if (globals) setNumThreads(threads);
  return findings;
}

async function main() {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i < 0 ? fallback : Number(args[i + 1]);
  };
  const seed = flag('seed', 1);
  const cases = flag('cases', 2000);
  if (args.includes('--child')) {
    const findings = await runCases(seed, cases, { trace: args.includes('--trace') });
    for (const f of findings) console.log(`finding (seed ${seed}): ${f}`);
    console.log(`seed ${seed}: ${cases} cases, ${findings.length} findings`);
    process.exit(findings.length ? 1 : 0);
  }
  // Parent: batches of `cases`, one child process each, until the time is up.
  const deadline = Date.now() + flag('minutes', args.includes('--seed') ? 0 : 5) * 60_000;
  let total = 0;
  let bad = 0;
  for (let s = seed; ; ++s) {
    const child = spawnSync(
      process.execPath,
      ['--no-warnings', fileURLToPath(import.meta.url), '--child', '--seed', String(s), '--cases', String(cases)],
      { encoding: 'utf8' },
    );
    total += cases;
    if (child.status !== 0) {
      ++bad;
      if (child.signal || child.status === null || child.status > 1) {
        const replay = spawnSync(
          process.execPath,
          ['--no-warnings', fileURLToPath(import.meta.url), '--child', '--trace', '--seed', String(s), '--cases', String(cases)],
          { encoding: 'utf8' },
        );
        const lines = replay.stderr.trim().split('\n');
        const start = lines.map((l) => l.startsWith('case ')).lastIndexOf(true);
        console.log(
          `CRASH (seed ${s}, ${child.signal ?? `exit ${child.status}`}); replay: node tools/fuzz.mjs --child --trace --seed ${s} --cases ${cases}`,
        );
        console.log(`the input that crashed:\n${lines.slice(start).join('\n')}`);
        console.log(child.stderr.split('\n').slice(-15).join('\n'));
      } else {
        process.stdout.write(child.stdout);
      }
    }
    if (Date.now() >= deadline) break;
  }
  console.log(`fuzz: ${total} cases from seed ${seed}, ${bad} failing batches`);
  process.exit(bad ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
