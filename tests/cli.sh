#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Command-line tests of `plugbox run`.
#
#   bash tests/cli.sh --list     print every case name, one per line
#   bash tests/cli.sh CASE       run one case in a fresh temporary directory
#
# Environment:
#   PLUGBOX    path of the plugbox binary (required)
#   QJS_TESTS  directory holding QuickJS's own tests (test_builtin.js, ...);
#              the quickjs_* cases are skipped (exit 77) when it is unset
#   EXAMPLES   the project's examples/ directory; demo_track is skipped when unset
#   PB_TIMEOUT seconds before a plugbox invocation is killed (default 30)
#
# Exit status: 0 pass, 1 fail, 77 skip, 99 harness error (bad usage of this script).
# Needs only bash and coreutils (timeout, env, head, tr, wc, cmp, date, mkfifo, truncate),
# grep, awk; node (installed with npm by the build) checks that output is UTF-8 and JSON;
# /usr/bin/time, where it is, measures peak memory.

set -u

PB_TIMEOUT=${PB_TIMEOUT:-30}
CASE_NAME=
T=
rc=
elapsed_ms=
last_cmd=

# ---------------------------------------------------------------------------
# helpers

harness_error() { echo "cli.sh: $*" >&2; exit 99; }

skip() { echo "SKIP $CASE_NAME: $*"; exit 77; }

abspath() { # absolute form of a path that exists
    local p=$1
    if [ -d "$p" ]; then (cd "$p" && pwd)
    else printf '%s/%s\n' "$(cd "$(dirname "$p")" && pwd)" "$(basename "$p")"
    fi
}

show_file() { # LABEL FILE: print at most 3000 bytes of FILE
    local n=0
    [ -f "$2" ] && n=$(wc -c <"$2")
    echo "--- $1 ($n bytes) ---"
    if [ "$n" -gt 0 ]; then
        head -c 3000 "$2"
        [ "$n" -gt 3000 ] && printf '\n[... truncated]'
        echo
    fi
}

fail() {
    echo "FAIL $CASE_NAME: $*"
    echo "command:   $last_cmd"
    echo "exit code: $rc    elapsed: $elapsed_ms ms"
    case $rc in
        124|137) echo "(plugbox was killed by timeout after $PB_TIMEOUT s)" ;;
        134|139) echo "(plugbox crashed: signal $((rc - 128)))" ;;
    esac
    show_file stdout "$T/out"
    show_file stderr "$T/err"
    exit 1
}

# run_pb ARGS...: run plugbox with a timeout; sets rc, elapsed_ms and the files
# $T/out and $T/err. Standard input comes from $PB_STDIN (default /dev/null).
# PB_STDOUT=closed runs it with standard output closed, PB_STDOUT=FILE sends
# standard output to FILE instead of $T/out.
run_pb() {
    local t0 t1 in=${PB_STDIN:-/dev/null}
    last_cmd="plugbox$(printf ' %q' "$@")"
    : >"$T/out"
    t0=$(date +%s%N)
    if [ "${PB_STDOUT:-}" = closed ]; then
        last_cmd="$last_cmd >&-"
        timeout -k 5 "$PB_TIMEOUT" "$PLUGBOX" "$@" <"$in" 2>"$T/err" >&-
    elif [ -n "${PB_STDOUT:-}" ]; then
        last_cmd="$last_cmd >$PB_STDOUT"
        timeout -k 5 "$PB_TIMEOUT" "$PLUGBOX" "$@" <"$in" 2>"$T/err" >"$PB_STDOUT"
    else
        timeout -k 5 "$PB_TIMEOUT" "$PLUGBOX" "$@" <"$in" 2>"$T/err" >"$T/out"
    fi
    rc=$?
    t1=$(date +%s%N)
    elapsed_ms=$(( (t1 - t0) / 1000000 ))
}

expect_rc() {
    [ "$rc" = "$1" ] || fail "expected exit code $1, got $rc"
}

expect_rc_in() { # expect_rc_in N M ...
    local c
    for c in "$@"; do [ "$rc" = "$c" ] && return 0; done
    fail "expected exit code in {$*}, got $rc"
}

expect_stdout_eq() { # stdout must be exactly STR followed by one newline
    printf '%s\n' "$1" >"$T/expected"
    cmp -s "$T/expected" "$T/out" ||
        fail "expected stdout exactly [$(head -c 1500 "$T/expected")] followed by a newline"
}

expect_stdout_empty() {
    [ ! -s "$T/out" ] || fail "expected empty stdout (zero bytes)"
}

expect_stdout_has() {
    grep -qF -- "$1" "$T/out" || fail "expected stdout to contain [$1]"
}

expect_stdout_lacks() {
    ! grep -qF -- "$1" "$T/out" || fail "expected stdout NOT to contain [$1]"
}

expect_stdout_match() { # extended regex matched against the whole stdout (one line)
    [ "$(wc -l <"$T/out")" = 1 ] && grep -qE -- "^($1)\$" "$T/out" ||
        fail "expected stdout to be one line matching /^($1)\$/"
}

expect_stderr_has() {
    grep -qF -- "$1" "$T/err" || fail "expected stderr to contain [$1]"
}

expect_stderr_has_ci() { # case-insensitive
    grep -qiF -- "$1" "$T/err" || fail "expected stderr to contain [$1] (any case)"
}

expect_stderr_lacks() {
    ! grep -qF -- "$1" "$T/err" || fail "expected stderr NOT to contain [$1]"
}

expect_stderr_nonempty() {
    [ -s "$T/err" ] || fail "expected an error message on stderr"
}

expect_elapsed_below() { # MS
    [ "$elapsed_ms" -lt "$1" ] || fail "expected to end within $1 ms, took $elapsed_ms ms"
}

expect_elapsed_at_least() { # MS
    [ "$elapsed_ms" -ge "$1" ] || fail "expected to run at least $1 ms (limit fired too early), took $elapsed_ms ms"
}

expect_no_crash() {
    case $rc in
        124|137) fail "plugbox hung (killed by timeout)" ;;
        134|136|139|132|135) fail "plugbox crashed with signal $((rc - 128))" ;;
    esac
    ! grep -qiE 'segmentation|core dumped|AddressSanitizer|Aborted' "$T/err" ||
        fail "plugbox crashed (see stderr)"
}

# the usual outcome of a limit: exit 3, MESSAGE on stderr, nothing on stdout, in bounded time
expect_limit() { # MESSAGE MAX_MS
    expect_rc 3
    expect_stderr_has "$1"
    expect_stdout_empty
    expect_elapsed_below "$2"
}

# the usual outcome of a usage or input error: exit 2, a message, nothing on stdout
expect_usage_error() {
    expect_rc 2
    expect_stderr_nonempty
    expect_stdout_empty
}

need_qjs() { # sets QJS_DIR to the directory that holds test_builtin.js
    [ -n "${QJS_TESTS:-}" ] || skip "QJS_TESTS is not set"
    if [ -f "$QJS_TESTS/test_builtin.js" ]; then QJS_DIR=$QJS_TESTS
    elif [ -f "$QJS_TESTS/tests/test_builtin.js" ]; then QJS_DIR=$QJS_TESTS/tests
    else
        echo "FAIL $CASE_NAME: no test_builtin.js in QJS_TESTS=$QJS_TESTS (nor in its tests/)"
        exit 1
    fi
}

need_examples() {
    [ -n "${EXAMPLES:-}" ] || skip "EXAMPLES is not set"
    [ -f "$EXAMPLES/make_track.js" ] ||
        { echo "FAIL $CASE_NAME: no make_track.js in EXAMPLES=$EXAMPLES"; exit 1; }
}

# repeat CHAR N: print CHAR N times
repeat() { head -c "$2" /dev/zero | tr '\0' "$1"; }

# check_utf8 FILE [json]: every byte of FILE is strict UTF-8 (no surrogates, no overlong or cut
# sequences) and, with json, every line is a JSON text
check_utf8() {
    command -v node >/dev/null || skip "node is not installed"
    node -e '
        let text;
        try {
            text = new TextDecoder("utf-8", { fatal: true }).decode(require("fs").readFileSync(process.argv[1]));
        } catch (e) { console.error(e.message); process.exit(1); }
        if (process.argv[2] === "json")
            text.split("\n").slice(0, -1).forEach((l, i) => {
                try { JSON.parse(l); } catch (e) { console.error("line " + (i + 1) + ": " + e.message); process.exit(1); }
            });' "$1" ${2:-} 2>"$T/check" ||
        fail "$1 is not valid UTF-8${2:+ JSON lines}: $(head -c 300 "$T/check")"
}

# ---------------------------------------------------------------------------
# plugbox in the background, for signals and for what it holds while it runs

pid=
bg_pids=
trap_cleanup() { # ends what a case left running: plugbox and the writers of its input
    local p
    for p in $pid $bg_pids; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$T"
}

# start_bg ARGS...: start plugbox in the background, standard input from $PB_STDIN (a file or
# a FIFO; default /dev/null), output in $T/out and $T/err; sets pid. SIGINT is set back to its
# default: a shell leaves it ignored for background jobs, and plugbox keeps it so.
start_bg() {
    last_cmd="plugbox$(printf ' %q' "$@") &"
    # emptied here, not only by the child's redirections: a wait for a line of the previous
    # run's output must not find it before the child has opened the files
    : >"$T/out"
    : >"$T/err"
    env --default-signal=INT "$PLUGBOX" "$@" <"${PB_STDIN:-/dev/null}" >"$T/out" 2>"$T/err" 3>&- &
    pid=$!
}

# feed FIFO CMD...: run CMD in the background with its output into FIFO (the writer of a
# plugbox input); ended with the case
feed() {
    local fifo=$1
    shift
    "$@" >"$fifo" 2>/dev/null 3>&- &
    bg_pids="$bg_pids $!"
}

