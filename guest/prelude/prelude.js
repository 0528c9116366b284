// SPDX-License-Identifier: MIT
// prelude.js - what the sandbox's JavaScript has beyond QuickJS 2025-04-26's own built-ins.
//
// esbuild bundles this file at build time, with the core-js modules below taken from the
// pinned npm tarball (scripts/fetch-npm.sh); compile.c turns the bundle into QuickJS
// bytecode, which guest/prelude.c runs once in pb_init, before the engine's snapshot is taken,
// so that every call starts with it in place and pays nothing for it.
//
// core-js: only what QuickJS lacks (each probed; a module whose feature QuickJS has natively
// would only add a check). Not here, because core-js cannot make them from JavaScript:
// Float16Array (Math.f16round and DataView's float16 methods are), the RegExp v flag,
// resizable ArrayBuffers, Atomics; and JSON.rawJSON, whose polyfill replaces JSON.stringify
// with a slower one that the guest's own result encoder would not follow.
// ArrayBuffer.prototype.transfer is web.js's: core-js needs a host's way to detach a buffer.

// ES2025: Set methods
import 'core-js/modules/es.set.union.v2.js';
import 'core-js/modules/es.set.intersection.v2.js';
import 'core-js/modules/es.set.difference.v2.js';
import 'core-js/modules/es.set.symmetric-difference.v2.js';
import 'core-js/modules/es.set.is-subset-of.v2.js';
import 'core-js/modules/es.set.is-superset-of.v2.js';
import 'core-js/modules/es.set.is-disjoint-from.v2.js';
// ES2025: Iterator helpers
import 'core-js/modules/es.iterator.constructor.js';
import 'core-js/modules/es.iterator.from.js';
import 'core-js/modules/es.iterator.map.js';
import 'core-js/modules/es.iterator.filter.js';
import 'core-js/modules/es.iterator.take.js';
import 'core-js/modules/es.iterator.drop.js';
import 'core-js/modules/es.iterator.flat-map.js';
import 'core-js/modules/es.iterator.reduce.js';
import 'core-js/modules/es.iterator.to-array.js';
import 'core-js/modules/es.iterator.for-each.js';
import 'core-js/modules/es.iterator.some.js';
import 'core-js/modules/es.iterator.every.js';
import 'core-js/modules/es.iterator.find.js';
// ES2025: Promise.try, RegExp.escape, Math.f16round and DataView's float16 accessors
import 'core-js/modules/es.promise.try.js';
import 'core-js/modules/es.regexp.escape.js';
import 'core-js/modules/es.math.f16round.js';
import 'core-js/modules/es.data-view.get-float16.js';
import 'core-js/modules/es.data-view.set-float16.js';
// finished after ES2025 (node 22 has Array.fromAsync): Array.fromAsync, Math.sumPrecise; Error.isError
// is guest/prelude.c's: core-js's can only look at Symbol.toStringTag, which any object can fake
import 'core-js/modules/es.array.from-async.js';
import 'core-js/modules/es.math.sum-precise.js';
// node 22 has these two symbols (explicit resource management's, without `using`)
import 'core-js/modules/es.symbol.dispose.js';
import 'core-js/modules/es.symbol.async-dispose.js';
// Web: DOMException (what structuredClone, atob and btoa throw), structuredClone, URL,
// URLSearchParams, atob, btoa
import 'core-js/modules/web.dom-exception.constructor.js';
import 'core-js/modules/web.dom-exception.stack.js';
import 'core-js/modules/web.dom-exception.to-string-tag.js';
import 'core-js/modules/web.structured-clone.js';
import 'core-js/modules/web.url.constructor.js';
import 'core-js/modules/web.url.can-parse.js';
import 'core-js/modules/web.url.parse.js';
import 'core-js/modules/web.url.to-json.js';
import 'core-js/modules/web.url-search-params.constructor.js';
import 'core-js/modules/web.url-search-params.delete.js';
import 'core-js/modules/web.url-search-params.has.js';
import 'core-js/modules/web.url-search-params.size.js';
import 'core-js/modules/web.atob.js';
import 'core-js/modules/web.btoa.js';
// plugbox's own: TextEncoder, TextDecoder, performance, timers, the rest of console
import './web.js';
