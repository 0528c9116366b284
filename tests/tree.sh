#!/bin/sh
# SPDX-License-Identifier: MIT
# tree.sh SRC : what the source tree promises about itself. Every source file names its license
# with an SPDX identifier in its first lines; the version is one: the header's (which meson
# checks against the project's), the top entry of CHANGELOG.md, debian/changelog's upstream part.
set -eu
src=$(cd "$1" && pwd)
cd "$src"
fail() { echo "FAIL: $*" >&2; exit 1; }

missing=$(find . \( -path ./.git -o -path ./.cache -o -path './build*' -o -path './fuzz/corpus*' \) -prune -o \
    -type f \( -name '*.[ch]' -o -name '*.sh' -o -name '*.js' -o -name '*.ts' -o -name '*.py' -o -name '*.scd' -o -name '*.map' \
               -o -name '*.patch' -o -name '*.allowlist' -o -name 'meson.build' -o -name 'meson_options.txt' \
               -o -name Makefile -o -path ./.ci/run \) -print |
    while read -r f; do head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"; done)
[ -z "$missing" ] || fail "no SPDX-License-Identifier in the first lines of:" $missing
echo "ok: every source file carries its SPDX identifier"

version=$(sed -n 's/^#define PLUGBOX_VERSION "\(.*\)"$/\1/p' include/plugbox.h)
[ -n "$version" ] || fail "no PLUGBOX_VERSION in include/plugbox.h"
top=$(sed -n 's/^## \([0-9][0-9.]*\) .*/\1/p' CHANGELOG.md | head -n 1)
[ "$top" = "$version" ] || fail "CHANGELOG.md's top entry is $top, the version $version"
deb=$(sed -n '1s/^plugbox (\([^)-]*\)-[^)]*).*/\1/p' debian/changelog)
[ "$deb" = "$version" ] || fail "debian/changelog is at $deb, the version $version"
echo "ok: version $version in plugbox.h, CHANGELOG.md and debian/changelog"
