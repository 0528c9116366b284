;; SPDX-License-Identifier: MIT
;; flags: --enable-multi-memory
;; Two memories.
(module
  (memory $a 1)
  (memory $b 1)
  (func (export "f") (result i32) (i32.load $b (i32.const 0))))
