// SPDX-License-Identifier: GPL-2.0
/*
 * One cleaning of one partition, Kafka's way: an offset map (key -> latest
 * offset) over the dirty section, then every closed segment from the log
 * start through that section rewritten so that a record survives only when
 * no later record has its key.  Planned and swapped in on the event loop
 * (kb_clean_plan, kb_clean_apply); the work between runs anywhere
 * (kb_clean_run) on dups of the segment fds, so retention, rolls and Fetch
 * go on meanwhile.
 *
 * Batches stay valid: base offsets are kept and offsets within a batch
 * keep their gaps, the CRC is recomputed, producer id, epoch and base
 * sequence are kept, and a compressed batch that loses records is
 * recompressed with its codec.  A batch left with no records is kept
 * empty when it is its producer's last in the cleaned range (producer
 * state outlives its records, as in Kafka), dropped otherwise.  A
 * tombstone (null value) is kept until the delete horizon the first
 * cleaning that saw it wrote into its batch (baseTimestamp, attribute bit
 * 6, Kafka's format), then dropped; records without a key are dropped, as
 * Kafka's cleaner does.  Control and transactional batches are kept whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

#define MAP_ENTRY 24		/* bytes of memory per key of the map */

/* ---- the offset map: 128-bit key hash -> latest offset ---- */

struct omap_e {
	uint64_t h1, h2;
	int64_t off;		/* -1: empty slot */
};

struct omap {
	struct omap_e *e;
	size_t mask, n, max;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static void hash_key(const uint8_t *k, size_t n, uint64_t *a, uint64_t *b)
{
	uint64_t h1 = 0x9e3779b97f4a7c15ULL ^ n, h2 = 0xc2b2ae3d27d4eb4fULL + n;
	uint64_t w;

	for (; n >= 8; k += 8, n -= 8) {
		memcpy(&w, k, 8);
		h1 = mix(h1 ^ w);
		h2 = mix(h2 + w * 0x87c37b91114253d5ULL);
	}
	w = 0;
	memcpy(&w, k, n);
	*a = mix(h1 ^ w ^ 0x5bd1e995);
	*b = mix(h2 + w + 0x27d4eb2f);
}

static int omap_init(struct omap *m, uint64_t bytes)
{
	size_t slots = 1024;

	while ((uint64_t)slots * 2 * MAP_ENTRY <= bytes && slots < (1u << 30))
		slots *= 2;
	m->e = malloc(slots * sizeof(*m->e));
	if (!m->e)
		return -ENOMEM;
	for (size_t i = 0; i < slots; i++)
		m->e[i].off = -1;
	m->mask = slots - 1;
	m->n = 0;
	m->max = slots / 4 * 3;
	return 0;
}

static struct omap_e *omap_slot(struct omap *m, uint64_t h1, uint64_t h2)
{
	size_t i = h1 & m->mask;

	while (m->e[i].off >= 0 && (m->e[i].h1 != h1 || m->e[i].h2 != h2))
		i = (i + 1) & m->mask;
	return &m->e[i];
}

static void omap_put(struct omap *m, uint64_t h1, uint64_t h2, int64_t off)
{
	struct omap_e *e = omap_slot(m, h1, h2);

	if (e->off < 0) {
		e->h1 = h1;
		e->h2 = h2;
		m->n++;
	}
	e->off = off;
}

static int64_t omap_get(struct omap *m, uint64_t h1, uint64_t h2)
{
	return omap_slot(m, h1, h2)->off;
}

/* ---- records ---- */

static size_t uvarint(const uint8_t *p, const uint8_t *end, int max,
		      int64_t *v)
{
	uint64_t u = 0;

	for (int i = 0; i < max && p + i < end; i++) {
		u |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return (size_t)i + 1;
		}
	}
	return 0;
}

