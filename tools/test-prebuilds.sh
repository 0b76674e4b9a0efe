#!/usr/bin/env bash
# Tests what ships, after `npm run prebuilds`:
#  - the x64 prebuild (PREBUILDS_ONLY=1 npm test),
#  - the same binary on emulated x86 CPUs without AVX-512 (Haswell) and without AVX (qemu64),
#  - the arm64 prebuild under arm64 Node in qemu (NEON kernels),
#  - the packed tarball installed into an empty project with no compiler on PATH.
# Every run replays all golden cases and writes a digest of the final states' bits;
# all digests must be equal (the same bits on every CPU and instruction set).
set -euo pipefail
cd "$(dirname "$0")/.."
for f in prebuilds/linux-x64/sgd-native.node prebuilds/linux-arm64/sgd-native.node; do
  [ -f "$f" ] || { echo "missing $f: run npm run prebuilds first" >&2; exit 1; }
done
command -v qemu-x86_64-static >/dev/null || { echo "qemu-x86_64-static is not installed (Debian: apt-get install qemu-user-static)" >&2; exit 1; }
digests=$(mktemp -d)
trap 'rm -rf "$digests"' EXIT
node_bin=$(command -v node)

echo "== x64 prebuild, native CPU"
PREBUILDS_ONLY=1 SGD_GOLDEN_DIGEST="$digests/x64-native" npx vitest run --project native

for cpu in Haswell qemu64; do
  echo "== x64 prebuild under qemu -cpu $cpu"
  SGD_TEST_NO_SPAWN=1 PREBUILDS_ONLY=1 SGD_GOLDEN_DIGEST="$digests/x64-$cpu" \
    qemu-x86_64-static -cpu "$cpu" "$node_bin" node_modules/vitest/vitest.mjs run --project native --pool=threads 2> >(grep -v "TCG doesn't support" >&2)
done

echo "== arm64 prebuild under qemu (arm64 Node)"
SGD_TEST_NO_SPAWN=1 SGD_GOLDEN_DIGEST="$digests/arm64" tools/arm64-run.sh node_modules/.bin/vitest run --project native --pool=threads

echo "== golden digests"
for f in "$digests"/*; do echo "$(cat "$f")  $(basename "$f")"; done
[ "$(cat "$digests"/* | sort -u | wc -l)" = 1 ] || { echo "golden results differ between CPUs" >&2; exit 1; }
[ "$(ls "$digests" | wc -l)" = 4 ] || { echo "a run wrote no digest" >&2; exit 1; }

echo "== npm pack, install without a compiler"
node tools/pack-test.mjs
echo "prebuilds: all checks passed"
