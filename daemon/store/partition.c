// SPDX-License-Identifier: GPL-2.0
/*
 * One partition's log: recovery on open, append, read, roll, retention,
 * flush and truncation.
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

#define LOG_START_FILE "log-start-offset"

struct offsets {
	int64_t *v;
	size_t n, cap;
};

static int offsets_push(struct offsets *o, int64_t v)
{
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 16;
		int64_t *nv = realloc(o->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		o->v = nv;
		o->cap = nc;
	}
	o->v[o->n++] = v;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* "<20 digits><ext>" → offset, or -1. */
static int64_t parse_name(const char *name, const char *ext)
{
	size_t el = strlen(ext);
	int64_t v = 0;

	if (strlen(name) != 20 + el || strcmp(name + 20, ext))
		return -1;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9' || v > INT64_MAX / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

/* Lists segments and snapshots (sorted) and removes leftover temp files. */
static int list_dir(struct kb_partition *p, struct offsets *logs,
		    struct offsets *snaps)
{
	int fd = openat(p->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	int err = 0;

	if (!d) {
		err = -errno;
		kb_err("%s: cannot list partition dir: %m", p->path);
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (!err && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		int64_t v = parse_name(de->d_name, ".log");
		int64_t sn = parse_name(de->d_name, ".snapshot");

		if (l > 4 && !strcmp(de->d_name + l - 4, ".tmp")) {
			kb_warn("%s/%s: removing leftover temp file", p->path,
				de->d_name);
			unlinkat(p->dfd, de->d_name, 0);
		} else if (v >= 0) {
			err = offsets_push(logs, v);
		} else if (snaps && sn >= 0) {
			err = offsets_push(snaps, sn);
		}
	}
	closedir(d);
	/* qsort() must not be given NULL, even for no elements. */
	if (logs->n)
		qsort(logs->v, logs->n, sizeof(int64_t), cmp_i64);
	if (snaps && snaps->n)
		qsort(snaps->v, snaps->n, sizeof(int64_t), cmp_i64);
	return err;
}

static int write_log_start(struct kb_partition *p, int64_t off)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64 "\n", off);

	return kb_write_atomic(p->dfd, p->path, LOG_START_FILE, buf, (size_t)n);
}

static int64_t read_log_start(struct kb_partition *p)
{
	char *buf, *end;
	size_t len;
	long long v;

	if (kb_read_small(p->dfd, LOG_START_FILE, &buf, &len))
		return 0;
	v = strtoll(buf, &end, 10);
	if (end == buf || v < 0) {
		kb_warn("%s/%s: bad log start offset, ignoring it", p->path,
			LOG_START_FILE);
		v = 0;
	}
	free(buf);
	return v;
}

static struct kb_segment *active(struct kb_partition *p)
{
	return &p->segs[p->n_segs - 1];
}

static int segs_push(struct kb_partition *p, const struct kb_segment *seg)
{
	if (p->n_segs == p->cap_segs) {
		size_t nc = p->cap_segs ? p->cap_segs * 2 : 8;
		struct kb_segment *nv = realloc(p->segs, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->segs = nv;
		p->cap_segs = nc;
	}
	p->segs[p->n_segs++] = *seg;
	return 0;
}

static int grow_bbuf(struct kb_store *s, size_t need)
{
	uint8_t *nb;

	if (need <= s->cap_bbuf)
		return 0;
	nb = realloc(s->bbuf, need);
	if (!nb)
		return -ENOMEM;
	s->bbuf = nb;
	s->cap_bbuf = need;
	return 0;
}

static void cut_tail(struct kb_partition *p, struct kb_segment *seg,
		     uint64_t pos, const char *why)
{
	char name[40];

	kb_seg_name(name, sizeof(name), seg->base, ".log");
	kb_warn("%s/%s: %s at position %" PRIu64 ", cutting %" PRIu64
		" bytes", p->path, name, why, pos, seg->size - pos);
	if (ftruncate(seg->fd, (off_t)pos) || fsync(seg->fd))
		kb_err("%s/%s: cannot truncate: %m", p->path, name);
	seg->size = pos;
}

/*
 * Walks a segment's batches, rebuilding its indexes; with @full every batch
 * is read and checked (CRC, records) as on append.  A bad or torn tail is
 * cut.  Returns the offset after the last batch (the segment's base when
 * empty) or a negative errno.
 */
static int64_t scan_segment(struct kb_partition *p, struct kb_segment *seg,
			    bool full, int64_t now_ms)
{
	struct kb_store *s = p->s;
	struct kb_hdr_iter it;
	struct kb_batch b;
	uint64_t pos, good = 0;
	int64_t next = seg->base;
	const char *why = NULL;
	int r;

	kb_idx_reset(seg);
	kb_hdr_iter_init_buf(&it, seg->fd, 0, seg->size, s->rbuf,
			     KB_RBUF_SIZE);
	while ((r = kb_hdr_next(&it, &b, &pos)) > 0) {
		if (b.base < next) {
			why = "batch offset goes backwards";
			break;
		}
		if (full) {
			size_t sz = kb_batch_size(&b);

			if (grow_bbuf(s, sz))
				return -ENOMEM;
			if (pread(seg->fd, s->bbuf, sz, (off_t)pos) !=
			    (ssize_t)sz) {
				why = "short read";
				break;
			}
			if (kb_batch_check(s->bbuf, sz, 0, &b, &why))
				break;
			why = NULL;
		}
		if (!good)
			seg->roll_ts = b.max_ts >= 0 ? b.max_ts : now_ms;
		if (kb_idx_note(seg, &b, pos, s->o.index_interval_bytes))
			return -ENOMEM;
		next = kb_batch_last(&b) + 1;
		good = it.pos;
	}
	if (r < 0 && r != -EBADMSG)
		return r;
	if (good < seg->size)
		cut_tail(p, seg, good, why ? why : "torn or invalid batch");
	return next;
}

/* Replays producer fields of segments [from, n) into p->prod. */
static int replay_producers(struct kb_partition *p, size_t from)
{
	for (size_t i = from; i < p->n_segs; i++) {
		struct kb_segment *seg = &p->segs[i];
		struct kb_hdr_iter it;
		struct kb_batch b;
		uint64_t pos;
		int r;

		kb_hdr_iter_init_buf(&it, seg->fd, 0, seg->size, p->s->rbuf,
				     KB_RBUF_SIZE);
		while ((r = kb_hdr_next(&it, &b, &pos)) > 0) {
			struct kb_pstate *st, fresh;

			if (b.pid < 0)
				continue;
			st = kb_prod_find(&p->prod, b.pid);
			if (st) {
				kb_prod_apply(st, false, &b, b.base);
				continue;
			}
			kb_prod_apply(&fresh, true, &b, b.base);
			if (kb_prod_put(&p->prod, &fresh))
				return -ENOMEM;
		}
		if (r < 0 && r != -EBADMSG)
			return r;
	}
	return 0;
}

/* Loads the newest usable snapshot at a segment base and replays the rest. */
static int rebuild_producers(struct kb_partition *p, struct offsets *snaps)
{
	size_t from = 0;

	kb_prod_free(&p->prod);
	for (size_t k = snaps->n; k-- > 0;) {
		int64_t off = snaps->v[k];
		size_t i;

		if (off > p->log_end)
			continue;
		for (i = 0; i < p->n_segs && p->segs[i].base != off; i++)
			;
		if (i == p->n_segs)
			continue;
		if (!kb_prod_snapshot_load(p->dfd, p->path, off, &p->prod)) {
			from = i;
			break;
		}
	}
	return replay_producers(p, from);
}

static void remove_snapshots(struct kb_partition *p, struct offsets *snaps,
			     int64_t below, int64_t above)
{
	char name[48];

	for (size_t k = 0; k < snaps->n; k++) {
		if (snaps->v[k] >= below && snaps->v[k] <= above)
			continue;
		kb_prod_snapshot_name(name, sizeof(name), snaps->v[k]);
		unlinkat(p->dfd, name, 0);
	}
}

static int drop_head(struct kb_partition *p, size_t n, const char *why);

static int open_segments(struct kb_partition *p, struct offsets *logs,
			 int64_t now_ms)
{
	struct kb_segment seg;
	int64_t next;
	int err;

	for (size_t i = 0; i < logs->n; i++) {
		bool last = i + 1 == logs->n;

		err = kb_seg_open(p->dfd, p->path, logs->v[i], &seg);
		if (err)
			return err;
		err = segs_push(p, &seg);
		if (err) {
			kb_seg_close(&seg);
			return err;
		}
		if (!last && !kb_idx_load(p->dfd, &p->segs[i]))
			continue;
		/* The active segment is always rebuilt and checked in full. */
		next = scan_segment(p, &p->segs[i], last, now_ms);
		if (next < 0)
			return (int)next;
		if (last)
			p->log_end = next;
		else
			kb_idx_seal(&p->segs[i]);
		/* Active indexes are rebuilt on every open: not synced. */
		err = kb_idx_save(p->dfd, p->path, &p->segs[i], !last);
		if (err)
			return err;
	}
	return 0;
}

int kb_part_open(struct kb_store *s, int dir_idx, const char *topic,
		 int32_t idx, bool create, struct kb_partition **out)
{
	struct offsets logs = { 0 }, snaps = { 0 };
	struct kb_partition *p = calloc(1, sizeof(*p));
	int64_t now = kb_now_real_ms(), ckpt;
	char name[KB_TOPIC_NAME_MAX + 16];
	size_t n_below;
	int err;

	if (!p)
		return -ENOMEM;
	p->s = s;
	p->cfg = &s->dflt;
	p->dfd = -1;
	p->dir_idx = dir_idx;
	p->last_flush_ms = now;
	snprintf(name, sizeof(name), "%s-%d", topic, idx);
	if (asprintf(&p->path, "%s/%s", s->dirs[dir_idx], name) < 0) {
		p->path = NULL;
		err = -ENOMEM;
		goto fail;
	}
	if (create && mkdirat(s->dfds[dir_idx], name, 0755) &&
	    errno != EEXIST) {
		err = -errno;
		kb_err("%s: cannot create partition dir: %m", p->path);
		goto fail;
	}
	p->dfd = openat(s->dfds[dir_idx], name,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dfd < 0) {
		err = -errno;
		kb_err("%s: cannot open partition dir: %m", p->path);
		goto fail;
	}
	err = list_dir(p, &logs, &snaps);
	if (err)
		goto fail;
	ckpt = read_log_start(p);
	if (!logs.n) {
		struct kb_segment seg;

		err = kb_seg_create(p->dfd, p->path, ckpt, now, &seg);
		if (err)
			goto fail;
		err = segs_push(p, &seg);
		if (err) {
			kb_seg_close(&seg);
			goto fail;
		}
		p->log_end = ckpt;
		err = kb_fsync_dir(p->dfd, p->path);
		if (!err && create)
			err = kb_fsync_dir(s->dfds[dir_idx], s->dirs[dir_idx]);
		if (err)
			goto fail;
	} else {
		err = open_segments(p, &logs, now);
		if (err)
			goto fail;
	}
	p->log_start = ckpt > p->segs[0].base ? ckpt : p->segs[0].base;
	if (p->log_start > p->log_end)
		p->log_start = p->log_end;
	p->hw = p->log_end;
	/* Segments wholly below the log start: a deletion cut short. */
	for (n_below = 0; n_below + 1 < p->n_segs &&
	     p->segs[n_below + 1].base <= p->log_start; n_below++)
		;
	err = n_below ? drop_head(p, n_below, "below log start") : 0;
	if (err)
		goto fail;
	err = rebuild_producers(p, &snaps);
	if (err)
		goto fail;
	free(logs.v);
	free(snaps.v);
	*out = p;
	return 0;
fail:
	free(logs.v);
	free(snaps.v);
	kb_part_close(p);
	return err;
}

void kb_part_close(struct kb_partition *p)
{
	if (!p)
		return;
	if (p->n_segs) {
		kb_part_flush(p);
		kb_idx_save(p->dfd, p->path, active(p), false);
	}
	for (size_t i = 0; i < p->n_segs; i++)
		kb_seg_close(&p->segs[i]);
	free(p->segs);
	kb_prod_free(&p->prod);
	if (p->dfd >= 0)
		close(p->dfd);
	free(p->path);
	free(p);
}

int kb_part_flush(struct kb_partition *p)
{
	if (!p->dirty)
		return 0;
	if (fdatasync(active(p)->fd)) {
		int err = -errno;

		kb_err("%s: fsync of segment %" PRId64 " failed: %m", p->path,
		       active(p)->base);
		return err;
	}
	p->dirty = false;
	p->unflushed = 0;
	p->last_flush_ms = kb_now_real_ms();
	return 0;
}

/* Seals the active segment and starts a new one at the log end. */
static int roll(struct kb_partition *p, int64_t now_ms)
{
	struct offsets logs = { 0 }, snaps = { 0 };
	struct kb_segment *old = active(p), seg;
	int err;

	/*
	 * Old data and its indexes are durable before the new file exists,
	 * so recovery only ever has to check the last segment.
	 */
	kb_idx_seal(old);
	err = kb_idx_save(p->dfd, p->path, old, true);
	if (err)
		return err;
	if (fdatasync(old->fd)) {
		err = -errno;
		kb_err("%s: fsync of segment %" PRId64 " failed: %m", p->path,
		       old->base);
		return err;
	}
	p->dirty = false;
	p->unflushed = 0;
	p->last_flush_ms = now_ms;
	err = kb_prod_snapshot_write(p->dfd, &p->prod, p->log_end);
	if (err)
		return err;
	err = kb_seg_create(p->dfd, p->path, p->log_end, now_ms, &seg);
	if (err)
		return err;
	err = segs_push(p, &seg);
	if (err) {
		kb_seg_close(&seg);
		kb_seg_unlink(p->dfd, seg.base);
		return err;
	}
	err = kb_fsync_dir(p->dfd, p->path);
	/* Keep the snapshots at the last two segment bases. */
	if (!list_dir(p, &logs, &snaps))
		remove_snapshots(p, &snaps, p->segs[p->n_segs - 2].base,
				 INT64_MAX);
	free(logs.v);
	free(snaps.v);
	return err;
}

static bool should_roll(struct kb_partition *p, uint64_t add,
			int64_t next_last, int64_t now_ms)
{
	struct kb_segment *a = active(p);
	const struct kb_log_cfg *o = p->cfg;

	if (!a->size)
		return false;
	return a->size + add > o->segment_bytes ||
	       (o->roll_ms >= 0 && now_ms - a->roll_ts > o->roll_ms) ||
	       next_last - a->base > INT32_MAX;
}

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
	if (should_roll(p, total, next - 1, now)) {
		err = roll(p, now);
		if (err)
			goto storage;
	}
	seg = active(p);
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
		if (kb_idx_note(seg, b, pos, s->o.index_interval_bytes))
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

/* First batch whose last offset is >= @off in segment @i or later. */
static int find_batch(struct kb_partition *p, int64_t off, size_t *si,
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
	r = find_batch(p, offset, &si, &it, &b, &start);
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
	while ((r = kb_hdr_next(&it, &b, &pos)) > 0) {
		if (kb_batch_last(&b) >= p->hw ||
		    len + kb_batch_size(&b) > max_bytes)
			break;
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
	if (ts == -3) {
		for (size_t i = 0; i < p->n_segs; i++) {
			struct kb_segment *seg = &p->segs[i];

			if (seg->max_ts > *timestamp &&
			    seg->max_ts_off >= p->log_start &&
			    seg->max_ts_off < p->hw) {
				*timestamp = seg->max_ts;
				*offset = seg->max_ts_off;
			}
		}
		return KB_ERR_NONE;
	}
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
static int drop_head(struct kb_partition *p, size_t n, const char *why)
{
	int64_t start = p->segs[n].base;
	int err;

	if (start < p->log_start)
		start = p->log_start;
	/* Persist the new start first: a crash then leaves only garbage. */
	err = write_log_start(p, start);
	if (err)
		return err;
	kb_info("%s: %s: deleting %zu segment(s), log start %" PRId64
		" -> %" PRId64, p->path, why, n, p->log_start, start);
	for (size_t i = 0; i < n; i++) {
		kb_seg_close(&p->segs[i]);
		kb_seg_unlink(p->dfd, p->segs[i].base);
	}
	memmove(p->segs, p->segs + n, (p->n_segs - n) * sizeof(*p->segs));
	p->n_segs -= n;
	p->log_start = start;
	if (p->hw < start)
		p->hw = start;
	return 0;
}

/*
 * Deletes the oldest segments past retention.ms or retention.bytes.  As in
 * Kafka, that can include the active segment once it is wholly expired: a
 * new, empty one is rolled first so the partition always has one.
 */
static void retention(struct kb_partition *p, int64_t now_ms)
{
	const struct kb_log_cfg *o = p->cfg;
	uint64_t total = o->retention_bytes >= 0 ? kb_partition_size(p) : 0;
	size_t n = 0;
	bool by_time = false;

	while (n < p->n_segs) {
		struct kb_segment *seg = &p->segs[n];

		if (n + 1 == p->n_segs && !seg->size)
			break;
		bool t = o->retention_ms >= 0 && seg->max_ts >= 0 &&
			 seg->max_ts < now_ms - o->retention_ms;
		bool b = o->retention_bytes >= 0 &&
			 total - seg->size >= (uint64_t)o->retention_bytes;

		if (!t && !b)
			break;
		by_time |= t;
		total -= seg->size;
		n++;
	}
	if (!n || (n == p->n_segs && roll(p, now_ms)))
		return;
	drop_head(p, n, by_time ? "retention.ms" : "retention.bytes");
}

void kb_part_tick(struct kb_partition *p, int64_t now_ms)
{
	const struct kb_log_cfg *o = p->cfg;

	if (p->dirty && o->flush_ms >= 0 &&
	    now_ms - p->last_flush_ms >= o->flush_ms)
		kb_part_flush(p);
	if (active(p)->size && o->roll_ms >= 0 &&
	    now_ms - active(p)->roll_ts > o->roll_ms)
		roll(p, now_ms);
	retention(p, now_ms);
}

/* Everything goes: start again, empty, at @offset. */
static int truncate_fully(struct kb_partition *p, int64_t offset)
{
	struct kb_segment seg;
	int err;

	for (size_t i = 0; i < p->n_segs; i++) {
		kb_seg_close(&p->segs[i]);
		kb_seg_unlink(p->dfd, p->segs[i].base);
	}
	p->n_segs = 0;
	err = kb_seg_create(p->dfd, p->path, offset, kb_now_real_ms(), &seg);
	if (err)
		return err;
	segs_push(p, &seg);	/* cannot fail: capacity is there */
	p->log_start = p->log_end = p->hw = offset;
	err = write_log_start(p, offset);
	if (!err)
		err = kb_fsync_dir(p->dfd, p->path);
	return err;
}

int kb_partition_truncate(struct kb_partition *p, int64_t offset)
{
	struct offsets logs = { 0 }, snaps = { 0 };
	struct kb_segment *seg;
	struct kb_hdr_iter it;
	struct kb_batch b;
	uint64_t pos;
	size_t si;
	int64_t keep_to = -1;
	int r, err;

	if (offset < 0)
		return -EINVAL;
	if (offset >= p->log_end)
		return 0;
	kb_info("%s: truncating log end %" PRId64 " -> %" PRId64, p->path,
		p->log_end, offset);
	if (offset <= p->log_start || offset <= p->segs[0].base) {
		err = truncate_fully(p, offset);
		keep_to = -1;	/* no snapshot describes the new log */
	} else {
		while (p->segs[p->n_segs - 1].base >= offset) {
			seg = active(p);
			kb_seg_close(seg);
			kb_seg_unlink(p->dfd, seg->base);
			p->n_segs--;
		}
		seg = active(p);
		r = find_batch(p, offset, &si, &it, &b, &pos);
		if (r < 0)
			return r;
		if (r > 0) {
			/* Batches are whole: the one holding @offset goes. */
			if (ftruncate(seg->fd, (off_t)pos) || fsync(seg->fd)) {
				err = -errno;
				kb_err("%s: cannot truncate segment: %m",
				       p->path);
				return err;
			}
			seg->size = pos;
		}
		p->log_end = scan_segment(p, seg, false, kb_now_real_ms());
		if (p->log_end < 0)
			return (int)p->log_end;
		err = kb_idx_save(p->dfd, p->path, seg, false);
		if (!err)
			err = kb_fsync_dir(p->dfd, p->path);
		keep_to = seg->base;
	}
	if (p->hw > p->log_end)
		p->hw = p->log_end;
	p->dirty = false;
	p->unflushed = 0;
	if (!err)
		err = list_dir(p, &logs, &snaps);
	if (!err) {
		remove_snapshots(p, &snaps, 0, keep_to);
		logs.n = snaps.n = 0;
		list_dir(p, &logs, &snaps);
		err = rebuild_producers(p, &snaps);
	}
	free(logs.v);
	free(snaps.v);
	return err;
}