static size_t put_varint(uint8_t *p, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 0;

	while (u >= 0x80) {
		p[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (uint8_t)u;
	return n;
}

struct rec {
	const uint8_t *body;	/* after the length varint */
	size_t len;		/* body bytes */
	const uint8_t *after_ts;	/* the body after timestampDelta */
	int64_t ts_delta, off_delta;
	const uint8_t *key;
	int64_t key_len, val_len;	/* -1: null */
};

/* Parses the record at *@pp; false when malformed. */
static bool rec_next(const uint8_t **pp, const uint8_t *end, struct rec *r)
{
	const uint8_t *p = *pp, *q, *e;
	int64_t len;
	size_t n;

	n = uvarint(p, end, 5, &len);
	if (!n || len <= 0 || len > end - p - (int64_t)n)
		return false;
	r->body = p + n;
	r->len = (size_t)len;
	e = r->body + len;
	q = r->body + 1;			/* attributes */
	n = uvarint(q, e, 10, &r->ts_delta);
	if (!n)
		return false;
	q += n;
	r->after_ts = q;
	n = uvarint(q, e, 5, &r->off_delta);
	if (!n)
		return false;
	q += n;
	n = uvarint(q, e, 5, &r->key_len);
	if (!n || r->key_len < -1 || r->key_len > e - q - (int64_t)n)
		return false;
	q += n;
	r->key = q;
	if (r->key_len > 0)
		q += r->key_len;
	n = uvarint(q, e, 5, &r->val_len);
	if (!n || r->val_len < -1)
		return false;
	*pp = e;
	return true;
}

/* The records field of @b (at @p): itself, or inflated into *@tmp. */
static int records_of(const uint8_t *p, const struct kb_batch *b,
		      const uint8_t **rec, size_t *len, uint8_t **tmp)
{
	int codec = b->attr & KB_ATTR_COMPRESSION;

	*tmp = NULL;
	if (!codec) {
		*rec = p + KB_B_HDR;
		*len = kb_batch_size(b) - KB_B_HDR;
		return 0;
	}
	if (kb_records_inflate(codec, p + KB_B_HDR, kb_batch_size(b) - KB_B_HDR,
			       kb_inflate_cap(0), tmp, len))
		return -EBADMSG;
	*rec = *tmp;
	return 0;
}

static bool plain_batch(const struct kb_batch *b)
{
	return !(b->attr & (KB_ATTR_CONTROL | KB_ATTR_TRANSACTIONAL));
}

/* ---- reading segments ---- */

struct reader {
	struct kb_clean_job *j;
	struct kb_throttle *t;
	const volatile bool *stop;
	uint8_t *buf;
	size_t cap;
};

/* Reads the whole batch @b at @pos of @fd into r->buf. */
static int read_batch(struct reader *r, int fd, const struct kb_batch *b,
		      uint64_t pos)
{
	size_t sz = kb_batch_size(b);

	if (sz > r->cap) {
		uint8_t *nb = realloc(r->buf, sz);

		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = sz;
	}
	if (pread(fd, r->buf, sz, (off_t)pos) != (ssize_t)sz)
		return -EIO;
	r->j->bytes_read += sz;
	if (r->t)
		kb_throttle(r->t, sz);
	return 0;
}

/* Producers' last batch in the cleaned range: kept even when emptied. */
struct plast {
	int64_t pid, base;
};

struct plasts {
	struct plast *v;
	size_t n, cap;
};

static int plast_note(struct plasts *ps, int64_t pid, int64_t base)
{
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->v[i].pid == pid) {
			ps->v[i].base = base;
			return 0;
		}
	}
	if (ps->n == ps->cap) {
		size_t nc = ps->cap ? ps->cap * 2 : 8;
		struct plast *nv = realloc(ps->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		ps->v = nv;
		ps->cap = nc;
	}
	ps->v[ps->n++] = (struct plast){ pid, base };
	return 0;
}

static bool plast_is(const struct plasts *ps, int64_t pid, int64_t base)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].pid == pid)
			return ps->v[i].base == base;
	return false;
}

