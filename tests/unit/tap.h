/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP for host unit tests: each check prints "ok N - what" or
 * "not ok N - what"; tap_done() prints the plan and returns the exit code.
 */
#ifndef KB_TESTS_TAP_H
#define KB_TESTS_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                    \
	({                                                               \
		int c_ = !!(cond);                                       \
		printf("%sok %d - ", c_ ? "" : "not ", ++tap_n);         \
		printf(__VA_ARGS__);                                     \
		printf("\n");                                            \
		if (!c_) {                                               \
			tap_failed++;                                    \
			printf("#   failed at %s:%d: %s\n", __FILE__,        \
			       __LINE__, #cond);                         \
		}                                                        \
		fflush(stdout);                                          \
		c_;                                                      \
	})

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
