;; SPDX-License-Identifier: MIT
;; flags: --enable-threads
;; A shared memory (limits flag 0x02).
(module
  (memory (export "memory") 1 2 shared))
