// SPDX-License-Identifier: GPL-2.0
/*
 * Segment files (<base offset, 20 digits>.log) and a buffered walk over
 * their batch headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

static void seg_init(struct kb_segment *seg, int64_t base, int fd)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = base;
	seg->fd = fd;
	seg->roll_ts = -1;
	kb_idx_reset(seg);
}

int kb_seg_create(int dfd, const char *dir, int64_t base, int64_t now_ms,
		  struct kb_segment *seg)
{
	char name[40];
	struct stat st;
	int fd;

	kb_seg_name(name, sizeof(name), base, ".log");
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st)) {
		int err = -errno;

		kb_err("%s/%s: cannot create segment: %m", dir, name);
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (st.st_size) {
		kb_err("%s/%s: new segment already holds data", dir, name);
		close(fd);
		return -EEXIST;
	}
	/* Stale indexes of an earlier segment at this offset. */
	kb_seg_name(name, sizeof(name), base, ".index");
	unlinkat(dfd, name, 0);
	kb_seg_name(name, sizeof(name), base, ".timeindex");
	unlinkat(dfd, name, 0);
	seg_init(seg, base, fd);
	seg->roll_ts = now_ms;
	return 0;
}

int kb_seg_open(int dfd, const char *dir, int64_t base,
		struct kb_segment *seg)
{
	char name[40];
	struct stat st;
	int fd;

	kb_seg_name(name, sizeof(name), base, ".log");
	fd = openat(dfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		int err = -errno;

		kb_err("%s/%s: cannot open segment: %m", dir, name);
		if (fd >= 0)
			close(fd);
		return err;
	}
	seg_init(seg, base, fd);
	seg->size = (uint64_t)st.st_size;
	return 0;
}

void kb_seg_close(struct kb_segment *seg)
{
	if (seg->fd >= 0)
		close(seg->fd);
	seg->fd = -1;
	kb_idx_free(seg);
}

void kb_seg_unlink(int dfd, int64_t base)
{
	static const char *const ext[] = { ".log", ".index", ".timeindex" };
	char name[40];

	for (size_t i = 0; i < 3; i++) {
		kb_seg_name(name, sizeof(name), base, ext[i]);
		if (unlinkat(dfd, name, 0) && errno != ENOENT)
			kb_warn("cannot remove segment file %s: %m", name);
	}
}

void kb_hdr_iter_init(struct kb_hdr_iter *it, int fd, uint64_t pos,
		      uint64_t end, size_t cap)
{
	memset(it, 0, sizeof(*it));
	it->fd = fd;
	it->pos = pos;
	it->end = end;
	it->cap = cap < KB_B_HDR ? KB_B_HDR : cap;
}

void kb_hdr_iter_init_buf(struct kb_hdr_iter *it, int fd, uint64_t pos,
			  uint64_t end, uint8_t *buf, size_t cap)
{
	kb_hdr_iter_init(it, fd, pos, end, cap);
	it->buf = buf;
	it->borrowed = true;
}

void kb_hdr_iter_free(struct kb_hdr_iter *it)
{
	if (!it->borrowed)
		free(it->buf);
	it->buf = NULL;
}

int kb_hdr_next(struct kb_hdr_iter *it, struct kb_batch *b, uint64_t *pos)
{
	if (it->pos >= it->end)
		return 0;
	if (it->end - it->pos < KB_B_HDR)
		return -EBADMSG;
	if (!it->buf) {
		it->buf = malloc(it->cap);
		if (!it->buf)
			return -ENOMEM;
	}
	if (it->pos < it->buf_pos ||
	    it->pos + KB_B_HDR > it->buf_pos + it->buf_len) {
		size_t want = it->cap;
		ssize_t r;

		if (want > it->end - it->pos)
			want = it->end - it->pos;
		r = pread(it->fd, it->buf, want, (off_t)it->pos);
		if (r < 0)
			return -errno;
		it->buf_pos = it->pos;
		it->buf_len = (size_t)r;
		if (r < KB_B_HDR)
			return -EBADMSG;
	}
	kb_batch_parse(it->buf + (it->pos - it->buf_pos), b);
	if (!kb_batch_hdr_sane(b) || kb_batch_size(b) > it->end - it->pos)
		return -EBADMSG;
	*pos = it->pos;
	it->pos += kb_batch_size(b);
	return 1;
}
