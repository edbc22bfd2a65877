// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include "proto/tplist.h"

bool kb_tp_decode(struct kb_rd *rd, bool flex, int16_t ver,
		  struct kb_tp_list *l, size_t size, kb_tp_part_fn fn)
{
	l->n = kb_rd_varray(rd, flex);
	if (rd->err || l->n < 0)
		return false;
	/* Counts are checked against the bytes left, so this is bounded. */
	l->topics = calloc(l->n ? l->n : 1, sizeof(*l->topics));
	if (!l->topics)
		return false;
	for (int32_t i = 0; i < l->n; i++) {
		struct kb_tp_topic *t = &l->topics[i];

		t->name = kb_rd_vstr(rd, flex);
		t->n = kb_rd_varray(rd, flex);
		if (rd->err)
			return false;
		t->parts = calloc(t->n > 0 ? t->n : 1, size);
		if (!t->parts)
			return false;
		for (int32_t j = 0; j < t->n; j++)
			fn(rd, flex, ver, kb_tp_part(t, size, j));
		kb_rd_vtags(rd, flex);
	}
	return !rd->err;
}

void kb_tp_free(struct kb_tp_list *l)
{
	for (int32_t i = 0; l->topics && i < l->n; i++)
		free(l->topics[i].parts);
	free(l->topics);
	l->topics = NULL;
	l->n = 0;
}
