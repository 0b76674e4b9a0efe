// Packs the package, installs the tarball into an empty project with no C/C++ compiler
// (nor make, nor python) on PATH, and runs a step from it through require() and import.
// Proves that what ships loads from its prebuilt binary, and, with the binary removed, from
// its WebAssembly build. Needs `npm run prebuilds:x64` first.
//
//   node tools/pack-test.mjs --node=PATH   the project is run by another Node: PATH is a `node`
//     command, e.g. Windows Node under Wine (tools/win32-run.sh --wrapper; needs the win32 prebuild).
//     npm (this Node) installs with --ignore-scripts, then that Node makes the check the install
//     script makes before it would compile (node-gyp-build-test): the prebuild must load.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const work = mkdtempSync(path.join(tmpdir(), 'sgd-native-pack-'));
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts }).toString();
const otherNode = process.argv.find((a) => a.startsWith('--node='))?.slice('--node='.length);

try {
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root }).trim().split('\n').pop();
  console.log(`packed ${tarball}`);

  // A PATH holding only what npm needs to run: no cc, c++, g++, make or python.
  const bin = path.join(work, 'bin');
  mkdirSync(bin);
  for (const tool of ['node', 'npm', 'sh', 'env']) {
    const where = tool === 'node' && otherNode ? path.resolve(otherNode) : run('sh', ['-c', `command -v ${tool}`]).trim();
    symlinkSync(where, path.join(bin, tool));
  }
  const env = { HOME: process.env.HOME, PATH: bin, npm_config_nodedir: '' };
  for (const tool of ['cc', 'c++', 'g++', 'gcc', 'make', 'python3']) {
    if (existsSync(path.join(bin, tool))) throw new Error(`${tool} is on the test PATH`);
  }

  const app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  // npm runs on this Node whichever Node `node` on PATH is.
  const npm = [realpathSync(run('sh', ['-c', 'command -v npm']).trim()), 'install', '--no-audit', '--no-fund', '--prefer-offline'];
  if (otherNode) npm.push('--ignore-scripts');
  run(process.execPath, [...npm, path.join(work, tarball)], { cwd: app, env });
  if (otherNode)
    run('node', [path.join(app, 'node_modules', 'node-gyp-build', 'build-test.js')], {
      cwd: path.join(app, 'node_modules', 'sgd-native'),
      env,
    });

  const cjs = `
    const { SGD, Variable, isa } = require('sgd-native');
    const w = new Variable(new Float32Array([1, 2]), { name: 'w' });
    new SGD({ learningRate: 0.5, momentum: 0.9 }).apply([new Float32Array([1, -1])], [w]);
    console.log(JSON.stringify({ w: [...w.value], isa: isa().active, platform: process.platform }));`;
  const esm = `
    import { SGD, Variable } from 'sgd-native';
    const w = new Variable(new Float64Array([1]));
    new SGD({ learningRate: 0.25 }).apply([new Float64Array([1])], [w]);
    console.log(w.value[0]);`;
  const a = run('node', ['-e', cjs], { cwd: app, env }).trim();
  const b = run('node', ['--input-type=module', '-e', esm], { cwd: app, env }).trim();
  const { isa, platform } = JSON.parse(a);
  if (a !== JSON.stringify({ w: [0.5, 2.5], isa, platform }) || b !== '0.75') {
    throw new Error(`unexpected results: ${a} / ${b}`);
  }
  // sgd-native/keras and its dependencies (fflate, h5wasm) from the tarball, both ways.
  const kerasFile = JSON.stringify(path.join(root, 'examples', 'data', 'iris-keras.keras'));
  const kc = run(
    'node',
    ['-e', `require('sgd-native/keras').readKerasFile(${kerasFile}).then((r) => console.log(r.optimizer.iterations))`],
    { cwd: app, env },
  ).trim();
  const ke = run(
    'node',
    [
      '--input-type=module',
      '-e',
      `import { readKerasFile } from 'sgd-native/keras'; console.log((await readKerasFile(${kerasFile})).optimizer.iterations);`,
    ],
    { cwd: app, env },
  ).trim();
  if (kc !== '30' || ke !== '30') throw new Error(`sgd-native/keras from the tarball: ${kc} / ${ke}`);
  if (existsSync(path.join(app, 'node_modules', 'sgd-native', 'build'))) throw new Error('a compiler ran: build/ exists');
  console.log(`installed without a compiler and stepped: ${a}, ${b}`);

  // No prebuild for this platform either (as on Alpine, FreeBSD, Windows on ARM): the shipped
  // WebAssembly build takes over, with the same results and one warning saying why.
  rmSync(path.join(app, 'node_modules', 'sgd-native', 'prebuilds'), { recursive: true, force: true });
  const fallback = spawnSync('node', ['-e', cjs], { cwd: app, env, encoding: 'utf8' });
  const c = fallback.stdout.trim();
  const d = run('node', ['--input-type=module', '-e', esm], { cwd: app, env, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const warnings = fallback.stderr.match(/SGD_NATIVE_FALLBACK/g) ?? [];
  if (
    fallback.status !== 0 ||
    c !== JSON.stringify({ w: [0.5, 2.5], isa: 'wasm-simd128', platform }) ||
    d !== '0.75' ||
    warnings.length !== 1
  ) {
    throw new Error(`without a binary: exit ${fallback.status}, ${c} / ${d}\n${fallback.stderr}`);
  }
  console.log(`without a native binary: the wasm backend, one warning, same results: ${c}, ${d}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
