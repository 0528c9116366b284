// SPDX-License-Identifier: MIT
// web.js - the web APIs that plugbox makes itself, over native helpers of guest/prelude.c.
//
// guest/prelude.c puts its helpers on globalThis.__plugbox before the prelude runs; this module
// takes them and removes the name, so that scripts never see them. It hands back `step` and
// `reset` (the timers) on the same object, which prelude.c keeps.

const native = globalThis.__plugbox;
delete globalThis.__plugbox;

const define = (obj, name, value) =>
  Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });

// ---- TextEncoder, TextDecoder ----------------------------------------------------------------
// UTF-8 only, as the WHATWG Encoding standard defines it for these two classes. Own code rather
// than a package: the npm ones are either unmaintained and without encodeInto
// (text-encoding-utf-8), without `fatal` (fast-text-encoding), or carry every legacy encoding's
// tables (@sinonjs/text-encoding); and a decoder in JavaScript runs byte by byte in an
// interpreter, where prelude.c's is C over the engine's own strings.

const utf8Labels = ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8'];

// [buffer, byteOffset, byteLength] of a BufferSource
function bytesOf(input, what) {
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer))
    return [input, 0, input.byteLength];
  if (ArrayBuffer.isView(input)) return [input.buffer, input.byteOffset, input.byteLength];
  throw new TypeError(`The "${what}" argument must be an instance of ArrayBuffer or ArrayBufferView`);
}

class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') {
    return new Uint8Array(native.utf8Encode(String(input)));
  }
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) throw new TypeError('The "destination" argument must be a Uint8Array');
    const r = native.utf8EncodeInto(String(source), destination.buffer, destination.byteOffset, destination.byteLength);
    return { read: r[0], written: r[1] };
  }
}
define(TextEncoder.prototype, Symbol.toStringTag, 'TextEncoder');

