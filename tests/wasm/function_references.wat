;; SPDX-License-Identifier: MIT
;; flags: --enable-function-references
;; call_ref (0x14).
(module
  (type $t (func (result i32)))
  (func $f (type $t) (i32.const 1))
  (elem declare func $f)
  (func (export "g") (result i32) (call_ref (ref.func $f))))