proc_state() { # PID: its state letter (R, S, Z, ...), nothing when it is gone
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
    stat=${stat##*) }
    printf '%s\n' "${stat%% *}"
}

running() { local s; s=$(proc_state "$1"); [ -n "$s" ] && [ "$s" != Z ]; }

# reap_bg: wait for the background plugbox to end (at most 10 s, then it is killed: rc 137);
# sets rc and elapsed_ms, counted from the call
reap_bg() {
    local t0 now
    t0=$(date +%s%N)
    while running "$pid"; do
        now=$(date +%s%N)
        if [ $(( (now - t0) / 1000000 )) -ge 10000 ]; then kill -KILL "$pid"; break; fi
        sleep 0.02
    done
    wait "$pid"
    rc=$?
    pid=
    elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}

# wait_until WHAT CMD...: wait until CMD succeeds, while the background plugbox runs (after
# PB_TIMEOUT s it is taken for hung; the verdict is the event, never the time)
wait_until() {
    local what=$1 t0
    shift
    t0=$(date +%s)
    until "$@"; do
        running "$pid" || { reap_bg; fail "plugbox ended before $what"; }
        if [ $(( $(date +%s) - t0 )) -ge "$PB_TIMEOUT" ]; then
            kill -KILL "$pid"
            reap_bg
            fail "$what did not happen within $PB_TIMEOUT s"
        fi
        sleep 0.02
    done
}

wait_for() { # FILE TEXT: until FILE holds TEXT
    wait_until "[$2] appeared in $(basename "$1")" grep -qF -- "$2" "$1"
}

# signal_bg SIG: send SIG to the background plugbox and reap it; rc and elapsed_ms as reap_bg
signal_bg() {
    last_cmd="$last_cmd, then SIG$1"
    kill -"$1" "$pid" || fail "could not send SIG$1 to plugbox (pid $pid)"
    reap_bg
}

# the outcome of a stop by a signal: its exit code, soon after it (the output is the caller's
# to check, then the note on stderr with expect_stderr_has "stopped by SIG...")
expect_stopped_by() { # INT|TERM
    expect_no_crash
    expect_rc $(( 128 + $(kill -l "$1") ))
    expect_elapsed_below 10000
}

# ---------------------------------------------------------------------------
# results

case_result_string() {
    run_pb run -e "'x'.repeat(3)"
    expect_rc 0
    expect_stdout_eq '"xxx"'
}

case_result_string_escapes() {
    # JSON escapes for quote, backslash, newline, control char; non-ASCII kept as UTF-8
    run_pb run -e '"a\"b\\c\nd\u0001é"'
    expect_rc 0
    expect_stdout_eq '"a\"b\\c\nd\u0001é"'
}

case_result_number() {
    run_pb run -e '6*7'
    expect_rc 0
    expect_stdout_eq '42'
    run_pb run -e '0.1+0.2'
    expect_rc 0
    expect_stdout_eq '0.30000000000000004'
    run_pb run -e '[1e21, -0, -1.5, NaN, Infinity]'
    expect_rc 0
    expect_stdout_eq '[1e+21,0,-1.5,null,null]'
}

case_result_scalars() {
    run_pb run -e 'true'
    expect_rc 0
    expect_stdout_eq 'true'
    run_pb run -e 'null'
    expect_rc 0
    expect_stdout_eq 'null'
}

case_result_object() {
    run_pb run -e '({a:[1,2,{b:null}]})'
    expect_rc 0
    expect_stdout_eq '{"a":[1,2,{"b":null}]}'
    run_pb run -e '[1,"two",true,null,{"k":[]},undefined]'
    expect_rc 0
    expect_stdout_eq '[1,"two",true,null,{"k":[]},null]'
}

case_result_tojson() {
    # the result goes through JSON semantics: toJSON, Date
    run_pb run -e '({toJSON(){ return "custom" }})'
    expect_rc 0
    expect_stdout_eq '"custom"'
    run_pb run -e 'new Date(0)'
    expect_rc 0
    expect_stdout_eq '"1970-01-01T00:00:00.000Z"'
}

case_result_cyclic() {
    # a result that cannot be JSON is an uncaught exception, not a success
    run_pb run -e 'let a = {}; a.self = a; a'
    expect_rc 1
    expect_stderr_has 'Uncaught TypeError'
    expect_stdout_empty
}

case_result_undefined() {
    run_pb run -e 'undefined'
    expect_rc 0
    expect_stdout_empty
    run_pb run -e 'let x = 1; void x'
    expect_rc 0
    expect_stdout_empty
    run_pb run -e "null"   # null is not undefined: printed
    expect_rc 0
    expect_stdout_eq null
}

case_result_large() {
    run_pb run -e '"x".repeat(1000000)'
    expect_rc 0
    [ "$(wc -c <"$T/out")" = 1000003 ] || fail "expected 1000003 bytes of stdout (quoted string + newline)"
    [ "$(head -c 5 "$T/out")" = '"xxxx' ] || fail "expected stdout to start with \"xxxx"
}

case_raw_string() {
    run_pb run --raw -e '"line1\nlinié2 ✓"'
    expect_rc 0
    printf 'line1\nlinié2 ✓\n' >"$T/expected"
    cmp -s "$T/expected" "$T/out" || fail "expected raw stdout [line1<newline>linié2 ✓<newline>]"
    run_pb run -r -e "'a' + 'b'"
    expect_rc 0
    expect_stdout_eq 'ab'
}

case_raw_nonstring() {
    # --raw only changes strings: other results stay JSON
    run_pb run --raw -e '({a:"x"})'
    expect_rc 0
    expect_stdout_eq '{"a":"x"}'
    run_pb run --raw -e 'undefined'
    expect_rc 0
    expect_stdout_empty
}

# ---------------------------------------------------------------------------
# data

case_data_input() {
    printf '{"a":2,"b":3}' >file.json
    run_pb run --data file.json -e 'data.a*data.b'
    expect_rc 0
    expect_stdout_eq '6'
}

case_data_stdin() {
    printf '{"n":41}\n' >in.json
    PB_STDIN=in.json run_pb run --data - -e 'data.n+1'
    expect_rc 0
    expect_stdout_eq '42'
}

case_bytes_input() {
    printf 'AB\001\377' >blob.bin
    printf '{"k":2}' >in.json
    run_pb run --bytes blob.bin --data in.json -e 'Array.prototype.slice.call(bytes).concat(data.k, bytes.length)'
    expect_rc 0
    expect_stdout_eq '[65,66,1,255,2,4]'
    # function style: the second argument; from standard input
    printf 'var f = (d, b) => [d, b instanceof Uint8Array, b.length, b[0]];\n' >f.js
    PB_STDIN=blob.bin run_pb run --call f --bytes - f.js
    expect_rc 0
    expect_stdout_eq '[null,true,4,65]'
}

case_bytes_errors() {
    run_pb run --bytes missing.bin -e '1'
    expect_rc 2
    expect_stderr_has "cannot read bytes 'missing.bin'"
    printf '{}' >in.json
    run_pb run --bytes - --data - -e '1'
    expect_rc 2
    expect_stderr_has 'standard input'
    head -c 3000000 /dev/zero >big.bin
    run_pb run --memory-limit 2M --bytes big.bin -e 'bytes.length'
    expect_rc 3
    expect_stderr_has 'out of memory'
}

case_interpreter_fast_paths() {
    # the interpreter's shortcuts (own data properties, globals, numeric built-ins) give the
    # generic path's results, getters, proxies, replaced built-ins and odd arguments included
    cat >fast.js <<'EOF'
var r = [];
var o = { a: 1, get g() { return 'getter'; } };
r.push(o.a, o.g, [1, 2, 3].length, 'abc'.length, new Uint8Array(4).length);
r.push(new Proxy({}, { get: function (t, k) { return 'trap ' + String(k); } }).x);
Object.defineProperty(globalThis, 'viaGetter', { get: function () { return 'global getter'; } });
r.push(viaGetter, typeof undefinedGlobal);
r.push(Math.sin(0), Math.cos(0), Math.sin('0'), Math.pow(2, 10), Math.pow(2), Math.atan2(0, -1) === Math.PI);
r.push(Math.sqrt(-1), Math.abs(-3), Math.floor({ valueOf: function () { return 2.5; } }));
var s = Math.sin; r.push(s(0));
Math.cos = function () { return 'replaced'; }; r.push(Math.cos(0));
try { Math.sin(Symbol()); r.push('no throw'); } catch (e) { r.push(e.name); }
r.push(String(Math.min()), String(Math.max()), Math.min(3, 1.5, 2), Math.max(1, 2, 3));
r.push(Object.is(Math.min(0, -0), -0), Object.is(Math.max(-0, 0), 0), String(Math.min(1, NaN)), String(Math.max(NaN, 1)));
r.push(Math.min('2', 1), Math.max({ valueOf: function () { return 9; } }, 1));
var a = [10, 20, 30], slow = [1, 2]; slow[100] = 3;
Object.defineProperty(slow, 0, { get: function () { return 'getter'; } });
r.push(a[0], a[2], a[3], a[-1], slow[0], slow[100], slow[50], [, 5][0], 'xyz'[1], new Uint8Array([7])[0]);
var grown = [1, 2]; grown.length = 5; grown.push(0);
var shrunk = [1, 2, 3]; shrunk.length = 1;
function argc() { return arguments.length; }
r.push(grown.length, shrunk.length, slow.length, argc(1, 2, 3), { length: 'own' }.length, (function (x, y) {}).length);
r
EOF
    run_pb run fast.js
    expect_rc 0
    expect_stdout_eq '[1,"getter",3,3,4,"trap x","global getter","undefined",0,1,0,1024,null,true,null,3,2,0,"replaced","TypeError","Infinity","-Infinity",1.5,3,true,true,"NaN","NaN",1,9,10,30,null,null,"getter",3,null,null,"y",7,6,1,101,3,"own",2]'
}

case_numeric_fast_paths() {
    # arithmetic and comparisons of numbers that are not both ints take shortcuts in the
    # interpreter; the results are node's, -0, NaN, infinities, int overflow, strings,
    # objects with valueOf, null and undefined included
    cat >num.js <<'EOF'
var r = [];
function cmp(a, b) { return [a < b, a <= b, a > b, a >= b, a == b, a != b, a === b, a !== b]; }
var pairs = [[1, 2.5], [2.5, 1], [2.5, 2.5], [0, -0], [-0, 0.0], [NaN, 1.5], [1.5, NaN], [NaN, NaN],
             [Infinity, 1e308], [-Infinity, -1], [3, 3.0], [0.1 + 0.2, 0.3], ['2', 10], [10, '9'],
             [{ valueOf: function () { return 4.5; } }, 4.5], [null, 0.5], [undefined, 1.5], [true, 1.0]];
for (var i = 0; i < pairs.length; i++) r.push(cmp(pairs[i][0], pairs[i][1]).map(Number).join(''));
function show(v) { return Object.is(v, -0) ? '-0' : String(v); }
function div(a, b) { return show(a / b); }
r.push(div(1.5, 0.5), div(7, 2), div(1, 3.0), div(1.5, 0), div(-1.5, 0), div(0.0, -2.5), div(0, -2),
       div(NaN, 2.5), div(2.5, Infinity), div('9', 1.5), div(2 ** 53, 0.5), div(-0, 1.5));
function add(a, b) { return show(a + b); }
r.push(add(1, 0.5), add(0.5, 1), add(-0, -0.0), add(-0.5, 0.5), add(2147483647, 1), add(2147483647, 0.5),
       add('a', 1.5), add(1.5, 'b'), add(1.5, null), add(undefined, 1.5), add(1e308, 1e308), add(0.1, 0.2));
function acc(values) { var t = 0; for (var k = 0; k < values.length; k++) t += values[k]; return show(t); }
r.push(acc([1, 2.5, 3]), acc([0.5, -0.5]), acc([-0.0]), acc([1.5, 'x', 2]), acc([2147483647, 1, 0.5]), acc([NaN, 1]));
var n = 0.5; n += 1; n += -0.25; r.push(n);
function mul(a, b) { return show(a * b); }
function sub(a, b) { return show(a - b); }
r.push(mul(1.5, 2), mul(2, 1.5), mul(0, -1.5), mul(-1.5, 0), mul(2147483647, 2.5), mul(3, NaN), mul('3', 1.5),
       mul(null, 2.5), mul(1e308, 10), sub(3, 0.5), sub(0.5, 3), sub(0, 0.0), sub(-0.0, 0), sub(1.5, '1'),
       sub(undefined, 1.5), sub(-2147483648, 0.5));
r
EOF
    run_pb run num.js
    expect_rc 0
    expect_stdout_eq '["11000101","00110101","01011010","01011010","01011010","00000101","00000101","00000101","00110101","11000101","01011010","00110101","11000101","00110101","01011001","11000101","00000101","01011001","3","3.5","0.3333333333333333","Infinity","-Infinity","-0","-0","NaN","0","6","18014398509481984","-0","1.5","1.5","-0","0","2147483648","2147483647.5","a1.5","1.5b","1.5","NaN","Infinity","0.30000000000000004","6.5","0","0","1.5x2","2147483648.5","NaN",1.25,"3","3","-0","-0","5368709117.5","NaN","4.5","0","Infinity","2.5","-2.5","0","-0","0.5","NaN","-2147483648.5"]'
}

case_number_strings() {
    # numbers to strings (String and JSON.stringify) give node's text: hashes over 160,000
    # doubles made by exact arithmetic (so that both engines hold the same bits), subnormals
    # and the largest double included
    cat >tostr.js <<'EOF'
function hash(h, s) { for (var j = 0; j < s.length; j++) h = (Math.imul(h, 31) + s.charCodeAt(j)) | 0; return h; }
var h = 0, all = [], edge = [5e-324, 1e-323, 2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308,
                            0.1 + 0.2, 1e21, 1e-7, 4.35, 0.000001, 1e-6 / 3, 9007199254740993, -0, 123e-20, 1 / 3];
for (var i = 1; i <= 20000; i++) {
  var v = [1 / i, i * 0.1, -i / 7, i * 1e-300 / 3, (i + 0.5) * 1e290 / 7, i / 3e10, i / 1024, 1 / (i * 1e15)];
  for (var k = 0; k < v.length; k++) { h = hash(h, String(v[k])); if (i % 50 == 0) all.push(v[k]); }
}
for (var k = 0; k < edge.length; k++) h = hash(h, String(edge[k]));
[h, hash(0, JSON.stringify(all.concat(edge))), String(1 / 3), String(5e-324), JSON.stringify([0.1 + 0.2, 1e-7, 2.2250738585072014e-308])]
EOF
    run_pb run tostr.js
    expect_rc 0
    expect_stdout_eq '[1159045062,1647417765,"0.3333333333333333","5e-324","[0.30000000000000004,1e-7,2.2250738585072014e-308]"]'
}

case_global_reads() {
    # reading a global takes a shortcut while no lexical global exists: both ways give node's
    # results (a let in its dead zone, var, const, getters, deleted built-ins)
    cat >lex.js <<'EOF'
var r = [];
function read() { try { return TDZ; } catch (e) { return e.name; } }
function readVar() { return typeof later + ':' + String(later); }
r.push(read(), readVar());
let TDZ = 'set';
var later = 2.5;
const K = 'const';
r.push(read(), readVar(), K, Math.max(1, 2), typeof notDeclared);
r
EOF
    run_pb run lex.js
    expect_rc 0
    expect_stdout_eq '["ReferenceError","undefined:undefined","set","number:2.5","const",2,"undefined"]'
    cat >global.js <<'EOF'
var r = [];
function read() { return typeof Math + ':' + G; }
globalThis.G = 1.5;
r.push(read());
G = 'changed'; r.push(read());
Object.defineProperty(globalThis, 'G', { get: function () { return 'getter'; } }); r.push(read());
delete globalThis.Math; r.push(read());
r
EOF
    run_pb run global.js
    expect_rc 0
    expect_stdout_eq '["object:1.5","object:changed","object:getter","undefined:getter"]'
}

case_data_scalars() {
    printf '  42 \n' >n.json
    run_pb run --data n.json -e '[typeof data, data]'
    expect_rc 0
    expect_stdout_eq '["number",42]'
    printf 'null' >z.json
    run_pb run --data z.json -e 'data === null'
    expect_rc 0
    expect_stdout_eq 'true'
    printf '"s"' >s.json
    run_pb run --data s.json -e 'data + data'
    expect_rc 0
    expect_stdout_eq '"ss"'
}

case_data_unicode() {
    printf '{"s":"\xc3\xa9\\u00e9\\ud83d\\ude00\xf0\x9f\x98\x80\\n"}' >u.json
    run_pb run --data u.json -e '[data.s.length, data.s === "éé😀😀\n"]'
    expect_rc 0
    expect_stdout_eq '[7,true]'
}

case_data_roundtrip() {
    printf '{"a":[1,2.5,-3e2,true,false,null],"b":{"c":"d"},"e":""}' >r.json
    run_pb run --data r.json -e 'data'
    expect_rc 0
    expect_stdout_eq '{"a":[1,2.5,-300,true,false,null],"b":{"c":"d"},"e":""}'
}

case_no_data() {
    run_pb run -e 'typeof data'
    expect_rc 0
    expect_stdout_eq '"undefined"'
}

# ---------------------------------------------------------------------------
# function style

case_function_style() {
    cat >f.js <<'EOF'
var count = 0;
const base = 100;
count++;
console.log('top level ran');
function handle(d) {
    count++;
    return { r: d.n + 1, count: count, base: base };
}
EOF
    printf '{"n":41}' >d.json
    run_pb run --call handle --data d.json f.js
    expect_rc 0
    expect_stdout_eq '{"r":42,"count":2,"base":100}'
    [ "$(grep -c 'top level ran' "$T/err")" = 1 ] || fail "expected the top level to run exactly once"
}

case_function_style_eval() {
    printf "21" >d.json
    run_pb run --call twice --data d.json -e "function twice(d) { return d * 2 }"
    expect_rc 0
    expect_stdout_eq 42
}

case_function_missing() {
    printf 'function handle(d) { return 1 }\n' >f.js
    run_pb run --call nope f.js
    expect_rc 1
    expect_stderr_has 'nope'
    expect_stderr_has 'not a function'
    expect_stdout_empty
    printf 'var notfn = 5;\n' >g.js
    run_pb run --call notfn g.js
    expect_rc 1
    expect_stderr_has 'notfn'
    expect_stderr_has 'not a function'
}

case_function_undefined_result() {
    printf 'function handle(d) { }\n' >f.js
    run_pb run --call handle f.js
    expect_rc 0
    expect_stdout_empty
    printf "function handle(d) { return null }\n" >g.js
    run_pb run --call handle g.js
    expect_rc 0
    expect_stdout_eq null
}

case_async_function() {
    cat >a.js <<'EOF'
async function handle(d) {
    await null;
    const v = await new Promise(resolve => resolve(d.n * 2));
    return { v };
}
EOF
    printf '{"n":21}' >d.json
    run_pb run --call handle --data d.json a.js
    expect_rc 0
    expect_stdout_eq '{"v":42}'
}

case_async_reject() {
    cat >a.js <<'EOF'
async function handle(d) {
    await null;
    throw new Error('rejected ' + d.n);
}
EOF
    printf '{"n":7}' >d.json
    run_pb run --call handle --data d.json a.js
    expect_rc 1
    expect_stderr_has 'Uncaught Error: rejected 7'
    expect_stdout_empty
}

case_exception_in_call() {
    cat >t.js <<'EOF'
function helper() { return 1 }
function handle(d) {
    throw new RangeError('bad ' + d);
}
EOF
    printf '5' >d.json
    run_pb run --call handle --data d.json t.js
    expect_rc 1
    expect_stderr_has 'Uncaught RangeError: bad 5'
    expect_stderr_has 't.js:3'
    expect_stdout_empty
}

# ---------------------------------------------------------------------------
# errors

case_exception_message() {
    cat >t.js <<'EOF'
let x = 1;
function f() {
    throw new Error('boom');
}
f();
EOF
    run_pb run t.js
    expect_rc 1
    expect_stderr_has 'Uncaught Error: boom'
    expect_stderr_has 't.js:3'
    expect_stdout_empty
}

case_exception_typeerror() {
    run_pb run -e 'let o = null; o.x'
    expect_rc 1
    expect_stderr_has 'Uncaught TypeError'
    expect_stdout_empty
}

case_exception_nonerror() {
    run_pb run -e 'throw 42'
    expect_rc 1
    expect_stderr_has 'Uncaught 42'
    expect_stdout_empty
}

case_exception_after_console() {
    run_pb run -e 'console.log("before"); throw new TypeError("late")'
    expect_rc 1
    expect_stderr_has 'before'
    expect_stderr_has 'Uncaught TypeError: late'
    expect_stdout_empty
}

case_syntax_error() {
    printf 'let a = 1;\nlet b = ;\nlet c = 3;\n' >t.js
    run_pb run t.js
    expect_rc 1
    expect_stderr_has 'Uncaught SyntaxError'
    expect_stderr_has 't.js:2'
    expect_stdout_empty
    run_pb run -e '1 +* 2'
    expect_rc 1
    expect_stderr_has 'Uncaught SyntaxError'
}

# ---------------------------------------------------------------------------
# console

case_console_to_stderr() {
    run_pb run -e 'console.log("hello", {a:1}); 7'
    expect_rc 0
    expect_stdout_eq '7'
    expect_stderr_has 'hello {"a":1}'
}

case_console_methods() {
    run_pb run -e 'console.log("L1"); console.warn("W2"); console.error("E3"); console.info("I4"); "done"'
    expect_rc 0
    expect_stdout_eq '"done"'
    local w
    for w in L1 W2 E3 I4; do expect_stderr_has "$w"; done
    [ "$(grep -c . "$T/err")" = 4 ] || fail "expected 4 lines on stderr (one per console call)"
}

case_console_many_lines() {
    run_pb run -e 'for (let i = 0; i < 1000; i++) console.log("line", i); "ok"'
    expect_rc 0
    expect_stdout_eq '"ok"'
    [ "$(wc -l <"$T/err")" = 1000 ] || fail "expected 1000 lines on stderr"
    expect_stderr_has 'line 999'
}

# ---------------------------------------------------------------------------
# memory limit

BOMB='let a=[]; for(;;) a.push(new Array(1e5).fill(1.5))'

case_memory_limit_ok() {
    run_pb run --memory-limit 4M -e 'let a=[]; for (let i=0;i<10000;i++) a.push(i); a.reduce((s,x)=>s+x, 0)'
    expect_rc 0
    expect_stdout_eq '49995000'
}

case_memory_limit_exceeded() {
    run_pb run --memory-limit 4M -e "$BOMB"
    expect_limit 'out of memory' 10000
}

case_memory_limit_below_footprint() {
    run_pb run --memory-limit 64K -e '1'
    expect_limit 'out of memory' 10000
}

case_memory_limit_suffixes() {
    local v
    for v in 8388608 8192K 8M 1G; do
        run_pb run --memory-limit "$v" -e '1+1'
        expect_rc 0
        expect_stdout_eq '2'
    done
    for v in abc 12X 0 -1 '' 1.5M 99999999999999999999; do
        run_pb run --memory-limit "$v" -e '1+1'
        expect_usage_error
        expect_stderr_has memory-limit
    done
}

case_memory_bomb_default() {
    run_pb run -e "$BOMB"
    expect_limit 'out of memory' 10000
}

case_memory_arraybuffer() {
    run_pb run -e 'new ArrayBuffer(1e9).byteLength'
    expect_limit 'out of memory' 10000
}

case_string_bomb() {
    # concatenation makes ropes, which reach the engine's longest string (2^30 - 1) before
    # they take memory: a catchable error, as in node (RangeError: Invalid string length)
    run_pb run -e "let s='x'; for(;;) s+=s"
    expect_rc 1
    expect_stderr_has 'InternalError: string too long'
    # made flat at every step, the string runs into the memory limit first
    run_pb run -e "let s='x'; for(;;) { s+=s; s.charCodeAt(s.length - 1) }"
    expect_limit 'out of memory' 10000
}

# ---------------------------------------------------------------------------
# stack

case_stack_bomb() {
    run_pb run -e 'function f(){return f()+1}; f()'
    expect_limit 'stack overflow' 10000
}

case_stack_bomb_native() {
    # recursion inside the engine's C code (Array.prototype.toString/join)
    run_pb run -e 'let a=[]; for (let i=0;i<1e6;i++) a=[a]; String(a).length'
    expect_no_crash
    expect_limit 'stack overflow' 10000
}

case_stack_bomb_caught() {
    run_pb run -e 'function f(){return f()+1}; try { f() } catch (e) { "recovered" }'
    expect_rc 0
    expect_stdout_eq '"recovered"'
}

# ---------------------------------------------------------------------------
# time limit

case_time_limit_loop() {
    run_pb run --time-limit 200 -e 'for(;;){}'
    expect_limit 'time limit exceeded' 10000
    expect_elapsed_at_least 150
}

case_time_limit_ok() {
    run_pb run --time-limit 5000 -e 'let s=0; for (let i=0;i<1000;i++) s+=i; s'
    expect_rc 0
    expect_stdout_eq '499500'
}

case_time_limit_not_early() {
    # a script busy for 300 ms under a 3000 ms limit must finish
    run_pb run --time-limit 3000 -e 'const t = Date.now(); while (Date.now() - t < 300) {} "done"'
    expect_rc 0
    expect_stdout_eq '"done"'
    expect_elapsed_at_least 250
}

case_time_limit_bad() {
    local v
    for v in abc -5 '' 12x 1.5; do
        run_pb run --time-limit "$v" -e '1'
        expect_usage_error
        expect_stderr_has time-limit
    done
}

case_time_limit_uncatchable() {
    # catching the interruption must not let the script run on
    run_pb run --time-limit 300 -e 'for(;;){ try { for(;;){} } catch (e) {} }'
    expect_limit 'time limit exceeded' 10000
}

case_time_limit_call() {
    printf 'function handle(d) { for(;;){} }\n' >f.js
    run_pb run --time-limit 300 --call handle f.js
    expect_limit 'time limit exceeded' 10000
}

case_time_limit_async() {
    printf 'async function handle(d) { await null; for(;;){} }\n' >f.js
    run_pb run --time-limit 300 --call handle f.js
    expect_limit 'time limit exceeded' 10000
}

case_regex_bomb() {
    run_pb run --time-limit 300 -e "/(a+)+b/.test('a'.repeat(40))"
    expect_limit 'time limit exceeded' 10000
}

case_sort_bomb() {
    run_pb run --time-limit 300 --memory-limit 1G -e \
        'let a=[]; for (let i=0;i<1000;i++) a.push((i*7919)%1000003); while (a.length < 1e6) a = a.concat(a); for(;;) a.sort()'
    expect_limit 'time limit exceeded' 10000
}

case_sort_bomb_comparator() {
    run_pb run --time-limit 300 --memory-limit 1G -e \
        'let a=[]; for (let i=0;i<1000;i++) a.push((i*7919)%1000003); while (a.length < 1e6) a = a.concat(a); for(;;) a.sort((x,y)=>x-y)'
    expect_limit 'time limit exceeded' 10000
}

case_sort_native_interrupted() {
    # one sort of 3M numbers takes seconds inside the engine's C code; a 500 ms
    # limit must stop it inside the sort, not after it
    run_pb run --time-limit 500 --memory-limit 1G -e \
        'let a=[]; for (let i=0;i<3000;i++) a.push((i*7919)%1000003); while (a.length < 3e6) a = a.concat(a); a.sort(); a.length'
    expect_limit 'time limit exceeded' 2500
}

case_native_loop_bomb() {
    # a single native call that would run for minutes
    run_pb run --time-limit 300 -e 'new Array(2**32-1).indexOf(1)'
    expect_limit 'time limit exceeded' 10000
}

case_json_bomb() {
    # JSON.stringify's recursion is bounded by the engine's stack check, and its cycle check
    # is not a search of the values it is inside (which made it quadratic in the depth)
    run_pb run --time-limit 60000 -e 'let a=[]; for (let i=0;i<1e5;i++) a=[a]; JSON.stringify(a).length'
    expect_rc 3
    expect_stderr_has 'stack overflow'
    run_pb run --time-limit 60000 -e 'let a=[]; for (let i=0;i<1e5;i++) a=[a]; try { JSON.stringify(a) } catch (e) { String(e) }'
    expect_rc 0
    expect_stdout_eq '"InternalError: stack overflow"'
}

# ---------------------------------------------------------------------------
# isolation

case_no_host_api() {
    run_pb run -e '[typeof require, typeof process, typeof std, typeof os, typeof fetch, typeof XMLHttpRequest, typeof WebAssembly, typeof scriptArgs]'
    expect_rc 0
    expect_stdout_eq '["undefined","undefined","undefined","undefined","undefined","undefined","undefined","undefined"]'
}

case_no_import() {
    run_pb run -e "import('/etc/passwd')"
    expect_rc 1
    expect_stderr_has 'Uncaught'
    expect_stdout_lacks 'root:'
    expect_stderr_lacks 'root:'
    printf 'import x from "/etc/passwd";\nx\n' >imp.js
    run_pb run imp.js
    expect_rc 1
    expect_stderr_has 'Uncaught'
    expect_stdout_lacks 'root:'
    expect_stderr_lacks 'root:'
}

case_no_import_local() {
    printf 'export default "leaked";\n' >mod.js
    printf 'async function handle() { const m = await import("./mod.js"); return m.default }\n' >f.js
    run_pb run --call handle f.js
    expect_rc 1
    expect_stderr_has 'Uncaught'
    expect_stdout_lacks 'leaked'
}

case_no_eval_escape() {
    run_pb run -e '(function(){ return this })().constructor.constructor("return typeof process")()'
    expect_rc 0
    expect_stdout_eq '"undefined"'
    run_pb run -e 'Function("return [typeof this.process, typeof this.require, eval(\"1+1\")]")()'
    expect_rc 0
    expect_stdout_eq '["undefined","undefined",2]'
}

# ---------------------------------------------------------------------------
# bad data

case_malformed_data() {
    printf '{"a":1,\n  "b":}' >bad.json
    run_pb run --data bad.json -e 'data'
    expect_usage_error
    expect_stderr_has 'line 2, column 7'
    expect_stderr_has 'bad.json'
}

case_malformed_data_variants() {
    local v
    for v in '{"a":1} x' '' "{'a':1}" 'NaN' '[1,2,]' '{"a":1' '{a:1}' '01' '"\x"' '[1] [2]' "$(printf '"a\tb"')"; do
        printf '%s' "$v" >v.json
        run_pb run --data v.json -e 'data'
        expect_usage_error
        expect_stderr_has v.json
    done
    : >empty.json
    PB_STDIN=empty.json run_pb run --data - -e 'data'
    expect_usage_error
}

case_non_utf8_data() {
    printf '{"s":"a\xffb"}' >bad.json
    run_pb run --data bad.json -e 'data'
    expect_usage_error
    expect_stderr_has 'UTF-8'
    local b
    # overlong encoding, UTF-8 encoded surrogate, truncated sequence, byte outside a string
    for b in '"\xc0\x80"' '"\xed\xa0\x80"' '"\xe2\x82"' '[1,\xfe]'; do
        printf "$b" >v.json
        run_pb run --data v.json -e 'data'
        expect_usage_error
        expect_stderr_has 'UTF-8'
    done
}

case_deep_data() {
    { repeat '[' 1000000; repeat ']' 1000000; } >deep.json
    run_pb run --data deep.json -e '1'
    expect_no_crash
    expect_rc_in 0 2
    if [ "$rc" = 2 ]; then expect_stderr_nonempty; else expect_stdout_eq '1'; fi
    { for ((i = 0; i < 100000; i++)); do printf '{"a":'; done; printf 1; repeat '}' 100000; } >deepobj.json
    run_pb run --data deepobj.json -e '1'
    expect_no_crash
    expect_rc_in 0 2
    if [ "$rc" = 2 ]; then expect_stderr_nonempty; else expect_stdout_eq '1'; fi
    { repeat '[' 100; repeat ']' 100; } >d100.json
    run_pb run --data d100.json -e 'JSON.stringify(data).length'
    expect_rc 0
    expect_stdout_eq '200'
}

case_unreadable_script() {
    run_pb run nonexistent.js
    expect_usage_error
    expect_stderr_has 'cannot read'
    mkdir adir
    run_pb run adir
    expect_usage_error
    expect_stderr_has 'cannot read'
}

case_unreadable_data() {
    run_pb run --data nonexistent.json -e '1'
    expect_usage_error
    expect_stderr_has 'cannot read'
}

# ---------------------------------------------------------------------------
# usage

case_usage_no_script() {
    run_pb run
    expect_usage_error
    run_pb run --data - --time-limit 100
    expect_usage_error
}

case_usage_script_and_eval() {
    printf '1\n' >t.js
    run_pb run t.js -e '2'
    expect_usage_error
}

case_usage_two_scripts() {
    printf '1\n' >a.js
    printf '2\n' >b.js
    run_pb run a.js b.js
    expect_usage_error
    expect_stderr_has b.js
}

case_usage_unknown_option() {
    run_pb run --bogus -e '1'
    expect_usage_error
    expect_stderr_has 'bogus'
}

case_usage_missing_value() {
    local o
    for o in -e --data --call --memory-limit --time-limit; do
        run_pb run -e 1 "$o"
        expect_usage_error
        expect_stderr_has "$o"
    done
}

case_usage_no_command() {
    run_pb
    expect_rc 2
    expect_stdout_lacks '"'
    [ -s "$T/err" ] || [ -s "$T/out" ] || fail "expected a usage message"
}

case_usage_unknown_command() {
    run_pb frobnicate
    expect_usage_error
    expect_stderr_has 'frobnicate'
}

case_help_version() {
    run_pb --help
    expect_rc 0
    expect_stdout_has 'run'
    run_pb --version
    expect_rc 0
    expect_stdout_match 'plugbox [0-9]+\.[0-9]+(\.[0-9]+)?.*'
    run_pb run --help
    expect_rc 0
    local o
    for o in --data --call --memory-limit --time-limit '130 stopped by SIGINT' '143 stopped by SIGTERM'; do
        expect_stdout_has "$o"
    done
}

# ---------------------------------------------------------------------------
# QuickJS's own tests

run_qjs_test() { # NAME [FUNCTION...]: test_NAME.js, without the top-level calls of FUNCTIONs
    need_qjs
    local f=$QJS_DIR/test_$1.js fn
    [ -f "$f" ] || { echo "FAIL $CASE_NAME: missing $f"; exit 1; }
    shift
    cp "$f" "test.js"
    for fn in "$@"; do
        grep -qx "$fn();" test.js || { echo "FAIL $CASE_NAME: $f no longer calls $fn"; exit 1; }
        grep -vx "$fn();" test.js > test.js.new && mv test.js.new test.js
    done
    run_pb run test.js
    expect_rc 0
    expect_stderr_lacks 'Uncaught'
    expect_stdout_empty
    # the same with a marker at the end, proving the whole file ran
    printf '\n;"completed"\n' >> test.js
    run_pb run test.js
    expect_rc 0
    expect_stdout_eq '"completed"'
}

# QuickJS's own tests that need neither its std nor its os module; test_builtin.js's weak
# reference and finalization tests force a collection with std.gc() and wait with os.setTimeout
case_quickjs_builtin() {
    run_qjs_test builtin test_weak_map test_weak_map_cycles test_weak_ref test_finalization_registry
}
case_quickjs_language() { run_qjs_test language; }
case_quickjs_closure() { run_qjs_test closure; }
case_quickjs_loop() { run_qjs_test loop; }
case_quickjs_bigint() { run_qjs_test bigint; }

# ---------------------------------------------------------------------------
# engine behaviour through the CLI

# ES modules: imports by relative path from the script's directory, read when the program
# is created; an exported function called (--call NAME, or the default export)
case_module_import() {
    mkdir -p rules/lib
    printf 'export function dist(a, b) { return Math.hypot(a.x - b.x, a.y - b.y) }\nexport const unit = "m"\n' \
        > rules/lib/geo.js
    printf '%s\n' "import { dist, unit } from './lib/geo.js'" \
        'const origin = await Promise.resolve({ x: 0, y: 0 }) // top-level await, once' \
        'export function score(p) { return { d: dist(origin, p), unit } }' \
        'export default function (p) { return dist(origin, p) * 2 }' > rules/main.js
    printf '{"x":3,"y":4}' > p.json
    run_pb run --call score --data p.json rules/main.js
    expect_rc 0
    expect_stdout_eq '{"d":5,"unit":"m"}'
    run_pb run --data p.json rules/main.js
    expect_rc 0
    expect_stdout_eq '10'
    # from another directory, and over NDJSON
    printf '{"x":6,"y":8}\n{"x":0,"y":1}\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map --call score "$PWD/rules/main.js"
    expect_rc 0
    expect_stdout_eq "$(printf '{"d":10,"unit":"m"}\n{"d":1,"unit":"m"}')"
    # an error inside an imported module names its file, line and column
    printf '%s\n' "import { dist } from './lib/geo.js'" 'export function bad() { return dist(null, {}) }' > rules/bad.js
    run_pb run --call bad rules/bad.js
    expect_rc 1
    expect_stderr_has "TypeError: Cannot read properties of null (reading 'x')"
    expect_stderr_has 'at dist (rules/lib/geo.js:1:'
    expect_stderr_has 'at bad (rules/bad.js:2:'
    # a name the module does not export, and a module with no default export
    run_pb run --call nope rules/main.js
    expect_rc 1
    expect_stderr_has 'nope is not a function exported by rules/main.js'
    printf 'export const x = 1\n' > rules/nodefault.js
    run_pb run rules/nodefault.js
    expect_rc 1
    expect_stderr_has 'it needs an exported function to call (--call NAME) or an export default function'
}

case_module_refusals() {
    mkdir -p dir/lib
    printf 'export const secret = 42\n' > outside.js
    ln -s "$PWD/outside.js" dir/lib/link.js
    printf 'export const x = 1\n' > dir/lib/late.js
    local spec want
    while IFS='|' read -r spec want; do
        printf '%s\nexport default () => 1\n' "$spec" > dir/m.js
        run_pb run dir/m.js
        expect_rc 1
        expect_stderr_has "$want"
        expect_stdout_empty
    done <<'CASES'
import { secret } from '../outside.js'|Cannot import '../outside.js' from 'dir/m.js': it is outside the script's directory
import { secret } from './lib/../../outside.js'|it is outside the script's directory
import { secret } from './lib/link.js'|Cannot import 'dir/lib/link.js': it is outside the script's directory
import x from '/etc/passwd'|Cannot import '/etc/passwd': only relative paths
import x from 'fs'|Cannot import 'fs': only relative paths
import x from './lib/missing.js'|Cannot find module 'dir/lib/missing.js'
CASES
    # a module not imported when the program was made is not read during a call
    printf '%s\n' 'export default async () => (await import("./lib/late.js")).x' > dir/m.js
    run_pb run dir/m.js
    expect_rc 1
    expect_stderr_has "Cannot import 'dir/lib/late.js': modules are read only when the program is created"
}

# TypeScript: a .ts script (or module) is transpiled inside the sandbox when the program is
# made; types removed, enums and parameter properties made, lines and columns those of the file
case_typescript_run() {
    cat > rule.ts <<'EOF'
enum Level { Low = 1, High = 5 }
type Point = { x: number; y: number };
interface Conf { limit: number }
namespace Types { export type Id = string; export interface Tag { id: Id } }
const conf = { limit: 3, name: "speed" } satisfies Conf & { name: string };
function first<const T extends readonly unknown[]>(xs: T): T[0] { return xs[0]; }
class Box<T> { constructor(public readonly value: T, private n: number = 0) {} get(): T { return this.value; } }
const p: Point = { x: 1, y: 2 } as Point;
const tag: Types.Tag = { id: "t" };
({ level: Level.High, name: Level[5], first: first([7, 8] as const), box: new Box<string>("b").get(),
   sum: p.x + p.y!, n: (data as { n: number }).n, conf, tag })
EOF
    PB_STDIN=<(echo '{"n":4}') run_pb run --data - rule.ts
    expect_rc 0
    expect_stdout_eq '{"level":5,"name":"High","first":7,"box":"b","sum":3,"n":4,"conf":{"limit":3,"name":"speed"},"tag":{"id":"t"}}'
    # the same text named .js is JavaScript: the types do not parse
    cp rule.ts rule.js
    run_pb run rule.js
    expect_rc 1
    expect_stderr_has 'SyntaxError'
    # a module whose first statement is not an import or export (QuickJS looks only there; the
    # transpiler knows every declaration)
    printf 'enum Unit { M = "m" }\nconst k: number = 2;\nexport function f(x: number) { return { v: x * k, u: Unit.M } }\n' > late.ts
    PB_STDIN=<(echo 21) run_pb run --call f --data - late.ts
    expect_rc 0
    expect_stdout_eq '{"v":42,"u":"m"}'
    # .mts and .cts too
    printf 'export function f(x: number): number { return x * 2 }\n' > m.mts
    PB_STDIN=<(echo 21) run_pb run --call f --data - m.mts
    expect_rc 0
    expect_stdout_eq '42'
    printf 'const y: string = "c";\ny\n' > c.cts
    run_pb run c.cts
    expect_stdout_eq '"c"'
    # a namespace holding values would be removed by the transpiler: refused, where it stands
    printf 'let a: number = 1;\nnamespace N { export const a = 1 }\nN.a\n' > ns.ts
    run_pb run ns.ts
    expect_rc 1
    expect_stderr_has 'SyntaxError: namespaces that hold values are not supported (only types)'
    expect_stderr_has 'at ns.ts:2:1'
    # decorators are not JavaScript that QuickJS runs: a syntax error at the '@'
    printf 'function d(t: any) { return t }\nclass A {}\n  @d class K {}\n' > dec.ts
    run_pb run dec.ts
    expect_rc 1
    expect_stderr_has 'SyntaxError'
    expect_stderr_has 'at dec.ts:3:3'
}

# a TypeScript module importing TypeScript (types only, and values), called by name, over
# NDJSON; a JavaScript module importing TypeScript
case_typescript_modules() {
    mkdir -p rules/lib
    cat > rules/lib/geo.ts <<'EOF'
export interface Pt { x: number; y: number }
export type Unit = "m" | "km";
export enum Dir { N = "north", S = "south" }
export function dist(a: Pt, b: Pt): number { return Math.hypot(a.x - b.x, a.y - b.y); }
EOF
    cat > rules/main.ts <<'EOF'
import { dist, Dir, type Unit } from './lib/geo.ts';
import type { Pt } from './lib/geo.ts';
const unit: Unit = "m";
const origin = await Promise.resolve<Pt>({ x: 0, y: 0 });
export function score(p: Pt): { d: number; unit: Unit; dir: Dir } {
    return { d: dist(origin, p), unit, dir: p.y < 0 ? Dir.S : Dir.N };
}
EOF
    printf '{"x":3,"y":4}' > p.json
    run_pb run --call score --data p.json rules/main.ts
    expect_rc 0
    expect_stdout_eq '{"d":5,"unit":"m","dir":"north"}'
    printf '{"x":6,"y":8}\n{"x":0,"y":-1}\nnot json\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 2 --call score "$PWD/rules/main.ts"
    expect_rc 0
    expect_stdout_eq "$(printf '%s\n' '{"d":10,"unit":"m","dir":"north"}' '{"d":1,"unit":"m","dir":"south"}' \
        '{"error":{"kind":"input","message":"data is not valid JSON: invalid literal, expected '"'null'"' at line 1, column 2"}}')"
    printf '%s\n' "import { dist } from './lib/geo.ts'" 'export default (p) => dist(p, { x: 0, y: 0 })' > rules/plain.js
    run_pb run --data p.json rules/plain.js
    expect_rc 0
    expect_stdout_eq '5'
    # an error in an imported TypeScript module: its own line and column
    # (Pt is an interface imported without "type": the import of it is removed, as tsc does)
    printf '%s\n' "import { dist, Pt } from './lib/geo.ts'" 'export function bad(): number { return dist(null as any as Pt, { x: 1, y: 1 }) }' > rules/bad.ts
    run_pb run --call bad rules/bad.ts
    expect_rc 1
    expect_stderr_has "TypeError: Cannot read properties of null (reading 'x')"
    # geo.ts line 4: the . of a.x at column 65 (column 49 once the types are gone)
    expect_stderr_has 'at dist (rules/lib/geo.ts:4:65)'
    expect_stderr_has 'at bad (rules/bad.ts:2:'
}

# errors name the TypeScript file's own line and column, not those of the JavaScript made of it
case_typescript_errors() {
    printf 'let x: number = 1;\nlet y: = 2;\n' > syn.ts
    run_pb run syn.ts
    expect_rc 1
    expect_stdout_empty
    expect_stderr_has 'Uncaught SyntaxError: Unexpected token'
    expect_stderr_has 'at syn.ts:2:8'
    # a syntax error that only QuickJS sees (sucrase passes it through): mapped back too, to the
    # second declaration's '=' (column 18 of the JavaScript)
    printf 'const a: number = 1;\nlet x: number = 1; let x: number = 2;\n' > syn2.ts
    run_pb run syn2.ts
    expect_rc 1
    expect_stderr_has 'SyntaxError: invalid redefinition of lexical identifier'
    expect_stderr_has 'at syn2.ts:2:34'
    cat > err.ts <<'EOF'
// a TypeError thrown on line 7, column 12
type P = { x: number };
interface Q { y: string }

export function bad(p: P | null): number {
    const z: number = 1, w: Q | undefined = undefined;
   (p as P).x;
    return (<P>p).x as number + z;
}
export default function (d: unknown): number { return bad(null); }
EOF
    run_pb run err.ts
    expect_rc 1
    expect_stderr_has "TypeError: Cannot read properties of null (reading 'x')"
    # line 7, "   (p as P).x": the '.' at column 12 of the TypeScript (column 9 of the JavaScript)
    expect_stderr_has 'at bad (err.ts:7:12)'
    expect_stderr_has 'at default (err.ts:10:48)'
    # columns count code points, as QuickJS counts them (an emoji is one, not two UTF-16 units)
    printf 'const e: string = "\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200"; let n: number = 0; (null as any).x\n' > wide.ts
    run_pb run wide.ts
    expect_rc 1
    expect_stderr_has 'at <eval> (wide.ts:1:59)'
    # a thrown Error: new at line 3, column 12
    printf 'function f(a: number,\n           b: number): never {\n    throw  new  Error(`boom ${a as number}`);\n}\nf(1, 2)\n' > throw.ts
    run_pb run throw.ts
    expect_rc 1
    expect_stderr_has 'Uncaught Error: boom 1'
    expect_stderr_has 'at f (throw.ts:3:'
    # the transpiler runs under the script's own limits
    { for i in $(seq 3000); do echo "function f$i(a: number, b: { x: number }): number { return a + b.x }"; done
      echo 'export default (d: unknown): number => 1'; } > big.ts
    run_pb run --time-limit 20 big.ts
    expect_limit 'time limit exceeded (20 ms)' 20000
    run_pb run --memory-limit 8M big.ts
    expect_limit 'out of memory' 20000
}

# errors as node words them: the callee or key named, every frame file:line:column
case_errors_node_words() {
    local c want
    while IFS='|' read -r c want; do
        run_pb run -e "$c"
        expect_rc 1
        expect_stderr_has "Uncaught $want"
    done <<'CASES'
[1].nosuch()|TypeError: [1].nosuch is not a function
var obj = {}; obj.method(1, 2)|TypeError: obj.method is not a function
function f() { return {} } f(1).g()|TypeError: f(1).g is not a function
var a = [[1]]; a[0][0]()|TypeError: a[0][0] is not a function
var X = 5; new X()|TypeError: X is not a constructor
var o = {}; o.a.b|TypeError: Cannot read properties of undefined (reading 'b')
var u; u[0]|TypeError: Cannot read properties of undefined (reading '0')
null.foo = 1|TypeError: Cannot set properties of null (setting 'foo')
nosuch + 1|ReferenceError: nosuch is not defined
throw {code: 42}|{"code":42}
throw null|null
throw [1, "a"]|[1,"a"]
({a: [1, {b: 2n}]})|TypeError: Do not know how to serialize a BigInt: the result's .a[1].b is a BigInt
CASES
    # the message is the error's own, for a script that catches it
    run_pb run -e 'try { [].x() } catch (e) { e.message }'
    expect_rc 0
    expect_stdout_eq '"[].x is not a function"'
    # every frame has its file, line and column, the first line and function style included
    printf 'function outer(d) {\n  return inner(d)\n}\nfunction inner(d) {\n    return d.x.y\n}\n' > rule.js
    printf '{}' > data.json
    run_pb run --call outer --data data.json rule.js
    expect_rc 1
    expect_stderr_has "TypeError: Cannot read properties of undefined (reading 'y')"
    expect_stderr_has 'at inner (rule.js:5:15)'
    expect_stderr_has 'at outer (rule.js:2:'
    run_pb run -e 'undefined.x'
    expect_stderr_has 'at <eval> (<eval>:1:'
}

case_tofixed() {
    run_pb run -e '[(2.5).toFixed(0), (0.125).toFixed(2), (1.005).toFixed(2), (25).toExponential(0), (-2.5).toFixed(0)]'
    expect_rc 0
    expect_stdout_eq '["3","0.13","1.00","3e+1","-3"]'
}

case_math_random_differs() {
    run_pb run -e 'Math.random()'
    expect_rc 0
    local r1 r2
    r1=$(cat "$T/out")
    awk '{ exit !(NF == 1 && $1 + 0 >= 0 && $1 + 0 < 1) }' "$T/out" || fail "expected a number in [0,1)"
    run_pb run -e 'Math.random()'
    expect_rc 0
    r2=$(cat "$T/out")
    awk '{ exit !(NF == 1 && $1 + 0 >= 0 && $1 + 0 < 1) }' "$T/out" || fail "expected a number in [0,1)"
    [ "$r1" != "$r2" ] || fail "two runs gave the same Math.random() value $r1"
    run_pb run -e 'const v = Array.from({length: 1000}, Math.random); [new Set(v).size, v.every(x => x >= 0 && x < 1)]'
    expect_rc 0
    expect_stdout_eq '[1000,true]'
}

case_date_works() {
    run_pb run -e 'typeof Date.now()'
    expect_rc 0
    expect_stdout_eq '"number"'
    local host
    host=$(date +%s)
    run_pb run -e 'Math.floor(Date.now() / 1000)'
    expect_rc 0
    expect_stdout_match '[0-9]+'
    awk -v h="$host" '{ d = $1 - h; if (d < 0) d = -d; exit !(d < 86400) }' "$T/out" ||
        fail "expected Date.now() within a day of the host clock ($host s)"
    run_pb run -e 'new Date(Date.UTC(2020, 1, 29, 12)).toISOString()'
    expect_rc 0
    expect_stdout_eq '"2020-02-29T12:00:00.000Z"'
}

case_demo_track() {
    need_examples
    PB_STDOUT=$PWD/track.json run_pb run --raw "$EXAMPLES/make_track.js"
    expect_rc 0
    [ -s track.json ] || fail "make_track.js produced nothing"
    run_pb run --data track.json -e 'data.features.length'
    expect_rc 0
    expect_stdout_eq '260'
    run_pb run --data track.json "$EXAMPLES/track_length.js"
    expect_rc 0
    expect_stdout_match '[0-9]+(\.[0-9]+)?'
    local first
    first=$(cat "$T/out")
    awk '{ exit !($1 + 0 > 11 && $1 + 0 < 13) }' "$T/out" || fail "expected a track length between 11 and 13"
    run_pb run --data track.json "$EXAMPLES/track_length.js"
    expect_rc 0
    expect_stdout_eq "$first"
}

case_stdout_closed() {
    PB_STDOUT=closed run_pb run -e '1'
    expect_rc 2
    expect_stderr_has_ci 'write'
    [ -e /dev/full ] || return 0
    PB_STDOUT=/dev/full run_pb run -e '"some result"'
    expect_rc 2
    expect_stderr_has_ci 'write'
}

# ---------------------------------------------------------------------------
# plugbox map

case_map_order() {
    # early lines take longest: output must still follow input order
    for i in $(seq 1 40); do printf '{"i":%d,"ms":%d}\n' "$i" $(( (40 - i) % 9 )); done > in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 2 -e 'var t = Date.now(); while (Date.now() - t < data.ms) {} data.i'
    expect_rc 0
    seq 1 40 > want
    cmp -s "$T/out" want || fail "lines out of order or missing"
}

case_map_fresh_state() {
    for i in $(seq 1 30); do echo '{}'; done > in.ndjson
    PB_STDIN=in.ndjson run_pb map -e 'globalThis.n = (globalThis.n || 0) + 1; n'
    expect_rc 0
    [ "$(sort -u "$T/out")" = 1 ] || fail "a line saw state from an earlier one"
    [ "$(wc -l < "$T/out")" = 30 ] || fail "expected 30 lines"
}

case_map_keep_state() {
    for i in $(seq 1 30); do echo '{}'; done > in.ndjson
    PB_STDIN=in.ndjson run_pb map --keep-state --threads 1 -e 'globalThis.n = (globalThis.n || 0) + 1; n'
    expect_rc 0
    seq 1 30 > want
    cmp -s "$T/out" want || fail "one stateful sandbox should count 1..30"
    PB_STDIN=in.ndjson run_pb map --keep-state --threads 2 -e 'globalThis.n = (globalThis.n || 0) + 1; n'
    expect_rc 0
    [ "$(grep -cx 1 "$T/out")" -le 2 ] || fail "each thread starts counting once"
    [ "$(sort -n "$T/out" | tail -1)" -ge 15 ] || fail "some thread should count past 15"
}

case_map_undefined_is_null() {
    printf '1\n2\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map -e 'undefined'
    expect_rc 0
    [ "$(cat "$T/out")" = "$(printf 'null\nnull')" ] || fail "undefined results should print null"
}

case_map_on_error_emit() {
    printf '{"a":2}\nnot json\n{"a":0}\n{"a":3}\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map -e 'if (!data.a) throw new TypeError("zero"); data.a * 10'
    expect_rc 0
    [ "$(sed -n 1p "$T/out")" = 20 ] || fail "line 1"
    sed -n 2p "$T/out" | grep -q '^{"error":{"kind":"input","message":"data is not valid JSON: .*line 1, column 2"}}$' ||
        fail "line 2 should be an input error object"
    [ "$(sed -n 3p "$T/out")" = '{"error":{"kind":"exception","message":"TypeError: zero"}}' ] || fail "line 3"
    [ "$(sed -n 4p "$T/out")" = 30 ] || fail "line 4"
}

case_map_on_error_skip() {
    printf '{"a":2}\n{"a":0}\n{"a":3}\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map --on-error skip -e 'if (!data.a) throw new Error("zero"); data.a'
    expect_rc 0
    [ "$(cat "$T/out")" = "$(printf '2\n3')" ] || fail "the failing line should have no output"
}

case_map_on_error_fail() {
    printf '{"a":2}\n{"a":0}\n{"a":3}\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map --on-error fail --threads 1 -e 'if (!data.a) throw new Error("zero"); data.a'
    expect_rc 1
    expect_stdout_eq 2
    expect_stderr_has 'line 2'
    expect_stderr_has 'Error: zero'
    printf '{"a":1}\n{"a":"loop"}\n' > in2.ndjson
    PB_STDIN=in2.ndjson run_pb map --on-error fail --time-limit 100 -e 'if (data.a === "loop") for (;;) {} data.a'
    expect_rc 3
    expect_stderr_has 'time limit exceeded'
}

case_map_limits_per_line() {
    printf '{"k":"ok"}\n{"k":"loop"}\n{"k":"mem"}\n{"k":"ok"}\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map --time-limit 100 --memory-limit 8M \
        -e 'if (data.k === "loop") for (;;) {} if (data.k === "mem") { var a = []; for (;;) a.push(new Array(1e5).fill(1)); } "fine"'
    expect_rc 0
    [ "$(sed -n 1p "$T/out")" = '"fine"' ] && [ "$(sed -n 4p "$T/out")" = '"fine"' ] || fail "good lines"
    sed -n 2p "$T/out" | grep -q '"kind":"timeout"' || fail "line 2 should time out"
    sed -n 3p "$T/out" | grep -q '"kind":"memory"' || fail "line 3 should run out of memory"
}

case_map_sigint() {
    # endless input, slow lines: Ctrl-C leaves complete, ordered output and exit 130
    mkfifo in.fifo
    feed in.fifo yes '{"x":1}'
    PB_STDIN=in.fifo start_bg map -e 'var t = Date.now(); while (Date.now() - t < 2) {} "x".repeat(100 * data.x)'
    wait_for "$T/out" xxx
    signal_bg INT
    expect_stopped_by INT
    [ "$(sort -u "$T/out")" = "\"$(repeat x 100)\"" ] || fail "every line written should be complete"
    [ "$(tail -c 1 "$T/out" | od -An -c | tr -d ' ')" = '\n' ] || fail "the output should end with a complete line"
    expect_stderr_has 'stopped by SIGINT'
}

# the lines before a line that never ends, run one at a time: that line logs, then loops
STOP_SCRIPT='if (data === "loop") { console.log("looping"); for (;;) {} } if (data === 3) console.log("third"); data * 10'

case_map_sigint_running_line() {
    # the input has ended and a line runs forever: SIGINT stops it at once
    printf '1\n2\n3\n"loop"\n4\n' >in.ndjson
    PB_STDIN=in.ndjson start_bg map --threads 1 -e "$STOP_SCRIPT"
    wait_for "$T/err" looping
    signal_bg INT
    expect_stopped_by INT
    expect_stdout_eq "$(printf '10\n20\n30')"
    expect_stderr_has 'stopped by SIGINT'
}

case_map_sigterm_running_line() {
    # SIGTERM too: the lines done before it are written whole, nothing after
    printf '1\n2\n3\n"loop"\n4\n' >in.ndjson
    PB_STDIN=in.ndjson start_bg map --threads 2 -e "$STOP_SCRIPT"
    wait_for "$T/err" looping
    signal_bg TERM
    expect_stopped_by TERM
    # a line before the loop may still have run on the other thread, and been stopped with it
    printf '10\n20\n30\n' | head -c "$(wc -c <"$T/out")" | cmp -s - "$T/out" &&
        { [ ! -s "$T/out" ] || [ "$(tail -c 1 "$T/out" | od -An -c | tr -d ' ')" = '\n' ]; } ||
        fail "expected the first of the lines 10, 20, 30, complete and in order"
    expect_stderr_has 'stopped by SIGTERM'
}

case_map_sigterm_waiting_input() {
    # the input stays open and nothing runs: the reader is woken and the results are kept
    mkfifo in.fifo
    exec 3<>in.fifo
    printf '1\n2\n3\n' >&3
    PB_STDIN=in.fifo start_bg map --threads 1 -e "$STOP_SCRIPT"
    wait_for "$T/err" third
    signal_bg TERM
    exec 3>&-
    expect_stopped_by TERM
    expect_stdout_eq "$(printf '10\n20\n30')"
    expect_stderr_has 'stopped by SIGTERM'
}

case_map_sigint_full_window() {
    # endless input, every line slow under a long time limit, the window full: SIGINT does
    # not wait for the lines in flight
    mkfifo in.fifo
    feed in.fifo yes '{"x":1}'
    PB_STDIN=in.fifo start_bg map --threads 2 --time-limit 60000 -e 'console.log("started"); for (;;) {}'
    wait_for "$T/err" started
    signal_bg INT
    expect_stopped_by INT
    expect_stdout_empty
    expect_stderr_has 'stopped by SIGINT'
}

run_stopped_by() { # SIG ARGS...: plugbox run, its call looping, stopped by SIG
    local s=$1
    shift
    start_bg run "$@"
    wait_for "$T/err" looping
    signal_bg "$s"
    expect_stopped_by "$s"
    expect_stdout_empty
    expect_stderr_has "stopped by SIG$s"
}

case_run_signals() {
    run_stopped_by INT -e 'console.log("looping"); for (;;) {}'
    printf 'function f(d) { console.log("looping"); for (;;) {} }\n' >f.js
    run_stopped_by TERM --call f f.js
    run_stopped_by INT --time-limit 60000 -e 'console.log("looping"); while (true) {}'
}

# plugbox waits for its input: its main thread blocks reading a pipe, or, where the kernel does
# not show where a thread waits, plugbox runs its signal thread
reading_input() {
    grep -q pipe_read "/proc/$pid/wchan" 2>/dev/null ||
        { ! grep -q '[a-z]' "/proc/$pid/wchan" 2>/dev/null && awk '/^Threads:/ { exit !($2 >= 2) }' "/proc/$pid/status"; }
}

case_run_sigterm_reading_data() {
    # --data - from a pipe that stays open: nothing runs yet, and the signal ends it at once
    mkfifo in.fifo
    exec 3<>in.fifo
    printf '{"partial":' >&3
    PB_STDIN=in.fifo start_bg run --data - -e 'data'
    wait_until "plugbox waited for its input" reading_input
    signal_bg TERM
    exec 3>&-
    expect_stopped_by TERM
    expect_stdout_empty
    expect_stderr_has 'stopped by SIGTERM'
}

# ---------------------------------------------------------------------------
# map: every line valid UTF-8 JSON, whatever the error text

UTF8_SCRIPT='if (data === 1) throw new Error("lone \ud800 and \udfff surrogates");
if (data === 2) throw new Error("é".repeat(40000));
if (data === 3) throw new Error("nul \0 inside");
if (data === 4) throw new Error("controls \x01\x1f\x7f\n end");
data'

case_map_error_utf8() {
    printf '1\n2\n3\n4\n5\n' >in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 2 -e "$UTF8_SCRIPT"
    expect_rc 0
    check_utf8 "$T/out" json
    [ "$(wc -l <"$T/out")" = 5 ] || fail "expected 5 lines"
    [ "$(sed -n 1p "$T/out")" = '{"error":{"kind":"exception","message":"Error: lone � and � surrogates"}}' ] ||
        fail "line 1: each lone surrogate should be one U+FFFD"
    sed -n 2p "$T/out" | grep -q '^{"error":{"kind":"exception","message":"Error: \(é\)*\.\.\. (cut)"}}$' ||
        fail "line 2: the message should be cut after a whole character and marked"
    [ "$(sed -n 2p "$T/out" | wc -c)" -lt 70000 ] || fail "line 2: the message should be cut near 64 KiB"
    [ "$(sed -n 3p "$T/out")" = '{"error":{"kind":"exception","message":"Error: nul � inside"}}' ] ||
        fail "line 3: a NUL should be U+FFFD, the message whole"
    [ "$(sed -n 4p "$T/out")" = '{"error":{"kind":"exception","message":"Error: controls \u0001\u001f\u007f\u000a end"}}' ] ||
        fail "line 4: control characters should be escaped"
    [ "$(sed -n 5p "$T/out")" = 5 ] || fail "line 5"
}

case_run_error_utf8() {
    local n
    for n in 1 2 3; do
        printf '%s' "$n" >d.json
        run_pb run --data d.json -e "$UTF8_SCRIPT"
        expect_rc 1
        expect_stderr_has 'Uncaught Error: '
        check_utf8 "$T/err"
    done
    expect_stderr_has 'nul � inside'
}

# ---------------------------------------------------------------------------
# inputs larger than the sandbox can hold

case_map_max_line() {
    { echo '{"a":1}'; printf '"%s"\n' "$(repeat x 2000)"; echo '{"a":3}'; printf '"%s"\n' "$(repeat y 1022)";
      printf '"%s"' "$(repeat z 5000)"; } >in.ndjson
    PB_STDIN=in.ndjson run_pb map --max-line 1K -e 'typeof data === "string" ? data.length : data.a'
    expect_rc 0
    printf '%s\n' 1 '{"error":{"kind":"input","message":"line 2 is longer than --max-line (1024 bytes)"}}' 3 1022 \
        '{"error":{"kind":"input","message":"line 5 is longer than --max-line (1024 bytes)"}}' >"$T/expected"
    cmp -s "$T/expected" "$T/out" || fail "expected the long lines as input errors, in order, the others run"
    PB_STDIN=in.ndjson run_pb map --max-line 1K --on-error skip -e 'typeof data === "string" ? data.length : data.a'
    expect_rc 0
    expect_stdout_eq "$(printf '1\n3\n1022')"
    PB_STDIN=in.ndjson run_pb map --max-line 1K --on-error fail --threads 1 -e 'typeof data === "string" ? data.length : data.a'
    expect_rc 2
    expect_stdout_eq 1
    expect_stderr_has 'line 2 is longer than --max-line (1024 bytes)'
    PB_STDIN=in.ndjson run_pb map --max-line=1M -e 'typeof data === "string" ? data.length : data.a'
    expect_rc 0
    expect_stdout_eq "$(printf '1\n2000\n3\n1022\n5000')"
    local v
    for v in 0 abc 1.5K ''; do
        run_pb map --max-line "$v" -e 1
        expect_usage_error
        expect_stderr_has max-line
    done
}

case_map_long_line_memory() {
    # a 400 MB line under a 16 MiB memory limit (the default --max-line) is not read into
    # memory: the process's own peak (VmHWM), taken while it waits for more input, stays far
    # below the line's size
    mkfifo in.fifo
    exec 3<>in.fifo
    PB_STDIN=in.fifo start_bg map --memory-limit 16M -e 'if (data === 2) console.log("line 2 ran"); data'
    feed in.fifo sh -c 'printf "\""; head -c 400000000 /dev/zero | tr "\0" x; printf "\"\n2\n"'
    wait_for "$T/err" 'line 2 ran'
    local hwm
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    exec 3>&-
    reap_bg
    [ -n "$hwm" ] || fail "no VmHWM in /proc/PID/status"
    [ "$hwm" -lt 200000 ] || fail "peak memory $hwm KiB: the 400 MB line was buffered"
    expect_rc 0
    printf '%s\n' '{"error":{"kind":"input","message":"line 1 is longer than --max-line (16777216 bytes)"}}' 2 >"$T/expected"
    cmp -s "$T/expected" "$T/out" || fail "expected the long line's error, then line 2"
}

# peak_below KB ARGS...: run plugbox as run_pb does, without a timeout; its peak memory must
# stay below KB KiB where /usr/bin/time is there to measure it
peak_below() {
    local kb=$1
    shift
    last_cmd="plugbox$(printf ' %q' "$@")"
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f %M -o "$T/rss" "$PLUGBOX" "$@" >"$T/out" 2>"$T/err"
        rc=$?
        [ "$(tail -1 "$T/rss")" -lt "$kb" ] || fail "peak memory $(tail -1 "$T/rss") KiB, expected below $kb KiB"
    else
        echo "SKIP of one check: no /usr/bin/time, peak memory not measured"
        "$PLUGBOX" "$@" >"$T/out" 2>"$T/err"
        rc=$?
    fi
}

case_run_data_too_large() {
    shopt -s lastpipe # peak_below sets rc from the end of a pipeline
    truncate -s 400M big.json
    peak_below 200000 run --memory-limit 16M --data big.json -e 1
    expect_rc 3
    expect_stderr_has "out of memory: data 'big.json' is larger than --memory-limit (16777216 bytes)"
    expect_stdout_empty
    peak_below 200000 run --memory-limit 16M --bytes big.json -e 1
    expect_rc 3
    expect_stderr_has "out of memory: bytes 'big.json' is larger than --memory-limit (16777216 bytes)"
    # from a pipe: plugbox stops reading past the limit, so the writer meets a closed pipe
    local o
    for o in --data --bytes; do
        head -c 400000000 /dev/zero | peak_below 200000 run --memory-limit 16M "$o" - -e 1
        local head_rc=${PIPESTATUS[0]}
        last_cmd="head -c 400000000 /dev/zero | $last_cmd"
        expect_rc 3
        expect_stderr_has "is larger than --memory-limit (16777216 bytes)"
        [ "$head_rc" = 141 ] || fail "the writer should have met a closed pipe (SIGPIPE), it ended with $head_rc"
    done
    # at the limit exactly, the data is read (and then the sandbox has no room left for it)
    printf '[1]' >small.json
    run_pb run --memory-limit 3 --data small.json -e 'data'
    expect_rc 3
    expect_stderr_lacks 'larger than'
}

case_map_help() {
    run_pb map --help
    expect_rc 0
    expect_stdout_has '--on-error'
    expect_stdout_has '--keep-state'
    expect_stdout_has '--max-line'
    expect_stdout_has '130 (SIGINT)'
    expect_stdout_has '143 (SIGTERM)'
    run_pb map --on-error sometimes -e 1
    expect_rc 2
    run_pb map --threads 0 -e 1
    expect_rc 2
    # the lines come from standard input: the script cannot; run's --raw is not map's
    printf '1\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map -
    expect_rc 2
    expect_stderr_has 'standard input'
    PB_STDIN=in.ndjson run_pb map --raw -e data
    expect_rc 2
    expect_stderr_has "unknown option '--raw'"
}

# ---------------------------------------------------------------------------
# the host's safety: what a script did to the process before (crash, abort, hang,
# host memory or CPU without bound, a wrong answer), each must now end as an error

case_host_stack_stringify_console() {
    # JSON.stringify's recursion ran the thread's stack out; the console import then
    # faulted in host code, and the process died
    local code="var x=[]; for(var i=0;i<2e5;i++) x=[x]; JSON.stringify(x, function(k,v){ console.log('p'); return v }).length"
    run_pb run -e "$code"
    expect_no_crash
    expect_limit 'stack overflow' 60000
    printf '1\n2\n' >"$T/in"
    PB_STDIN=$T/in run_pb map --threads 1 -e "$code"
    expect_no_crash
    expect_rc 0
    [ "$(grep -c '"kind":"stack"' "$T/out")" = 2 ] || fail "expected two stack overflow lines"
}

case_host_stack_small_rlimit() {
    # main-thread stacks of 64 KiB to 512 KiB: recursion with a host import on top (where the
    # guest's last frame ended decided whether the import faulted)
    local kib
    for kib in 64 96 128 160 192 224 256 320 512; do
        last_cmd="(ulimit -s $kib; plugbox run -e 'function f(n,a,b){ console.log(\"\"); return f(n+1)+1 } f(0)')"
        (ulimit -s "$kib" && exec timeout -k 5 "$PB_TIMEOUT" "$PLUGBOX" run -e 'function f(n,a,b){ console.log(""); return f(n+1)+1 } f(0)') \
            >"$T/out" 2>"$T/err" </dev/null
        rc=$?
        expect_no_crash
        expect_rc 3
        expect_stderr_has 'stack overflow'
    done
}

case_host_address_space() {
    # each sandbox reserves 8 GiB of address space: without it, an error, not an abort
    [ -z "${ASAN_OPTIONS:-}" ] || skip "AddressSanitizer's own reservations need more than the limit"
    last_cmd="(ulimit -v 4000000; plugbox run -e 1)"
    (ulimit -v 4000000 && exec "$PLUGBOX" run -e 1) >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    expect_no_crash
    expect_rc 4
    expect_stderr_has 'address space'
    last_cmd="(ulimit -v 20000000; plugbox map --threads 4 -e data)"
    (ulimit -v 20000000 && echo 1 | exec "$PLUGBOX" map --threads 4 -e data) >"$T/out" 2>"$T/err"
    rc=$?
    expect_no_crash
    expect_rc 4
    expect_stderr_has 'address space'
}

case_host_result_size() {
    # the result's encoder reserved 6 bytes a character in a 32-bit size that wrapped:
    # it looped, or wrote past its buffer
    PB_STDOUT=$T/big run_pb run --memory-limit 1G --time-limit 120000 -e '"a".repeat(360000000)'
    expect_rc 0
    [ "$(wc -c <"$T/big")" = 360000003 ] || fail "expected the 360 MB string and its quotes"
    rm -f "$T/big"
    run_pb run --memory-limit 2G --time-limit 120000 -e '"\x01".repeat(715827883)'
    expect_limit 'out of memory' 120000
}

case_host_tojson() {
    # the fast encoder skipped an array's own toJSON and a non-enumerable one
    run_pb run -e 'var a=[1,2]; a.toJSON=function(){return "X"}; a'
    expect_stdout_eq '"X"'
    run_pb run -e 'var o={user:"x", secret:"s3"}; Object.defineProperty(o, "toJSON", {value: function(){return "redacted"}}); o'
    expect_stdout_eq '"redacted"'
    run_pb run -e 'var f=function(){}; f.toJSON=function(){return 1}; [f, {g: f}]'
    expect_stdout_eq '[1,{"g":1}]'
    run_pb run -e 'var o={v:1}; Object.defineProperty(o, "h", {get(){return 2}, enumerable:false}); o'
    expect_stdout_eq '{"v":1}'
    # found by fuzz/encode_diff.c: a class's static toJSON, and one above the prototypes
    run_pb run -e '[class { static toJSON() { return 1 } }]'
    expect_stdout_eq '[1]'
    run_pb run -e 'Object.setPrototypeOf(Array.prototype, {toJSON() { return "p" }}); [1]'
    expect_stdout_eq '"p"'
    run_pb run -e 'Object.setPrototypeOf(Function.prototype, new Proxy({}, {get: (t, k) => k === "toJSON" ? () => "f" : undefined})); [function () {}]'
    expect_stdout_eq '["f"]'
}

case_host_thrown_values() {
    # what a script throws is an exception whatever it is; a limit is what the engine met
    local s
    for s in 'throw null' 'throw Symbol()' 'throw Object.create(null)' 'Promise.reject(null)' \
             'throw {toString(){ return this.toString() }}' 'throw new InternalError("interrupted")' \
             'throw new InternalError("out of memory")'; do
        run_pb run -e "$s"
        expect_no_crash
        expect_rc 1
        expect_stderr_has 'Uncaught '
        expect_stderr_lacks 'time limit'
    done
    run_pb run -e 'throw null'
    expect_stderr_has 'Uncaught null'
}

case_host_engine_limits() {
    # a BigInt past what the engine multiplies aborted the engine (now BigInts stop at 2^20
    # bits: a RangeError, as in node); a regular expression's backtracking stack past the limit
    # was an exception
    run_pb run -e 'var x=10n; for(;;) x=x*x'
    expect_rc 1
    expect_stderr_has 'RangeError: BigInt is too large'
    run_pb run -e '/(a|b)*c/.exec("ab".repeat(2**22))'
    expect_limit 'out of memory' 60000
}

case_host_deep_echo() {
    # a line nested 200,000 deep echoed by map: encoding was quadratic in the depth (minutes),
    # now linear (milliseconds); the limit leaves it two orders of magnitude of room
    { repeat '[' 200000; repeat ']' 200000; echo; repeat '{' 100000 | sed 's/{/{"a":/g'; printf 1; repeat '}' 100000
      echo; } >"$T/in"
    PB_STDIN=$T/in run_pb map --threads 1 --time-limit 20000 -e data
    expect_rc 0
    cmp -s "$T/in" "$T/out" || fail "the deep lines should come back as they went in"
}

case_host_map_set() {
    # hash tables masked with size-1 got sizes that were not powers of two: quadratic
    run_pb run --time-limit 20000 -e 'var m=new Map(); for(var i=0;i<300000;i++) m.set(i,i); var s=new Set(); for(var i=0;i<300000;i++) s.add("k"+i); [m.size, s.size, m.get(299999)]'
    expect_rc 0
    expect_stdout_eq '[300000,300000,299999]'
}

case_host_clocks() {
    # the only clock a script sees is Date's milliseconds
    run_pb run -e 'typeof __date_clock'
    expect_stdout_eq '"undefined"'
    run_pb run -e 'var d = Date.now(); d === Math.floor(d) && d > 1.6e12'
    expect_stdout_eq 'true'
}

# ---------------------------------------------------------------------------
# the language beyond QuickJS's own built-ins: the prelude (core-js, guest/prelude/)

case_lang_set_methods() {
    run_pb run -e 'new Set([1,2]).union(new Set([3])).size'
    expect_rc 0
    expect_stdout_eq '3'
    run_pb run -e 'var a = new Set([1,2,3]), b = new Set([2,3,4]);
        [[...a.intersection(b)], [...a.difference(b)], [...a.symmetricDifference(b)],
         new Set([2]).isSubsetOf(a), a.isSupersetOf(new Set([1,3])), a.isDisjointFrom(new Set([9])),
         a.isDisjointFrom(b), [...a.union(new Map([[7, 0]]))]]'
    expect_rc 0
    expect_stdout_eq '[[2,3],[1],[1,4],true,true,true,false,[1,2,3,7]]'
    run_pb run -e 'new Set([1]).union([2])'
    expect_rc 1
    expect_stderr_has 'TypeError'
}

case_lang_iterator_helpers() {
    run_pb run -e 'function* n() { for (let i = 1; ; i++) yield i }
        var seen = [];
        [n().filter(x => x % 2).map(x => x * 10).take(3).toArray(),
         n().drop(2).take(2).toArray(),
         n().take(3).flatMap(x => [x, -x]).toArray(),
         n().take(4).reduce((s, x) => s + x),
         (n().take(2).forEach(x => seen.push(x)), seen),
         n().some(x => x > 5), n().take(3).every(x => x < 3), n().find(x => x * x > 50),
         Iterator.from({ i: 0, next() { return { done: this.i > 2, value: this.i++ } } }).toArray(),
         typeof Iterator, [].values() instanceof Iterator]'
    expect_rc 0
    expect_stdout_eq '[[10,30,50],[3,4],[1,-1,2,-2,3,-3],10,[1,2],true,false,8,[0,1,2],"function",true]'
}

case_lang_newer_builtins() {
    run_pb run -e 'Promise.try((a, b) => a + b, 40, 2)'
    expect_stdout_eq '42'
    run_pb run -e 'Array.fromAsync([Promise.resolve(1), 2, (async () => 3)()])'
    expect_stdout_eq '[1,2,3]'
    run_pb run -e '[RegExp.escape("a.b*c"), new RegExp(RegExp.escape("1+1=2")).test("1+1=2")]'
    expect_stdout_eq '["\\x61\\.b\\*c",true]'
    # an error is told by what it is, not by what it says it is
    run_pb run -e 'class E extends RangeError {};
        [Error.isError(new TypeError()), Error.isError(new E()), Error.isError({}),
         Error.isError(Object.create(Error.prototype)), Error.isError({ [Symbol.toStringTag]: "Error" })]'
    expect_stdout_eq '[true,true,false,false,false]'
    run_pb run -e '[Math.sumPrecise([1e20, 0.1, -1e20]), [1e20, 0.1, -1e20].reduce((a, b) => a + b), Math.f16round(1.337)]'
    expect_stdout_eq '[0.1,0,1.3369140625]'
    run_pb run -e 'var v = new DataView(new ArrayBuffer(2)); v.setFloat16(0, 1.5); [v.getFloat16(0), v.getUint16(0)]'
    expect_stdout_eq '[1.5,15872]'
    run_pb run -e '[typeof Symbol.dispose, typeof Symbol.asyncDispose, Symbol.dispose.description]'
    expect_stdout_eq '["symbol","symbol","Symbol.dispose"]'
}

case_lang_prelude_hidden() {
    # nothing of the prelude's machinery is a global; its functions look built in
    run_pb run -e '[typeof __plugbox, "__core-js_shared__" in globalThis,
        Object.getOwnPropertyNames(globalThis).filter(k => /plugbox|core-?js/i.test(k)).length,
        /\[native code\]/.test(String(new Set().union)), /\[native code\]/.test(String(structuredClone))]'
    expect_rc 0
    expect_stdout_eq '["undefined",false,0,true,true]'
    # every call starts from the prelude as it was, whatever the last one changed
    printf '{}\n{}\n' >in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 1 -e 'var r = typeof Set.prototype.union; delete Set.prototype.union; Iterator.prototype.map = null; r'
    expect_rc 0
    [ "$(cat "$T/out")" = "$(printf '"function"\n"function"')" ] || fail "a fresh call should see the prelude whole"
}