/* Records of segment @s counted from headers (for the map's budget) and
 * producers' last batches noted. */
static int scan_headers(struct kb_clean_seg *s, struct plasts *ps,
			uint64_t *records)
{
	struct kb_hdr_iter it;
	struct kb_batch b;
	uint64_t pos;
	int r;

	kb_hdr_iter_init(&it, s->fd, 0, s->size, 65536);
	while ((r = kb_hdr_next(&it, &b, &pos)) > 0) {
		if (records)
			*records += b.count > 0 ? (uint64_t)b.count : 0;
		if (ps && b.pid >= 0 && plast_note(ps, b.pid, b.base)) {
			r = -ENOMEM;
			break;
		}
	}
	kb_hdr_iter_free(&it);
	return r < 0 ? r : 0;
}

/* Adds segment @s's keys to the map. */
static int map_segment(struct reader *rd, struct kb_clean_seg *s,
		       struct omap *m)
{
	struct kb_hdr_iter it;
	struct kb_batch b;
	uint64_t pos;
	int r, err = 0;

	kb_hdr_iter_init(&it, s->fd, 0, s->size, 65536);
	while (!err && (r = kb_hdr_next(&it, &b, &pos)) > 0) {
		const uint8_t *p, *end;
		uint8_t *tmp;
		size_t len;
		struct rec rc;

		if (!plain_batch(&b))
			continue;
		err = read_batch(rd, s->fd, &b, pos);
		if (!err)
			err = records_of(rd->buf, &b, &p, &len, &tmp);
		if (err)
			break;
		end = p + len;
		while (p < end && rec_next(&p, end, &rc)) {
			uint64_t h1, h2;

			if (rc.key_len < 0)
				continue;
			hash_key(rc.key, (size_t)rc.key_len, &h1, &h2);
			omap_put(m, h1, h2, b.base + rc.off_delta);
		}
		free(tmp);
		if (rd->stop && *rd->stop)
			err = -ECANCELED;
	}
	kb_hdr_iter_free(&it);
	if (!err && r < 0 && r != -EBADMSG)
		err = r;
	return err;
}

/* ---- rewriting batches ---- */

struct obuf {
	uint8_t *p;
	size_t len, cap;
};

static int ob_reserve(struct obuf *o, size_t n)
{
	if (o->len + n <= o->cap)
		return 0;
	size_t nc = o->cap ? o->cap : 65536;

	while (nc < o->len + n)
		nc *= 2;
	uint8_t *np = realloc(o->p, nc);

	if (!np)
		return -ENOMEM;
	o->p = np;
	o->cap = nc;
	return 0;
}

enum verdict { KEEP, DROP, REWRITE };

struct filter {
	struct kb_clean_job *j;
	struct omap *m;
	struct plasts *ps;
	struct obuf recs;	/* kept records being built */
	struct obuf out;	/* the rewritten batch */
};

/*
 * Decides batch @b (whole at @p): kept as it is, dropped, or rewritten
 * into f->out.  Returns the verdict or a negative errno.
 */
