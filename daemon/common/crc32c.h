/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KB_COMMON_CRC32C_H
#define KB_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Standard CRC-32C: pass 0 to start, the previous result to continue. */
uint32_t kb_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