# ---------------------------------------------------------------------------
# web basics

case_web_structured_clone() {
    run_pb run -e 'var o = { m: new Map([[1, { a: [1, 2] }]]), s: new Set(["x"]), d: new Date(0), r: /a/g,
            u: new Uint8Array([1, 2]), e: new RangeError("bad") };
        o.self = o;
        var c = structuredClone(o);
        [c !== o, c.self === c, c.m !== o.m, c.m.get(1).a, [...c.s], c.d.getTime(), String(c.r),
         [...c.u], c.e instanceof RangeError, c.e.message]'
    expect_rc 0
    expect_stdout_eq '[true,true,true,[1,2],["x"],0,"/a/g",[1,2],true,"bad"]'
    run_pb run -e 'try { structuredClone({ f() {} }) } catch (e) { [e.name, e instanceof DOMException] }'
    expect_stdout_eq '["DataCloneError",true]'
    # a DOMException is an error, not an object to print as JSON: its name, message and stack
    run_pb run -e 'try { atob("a") } catch (e) { console.log(e) }
        structuredClone(() => 1)'
    expect_rc 1
    expect_stderr_has 'InvalidCharacterError: The string is not correctly encoded'
    expect_stderr_has 'Uncaught DataCloneError: Uncloneable type: Function'
    expect_stderr_has 'at <eval> (<eval>:2:'
}

