// The workload tools/memcheck.sh runs under valgrind: every stage of a step (each clip
// mode, accumulation, EMA and overwrite, weight decay, both dtypes, odd sizes for the
// loop tails, threads, async steps) on every instruction set valgrind can run, plus the
// native layer's error paths. Exits non-zero if a result differs between ISAs.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { SGD, Variable, isa, setIsa, setNumThreads } = require('../dist/index.js');
const { backend } = require('../dist/load.js');

const configs = [
  { learningRate: 0.1 },
  { learningRate: 0.1, momentum: 0.9, nesterov: true, clipnorm: 1 },
  { learningRate: 0.1, momentum: 0.5, globalClipnorm: 2, weightDecay: 0.01, useEma: true, emaOverwriteFrequency: 2 },
  { learningRate: 0.1, clipvalue: 0.3, gradientAccumulationSteps: 2, lossScaleFactor: 4, useEma: true },
];
const SIZES = [1, 7, 33, 300_001];

function run(Type, config, threads) {
  setNumThreads(threads);
  const vars = SIZES.map(
    (n, i) =>
      new Variable(
        Type.from({ length: n }, (_, j) => Math.sin(i + j)),
        { name: `v${i}` },
      ),
  );
  const opt = new SGD(config);
  for (let k = 0; k < 3; ++k)
    opt.apply(
      SIZES.map((n, i) => (k === 1 && i === 2 ? null : Type.from({ length: n }, (_, j) => Math.cos(k + i + j)))),
      vars,
    );
  return [...vars, ...opt.variables].map((v) => Buffer.from(v.value.buffer).toString('base64')).join();
}

const results = new Map();
for (const name of isa().available) {
  setIsa(name);
  const out = [];
  for (const Type of [Float32Array, Float64Array])
    for (const config of configs) for (const threads of [1, 2]) out.push(run(Type, config, threads));
  results.set(name, out.join('|'));
  console.log(`${name}: ${out.length} runs`);
}
const variants = new Set(results.values());

// Async steps (three optimizers at once, each on its own variable; a fourth on the same
// memory is refused), and the native layer refusing bad input.
const own = [1, 2, 3].map(() => new Variable(new Float32Array(100_003)));
const steps = own.map((v) => new SGD({ momentum: 0.9 }).applyAsync([new Float32Array(100_003).fill(1)], [v]));
const racing = new SGD().applyAsync([new Float32Array(100_003).fill(1)], [own[0]]).then(
  () => false,
  (e) => /async step still running/.test(e.message),
);
await Promise.all(steps);
if (!(await racing)) throw new Error('a second step on memory in flight was not refused');
let refused = 0;
const scalars = (n) => new Float64Array(backend.layout.length(n));
for (const args of [
  [[new Float32Array(3)], [new Float32Array(2)], null, null, null, scalars(1)],
  [[{}], [null], null, null, null, scalars(1)],
  [[], [], null, null, null, new Float64Array(3)],
]) {
  try {
    backend.impl.step(...args);
  } catch {
    ++refused;
  }
}
console.log(`async done; native refused ${refused}/3 bad calls; ISAs agree: ${variants.size === 1}`);
process.exit(variants.size === 1 && refused === 3 ? 0 : 1);
