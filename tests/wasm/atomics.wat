;; SPDX-License-Identifier: MIT
;; flags: --enable-threads
;; An atomic instruction (0xFE) on an unshared memory.
(module
  (memory 1)
  (func (export "f") (param i32) (result i32)
    (i32.atomic.load (local.get 0))))