case_web_url() {
    run_pb run -e 'var u = new URL("https://user:pw@example.org:8080/a/b/../c?x=1&y=%C3%A9#frag");
        [u.protocol, u.username, u.hostname, u.port, u.pathname, u.search, u.searchParams.get("y"), u.hash,
         new URL("../d?q", u).href, u.origin, JSON.stringify(u)]'
    expect_rc 0
    expect_stdout_eq '["https:","user","example.org","8080","/a/c","?x=1&y=%C3%A9","é","#frag","https://user:pw@example.org:8080/d?q","https://example.org:8080","\"https://user:pw@example.org:8080/a/c?x=1&y=%C3%A9#frag\""]'
    run_pb run -e 'var p = new URLSearchParams("a=1&b=2&a=3"); p.append("c", "x y"); p.delete("b");
        [p.getAll("a"), p.has("b"), p.size, p.toString(), [...new URLSearchParams({ k: "v" })],
         URL.canParse("nope"), URL.canParse("/p", "http://h"), URL.parse("nope"), new URL("HTTP://ExAmple.COM").href]'
    expect_stdout_eq '[["1","3"],false,3,"a=1&a=3&c=x+y",[["k","v"]],false,true,null,"http://example.com/"]'
    run_pb run -e 'new URL("no scheme")'
    expect_rc 1
    expect_stderr_has 'TypeError'
}

