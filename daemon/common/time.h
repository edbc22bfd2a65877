/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KB_COMMON_TIME_H
#define KB_COMMON_TIME_H

#include <stdint.h>

/* Monotonic clock in ms: deadlines, timeouts, idle times. */
int64_t kb_now_mono_ms(void);
/* Monotonic clock in ns: request latency. */
uint64_t kb_now_mono_ns(void);
/* Wall clock in ms: what is stored or sent (timestamps, expiries). */
int64_t kb_now_real_ms(void);

#endif
