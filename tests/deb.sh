#!/bin/sh
# SPDX-License-Identifier: MIT
# deb.sh DIR : checks the Debian packages of make deb in DIR: the four packages of
# debian/control at the project's version, their files (dpkg-deb --contents), their
# dependencies as dpkg-shlibdeps computed them (dpkg-deb --info), that apt could install them
# on this system (a simulation: nothing is installed), and then, unpacked into a temporary
# root, everything tests/installed.sh checks.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$1" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

version=$(sed -n 's/^#define PLUGBOX_VERSION "\(.*\)"$/\1/p' "$here/../include/plugbox.h")
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=usr/lib/$ma

# PACKAGE FILE... : the package holds every FILE
holds() {
    pkg=$1
    shift
    deb=$dir/${pkg}_$version-1_$arch.deb
    [ -f "$deb" ] || fail "no $deb"
    dpkg-deb --contents "$deb" | awk '{ print $6 }' > "$dir/$pkg.contents"
    for f in "$@" "usr/share/doc/$pkg/copyright"; do
        grep -qx "\./$f" "$dir/$pkg.contents" || fail "$pkg has no /$f"
    done
    echo "ok: $pkg $version-1 holds $* (and its copyright)"
}
holds libplugbox0 "$lib/libplugbox.so.0" "$lib/libplugbox.so.$version"
holds libplugbox-dev usr/include/plugbox.h "$lib/libplugbox.so" "$lib/libplugbox.a" "$lib/pkgconfig/plugbox.pc" \
    usr/share/man/man3/plugbox.3.gz
holds plugbox usr/bin/plugbox usr/share/man/man1/plugbox.1.gz usr/share/doc/plugbox/examples/embed.c \
    usr/share/doc/plugbox/changelog.gz
holds gstreamer1.0-plugbox "$lib/gstreamer-1.0/libgstplugbox.so"
[ "$(find "$dir" -maxdepth 1 -name '*.deb' | wc -l)" = 4 ] || fail "more packages than the four: $(ls "$dir")"

# PACKAGE PATTERN... : the package's Depends matches every (extended) PATTERN
depends() {
    pkg=$1
    shift
    d=$(dpkg-deb --field "$dir/${pkg}_$version-1_$arch.deb" Depends)
    for p in "$@"; do
        printf '%s\n' "$d" | grep -Eq "$p" || fail "$pkg: Depends '$d' lacks $p"
    done
    echo "ok: $pkg Depends: $d"
}
depends libplugbox0 'libc6 \(>= '
depends libplugbox-dev "libplugbox0 \(= $version-1\)"
# what uses the library depends on the version that brought the newest of the exports it uses
# (the symbols file's), not on this release: a release that adds none it uses asks for no newer
# library
symbols=$here/../debian/libplugbox0.symbols
# PACKAGE FILE : that version, for the binary FILE of the package
newest_used() {
    x=$(mktemp -d)
    dpkg-deb -x "$dir/${1}_$version-1_$arch.deb" "$x"
    nm -D --undefined-only "$x/$2" | awk '{ print $NF }' | sed -n 's/^\(plugbox_[a-z_]*\).*/\1/p' |
        while read -r s; do sed -n "s/^ $s@Base \\([^ ]*\\)$/\\1/p" "$symbols"; done | sort -V | tail -n 1
    rm -rf "$x"
}
cli_needs=$(newest_used plugbox usr/bin/plugbox)
gst_needs=$(newest_used gstreamer1.0-plugbox "$lib/gstreamer-1.0/libgstplugbox.so")
[ -n "$cli_needs" ] && [ -n "$gst_needs" ] || fail "no version in $symbols for what plugbox or the element use"
depends plugbox 'libc6 \(>= ' "libplugbox0 \(>= $cli_needs\)"
depends gstreamer1.0-plugbox "libplugbox0 \(>= $gst_needs\)" 'libgstreamer1.0-0 \(>= ' 'libgstreamer-plugins-base1.0-0 \(>= '
[ "$(dpkg-deb --field "$dir/libplugbox0_$version-1_$arch.deb" Multi-Arch)" = same ] || fail "libplugbox0 is not Multi-Arch: same"

# apt resolves them against this system (libplugbox0 from the set itself)
if ! apt-get install --simulate --no-install-recommends "$dir"/*.deb > "$dir/simulate.out" 2>&1; then
    cat "$dir/simulate.out" >&2
    fail "apt-get cannot install the packages"
fi
for p in libplugbox0 libplugbox-dev plugbox gstreamer1.0-plugbox; do
    grep -q "^Inst $p " "$dir/simulate.out" || grep -q "^Reinst $p " "$dir/simulate.out" ||
        fail "apt-get would not install $p: $(cat "$dir/simulate.out")"
done
echo "ok: apt-get would install the four packages"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
for deb in "$dir"/*.deb; do dpkg-deb -x "$deb" "$root"; done
"$here/installed.sh" "$root"
