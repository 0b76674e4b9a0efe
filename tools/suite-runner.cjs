// Runs the vitest suite's files without vitest, for Node runtimes vitest cannot run on:
// Windows Node under Wine, including the engines floor (Node 18, older than vitest 4 allows).
// The test files are compiled to CommonJS first (tools/test-win32.sh does it); this file
// provides the part of vitest's API that they use, and each file runs in its own worker
// thread (its own instance of the addon, as under `vitest --pool=threads`).
//
//   node tools/suite-runner.cjs [--skip=REGEX] <compiled test dir> <file.test.js>...
//
// --skip: tests whose full name (file > describe > test) matches are reported as skipped.
//
// `../lib/*.js` (the TypeScript sources) resolve to the package's dist/, i.e. what ships.
// Prints one line per test and closes with `N passed, N failed, N skipped`; exit code 1 on a failure.
'use strict';
const path = require('node:path');
const util = require('node:util');
const Module = require('node:module');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

// ---- the vitest subset -------------------------------------------------------------------------

function newSuite(name, parent) {
  return { name, parent, children: [], beforeEach: [], afterEach: [], beforeAll: [], afterAll: [] };
}
let current = newSuite('', null);

/** printf-like test names, as vitest formats `it.each` rows (%s %i %d %f %j %o %%). */
function format(name, args) {
  let i = 0;
  return name.replace(/%[sidfjo%]/g, (spec) => {
    if (spec === '%%') return '%';
    const v = args[i++];
    if (spec === '%i') return String(Math.trunc(Number(v)));
    if (spec === '%d' || spec === '%f') return String(Number(v));
    if (spec === '%j') return JSON.stringify(v);
    return typeof v === 'string' ? v : util.inspect(v, { depth: 1, breakLength: Infinity });
  });
}
const rowArgs = (row) => (Array.isArray(row) ? row : [row]);

function describe(name, fn) {
  const suite = newSuite(name, current);
  current.children.push(suite);
  const outer = current;
  current = suite;
  try {
    fn();
  } finally {
    current = outer;
  }
}
describe.each = (table) => (name, fn) => table.forEach((row) => describe(format(name, rowArgs(row)), () => fn(...rowArgs(row))));

function it(name, fn) {
  current.children.push({ name, fn });
}
it.skip = (name) => current.children.push({ name, skip: true });
it.runIf = (condition) => (condition ? it : it.skip);
it.skipIf = (condition) => (condition ? it.skip : it);
it.each = (table) => (name, fn) => table.forEach((row) => it(format(name, rowArgs(row)), () => fn(...rowArgs(row))));

const hook = (kind) => (fn) => current[kind].push(fn);

class AssertionError extends Error {}
const show = (v) =>
  v instanceof Error ? `${v.name}: ${v.message}` : util.inspect(v, { depth: 4, breakLength: Infinity, maxArrayLength: 20 });
const tag = (v) => Object.prototype.toString.call(v);

/** vitest's toEqual: Object.is on primitives, same kind of container, undefined properties ignored. */
function equals(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (tag(a) !== tag(b)) return false;
  if (a instanceof Error) return a.message === b.message && a.name === b.name;
  if (a instanceof Date || a instanceof RegExp) return String(a) === String(b) && (!(a instanceof Date) || +a === +b);
  if (a instanceof Map || a instanceof Set) return a.size === b.size && equals([...a], [...b]);
  if (Array.isArray(a) || ArrayBuffer.isView(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; ++i) if (!equals(a[i], b[i])) return false;
    return true;
  }
  const keys = (o) => Object.keys(o).filter((k) => o[k] !== undefined);
  const ka = keys(a);
  const kb = keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && equals(a[k], b[k]));
}

/** vitest's toMatchObject: every property of `expected` is in `actual` (recursively). */
function matchesObject(actual, expected) {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matchesObject(actual[i], e));
  }
  if (expected && typeof expected === 'object' && !ArrayBuffer.isView(expected)) {
    return (
      actual !== null &&
      typeof actual === 'object' &&
      Object.keys(expected).every((k) => k in actual && matchesObject(actual[k], expected[k]))
    );
  }
  return equals(actual, expected);
}

