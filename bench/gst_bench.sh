#!/bin/sh
# SPDX-License-Identifier: MIT
# Per-buffer cost of plugboxfilter, against identity in the same run (make bench-gst).
#   gst_bench.sh BUILD_DIR [BUFFERS]
# Each pipeline runs three times; the median wall time, less identity's, over the buffers.
set -eu
build=$1
n=${2:-100000}
export GST_PLUGIN_PATH=$build
caps='video/x-raw,format=GRAY8,width=8,height=8,framerate=1000/1'
src="videotestsrc pattern=black num-buffers=$n ! $caps"
# ten regions of interest on every buffer, made by a first plugboxfilter (in both pipelines)
rois='plugboxfilter stateful=false script="function process(b) { var r = []; for (var i = 0; i < 10; i++) r.push({ id: i, type: i % 2 ? \"car\" : \"person\", x: 50 * i, y: 200, w: 40, h: 60, params: { detection: { label: i % 2 ? \"car\" : \"person\", confidence: i / 10 } } }); return { rois: r }; }"'
zone="plugboxfilter location=$(dirname "$0")/../examples/zone.js time-limit=50"

run() { # median of three wall times, in ns
    for i in 1 2 3; do
        t0=$(date +%s%N)
        sh -c "gst-launch-1.0 -q $1 ! fakesink sync=false" >/dev/null
        t1=$(date +%s%N)
        echo $((t1 - t0))
    done | sort -n | sed -n 2p
}
identity=$(run "$src ! identity")
pass=$(run "$src ! plugboxfilter script=\"function process(b) { return true; }\"")
with_rois=$(run "$src ! $rois ! identity")
zone_rois=$(run "$src ! $rois ! $zone")
# the bytes of a 640x480 GRAY8 frame (300 KB) lent to the script, which reads or inverts one row
frames=$((n / 10))
big="videotestsrc pattern=black num-buffers=$frames ! video/x-raw,format=GRAY8,width=640,height=480,framerate=1000/1"
big_identity=$(run "$big ! identity")
big_read=$(run "$big ! plugboxfilter data-access=read script=\"function process(b, px) { return px[0] === 0; }\"")
big_write=$(run "$big ! plugboxfilter data-access=readwrite script=\"function process(b, px) { for (var i = 0; i < 640; i++) px[i] = 255 - px[i]; }\"")
echo "plugboxfilter per-buffer cost, $n buffers of $caps, fakesink sync=false, median of 3 runs:"
echo "| pipeline | total ms | µs a buffer over the baseline |"
echo "|---|---:|---:|"
echo "| videotestsrc ! identity (baseline) | $((identity / 1000000)) | |"
awk -v t="$pass" -v b="$identity" -v n="$n" 'BEGIN { printf "| ! plugboxfilter (returns true) | %d | %.1f |\n", t / 1e6, (t - b) / n / 1e3 }'
echo "| ! (10 regions made) ! identity (baseline) | $((with_rois / 1000000)) | |"
awk -v t="$zone_rois" -v b="$with_rois" -v n="$n" 'BEGIN { printf "| ! (10 regions made) ! plugboxfilter zone.js (reads, filters, replaces 10 regions) | %d | %.1f |\n", t / 1e6, (t - b) / n / 1e3 }'
echo "| 640x480 GRAY8, $frames buffers ! identity (baseline) | $((big_identity / 1000000)) | |"
awk -v t="$big_read" -v b="$big_identity" -v n="$frames" 'BEGIN { printf "| ! plugboxfilter data-access=read (reads a byte) | %d | %.1f |\n", t / 1e6, (t - b) / n / 1e3 }'
awk -v t="$big_write" -v b="$big_identity" -v n="$frames" 'BEGIN { printf "| ! plugboxfilter data-access=readwrite (inverts a row) | %d | %.1f |\n", t / 1e6, (t - b) / n / 1e3 }'
