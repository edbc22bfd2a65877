// SPDX-License-Identifier: GPL-2.0
/* Reading a partition's log: Fetch slices, offsets by time, its bounds. */
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

static size_t find_seg(struct kb_partition *p, int64_t off)
{
	size_t lo = 0, hi = p->n_segs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->segs[mid].base <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

int kb_part_find_batch(struct kb_partition *p, int64_t off, size_t *si,
		       struct kb_hdr_iter *it, struct kb_batch *b,
		       uint64_t *pos)
{
	for (size_t i = find_seg(p, off); i < p->n_segs; i++) {
		struct kb_segment *seg = &p->segs[i];
		uint64_t start = kb_idx_lookup(seg, off);
		int r;

		kb_hdr_iter_init_buf(it, seg->fd, start, seg->size,
				     p->s->rbuf, KB_RBUF_SIZE);
		while ((r = kb_hdr_next(it, b, pos)) > 0)
			if (kb_batch_last(b) >= off) {
				*si = i;
				return 1;
			}
		if (r < 0)
			return r;
	}
	return 0;
}

int kb_partition_read(struct kb_partition *p, int64_t offset,
		      size_t max_bytes, bool min_one,
		      struct kb_read_result *res)
{
	struct kb_hdr_iter it;
	struct kb_segment *seg;
	struct kb_batch b;
	uint64_t pos, start, len;
	size_t si;
	int r;

	*res = (struct kb_read_result){ .high_watermark = p->hw,
		.last_stable_offset = p->hw, .log_start_offset = p->log_start,
		.slice = { .fd = -1 } };
	if (offset < p->log_start || offset > p->hw) {
		res->error = KB_ERR_OFFSET_OUT_OF_RANGE;
		return 0;
	}
	if (offset == p->hw)
		return 0;
	r = kb_part_find_batch(p, offset, &si, &it, &b, &start);
	if (r <= 0) {
		if (r < 0) {
			kb_err("%s: cannot read batch headers: %s", p->path,
			       strerror(-r));
			res->error = KB_ERR_KAFKA_STORAGE_ERROR;
		}
		return r < 0 ? r : 0;
	}
	seg = &p->segs[si];
	if (kb_batch_last(&b) >= p->hw)
		return 0;
	len = kb_batch_size(&b);
	if (len > max_bytes && !min_one)
		return 0;
	/* Jump over whole indexed stretches below the high watermark. */
	for (uint32_t lo = 0, hi = seg->n_o; lo < hi;) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct kb_oidx *e = &seg->o[mid];

		if (e->pos > start + len && e->pos - start <= max_bytes &&
		    seg->base + e->rel <= p->hw) {
			len = e->pos - start;
			lo = mid + 1;
		} else if (e->pos <= start + len) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	it.pos = start + len;
	/* The batch after the slice starts where the slice ends. */
	res->next_offset = si + 1 < p->n_segs ? p->segs[si + 1].base : p->hw;
	while ((r = kb_hdr_next(&it, &b, &pos)) > 0) {
		if (kb_batch_last(&b) >= p->hw ||
		    len + kb_batch_size(&b) > max_bytes) {
			res->next_offset = b.base;
			break;
		}
		len += kb_batch_size(&b);
	}
	res->slice.fd = fcntl(seg->fd, F_DUPFD_CLOEXEC, 0);
	if (res->slice.fd < 0) {
		r = -errno;
		kb_err("%s: cannot dup segment fd: %m", p->path);
		res->error = KB_ERR_KAFKA_STORAGE_ERROR;
		return r;
	}
	res->slice.pos = (off_t)start;
	res->slice.len = (size_t)len;
	return 0;
}

struct kb_part_stats *kb_partition_stats(struct kb_partition *p)
{
	return &p->stats;
}

int64_t kb_partition_log_start(struct kb_partition *p)
{
	return p->log_start;
}

int64_t kb_partition_log_end(struct kb_partition *p)
{
	return p->log_end;
}

int64_t kb_partition_high_watermark(struct kb_partition *p)
{
	return p->hw;
}

uint64_t kb_partition_size(struct kb_partition *p)
{
	uint64_t sz = 0;

	for (size_t i = 0; i < p->n_segs; i++)
		sz += p->segs[i].size;
	return sz;
}

/*
 * Kafka answers with the record, not the batch: walk the records of a
 * CreateTime batch, decompressed if need be, for the first one at or after
 * @ts.  LogAppendTime batches share one timestamp anyway.  On any failure
 * the batch's own offset and timestamp stay the answer.
 */
static void record_for_time(struct kb_partition *p, struct kb_segment *seg,
			    const struct kb_batch *b, uint64_t pos, int64_t ts,
			    int64_t *offset, int64_t *timestamp)
{
	size_t len = (size_t)b->length + 12, n;
	uint8_t *buf, *raw = NULL;
	int codec = b->attr & KB_ATTR_COMPRESSION;
	int64_t rts;
	int32_t delta;

	if ((b->attr & KB_ATTR_LOG_APPEND_TIME) || len <= KB_B_HDR)
		return;
	buf = malloc(len);
	if (!buf)
		return;
	if (pread(seg->fd, buf, len, pos) != (ssize_t)len)
		goto out;
	if (!codec) {
		raw = buf + KB_B_HDR;
		n = len - KB_B_HDR;
	} else if (kb_records_inflate(codec, buf + KB_B_HDR, len - KB_B_HDR,
				      kb_inflate_cap(p->cfg->max_message_bytes),
				      &raw, &n)) {
		raw = NULL;
		goto out;
	}
	if (kb_batch_find_ts(raw, raw + n, b->count, b->base_ts, ts, &delta,
			     &rts) &&
	    b->base + delta >= *offset) {
		*offset = b->base + delta;
		*timestamp = rts;
	}
out:
	if (codec)
		free(raw);
	free(buf);
}

/*
 * ListOffsets MAX_TIMESTAMP (-3): the first record holding the largest
 * timestamp, as Kafka answers since KIP-734 was fixed to name the record,
 * not its batch.  Segments know the batch; its records tell which one.
 */
static int max_timestamp(struct kb_partition *p, int64_t *offset,
			 int64_t *timestamp)
{
	struct kb_segment *best = NULL;
	struct kb_hdr_iter it;
	struct kb_batch b;
	uint64_t pos;
	int r;

	for (size_t i = 0; i < p->n_segs; i++) {
		struct kb_segment *seg = &p->segs[i];

		if (seg->max_ts > *timestamp &&
		    seg->max_ts_off >= p->log_start &&
		    seg->max_ts_off < p->hw) {
			*timestamp = seg->max_ts;
			*offset = seg->max_ts_off;
			best = seg;
		}
	}
	if (!best)
		return KB_ERR_NONE;
	kb_hdr_iter_init_buf(&it, best->fd, kb_idx_lookup(best, *offset),
			     best->size, p->s->rbuf, KB_RBUF_SIZE);
	while ((r = kb_hdr_next(&it, &b, &pos)) > 0) {
		if (kb_batch_last(&b) < *offset)
			continue;
		if (b.base == *offset)
			record_for_time(p, best, &b, pos, *timestamp, offset,
					timestamp);
		break;
	}
	return r < 0 ? KB_ERR_KAFKA_STORAGE_ERROR : KB_ERR_NONE;
}

int kb_partition_offset_for_time(struct kb_partition *p, int64_t ts,
				 int64_t *offset, int64_t *timestamp)
{
	*offset = -1;
	*timestamp = -1;
	if (ts == -1) {
		*offset = p->hw;
		return KB_ERR_NONE;
	}
	if (ts == -2) {
		*offset = p->log_start;
		return KB_ERR_NONE;
	}
	if (ts == -3)
		return max_timestamp(p, offset, timestamp);
	if (ts < 0)
		return KB_ERR_NONE;
	for (size_t i = 0; i < p->n_segs; i++) {
		struct kb_segment *seg = &p->segs[i];
		struct kb_hdr_iter it;
		struct kb_batch b;
		uint64_t pos;
		int r;

		if (seg->max_ts < ts)
			continue;
		kb_hdr_iter_init_buf(&it, seg->fd, kb_idx_lookup_time(seg, ts),
				     seg->size, p->s->rbuf, KB_RBUF_SIZE);
		while ((r = kb_hdr_next(&it, &b, &pos)) > 0) {
			if (kb_batch_last(&b) >= p->hw)
				return KB_ERR_NONE;
			if (b.max_ts < ts || kb_batch_last(&b) < p->log_start)
				continue;
			*offset = b.base > p->log_start ? b.base : p->log_start;
			*timestamp = b.max_ts;
			record_for_time(p, seg, &b, pos, ts, offset,
					timestamp);
			return KB_ERR_NONE;
		}
		if (r < 0)
			return KB_ERR_KAFKA_STORAGE_ERROR;
	}
	return KB_ERR_NONE;
}

/* Deletes segments [0, n) and moves the log start past them. */