function thrownMatches(thrown, expected) {
  if (expected === undefined) return true;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  if (typeof expected === 'string') return message.includes(expected);
  if (expected instanceof RegExp) return expected.test(message);
  if (typeof expected === 'function') return thrown instanceof expected;
  if (expected instanceof Error) return message === expected.message;
  throw new TypeError(`toThrow(${show(expected)}): unsupported expectation`);
}

const NOT_THROWN = Symbol('nothing thrown');
const callCatching = (fn) => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return NOT_THROWN;
};

/** Each matcher returns [pass, what it expected]. */
const matchers = {
  toBe: (a, e) => [Object.is(a, e), `to be ${show(e)}`],
  toEqual: (a, e) => [equals(a, e), `to equal ${show(e)}`],
  toMatchObject: (a, e) => [matchesObject(a, e), `to match object ${show(e)}`],
  toBeDefined: (a) => [a !== undefined, 'to be defined'],
  toBeNull: (a) => [a === null, 'to be null'],
  toBeNaN: (a) => [Number.isNaN(a), 'to be NaN'],
  toBeInstanceOf: (a, c) => [a instanceof c, `to be an instance of ${c.name}`],
  toBeGreaterThan: (a, n) => [a > n, `to be > ${n}`],
  toBeLessThan: (a, n) => [a < n, `to be < ${n}`],
  toBeLessThanOrEqual: (a, n) => [a <= n, `to be <= ${n}`],
  toBeCloseTo: (a, e, digits = 2) => [Math.abs(a - e) < 10 ** -digits / 2, `to be close to ${e} (${digits} digits)`],
  toContain: (a, e) => [typeof a === 'string' ? a.includes(e) : Array.from(a).includes(e), `to contain ${show(e)}`],
  toHaveLength: (a, n) => [a.length === n, `to have length ${n}`],
  toMatch: (a, e) => [typeof e === 'string' ? a.includes(e) : e.test(a), `to match ${e}`],
  toHaveBeenCalledTimes: (spy, n) => [spy.mock.calls.length === n, `to have been called ${n} times`],
  toThrow(fnOrThrown, e) {
    const thrown = this.rejected ? fnOrThrown : callCatching(fnOrThrown);
    return [
      thrown !== NOT_THROWN && thrownMatches(thrown, e),
      `to throw${e === undefined ? '' : ` ${show(e)}`}; threw ${thrown === NOT_THROWN ? 'nothing' : show(thrown)}`,
    ];
  },
};

function expect(actual, message) {
  const build = (negate, mode) => {
    const out = {};
    for (const [name, matcher] of Object.entries(matchers)) {
      const check = (value, args, rejected) => {
        const [pass, wanted] = matcher.call({ rejected }, value, ...args);
        if (pass === negate) {
          throw new AssertionError(`${message ? `${message}: ` : ''}expected ${show(value)} ${negate ? 'not ' : ''}${wanted}`);
        }
      };
      out[name] = (...args) => {
        if (!mode) return check(actual, args, false);
        return Promise.resolve(actual).then(
          (v) => (mode === 'resolves' ? check(v, args, false) : Promise.reject(new AssertionError(`expected a rejection, got ${show(v)}`))),
          (e) => (mode === 'rejects' ? check(e, args, true) : Promise.reject(e)),
        );
      };
    }
    return out;
  };
  return Object.assign(build(false), { not: build(true), rejects: build(false, 'rejects'), resolves: build(false, 'resolves') });
}
expect.fail = (message) => {
  throw new AssertionError(message);
};

const spies = [];
const vi = {
  spyOn(object, method) {
    const original = object[method];
    const spy = function (...args) {
      spy.mock.calls.push(args);
      return (spy.impl ?? original).apply(this, args);
    };
    spy.mock = { calls: [] };
    spy.mockImplementation = (fn) => ((spy.impl = fn), spy);
    spy.mockRestore = () => (object[method] = original);
    object[method] = spy;
    spies.push(spy);
    return spy;
  },
  restoreAllMocks() {
    while (spies.length) spies.pop().mockRestore();
  },
};

// ---- running one file -------------------------------------------------------------------------

