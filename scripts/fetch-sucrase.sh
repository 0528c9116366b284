#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints the path of the sucrase package (the TypeScript transpiler the guest embeds, see
# guest/ts/) unpacked in CACHE_DIR.
#   fetch-sucrase.sh [CACHE_DIR]
# sucrase 3.35.1 is its npm tarball, fetched once with `npm pack`, checked against its pinned
# sha256 (a tarball that does not match is deleted, never used), unpacked into CACHE_DIR. Only
# its own ES module sources are bundled (guest/ts/bundle.sh): none of its dependencies is.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-$here/.cache}

pkg=sucrase@3.35.1
tarball=sucrase-3.35.1.tgz
sha256=fa555afbe97fb4f4866084a8838cb66ff520aa1adcd211269b2708afda4bc9bf

die() { echo "fetch-sucrase: $*" >&2; exit 1; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
out=$cache/sucrase-3.35.1
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
tar -xzf "$cache/$tarball" -C "$tmp" package
echo "$sha256" > "$tmp/package/.plugbox-stamp"
rm -rf "$out"
mv "$tmp/package" "$out"
echo "$out"
