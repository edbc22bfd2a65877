/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging for kbrokerd and kbrokerctl: one line per message on stderr.
 * When stderr is not a terminal (journald, a pipe) each line starts with
 * the syslog "<N>" level prefix, which journald turns into a priority.
 */
#ifndef KB_COMMON_LOG_H
#define KB_COMMON_LOG_H

#include <stdarg.h>

enum kb_log_level {
	KB_LOG_ERR = 3,
	KB_LOG_WARN = 4,
	KB_LOG_NOTICE = 5,
	KB_LOG_INFO = 6,
	KB_LOG_DEBUG = 7,
};

/* Messages above this level are dropped; KBROKER_DEBUG=1 raises it. */
extern int kb_log_max;

void kb_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kb_vlog(int level, const char *fmt, va_list ap);

#define kb_err(...) kb_log(KB_LOG_ERR, __VA_ARGS__)
#define kb_warn(...) kb_log(KB_LOG_WARN, __VA_ARGS__)
#define kb_notice(...) kb_log(KB_LOG_NOTICE, __VA_ARGS__)
#define kb_info(...) kb_log(KB_LOG_INFO, __VA_ARGS__)
#define kb_dbg(...) kb_log(KB_LOG_DEBUG, __VA_ARGS__)

/* Log @fmt only the first time this call site runs. */
#define kb_log_once(level, ...)                          \
	do {                                             \
		static int kb_once_;                     \
		if (!kb_once_) {                         \
			kb_once_ = 1;                    \
			kb_log(level, __VA_ARGS__);      \
		}                                        \
	} while (0)

#endif
