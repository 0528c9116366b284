;; SPDX-License-Identifier: MIT
;; flags:
;; Non-trapping float-to-int conversions (0xFC 0 to 7).
(module
  (func (export "conv") (param f32 f64) (result i32)
    (drop (i32.trunc_sat_f32_s (local.get 0)))
    (drop (i32.trunc_sat_f32_u (local.get 0)))
    (drop (i32.trunc_sat_f64_s (local.get 1)))
    (drop (i64.trunc_sat_f32_s (local.get 0)))
    (drop (i64.trunc_sat_f32_u (local.get 0)))
    (drop (i64.trunc_sat_f64_s (local.get 1)))
    (drop (i64.trunc_sat_f64_u (local.get 1)))
    (i32.trunc_sat_f64_u (local.get 1))))
