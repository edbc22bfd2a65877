// SPDX-License-Identifier: GPL-2.0
/*
 * Committed offsets file: commits survive a reopen, a torn or corrupt
 * tail is cut without losing the records before it, deletes and group
 * deletes are durable, explicit expiry times are honoured on load.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/broker.h"
#include "common/config.h"
#include "group/group.h"
#include "tap.h"

static char dir[] = "/tmp/kbgroupXXXXXX";
static char *dirs[1];
static struct kb_config cfg;
static struct kb_broker brokers[8];
static int nb;

/* A fresh coordinator, as after a restart. */
static struct kb_groups *reopen(void)
{
	struct kb_broker *b = &brokers[nb++];

	b->cfg = &cfg;
	return kb_groups_get(b);
}

static int64_t off(struct kb_groups *gs, const char *g, const char *t, int p)
{
	struct kb_group *grp = kb_group_find(gs, g);
	struct kb_offset *o = grp ? kb_offset_find(grp, t, p) : NULL;

	return o ? o->offset : -1;
}

static off_t fsize(void)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/__consumer_offsets.kbo", dir);
	return stat(path, &st) ? -1 : st.st_size;
}

static void append_junk(const void *p, size_t n)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/__consumer_offsets.kbo", dir);
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd >= 0) {
		if (write(fd, p, n) != (ssize_t)n)
			perror("write");
		close(fd);
	}
}

int main(void)
{
	struct kb_commit c[3] = {
		{ "t", 0, -1, 10, "m0", 2, -1 },
		{ "t", 1, -1, 11, NULL, -1, -1 },
		{ "u", 0, 5, 12, "", 0, -1 },
	};
	struct kb_groups *gs;
	struct kb_group *g;
	off_t good;

	if (!mkdtemp(dir))
		return 1;
	dirs[0] = dir;
	cfg.log_dirs = dirs;
	cfg.n_log_dirs = 1;
	cfg.offsets_retention_min = 10080;

	gs = reopen();
	ok(gs && !gs->broken, "offsets file opens in an empty dir");
	g = kb_group_create(gs, "g1");
	ok(!kb_offsets_commit(gs, g, c, 3), "a batch of 3 commits");
	c[0].offset = 20;
	ok(!kb_offsets_commit(gs, g, c, 1), "a later commit of t-0");
	g = kb_group_create(gs, "g2");
	ok(!kb_offsets_commit(gs, g, &c[2], 1), "a commit in group g2");

	gs = reopen();
	ok(off(gs, "g1", "t", 0) == 20 && off(gs, "g1", "t", 1) == 11 &&
	   off(gs, "g1", "u", 0) == 12 && off(gs, "g2", "u", 0) == 12,
	   "reopen: the latest offsets of both groups");
	g = kb_group_find(gs, "g1");
	ok(g && !strcmp(kb_offset_find(g, "t", 0)->meta, "m0") &&
	   !kb_offset_find(g, "t", 1)->meta &&
	   kb_offset_find(g, "u", 0)->epoch == 5,
	   "metadata (null kept null) and leader epoch survive");

	good = fsize();
	append_junk("\0\0\0\x40\x12\x34", 6);		/* torn header */
	gs = reopen();
	ok(off(gs, "g1", "t", 0) == 20 && fsize() == good,
	   "a torn tail is cut, earlier records kept");

	append_junk("\0\0\0\x04\0\0\0\0abcd", 12);	/* bad CRC */
	gs = reopen();
	ok(off(gs, "g2", "u", 0) == 12 && fsize() == good,
	   "a record with a bad CRC is cut");

	g = kb_group_find(gs, "g1");
	ok(!kb_offsets_delete(gs, g, "t", 1), "delete one offset");
	g = kb_group_find(gs, "g2");
	ok(!kb_offsets_delete(gs, g, NULL, -1), "delete group g2's offsets");
	gs = reopen();
	ok(off(gs, "g1", "t", 1) == -1 && off(gs, "g1", "t", 0) == 20 &&
	   !kb_group_find(gs, "g2"), "deletes are durable");

	g = kb_group_find(gs, "g1");
	c[1].expire_ms = kb_now_real_ms() - 1;		/* v2-4 retention */
	ok(!kb_offsets_commit(gs, g, &c[1], 1), "commit already expired");
	gs = reopen();
	ok(off(gs, "g1", "t", 1) == -1 && off(gs, "g1", "t", 0) == 20,
	   "expired offset dropped on load, others kept");

	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "cleanup failed\n");
	}
	return tap_done();
}
