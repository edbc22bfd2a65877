// SPDX-License-Identifier: GPL-2.0
/*
 * Appending to a partition's log: batches checked (and recompressed when
 * the topic's compression.type asks for another codec), producer state
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

#include "common/config.h"
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
	a = realloc(s->bsrc, nc * sizeof(*s->bsrc));
	if (!a)
		return -ENOMEM;
	s->bsrc = a;
	a = realloc(s->rebuilt, nc * sizeof(*s->rebuilt));
	if (!a)
		return -ENOMEM;
	s->rebuilt = a;
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

static int storage_error(struct kb_append_result *res, int err)
{
	res->error = KB_ERR_KAFKA_STORAGE_ERROR;
	res->error_message = "log storage error";
	res->base_offset = -1;
	return err;
}

/* One append's progress, shared by its steps. */
struct append {
	const uint8_t *records;
	size_t len;
	size_t n;			/* batches, in s->batches */
	size_t n_work;			/* producer states, in s->pwork */
	int64_t now;
	int64_t first, next;		/* first offset given, log end after */
	uint64_t total;			/* bytes to write */
	int64_t msgs;
};

/*
 * Checks the batch at @src and, when the topic's compression.type names
 * another codec than the batch's, rebuilds it with that codec around the
 * records the check decompressed (s->rebuilt[@i]).  0 or a KB_ERR_*.
 */
static int check_one(struct kb_partition *p, size_t i, const uint8_t *src,
		     size_t avail, const char **why)
{
	struct kb_store *s = p->s;
	struct kb_batch *b = &s->batches[i];
	int codec = p->cfg->compression;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int e;

	s->bsrc[i] = src;
	s->rebuilt[i] = NULL;
	if (codec == KB_COMPRESSION_PRODUCER)
		return kb_batch_check(src, avail, p->cfg->max_message_bytes, b,
				      why);
	e = kb_batch_check_raw(src, avail, p->cfg->max_message_bytes, b, why,
			       &raw, &raw_len);
	if (e || (b->attr & KB_ATTR_COMPRESSION) == codec) {
		free(raw);
		return e;
	}
	e = kb_batch_recompress(src, b, raw ? raw : src + KB_B_HDR,
				raw ? raw_len : kb_batch_size(b) - KB_B_HDR,
				codec, p->cfg->max_message_bytes,
				&s->rebuilt[i], why);
	free(raw);
	if (!e)
		s->bsrc[i] = s->rebuilt[i];
	return e;
}

/* Frees the batches check_one() rebuilt. */
static void free_rebuilt(struct kb_store *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s->rebuilt[i]);
		s->rebuilt[i] = NULL;
	}
}

/* Checks every batch before anything is written: 0, a KB_ERR_* code
 * (> 0, in @res) or a negative errno. */
static int check_batches(struct kb_partition *p, struct append *a,
			 struct kb_append_result *res)
{
	struct kb_store *s = p->s;
	size_t off = 0;

	while (off < a->len) {
		struct kb_batch *b;
		int e, err;

		err = grow_scratch(s, a->n + 1);
		if (err)
			return err;
		b = &s->batches[a->n];
		e = check_one(p, a->n, a->records + off, a->len - off,
			      &res->error_message);
		if (!e && p->cfg->policy_compact &&
		    !kb_batch_keyed(s->bsrc[a->n], b)) {
			/* Kafka's words for the same refusal. */
			res->error_message = "Compacted topic cannot accept message without key";
			e = KB_ERR_INVALID_RECORD;
		}
		a->n++;
		if (e) {
			res->error = (int16_t)e;
			return e;
		}
		s->dup_bases[a->n - 1] = -1;
		/* What the producer sent: a rebuilt batch's size is not. */
		off += s->rebuilt[a->n - 1] ? KB_B_LOG_OVERHEAD +
		       kb_get_be32(a->records + off + KB_B_LENGTH) :
		       kb_batch_size(b);
	}
	return 0;
}

/* Idempotent producer checks and offsets for each batch; a retried batch
 * keeps its first offset in s->dup_bases.  0 or a KB_ERR_* in @res. */
static int assign_offsets(struct kb_partition *p, struct append *a,
			  struct kb_append_result *res)
{
	struct kb_store *s = p->s;

	for (size_t i = 0; i < a->n; i++) {
		struct kb_batch *b = &s->batches[i];
		struct kb_pstate *st;
		size_t w;
		int e;

		if (b->pid >= 0) {
			st = work_state(p, &a->n_work, b->pid);
			w = (size_t)(st - s->pwork);
			e = kb_prod_check(s->pwork_new[w] ? NULL : st, b,
					  p->log_start > 0, &s->dup_bases[i]);
			if (e == KB_ERR_DUPLICATE_SEQUENCE_NUMBER)
				continue;
			if (e) {
				res->error = (int16_t)e;
				res->error_message =
					"idempotent producer check failed";
				return e;
			}
			kb_prod_apply(st, s->pwork_new[w], b, a->next);
			s->pwork_new[w] = false;
		}
		if (a->first < 0)
			a->first = a->next;
		b->base = a->next;
		a->next += (int64_t)b->last_delta + 1;
		a->total += kb_batch_size(b);
		a->msgs += b->count;
	}
	return 0;
}

/* The headers, rewritten with their offsets (and LogAppendTime), and the
 * record bytes in place: the iovec to write.  Returns its length. */
