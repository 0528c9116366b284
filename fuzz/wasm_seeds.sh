#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes fuzz/corpus-wasm/: the modules of tests/wasm/*.wat, made by wat2wasm with the flags on
# each file's second line (";; flags: ..."), as the seeds of fuzz/wasmread.c. After adding or
# changing a .wat file, run: fuzz/wasm_seeds.sh fuzz/corpus-wasm
set -eu
out=$1
src=$(dirname "$0")/../tests/wasm
mkdir -p "$out"
for wat in "$src"/*.wat; do
    flags=$(sed -n '2s/^;; flags://p' "$wat")
    name=$(basename "$wat" .wat)
    # shellcheck disable=SC2086 # the flags are words
    wat2wasm $flags "$wat" -o "$out/$name.wasm"
done
