;; SPDX-License-Identifier: MIT
;; flags:
;; A global of type funcref, which the start function sets to a function of the module: the
;; snapshot would carry one instance's address to every sandbox, so plugbox refuses it.
(module
  (global $f (mut funcref) (ref.null func))
  (func $one (result i32) i32.const 1)
  (func $start (global.set $f (ref.func $one)))
  (elem declare func $one)
  (start $start)
  (func (export "run") (result i32) i32.const 0))
