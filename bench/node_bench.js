// SPDX-License-Identifier: MIT
// The peers a user would pick instead of plugbox, on the same script and data, each call doing
// JSON.parse of the data text, the script, and JSON.stringify of its result:
//   node_plain   node with the script as a plain function, no sandbox at all (the baseline)
//   node_main    node running the script as a vm.Script in its main context, no sandbox
//   qjs_fresh    quickjs-emscripten, a new runtime and context per call (when PEERS_DIR has it)
//   node_fresh   node with a new vm context per call
//   node_warm    node with one warm vm context (its contextified global makes V8 slow)
//   node_parse   node's JSON.parse alone
// usage: node node_bench.js SCRIPT.js DATA.json CALLS [PEERS_DIR]
// prints lines "name median_us result" (result: the JSON text out, no white space in it), and
// "note text" for what the table should say below it (a row skipped, the peer's version).
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const [script, dataFile, callsArg, peersDir] = process.argv.slice(2);
const source = fs.readFileSync(script, 'utf8');
const text = fs.readFileSync(dataFile, 'utf8');
const calls = Number(callsArg) || 1000;
const compiled = new vm.Script(source, { filename: script });

function median(run, n = calls) {
  const warm = Math.max(20, n / 10);
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

function report(name, [us, result]) {
  console.log(`${name} ${us.toFixed(1)} ${String(result).replace(/\s/g, '')}`);
}

function note(text) {
  console.log(`note ${text}`);
}

// The script is eval-style: it reads the global `data` and its completion value is the
// result. As a plain function, `new Function('data', body)`, V8 runs it as ordinary function
// code: `data` a parameter, its var and function declarations locals. The body is the script
// with its last line, which must be one expression statement, returned: `return (EXPR);`.
// Its result is checked against the script's own completion value before it is timed.
function asFunction(src) {
  const lines = src.replace(/\s+$/, '').split('\n');
  const last = lines.pop().trim();
  if (!/^[A-Za-z_$][\w$.]*\s*\(.*\)\s*;?$/.test(last) || /^(var|let|const|function|class|return|if|for|while|do|switch|try|throw)\b/.test(last))
    return null;
  return new Function('data', `${lines.join('\n')}\nreturn (${last.replace(/;$/, '')});\n`);
}

// one run of the script in the main context, for the check and for node_main
function inMainContext(data) {
  globalThis.data = data;
  return compiled.runInThisContext();
}

const plain = asFunction(source);
const expected = JSON.stringify(inMainContext(JSON.parse(text)));
if (!plain)
  note(`node plain function: skipped, the last line of ${script} is not a call expression statement`);
else if (JSON.stringify(plain(JSON.parse(text))) !== expected)
  note(`node plain function: skipped, its result differs from the script's own (${expected})`);
else
  report('node_plain', median(() => JSON.stringify(plain(JSON.parse(text)))));
report('node_main', median(() => JSON.stringify(inMainContext(JSON.parse(text)))));
delete globalThis.data;

// quickjs-emscripten as its README shows it to node users: the synchronous release build
// (getQuickJS), then per call a new runtime (memory-limited like a plugbox sandbox) and
// context, the data's JSON text parsed inside the VM as the global `data`, the script
// evaluated, its result stringified inside the VM and read out; every handle disposed.
function quickjsRow(QuickJS) {
  const limit = 256 * 1024 * 1024; // plugbox's default memory limit
  return median(() => {
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
  });
}

async function quickjs() {
  const dir = peersDir && path.resolve(peersDir, 'node_modules', 'quickjs-emscripten');
  let mod, version;
  try {
    mod = require(dir);
    version = require(path.join(dir, 'package.json')).version;
  } catch (e) {
    note(`quickjs-emscripten: skipped, not installed in ${peersDir || '(no --peers DIR)'} (make bench installs it with npm)`);
    return;
  }
  try {
    report('qjs_fresh', quickjsRow(await mod.getQuickJS()));
    note(`quickjs-emscripten ${version} (its synchronous release build), from ${peersDir}`);
  } catch (e) {
    note(`quickjs-emscripten: skipped, it failed: ${String(e && e.message || e).split('\n')[0]}`);
  }
}

quickjs().then(() => {
  // a new context per call: the isolation a sandboxing user would ask of node's vm module
  report('node_fresh', median(() => {
    const ctx = vm.createContext({ data: JSON.parse(text) });
    return JSON.stringify(compiled.runInContext(ctx));
  }));
  // one warm context: JSON.parse and the script each call, the same global reused
  const warm = vm.createContext({});
  report('node_warm', median(() => {
    warm.data = JSON.parse(text);
    return JSON.stringify(compiled.runInContext(warm));
  }));
  report('node_parse', median(() => JSON.parse(text).features.length));
});
