#!/bin/sh
# SPDX-License-Identifier: MIT
# fetch-npm.sh NAME VERSION SHA256 [CACHE_DIR]
# Prints the path of a directory whose node_modules/NAME is the npm package NAME@VERSION, for
# esbuild to bundle from (the prelude's core-js, the TypeScript transpiler's sucrase).
# The tarball NAME-VERSION.tgz is fetched once with `npm pack`, checked against its pinned
# SHA256 (a tarball that does not match is deleted, never used), kept in CACHE_DIR and unpacked
# once there. Only the package itself is unpacked, none of its dependencies; nothing of it
# enters the source tree.
set -eu
[ $# -ge 3 ] || { echo "usage: fetch-npm.sh NAME VERSION SHA256 [CACHE_DIR]" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
name=$1 version=$2 sha256=$3
cache=${4:-$here/.cache}

die() { echo "fetch-npm: $name@$version: $*" >&2; exit 1; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# a scoped package's tarball is named without its @ and with a - for its / (npm pack's name)
flat=$(echo "$name" | sed -e 's/^@//' -e 's|/|-|')
tarball=$flat-$version.tgz
out=$cache/npm-$flat-$version
if [ "$(cat "$out/.plugbox-stamp" 2>/dev/null)" = "$sha256" ]; then
    echo "$out"
    exit 0
fi

verified() { echo "$sha256  $cache/$tarball" | sha256sum -c - >/dev/null 2>&1; }
if [ ! -f "$cache/$tarball" ] || ! verified; then
    rm -f "$cache/$tarball"
    command -v npm >/dev/null || die "npm is needed to fetch it (apt-get install npm)"
    (cd "$cache" && npm pack --silent "$name@$version" >/dev/null) || die "npm pack failed"
fi
verified || { rm -f "$cache/$tarball"; die "$tarball does not match its pinned sha256 $sha256; refusing to use it"; }

tmp=$(mktemp -d "$cache/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/node_modules/$(dirname "$name")"
tar -xzf "$cache/$tarball" -C "$tmp"
mv "$tmp/package" "$tmp/node_modules/$name"
echo "$sha256" > "$tmp/.plugbox-stamp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
