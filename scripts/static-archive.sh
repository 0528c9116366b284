#!/bin/sh
# SPDX-License-Identifier: MIT
# static-archive.sh OUT.a IN.a OBJCOPY AR NM CC... : the installed static library. Every object of
# IN.a (a thin archive of the build) is linked into one relocatable object, whose hidden symbols
# are then made local: a program linked with OUT.a sees plugbox_* and nothing else, so no name of
# the runtime or of the generated engine can clash with one of its own. OUT.a is an ordinary
# archive, usable wherever it is copied. Fails if anything but plugbox_* stays global.
set -eu
out=$1 in=$2 objcopy=$3 ar=$4 nm=$5
shift 5
tmp=$(mktemp -d "$out.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$@" -r -nostdlib -Wl,--whole-archive "$in" -Wl,--no-whole-archive -o "$tmp/plugbox.o"
"$objcopy" --localize-hidden "$tmp/plugbox.o"
leaked=$("$nm" -g --defined-only "$tmp/plugbox.o" | awk 'NF == 3 && $3 !~ /^plugbox_/ { print $3 }')
if [ -n "$leaked" ]; then
    echo "static-archive.sh: global symbols outside the API:" $leaked >&2
    exit 1
fi
rm -f "$out"
"$ar" rcD "$out" "$tmp/plugbox.o"
