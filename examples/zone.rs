// SPDX-License-Identifier: MIT
// zone.rs - examples/zone.js as a WebAssembly plugin in Rust (Extism's plugin ABI, no crates):
// of the detections on each frame (regions of interest with a "detection" parameter structure:
// label, confidence), keep the confident ones of the wanted classes whose centre lies inside a
// polygon, and post a bus message when an object enters the zone. The zone, the labels and the
// threshold come from the element's configuration, as for zone.js.
//
//   /usr/bin/rustc --edition 2021 --target wasm32-unknown-unknown -O -C strip=symbols \
//       --crate-type cdylib examples/zone.rs -o zone.wasm
//   gst-launch-1.0 ... ! plugboxfilter location=zone.wasm function=process time-limit=5 \
//       config='{"zone": [[100,100],[500,120],[520,400],[80,380]], "labels": ["person"], "threshold": 0.6}' ! ...
//
// The frame arrives as JSON text; a region kept is written back as the very text it came as,
// so that plugboxfilter keeps its meta unchanged. Without crates the JSON reader is here, the
// little of it this rule needs.

#[link(wasm_import_module = "extism:host/env")]
extern "C" {
    fn input_length() -> u64;
    fn input_load_u8(offs: u64) -> u8;
    fn input_load_u64(offs: u64) -> u64;
    fn alloc(n: u64) -> u64;
    fn length(offs: u64) -> u64;
    fn load_u8(offs: u64) -> u8;
    fn store_u8(offs: u64, v: u8);
    fn store_u64(offs: u64, v: u64);
    fn output_set(offs: u64, n: u64);
    fn config_get(key: u64) -> u64;
}

// ---- the kernel's memory -------------------------------------------------------------------

fn read_input() -> Vec<u8> {
    let n = unsafe { input_length() } as usize;
    let mut buf = vec![0u8; n];
    let mut i = 0;
    while i + 8 <= n {
        buf[i..i + 8].copy_from_slice(&unsafe { input_load_u64(i as u64) }.to_le_bytes());
        i += 8;
    }
    while i < n {
        buf[i] = unsafe { input_load_u8(i as u64) };
        i += 1;
    }
    buf
}

fn to_host(bytes: &[u8]) -> u64 {
    unsafe {
        let offs = alloc(bytes.len() as u64);
        let mut i = 0;
        while i + 8 <= bytes.len() {
            store_u64(offs + i as u64, u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap()));
            i += 8;
        }
        while i < bytes.len() {
            store_u8(offs + i as u64, bytes[i]);
            i += 1;
        }
        offs
    }
}

fn config(key: &str) -> Option<Vec<u8>> {
    let offs = unsafe { config_get(to_host(key.as_bytes())) };
    if offs == 0 {
        return None;
    }
    let n = unsafe { length(offs) };
    Some((0..n).map(|i| unsafe { load_u8(offs + i) }).collect())
}

// ---- JSON, as much as the rule reads -----------------------------------------------------------

enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<(Json, usize, usize)>), // each element with its text's span
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn num(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }
    fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct Reader<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn ws(&mut self) {
        while self.at < self.s.len() && b" \t\r\n".contains(&self.s[self.at]) {
            self.at += 1;
        }
    }
    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.s.get(self.at)? {
            b'{' => {
                self.at += 1;
                let mut m = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.at) == Some(&b'}') {
                        self.at += 1;
                        return Some(Json::Obj(m));
                    }
                    let k = match self.value()? {
                        Json::Str(k) => k,
                        _ => return None,
                    };
                    self.ws();
                    if self.s.get(self.at) != Some(&b':') {
                        return None;
                    }
                    self.at += 1;
                    let v = self.value()?;
                    m.push((k, v));
                    self.ws();
                    if self.s.get(self.at) == Some(&b',') {
                        self.at += 1;
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut a = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.at) == Some(&b']') {
                        self.at += 1;
                        return Some(Json::Arr(a));
                    }
                    let start = self.at;
                    let v = self.value()?;
                    a.push((v, start, self.at));
                    self.ws();
                    if self.s.get(self.at) == Some(&b',') {
                        self.at += 1;
                    }
                }
            }
            b'"' => {
                self.at += 1;
                let mut out = Vec::new();
                while *self.s.get(self.at)? != b'"' {
                    let c = self.s[self.at];
                    self.at += 1;
                    if c != b'\\' {
                        out.push(c);
                        continue;
                    }
                    let e = *self.s.get(self.at)?;
                    self.at += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.at..self.at + 4)?).ok()?;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?).unwrap_or('\u{fffd}');
                            self.at += 4;
                            out.extend_from_slice(c.to_string().as_bytes());
                        }
                        c => out.push(c),
                    }
                }
                self.at += 1;
                Some(Json::Str(String::from_utf8_lossy(&out).into_owned()))
            }
            b't' | b'f' | b'n' => {
                for (word, v) in [("true", Json::Bool(true)), ("false", Json::Bool(false)), ("null", Json::Null)] {
                    if self.s[self.at..].starts_with(word.as_bytes()) {
                        self.at += word.len();
                        return Some(v);
                    }
                }
                None
            }
            _ => {
                let start = self.at;
                while self.at < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.at]) {
                    self.at += 1;
                }
                std::str::from_utf8(&self.s[start..self.at]).ok()?.parse().ok().map(Json::Num)
            }
        }
    }
}

