// SPDX-License-Identifier: MIT
// zone.ts - examples/zone.js as a WebAssembly plugin in AssemblyScript, with Extism's PDK: of
// the detections on each frame (regions of interest with a "detection" parameter structure:
// label, confidence), keep the confident ones of the wanted classes whose centre lies inside a
// polygon, and post a bus message when an object enters the zone. The zone, the labels and the
// threshold come from the element's configuration, as for zone.js.
//
//   npm install @extism/as-pdk assemblyscript
//   npx asc zone.ts --outFile zone.wasm --use abort=zone/myAbort
//   gst-launch-1.0 ... ! plugboxfilter location=zone.wasm function=process time-limit=5 \
//       config='{"zone": [[100,100],[500,120],[520,400],[80,380]], "labels": ["person"], "threshold": 0.6}' ! ...
//
// A region kept is written back as the very text it came as, so that plugboxfilter keeps its
// meta unchanged. AssemblyScript has no JSON in its library: the reader is here, the little of
// it this rule needs.
import { Config, Host } from '@extism/as-pdk';

export function myAbort(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {}

// ---- JSON, as much as the rule reads -------------------------------------------------------------

const NULL = 0, BOOL = 1, NUM = 2, STR = 3, ARR = 4, OBJ = 5;

class Json {
  kind: i32 = NULL;
  num: f64 = 0;
  str: string = '';
  items: Json[] = [];   // array elements, or object values
  keys: string[] = [];  // object keys
  start: i32 = 0;       // the value's text: [start, end) of the input
  end: i32 = 0;

  get(key: string): Json | null {
    if (this.kind != OBJ) return null;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.items[i];
    return null;
  }
}

class Reader {
  at: i32 = 0;
  constructor(public s: string) {}

  ws(): void {
    while (this.at < this.s.length) {
      const c = this.s.charCodeAt(this.at);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.at++;
    }
  }

  value(): Json | null {
    this.ws();
    if (this.at >= this.s.length) return null;
    const v = new Json();
    v.start = this.at;
    const c = this.s.charCodeAt(this.at);
    if (c == 123 || c == 91) { // { [
      const close = c == 123 ? 125 : 93;
      v.kind = c == 123 ? OBJ : ARR;
      this.at++;
      while (true) {
        this.ws();
        if (this.at >= this.s.length) return null;
        if (this.s.charCodeAt(this.at) == close) { this.at++; break; }
        if (v.kind == OBJ) {
          const k = this.value();
          if (k === null || k.kind != STR) return null;
          this.ws();
          if (this.at >= this.s.length || this.s.charCodeAt(this.at) != 58) return null; // :
          this.at++;
          v.keys.push(k.str);
        }
        const item = this.value();
        if (item === null) return null;
        v.items.push(item);
        this.ws();
        if (this.at < this.s.length && this.s.charCodeAt(this.at) == 44) this.at++; // ,
      }
    } else if (c == 34) { // "
      v.kind = STR;
      this.at++;
      let out = '';
      while (true) {
        if (this.at >= this.s.length) return null;
        const d = this.s.charCodeAt(this.at++);
        if (d == 34) break;
        if (d != 92) { out += String.fromCharCode(d); continue; }
        const e = this.s.charCodeAt(this.at++);
        if (e == 110) out += '\n';
        else if (e == 116) out += '\t';
        else if (e == 114) out += '\r';
        else if (e == 98) out += '\b';
        else if (e == 102) out += '\f';
        else if (e == 117) { out += String.fromCharCode(<i32>parseInt(this.s.substring(this.at, this.at + 4), 16)); this.at += 4; }
        else out += String.fromCharCode(e);
      }
      v.str = out;
    } else if (this.s.startsWith('true', this.at)) { v.kind = BOOL; v.num = 1; this.at += 4; }
    else if (this.s.startsWith('false', this.at)) { v.kind = BOOL; this.at += 5; }
    else if (this.s.startsWith('null', this.at)) { this.at += 4; }
    else {
      const from = this.at;
      while (this.at < this.s.length && '+-.eE0123456789'.includes(this.s.charAt(this.at))) this.at++;
      if (this.at == from) return null;
      v.kind = NUM;
      v.num = parseFloat(this.s.substring(from, this.at));
    }
    v.end = this.at;
    return v;
  }
}

function parse(s: string): Json | null {
  return new Reader(s).value();
}

function quote(s: string): string {
  let q = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) q += '\\"';
    else if (c == 92) q += '\\\\';
    else if (c < 32) q += '\\u' + c.toString(16).padStart(4, '0');
    else q += String.fromCharCode(c);
  }
  return q + '"';
}

