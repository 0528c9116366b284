#!/bin/sh
# SPDX-License-Identifier: MIT
# wasm2c.sh IN.wasm OUTDIR : runs wasm2c into OUTDIR/engine.c and OUTDIR/engine.h, then makes
# every guest store mark its 4 KiB page in the memory's dirty map (src/rt/rt_layout.h): that
# is what lets a sandbox restore its snapshot by copying back only the pages a call wrote.
# Bulk memory operations (memory.fill, memory.copy: the guest's memset and memcpy) mark every
# page they write. Loads and stores then go through src/rt/rt_access.h, which holds the
# memory's base address in a local of each function instead of reading it at every access.
# Every function that calls another, on entry, and every loop, at its head, makes the check of
# src/rt/rt_check.h (the stack's floor, a stop) - but for the loops of QuickJS's interpreter,
# which polls for a stop itself at every backward jump and call (a check per bytecode would
# cost ~10%).
# An instance that a snapshot's image replaces at once does not write its data segments
# (pb_rt_load_data): 360 KB copied into fresh pages, then thrown away, was most of making a
# sandbox.
# IN.wasm keeps its name section, to find that function; wasm2c gets the module without it,
# so that it names every function and global by its index, as src/ expects.
# Fails loudly if wasm2c's output does not have the shape this relies on (wabt 1.0.32).
set -eu
in=$1
outdir=$2
access=$(dirname "$0")/../src/rt/rt_access.h
tmp=$(mktemp -d "$outdir/wasm2c.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
polls=$(wasm-objdump -x "$in" | sed -n 's/^ - func\[\([0-9]*\)\] sig=[0-9]* <JS_CallInternal>$/\1/p')
if [ -z "$polls" ] || [ "$(echo "$polls" | wc -l)" != 1 ]; then
    echo "wasm2c.sh: JS_CallInternal not found in the name section of $in" >&2
    exit 1
fi
wasm-strip "$in" -o "$tmp/engine.wasm"
wasm2c "$tmp/engine.wasm" -n engine -o "$tmp/engine.c"

store='    wasm_rt_memcpy(&mem->data\[addr\], &wrapped, sizeof(t1));            \\'
fill='  memset(mem->data + d, val, n);'
copy='  memmove(dest->data + dest_addr, src->data + src_addr, n);'
prologue='#define FUNC_PROLOGUE'
for line in "$store" "$fill" "$copy" "$prologue"; do
    n=$(grep -c "^$line\$" "$tmp/engine.c" || true)
    if [ "$n" != 1 ]; then
        echo "wasm2c.sh: expected one line '$line' in wasm2c output, found $n" >&2
        exit 1
    fi
done
# an instance that an image replaces at once skips its data segments (pb_rt_load_data)
data='  LOAD_DATA(instance->w2c_memory, '
if ! grep -q "^$data" "$tmp/engine.c"; then
    echo "wasm2c.sh: no '$data' line in wasm2c output" >&2
    exit 1
fi
# passive data segments would write without marking once running: the guest has none
if grep -Eq '(^|[^_a-z])memory_init\(&' "$tmp/engine.c"; then
    echo "wasm2c.sh: the module uses memory.init; link the guest without passive data segments" >&2
    exit 1
fi
# wasm2c's helpers, the ones rt_access.h mirrors: the same names and types
grep -E '^DEFINE_(LOAD|STORE)\(' "$tmp/engine.c" > "$tmp/helpers"
sed -n 's/^PB_\(DEFINE_\(LOAD\|STORE\)(.*)\)$/\1/p' "$access" > "$tmp/mirrored"
if ! cmp -s "$tmp/helpers" "$tmp/mirrored"; then
    echo "wasm2c.sh: wasm2c's load and store helpers differ from those of rt_access.h" >&2
    exit 1
fi
last_helper=$(tail -n 1 "$tmp/helpers")
sed -e "s|^$store\$|    PB_MARK_DIRTY(mem, addr);                                          \\\\\n&|" \
    -e "s|^$fill\$|  PB_MARK_DIRTY_RANGE(mem, d, n);\n&|" \
    -e "s|^$copy\$|  PB_MARK_DIRTY_RANGE(dest, dest_addr, n);\n&|" \
    -e "s|^$prologue\$|#include \"rt_check.h\"\n#define FUNC_PROLOGUE PB_RT_CHECK()|" \
    -e "s|^$data|  if (pb_rt_load_data()) LOAD_DATA(instance->w2c_memory, |" \
    -e 's|^#include "engine.h"$|#include "engine.h"\n#include "rt_layout.h"|' \
    -e 's|(\*Z_plugboxZ_stack_left)(instance->Z_plugbox_instance)|pb_rt_native_left()|g' \
    -e "s|^$last_helper\$|&\n#include \"rt_access.h\"|" \
    "$tmp/engine.c" |
    sed -E 's/(^|[^_a-z0-9])([if](32|64)_(load|store)(8|16|32)?(_[su])?)\(&instance->w2c_memory, /\1pb_\2(pb_base, /g' |
    # the base address, read once at the top of every function that uses it; the check at
    # the head of every loop (wasm2c labels a loop's head "w2c_L<n>: "); none on entry to a
    # function that calls nothing (it cannot recurse, its frame fits in the room the floor
    # leaves, and its loops check)
    awk -v polls="w2c_f$polls(" '
        function flush(   i, leaf) {
            leaf = 1
            for (i = 1; i <= nb && leaf; i++)
                if (body[i] ~ /w2c_f[0-9]+\(|CALL_INDIRECT|\(\*Z_|wasm_rt_grow_memory/) leaf = 0
            for (i = 1; i <= nh; i++) print head[i]
            if (uses) { print "  u8* const pb_base = instance->w2c_memory.data;"; bases++ }
            for (i = 1; i <= nb; i++) {
                if (leaf && body[i] == "  FUNC_PROLOGUE;") { leaves++; continue }
                print body[i]
            }
            nh = nb = uses = 0
        }
        state == 2 {
            if ($0 ~ /^ *w2c_L[0-9]+: $/) {
                if (polling) skipped++
                else { $0 = $0 "PB_RT_CHECK();"; loops++ }
            }
            body[++nb] = $0; if (index($0, "pb_base")) uses = 1; if ($0 == "}") { flush(); state = 0 } next
        }
        state == 1 { head[++nh] = $0; if ($0 ~ /\) ?\{$/) state = 2; next }
        /^[^ #].*\(Z_engine_instance_t\* instance/ && !/;$/ {
            polling = index($0, " " polls) > 0
            head[++nh] = $0; state = $0 ~ /\) ?\{$/ ? 2 : 1; next
        }
        { print }
        END { if (state || !bases || !loops || !skipped || !leaves) exit 1 }' > "$tmp/engine.patched.c"
if [ "$(grep -c 'PB_MARK_DIRTY(mem, addr);' "$tmp/engine.patched.c")" != 1 ] ||
   [ "$(grep -c 'PB_MARK_DIRTY_RANGE(' "$tmp/engine.patched.c")" != 2 ] ||
   ! grep -q '^#include "rt_layout.h"$' "$tmp/engine.patched.c" ||
   [ "$(grep -c '^#include "rt_access.h"$' "$tmp/engine.patched.c")" != 1 ] ||
   [ "$(grep -c '^#define FUNC_PROLOGUE PB_RT_CHECK()$' "$tmp/engine.patched.c")" != 1 ] ||
   ! grep -q 'pb_rt_native_left()' "$tmp/engine.patched.c" ||
   grep -q '(\*Z_plugboxZ_stack_left)' "$tmp/engine.patched.c" ||
   grep -Eq '_(load|store)[0-9_su]*\(&instance->w2c_memory' "$tmp/engine.patched.c"; then
    echo "wasm2c.sh: patching the load and store helpers failed" >&2
    exit 1
fi
mv "$tmp/engine.patched.c" "$outdir/engine.c"
mv "$tmp/engine.h" "$outdir/engine.h"
