;; SPDX-License-Identifier: MIT
;; flags: --enable-extended-const
;; An addition in a global's initialiser.
(module
  (global $g (export "g") i32 (i32.add (i32.const 1) (i32.const 2))))
