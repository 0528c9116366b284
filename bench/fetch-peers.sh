#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the npm peer that make bench compares plugbox with into DIR (make bench: under the
# build directory, never in the source tree); quiet when it is there already.
#   fetch-peers.sh DIR
# The peer is quickjs-emscripten at one exact version; its dependencies pin theirs exactly too.
# It is optional, like node: without node, npm or the network this prints a note and exits 0,
# and the benchmark prints its row as skipped.
set -u
version=0.32.0
[ $# -eq 1 ] || { echo "usage: fetch-peers.sh DIR" >&2; exit 2; }

note() { echo "fetch-peers: $* (the quickjs-emscripten row will be skipped)" >&2; exit 0; }
command -v node >/dev/null 2>&1 || note "no node"
mkdir -p "$1" || note "cannot make $1"
dir=$(cd "$1" && pwd)

have=$(node -p "require('$dir/node_modules/quickjs-emscripten/package.json').version" 2>/dev/null)
[ "$have" = "$version" ] && exit 0

command -v npm >/dev/null 2>&1 || note "no npm"
# a package.json of its own, so that npm installs here and not into a project above DIR
[ -f "$dir/package.json" ] || echo '{"private": true, "description": "the peers of make bench"}' > "$dir/package.json"
echo "fetch-peers: installing quickjs-emscripten@$version into $dir" >&2
npm install --prefix "$dir" --save-exact --no-audit --no-fund --loglevel=error \
    "quickjs-emscripten@$version" >&2 || note "npm install quickjs-emscripten@$version failed"