class TextDecoder {
  #fatal;
  #ignoreBOM;
  #pending = null; // bytes of a character that a streamed chunk cut
  #started = false; // text came out since the stream began (no BOM to skip any more)
  constructor(label = 'utf-8', options = undefined) {
    const name = String(label).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '').toLowerCase();
    if (!utf8Labels.includes(name))
      throw new RangeError(`The "${String(label)}" encoding is not supported (plugbox decodes UTF-8 only)`);
    const o = options == null ? {} : Object(options);
    this.#fatal = Boolean(o.fatal);
    this.#ignoreBOM = Boolean(o.ignoreBOM);
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input = undefined, options = undefined) {
    const stream = options != null && Boolean(Object(options).stream);
    let [buf, off, len] = input === undefined ? [new ArrayBuffer(0), 0, 0] : bytesOf(input, 'input');
    if (this.#pending) {
      const joined = new Uint8Array(this.#pending.length + len);
      joined.set(this.#pending);
      joined.set(new Uint8Array(buf, off, len), this.#pending.length);
      [buf, off, len] = [joined.buffer, 0, joined.length];
      this.#pending = null;
    }
    let r;
    try {
      r = native.utf8Decode(buf, off, len, this.#fatal, stream);
    } catch (e) {
      this.#started = false; // a fatal error ends the stream
      throw e;
    }
    let text = r[0];
    if (r[1]) this.#pending = new Uint8Array(buf.slice(off + len - r[1], off + len));
    if (!this.#started && text.length) {
      if (!this.#ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.#started = true;
    }
    if (!stream) this.#started = false;
    return text;
  }
}
define(TextDecoder.prototype, Symbol.toStringTag, 'TextDecoder');

define(globalThis, 'TextEncoder', TextEncoder);
define(globalThis, 'TextDecoder', TextDecoder);

// ---- ArrayBuffer: transfer, transferToFixedLength, detached ---------------------------------
// ES2024, and node 22 has them. core-js makes them only where the host offers a way to detach a
// buffer (structuredClone's transfer, a MessageChannel); the engine has one (prelude.c's detach).
// QuickJS 2025-04-26 has no resizable buffers, so the two transfers are one.

const byteLengthOf = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const sliceOf = ArrayBuffer.prototype.slice;
// this's byte length: a TypeError unless it is an ArrayBuffer (not a SharedArrayBuffer)
const ownLength = (b, what) => {
  try {
    return Reflect.apply(byteLengthOf, b, []);
  } catch {
    throw new TypeError(`ArrayBuffer.prototype.${what} called on an object that is not an ArrayBuffer`);
  }
};
const isDetached = (b) => {
  try {
    Reflect.apply(sliceOf, b, [0, 0]);
    return false;
  } catch {
    return true;
  }
};
function transfer(buffer, newLength, what) {
  const length = ownLength(buffer, what);
  let n = length;
  if (newLength !== undefined) {
    n = Math.trunc(Number(newLength)) || 0;
    if (n < 0 || n > Number.MAX_SAFE_INTEGER) throw new RangeError('Invalid array buffer length');
  }
  if (isDetached(buffer)) throw new TypeError(`Cannot perform ArrayBuffer.prototype.${what} on a detached ArrayBuffer`);
  const copy = new ArrayBuffer(n);
  new Uint8Array(copy).set(new Uint8Array(buffer, 0, Math.min(n, length)));
  native.detach(buffer);
  return copy;
}
define(ArrayBuffer.prototype, 'transfer', function transfer_(newLength = undefined) {
  return transfer(this, newLength, 'transfer');
});
define(ArrayBuffer.prototype, 'transferToFixedLength', function transferToFixedLength(newLength = undefined) {
  return transfer(this, newLength, 'transferToFixedLength');
});
Object.defineProperty(ArrayBuffer.prototype.transfer, 'name', { value: 'transfer' });
Object.defineProperty(ArrayBuffer.prototype, 'detached', {
  get: function detached() {
    ownLength(this, 'detached');
    return isDetached(this);
  },
  configurable: true,
  enumerable: false,
});

// ---- performance -----------------------------------------------------------------------------
// Milliseconds since the call started, whole ones as Date has them (prelude.c).

class Performance {
  now() { return native.now(); }
  get timeOrigin() { return native.timeOrigin(); }
  toJSON() { return { timeOrigin: this.timeOrigin }; }
}
define(Performance.prototype, Symbol.toStringTag, 'Performance');
define(globalThis, 'performance', new Performance());

// ---- timers ----------------------------------------------------------------------------------
// Within the call: when the script (and every promise job it queued) is done, guest.c calls
// step() until none is left, each followed by the promise jobs it queued. Timers run in the order
// of their due time on a clock of their own, which starts at 0 with the call and jumps to each
// timer's due time as it runs: nothing sleeps, and the order does not depend on how long the
// callbacks took (ties: in the order they were set).

const TIMEOUT_MAX = 2 ** 31 - 1;
let clock = 0;
let nextId = 1;
let order = 0;
const live = new Map(); // id -> timer
const heap = []; // timers by (due, order); cleared ones are skipped when they come up

const before = (a, b) => a.due < b.due || (a.due === b.due && a.order < b.order);
function push(t) {
  let i = heap.length;
  heap.push(t);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(heap[i], heap[p])) break;
    [heap[i], heap[p]] = [heap[p], heap[i]];
    i = p;
  }
}
function pop() {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l], heap[m])) m = l;
      if (r < heap.length && before(heap[r], heap[m])) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
  return top;
}

function schedule(fn, delay, args, repeat) {
  if (typeof fn !== 'function')
    throw new TypeError(`The "callback" argument must be of type function. Received ${fn === null ? 'null' : typeof fn}`);
  delay = Number(delay);
  if (!(delay >= 1 && delay <= TIMEOUT_MAX)) delay = 1; // as node
  const t = { id: nextId++, due: clock + delay, order: order++, fn, args, every: repeat ? delay : 0 };
  if (!heap.length) native.arm();
  live.set(t.id, t);
  push(t);
  return t.id;
}
function clear(id) {
  const t = live.get(typeof id === 'number' ? id : Number(id));
  if (t) {
    live.delete(t.id);
    t.fn = null;
  }
}

define(globalThis, 'setTimeout', function setTimeout(fn, delay = 0, ...args) { return schedule(fn, delay, args, false); });
define(globalThis, 'setInterval', function setInterval(fn, delay = 0, ...args) { return schedule(fn, delay, args, true); });
define(globalThis, 'clearTimeout', function clearTimeout(id) { clear(id); });
define(globalThis, 'clearInterval', function clearInterval(id) { clear(id); });

