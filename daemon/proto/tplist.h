/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The [topic [partition ...]] arrays most requests carry (Produce,
 * ListOffsets, ...), decoded whole before a handler acts on any of them:
 * a truncated request is then closed with nothing done.
 */
#ifndef KB_PROTO_TPLIST_H
#define KB_PROTO_TPLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/codec.h"

struct kb_tp_topic {
	struct kb_str name;
	int32_t n;		/* partitions; -1, a null array, has none */
	void *parts;		/* n entries of the caller's size */
};

struct kb_tp_list {
	int32_t n;
	struct kb_tp_topic *topics;
};

/* Reads one partition entry into @part (tagged fields included). */
typedef void (*kb_tp_part_fn)(struct kb_rd *rd, bool flex, int16_t ver,
			      void *part);

/*
 * Reads the topics array at @rd, each topic's partitions through @fn into
 * entries of @size bytes, and the topics' tagged fields; the request's
 * own fields after the array are the caller's.  False when the request is
 * truncated or malformed or memory runs out; free with kb_tp_free() in
 * every case.
 */
bool kb_tp_decode(struct kb_rd *rd, bool flex, int16_t ver,
		  struct kb_tp_list *l, size_t size, kb_tp_part_fn fn);
void kb_tp_free(struct kb_tp_list *l);

static inline void *kb_tp_part(const struct kb_tp_topic *t, size_t size,
			       int32_t i)
{
	return (char *)t->parts + (size_t)i * size;
}

/* Writes a topic name as a response echoes it. */
static inline void kb_tp_write_name(struct kb_wr *w, bool flex,
				    struct kb_str name)
{
	if (flex)
		kb_wr_cstr(w, name.ptr, name.len);
	else
		kb_wr_str(w, name.ptr, name.len);
}

#endif
