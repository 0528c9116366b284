#!/bin/sh
# SPDX-License-Identifier: MIT
# installed.sh ROOT : checks an installed plugbox under ROOT (a DESTDIR, or Debian packages
# unpacked there), as a newcomer would use it, with nothing of the source tree:
#   - files where they belong; the shared library's soname; no build path left in a binary;
#   - the shared library exports every function the header declares and nothing else, the static
#     library is an ordinary archive that exposes the same, the GStreamer plugin its entry points;
#   - the installed examples/embed.c, built with pkg-config in a directory of its own, shared and
#     then --static, runs; a program sees plugbox_version() equal to the header's version;
#   - the command runs; plugbox(1) renders and lists exactly the options the --help texts list;
#     plugbox(3) names every function of the API;
#   - gst-inspect-1.0 and gst-launch-1.0 find plugboxfilter in the installed plugin directory,
#     with a fresh registry and no GST_PLUGIN_PATH.
# Prints what it checks; exits 1 at the first failure. GST=0 skips the GStreamer checks.
set -eu
root=$(cd "$1" && pwd)
GST=${GST:-1}

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

gst_system_dir=
[ "$GST" = 0 ] || gst_system_dir=$(pkg-config --variable=pluginsdir gstreamer-1.0)

pcs=$(find "$root" -path '*/pkgconfig/plugbox.pc')
[ "$(printf '%s\n' "$pcs" | grep -c .)" = 1 ] || fail "expected one pkgconfig/plugbox.pc under $root, found: $pcs"
export PKG_CONFIG_LIBDIR="${pcs%/*}" PKG_CONFIG_SYSROOT_DIR="$root"
unset PKG_CONFIG_PATH LD_LIBRARY_PATH
# a variable of plugbox.pc under ROOT (pkgconf puts the sysroot before it already, pkg-config not)
var() {
    v=$(pkg-config --variable="$1" plugbox)
    case $v in "$root"/*) echo "$v" ;; *) echo "$root$v" ;; esac
}
prefix=$(var prefix)
libdir=$(var libdir)
header=$(var includedir)/plugbox.h
version=$(sed -n 's/^#define PLUGBOX_VERSION "\(.*\)"$/\1/p' "$header")
[ -n "$version" ] || fail "no PLUGBOX_VERSION in $header"
[ "$(pkg-config --modversion plugbox)" = "$version" ] || fail "plugbox.pc's version is not the header's $version"
ok "plugbox.pc and plugbox.h at $version, prefix ${prefix#"$root"}"

for f in "$prefix/bin/plugbox" "$libdir/libplugbox.so.$version" "$libdir/libplugbox.a" \
         "$prefix/share/doc/plugbox/examples/embed.c" "$prefix/share/doc/plugbox/README.md"; do
    [ -f "$f" ] || fail "missing ${f#"$root"}"
done
[ "$(readlink "$libdir/libplugbox.so.0")" = "libplugbox.so.$version" ] || fail "libplugbox.so.0 is not a link to libplugbox.so.$version"
[ "$(readlink "$libdir/libplugbox.so")" = "libplugbox.so.0" ] || fail "libplugbox.so is not a link to libplugbox.so.0"
soname=$(readelf -d "$libdir/libplugbox.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libplugbox.so.0 ] || fail "soname is '$soname'"
ok "libplugbox.so.0 -> libplugbox.so.$version, soname $soname"

plugin=$libdir/gstreamer-1.0/libgstplugbox.so
binaries="$prefix/bin/plugbox $libdir/libplugbox.so.0"
[ "$GST" = 0 ] || binaries="$binaries $plugin"
for f in $binaries; do
    [ -f "$f" ] || fail "missing ${f#"$root"}"
    if readelf -d "$f" | grep -Eq '\((RUNPATH|RPATH)\)'; then
        fail "${f#"$root"} keeps a run path: $(readelf -d "$f" | grep -E 'RUNPATH|RPATH')"
    fi
done
ok "no run path in the installed binaries"

# what the header declares, what the libraries define
api=$(sed -n 's/^PLUGBOX_API .*[ *]\(plugbox_[a-z0-9_]*\)(.*/\1/p' "$header" | sort)
[ "$(printf '%s\n' "$api" | grep -c .)" -ge 30 ] || fail "could not read the API's functions from plugbox.h"
exported=$(nm -D --defined-only "$libdir/libplugbox.so.0" | awk '{ print $NF }' | sort)
if [ "$exported" != "$api" ]; then
    printf '%s\n' "$api" > "${TMPDIR:-/tmp}/pb-api.$$"
    printf '%s\n' "$exported" | diff "${TMPDIR:-/tmp}/pb-api.$$" - >&2 || true
    rm -f "${TMPDIR:-/tmp}/pb-api.$$"
    fail "libplugbox.so.0 exports something else than the API of plugbox.h (diff: < header, > library)"
fi
ok "libplugbox.so.0 exports the $(printf '%s\n' "$api" | wc -l) functions of plugbox.h and nothing else"
[ "$(head -c 8 "$libdir/libplugbox.a")" = '!<arch>' ] || fail "libplugbox.a is not an ordinary archive"
static=$(nm -g --defined-only "$libdir/libplugbox.a" | awk 'NF == 3 { print $3 }' | sort)
[ "$static" = "$api" ] || fail "libplugbox.a defines other global symbols than the API: $(printf '%s\n' "$static" | grep -v '^plugbox_' | head)"
ok "libplugbox.a: an ordinary archive, global symbols the API's only"
if [ "$GST" != 0 ]; then
    entries=$(nm -D --defined-only "$plugin" | awk '{ print $NF }' | sort | tr '\n' ' ')
    [ "$entries" = "gst_plugin_plugbox_get_desc gst_plugin_plugbox_register " ] ||
        fail "the plugin exports: $entries"
    ok "the plugin exports $entries"
fi

# a program of the user's, in a directory of its own
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$prefix/share/doc/plugbox/examples/embed.c" .
cat > version.c <<'EOF'
#include <stdio.h>
#include <string.h>
#include <plugbox.h>
int main(void)
{
    printf("%u %s\n", plugbox_version(), plugbox_version_string());
    return plugbox_version() == PLUGBOX_VERSION_NUMBER && !strcmp(plugbox_version_string(), PLUGBOX_VERSION) ? 0 : 1;
}
EOF
cc=${CC:-cc}
# shellcheck disable=SC2046
$cc -Wall -Werror -o embed-shared embed.c $(pkg-config --cflags --libs plugbox) || fail "building against the shared library"
# shellcheck disable=SC2046
$cc -Wall -Werror -o version-shared version.c $(pkg-config --cflags --libs plugbox) || fail "building version.c"
# shellcheck disable=SC2046
$cc -Wall -Werror -static -o embed-static embed.c $(pkg-config --static --cflags --libs plugbox) ||
    fail "building against the static library (cc -static, pkg-config --static)"
readelf -d embed-shared | grep -q 'NEEDED.*\[libplugbox\.so\.0\]' || fail "embed-shared does not load libplugbox.so.0"
if readelf -d embed-static 2>/dev/null | grep -q NEEDED; then fail "embed-static loads shared libraries"; fi
LD_LIBRARY_PATH=$libdir ./embed-shared > shared.out 2>&1 || fail "embed-shared exited $?: $(cat shared.out)"
env -u LD_LIBRARY_PATH ./embed-static > static.out 2>&1 || fail "embed-static exited $?: $(cat static.out)"
grep -qF '{"id":2,"speed":151} -> {"id":2,"alert":true,"points":21}' shared.out || fail "embed's output: $(cat shared.out)"
cmp -s shared.out static.out || fail "the static and the shared build print different results"
LD_LIBRARY_PATH=$libdir ./version-shared > version.out || fail "plugbox_version() differs from the header: $(cat version.out)"
ok "embed.c built with pkg-config, shared and --static, runs the same; plugbox_version() says $(cat version.out)"

pb() { LD_LIBRARY_PATH=$libdir "$prefix/bin/plugbox" "$@"; }
[ "$(pb run -e '6 * 7')" = 42 ] || fail "plugbox run -e '6 * 7'"
pb --version | grep -qF "plugbox $version " || fail "plugbox --version: $(pb --version)"
ok "plugbox runs: $(pb --version)"

# manual pages: rendered in the C locale, one line per paragraph (no hyphen at a line's end)
man1=$(find "$prefix/share/man/man1" -name 'plugbox.1*')
man3=$(find "$prefix/share/man/man3" -name 'plugbox.3*')
[ -n "$man1" ] && [ -n "$man3" ] || fail "plugbox.1 or plugbox.3 missing under share/man"
LC_ALL=C MANWIDTH=10000 man -l "$man1" 2>man.err | col -b > plugbox.1.txt
[ ! -s man.err ] && grep -q '^NAME' plugbox.1.txt && grep -q 'EXIT STATUS' plugbox.1.txt ||
    fail "plugbox(1) does not render: $(cat man.err)"
LC_ALL=C MANWIDTH=10000 man -l "$man3" 2>man.err | col -b > plugbox.3.txt
[ ! -s man.err ] && grep -q '^NAME' plugbox.3.txt || fail "plugbox(3) does not render: $(cat man.err)"
# the options of the help texts: "  -e, --eval CODE  ..." gives -e and --eval
{ pb --help; pb run --help; pb map --help; pb compile --help; } | grep -E '^ +-' | grep -oE -- '(^| )--?[a-zA-Z][a-zA-Z-]*' |
    tr -d ' ' | sort -u > help.opts
# the options of the page: the headings of its OPTIONS sections, "       -e, --eval CODE"
awk '/^[A-Z]/ { in_options = /OPTIONS$/ } in_options' plugbox.1.txt | grep -E '^ {7}-' | grep -oE -- '(^| )--?[a-zA-Z][a-zA-Z-]*' |
    tr -d ' ' | sort -u > man.opts
[ "$(wc -l < help.opts)" -ge 10 ] || fail "could not read the options of plugbox --help"
if ! cmp -s help.opts man.opts; then
    diff help.opts man.opts >&2 || true
    fail "plugbox(1) and the --help texts list different options (< help, > man page)"
fi
for f in $api; do grep -q "$f" plugbox.3.txt || fail "plugbox(3) does not name $f"; done
ok "plugbox(1) renders and lists the $(wc -l < help.opts) options of --help; plugbox(3) names every function"

if [ "$GST" != 0 ]; then
    plugin_dir=$libdir/gstreamer-1.0
    gst() {
        env -u GST_PLUGIN_PATH -u GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH_1_0="$plugin_dir:$gst_system_dir" \
            GST_REGISTRY_1_0="$work/registry.bin" LD_LIBRARY_PATH="$libdir" "$@"
    }
    gst gst-inspect-1.0 plugboxfilter > inspect.out 2>&1 || fail "gst-inspect-1.0 plugboxfilter: $(cat inspect.out)"
    grep -qE "Filename +$plugin\$" inspect.out || fail "plugboxfilter is not loaded from $plugin: $(grep Filename inspect.out)"
    grep -qE "Version +$version\$" inspect.out && grep -qE 'License +MIT$' inspect.out ||
        fail "gst-inspect-1.0 shows: $(sed -n '/Plugin Details/,/^$/p' inspect.out)"
    gst gst-launch-1.0 -m fakesrc num-buffers=5 ! \
        plugboxfilter script='var n = 0; function process(b) { if (++n === 5) return { message: { seen: n } } }' ! \
        fakesink > launch.out 2>&1 || fail "gst-launch-1.0 failed: $(cat launch.out)"
    grep -q 'plugbox, json=(string).*seen.*5' launch.out || fail "no message from plugboxfilter: $(cat launch.out)"
    ok "gst-inspect-1.0 and gst-launch-1.0 find plugboxfilter in ${plugin_dir#"$root"} (fresh registry, no GST_PLUGIN_PATH)"
fi