// a number as JavaScript writes it (integers without ".0")
function num(n: f64): string {
  return n == Math.floor(n) && Math.abs(n) < 1e15 ? (<i64>n).toString() : n.toString();
}

// ---- the rule --------------------------------------------------------------------------------

function contains(xs: f64[], ys: f64[], x: f64, y: f64): bool {
  let hit = false;
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) {
    if ((ys[i] > y) != (ys[j] > y) && x < (xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i]) + xs[i]) hit = !hit;
  }
  return hit;
}

let inside: f64[] = []; // ids inside on the last frame

export function process(): i32 {
  const xs: f64[] = [100, 500, 520, 80], ys: f64[] = [100, 120, 400, 380];
  const zone = Config.get('zone');
  const z: Json | null = zone === null ? null : parse(zone);
  if (z !== null && z.kind == ARR) {
    xs.length = 0;
    ys.length = 0;
    for (let i = 0; i < z.items.length; i++) {
      const p = z.items[i];
      if (p.kind == ARR && p.items.length == 2) { xs.push(p.items[0].num); ys.push(p.items[1].num); }
    }
  }
  let labels: string[] = ['person', 'car'];
  const l = Config.get('labels');
  const lj: Json | null = l === null ? null : parse(l);
  if (lj !== null && lj.kind == ARR) {
    labels = [];
    for (let i = 0; i < lj.items.length; i++) if (lj.items[i].kind == STR) labels.push(lj.items[i].str);
  }
  let threshold: f64 = 0.5;
  const t = Config.get('threshold');
  const tj: Json | null = t === null ? null : parse(t);
  if (tj !== null && tj.kind == NUM) threshold = tj.num;

  const input = Host.inputString();
  const frame = parse(input);
  if (frame === null) return 1;
  const kept: string[] = [], now: f64[] = [], entered: string[] = [];
  const rois = frame.get('rois');
  if (rois !== null && rois.kind == ARR) {
    for (let i = 0; i < rois.items.length; i++) {
      const roi = rois.items[i];
      const params = roi.get('params');
      const detection: Json | null = params === null ? null : params.get('detection');
      const lab: Json | null = detection === null ? null : detection.get('label');
      const typ = roi.get('type');
      const label = lab !== null && lab.kind == STR ? lab.str : typ !== null && typ.kind == STR ? typ.str : '';
      const conf: Json | null = detection === null ? null : detection.get('confidence');
      if (!labels.includes(label) || conf === null || conf.kind != NUM || !(conf.num >= threshold)) continue;
      const x = roi.get('x'), y = roi.get('y'), w = roi.get('w'), h = roi.get('h'), idj = roi.get('id');
      if (x === null || y === null || w === null || h === null || idj === null) continue;
      if (!contains(xs, ys, x.num + w.num / 2, y.num + h.num / 2)) continue;
      kept.push(input.substring(roi.start, roi.end));
      now.push(idj.num);
      if (!inside.includes(idj.num))
        entered.push('{"id":' + num(idj.num) + ',"label":' + quote(label) + ',"confidence":' + num(conf.num) + '}');
    }
  }
  inside = now;
  let out = '{"rois":[' + kept.join(',') + ']';
  if (entered.length > 0) {
    const pts = frame.get('pts');
    out += ',"message":{"event":"entered","pts":' + (pts !== null && pts.kind == NUM ? num(pts.num) : 'null') +
           ',"objects":[' + entered.join(',') + ']}';
  }
  Host.output(Uint8Array.wrap(String.UTF8.encode(out + '}')));
  return 0;
}
