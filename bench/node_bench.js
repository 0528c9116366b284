// SPDX-License-Identifier: MIT
// The peers a user would pick instead of plugbox, on the same script and data, each call doing
// JSON.parse of the data text, the script, and JSON.stringify of its result:
//   node_plain   node with the script as a plain function, no sandbox at all (the baseline)
//   node_main    node running the script as a vm.Script in its main context, no sandbox
//   qjs_fresh    quickjs-emscripten, a new runtime and context per call (when PEERS_DIR has it)
//   node_fresh   node with a new vm context per call
//   node_warm    node with one warm vm context (its contextified global makes V8 slow)
//   node_parse   node's JSON.parse alone
//
// usage: node node_bench.js [--serve] SCRIPT.js DATA.json CALLS [PEERS_DIR [ROWS]]
// ROWS: the names of the rows to make, with commas (all of them when absent or empty).
// Lines out: "name median_us result" (result: the JSON text out, without white space), and
// "note text" for what the table should say below it (a row skipped, the peer's version).
// Without --serve: every row once, CALLS calls each after a warm-up. With --serve (how
// bench/bench.c alternates the peers with row 5 in rounds): each row is warmed up, then
// "rows NAME..." says which rows exist, and each line "run NAME N W" read from standard input
// is answered with that row's line for N more calls after W calls not counted; EOF ends it.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const vm = require('vm');
const args = process.argv.slice(2);
const serve = args[0] === '--serve';
const [script, dataFile, callsArg, peersDir, rowsArg] = serve ? args.slice(1) : args;
const only = rowsArg ? new Set(rowsArg.split(',')) : null;
const source = fs.readFileSync(script, 'utf8');
const text = fs.readFileSync(dataFile, 'utf8');
const calls = Number(callsArg) || 1000;
const compiled = new vm.Script(source, { filename: script });

function median(run, n, warm) {
  const t = [];
  let result;
  for (let i = 0; i < n + warm; i++) {
    const t0 = process.hrtime.bigint();
    result = run();
    const dt = Number(process.hrtime.bigint() - t0) / 1000;
    if (i >= warm) t.push(dt);
  }
  t.sort((a, b) => a - b);
  return [t[t.length >> 1], result];
}

function line(name, [us, result]) {
  return `${name} ${us.toFixed(1)} ${String(result).replace(/\s/g, '')}\n`;
}

function note(text) {
  process.stdout.write(`note ${text}\n`);
}

// The script is eval-style: it reads the global `data` and its completion value is the
// result. As a plain function, `new Function('data', body)`, V8 runs it as ordinary function
// code: `data` a parameter, its var and function declarations locals. The body is the script
// with its last line, which must be one call expression statement, returned: `return (EXPR);`.
// Its result is checked against the script's own completion value before it is timed.
function asFunction(src) {
  const lines = src.replace(/\s+$/, '').split('\n');
  const last = lines.pop().trim();
  if (!/^[A-Za-z_$][\w$.]*\s*\(.*\)\s*;?$/.test(last) || /^(var|let|const|function|class|return|if|for|while|do|switch|try|throw)\b/.test(last))
    return null;
  return new Function('data', `${lines.join('\n')}\nreturn (${last.replace(/;$/, '')});\n`);
}

// the untransformed script in node's main context: for the check and for node_main
function inMainContext(data) {
  globalThis.data = data;
  return compiled.runInThisContext();
}

