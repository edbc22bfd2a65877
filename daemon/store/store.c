// SPDX-License-Identifier: GPL-2.0
/*
 * The store: log dirs, producer id blocks, periodic work.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

#define PID_FILE "producer-id-block"
#define PID_BLOCK 1000

static int pid_block_write(struct kb_store *s, int64_t limit)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64 "\n", limit);
	int ok = 0, err = 0;

	for (size_t i = 0; i < s->o.n_log_dirs; i++) {
		int e = kb_write_atomic(s->dfds[i], s->dirs[i], PID_FILE, buf,
					(size_t)n);

		if (e)
			err = e;
		else
			ok++;
	}
	return ok ? 0 : err;
}

static void pid_block_load(struct kb_store *s)
{
	for (size_t i = 0; i < s->o.n_log_dirs; i++) {
		char *buf, *end;
		size_t len;
		long long v;

		if (kb_read_small(s->dfds[i], PID_FILE, &buf, &len))
			continue;
		v = strtoll(buf, &end, 10);
		if (end == buf || v < 0)
			kb_warn("%s/%s: bad producer id block, ignoring it",
				s->dirs[i], PID_FILE);
		else if (v > s->pid_limit)
			s->pid_limit = v;
		free(buf);
	}
	/* Ids below the reserved limit may have been handed out. */
	s->next_pid = s->pid_limit;
}

int kb_store_next_producer_id(struct kb_store *s, int64_t *pid)
{
	if (s->next_pid >= s->pid_limit) {
		int err = pid_block_write(s, s->pid_limit + PID_BLOCK);

		if (err)
			return err;
		s->pid_limit += PID_BLOCK;
	}
	*pid = s->next_pid++;
	return 0;
}

static void remove_tmp_files(int dfd, const char *dir)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 4 && !strcmp(de->d_name + l - 4, ".tmp")) {
			kb_warn("%s/%s: removing leftover temp file", dir,
				de->d_name);
			unlinkat(dfd, de->d_name, 0);
		}
	}
	closedir(d);
}

int kb_store_open(const struct kb_store_opts *opts, struct kb_store **out)
{
	struct kb_store *s;
	size_t n = opts->n_log_dirs;
	int err = -ENOMEM;

	if (!n)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *opts;
	s->o.log_dirs = NULL;
	/* Positions in the offset index are 32-bit. */
	if (!s->o.segment_bytes || s->o.segment_bytes > INT32_MAX)
		s->o.segment_bytes = INT32_MAX;
	if (s->o.flush_messages <= 0)
		s->o.flush_messages = INT64_MAX;
	kb_log_cfg_defaults(&s->o, &s->dflt);
	s->dirs = calloc(n, sizeof(*s->dirs));
	s->dfds = calloc(n, sizeof(*s->dfds));
	s->dir_load = calloc(n, sizeof(*s->dir_load));
	s->rbuf = malloc(KB_RBUF_SIZE);
	if (!s->dirs || !s->dfds || !s->dir_load || !s->rbuf)
		goto fail;
	for (size_t i = 0; i < n; i++)
		s->dfds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		s->dirs[i] = strdup(opts->log_dirs[i]);
		if (!s->dirs[i])
			goto fail;
		if (mkdir(s->dirs[i], 0755) && errno != EEXIST) {
			err = -errno;
			kb_err("%s: cannot create log dir: %m", s->dirs[i]);
			goto fail;
		}
		s->dfds[i] = open(s->dirs[i],
				  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dfds[i] < 0) {
			err = -errno;
			kb_err("%s: cannot open log dir: %m", s->dirs[i]);
			goto fail;
		}
		remove_tmp_files(s->dfds[i], s->dirs[i]);
	}
	pid_block_load(s);
	err = kb_topics_load(s);
	if (err)
		goto fail;
	kb_cleaner_checkpoint_load(s);
	err = kb_cleaner_start(s);
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	kb_store_close(s);
	return err;
}

void kb_store_close(struct kb_store *s)
{
	if (!s)
		return;
	kb_cleaner_stop(s);
	kb_topics_free(s);
	for (size_t i = 0; s->dirs && i < s->o.n_log_dirs; i++) {
		free(s->dirs[i]);
		if (s->dfds && s->dfds[i] >= 0)
			close(s->dfds[i]);
	}
	free(s->dirs);
	free(s->dfds);
	free(s->dir_load);
	free(s->iov);
	free(s->hdrs);
	free(s->batches);
	free(s->dup_bases);
	free(s->pwork);
	free(s->pwork_new);
	free(s->bsrc);
	free(s->rebuilt);
	free(s->rbuf);
	free(s->bbuf);
	free(s);
}

void kb_store_tick(struct kb_store *s, int64_t now_ms)
{
	for (size_t i = 0; i < s->n_topics; i++)
		for (int32_t k = 0; k < s->topics[i]->t.n_partitions; k++)
			kb_part_tick(s->topics[i]->parts[k], now_ms);
	kb_cleaner_tick(s, now_ms);
}

int kb_store_flush_all(struct kb_store *s)
{
	int err = 0;

	for (size_t i = 0; i < s->n_topics; i++) {
		for (int32_t k = 0; k < s->topics[i]->t.n_partitions; k++) {
			int e = kb_part_flush(s->topics[i]->parts[k]);

			if (e && !err)
				err = e;
		}
	}
	return err;
}
