;; SPDX-License-Identifier: MIT
;; flags:
;; Reference types: two tables, externref, table operations, ref.null/is_null/func, typed
;; select, call_indirect through the second table, passive and declared element segments.
(module
  (type $v (func))
  (table $funcs 2 funcref)
  (table $refs (export "refs") 1 externref)
  (global $nothing (mut externref) (ref.null extern))
  (elem $passive funcref (ref.func $f) (ref.null func))
  (elem (table $funcs) (i32.const 0) func $f)
  (elem declare func $g)
  (func $f)
  (func $g (export "g") (param $r externref) (result i32)
    (table.set $refs (i32.const 0) (local.get $r))
    (drop (table.get $refs (i32.const 0)))
    (drop (table.grow $refs (ref.null extern) (i32.const 1)))
    (table.fill $refs (i32.const 0) (local.get $r) (i32.const 1))
    (drop (table.size $funcs))
    (table.copy $funcs $funcs (i32.const 0) (i32.const 1) (i32.const 1))
    (table.init $funcs $passive (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop $passive)
    (call_indirect $funcs (type $v) (i32.const 0))
    (drop (ref.func $g))
    (drop (select (result externref) (local.get $r) (ref.null extern) (i32.const 1)))
    (ref.is_null (local.get $r))))