case_web_base64() {
    run_pb run -e '[btoa("hello"), atob("aGVsbG8="), atob(" aGVs bG8 "), btoa("\xff\x00")]'
    expect_rc 0
    expect_stdout_eq '["aGVsbG8=","hello","hello","/wA="]'
    run_pb run -e 'var r = []; for (const f of [() => btoa("€"), () => atob("a")]) try { f() } catch (e) { r.push(e.name) }; r'
    expect_stdout_eq '["InvalidCharacterError","InvalidCharacterError"]'
}

case_web_array_buffer_transfer() {
    run_pb run -e 'var b = new ArrayBuffer(4), u = new Uint8Array(b); u[0] = 7;
        var c = b.transfer(8);
        [b.detached, b.byteLength, u.length, c.byteLength, new Uint8Array(c)[0], c.detached,
         c.transferToFixedLength(1).byteLength, c.detached, ArrayBuffer.prototype.transfer.length]'
    expect_rc 0
    expect_stdout_eq '[true,0,0,8,7,false,1,true,0]'
    run_pb run -e 'var r = [];
        for (const f of [() => { var b = new ArrayBuffer(1); b.transfer(); b.transfer() },
                         () => ArrayBuffer.prototype.transfer.call(new SharedArrayBuffer(1)),
                         () => new ArrayBuffer(1).transfer(-1)])
            try { f(); r.push("none") } catch (e) { r.push(e.name) }
        r'
    expect_stdout_eq '["TypeError","TypeError","RangeError"]'
    # the host's bytes: transferred away, the script's arrays over them are empty, the host's
    # memory is untouched
    printf 'abc' >b.bin
    run_pb run --bytes b.bin -e 'var t = bytes.buffer.transfer(); [bytes.length, new TextDecoder().decode(t)]'
    expect_rc 0
    expect_stdout_eq '[0,"abc"]'
}

