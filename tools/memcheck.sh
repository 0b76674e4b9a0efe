#!/usr/bin/env bash
# npm run test:valgrind: tools/memcheck.mjs under valgrind memcheck. valgrind cannot run
# AVX-512, and CPUID under it says so: the addon then runs its AVX2 and scalar kernels.
# Any memcheck error in the addon fails the run (Node's own code is not our concern:
# errors are counted only when a stack frame is in sgd_native.node; V8 itself reports
# "Conditional jump ... IteratePointersInStack" from its conservative stack scan).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (Debian: apt-get install valgrind)" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
valgrind --tool=memcheck --error-limit=no --track-origins=no --leak-check=no --num-callers=30 \
  --log-file="$log" node --no-warnings tools/memcheck.mjs || status=$?
ours=$(grep -c "sgd_native.node" "$log" || true)
grep -E "ERROR SUMMARY" "$log" | tail -1
if [ "$status" != 0 ] || [ "$ours" != 0 ]; then
  grep -B5 -A25 "sgd_native.node" "$log" | head -120 >&2
  echo "memcheck: workload status $status, $ours stack lines in the addon" >&2
  exit 1
fi
echo "valgrind memcheck: no errors in the addon"
