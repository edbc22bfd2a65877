/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test builds only (make -C daemon CAPTURE=1): kb_capture() writes each
 * request frame to $KBROKER_CAPTURE_DIR, to make fuzz seeds.  In any other
 * build it is empty and the variable is never read.
 */
#ifndef KB_NET_CAPTURE_H
#define KB_NET_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#ifdef KB_CAPTURE
void kb_capture(const uint8_t *frame, size_t len);
#else
static inline void kb_capture(const uint8_t *frame, size_t len)
{
	(void)frame;
	(void)len;
}
#endif

#endif
