// SPDX-License-Identifier: GPL-2.0
/*
 * Appending to a partition's log: batches checked, producer state
 * advanced, written behind and dropped from the page cache as the active
 * segment fills.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

static int grow_scratch(struct kb_store *s, size_t n)
{
	if (n <= s->cap_batches)
		return 0;
	size_t nc = s->cap_batches ? s->cap_batches : 8;

	while (nc < n)
		nc *= 2;
	void *a = realloc(s->batches, nc * sizeof(*s->batches));

	if (!a)
		return -ENOMEM;
	s->batches = a;
	a = realloc(s->dup_bases, nc * sizeof(*s->dup_bases));
	if (!a)
		return -ENOMEM;
	s->dup_bases = a;
	a = realloc(s->hdrs, nc * KB_B_HDR);
	if (!a)
		return -ENOMEM;
	s->hdrs = a;
	a = realloc(s->iov, nc * 2 * sizeof(*s->iov));
	if (!a)
		return -ENOMEM;
	s->iov = a;
	a = realloc(s->pwork, nc * sizeof(*s->pwork));
	if (!a)
		return -ENOMEM;
	s->pwork = a;
	a = realloc(s->pwork_new, nc * sizeof(*s->pwork_new));
	if (!a)
		return -ENOMEM;
	s->pwork_new = a;
	s->cap_batches = nc;
	return 0;
}

/*
 * Write-behind, drop-behind: start writeback of each WB_CHUNK of the active
 * segment as soon as it is full, and drop from the page cache what lies
 * WB_KEEP behind it (written back by then).  The log's cached footprint per
 * partition stays bounded, so appends recycle warm page-cache pages instead
 * of touching fresh memory (costly under a VM's free page reporting), no
 * burst of dirty pages builds up for the kernel to throttle, and the fsync
 * when the segment rolls finds little left to write.  Recent data, what
 * tailing consumers read, stays cached.  Durability is unchanged: this only
 * writes earlier.
 */
#define WB_CHUNK (4u << 20)
#define WB_KEEP (32u << 20)

static void write_behind(struct kb_segment *seg)
{
	uint64_t end = seg->size & ~(uint64_t)(WB_CHUNK - 1);

	/* Reopened or truncated segment: leave older data to the kernel. */
	if (seg->wb_pos > end || end - seg->wb_pos > WB_KEEP)
		seg->wb_pos = end;
	for (; seg->wb_pos < end; seg->wb_pos += WB_CHUNK) {
		/* Hints only: failures leave the kernel's default policy. */
		sync_file_range(seg->fd, (off_t)seg->wb_pos, WB_CHUNK,
				SYNC_FILE_RANGE_WRITE);
		if (seg->wb_pos >= WB_KEEP)
			posix_fadvise(seg->fd, (off_t)(seg->wb_pos - WB_KEEP),
				      WB_CHUNK, POSIX_FADV_DONTNEED);
	}
}

static struct kb_pstate *work_state(struct kb_partition *p, size_t *n_work,
				    int64_t pid)
{
	struct kb_store *s = p->s;
	struct kb_pstate *st;

	for (size_t i = 0; i < *n_work; i++)
		if (s->pwork[i].pid == pid)
			return &s->pwork[i];
	st = kb_prod_find(&p->prod, pid);
	s->pwork_new[*n_work] = !st;
	if (st)
		s->pwork[*n_work] = *st;
	else
		s->pwork[*n_work].pid = pid;
	return &s->pwork[(*n_work)++];
}

