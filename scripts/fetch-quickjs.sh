#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints the path of a patched QuickJS source tree ready for the guest build.
#   fetch-quickjs.sh [CACHE_DIR] [SOURCE_TREE]
# Without SOURCE_TREE, QuickJS 2025-04-26 is the upstream tarball of Debian's source package
# quickjs 2025.04.26-1, fetched from the Debian archive this system's apt already uses (its
# address is read from apt's own policy, nothing of apt's configuration is changed), checked
# against its pinned sha256, kept in CACHE_DIR, unpacked and patched once there. With
# SOURCE_TREE (the QUICKJS_SRC variable of the Makefile, the quickjs_src option of Meson), that
# tree is copied into CACHE_DIR and patched there; the original is never modified. The patches
# are guest/quickjs/*.patch, in the order of their names; each version of them gets its own
# tree, so that checkouts with different patches can share one cache.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-$here/.cache}
src=${2:-}
patches=$(ls "$here"/guest/quickjs/*.patch)

tarball=quickjs_2025.04.26.orig.tar.xz
pool_path=pool/main/q/quickjs/$tarball
sha256=ec81da5b3249ed648dbc7df4a1654988910e66a118d9b71cb63534216efcfbbe
subdir=quickjs-2025.04.26

die() { echo "fetch-quickjs: $*" >&2; exit 1; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# shellcheck disable=SC2086
stamp_of() { cat $patches "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# Every hunk applies exactly where it was written (no fuzz), or nothing is used: a hunk that
# lands in the wrong function would build and misbehave.
apply_patches() { # $1 = tree
    for p in $patches; do
        if ! patch -d "$1" -p1 -N --fuzz=0 --dry-run -s < "$p" >&2; then
            die "guest/quickjs/${p##*/} does not apply strictly to $1"
        fi
        patch -d "$1" -p1 -N --fuzz=0 -s < "$p" >&2
    done
}

if [ -n "$src" ]; then
    [ -f "$src/quickjs.c" ] || die "$src has no quickjs.c"
    src=$(cd "$src" && pwd)
    stamp=$(stamp_of "$src/quickjs.c" "$src/VERSION")
    out=$cache/quickjs-local-$(printf '%s' "$src" | sha256sum | cut -c1-12)-$stamp
    if [ "$(cat "$out/.plugbox-stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$out" && mkdir -p "$out"
        cp -R "$src/." "$out/"
        apply_patches "$out"
        echo "$stamp" > "$out/.plugbox-stamp"
    fi
    echo "$out"
    exit 0
fi

# one tree per version of the patches: builds of different checkouts may share the cache
stamp=$(stamp_of)
out=$cache/quickjs-2025-04-26-$stamp
if [ "$(cat "$out/.plugbox-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$out"
    exit 0
fi

verified() { echo "$sha256  $cache/$tarball" | sha256sum -c - >/dev/null 2>&1; }
if [ ! -f "$cache/$tarball" ] || ! verified; then
    rm -f "$cache/$tarball"
    # the Debian archive of this system: the address of the source of its own main packages
    archive=$(apt-cache policy 2>/dev/null | awk '$2 ~ /:\/\// { uri = $2; next }
        /release / && /o=Debian,/ && /l=Debian,/ && /c=main/ && !/n=[a-z]*-/ { print uri; exit }')
    [ -n "$archive" ] || die "no Debian archive in apt's sources, to fetch $pool_path from"
    tmp=$(mktemp "$cache/$tarball.XXXXXX")
    # apt's own fetcher, which checks the hash before it keeps the file
    if ! /usr/lib/apt/apt-helper -o APT::Sandbox::User="$(id -un)" download-file "$archive/$pool_path" "$tmp" \
            "SHA256:$sha256" >&2; then
        rm -f "$tmp"
        die "could not fetch $archive/$pool_path"
    fi
    mv "$tmp" "$cache/$tarball"
fi
verified || { rm -f "$cache/$tarball"; die "$tarball does not match its pinned sha256 $sha256; refusing to use it"; }

tmp=$(mktemp -d "$cache/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xJf "$cache/$tarball" -C "$tmp" "$subdir"
apply_patches "$tmp/$subdir"
echo "$stamp" > "$tmp/$subdir/.plugbox-stamp"
rm -rf "$out"
mv "$tmp/$subdir" "$out"
echo "$out"