case_web_queue_microtask() {
    # in order with the promise jobs around it, as in node and browsers
    run_pb run -e 'var o = []; queueMicrotask(() => o.push("a")); Promise.resolve().then(() => o.push("b"));
        queueMicrotask(() => { o.push("c"); queueMicrotask(() => o.push("e")) }); Promise.resolve().then(() => o.push("d"));
        o'
    expect_rc 0
    expect_stdout_eq '["a","b","c","d","e"]'
    run_pb run -e 'queueMicrotask(() => { throw new Error("in a microtask") }); 1'
    expect_rc 1
    expect_stderr_has 'Uncaught Error: in a microtask'
    run_pb run -e 'queueMicrotask(1)'
    expect_rc 1
    expect_stderr_has 'TypeError'
}

case_web_text_encoding() {
    run_pb run -e 'var s = "héllo € 𝄞 ✓", b = new TextEncoder().encode(s);
        [b.length, [...b.slice(0, 3)], new TextDecoder().decode(b) === s, new TextDecoder("UTF-8").encoding,
         new TextEncoder().encoding, new TextDecoder(" utf8 ").decode(new Uint16Array([0x6968]))]'
    expect_rc 0
    expect_stdout_eq '[19,[104,195,169],true,"utf-8","utf-8","hi"]'
    # ill-formed input: U+FFFD for each maximal part (WHATWG), or a TypeError when fatal
    run_pb run -e 'var d = new TextDecoder();
        [[...d.decode(new Uint8Array([0xff, 0x41, 0xed, 0xa0, 0x80, 0xe2, 0x82]))].map(c => c.charCodeAt(0).toString(16)),
         [...new TextEncoder().encode("\ud800x")],
         (() => { try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xc3])) } catch (e) { return e.name } })(),
         new TextDecoder("utf-8", { fatal: true }).fatal]'
    expect_stdout_eq '[["fffd","41","fffd","fffd","fffd","fffd"],[239,191,189,120],"TypeError",true]'
    # the byte order mark, streaming, encodeInto
    run_pb run -e 'var bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x41]), d = new TextDecoder(), r = [];
        r.push(d.decode(bom), new TextDecoder("utf-8", { ignoreBOM: true }).decode(bom).length);
        r.push(d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + d.decode(new Uint8Array([0xac, 0x21])));
        var u = new Uint8Array(5);
        r.push(new TextEncoder().encodeInto("a€b𝄞", u), [...u]);
        r'
    expect_stdout_eq '["A",2,"€!",{"read":3,"written":5},[97,226,130,172,98]]'
    run_pb run -e 'new TextDecoder("latin1")'
    expect_rc 1
    expect_stderr_has 'RangeError: The "latin1" encoding is not supported'
}

