;; SPDX-License-Identifier: MIT
;; flags:
;; Multi-value: several results, blocks typed by a type index.
(module
  (type $pair (func (param i32) (result i32 i64)))
  (func (export "swap") (param i64 i32) (result i32 i64)
    (local.get 1)
    (block (type $pair) (param i32) (result i32 i64)
      (i64.const 5)))
  (func (export "none")))
