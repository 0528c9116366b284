;; SPDX-License-Identifier: MIT
;; flags:
;; Mutable globals imported and exported.
(module
  (import "env" "counter" (global $c (mut i64)))
  (global $d (mut f32) (f32.const 1.5))
  (export "counter" (global $c))
  (export "d" (global $d)))
