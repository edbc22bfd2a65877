// SPDX-License-Identifier: GPL-2.0
/*
 * Log-append writer for the guest's at-rest benchmark: appends CHUNK_KIB
 * chunks to FILE, fdatasync() after each (a broker flushing every batch),
 * and times each write+sync.
 *
 *   append_bench FILE TOTAL_MIB [CHUNK_KIB]
 *
 * Prints one line: "MB/s p50_ms p99_ms chunks".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t chunk, n, i;
	double *lat, t0, t1;
	char *buf;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: append_bench FILE TOTAL_MIB [CHUNK_KIB]\n");
		return 2;
	}
	chunk = (argc > 3 ? atol(argv[3]) : 1024) * 1024;
	n = atol(argv[2]) * 1024 * 1024 / chunk;
	buf = malloc(chunk);
	lat = calloc(n, sizeof(*lat));
	if (!buf || !lat || !n)
		return 2;
	/* Not zeros: nothing on the way may shortcut a zero page. */
	for (i = 0; i < chunk; i++)
		buf[i] = (char)(i * 131 + 7);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	t0 = mono();
	for (i = 0; i < n; i++) {
		double s = mono();

		if (write(fd, buf, chunk) != (ssize_t)chunk || fdatasync(fd)) {
			perror("write/fdatasync");
			return 1;
		}
		lat[i] = mono() - s;
	}
	t1 = mono();
	close(fd);
	qsort(lat, n, sizeof(*lat), cmpd);
	printf("%.1f %.2f %.2f %zu\n", n * (double)chunk / (t1 - t0) / 1e6,
	       lat[n / 2] * 1e3, lat[n * 99 / 100] * 1e3, n);
	return 0;
}
