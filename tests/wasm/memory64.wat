;; SPDX-License-Identifier: MIT
;; flags: --enable-memory64
;; A 64-bit memory (limits flag 0x04).
(module
  (memory (export "memory") i64 1))
