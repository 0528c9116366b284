;; SPDX-License-Identifier: MIT
;; flags: --enable-tail-call
;; return_call (0x12).
(module
  (func $f (param i32) (result i32) (local.get 0))
  (func (export "g") (param i32) (result i32)
    (return_call $f (local.get 0))))
