#!/bin/sh
# SPDX-License-Identifier: MIT
# asc.sh OUT.wasm AS_PDK ASSEMBLYSCRIPT BINARYEN LONG : builds Extism's AssemblyScript PDK
# example (example.ts of the npm package @extism/as-pdk, unchanged) with the AssemblyScript
# compiler, as the package's own Makefile does. Each argument after OUT is a directory whose
# node_modules/NAME is that npm package (scripts/fetch-npm.sh); they are joined in a workspace
# of symbolic links, which node follows without resolving them (--preserve-symlinks), so that
# the compiler finds its dependencies beside it.
set -eu
out=$1 pdk=$2
shift 2
ws=$(mktemp -d "${TMPDIR:-/tmp}/plugbox-asc.XXXXXX")
trap 'rm -rf "$ws"' EXIT
mkdir -p "$ws/node_modules"
for d in "$@"; do
    for p in "$d"/node_modules/*; do ln -s "$p" "$ws/node_modules/"; done
done
cp -r "$pdk/node_modules/@extism/as-pdk/example.ts" "$pdk/node_modules/@extism/as-pdk/lib" "$ws/"
(cd "$ws" && node --preserve-symlinks --preserve-symlinks-main node_modules/assemblyscript/bin/asc.js \
    example.ts --outFile example.wasm --use abort=example/myAbort)
mv "$ws/example.wasm" "$out"
