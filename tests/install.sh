#!/bin/sh
# SPDX-License-Identifier: MIT
# install.sh BUILD : meson install of BUILD into a temporary DESTDIR (the prefix BUILD has),
# then tests/installed.sh on it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$1" --no-rebuild --quiet --destdir "$dest" >/dev/null
"$here/installed.sh" "$dest"
