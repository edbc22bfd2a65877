// SPDX-License-Identifier: GPL-2.0
/*
 * Sparse offset index (.index: relative offset u32, position u32) and time
 * index (.timeindex: timestamp i64, relative offset u32), big-endian like
 * Kafka's.  Both are kept in memory and written out; the active segment's
 * are rebuilt from the log on open, so they need not be synced while it is
 * active.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

#define OIDX_SIZE 8
#define TIDX_SIZE 12

static int grow(void **v, uint32_t *cap, uint32_t n, size_t sz)
{
	void *nv;
	uint32_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	nv = realloc(*v, (size_t)nc * sz);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

static int push_o(struct kb_segment *seg, uint32_t rel, uint32_t pos)
{
	if (grow((void **)&seg->o, &seg->cap_o, seg->n_o, sizeof(*seg->o)))
		return -ENOMEM;
	seg->o[seg->n_o++] = (struct kb_oidx){ rel, pos };
	return 0;
}

static int push_t(struct kb_segment *seg)
{
	if (seg->max_ts < 0 ||
	    (seg->n_t && seg->t[seg->n_t - 1].ts >= seg->max_ts))
		return 0;
	if (grow((void **)&seg->t, &seg->cap_t, seg->n_t, sizeof(*seg->t)))
		return -ENOMEM;
	seg->t[seg->n_t++] = (struct kb_tidx){
		seg->max_ts, (uint32_t)(seg->max_ts_off - seg->base) };
	return 0;
}

int kb_idx_note(struct kb_segment *seg, const struct kb_batch *b,
		uint64_t pos, uint32_t interval)
{
	int err = 0;

	if (b->max_ts > seg->max_ts) {
		seg->max_ts = b->max_ts;
		seg->max_ts_off = b->base;
	}
	if (seg->since_idx >= interval) {
		err = push_o(seg, (uint32_t)(b->base - seg->base),
			     (uint32_t)pos);
		if (!err)
			err = push_t(seg);
		seg->since_idx = 0;
	}
	seg->since_idx += kb_batch_size(b);
	return err;
}

int kb_idx_seal(struct kb_segment *seg)
{
	return push_t(seg);
}

uint64_t kb_idx_lookup(const struct kb_segment *seg, int64_t off)
{
	uint32_t lo = 0, hi = seg->n_o;
	int64_t rel = off - seg->base;

	if (rel < 0)
		return 0;
	/* First entry with rel > target; the one before it is the answer. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if ((int64_t)seg->o[mid].rel <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? seg->o[lo - 1].pos : 0;
}

uint64_t kb_idx_lookup_time(const struct kb_segment *seg, int64_t ts)
{
	uint32_t lo = 0, hi = seg->n_t;

	/* Last entry with ts < target: every batch up to it is older. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (seg->t[mid].ts < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return 0;
	return kb_idx_lookup(seg, seg->base + seg->t[lo - 1].rel);
}

void kb_idx_reset(struct kb_segment *seg)
{
	seg->n_o = seg->n_t = 0;
	seg->saved_o = seg->saved_t = 0;
	seg->since_idx = 0;
	seg->max_ts = -1;
	seg->max_ts_off = seg->base;
}

void kb_idx_free(struct kb_segment *seg)
{
	free(seg->o);
	free(seg->t);
	seg->o = NULL;
	seg->t = NULL;
	seg->n_o = seg->n_t = seg->cap_o = seg->cap_t = 0;
}

static uint8_t *encode(const struct kb_segment *seg, bool time, uint32_t from,
		       size_t *len)
{
	uint32_t n = time ? seg->n_t : seg->n_o;
	size_t es = time ? TIDX_SIZE : OIDX_SIZE;
	uint8_t *buf = malloc((n - from) * es + 1), *q = buf;

	if (!buf)
		return NULL;
	for (uint32_t i = from; i < n; i++) {
		if (time) {
			kb_put_be64(q, (uint64_t)seg->t[i].ts);
			kb_put_be32(q + 8, seg->t[i].rel);
		} else {
			kb_put_be32(q, seg->o[i].rel);
			kb_put_be32(q + 4, seg->o[i].pos);
		}
		q += es;
	}
	*len = (size_t)(q - buf);
	return buf;
}

static int save_one(int dfd, const char *dir, struct kb_segment *seg,
		    bool time, bool all)
{
	char name[40];
	uint32_t from = all ? 0 : (time ? seg->saved_t : seg->saved_o);
	size_t es = time ? TIDX_SIZE : OIDX_SIZE;
	uint8_t *buf;
	size_t len;
	int fd, err = 0;

	kb_seg_name(name, sizeof(name), seg->base,
		    time ? ".timeindex" : ".index");
	buf = encode(seg, time, from, &len);
	if (!buf)
		return -ENOMEM;
	if (all) {
		err = kb_write_atomic(dfd, dir, name, buf, len);
		goto out;
	}
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		kb_err("%s/%s: cannot open index: %m", dir, name);
		goto out;
	}
	if (pwrite(fd, buf, len, (off_t)(from * es)) != (ssize_t)len ||
	    ftruncate(fd, (off_t)(from * es + len))) {
		err = errno ? -errno : -EIO;
		kb_err("%s/%s: cannot write index: %m", dir, name);
	}
	close(fd);
out:
	free(buf);
	if (!err) {
		if (time)
			seg->saved_t = seg->n_t;
		else
			seg->saved_o = seg->n_o;
	}
	return err;
}

int kb_idx_save(int dfd, const char *dir, struct kb_segment *seg, bool all)
{
	int err = save_one(dfd, dir, seg, false, all);

	return err ? err : save_one(dfd, dir, seg, true, all);
}

static int load_file(int dfd, const char *name, size_t es, uint8_t **buf,
		     size_t *n)
{
	char *b;
	size_t len;
	int err = kb_read_small(dfd, name, &b, &len);

	if (err)
		return err;
	if (len % es) {
		free(b);
		return -EBADMSG;
	}
	*buf = (uint8_t *)b;
	*n = len / es;
	return 0;
}

int kb_idx_load(int dfd, struct kb_segment *seg)
{
	char name[40];
	uint8_t *ob = NULL, *tb = NULL;
	size_t no, nt;
	int err;

	kb_idx_reset(seg);
	kb_seg_name(name, sizeof(name), seg->base, ".index");
	err = load_file(dfd, name, OIDX_SIZE, &ob, &no);
	if (err)
		return err;
	kb_seg_name(name, sizeof(name), seg->base, ".timeindex");
	err = load_file(dfd, name, TIDX_SIZE, &tb, &nt);
	if (err)
		goto out;
	err = -EBADMSG;
	for (size_t i = 0; i < no; i++) {
		uint32_t rel = kb_get_be32(ob + i * OIDX_SIZE);
		uint32_t pos = kb_get_be32(ob + i * OIDX_SIZE + 4);

		if ((uint64_t)pos + KB_B_HDR > seg->size ||
		    (seg->n_o && (rel <= seg->o[seg->n_o - 1].rel ||
				  pos <= seg->o[seg->n_o - 1].pos)))
			goto out;
		if (push_o(seg, rel, pos))
			goto nomem;
	}
	for (size_t i = 0; i < nt; i++) {
		int64_t ts = (int64_t)kb_get_be64(tb + i * TIDX_SIZE);
		uint32_t rel = kb_get_be32(tb + i * TIDX_SIZE + 8);

		if (ts < 0 || ts <= seg->max_ts ||
		    (seg->n_t && rel < seg->t[seg->n_t - 1].rel))
			goto out;
		seg->max_ts = ts;
		seg->max_ts_off = seg->base + rel;
		if (push_t(seg))
			goto nomem;
	}
	seg->saved_o = seg->n_o;
	seg->saved_t = seg->n_t;
	err = 0;
	goto out;
nomem:
	err = -ENOMEM;
out:
	if (err)
		kb_idx_reset(seg);
	free(ob);
	free(tb);
	return err;
}