// Runs the next timer: true, or false when none is left.
native.step = function step() {
  while (heap.length) {
    const t = pop();
    if (!t.fn) continue;
    clock = t.due;
    const fn = t.fn;
    if (t.every) {
      t.due = clock + t.every;
      t.order = order++;
      push(t);
    } else {
      live.delete(t.id);
    }
    Reflect.apply(fn, globalThis, t.args);
    return true;
  }
  return false;
};
// Forgets every timer (a stateful sandbox's call that failed).
native.reset = function reset() {
  heap.length = 0;
  live.clear();
};

// ---- console ---------------------------------------------------------------------------------
// log, info, warn, error, debug, group, groupCollapsed and groupEnd are prelude.c's; the rest
// write through them, worded as node words them.

const { log, warn, error } = console;
const counts = new Map();
const started = new Map(); // console.time's labels
const label = (l) => (l === undefined ? 'default' : String(l));

define(console, 'assert', function assert(ok, ...args) {
  if (ok) return;
  if (typeof args[0] === 'string') args[0] = `Assertion failed: ${args[0]}`;
  else args.unshift('Assertion failed');
  warn(...args);
});
define(console, 'count', function count(l) {
  l = label(l);
  const n = (counts.get(l) || 0) + 1;
  counts.set(l, n);
  log(`${l}: ${n}`);
});
define(console, 'countReset', function countReset(l) {
  l = label(l);
  if (!counts.delete(l)) warn(`Count for '${l}' does not exist`);
});
define(console, 'time', function time(l) {
  l = label(l);
  if (started.has(l)) warn(`Label '${l}' already exists for console.time()`);
  else started.set(l, native.now());
});
function elapsed(name, l, args, end) {
  l = label(l);
  if (!started.has(l)) return warn(`No such label '${l}' for console.${name}()`);
  const ms = native.now() - started.get(l);
  if (end) started.delete(l);
  log(`${l}: ${ms}ms`, ...args);
}
define(console, 'timeEnd', function timeEnd(l) { elapsed('timeEnd', l, [], true); });
define(console, 'timeLog', function timeLog(l, ...args) { elapsed('timeLog', l, args, false); });
define(console, 'trace', function trace(...args) {
  const frames = (new Error().stack || '').split('\n').slice(1).join('\n'); // without trace's own
  error(`Trace${args.length ? ': ' + native.format(...args) : ''}${frames ? '\n' + frames.replace(/\n$/, '') : ''}`);
});
define(console, 'dir', function dir(v) { log(v); });
define(console, 'dirxml', function dirxml(...args) { log(...args); });

// A box-drawn table as node draws it: one row a key, one column a property (or "Values").
define(console, 'table', function table(data, properties) {
  if (data === null || typeof data !== 'object') return log(data);
  const cell = (v) => (typeof v === 'string' ? `'${v}'` : native.format(v));
  const rows = data instanceof Map ? [...data.entries()] : Object.entries(data);
  const keys = [];
  let values = false;
  for (const [, v] of rows) {
    if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) if (!keys.includes(k)) keys.push(k);
    } else {
      values = true;
    }
  }
  const cols = properties ? Array.from(properties, String) : keys;
  const head = ['(index)', ...cols, ...(values && !properties ? ['Values'] : [])];
  const body = rows.map(([k, v]) => {
    const isObj = v !== null && typeof v === 'object';
    const line = [String(k), ...cols.map((c) => (isObj && Object.hasOwn(v, c) ? cell(v[c]) : ''))];
    if (values && !properties) line.push(isObj ? '' : cell(v));
    return line;
  });
  const width = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)) + 2);
  const center = (s, w) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const rule = (l, m, r) => l + width.map((w) => '─'.repeat(w)).join(m) + r;
  const row = (cells) => '│' + cells.map((c, i) => center(c, width[i])).join('│') + '│';
  log([rule('┌', '┬', '┐'), row(head), rule('├', '┼', '┤'), ...body.map(row), rule('└', '┴', '┘')].join('\n'));
});
