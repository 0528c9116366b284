;; SPDX-License-Identifier: MIT
;; flags:
;; Sign-extension operators (0xC0 to 0xC4).
(module
  (func (export "ext") (param i32 i64) (result i64)
    (drop (i32.extend8_s (local.get 0)))
    (drop (i32.extend16_s (local.get 0)))
    (drop (i64.extend8_s (local.get 1)))
    (drop (i64.extend16_s (local.get 1)))
    (i64.extend32_s (local.get 1))))
