;; SPDX-License-Identifier: MIT
;; flags:
;; Bulk memory: passive data, memory.init, data.drop, memory.copy, memory.fill, memory.grow.
(module
  (memory (export "memory") 1 2)
  (data $passive "passive bytes")
  (data (i32.const 0) "active")
  (func (export "bulk") (param i32)
    (memory.init $passive (local.get 0) (i32.const 0) (i32.const 4))
    (data.drop $passive)
    (memory.copy (i32.const 100) (local.get 0) (i32.const 4))
    (memory.fill (i32.const 200) (i32.const 0) (i32.const 8))
    (drop (memory.grow (i32.const 1)))))
