#!/usr/bin/env bash
# npm run test:asan: builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer,
# runs the whole suite against it (Node itself is not instrumented: the runtimes are
# preloaded), then rebuilds the normal addon. Any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir="${npm_config_nodedir:-$(node -p "require('path').resolve(process.execPath, '../..')")}"
restore() { CXXFLAGS= LDFLAGS= npx node-gyp rebuild >/dev/null; }
trap restore EXIT

CXXFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g" \
LDFLAGS="-fsanitize=address,undefined" npx node-gyp rebuild >/dev/null
preload="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
# Node's own allocations at exit are not ours: leak checking is off; every other report aborts.
SGD_TEST_SANITIZER=1 LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  npx vitest run --project native
echo "asan+ubsan: no reports"
