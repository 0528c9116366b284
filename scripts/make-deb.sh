#!/bin/sh
# SPDX-License-Identifier: MIT
# make-deb.sh BUILD OUTDIR : Debian binary packages from BUILD's install tree (make deb).
#
# BUILD is a built meson tree configured with --prefix=/usr (make deb sees to it). Its install
# tree is split into the packages of debian/control:
#   libplugbox0           the shared library
#   libplugbox-dev        header, static library, .so link, pkg-config file, plugbox(3)
#   plugbox               the command, plugbox(1), docs and examples
#   gstreamer1.0-plugbox  the GStreamer plugin
# Each package's Depends comes from dpkg-shlibdeps over its ELF files (the libraries they link,
# as the installed packages that hold them declare; libplugbox0 by debian/libplugbox0.symbols,
# which dpkg-gensymbols holds the library's exports to); the control files are written by
# dpkg-gencontrol from debian/control and debian/changelog, whose upstream version must be the
# project's. Binaries are stripped, manual pages and changelogs compressed, as Debian does.
# Writes OUTDIR/*.deb. The staging tree is a temporary directory, removed at the end: left in
# the build tree, its copy of the plugin would be found by GStreamer's recursive scan of a
# GST_PLUGIN_PATH that names the build tree (the tests'), beside the plugin being tested.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)

die() { echo "make-deb.sh: $*" >&2; exit 1; }

version=$(meson introspect --projectinfo "$build" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
[ -n "$version" ] || die "no project version in $build"
deb_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
[ "${deb_version%-*}" = "$version" ] ||
    die "debian/changelog is at $deb_version, the project at $version: add a changelog entry"
if meson introspect --installed "$build" | grep -q '"/usr/local/'; then
    die "$build installs under /usr/local: configure it with --prefix=/usr"
fi
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debian"
cp "$src/debian/control" "$src/debian/changelog" "$work/debian/"
stage=$work/stage
meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >/dev/null

# move PKG PATH... : PATHs of the install tree into package PKG
move() {
    pkg=$1
    shift
    for p in "$@"; do
        [ -e "$stage/$p" ] || [ -L "$stage/$p" ] || die "the install tree has no $p"
        mkdir -p "$work/debian/$pkg/$(dirname "$p")"
        mv "$stage/$p" "$work/debian/$pkg/$p"
    done
}
lib=usr/lib/$ma
move libplugbox0 "$lib/libplugbox.so.0" "$lib/libplugbox.so.$version"
move libplugbox-dev usr/include/plugbox.h "$lib/libplugbox.so" "$lib/libplugbox.a" "$lib/pkgconfig" \
    usr/share/man/man3
move plugbox usr/bin/plugbox usr/share/man/man1 usr/share/doc/plugbox
move gstreamer1.0-plugbox "$lib/gstreamer-1.0"
left=$(find "$stage" ! -type d)
[ -z "$left" ] || die "files of the install tree in no package: $left"

packages="libplugbox0 libplugbox-dev plugbox gstreamer1.0-plugbox"
cd "$work"
gzip -9n < debian/changelog > changelog.Debian.gz
# the upstream changelog, by the name Debian gives it
doc=debian/plugbox/usr/share/doc/plugbox
gzip -9n < "$doc/CHANGELOG.md" > "$doc/changelog.gz"
rm "$doc/CHANGELOG.md"
for pkg in $packages; do
    d=debian/$pkg
    mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$pkg"
    cp "$src/debian/copyright" "$d/usr/share/doc/$pkg/copyright"
    cp changelog.Debian.gz "$d/usr/share/doc/$pkg/"
    find "$d/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} + 2>/dev/null || true
    # ELF files: stripped of debug information; shared objects not executable
    find "$d" -type f | while read -r f; do
        case $(od -An -c -N4 "$f" | tr -d ' ') in
        177ELF)
            case $f in
            *.so | *.so.*) strip --remove-section=.comment --remove-section=.note --strip-unneeded "$f"
                           chmod 0644 "$f" ;;
            *) strip --remove-section=.comment --remove-section=.note "$f" ;;
            esac ;;
        esac
    done
done
find debian/libplugbox-dev -name '*.a' -exec strip --strip-debug --remove-section=.comment {} +

# the shared library's package tells dependants what to depend on (symbols, for the version
# that brought each one; shlibs for tools that read only those) and asks for ldconfig; its
# exports must be exactly those of debian/libplugbox0.symbols
cp "$src/debian/libplugbox0.symbols" debian/
dpkg-gensymbols -plibplugbox0 -Pdebian/libplugbox0 -c4 -e"debian/libplugbox0/$lib/libplugbox.so.$version" ||
    die "the library's exports differ from debian/libplugbox0.symbols"
echo "libplugbox 0 libplugbox0 (>= $version)" > debian/libplugbox0/DEBIAN/shlibs
echo "activate-noawait ldconfig" > debian/libplugbox0/DEBIAN/triggers

for pkg in $packages; do
    d=debian/$pkg
    : > "debian/$pkg.substvars"
    elves=$(find "$d" -type f \( -path '*/bin/*' -o -name '*.so*' \) ! -name '*.a')
    if [ -n "$elves" ]; then
        # shellcheck disable=SC2086
        dpkg-shlibdeps -T"debian/$pkg.substvars" -l"debian/libplugbox0/$lib" $elves
    fi
    (cd "$d" && find usr -type f -exec md5sum {} + | sort -k 2 > DEBIAN/md5sums)
    dpkg-gencontrol -p"$pkg" -T"debian/$pkg.substvars" -P"$d" -fdebian/files
    dpkg-deb --root-owner-group --build "$d" "$out" >/dev/null
done
ls "$out"/*.deb
