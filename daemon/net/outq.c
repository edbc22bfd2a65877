// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/api.h"
#include "net/outq.h"
#include "net/transport.h"

#define OUTQ_IOV 64

/*
 * Segments of a response: memory piece 0, slice 0, memory piece 1, ...,
 * slice n-1, memory piece n.  @seg and @off are the send cursor.
 */
struct kb_out {
	struct kb_out *next;
	uint8_t *buf;
	size_t len;
	struct kb_slice_at *slices;
	int n_slices;
	int seg;
	size_t off;
};

static size_t seg_len(const struct kb_out *o, int seg)
{
	int k = seg / 2;
	size_t from, to;

	if (seg & 1)
		return o->slices[k].len;
	from = k ? o->slices[k - 1].at : 0;
	to = k < o->n_slices ? o->slices[k].at : o->len;
	return to - from;
}

static const uint8_t *seg_mem(const struct kb_out *o, int seg)
{
	int k = seg / 2;

	return o->buf + (k ? o->slices[k - 1].at : 0);
}

static void out_free(struct kb_out *o)
{
	int i;

	for (i = 0; i < o->n_slices; i++)
		if (o->slices[i].fd >= 0)
			close(o->slices[i].fd);
	free(o->slices);
	free(o->buf);
	free(o);
}

int kb_outq_push(struct kb_outq *q, struct kb_resp *resp)
{
	struct kb_out *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->buf = resp->w.buf;
	o->len = resp->w.len;
	o->slices = resp->slices;
	o->n_slices = resp->n_slices;
	q->bytes += o->len + resp->slice_bytes;
	resp->w.buf = NULL;
	resp->w.len = resp->w.cap = 0;
	resp->slices = NULL;
	resp->n_slices = resp->cap_slices = 0;
	resp->slice_bytes = 0;
	if (q->tail)
		q->tail->next = o;
	else
		q->head = o;
	q->tail = o;
	return 0;
}

/* Skips finished segments and frees finished responses. */
static void settle(struct kb_outq *q)
{
	struct kb_out *o;

	while ((o = q->head)) {
		while (o->seg <= 2 * o->n_slices &&
		       o->off >= seg_len(o, o->seg)) {
			if (o->seg & 1) {
				close(o->slices[o->seg / 2].fd);
				o->slices[o->seg / 2].fd = -1;
			}
			o->seg++;
			o->off = 0;
		}
		if (o->seg <= 2 * o->n_slices)
			return;
		q->head = o->next;
		if (!q->head)
			q->tail = NULL;
		out_free(o);
	}
}

static void advance(struct kb_outq *q, size_t n)
{
	q->bytes -= n;
	while (n) {
		struct kb_out *o;
		size_t left;

		settle(q);
		o = q->head;
		left = seg_len(o, o->seg) - o->off;
		if (left > n)
			left = n;
		o->off += left;
		n -= left;
	}
	settle(q);
}

int kb_outq_flush(struct kb_outq *q, struct kb_transport *t)
{
	struct iovec iov[OUTQ_IOV];

	for (;;) {
		struct kb_out *o;
		size_t want = 0;
		ssize_t r;
		int n = 0, seg;

		settle(q);
		o = q->head;
		if (!o)
			return 1;
		if (o->seg & 1) {
			struct kb_slice_at *s = &o->slices[o->seg / 2];
			off_t pos = s->pos + (off_t)o->off;

			want = s->len - o->off;
			r = t->ops->sendfile(t, s->fd, &pos, want);
			if (r == 0) {
				/* The segment shrank under us: the frame
				 * can no longer be completed. */
				errno = EPIPE;
				return -1;
			}
		} else {
			/* Gather memory pieces up to the next file slice. */
			size_t off = o->off;

			seg = o->seg;
			while (o && n < OUTQ_IOV) {
				if (seg & 1)
					break;
				iov[n].iov_base = (void *)(seg_mem(o, seg) +
							   off);
				iov[n].iov_len = seg_len(o, seg) - off;
				want += iov[n].iov_len;
				if (iov[n].iov_len)
					n++;
				off = 0;
				if (seg < 2 * o->n_slices) {
					seg++;
					continue;
				}
				o = o->next;
				seg = 0;
			}
			if (!n) {
				o = q->head;
				o->off = seg_len(o, o->seg);
				continue;
			}
			r = t->ops->writev(t, iov, n);
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		advance(q, (size_t)r);
		if ((size_t)r < want)
			return 0;
	}
}

void kb_outq_clear(struct kb_outq *q)
{
	struct kb_out *o, *next;

	for (o = q->head; o; o = next) {
		next = o->next;
		out_free(o);
	}
	q->head = q->tail = NULL;
	q->bytes = 0;
}
