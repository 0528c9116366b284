/* SPDX-License-Identifier: MIT */
/* sha256.h - SHA-256 of a buffer (sha256.c). Reentrant. */
#ifndef PLUGBOX_SHA256_H
#define PLUGBOX_SHA256_H

#include <stddef.h>
#include <stdint.h>

void pb__sha256(const void *data, size_t n, uint8_t out[32]);
void pb__sha256_hex(const uint8_t h[32], char out[65]); /* lowercase, NUL-terminated */

#endif
