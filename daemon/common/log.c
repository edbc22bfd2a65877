// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

int kb_log_max = KB_LOG_INFO;

static const char *const level_name[] = {
	[KB_LOG_ERR] = "error", [KB_LOG_WARN] = "warning",
	[KB_LOG_NOTICE] = "notice", [KB_LOG_INFO] = "info",
	[KB_LOG_DEBUG] = "debug",
};

void kb_vlog(int level, const char *fmt, va_list ap)
{
	static int init, tty;
	int saved_errno = errno;
	char line[1024];
	int n;

	if (!init) {
		const char *d = getenv("KBROKER_DEBUG");

		init = 1;
		tty = isatty(STDERR_FILENO);
		if (d && *d && strcmp(d, "0"))
			kb_log_max = KB_LOG_DEBUG;
	}
	if (level > kb_log_max)
		return;
	/* isatty() may have changed errno; %m must show the caller's. */
	errno = saved_errno;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One write per line so lines from threads never interleave. */
	if (tty)
		dprintf(STDERR_FILENO, "%s: %s\n", level_name[level], line);
	else
		dprintf(STDERR_FILENO, "<%d>%s\n", level, line);
}

void kb_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kb_vlog(level, fmt, ap);
	va_end(ap);
}