static int filter_batch(struct filter *f, const uint8_t *p,
			const struct kb_batch *b)
{
	struct kb_clean_job *j = f->j;
	bool has_horizon = b->attr & KB_ATTR_DELETE_HORIZON;
	bool need_horizon = false, changed = false;
	int64_t base_ts = b->base_ts, max_ts = -1, last_delta = -1;
	int64_t horizon = j->now_ms + j->cfg.delete_retention_ms;
	const uint8_t *r, *end;
	uint8_t *tmp, *cbuf = NULL;
	int codec = b->attr & KB_ATTR_COMPRESSION, err;
	int32_t kept = 0;
	size_t len, clen;
	struct rec rc;
	int16_t attr;

	if (!plain_batch(b))
		return KEEP;
	err = records_of(p, b, &r, &len, &tmp);
	if (err)
		return KEEP;	/* unreadable: never lose it */
	end = r + len;
	/* First pass: what stays, and whether a horizon is to be set. */
	for (const uint8_t *q = r; q < end;) {
		bool drop = false;

		if (!rec_next(&q, end, &rc)) {
			free(tmp);
			return KEEP;
		}
		j->records_in++;
		if (rc.key_len < 0) {
			drop = true;
		} else {
			uint64_t h1, h2;
			int64_t latest;

			hash_key(rc.key, (size_t)rc.key_len, &h1, &h2);
			latest = omap_get(f->m, h1, h2);
			drop = latest > b->base + rc.off_delta;
		}
		if (!drop && rc.val_len < 0) {
			if (has_horizon && j->now_ms >= b->base_ts)
				drop = true;
			else if (!has_horizon)
				need_horizon = true;
		}
		changed |= drop;
	}
	if (!changed && !need_horizon) {
		free(tmp);
		if (has_horizon) {
			for (const uint8_t *q = r; q < end;)
				if (rec_next(&q, end, &rc) && rc.val_len < 0 &&
				    b->base_ts < j->min_horizon)
					j->min_horizon = b->base_ts;
		}
		j->records_out += (uint64_t)b->count;
		return KEEP;
	}
	if (need_horizon)
		base_ts = horizon;
	/* Second pass: the kept records, timestamps rebased if needed. */
	f->recs.len = 0;
	for (const uint8_t *q = r; q < end;) {
		bool drop;
		uint64_t h1, h2;
		int64_t ts;
		uint8_t hdr[32];
		size_t hn, rest;

		rec_next(&q, end, &rc);
		if (rc.key_len < 0)
			continue;
		hash_key(rc.key, (size_t)rc.key_len, &h1, &h2);
		drop = omap_get(f->m, h1, h2) > b->base + rc.off_delta;
		if (!drop && rc.val_len < 0 && has_horizon &&
		    j->now_ms >= b->base_ts)
			drop = true;
		if (drop)
			continue;
		ts = b->base_ts + rc.ts_delta;
		if (ts > max_ts)
			max_ts = ts;
		last_delta = rc.off_delta;
		kept++;
		if (rc.val_len < 0 && base_ts < j->min_horizon)
			j->min_horizon = base_ts;
		/* attributes, new timestampDelta, then the rest as it was */
		rest = rc.len - (size_t)(rc.after_ts - rc.body);
		hn = 0;
		hdr[hn++] = rc.body[0];
		hn += put_varint(hdr + hn, ts - base_ts);
		err = ob_reserve(&f->recs, 10 + hn + rest);
		if (err) {
			free(tmp);
			return err;
		}
		f->recs.len += put_varint(f->recs.p + f->recs.len,
					  (int64_t)(hn + rest));
		memcpy(f->recs.p + f->recs.len, hdr, hn);
		f->recs.len += hn;
		memcpy(f->recs.p + f->recs.len, rc.after_ts, rest);
		f->recs.len += rest;
	}
	free(tmp);
	j->records_out += (uint64_t)kept;
	attr = (int16_t)(b->attr | (need_horizon ? KB_ATTR_DELETE_HORIZON : 0));
	if (!kept) {
		if (b->pid < 0 || !plast_is(f->ps, b->pid, b->base))
			return DROP;
		/* Kafka's empty batch: no records, the last offset kept. */
		last_delta = b->last_delta;
		max_ts = b->max_ts;
		attr &= (int16_t)~KB_ATTR_COMPRESSION;
		codec = 0;
		f->recs.len = 0;
	}
	if (b->attr & KB_ATTR_LOG_APPEND_TIME)
		max_ts = b->max_ts;
	if (codec && f->recs.len) {
		err = kb_records_deflate(codec, f->recs.p, f->recs.len, &cbuf,
					 &clen);
		if (err)
			return err;
	} else {
		clen = f->recs.len;
	}
	f->out.len = 0;
	err = ob_reserve(&f->out, KB_B_HDR + clen);
	if (err) {
		free(cbuf);
		return err;
	}
	uint8_t *h = f->out.p;

	memcpy(h, p, KB_B_HDR);		/* base offset, epoch, pid... */
	kb_put_be32(h + KB_B_LENGTH,
		    (uint32_t)(KB_B_HDR + clen - KB_B_LOG_OVERHEAD));
	kb_put_be16(h + KB_B_ATTR, (uint16_t)attr);
	kb_put_be32(h + KB_B_LAST_DELTA, (uint32_t)last_delta);
	kb_put_be64(h + KB_B_BASE_TS, (uint64_t)base_ts);
	kb_put_be64(h + KB_B_MAX_TS, (uint64_t)max_ts);
	kb_put_be32(h + KB_B_COUNT, (uint32_t)kept);
	memcpy(h + KB_B_HDR, cbuf ? cbuf : f->recs.p, clen);
	free(cbuf);
	f->out.len = KB_B_HDR + clen;
	kb_put_be32(h + KB_B_CRC, kb_crc32c(0, h + KB_B_ATTR,
					    f->out.len - KB_B_ATTR));
	return REWRITE;
}