const api = {
  describe,
  it,
  test: it,
  expect,
  vi,
  beforeAll: hook('beforeAll'),
  afterAll: hook('afterAll'),
  beforeEach: hook('beforeEach'),
  afterEach: hook('afterEach'),
};

async function runSuite(suite, counts, trail) {
  const title = (name) => [...trail, name].filter(Boolean).join(' > ');
  const chain = (kind) => {
    const fns = [];
    for (let s = suite; s; s = s.parent) fns[kind === 'beforeEach' ? 'unshift' : 'push'](...s[kind]);
    return fns;
  };
  for (const fn of suite.beforeAll) await fn();
  for (const child of suite.children) {
    if (child.children) {
      await runSuite(child, counts, [...trail, suite.name]);
      continue;
    }
    const skippedBy = workerData.skip.find((re) => new RegExp(re).test(title(child.name)));
    if (child.skip || skippedBy) {
      ++counts.skipped;
      console.log(`- ${title(child.name)} (skipped${skippedBy ? `: --skip=${skippedBy}` : ''})`);
      continue;
    }
    let error = null;
    try {
      for (const fn of chain('beforeEach')) await fn();
      await child.fn();
    } catch (e) {
      error = e;
    }
    try {
      for (const fn of chain('afterEach')) await fn();
    } catch (e) {
      error ??= e;
    }
    if (error) {
      ++counts.failed;
      console.log(`✗ ${title(child.name)}\n    ${error instanceof AssertionError ? error.message : (error?.stack ?? error)}`);
    } else {
      ++counts.passed;
      console.log(`✓ ${title(child.name)}`);
    }
  }
  for (const fn of suite.afterAll) await fn();
}

async function runFile(file) {
  const root = path.resolve(path.dirname(file), '..');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    if (request === 'vitest') return __filename;
    const lib = /^\.\.\/lib\/([\w-]+)\.js$/.exec(request);
    if (lib && parent?.filename?.startsWith(path.dirname(file))) {
      return resolve.call(this, path.join(root, 'dist', `${lib[1]}.js`), parent, ...rest);
    }
    return resolve.call(this, request, parent, ...rest);
  };
  const counts = { passed: 0, failed: 0, skipped: 0 };
  try {
    require(file);
    await runSuite(current, counts, [path.basename(file)]);
  } catch (e) {
    ++counts.failed;
    console.log(`✗ ${path.basename(file)}: ${e?.stack ?? e}`);
  }
  return counts;
}

// ---- entry points -----------------------------------------------------------------------------

if (isMainThread) {
  const args = process.argv.slice(2);
  const skip = args.filter((a) => a.startsWith('--skip=')).map((a) => a.slice('--skip='.length));
  const [dir, ...files] = args.filter((a) => !a.startsWith('--skip='));
  if (!dir || files.length === 0) {
    console.error('usage: node tools/suite-runner.cjs [--skip=REGEX] <compiled test dir> <file.test.js>...');
    process.exit(2);
  }
  (async () => {
    const total = { passed: 0, failed: 0, skipped: 0 };
    for (const file of files) {
      const started = Date.now();
      const result = await new Promise((resolve) => {
        const worker = new Worker(__filename, { workerData: { file: path.resolve(dir, file), skip } });
        let last = null;
        worker.on('message', (m) => (last = m));
        worker.on('error', (e) => resolve({ passed: 0, failed: 1, skipped: 0, crash: e }));
        worker.on('exit', (code) => resolve(last ?? { passed: 0, failed: 1, skipped: 0, crash: `worker exited with ${code}` }));
      });
      if (result.crash) console.log(`✗ ${file}: ${result.crash instanceof Error ? result.crash.stack : result.crash}`);
      console.log(
        `· ${file}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped (${(Date.now() - started) / 1000} s)`,
      );
      for (const k of Object.keys(total)) total[k] += result[k];
    }
    console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
    process.exitCode = total.failed > 0 || total.passed === 0 ? 1 : 0;
  })();
} else {
  module.exports = api; // what `require('vitest')` gives the test files
  runFile(workerData.file).then((counts) => parentPort.postMessage(counts));
}
