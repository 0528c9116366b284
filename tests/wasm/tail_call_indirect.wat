;; SPDX-License-Identifier: MIT
;; flags: --enable-tail-call
;; return_call_indirect (0x13).
(module
  (type $t (func (result i32)))
  (table 1 funcref)
  (func (export "g") (result i32)
    (return_call_indirect (type $t) (i32.const 0))))