/* Rewrites old segments segs[first..first+n) into out->seg's file. */
static int clean_group(struct reader *rd, struct filter *f,
		       struct kb_clean_out *out)
{
	struct kb_clean_job *j = rd->j;
	bool changed = false;
	uint64_t wpos = 0;
	char name[48];
	int fd, err = 0;

	kb_seg_name(name, sizeof(name), out->base, ".cleaned");
	fd = openat(j->dfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	if (fd < 0) {
		err = -errno;
		kb_err("%s/%s: cannot create: %m", j->path, name);
		return err;
	}
	memset(&out->seg, 0, sizeof(out->seg));
	out->seg.base = out->base;
	out->seg.fd = fd;
	kb_idx_reset(&out->seg);
	for (size_t k = out->first; !err && k < out->first + out->n; k++) {
		struct kb_clean_seg *s = &j->segs[k];
		struct kb_hdr_iter it;
		struct kb_batch b;
		uint64_t pos;
		int r;

		changed |= k != out->first;	/* merging is a change */
		kb_hdr_iter_init(&it, s->fd, 0, s->size, 65536);
		while (!err && (r = kb_hdr_next(&it, &b, &pos)) > 0) {
			const uint8_t *w;
			size_t wl;
			int v;

			err = read_batch(rd, s->fd, &b, pos);
			if (err)
				break;
			v = filter_batch(f, rd->buf, &b);
			if (v < 0) {
				err = v;
				break;
			}
			if (v == DROP) {
				changed = true;
				continue;
			}
			if (v == REWRITE) {
				changed = true;
				w = f->out.p;
				wl = f->out.len;
			} else {
				w = rd->buf;
				wl = kb_batch_size(&b);
			}
			if (pwrite(fd, w, wl, (off_t)wpos) != (ssize_t)wl) {
				err = errno ? -errno : -EIO;
				break;
			}
			kb_batch_parse(w, &b);
			err = kb_idx_note(&out->seg, &b, wpos, j->index_interval);
			wpos += wl;
			j->bytes_written += wl;
			if (rd->t)
				kb_throttle(rd->t, wl);
			if (rd->stop && *rd->stop)
				err = -ECANCELED;
		}
		kb_hdr_iter_free(&it);
		if (!err && r < 0 && r != -EBADMSG)
			err = r;
	}
	out->seg.size = wpos;
	if (!err && !changed) {
		/* Nothing to swap: no file. */
		kb_seg_close(&out->seg);
		unlinkat(j->dfd, name, 0);
		return 0;
	}
	if (!err) {
		kb_idx_seal(&out->seg);
		if (fdatasync(fd))
			err = -errno;
	}
	if (err) {
		kb_err("%s/%s: cleaning failed: %s", j->path, name,
		       strerror(-err));
		kb_seg_close(&out->seg);
		unlinkat(j->dfd, name, 0);
	}
	return err;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void kb_clean_run(struct kb_clean_job *j, struct kb_throttle *t,
		  const volatile bool *stop)
{
	struct reader rd = { .j = j, .t = t, .stop = stop };
	struct filter f = { .j = j };
	struct plasts ps = { 0 };
	struct omap m = { 0 };
	uint64_t recs;
	size_t end, g;
	int64_t t0 = now_us();
	int err = 0;

	j->min_horizon = INT64_MAX;
	/* The map is as large as the dirty section needs, within budget. */
	recs = 0;
	for (size_t k = j->dirty; !err && k < j->n_segs; k++)
		err = scan_headers(&j->segs[k], NULL, &recs);
	if (!err)
		err = omap_init(&m, recs * 2 * 2 * MAP_ENTRY < j->map_bytes ?
				recs * 2 * 2 * MAP_ENTRY : j->map_bytes);
	if (err)
		goto out;
	/* The map over as much of the dirty section as it holds, whole
	 * segments only; the first always goes in. */
	for (end = j->dirty; !err && end < j->n_segs; end++) {
		recs = 0;
		err = scan_headers(&j->segs[end], NULL, &recs);
		if (err)
			break;
		if (end > j->dirty && m.n + recs > m.max)
			break;
		err = map_segment(&rd, &j->segs[end], &m);
		j->dirty_bytes += j->segs[end].size;
	}
	if (err)
		goto out;
	j->clean_to = end < j->n_segs ? j->segs[end].base : j->bound;
	for (size_t k = 0; !err && k < end; k++)
		err = scan_headers(&j->segs[k], &ps, NULL);
	if (err)
		goto out;
	j->outs = calloc(end ? end : 1, sizeof(*j->outs));
	if (!j->outs) {
		err = -ENOMEM;
		goto out;
	}
	f.m = &m;
	f.ps = &ps;
	/* Groups of consecutive segments that fit one segment's size and
	 * 32-bit relative offsets. */
	for (g = 0; !err && g < end;) {
		struct kb_clean_out *o = &j->outs[j->n_outs];
		uint64_t total = j->segs[g].size;
		size_t h = g;

		while (h + 1 < end &&
		       total + j->segs[h + 1].size <= j->cfg.segment_bytes &&
		       (h + 2 < j->n_segs ? j->segs[h + 2].base : j->bound) -
		       j->segs[g].base <= INT32_MAX) {
			h++;
			total += j->segs[h].size;
		}
		o->base = j->segs[g].base;
		o->end = h + 1 < j->n_segs ? j->segs[h + 1].base : j->bound;
		o->first = g;
		o->n = h - g + 1;
		o->seg.fd = -1;
		j->n_outs++;
		err = clean_group(&rd, &f, o);
		g = h + 1;
	}
out:
	j->err = err;
	j->elapsed_us = now_us() - t0;
	free(m.e);
	free(ps.v);
	free(rd.buf);
	free(f.recs.p);
	free(f.out.p);
}

/* ---- on the loop ---- */

static size_t first_uncleanable(struct kb_partition *p, int64_t now_ms)
{
	const struct kb_log_cfg *c = p->cfg;
	size_t u = p->n_segs - 1;	/* the active segment */

	if (c->min_compaction_lag_ms > 0)
		for (size_t i = 0; i < u; i++)
			if (p->segs[i].max_ts >
			    now_ms - c->min_compaction_lag_ms)
				return i;
	return u;
}

/* The segment holding the first dirty offset (u when none is dirty). */
static size_t first_dirty_seg(struct kb_partition *p, size_t u)
{
	int64_t fd = p->first_dirty > p->log_start ? p->first_dirty :
		     p->log_start;
	size_t d = 0;

	while (d < u && p->segs[d + 1].base <= fd)
		d++;
	return d;
}

bool kb_clean_eligible(struct kb_partition *p, int64_t now_ms, double *ratio)
{
	const struct kb_log_cfg *c = p->cfg;
	uint64_t clean = 0, dirty = 0;
	size_t u, d;

	*ratio = 0;
	if (!c->policy_compact || p->cl_job || p->n_segs < 2)
		return false;
	u = first_uncleanable(p, now_ms);
	if (!u)
		return false;
	d = first_dirty_seg(p, u);
	for (size_t i = 0; i < u; i++) {
		if (i < d)
			clean += p->segs[i].size;
		else
			dirty += p->segs[i].size;
	}
	if (dirty)
		*ratio = (double)dirty / (double)(clean + dirty);
	if (dirty && *ratio >= c->min_cleanable_ratio)
		return true;
	/* Past max.compaction.lag.ms, or tombstones due to go. */
	if (dirty && c->max_compaction_lag_ms < INT64_MAX &&
	    p->segs[d].max_ts >= 0 &&
	    now_ms - p->segs[d].max_ts > c->max_compaction_lag_ms) {
		*ratio = 2;
		return true;
	}
	if (now_ms >= p->tomb_horizon && clean) {
		*ratio = 2;
		return true;
	}
	return false;
}

struct kb_clean_job *kb_clean_plan(struct kb_partition *p, int64_t now_ms,
				   bool force, double *ratio)
{
	struct kb_clean_job *j;
	size_t u;

	if (!kb_clean_eligible(p, now_ms, ratio) &&
	    !(force && p->cfg->policy_compact && !p->cl_job &&
	      p->n_segs > 1 && first_uncleanable(p, now_ms)))
		return NULL;
	u = first_uncleanable(p, now_ms);
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->p = p;
	j->dfd = fcntl(p->dfd, F_DUPFD_CLOEXEC, 0);
	j->path = strdup(p->path);
	j->segs = calloc(u, sizeof(*j->segs));
	if (j->dfd < 0 || !j->path || !j->segs)
		goto fail;
	for (size_t i = 0; i < u; i++)
		j->segs[i].fd = -1;
	for (size_t i = 0; i < u; i++) {
		j->segs[i].base = p->segs[i].base;
		j->segs[i].size = p->segs[i].size;
		j->segs[i].fd = fcntl(p->segs[i].fd, F_DUPFD_CLOEXEC, 0);
		if (j->segs[i].fd < 0)
			goto fail;
		j->n_segs = i + 1;
	}
	j->dirty = first_dirty_seg(p, u);
	if (j->dirty >= u)
		j->dirty = u;		/* the map is empty: tombstones only */
	j->bound = p->segs[u].base;
	j->now_ms = now_ms;
	j->cfg = *p->cfg;
	j->index_interval = p->s->o.index_interval_bytes;
	j->map_bytes = p->s->o.cleaner_dedupe_bytes;
	if (p->s->o.cleaner_threads > 1)
		j->map_bytes /= (uint64_t)p->s->o.cleaner_threads;
	if (j->map_bytes < 65536)
		j->map_bytes = 65536;
	p->cl_job = j;
	return j;
fail:
	kb_clean_job_free(j);
	return NULL;
}

void kb_clean_job_free(struct kb_clean_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n_outs; i++) {
		struct kb_clean_out *o = &j->outs[i];
		char name[48];

		if (o->seg.fd < 0)
			continue;
		kb_seg_close(&o->seg);
		kb_seg_name(name, sizeof(name), o->base, ".cleaned");
		unlinkat(j->dfd, name, 0);
	}
	for (size_t i = 0; i < j->n_segs; i++)
		if (j->segs[i].fd >= 0)
			close(j->segs[i].fd);
	if (j->p && j->p->cl_job == j)
		j->p->cl_job = NULL;
	if (j->dfd >= 0)
		close(j->dfd);
	free(j->segs);
	free(j->outs);
	free(j->path);
	free(j);
}

/* Index in p->segs of the group's old segments, unchanged; or -1. */
static ssize_t group_in_place(struct kb_partition *p,
			      const struct kb_clean_job *j,
			      const struct kb_clean_out *o)
{
	size_t i;

	for (i = 0; i < p->n_segs && p->segs[i].base != o->base; i++)
		;
	if (i + o->n >= p->n_segs)	/* the active one stays after */
		return -1;
	for (size_t k = 0; k < o->n; k++)
		if (p->segs[i + k].base != j->segs[o->first + k].base ||
		    p->segs[i + k].size != j->segs[o->first + k].size)
			return -1;
	if (p->segs[i + o->n].base != o->end)
		return -1;
	return (ssize_t)i;
}

int kb_clean_apply(struct kb_store *s, struct kb_clean_job *j)
{
	struct kb_partition *p = j->p;
	uint64_t before = 0, after = 0;
	size_t swapped = 0;
	bool all = true;
	int err = 0;

	(void)s;
	if (!p || j->err) {
		if (p && j->err != -ECANCELED)
			kb_warn("%s: cleaning failed: %s", j->path,
				strerror(-j->err));
		return j->err;
	}
	for (size_t g = 0; g < j->n_outs; g++) {
		struct kb_clean_out *o = &j->outs[g];
		int64_t old[64], *olds = old;
		ssize_t i;

		if (o->seg.fd < 0)
			continue;
		i = group_in_place(p, j, o);
		if (i < 0) {
			/* Retention or truncation got there first. */
			all = false;
			continue;
		}
		if (o->n > 64) {
			olds = calloc(o->n, sizeof(*olds));
			if (!olds) {
				all = false;
				continue;
			}
		}
		for (size_t k = 0; k < o->n; k++)
			olds[k] = p->segs[(size_t)i + k].base;
		err = kb_clean_swap(p->dfd, p->path, o->base, o->end, olds,
				    o->n, -1);
		if (olds != old)
			free(olds);
		if (err) {
			kb_err("%s: swapping in the cleaned segment %" PRId64
			       " failed: %s", p->path, o->base,
			       strerror(-err));
			all = false;
			break;
		}
		for (size_t k = 0; k < o->n; k++) {
			before += p->segs[(size_t)i + k].size;
			kb_seg_close(&p->segs[(size_t)i + k]);
		}
		after += o->seg.size;
		p->segs[i] = o->seg;
		memmove(&p->segs[(size_t)i + 1], &p->segs[(size_t)i + o->n],
			(p->n_segs - (size_t)i - o->n) * sizeof(*p->segs));
		p->n_segs -= o->n - 1;
		o->seg.fd = -1;
		o->seg.o = NULL;
		o->seg.t = NULL;
		kb_idx_save(p->dfd, p->path, &p->segs[i], true);
		swapped++;
	}
	if (all) {
		p->first_dirty = j->clean_to < p->log_end ? j->clean_to :
				 p->log_end;
		p->tomb_horizon = j->min_horizon;
		kb_cleaner_checkpoint_write(p->s, p->dir_idx);
	}
	kb_info("%s: cleaned up to offset %" PRId64 ": %" PRIu64
		" dirty bytes, read %" PRIu64
		" bytes, wrote %" PRIu64 ", %" PRIu64 " of %" PRIu64
		" records kept, %zu segment group(s) swapped (%" PRIu64
		" -> %" PRIu64 " bytes) in %" PRId64 " ms", p->path,
		j->clean_to, j->dirty_bytes, j->bytes_read, j->bytes_written,
		j->records_out,
		j->records_in, swapped, before, after,
		j->elapsed_us / 1000);
	return err;
}
