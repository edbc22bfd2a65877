// SPDX-License-Identifier: GPL-2.0
#include <time.h>

#include "common/time.h"

static int64_t now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kb_now_mono_ms(void)
{
	return now_ms(CLOCK_MONOTONIC);
}

int64_t kb_now_real_ms(void)
{
	return now_ms(CLOCK_REALTIME);
}

uint64_t kb_now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