case_web_performance() {
    run_pb run -e 'var t = [performance.now()]; for (var i = 0; i < 5; i++) { for (var k = 0; k < 3e5; k++); t.push(performance.now()) }
        var d = Date.now();
        [t.every((x, i) => Number.isInteger(x) && x >= 0 && (i === 0 || x >= t[i - 1])), t[0] < 1000,
         Number.isInteger(performance.timeOrigin), Math.abs(performance.timeOrigin + t[5] - d) <= 2,
         performance.timeOrigin === performance.timeOrigin, String(performance)]'
    expect_rc 0
    expect_stdout_eq '[true,true,true,true,true,"[object Performance]"]'
    # it counts from the call's start: a later call starts from 0 again
    printf '1\n2\n' >in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 1 --keep-state -e 'var b = Date.now(); while (Date.now() - b < 30); performance.now() < 1000 && performance.now() >= 29'
    expect_rc 0
    [ "$(cat "$T/out")" = "$(printf 'true\ntrue')" ] || fail "performance.now() should count from each call's start"
}

case_console_more_methods() {
    cat >c.js <<'EOF'
console.group("G");
console.log("in\nside");
console.group();
console.warn("deeper");
console.groupEnd();
console.groupEnd();
console.groupEnd();
console.log("out");
console.count(); console.count(); console.count("x"); console.countReset(); console.count();
console.countReset("nope");
console.assert(1 === 2, "math", 42);
console.assert(true, "not shown");
console.assert(false);
console.time("t"); console.timeLog("t", "more"); console.timeEnd("t"); console.timeEnd("t");
console.dir({ a: 1 });
console.table([{ a: 1, b: "x" }, { a: 2, c: true }]);
function f() { console.trace("here", { k: 1 }) }
f();
EOF
    run_pb run c.js
    expect_rc 0
    cat >want <<'EOF'
G
  in
  side
    deeper
out
default: 1
default: 2
x: 1
default: 1
Count for 'nope' does not exist
Assertion failed: math 42
Assertion failed
t: 0ms more
t: 0ms
No such label 't' for console.timeEnd()
{"a":1}
┌─────────┬───┬─────┬──────┐
│ (index) │ a │  b  │  c   │
├─────────┼───┼─────┼──────┤
│    0    │ 1 │ 'x' │      │
│    1    │ 2 │     │ true │
└─────────┴───┴─────┴──────┘
Trace: here {"k":1}
    at f (c.js:17:29)
    at <eval> (c.js:18:2)
EOF
    cmp -s want "$T/err" || { diff want "$T/err" | head -20; fail "console output differs (diff above)"; }
}

# ---------------------------------------------------------------------------
# timers: run within the call, in the order of their due time, nothing sleeps

case_timers_order() {
    run_pb run -e 'var o = [];
        setTimeout(() => o.push("b20"), 20);
        setTimeout(() => { o.push("a10"); setTimeout(() => o.push("d10+5"), 5); setTimeout(() => o.push("c10+0")) }, 10);
        var t = setTimeout(() => o.push("cleared"), 5);
        setTimeout(() => o.push("e15"), 15);
        setTimeout(() => o.push("f20"), 20);
        clearTimeout(t); clearTimeout(12345); clearTimeout(undefined);
        setTimeout((x, y) => o.push(x + y), 0, "ar", "gs");
        o'
    expect_rc 0
    expect_stdout_eq '["args","a10","c10+0","e15","d10+5","b20","f20"]'
}

case_timers_promise() {
    # a promise that a timer settles is awaited; nothing sleeps for the delays
    run_pb run -e 'new Promise(r => setTimeout(() => r("late"), 100000))'
    expect_rc 0
    expect_stdout_eq '"late"'
    expect_elapsed_below 5000
    cat >f.js <<'EOF'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function handle(d) {
    let ticks = 0;
    const i = setInterval(() => { if (++ticks === d.n) clearInterval(i); }, 10);
    await sleep(1000);
    return { ticks, after: await Promise.all([sleep(5).then(() => 'a'), 'b']) };
}
EOF
    printf '{"n":3}' >d.json
    run_pb run --call handle --data d.json f.js
    expect_rc 0
    expect_stdout_eq '{"ticks":3,"after":["a","b"]}'
    # a timer that throws ends the call, as an uncaught exception, whatever the result
    run_pb run -e 'setTimeout(() => { throw new TypeError("from a timer") }, 10); 1'
    expect_rc 1
    expect_stderr_has 'Uncaught TypeError: from a timer'
    expect_stdout_empty
    run_pb run -e 'setTimeout("code")'
    expect_rc 1
    expect_stderr_has 'The "callback" argument must be of type function'
}

case_timers_interval_time_limit() {
    # an interval never cleared keeps the call going until its time limit
    run_pb run --time-limit 200 -e 'var n = 0; setInterval(() => n++, 1); "never"'
    expect_limit 'time limit exceeded' 5000
    run_pb run --time-limit 200 -e 'new Promise(() => setInterval(() => {}, 1000))'
    expect_limit 'time limit exceeded' 5000
}

case_timers_top_level() {
    # function style: what the top level set runs once, when the program is made, before any call
    cat >t.js <<'EOF'
var log = [];
setTimeout(() => log.push("timer"), 50);
Promise.resolve().then(() => log.push("job"));
function handle() { log.push("call"); return log; }
EOF
    printf '1\n2\n' >in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 1 --call handle t.js
    expect_rc 0
    [ "$(cat "$T/out")" = "$(printf '["job","timer","call"]\n["job","timer","call"]')" ] ||
        fail "each call should see the top level's job and timer done, once"
    printf 'setInterval(() => {}, 1); function handle() {}' >i.js
    run_pb run --time-limit 200 --call handle i.js
    expect_limit 'time limit exceeded' 5000
}

case_timers_stateful() {
    # a stateful sandbox's call that fails forgets its timers: the next call does not run them
    printf '1\n2\n3\n' >in.ndjson
    PB_STDIN=in.ndjson run_pb map --keep-state --threads 1 -e '
        globalThis.n = (globalThis.n || 0) + 1;
        if (n === 1) { setTimeout(() => { globalThis.ran = true }, 10); throw new Error("first") }
        setTimeout(() => { globalThis.ticks = (globalThis.ticks || 0) + 1 });
        [n, globalThis.ran === true, globalThis.ticks || 0]'
    expect_rc 0
    head -1 "$T/out" | grep -q '"error"' || fail "the first line should be an error"
    [ "$(tail -2 "$T/out")" = "$(printf '[2,false,0]\n[3,false,1]')" ] ||
        fail "the failed call's timer should be forgotten, each later call's run before it ends"
}

# ---------------------------------------------------------------------------
# no Intl; the clock is UTC

case_intl_absent() {
    run_pb run -e '[typeof Intl, typeof globalThis.Intl]'
    expect_rc 0
    expect_stdout_eq '["undefined","undefined"]'
    run_pb run -e 'new Intl.NumberFormat("de-DE").format(1)'
    expect_rc 1
    expect_stderr_has 'ReferenceError: Intl is not defined'
    # what the locale methods give without it: no grouping, en-US dates in UTC, code-unit order
    run_pb run -e '[(1234567.891).toLocaleString(), (1234.5).toLocaleString("de-DE"), 12345n.toLocaleString(),
        new Date(0).toLocaleString(), new Date(0).toLocaleDateString("fr-FR"), new Date(0).toLocaleTimeString(),
        "a".localeCompare("b"), Math.sign("ä".localeCompare("z")), "i".toLocaleUpperCase("tr"), [1234.5, 2].toLocaleString()]'
    expect_stdout_eq '["1234567.891","1234.5","12345","01/01/1970, 12:00:00 AM","01/01/1970","12:00:00 AM",-1,1,"I","1234.5,2"]'
}

case_clock_utc() {
    # the sandbox has no time zone: local time is UTC, whatever TZ the host has
    local tz
    for tz in America/New_York Asia/Kolkata; do
        last_cmd="TZ=$tz plugbox run -e ..."
        TZ=$tz timeout -k 5 "$PB_TIMEOUT" "$PLUGBOX" run -e '[new Date(0).getHours(), new Date(0).getTimezoneOffset(),
            new Date(2020, 0, 1).toISOString(), String(new Date(0)), new Date("2020-06-01T12:00:00").getUTCHours()]' \
            >"$T/out" 2>"$T/err" </dev/null
        rc=$?
        expect_rc 0
        expect_stdout_eq '[0,0,"2020-01-01T00:00:00.000Z","Thu Jan 01 1970 00:00:00 GMT+0000",12]'
    done
}

case_config_precedence() {
    # the file, then each --config in order: VALUE is JSON if it parses, else a string; the last wins
    printf '{\n  "zone": [[0, 0], [10, 10]],\n  "label": "person",\n  "t": 0.5\n}\n' > conf.json
    run_pb run --config-file conf.json --config t=0.8 --config label=door --config 'extra={"a":[1]}' \
        --config 'quoted="x y"' --config t=0.9 --config empty= -e 'config'
    expect_rc 0
    expect_stdout_eq '{"zone":[[0,0],[10,10]],"label":"door","t":0.9,"extra":{"a":[1]},"quoted":"x y","empty":""}'
    # without a file: an object of the values; without either: no global at all
    run_pb run --config n=3 -e '[config, Object.isFrozen(config)]'
    expect_stdout_eq '[{"n":3},true]'
    run_pb run -e 'typeof config'
    expect_stdout_eq '"undefined"'
    # frozen all the way down, in run and in function style
    printf 'function f(d) { "use strict"; config.zone[0][0] = d; }\n' > f.js
    run_pb run --config-file conf.json --call f --data <(echo 5) f.js
    expect_rc 1
    expect_stderr_has "read-only"
}

