#!/bin/sh
# SPDX-License-Identifier: MIT
# compat.sh check|write DOC : runs the probes of tests/compat/probes.js in plugbox ($PLUGBOX)
# and in node (when it is installed), renders the table of DOC (docs/compat.md) from what they
# found, and checks that DOC says exactly that (check), or writes it (write: make compat). The
# node column is checked only against the same major version of node as DOC's.
set -eu
mode=$1
doc=$2
here=$(cd "$(dirname "$0")" && pwd)
: "${PLUGBOX:?PLUGBOX must name the plugbox binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PLUGBOX" run --time-limit 20000 "$here/compat/probes.js" > "$tmp/plugbox.json"
node_version=none
echo null > "$tmp/node.json"
if command -v node >/dev/null 2>&1; then
    node_version=$(node --version)
    node -e 'const src = require("fs").readFileSync(process.argv[1], "utf8");
             console.log(JSON.stringify((0, eval)(src)))' "$here/compat/probes.js" > "$tmp/node.json"
fi
printf '{"plugbox":%s,"node":%s,"version":"%s"}' "$(cat "$tmp/plugbox.json")" "$(cat "$tmp/node.json")" \
    "$node_version" > "$tmp/all.json"
# the table, rendered by plugbox itself
"$PLUGBOX" run --raw --data "$tmp/all.json" -e '
  var lines = ["# Compatibility", "",
    "What a script finds in plugbox, feature by feature, beside node running the same probes",
    "(`tests/compat/probes.js`). `yes`: present and right; `no (Error)`: missing, with the error",
    "its use throws; `wrong`: present with another result. `make test` checks this table against",
    "the probes (`tests/compat.sh`); `make compat` writes it again.", "",
    "| feature | plugbox | " + (data.node ? "node " + data.version.split(".")[0].slice(1) : "node (not run)") + " |",
    "|---|---|---|"];
  for (var k in data.plugbox)
    lines.push("| " + k + " | " + data.plugbox[k] + " | " + (data.node ? data.node[k] : "") + " |");
  lines.join("\n") + "\n"' > "$tmp/table.md"

case $mode in
write)
    cp "$tmp/table.md" "$doc"
    echo "compat.sh: wrote $doc (plugbox, node $node_version)"
    ;;
check)
    [ -f "$doc" ] || { echo "compat.sh: no $doc (make compat writes it)" >&2; exit 1; }
    doc_node=$(sed -n 's/^| feature | plugbox | node \([0-9]*\) |$/\1/p' "$doc")
    run_node=$(printf '%s' "$node_version" | sed -n 's/^v\([0-9]*\)\..*/\1/p')
    if [ -n "$doc_node" ] && [ "$doc_node" = "$run_node" ]; then
        cmp_cols='{ print }'
    else
        echo "compat.sh: node ${run_node:-absent} here, $doc says node ${doc_node:-none}: the plugbox column only"
        cmp_cols='/^\| / && !/^\| feature/ { n = split($0, c, "|"); print c[2] "|" c[3] }'
    fi
    awk "$cmp_cols" "$doc" > "$tmp/want"
    awk "$cmp_cols" "$tmp/table.md" > "$tmp/got"
    if ! cmp -s "$tmp/want" "$tmp/got"; then
        diff "$tmp/want" "$tmp/got" >&2 || true
        echo "compat.sh: $doc does not say what the probes find (< doc, > probes); make compat writes it" >&2
        exit 1
    fi
    echo "compat.sh: $doc agrees with the probes ($(grep -c '^| [^f-]' "$doc") features)"
    ;;
*)
    echo "usage: compat.sh check|write DOC" >&2
    exit 2
    ;;
esac
