#!/bin/sh
# wasm2c.sh IN.wasm OUTDIR : runs wasm2c into OUTDIR/engine.c and OUTDIR/engine.h, then makes
# every guest store mark its 4 KiB page in the memory's dirty map (src/rt/rt_layout.h): that
# is what lets a sandbox restore its snapshot by copying back only the pages a call wrote.
# Bulk memory operations (memory.fill, memory.copy: the guest's memset and memcpy) mark every
# page they write. Fails loudly if wasm2c's output does not have the shape this relies on
# (wabt 1.0.32).
set -eu
in=$1
outdir=$2
tmp=$(mktemp -d "$outdir/wasm2c.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
wasm2c "$in" -n engine -o "$tmp/engine.c"

store='    wasm_rt_memcpy(&mem->data\[addr\], &wrapped, sizeof(t1));            \\'
fill='  memset(mem->data + d, val, n);'
copy='  memmove(dest->data + dest_addr, src->data + src_addr, n);'
for line in "$store" "$fill" "$copy"; do
    n=$(grep -c "^$line\$" "$tmp/engine.c" || true)
    if [ "$n" != 1 ]; then
        echo "wasm2c.sh: expected one line '$line' in wasm2c output, found $n" >&2
        exit 1
    fi
done
# passive data segments would write without marking once running: the guest has none
if grep -Eq '(^|[^_a-z])memory_init\(&' "$tmp/engine.c"; then
    echo "wasm2c.sh: the module uses memory.init; link the guest without passive data segments" >&2
    exit 1
fi
sed -e "s|^$store\$|    PB_MARK_DIRTY(mem, addr);                                          \\\\\n&|" \
    -e "s|^$fill\$|  PB_MARK_DIRTY_RANGE(mem, d, n);\n&|" \
    -e "s|^$copy\$|  PB_MARK_DIRTY_RANGE(dest, dest_addr, n);\n&|" \
    -e 's|^#include "engine.h"$|#include "engine.h"\n#include "rt_layout.h"|' \
    "$tmp/engine.c" > "$tmp/engine.patched.c"
if [ "$(grep -c 'PB_MARK_DIRTY(mem, addr);' "$tmp/engine.patched.c")" != 1 ] ||
   [ "$(grep -c 'PB_MARK_DIRTY_RANGE(' "$tmp/engine.patched.c")" != 2 ] ||
   ! grep -q '^#include "rt_layout.h"$' "$tmp/engine.patched.c"; then
    echo "wasm2c.sh: patching the store helpers failed" >&2
    exit 1
fi
mv "$tmp/engine.patched.c" "$outdir/engine.c"
mv "$tmp/engine.h" "$outdir/engine.h"
