;; SPDX-License-Identifier: MIT
;; flags:
;; The MVP: one of each import kind, functions that call, branch and load, a start function,
;; an active element and data segment, and one of each export kind.
(module
  (type $log_t (func (param i32 i64) (result i32)))
  (import "env" "log" (func $log (type $log_t)))
  (import "env" "table" (table 2 10 funcref))
  (import "env" "memory" (memory 1 16))
  (import "env" "base" (global $base i32))
  (global $count (mut i32) (i32.const 0))
  (global $pi f64 (f64.const 3.14159))
  (func $init
    (global.set $count (global.get $base)))
  (func $add (export "add") (param i32 i32) (result i32)
    (local f32 f64)
    (block $out
      (loop $again
        (br_if $out (i32.eqz (local.get 0)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br_table $again $out $again (local.get 1))))
    (if (result i32) (local.get 1)
      (then (i32.load offset=8 align=4 (local.get 0)))
      (else (call $log (local.get 1) (i64.const -1)))))
  (func $indirect (export "indirect") (param i32) (result i32)
    (call_indirect (type $log_t) (local.get 0) (i64.const 0) (local.get 0)))
  (start $init)
  (elem (i32.const 0) $add $indirect)
  (data (i32.const 16) "hello")
  (export "memory" (memory 0))
  (export "table" (table 0))
  (export "count" (global $count))
  (export "pi" (global $pi))
  (export "log" (func $log)))
