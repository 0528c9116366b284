#!/bin/sh
# SPDX-License-Identifier: MIT
# asc.sh OUT.wasm SOURCE.ts|example AS_PDK ASSEMBLYSCRIPT BINARYEN LONG : compiles an
# AssemblyScript plugin with Extism's PDK as Extism documents it (asc SOURCE.ts --use
# abort=SOURCE/myAbort). "example" is the PDK's own example.ts from its npm package, unchanged,
# built as the package's Makefile builds it. Each directory after SOURCE holds
# node_modules/NAME, that npm package (scripts/fetch-npm.sh); they are joined in a workspace of
# symbolic links, which node follows without resolving them (--preserve-symlinks), so that the
# compiler finds its dependencies beside it.
set -eu
out=$1 src=$2 pdk=$3
shift 3
ws=$(mktemp -d "${TMPDIR:-/tmp}/plugbox-asc.XXXXXX")
trap 'rm -rf "$ws"' EXIT
mkdir -p "$ws/node_modules/@extism"
ln -s "$pdk/node_modules/@extism/as-pdk" "$ws/node_modules/@extism/as-pdk"
for d in "$@"; do
    for p in "$d"/node_modules/*; do ln -s "$p" "$ws/node_modules/"; done
done
if [ "$src" = example ]; then
    cp -r "$pdk/node_modules/@extism/as-pdk/example.ts" "$pdk/node_modules/@extism/as-pdk/lib" "$ws/"
    name=example
else
    name=$(basename "$src" .ts)
    cp "$src" "$ws/$name.ts"
fi
(cd "$ws" && node --preserve-symlinks --preserve-symlinks-main node_modules/assemblyscript/bin/asc.js \
    "$name.ts" --outFile out.wasm --use "abort=$name/myAbort")
mv "$ws/out.wasm" "$out"