fn parse(s: &[u8]) -> Option<Json> {
    Reader { s, at: 0 }.value()
}

fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

// ---- the rule --------------------------------------------------------------------------------

fn contains(polygon: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut hit = false;
    let mut j = polygon.len().wrapping_sub(1);
    for i in 0..polygon.len() {
        let (xi, yi) = polygon[i];
        let (xj, yj) = polygon[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            hit = !hit;
        }
        j = i;
    }
    hit
}

static mut INSIDE: Vec<f64> = Vec::new(); // ids inside on the last frame

#[no_mangle]
pub extern "C" fn process() -> i32 {
    let zone: Vec<(f64, f64)> = match config("zone").as_deref().and_then(parse) {
        Some(Json::Arr(points)) => points
            .iter()
            .filter_map(|(p, _, _)| match p {
                Json::Arr(xy) if xy.len() == 2 => Some((xy[0].0.num()?, xy[1].0.num()?)),
                _ => None,
            })
            .collect(),
        _ => vec![(100.0, 100.0), (500.0, 120.0), (520.0, 400.0), (80.0, 380.0)],
    };
    let labels: Vec<String> = match config("labels").as_deref().and_then(parse) {
        Some(Json::Arr(l)) => l.iter().filter_map(|(s, _, _)| s.str().map(String::from)).collect(),
        _ => vec!["person".into(), "car".into()],
    };
    let threshold = config("threshold").as_deref().and_then(parse).and_then(|t| t.num()).unwrap_or(0.5);

    let input = read_input();
    let frame = match parse(&input) {
        Some(f) => f,
        None => return 1,
    };
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut now = Vec::new();
    let mut entered = Vec::new();
    if let Some(Json::Arr(rois)) = frame.get("rois") {
        for (roi, start, end) in rois {
            let detection = roi.get("params").and_then(|p| p.get("detection"));
            let label = detection
                .and_then(|d| d.get("label"))
                .and_then(Json::str)
                .or_else(|| roi.get("type").and_then(Json::str))
                .unwrap_or("");
            let confidence = detection.and_then(|d| d.get("confidence")).and_then(Json::num);
            if !labels.iter().any(|l| l == label) || !confidence.map_or(false, |c| c >= threshold) {
                continue;
            }
            let n = |k: &str| roi.get(k).and_then(Json::num).unwrap_or(0.0);
            if !contains(&zone, n("x") + n("w") / 2.0, n("y") + n("h") / 2.0) {
                continue;
            }
            kept.push(&input[*start..*end]);
            let id = n("id");
            now.push(id);
            if !unsafe { INSIDE.contains(&id) } {
                entered.push(format!(
                    "{{\"id\":{},\"label\":{},\"confidence\":{}}}",
                    id,
                    quote(label),
                    confidence.unwrap_or(0.0)
                ));
            }
        }
    }
    unsafe { INSIDE = now };
    let mut out = b"{\"rois\":[".to_vec();
    for (i, roi) in kept.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(roi);
    }
    out.push(b']');
    if !entered.is_empty() {
        let pts = match frame.get("pts") {
            Some(Json::Num(p)) => format!("{}", p),
            _ => "null".into(),
        };
        out.extend_from_slice(
            format!(",\"message\":{{\"event\":\"entered\",\"pts\":{},\"objects\":[{}]}}", pts, entered.join(",")).as_bytes(),
        );
    }
    out.push(b'}');
    unsafe { output_set(to_host(&out), out.len() as u64) };
    0
}