case_config_map() {
    printf '{"k": 10}\n' > conf.json
    for i in 1 2 3; do echo "$i"; done > in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 2 --config-file conf.json --config m=2 -e 'data * config.k * config.m'
    expect_rc 0
    [ "$(tr '\n' ' ' < "$T/out")" = "20 40 60 " ] || fail "map did not see the configuration"
}

case_config_errors() {
    printf '{\n  "a": 1,\n}\n' > bad.json
    run_pb run --config-file bad.json -e 'config'
    expect_rc 2
    expect_stderr_has "bad.json: config is not valid JSON"
    expect_stderr_has "line 3, column 1"
    run_pb run --config-file missing.json -e 'config'
    expect_rc 2
    expect_stderr_has "missing.json"
    run_pb run --config novalue -e 'config'
    expect_rc 2
    expect_stderr_has "KEY=VALUE"
    run_pb run --config =1 -e 'config'
    expect_rc 2
    echo '[1, 2]' > arr.json
    run_pb run --config-file arr.json --config a=1 -e 'config'
    expect_rc 2
    expect_stderr_has "not a JSON object"
    run_pb run --config-file arr.json -e 'config'
    expect_rc 0
    expect_stdout_eq '[1,2]'
    run_pb run --config "bad=$(printf '\xff')" -e 'config'
    expect_rc 2
    expect_stderr_has "UTF-8"
}

case_sample() {
    # a sample input changes no result (the script sees nothing of it), in run and map, for
    # inputs of its form and of others; text that is not JSON is an input error named by file
    printf '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"coordinates":[1,2]}}]}' > sample.json
    printf '{"type":"FeatureCollection","features":[%s,%s]}' \
        '{"type":"Feature","geometry":{"coordinates":[3,4]}}' '{"type":"Feature","geometry":{"coordinates":[5,6]}}' > in.json
    local script='[typeof sample, data.features.map(f => f.geometry.coordinates[0]),
        Object.keys(data.features[0]), JSON.stringify(data).length]'
    run_pb run --sample sample.json --data in.json -e "$script"
    expect_rc 0
    expect_stdout_eq '["undefined",[3,5],["type","geometry"],145]'
    run_pb run --data in.json -e "$script"
    expect_stdout_eq '["undefined",[3,5],["type","geometry"],145]'
    { cat in.json; echo; echo '{"features":[{"geometry":{"coordinates":[7]},"type":"x"}]}'; echo '[1]'; } > in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 2 --sample sample.json -e 'JSON.stringify(data)'
    expect_rc 0
    [ "$(sed -n 2p "$T/out")" = '"{\"features\":[{\"geometry\":{\"coordinates\":[7]},\"type\":\"x\"}]}"' ] ||
        fail "map with a sample decoded an input of another form wrongly"
    [ "$(sed -n 3p "$T/out")" = '"[1]"' ] || fail "map with a sample: the third line"
    printf '{\n  "a": [1,\n}' > bad.json
    run_pb run --sample bad.json -e '1'
    expect_rc 2
    expect_stderr_has "bad.json: sample is not valid JSON"
    expect_stderr_has "line 3, column 1"
    run_pb run --sample missing.json -e '1'
    expect_rc 2
    expect_stderr_has "missing.json"
}

case_map_learn() {
    # map's program learns the first line's form (plugbox_program_learn): no line's result
    # changes, whatever its form, and a first line that is not JSON, or too long to learn
    # from, leaves the rest as they were. Each line's result is compared with run's, which
    # learns nothing.
    local script='[Object.keys(data), JSON.stringify(data), Array.isArray(data) ? data.length : typeof data.a]'
    {
        echo '{"a":{"x":1,"y":[1,2]},"b":[{"k":1,"l":"s"},{"k":2,"l":"t"}]}'
        echo '{"a":{"x":3,"y":[4]},"b":[{"k":5,"l":"u"}]}'
        echo '{"b":[{"l":"v","k":6}],"a":{"y":[],"x":7}}'
        echo '{"a":{"x":1,"x":2,"__proto__":3},"b":[{"k":1,"l":2,"m":3},{"k":4}]}'
        echo '{"a":"text","b":null}'
        echo '[{"a":1},{"a":2}]'
        echo '{"a":{"y":[1,2]}}'
    } > forms.ndjson
    local line
    : > want
    while IFS= read -r line; do
        printf '%s' "$line" > one.json
        run_pb run --data one.json -e "$script"
        expect_rc 0
        cat "$T/out" >> want
    done < forms.ndjson
    PB_STDIN=forms.ndjson run_pb map --threads 2 -e "$script"
    expect_rc 0
    cmp -s "$T/out" want || fail "map, learning from its first line, gave results other than run's: $(diff want "$T/out")"
    # a first line that is not JSON: its error, then the same results
    { echo '{"a":'; cat forms.ndjson; } > bad-first.ndjson
    PB_STDIN=bad-first.ndjson run_pb map --threads 1 -e "$script"
    expect_rc 0
    head -n 1 "$T/out" | grep -q '"kind":"input"' || fail "map: the first line's error is missing"
    tail -n +2 "$T/out" | cmp -s - want || fail "map after a first line that is not JSON gave other results"
    # a first line over --max-line: its error, then the same results
    { printf '{"pad":"%0200d"}\n' 0; cat forms.ndjson; } > long-first.ndjson
    PB_STDIN=long-first.ndjson run_pb map --threads 1 --max-line 150 -e "$script"
    expect_rc 0
    head -n 1 "$T/out" | grep -q 'longer than --max-line' || fail "map: the long first line's error is missing"
    tail -n +2 "$T/out" | cmp -s - want || fail "map after a long first line gave other results"
    # no line at all: nothing out, success
    : > empty.ndjson
    PB_STDIN=empty.ndjson run_pb map -e "$script"
    expect_rc 0
    [ ! -s "$T/out" ] || fail "map wrote something for an empty input"
}

case_map_keep_state_eos() {
    # after the last line, eos() writes a summary of the state as a line of its own
    for i in 1 2 3 4 5; do echo "$i"; done > in.ndjson
    PB_STDIN=in.ndjson run_pb map --keep-state --threads 1 \
        -e 'globalThis.sum = (globalThis.sum || 0) + data; function eos() { return { total: sum } } data * 2'
    expect_rc 0
    [ "$(tr '\n' ' ' < "$T/out")" = '2 4 6 8 10 {"total":15} ' ] || fail "expected the lines, then eos()'s summary"
    # one summary per thread (function style: every thread's script defines eos(), also one
    # that happened to run no line), each of its own lines: together every line
    PB_STDIN=in.ndjson run_pb map --keep-state --threads 2 --call f \
        -e 'var n = 0; function f(d) { n++; return d } function eos() { return n }'
    expect_rc 0
    [ "$(head -5 "$T/out" | tr '\n' ' ')" = '1 2 3 4 5 ' ] || fail "lines out of order"
    [ "$(tail -n +6 "$T/out" | wc -l)" = 2 ] || fail "expected one summary per thread"
    [ "$(tail -n +6 "$T/out" | awk '{ s += $1 } END { print s }')" = 5 ] || fail "the summaries do not add up to the lines"
    # no eos(), or one that returns nothing: no extra line; fresh state: eos() is not called
    PB_STDIN=in.ndjson run_pb map --keep-state --threads 1 -e 'function eos() {} data'
    [ "$(wc -l < "$T/out")" = 5 ] || fail "an undefined summary wrote a line"
    PB_STDIN=in.ndjson run_pb map --threads 1 -e 'function eos() { return "x" } data'
    [ "$(wc -l < "$T/out")" = 5 ] || fail "eos() ran without --keep-state"
    # an eos() that throws is a line's error, as --on-error says
    PB_STDIN=in.ndjson run_pb map --keep-state --threads 1 -e 'function eos() { throw new Error("no") } data'
    expect_rc 0
    [ "$(tail -1 "$T/out")" = '{"error":{"kind":"exception","message":"Error: no"}}' ] || fail "eos()'s error: $(tail -1 "$T/out")"
}

# ---------------------------------------------------------------------------
# WebAssembly plugins ($PLUGINS: the test plugins the build compiled); each case compiles into
# a cache of its own

need_plugins() {
    [ -n "${PLUGINS:-}" ] && [ -f "$PLUGINS/kernel.wasm" ] || skip "PLUGINS is not set"
    export XDG_CACHE_HOME=$T/cache
}

case_plugin_run() {
    need_plugins
    printf '{"x": 1}' > in.json
    run_pb run --call greet --data in.json "$PLUGINS/kernel.wasm"
    expect_rc 0
    # the output's bytes as they are: no newline added
    printf 'Hello, {"x": 1}' | cmp -s - "$T/out" || fail "expected the plugin's output exactly"
    ls "$XDG_CACHE_HOME"/plugbox/*.plugbox >/dev/null 2>&1 || fail "nothing in the cache"
    run_pb run --call config --config name=Ada "$PLUGINS/kernel.wasm"
    expect_rc 0
    printf 'Ada' | cmp -s - "$T/out" || fail "config_get: expected Ada"
    run_pb run --call fail "$PLUGINS/kernel.wasm"
    expect_rc 1
    expect_stderr_has "the plugin failed: something went wrong"
    run_pb run "$PLUGINS/kernel.wasm"
    expect_rc 2
    expect_stderr_has "--call NAME"
    expect_stderr_has "greet"
    run_pb run --call nosuch "$PLUGINS/kernel.wasm"
    expect_rc 2
    expect_stderr_has "nosuch is not a function of the plugin"
}

case_plugin_cache_race() {
    # two processes compiling the same module into one cache at once: both run it, and the
    # cache holds one whole artifact
    need_plugins
    printf '"r"' > in.json
    for i in 1 2 3; do
        timeout -k 5 "$PB_TIMEOUT" "$PLUGBOX" run --call greet --data in.json "$PLUGINS/kernel.wasm" > out$i 2> err$i &
    done
    wait
    for i in 1 2 3; do
        printf 'Hello, "r"' | cmp -s - out$i || fail "process $i: $(cat err$i)"
    done
    [ "$(ls "$XDG_CACHE_HOME"/plugbox | grep -c '\.plugbox$')" = 1 ] || fail "expected one artifact: $(ls "$XDG_CACHE_HOME"/plugbox)"
    ls "$XDG_CACHE_HOME"/plugbox | grep -q part && fail "a partial file was left: $(ls "$XDG_CACHE_HOME"/plugbox)"
    run_pb run --call greet --data in.json "$PLUGINS/kernel.wasm"
    expect_rc 0
}

case_plugin_limits() {
    need_plugins
    run_pb run --call spin --time-limit 100 "$PLUGINS/limits.wasm"
    expect_rc 3
    expect_stderr_has "time limit exceeded (100 ms)"
    expect_elapsed_at_least 100
    run_pb run --call recurse "$PLUGINS/limits.wasm"
    expect_rc 3
    expect_stderr_has "stack overflow"
    run_pb run --call grow --memory-limit 8M "$PLUGINS/limits.wasm"
    expect_rc 1
    expect_stderr_has "grow returned 7"
    run_pb run --call trap "$PLUGINS/limits.wasm"
    expect_rc 4
    expect_stderr_has "sandbox trap"
}

case_plugin_map() {
    need_plugins
    printf '1\n{"a":2}\n"x"\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map --threads 2 --call describe "$PLUGINS/kernel.wasm"
    expect_rc 0
    printf '{"meta":1}\n{"meta":{"a":2}}\n{"meta":"x"}\n' | cmp -s - "$T/out" || fail "map's lines"
    # an output that is not one line of JSON is that line's error
    PB_STDIN=in.ndjson run_pb map --call greet "$PLUGINS/kernel.wasm"
    expect_rc 0
    [ "$(grep -c "not one line of JSON" "$T/out")" = 3 ] || fail "expected three error lines"
}

case_plugin_command() {
    need_plugins
    printf 'abc' > in.txt
    run_pb run --data in.txt "$PLUGINS/command.wasm" -- one 'two words'
    expect_rc 0
    printf 'ABC[one][two words]' | cmp -s - "$T/out" || fail "the command's standard output, as it is"
    expect_stderr_has "runs=1 argc=3"
    printf 'exit 5' > in.txt
    run_pb run --data in.txt "$PLUGINS/command.wasm"
    expect_rc 1
    expect_stderr_has "exited with status 5"
    printf 'spin' > in.txt
    run_pb run --data in.txt --time-limit 100 "$PLUGINS/command.wasm"
    expect_rc 3
    run_pb run -e 1 -- x
    expect_rc 2
    printf '"a"\n"b"\n' > in.ndjson
    PB_STDIN=in.ndjson run_pb map "$PLUGINS/command.wasm"
    expect_rc 0
    printf '"A"\n"B"\n' | cmp -s - "$T/out" || fail "map over a command"
}

case_plugin_compile() {
    need_plugins
    cp "$PLUGINS/kernel.wasm" k.wasm
    run_pb compile k.wasm
    expect_rc 0
    [ -s k.plugbox ] || fail "no k.plugbox beside the module"
    run_pb compile -o other.bin k.wasm
    expect_rc 0
    cmp -s k.plugbox other.bin || fail "two compilations of one module differ"
    # the artifact runs where there is no compiler
    echo '"x"' > in.json
    mkdir bin && ln -s "$(command -v timeout)" "$(command -v date)" bin/ # and no wasm2c, no cc
    PATH=$PWD/bin CC=/nonexistent run_pb run --call greet --data in.json k.plugbox
    expect_rc 0
    printf 'Hello, "x"\n' | cmp -s - "$T/out" || fail "the artifact's output"
    printf 'not wasm' > bad.wasm
    run_pb compile bad.wasm
    expect_rc 2
    expect_stderr_has "not a WebAssembly module"
    run_pb compile
    expect_rc 2
    run_pb compile --help
    expect_rc 0
    expect_stdout_has "Usage: plugbox compile"
    # a module without a compiler says how to do without one
    printf '\0asm\1\0\0\0\5\3\1\0\1' > m.wasm
    PATH=$PWD/bin CC=/nonexistent run_pb run --call f m.wasm
    expect_rc 2
    expect_stderr_has "plugbox compile"
}

# ---------------------------------------------------------------------------
# main

list_cases() { declare -F | awk '{ print $3 }' | sed -n 's/^case_//p'; }

[ $# = 1 ] || harness_error "usage: bash tests/cli.sh CASE | --list"
if [ "$1" = --list ]; then list_cases; exit 0; fi

CASE_NAME=$1
declare -F "case_$CASE_NAME" >/dev/null || harness_error "unknown case '$CASE_NAME' (try --list)"
[ -n "${PLUGBOX:-}" ] || harness_error "PLUGBOX is not set"
[ -x "$PLUGBOX" ] || harness_error "PLUGBOX=$PLUGBOX is not an executable file"
PLUGBOX=$(abspath "$PLUGBOX")
[ -n "${QJS_TESTS:-}" ] && [ -d "$QJS_TESTS" ] && QJS_TESTS=$(abspath "$QJS_TESTS")
[ -n "${EXAMPLES:-}" ] && [ -d "$EXAMPLES" ] && EXAMPLES=$(abspath "$EXAMPLES")

T=$(mktemp -d "${TMPDIR:-/tmp}/plugbox-cli.XXXXXX") || harness_error "mktemp failed"
trap trap_cleanup EXIT
mkdir "$T/w" && cd "$T/w" || harness_error "cannot enter $T/w"

"case_$CASE_NAME"
echo "PASS $CASE_NAME"
exit 0