// quickjs-emscripten as its README shows it to node users: the synchronous release build
// (getQuickJS), then per call a new runtime (memory-limited like a plugbox sandbox) and
// context, the data's JSON text parsed inside the VM as the global `data`, the script
// evaluated, its result stringified inside the VM and read out; every handle disposed.
function quickjsCall(QuickJS) {
  const limit = 256 * 1024 * 1024; // plugbox's default memory limit
  return () => {
    const rt = QuickJS.newRuntime();
    rt.setMemoryLimit(limit);
    const ctx = rt.newContext();
    try {
      const json = ctx.getProp(ctx.global, 'JSON');
      const parse = ctx.getProp(json, 'parse');
      const stringify = ctx.getProp(json, 'stringify');
      const textHandle = ctx.newString(text);
      const data = ctx.unwrapResult(ctx.callFunction(parse, json, textHandle));
      ctx.setProp(ctx.global, 'data', data);
      const result = ctx.unwrapResult(ctx.evalCode(source, path.basename(script)));
      const out = ctx.unwrapResult(ctx.callFunction(stringify, json, result));
      const s = ctx.getString(out);
      for (const h of [out, result, data, textHandle, stringify, parse, json]) h.dispose();
      return s;
    } finally {
      ctx.dispose();
      rt.dispose();
    }
  };
}

async function loadQuickJS() {
  const dir = peersDir && path.resolve(peersDir, 'node_modules', 'quickjs-emscripten');
  let mod, version;
  try {
    mod = require(dir);
    version = require(path.join(dir, 'package.json')).version;
  } catch (e) {
    note(`quickjs-emscripten: skipped, not installed in ${peersDir || '(no PEERS_DIR)'} (make bench installs it with npm)`);
    return null;
  }
  try {
    const call = quickjsCall(await mod.getQuickJS());
    call(); // fails here rather than in the middle of a round
    note(`quickjs-emscripten ${version} (its synchronous release build), from ${peersDir}`);
    return call;
  } catch (e) {
    note(`quickjs-emscripten: skipped, it failed: ${String((e && e.message) || e).split('\n')[0]}`);
    return null;
  }
}

async function rows() {
  const r = await allRows();
  return only ? r.filter(([name]) => only.has(name)) : r;
}

async function allRows() {
  const r = [];
  const plain = asFunction(source);
  const expected = JSON.stringify(inMainContext(JSON.parse(text)));
  if (!plain)
    note(`node plain function: skipped, the last line of ${script} is not a call expression statement`);
  else if (JSON.stringify(plain(JSON.parse(text))) !== expected)
    note(`node plain function: skipped, its result differs from the script's own (${expected})`);
  else
    r.push(['node_plain', () => JSON.stringify(plain(JSON.parse(text)))]);
  r.push(['node_main', () => JSON.stringify(inMainContext(JSON.parse(text)))]);
  const qjs = only && !only.has('qjs_fresh') ? null : await loadQuickJS();
  if (qjs) r.push(['qjs_fresh', qjs]);
  // a new context per call: the isolation a sandboxing user would ask of node's vm module
  r.push(['node_fresh', () => {
    const ctx = vm.createContext({ data: JSON.parse(text) });
    return JSON.stringify(compiled.runInContext(ctx));
  }]);
  // one warm context: JSON.parse and the script each call, the same global reused
  const warm = vm.createContext({});
  r.push(['node_warm', () => {
    warm.data = JSON.parse(text);
    return JSON.stringify(compiled.runInContext(warm));
  }]);
  r.push(['node_parse', () => JSON.parse(text).features.length]);
  return r;
}

rows().then((r) => {
  const warm = Math.max(20, calls / 10);
  if (!serve) {
    for (const [name, run] of r) process.stdout.write(line(name, median(run, calls, warm)));
    return;
  }
  for (const [, run] of r) median(run, 1, warm);
  const byName = new Map(r);
  process.stdout.write(`rows ${r.map(([name]) => name).join(' ')}\n`);
  readline.createInterface({ input: process.stdin }).on('line', (cmd) => {
    const [verb, name, n, w] = cmd.split(' ');
    const run = byName.get(name);
    if (verb !== 'run' || !run || !(Number(n) > 0) || !(Number(w) >= 0)) {
      process.stdout.write(`error ${cmd}\n`);
      return;
    }
    process.stdout.write(line(name, median(run, Number(n), Number(w))));
  });
});
