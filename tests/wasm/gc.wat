;; SPDX-License-Identifier: MIT
;; flags: --enable-gc
;; A struct type (0x5F).
(module
  (type $s (struct (field i32)))
  (func (export "f") (result i32) (i32.const 0)))
