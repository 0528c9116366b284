;; SPDX-License-Identifier: MIT
;; flags: --enable-exceptions
;; A tag section (id 13) and throw.
(module
  (tag $e (param i32))
  (func (export "f") (throw $e (i32.const 1))))
