#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints the path of a directory whose node_modules/core-js is core-js 3.51.0, for esbuild to
# bundle the guest's prelude from (guest/prelude/).
#   fetch-corejs.sh [CACHE_DIR]
# The npm tarball core-js-3.51.0.tgz is fetched with `npm pack`, checked against its pinned
# sha256, kept in CACHE_DIR and unpacked once there; nothing of it enters the source tree.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-$here/.cache}

pkg=core-js@3.51.0
tarball=core-js-3.51.0.tgz
sha256=2a7abc3121a44b75acdf02b9bdd7408e22633f70f422fc0bd5b9e00abb17bb31

die() { echo "fetch-corejs: $*" >&2; exit 1; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
out=$cache/core-js-3.51.0
if [ "$(cat "$out/.plugbox-stamp" 2>/dev/null)" = "$sha256" ]; then
    echo "$out"
    exit 0
fi

verified() { echo "$sha256  $cache/$tarball" | sha256sum -c - >/dev/null 2>&1; }
if [ ! -f "$cache/$tarball" ] || ! verified; then
    rm -f "$cache/$tarball"
    command -v npm >/dev/null || die "npm is needed to fetch $pkg (apt-get install npm)"
    (cd "$cache" && npm pack --silent "$pkg" >/dev/null) || die "npm pack $pkg failed"
fi
verified || { rm -f "$cache/$tarball"; die "$tarball does not match its pinned sha256 $sha256; refusing to use it"; }

tmp=$(mktemp -d "$cache/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/node_modules"
tar -xzf "$cache/$tarball" -C "$tmp"
mv "$tmp/package" "$tmp/node_modules/core-js"
echo "$sha256" > "$tmp/.plugbox-stamp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
