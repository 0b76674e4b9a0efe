#!/usr/bin/env bash
# clang-format over native/: `--check` reports files that differ, without it files are rewritten.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "clang-format is not installed (Debian: apt-get install clang-format)" >&2
  exit 1
fi
files=$(git ls-files 'native/*.cc' 'native/*.h' 2>/dev/null || find native -name '*.cc' -o -name '*.h')
if [ "${1:-}" = --check ]; then
  clang-format --dry-run --Werror $files
else
  clang-format -i $files
fi
