#!/usr/bin/env bash
# Builds wasm/sgd.wasm: native/step.cc and the kernel of native/kernels/ for wasm32 with
# SIMD128, one thread (native/wasm/pool.cc), with Debian's clang, lld, wasi-libc and
# libc++ for wasm32. The result is committed and shipped, so users need no toolchain.
set -euo pipefail
cd "$(dirname "$0")/../.."
CXX=${WASM_CXX:-clang++}
SYSROOT=${WASI_SYSROOT:-/usr}
for need in "$CXX" wasm-ld; do
  if ! command -v "$need" >/dev/null; then
    echo "$need is missing (Debian: apt-get install clang lld wasi-libc libc++-dev-wasm32 libclang-rt-dev-wasm32)" >&2
    exit 1
  fi
done
mkdir -p wasm
# -ffp-contract=off: every + - * / rounded on its own, as in every native build.
"$CXX" --target=wasm32-wasi --sysroot="$SYSROOT" -std=c++17 -O3 -msimd128 -ffp-contract=off \
  -fno-exceptions -fno-rtti -mexec-model=reactor -Wall -Wextra \
  -Wl,--strip-all -Wl,-z,stack-size=65536 \
  -o wasm/sgd.wasm \
  native/wasm/driver.cc native/wasm/pool.cc native/step.cc native/isa/kernels_wasm.cc
echo "built wasm/sgd.wasm ($(wc -c <wasm/sgd.wasm) bytes)"
