#!/usr/bin/env bash
# npm run prebuilds:win32: the win32-x64 prebuild, cross-compiled on Linux with Debian's mingw-w64
# (posix thread model) from CMakeLists.txt, the same sources and per-file ISA flags as every other
# build. libstdc++, libgcc and winpthread are linked in statically, so the .node imports only
# KERNEL32.dll, msvcrt.dll (both part of Windows) and node.exe; this script checks that, and that
# no multiply-add was fused.
# Node-API calls resolve against node.exe through an import library made from the .def file that
# the node-api-headers package ships.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in x86_64-w64-mingw32-g++-posix x86_64-w64-mingw32-dlltool x86_64-w64-mingw32-strip x86_64-w64-mingw32-objdump cmake; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "prebuilds:win32: missing ${missing[*]} (Debian: apt-get install g++-mingw-w64-x86-64-posix cmake)" >&2
  exit 1
fi

out=build-win32
headers=$(node -p "require('node-api-headers').include_dir")
def=$(node -p "require('node-api-headers').def_paths.node_api_def")
addon_api=$(node -p "require('path').resolve(require('node-addon-api').include_dir)")
name=$(node -p "require('./package.json').name")
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

rm -rf "$out"
mkdir -p "$out"
x86_64-w64-mingw32-dlltool -d "$def" -D node.exe -l "$out/libnode.a"
cmake -S . -B "$out" "${generator[@]}" -DCMAKE_TOOLCHAIN_FILE=tools/mingw-w64.cmake -DCMAKE_BUILD_TYPE=Release \
  -DNODE_ARCH=x64 "-DCMAKE_JS_INC=$headers;$addon_api" "-DCMAKE_JS_LIB=$PWD/$out/libnode.a" >/dev/null
cmake --build "$out" --parallel 2

built=("$out"/*.node)
[ ${#built[@]} = 1 ] || { echo "prebuilds:win32: expected one .node in $out, found: ${built[*]}" >&2; exit 1; }
mkdir -p prebuilds/win32-x64
target="prebuilds/win32-x64/$name.node"
x86_64-w64-mingw32-strip --strip-unneeded -o "$target" "${built[0]}"

imports=$(x86_64-w64-mingw32-objdump -p "$target" | awk '/DLL Name:/ {print tolower($3)}' | sort -u | tr '\n' ' ')
for dll in $imports; do
  case "$dll" in
    kernel32.dll | msvcrt.dll | node.exe) ;;
    *) echo "prebuilds:win32: $target needs $dll, which Windows does not ship (imports: $imports)" >&2; exit 1 ;;
  esac
done
# Same bits as every other build: no multiply-add may have been contracted (-ffp-contract=off).
fused=$(x86_64-w64-mingw32-objdump -d "$target" | grep -cE '\svfn?m(add|sub)' || true)
[ "$fused" = 0 ] || { echo "prebuilds:win32: $target has $fused fused multiply-add instructions" >&2; exit 1; }
echo "prebuilds:win32: $target ($(stat -c %s "$target") bytes; imports: $imports; no fused multiply-add)"
