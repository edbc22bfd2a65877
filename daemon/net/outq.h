/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-connection output queue of finished responses.  Each response is a
 * memory buffer with file slices inserted at given offsets; memory parts
 * of consecutive responses go out in one writev(), slices with sendfile().
 */
#ifndef KB_BROKER_OUTQ_H
#define KB_BROKER_OUTQ_H

#include <stdbool.h>
#include <stddef.h>

struct kb_resp;
struct kb_transport;
struct kb_out;

struct kb_outq {
	struct kb_out *head, *tail;
	size_t bytes;		/* not yet sent */
};

/* Takes the response's buffer and slices; @resp is left empty. */
int kb_outq_push(struct kb_outq *q, struct kb_resp *resp);
/* Sends what the socket takes: 1 when empty, 0 when it would block, -1 on
 * error (errno set; EPIPE for a file slice that came up short). */
int kb_outq_flush(struct kb_outq *q, struct kb_transport *t);
void kb_outq_clear(struct kb_outq *q);

static inline bool kb_outq_empty(const struct kb_outq *q)
{
	return !q->head;
}

#endif
