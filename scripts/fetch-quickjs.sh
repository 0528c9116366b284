#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints the path of a patched QuickJS source tree ready for the guest build.
#   fetch-quickjs.sh [CACHE_DIR] [SOURCE_TREE]
# Without SOURCE_TREE, QuickJS 2021-03-27 is taken from the npm tarball qjsc@0.3.0, verified
# against its pinned sha256, unpacked and patched once into CACHE_DIR. With SOURCE_TREE (the
# QUICKJS_SRC variable of the Makefile, the quickjs_src option of Meson), that tree is copied
# into CACHE_DIR and patched there; the original is never modified. Each version of the patch
# gets its own tree, so that checkouts with different patches can share one cache.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-$here/.cache}
src=${2:-}
patch_file=$here/guest/quickjs-wasi.patch

pkg=qjsc@0.3.0
tarball=qjsc-0.3.0.tgz
sha256=4a9ed1852b334d842d5dac42d1782817ae26310b448de39532451fd45c9ba0ee
subdir=package/deps/quickjs_2021_03_27

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
stamp_of() { cat "$patch_file" "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# Every hunk applies exactly where it was written (no fuzz), or nothing is used: a hunk that
# lands in the wrong function would build and misbehave.
apply_patch() { # $1 = tree
    if ! patch -d "$1" -p1 -N --fuzz=0 --dry-run -s < "$patch_file" >&2; then
        echo "fetch-quickjs: guest/quickjs-wasi.patch does not apply strictly to $1" >&2
        exit 1
    fi
    patch -d "$1" -p1 -N --fuzz=0 -s < "$patch_file" >&2
}

if [ -n "$src" ]; then
    [ -f "$src/quickjs.c" ] || { echo "fetch-quickjs: $src has no quickjs.c" >&2; exit 1; }
    src=$(cd "$src" && pwd)
    stamp=$(stamp_of "$src/quickjs.c" "$src/VERSION")
    out=$cache/quickjs-local-$(printf '%s' "$src" | sha256sum | cut -c1-12)-$stamp
    if [ "$(cat "$out/.plugbox-stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$out" && mkdir -p "$out"
        cp -R "$src/." "$out/"
        apply_patch "$out"
        echo "$stamp" > "$out/.plugbox-stamp"
    fi
    echo "$out"
    exit 0
fi

# one tree per version of the patch: builds of different checkouts may share the cache
stamp=$(stamp_of)
out=$cache/quickjs-2021-03-27-$stamp
if [ "$(cat "$out/.plugbox-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$out"
    exit 0
fi

if [ ! -f "$cache/$tarball" ] || ! echo "$sha256  $cache/$tarball" | sha256sum -c - >/dev/null 2>&1; then
    rm -f "$cache/$tarball"
    command -v npm >/dev/null || { echo "fetch-quickjs: npm is needed to fetch $pkg (apt-get install npm)" >&2; exit 1; }
    (cd "$cache" && npm pack --silent "$pkg" >/dev/null) || { echo "fetch-quickjs: npm pack $pkg failed" >&2; exit 1; }
fi
if ! echo "$sha256  $cache/$tarball" | sha256sum -c - >/dev/null 2>&1; then
    echo "fetch-quickjs: $tarball does not match its pinned sha256 $sha256; refusing to use it" >&2
    rm -f "$cache/$tarball"
    exit 1
fi

tmp=$(mktemp -d "$cache/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$cache/$tarball" -C "$tmp" "$subdir"
apply_patch "$tmp/$subdir"
echo "$stamp" > "$tmp/$subdir/.plugbox-stamp"
rm -rf "$out"
mv "$tmp/$subdir" "$out"
echo "$out"
