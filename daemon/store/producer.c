// SPDX-License-Identifier: GPL-2.0
/*
 * Idempotent producer state of a partition: per producer id its epoch, last
 * sequence and the last five batches, for duplicate detection.  Snapshots
 * (<offset>.snapshot) are written when a segment rolls so that opening a
 * partition only replays the active segment.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/internal.h"

static size_t find_slot(const struct kb_producers *ps, int64_t pid)
{
	size_t lo = 0, hi = ps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ps->v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct kb_pstate *kb_prod_find(struct kb_producers *ps, int64_t pid)
{
	size_t i = find_slot(ps, pid);

	return i < ps->n && ps->v[i].pid == pid ? &ps->v[i] : NULL;
}

int kb_prod_put(struct kb_producers *ps, const struct kb_pstate *st)
{
	size_t i = find_slot(ps, st->pid);

	if (i < ps->n && ps->v[i].pid == st->pid) {
		ps->v[i] = *st;
		return 0;
	}
	if (ps->n == ps->cap) {
		size_t nc = ps->cap ? ps->cap * 2 : 8;
		struct kb_pstate *nv = realloc(ps->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		ps->v = nv;
		ps->cap = nc;
	}
	memmove(&ps->v[i + 1], &ps->v[i], (ps->n - i) * sizeof(*ps->v));
	ps->v[i] = *st;
	ps->n++;
	return 0;
}

void kb_prod_free(struct kb_producers *ps)
{
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

/* Sequences wrap from INT32_MAX to 0. */
static int32_t seq_add(int32_t seq, int32_t n)
{
	return (int32_t)(((int64_t)seq + n) % ((int64_t)INT32_MAX + 1));
}

int kb_prod_check(const struct kb_pstate *st, const struct kb_batch *b,
		  bool allow_unknown, int64_t *dup_base)
{
	int32_t last = seq_add(b->base_seq, b->last_delta);

	if (b->base_seq < 0 || b->pepoch < 0)
		return KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	if (!st)
		return b->base_seq == 0 || allow_unknown ?
		       KB_ERR_NONE : KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	if (b->pepoch < st->epoch)
		return KB_ERR_INVALID_PRODUCER_EPOCH;
	if (b->pepoch > st->epoch)
		return b->base_seq == 0 ?
		       KB_ERR_NONE : KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	for (int i = 0; i < st->n; i++) {
		if (st->b[i].first_seq == b->base_seq &&
		    st->b[i].last_seq == last) {
			*dup_base = st->b[i].base;
			return KB_ERR_DUPLICATE_SEQUENCE_NUMBER;
		}
	}
	if (b->base_seq != seq_add(st->last_seq, 1))
		return KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	return KB_ERR_NONE;
}

void kb_prod_apply(struct kb_pstate *st, bool is_new,
		   const struct kb_batch *b, int64_t base)
{
	if (is_new || b->pepoch != st->epoch) {
		memset(st, 0, sizeof(*st));
		st->pid = b->pid;
		st->epoch = b->pepoch;
	}
	st->last_seq = seq_add(b->base_seq, b->last_delta);
	st->b[st->head] = (struct kb_pbatch){ b->base_seq, st->last_seq,
					      base };
	st->head = (st->head + 1) % KB_PROD_CACHE;
	if (st->n < KB_PROD_CACHE)
		st->n++;
}

/* ---- snapshots ---- */

#define SNAP_MAGIC 0x4b425053u	/* "KBPS" */
#define SNAP_HDR 20		/* magic, version, offset, count */
#define SNAP_ENT (8 + 2 + 4 + 1 + 1 + KB_PROD_CACHE * 16)

void kb_prod_snapshot_name(char *buf, size_t len, int64_t off)
{
	snprintf(buf, len, "%020" PRId64 ".snapshot", off);
}

int kb_prod_snapshot_write(int dfd, const struct kb_producers *ps,
			   int64_t off)
{
	size_t len = SNAP_HDR + ps->n * SNAP_ENT + 4;
	uint8_t *buf = malloc(len), *q;
	char name[48];
	int err;

	if (!buf)
		return -ENOMEM;
	kb_put_be32(buf, SNAP_MAGIC);
	kb_put_be32(buf + 4, 1);
	kb_put_be64(buf + 8, (uint64_t)off);
	kb_put_be32(buf + 16, (uint32_t)ps->n);
	q = buf + SNAP_HDR;
	for (size_t i = 0; i < ps->n; i++) {
		const struct kb_pstate *st = &ps->v[i];

		kb_put_be64(q, (uint64_t)st->pid);
		kb_put_be16(q + 8, (uint16_t)st->epoch);
		kb_put_be32(q + 10, (uint32_t)st->last_seq);
		q[14] = st->n;
		q[15] = st->head;
		q += 16;
		for (int k = 0; k < KB_PROD_CACHE; k++, q += 16) {
			kb_put_be32(q, (uint32_t)st->b[k].first_seq);
			kb_put_be32(q + 4, (uint32_t)st->b[k].last_seq);
			kb_put_be64(q + 8, (uint64_t)st->b[k].base);
		}
	}
	kb_put_be32(q, kb_crc32c(0, buf, (size_t)(q - buf)));
	kb_prod_snapshot_name(name, sizeof(name), off);
	err = kb_write_atomic(dfd, NULL, name, buf, len);
	free(buf);
	return err;
}

int kb_prod_snapshot_load(int dfd, const char *dir, int64_t off,
			  struct kb_producers *ps)
{
	char name[48], *raw;
	const uint8_t *p, *q;
	size_t len, n;
	int err;

	kb_prod_snapshot_name(name, sizeof(name), off);
	err = kb_read_small(dfd, name, &raw, &len);
	if (err)
		return err;
	p = (const uint8_t *)raw;
	err = -EBADMSG;
	if (len < SNAP_HDR + 4 || kb_get_be32(p) != SNAP_MAGIC ||
	    kb_get_be32(p + 4) != 1 || (int64_t)kb_get_be64(p + 8) != off)
		goto bad;
	n = kb_get_be32(p + 16);
	if (len != SNAP_HDR + n * SNAP_ENT + 4 ||
	    kb_crc32c(0, p, len - 4) != kb_get_be32(p + len - 4))
		goto bad;
	q = p + SNAP_HDR;
	for (size_t i = 0; i < n; i++) {
		struct kb_pstate st = { 0 };

		st.pid = (int64_t)kb_get_be64(q);
		st.epoch = (int16_t)kb_get_be16(q + 8);
		st.last_seq = (int32_t)kb_get_be32(q + 10);
		st.n = q[14];
		st.head = q[15];
		q += 16;
		if (st.n > KB_PROD_CACHE || st.head >= KB_PROD_CACHE)
			goto bad;
		for (int k = 0; k < KB_PROD_CACHE; k++, q += 16) {
			st.b[k].first_seq = (int32_t)kb_get_be32(q);
			st.b[k].last_seq = (int32_t)kb_get_be32(q + 4);
			st.b[k].base = (int64_t)kb_get_be64(q + 8);
		}
		err = kb_prod_put(ps, &st);
		if (err)
			goto out;
	}
	err = 0;
	goto out;
bad:
	kb_warn("%s/%s: producer snapshot is damaged, rebuilding from the log",
		dir, name);
out:
	if (err)
		kb_prod_free(ps);
	free(raw);
	return err;
}