int kb_partition_append(struct kb_partition *p, const uint8_t *records,
			size_t len, struct kb_append_result *res)
{
	struct kb_store *s = p->s;
	struct kb_segment *seg;
	size_t n = 0, n_work = 0, off = 0, n_iov = 0;
	int64_t now = kb_now_real_ms(), next = p->log_end, first = -1;
	uint64_t total = 0, pos;
	int64_t msgs = 0;
	int err;

	*res = (struct kb_append_result){ .base_offset = -1,
		.log_append_time = -1, .log_start_offset = p->log_start };
	if (!len) {
		res->error = KB_ERR_CORRUPT_MESSAGE;
		res->error_message = "no record batches";
		return 0;
	}
	/* Check everything before writing anything. */
	while (off < len) {
		struct kb_batch *b;
		int e;

		err = grow_scratch(s, n + 1);
		if (err)
			goto storage;
		b = &s->batches[n];
		e = kb_batch_check(records + off, len - off,
				   p->cfg->max_message_bytes, b,
				   &res->error_message);
		if (e) {
			res->error = (int16_t)e;
			return 0;
		}
		s->dup_bases[n++] = -1;
		off += kb_batch_size(b);
	}
	for (size_t i = 0; i < n; i++) {
		struct kb_batch *b = &s->batches[i];
		struct kb_pstate *st;
		size_t w;
		int e;

		if (b->pid >= 0) {
			st = work_state(p, &n_work, b->pid);
			w = (size_t)(st - s->pwork);
			e = kb_prod_check(s->pwork_new[w] ? NULL : st, b,
					  p->log_start > 0, &s->dup_bases[i]);
			if (e == KB_ERR_DUPLICATE_SEQUENCE_NUMBER)
				continue;
			if (e) {
				res->error = (int16_t)e;
				res->error_message =
					"idempotent producer check failed";
				return 0;
			}
			kb_prod_apply(st, s->pwork_new[w], b, next);
			s->pwork_new[w] = false;
		}
		if (first < 0)
			first = next;
		b->base = next;
		next += (int64_t)b->last_delta + 1;
		total += kb_batch_size(b);
		msgs += b->count;
	}
	if (first < 0) {
		/* Every batch was a retry of one already written. */
		res->base_offset = s->dup_bases[0];
		return 0;
	}
	if (kb_part_should_roll(p, total, next - 1, now)) {
		err = kb_part_roll(p, now);
		if (err)
			goto storage;
	}
	seg = kb_part_active(p);
	off = 0;
	for (size_t i = 0; i < n; i++) {
		struct kb_batch *b = &s->batches[i];
		const uint8_t *src = records + off;
		uint8_t *h = s->hdrs + i * KB_B_HDR;
		size_t sz = kb_batch_size(b);

		off += sz;
		if (s->dup_bases[i] >= 0)
			continue;
		memcpy(h, src, KB_B_HDR);
		kb_put_be64(h + KB_B_BASE_OFFSET, (uint64_t)b->base);
		if (p->cfg->log_append_time ||
		    (b->attr & KB_ATTR_LOG_APPEND_TIME)) {
			uint32_t c;

			/* maxTimestamp and attributes are under the CRC. */
			b->attr |= KB_ATTR_LOG_APPEND_TIME;
			kb_put_be16(h + KB_B_ATTR, (uint16_t)b->attr);
			b->max_ts = now;
			res->log_append_time = now;
			kb_put_be64(h + KB_B_MAX_TS, (uint64_t)now);
			c = kb_crc32c(0, h + KB_B_ATTR, KB_B_HDR - KB_B_ATTR);
			c = kb_crc32c(c, src + KB_B_HDR, sz - KB_B_HDR);
			kb_put_be32(h + KB_B_CRC, c);
		}
		s->iov[n_iov++] = (struct iovec){ h, KB_B_HDR };
		if (sz > KB_B_HDR)
			s->iov[n_iov++] = (struct iovec){
				(void *)(src + KB_B_HDR), sz - KB_B_HDR };
	}
	err = kb_writev_all(seg->fd, s->iov, (int)n_iov, (off_t)seg->size);
	if (err) {
		errno = -err;
		kb_err("%s: write to segment %" PRId64 " failed: %m", p->path,
		       seg->base);
		if (ftruncate(seg->fd, (off_t)seg->size))
			kb_err("%s: cannot undo a partial write: %m", p->path);
		goto storage;
	}
	pos = seg->size;
	if (!seg->size)
		seg->roll_ts = -1;
	for (size_t i = 0; i < n; i++) {
		struct kb_batch *b = &s->batches[i];

		if (s->dup_bases[i] >= 0)
			continue;
		if (seg->roll_ts < 0)
			seg->roll_ts = b->max_ts >= 0 ? b->max_ts : now;
		if (kb_idx_note(seg, b, pos, p->cfg->index_interval_bytes))
			kb_warn("%s: out of memory for index entries",
				p->path);
		pos += kb_batch_size(b);
	}
	seg->size = pos;
	write_behind(seg);
	p->log_end = next;
	p->hw = next;
	for (size_t i = 0; i < n_work; i++)
		if (!s->pwork_new[i] && kb_prod_put(&p->prod, &s->pwork[i]))
			kb_err("%s: out of memory for producer state",
			       p->path);
	p->dirty = true;
	p->unflushed += msgs;
	res->base_offset = first;
	if (p->unflushed >= p->cfg->flush_messages) {
		err = kb_part_flush(p);
		if (err)
			goto storage;
	}
	return 0;
storage:
	res->error = KB_ERR_KAFKA_STORAGE_ERROR;
	res->error_message = "log storage error";
	res->base_offset = -1;
	return err;
}

/* Segment holding @off: the last one whose base is <= @off. */
