// SPDX-License-Identifier: MIT
// The language probes of docs/compat.md (tests/compat.sh). Each probe is source text, run with
// indirect eval inside try/catch, so a syntax an engine lacks is a failed probe, not a crash:
// "yes" when it gives true, "wrong" when it runs and gives something else, "no (Error)" when
// it throws. The same file runs in plugbox (its completion value) and in node.
var probes = {
  "ES2019 Array.prototype.flat, Object.fromEntries": "[[1], [2]].flat().length === 2 && Object.fromEntries([['a', 1]]).a === 1",
  "ES2020 BigInt": "typeof 1n === 'bigint' && 2n ** 64n === 18446744073709551616n",
  "ES2020 optional chaining, nullish coalescing": "(() => { const o = null; return o?.x ?? 5 })() === 5",
  "ES2021 String.prototype.replaceAll": "'aa'.replaceAll('a', 'b') === 'bb'",
  "ES2021 logical assignment (??=)": "(() => { let a = null; a ??= 5; return a === 5 })()",
  "ES2021 numeric separators": "1_000 === 1000",
  "ES2021 Promise.any, AggregateError": "typeof Promise.any === 'function' && typeof AggregateError === 'function'",
  "ES2021 WeakRef, FinalizationRegistry": "new WeakRef({}).deref() !== null && typeof FinalizationRegistry === 'function'",
  "ES2022 Array.prototype.at": "[1, 2, 3].at(-1) === 3 && 'abc'.at(-1) === 'c'",
  "ES2022 Object.hasOwn": "Object.hasOwn({ a: 1 }, 'a') && !Object.hasOwn({}, 'toString')",
  "ES2022 class static blocks": "(class { static x; static { this.x = 7 } }).x === 7",
  "ES2022 #x in obj": "(() => { class A { #p = 1; static has(o) { return #p in o } } return A.has(new A()) && !A.has({}) })()",
  "ES2022 RegExp d flag (hasIndices)": "/b/d.exec('ab').indices[0][0] === 1",
  "ES2022 Error cause": "new Error('x', { cause: 42 }).cause === 42",
  "ES2023 findLast, findLastIndex": "[1, 2, 3].findLast(x => x < 3) === 2 && [1, 2, 3].findLastIndex(x => x < 3) === 1",
  "ES2023 toSorted, toReversed, with, toSpliced": "[3, 1, 2].toSorted().join() === '1,2,3' && [1, 2].toReversed()[0] === 2 && [1, 2].with(0, 9)[0] === 9 && [1, 2, 3].toSpliced(1, 1).join() === '1,3'",
  "ES2023 hashbang grammar": "(0, eval)('#!x\\n1') === 1",
  "ES2024 Object.groupBy, Map.groupBy": "Object.groupBy([1, 2, 3], x => x % 2 ? 'odd' : 'even').odd.length === 2 && Map.groupBy([1, 2, 3], x => x % 2).get(1).length === 2",
  "ES2024 Promise.withResolvers": "typeof Promise.withResolvers().resolve === 'function'",
  "ES2024 String.prototype.isWellFormed, toWellFormed": "'ab'.isWellFormed() && !'\\ud800'.isWellFormed() && '\\ud800'.toWellFormed() === '\\ufffd'",
  "ES2024 RegExp v flag": "new RegExp('[\\\\p{L}--[a-z]]', 'v').test('A') && !new RegExp('[\\\\p{L}--[a-z]]', 'v').test('a')",
  "ES2024 resizable ArrayBuffer, transfer": "(() => { const b = new ArrayBuffer(1, { maxByteLength: 4 }); b.resize(2); return b.byteLength === 2 && b.transfer(4).byteLength === 4 })()",
  "ES2025 Set methods": "new Set([1, 2]).union(new Set([3])).size === 3 && new Set([1, 2]).intersection(new Set([2])).size === 1 && new Set([1]).isSubsetOf(new Set([1, 2]))",
  "ES2025 Iterator helpers": "[1, 2, 3].values().map(x => x * 2).filter(x => x > 2).toArray().join() === '4,6'",
  "ES2025 Promise.try": "Promise.try(() => 1) instanceof Promise",
  "ES2025 RegExp.escape": "RegExp.escape('.b') === '\\\\.b'",
  "ES2025 Float16Array, Math.f16round": "new Float16Array([1.337])[0] === 1.3369140625 && Math.f16round(1.337) === 1.3369140625",
  "ES2026 Array.fromAsync": "Array.fromAsync([1]) instanceof Promise",
  "ES2026 Error.isError": "Error.isError(new TypeError()) && !Error.isError({})",
  "web structuredClone": "(() => { const m = new Map([[1, { a: 1 }]]); const c = structuredClone(m); return c.get(1).a === 1 && c !== m })()",
  "web TextEncoder, TextDecoder (UTF-8)": "new TextDecoder().decode(new TextEncoder().encode('h\\u00e9\\u{1F600}')) === 'h\\u00e9\\u{1F600}'",
  "web atob, btoa": "btoa('hi') === 'aGk=' && atob('aGk=') === 'hi'",
  "web URL, URLSearchParams": "new URL('https://a.example/p?q=1#h').searchParams.get('q') === '1' && new URLSearchParams('a=1&b=2').get('b') === '2'",
  "web queueMicrotask": "(queueMicrotask(() => {}), true)",
  "web setTimeout, clearTimeout, setInterval": "(clearTimeout(setTimeout(() => {}, 0)), clearInterval(setInterval(() => {}, 1000)), true)",
  "web performance.now": "performance.now() >= 0",
  "console.table, assert, time, count": "console.table.length >= 0 && console.assert.length >= 0 && console.time.length >= 0 && console.count.length >= 0",
  "Intl": "new Intl.NumberFormat('en').format(1234.5) === '1,234.5'",
  "Atomics, SharedArrayBuffer": "Atomics.add(new Int32Array(new SharedArrayBuffer(4)), 0, 1) === 0"
};
var out = {};
for (var k in probes) {
  try { out[k] = (0, eval)(probes[k]) ? "yes" : "wrong"; }
  catch (e) { out[k] = "no (" + e.name + ")"; }
}
out
