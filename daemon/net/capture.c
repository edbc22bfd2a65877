// SPDX-License-Identifier: GPL-2.0
/*
 * Request capture for the fuzzer's seed corpus, compiled only into a
 * daemon built with CAPTURE=1 (see net/capture.h): request frames hold
 * record data, which must never reach a file outside the encrypted log
 * volumes in a production kbrokerd, whatever its environment says.
 */
#ifdef KB_CAPTURE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "net/capture.h"

void kb_capture(const uint8_t *frame, size_t len)
{
	static const char *dir;
	static int init;
	static unsigned int seq;
	char path[512];
	int fd;

	if (!init) {
		init = 1;
		dir = getenv("KBROKER_CAPTURE_DIR");
	}
	if (!dir || len < 4)
		return;
	snprintf(path, sizeof(path), "%s/req-%d-v%d-%u-%u.bin", dir,
		 frame[0] << 8 | frame[1], frame[2] << 8 | frame[3],
		 (unsigned int)getpid(), seq++);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, frame, len) < 0)
		kb_log_once(KB_LOG_WARN, "capture write failed: %m");
	close(fd);
}
#endif
