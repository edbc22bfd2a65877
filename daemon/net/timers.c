// SPDX-License-Identifier: GPL-2.0
/* Deadlines of parked requests: a min-heap of connections (net/loop.h). */
#include <stdint.h>
#include <stdlib.h>

#include "net/conn.h"
#include "net/loop.h"

/* Min-heap of parked connections keyed by deadline. */
static void heap_swap(struct kb_loop *l, size_t a, size_t b)
{
	struct kb_conn *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_idx = a;
	l->heap[b]->heap_idx = b;
}

static void heap_up(struct kb_loop *l, size_t i)
{
	while (i && l->heap[(i - 1) / 2]->deadline_ms > l->heap[i]->deadline_ms) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct kb_loop *l, size_t i)
{
	for (;;) {
		size_t m = i, a = 2 * i + 1, b = a + 1;

		if (a < l->heap_n &&
		    l->heap[a]->deadline_ms < l->heap[m]->deadline_ms)
			m = a;
		if (b < l->heap_n &&
		    l->heap[b]->deadline_ms < l->heap[m]->deadline_ms)
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

void kb_heap_add(struct kb_loop *l, struct kb_conn *c)
{
	if (l->heap_n == l->heap_cap) {
		size_t cap = l->heap_cap ? l->heap_cap * 2 : 64;
		struct kb_conn **nh = realloc(l->heap, cap * sizeof(*nh));

		if (!nh) {
			/* Without a slot the request expires right away. */
			c->deadline_ms = 0;
			c->heap_idx = SIZE_MAX;
			return;
		}
		l->heap = nh;
		l->heap_cap = cap;
	}
	c->heap_idx = l->heap_n;
	l->heap[l->heap_n++] = c;
	heap_up(l, c->heap_idx);
}

void kb_heap_del(struct kb_loop *l, struct kb_conn *c)
{
	size_t i = c->heap_idx;

	if (i >= l->heap_n || l->heap[i] != c)
		return;
	l->heap_n--;
	if (i != l->heap_n) {
		l->heap[i] = l->heap[l->heap_n];
		l->heap[i]->heap_idx = i;
		heap_down(l, i);
		heap_up(l, i);
	}
	c->heap_idx = SIZE_MAX;
}
