// The suite a runtime without vitest can run: Node 18.17 (the engines floor) and up, Bun,
// Deno. Loads the built package through its ESM entry (named exports, no CommonJS name
// detection) and through require(), replays every public golden case, checks the digest,
// and runs the API checks below. Prints `N passed, N failed`; exits non-zero on a failure.
// Usage: <runtime> test/runtimes/check.mjs [expected backend]   (SGD_NATIVE_BACKEND forces one)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as esm from '../../dist/index.mjs';

const require = createRequire(import.meta.url);
const cjs = require('../../dist/index.js');
const { GOLDEN_DIGEST, digestBytes, replay } = require('../golden-replay.cjs');
const { SGD, Variable, backend } = esm;
const expected = process.argv[2] ?? process.env.SGD_NATIVE_BACKEND ?? 'native';
const runtime = globalThis.Deno
  ? `deno ${globalThis.Deno.version.deno}`
  : process.versions.bun
    ? `bun ${process.versions.bun}`
    : `node ${process.version}`;
const results = { passed: 0, failed: 0 };

async function test(name, fn) {
  try {
    await fn();
    ++results.passed;
  } catch (e) {
    ++results.failed;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
function assert(ok, message) {
  if (!ok) throw new Error(message);
}
const throwsType = (fn, Type) => {
  try {
    fn();
  } catch (e) {
    return e instanceof Type;
  }
  return false;
};

await test('the ESM entry exports every name of the CommonJS one, the same objects', () => {
  const names = (o) =>
    Object.keys(o)
      .filter((k) => k !== 'default' && k !== '__esModule')
      .sort();
  assert(JSON.stringify(names(esm)) === JSON.stringify(names(cjs)), `${names(esm)} vs ${names(cjs)}`);
  for (const k of names(cjs)) assert(esm[k] === cjs[k], `${k} differs between import and require`);
});

await test(`the backend is ${expected}`, () => {
  const { active, available } = backend();
  assert(active === expected, `active ${active}`);
  assert(available.includes('js') && available.includes(active), `available ${available}`);
});

await test('every public golden case replays bit for bit (SPEC 14 tolerances), with the known digest', () => {
  const dir = new URL('../conformance/', import.meta.url);
  const { cases } = JSON.parse(readFileSync(new URL('sgd_golden.json', dir), 'utf8'));
  const states = new Map();
  const warn = console.warn;
  console.warn = () => {}; // Keras's "Gradients do not exist" warnings are part of some cases
  try {
    for (const c of cases) states.set(c.id, replay({ SGD, Variable }, c, runtime).state);
  } finally {
    console.warn = warn;
  }
  const digest = createHash('sha256').update(digestBytes(cases, states)).digest('hex');
  assert(digest === GOLDEN_DIGEST, `digest ${digest}`);
  console.log(`${cases.length} golden cases, digest ${digest.slice(0, 16)}`);
});

const grads = () => [new Float32Array([0.5, -1, 2]), new Float32Array([1])];
const model = () => [new Variable(new Float32Array([1, 2, 3]), { name: 'w' }), new Variable(new Float32Array([4]), { name: 'b' })];
const options = { learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01, clipnorm: 1, useEma: true };

await test('apply and applyAsync give the same bits; a class from import works with one from require', async () => {
  const a = model();
  const b = model().map((v) => new cjs.Variable(v.value, { name: v.name }));
  const oa = new SGD(options);
  const ob = new cjs.SGD(options);
  for (let i = 0; i < 3; ++i) {
    oa.apply(grads(), a);
    await ob.applyAsync(grads(), b);
  }
  assert(b[0] instanceof Variable && oa instanceof cjs.SGD, 'two copies of a class');
  a.forEach((v, i) =>
    assert(
      v.value.every((x, j) => Object.is(x, b[i].value[j])),
      `variable ${i}`,
    ),
  );
});

await test('a bad call throws and changes nothing', () => {
  const vars = model();
  const opt = new SGD(options);
  opt.apply(grads(), vars);
  const before = JSON.stringify([vars.map((v) => [...v.value]), opt.variables.map((v) => [...v.value])]);
  assert(
    throwsType(() => opt.apply([new Float32Array(2), new Float32Array(1)], vars), Error),
    'wrong shape accepted',
  );
  assert(
    throwsType(() => new SGD({ momentum: -1 }), Error),
    'momentum -1 accepted',
  );
  assert(before === JSON.stringify([vars.map((v) => [...v.value]), opt.variables.map((v) => [...v.value])]), 'state changed');
});

await test('stateDict / loadStateDict and getConfig / fromConfig carry a run on exactly', () => {
  const vars = model();
  const opt = new SGD(options);
  opt.apply(grads(), vars);
  const copy = vars.map((v) => new Variable(Float32Array.from(v.value), { name: v.name }));
  const resumed = SGD.fromConfig(opt.getConfig());
  resumed.build(copy);
  resumed.loadStateDict(opt.stateDict());
  opt.apply(grads(), vars);
  resumed.apply(grads(), copy);
  vars.forEach((v, i) =>
    assert(
      v.value.every((x, j) => Object.is(x, copy[i].value[j])),
      `variable ${i}`,
    ),
  );
});

await test('setNumThreads / numThreads / isa answer on every backend', () => {
  const n = esm.numThreads();
  esm.setNumThreads(2);
  assert(esm.numThreads() === 2, 'numThreads');
  esm.setNumThreads(n);
  assert(
    throwsType(() => esm.setNumThreads(0), RangeError),
    'setNumThreads(0)',
  );
  const { active, available } = esm.isa();
  assert(available.includes(active), 'isa');
});

console.log(`sgd-native on ${runtime}, ${backend().active} backend (${esm.isa().active}):`);
console.log(`${results.passed} passed, ${results.failed} failed`);
process.exitCode = results.failed === 0 ? 0 : 1;
