;; SPDX-License-Identifier: MIT
;; flags:
;; SIMD in a function body (0xFD): refused, wasm2c 1.0.32 crashes on it.
(module
  (memory 1)
  (func (export "f") (result i32) (i32.const 7))
  (func (export "dot") (param i32) (result i32)
    (i32x4.extract_lane 0 (i32x4.add (v128.load (local.get 0)) (v128.load offset=16 (local.get 0))))))
