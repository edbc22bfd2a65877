// SPDX-License-Identifier: GPL-2.0
/*
 * One partition's log: recovery on open, roll, retention, flush and
 * truncation.  Appends are append.c's, reads read.c's.
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
	p->leader_epoch = 0;	/* a standalone broker leads in epoch 0 */
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
	/* A cleaner's swap cut short is finished first. */
	err = kb_clean_recover(p->dfd, p->path);
	if (!err)
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
	kb_epoch_load(p);
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
	if (p->cl_job)
		p->cl_job->p = NULL;	/* its result is dropped */
	if (p->n_segs) {
		kb_part_flush(p);
		kb_idx_save(p->dfd, p->path, kb_part_active(p), false);
	}
	for (size_t i = 0; i < p->n_segs; i++)
		kb_seg_close(&p->segs[i]);
	free(p->segs);
	kb_prod_free(&p->prod);
	kb_epoch_free(p);
	if (p->dfd >= 0)
		close(p->dfd);
	free(p->path);
	free(p);
}

int kb_part_flush(struct kb_partition *p)
{
	if (!p->dirty)
		return 0;
	if (fdatasync(kb_part_active(p)->fd)) {
		int err = -errno;

		kb_err("%s: fsync of segment %" PRId64 " failed: %m", p->path,
		       kb_part_active(p)->base);
		return err;
	}
	p->dirty = false;
	p->unflushed = 0;
	p->last_flush_ms = kb_now_real_ms();
	return 0;
}

int kb_part_roll(struct kb_partition *p, int64_t now_ms)
{
	struct offsets logs = { 0 }, snaps = { 0 };
	struct kb_segment *old = kb_part_active(p), seg;
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

bool kb_part_should_roll(struct kb_partition *p, uint64_t add,
			 int64_t next_last, int64_t now_ms)
{
	struct kb_segment *a = kb_part_active(p);
	const struct kb_log_cfg *o = p->cfg;

	if (!a->size)
		return false;
	return a->size + add > o->segment_bytes ||
	       (o->roll_ms >= 0 && now_ms - a->roll_ts > o->roll_ms) ||
	       next_last - a->base > INT32_MAX;
}

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

int kb_partition_delete_records(struct kb_partition *p, int64_t offset,
				int64_t *low)
{
	size_t n = 0;
	int err;

	if (offset == -1)
		offset = p->hw;
	*low = p->log_start;
	if (offset < 0 || offset > p->hw)
		return KB_ERR_OFFSET_OUT_OF_RANGE;
	if (offset <= p->log_start)
		return KB_ERR_NONE;
	/* The start is durable before any segment goes, as for retention. */
	if (write_log_start(p, offset))
		return KB_ERR_KAFKA_STORAGE_ERROR;
	kb_info("%s: DeleteRecords: log start %" PRId64 " -> %" PRId64,
		p->path, p->log_start, offset);
	p->log_start = offset;
	while (n + 1 < p->n_segs && p->segs[n + 1].base <= offset)
		n++;
	if (n) {
		err = drop_head(p, n, "DeleteRecords");
		if (err)
			kb_warn("%s: DeleteRecords: %s", p->path, strerror(-err));
	}
	*low = p->log_start;
	return KB_ERR_NONE;
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

	/* A compact-only topic keeps its records until the cleaner drops
	 * them: retention.ms and retention.bytes do not apply, as in Kafka. */
	if (!o->policy_delete)
		return;
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
	if (!n || (n == p->n_segs && kb_part_roll(p, now_ms)))
		return;
	drop_head(p, n, by_time ? "retention.ms" : "retention.bytes");
}

void kb_part_tick(struct kb_partition *p, int64_t now_ms)
{
	const struct kb_log_cfg *o = p->cfg;

	if (p->dirty && o->flush_ms >= 0 &&
	    now_ms - p->last_flush_ms >= o->flush_ms)
		kb_part_flush(p);
	/* As Kafka, a compacted log's active segment also rolls once its
	 * first record passes max.compaction.lag.ms, so that it gets cleaned. */
	if (kb_part_active(p)->size &&
	    ((o->roll_ms >= 0 &&
	      now_ms - kb_part_active(p)->roll_ts > o->roll_ms) ||
	     (o->policy_compact && o->max_compaction_lag_ms < INT64_MAX &&
	      now_ms - kb_part_active(p)->roll_ts > o->max_compaction_lag_ms)))
		kb_part_roll(p, now_ms);
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
	if (p->first_dirty > offset)
		p->first_dirty = offset;
	if (offset <= p->log_start || offset <= p->segs[0].base) {
		err = truncate_fully(p, offset);
		keep_to = -1;	/* no snapshot describes the new log */
	} else {
		while (p->segs[p->n_segs - 1].base >= offset) {
			seg = kb_part_active(p);
			kb_seg_close(seg);
			kb_seg_unlink(p->dfd, seg->base);
			p->n_segs--;
		}
		seg = kb_part_active(p);
		r = kb_part_find_batch(p, offset, &si, &it, &b, &pos);
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
	if (keep_to < 0)
		kb_epoch_clear(p);
	else
		kb_epoch_truncate(p, p->log_end);
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
