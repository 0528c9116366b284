// SPDX-License-Identifier: MIT
// The peers a user would pick instead of plugbox, on the same script and data:
// node (V8) with a fresh vm context per call, and with one warm context.
// usage: node node_bench.js SCRIPT.js DATA.json CALLS   -> lines "name median_us result"
'use strict';
const fs = require('fs');
const vm = require('vm');
const [script, dataFile, callsArg] = process.argv.slice(2);
const source = fs.readFileSync(script, 'utf8');
const text = fs.readFileSync(dataFile, 'utf8');
const calls = Number(callsArg) || 1000;
const compiled = new vm.Script(source, { filename: script });

function median(run) {
  const warm = Math.max(20, calls / 10);
  const t = [];
  let result;
  for (let i = 0; i < calls + warm; i++) {
    const t0 = process.hrtime.bigint();
    result = run();
    const dt = Number(process.hrtime.bigint() - t0) / 1000;
    if (i >= warm) t.push(dt);
  }
  t.sort((a, b) => a - b);
  return [t[t.length >> 1], result];
}

function report(name, [us, result]) {
  console.log(`${name} ${us.toFixed(1)} ${JSON.stringify(result)}`);
}

// a new context per call: the isolation a sandboxing user would ask of node
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
