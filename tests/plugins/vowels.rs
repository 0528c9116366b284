// SPDX-License-Identifier: MIT
// vowels.rs - a plugin in Rust (Debian's rustc, wasm32-unknown-unknown, no crates: the
// Extism kernel's imports are declared here as extism-pdk declares them). count_vowels is
// the example Extism's PDKs all ship: it counts the input's vowels, reads the configuration's
// "thing" and keeps a variable "a"; the other exports provoke the sandbox's limits.

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
    fn var_get(key: u64) -> u64;
    fn var_set(key: u64, value: u64);
}

fn read_input() -> Vec<u8> {
    // as extism-pdk does: 8 bytes at a time, then the tail
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

fn from_host(offs: u64) -> Option<String> {
    if offs == 0 {
        return None;
    }
    let n = unsafe { length(offs) };
    let bytes: Vec<u8> = (0..n).map(|i| unsafe { load_u8(offs + i) }).collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
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

#[no_mangle]
pub extern "C" fn count_vowels() -> i32 {
    let input = read_input();
    let count = input.iter().filter(|c| b"aeiouAEIOU".contains(c)).count();
    let thing = from_host(unsafe { config_get(to_host(b"thing")) }).unwrap_or_else(|| "none".into());
    let a = from_host(unsafe { var_get(to_host(b"a")) }).unwrap_or_else(|| "none".into());
    unsafe { var_set(to_host(b"a"), to_host(b"this is var a")) };
    let out = format!("{{\"count\": {}, \"config\": {}, \"a\": {}}}", count, quote(&thing), quote(&a));
    unsafe { output_set(to_host(out.as_bytes()), out.len() as u64) };
    0
}

/* a value the optimiser cannot see through */
fn opaque<T: Copy>(x: T) -> T {
    unsafe { std::ptr::read_volatile(&x) }
}

static mut CALLS: u32 = 0;

/* 1 in every call of a fresh sandbox */
#[no_mangle]
pub extern "C" fn calls() -> i32 {
    unsafe {
        CALLS += 1;
        let out = format!("{}", CALLS);
        output_set(to_host(out.as_bytes()), out.len() as u64);
    }
    0
}

#[no_mangle]
pub extern "C" fn panics() -> i32 {
    let v: Vec<u32> = Vec::new();
    v[opaque(3)] as i32
}

#[no_mangle]
pub extern "C" fn spin() -> i32 {
    let mut i: u64 = 0;
    loop {
        i = opaque(i + 1);
    }
}

fn deep(n: u64) -> u64 {
    if n == 0 { 0 } else { deep(opaque(n - 1)) + opaque(1) }
}

#[no_mangle]
pub extern "C" fn recurse() -> i32 {
    deep(opaque(1 << 40)) as i32
}

#[no_mangle]
pub extern "C" fn hoard() -> i32 {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        kept.push(vec![1u8; 1 << 20]);
    }
}
