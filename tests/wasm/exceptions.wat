;; SPDX-License-Identifier: MIT
;; flags: --enable-exceptions
;; try and catch_all (0x06, 0x19), with no tag section.
(module
  (func (export "f") (result i32)
    (try (result i32)
      (do (i32.const 1))
      (catch_all (i32.const 2)))))
