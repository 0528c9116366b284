;; SPDX-License-Identifier: MIT
;; flags:
;; A v128 value type in a function type (0x7B), before any SIMD instruction.
(module
  (func (export "id") (param v128) (result v128) (local.get 0)))
