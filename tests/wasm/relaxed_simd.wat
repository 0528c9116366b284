;; SPDX-License-Identifier: MIT
;; flags: --enable-relaxed-simd
;; Relaxed SIMD is SIMD.
(module
  (func (export "swz") (param v128 v128) (result v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1))))