static size_t build_iov(struct kb_partition *p, struct append *a,
			struct kb_append_result *res)
{
	struct kb_store *s = p->s;
	size_t n_iov = 0;

	for (size_t i = 0; i < a->n; i++) {
		struct kb_batch *b = &s->batches[i];
		const uint8_t *src = s->bsrc[i];
		uint8_t *h = s->hdrs + i * KB_B_HDR;
		size_t sz = kb_batch_size(b);

		if (s->dup_bases[i] >= 0)
			continue;
		memcpy(h, src, KB_B_HDR);
		kb_put_be64(h + KB_B_BASE_OFFSET, (uint64_t)b->base);
		/* partitionLeaderEpoch is outside the CRC. */
		kb_put_be32(h + KB_B_EPOCH, (uint32_t)p->leader_epoch);
		if (p->cfg->log_append_time ||
		    (b->attr & KB_ATTR_LOG_APPEND_TIME)) {
			uint32_t c;

			/* maxTimestamp and attributes are under the CRC. */
			b->attr |= KB_ATTR_LOG_APPEND_TIME;
			kb_put_be16(h + KB_B_ATTR, (uint16_t)b->attr);
			b->max_ts = a->now;
			res->log_append_time = a->now;
			kb_put_be64(h + KB_B_MAX_TS, (uint64_t)a->now);
			c = kb_crc32c(0, h + KB_B_ATTR, KB_B_HDR - KB_B_ATTR);
			c = kb_crc32c(c, src + KB_B_HDR, sz - KB_B_HDR);
			kb_put_be32(h + KB_B_CRC, c);
		}
		s->iov[n_iov++] = (struct iovec){ h, KB_B_HDR };
		if (sz > KB_B_HDR)
			s->iov[n_iov++] = (struct iovec){
				(void *)(src + KB_B_HDR), sz - KB_B_HDR };
	}
	return n_iov;
}

/* After the write: index entries, segment size, log end, producers. */
static void commit_append(struct kb_partition *p, struct kb_segment *seg,
			  struct append *a)
{
	struct kb_store *s = p->s;
	uint64_t pos = seg->size;

	if (!seg->size)
		seg->roll_ts = -1;
	for (size_t i = 0; i < a->n; i++) {
		struct kb_batch *b = &s->batches[i];

		if (s->dup_bases[i] >= 0)
			continue;
		if (seg->roll_ts < 0)
			seg->roll_ts = b->max_ts >= 0 ? b->max_ts : a->now;
		if (kb_idx_note(seg, b, pos, p->cfg->index_interval_bytes))
			kb_warn("%s: out of memory for index entries",
				p->path);
		pos += kb_batch_size(b);
	}
	seg->size = pos;
	write_behind(seg);
	p->log_end = a->next;
	p->hw = a->next;
	for (size_t i = 0; i < a->n_work; i++)
		if (!s->pwork_new[i] && kb_prod_put(&p->prod, &s->pwork[i]))
			kb_err("%s: out of memory for producer state",
			       p->path);
	p->dirty = true;
	p->unflushed += a->msgs;
	p->stats.msgs_in += (uint64_t)a->msgs;
	p->stats.bytes_in += a->total;
}

/* Rolls if need be, writes the checked batches and commits them: 0 or a
 * negative errno. */
static int write_batches(struct kb_partition *p, struct append *a,
			 struct kb_append_result *res)
{
	struct kb_segment *seg;
	size_t n_iov;
	int err;

	if (kb_part_should_roll(p, a->total, a->next - 1, a->now)) {
		err = kb_part_roll(p, a->now);
		if (err)
			return err;
	}
	seg = kb_part_active(p);
	n_iov = build_iov(p, a, res);
	err = kb_writev_all(seg->fd, p->s->iov, (int)n_iov,
			    (off_t)seg->size);
	if (err) {
		errno = -err;
		kb_err("%s: write to segment %" PRId64 " failed: %m", p->path,
		       seg->base);
		if (ftruncate(seg->fd, (off_t)seg->size))
			kb_err("%s: cannot undo a partial write: %m", p->path);
		return err;
	}
	commit_append(p, seg, a);
	return 0;
}

int kb_partition_append(struct kb_partition *p, const uint8_t *records,
			size_t len, struct kb_append_result *res)
{
	struct append a = {
		.records = records, .len = len, .now = kb_now_real_ms(),
		.first = -1, .next = p->log_end,
	};
	int err;

	*res = (struct kb_append_result){ .base_offset = -1,
		.log_append_time = -1, .log_start_offset = p->log_start };
	if (!len) {
		res->error = KB_ERR_CORRUPT_MESSAGE;
		res->error_message = "no record batches";
		return 0;
	}
	err = check_batches(p, &a, res);
	if (!err && !assign_offsets(p, &a, res)) {
		if (a.first < 0)
			/* Every batch was a retry of one already written. */
			res->base_offset = p->s->dup_bases[0];
		else
			err = write_batches(p, &a, res);
	}
	free_rebuilt(p->s, a.n);
	if (err < 0)
		return storage_error(res, err);
	if (err || res->error || a.first < 0)
		return 0;
	kb_epoch_assign(p, p->leader_epoch, a.first);
	res->base_offset = a.first;
	if (p->unflushed >= p->cfg->flush_messages) {
		err = kb_part_flush(p);
		if (err)
			return storage_error(res, err);
	}
	return 0;
}

/* Segment holding @off: the last one whose base is <= @off. */
