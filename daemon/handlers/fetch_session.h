/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Incremental fetch sessions (KIP-227): the broker remembers what a
 * consumer or follower fetches, so later requests carry only the
 * partitions whose fetch position changed and responses only the
 * partitions that have records or new bounds.  One cache per broker,
 * max.incremental.fetch.session.cache.slots sessions, Kafka's eviction.
 */
#ifndef KB_HANDLERS_FETCH_SESSION_H
#define KB_HANDLERS_FETCH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define KB_FS_INITIAL_EPOCH 0
#define KB_FS_FINAL_EPOCH (-1)

/* What the session remembers of one partition: the last request's fetch
 * data and the bounds last sent, so unchanged partitions stay silent. */
struct kb_fs_part {
	int32_t topic;			/* index in the session's topics */
	int32_t partition;
	int32_t leader_epoch;
	int64_t offset;
	int32_t max_bytes;
	int64_t hw, lso, log_start;	/* last sent; -1 = never */
};

struct kb_fs_topic {
	char name[KB_TOPIC_NAME_MAX + 1];
	uint8_t id[16];
	int32_t refs;			/* partitions of it in the session */
};

struct kb_fetch_session {
	int32_t id;
	int32_t epoch;			/* the next request's */
	bool privileged;		/* a follower's */
	bool uses_ids;			/* made by Fetch v13+ */
	int64_t created_ms, last_used_ms;
	struct kb_fs_topic *topics;
	int32_t n_topics, cap_topics;
	struct kb_fs_part *parts;
	int32_t n_parts, cap_parts;
	/* (topic, partition) -> index in parts + 1; 0 = empty slot. */
	int32_t *hash;
	uint32_t hash_cap;
};

/* Sets the cache's limits (config); before the first use. */
void kb_fetch_sessions_init(int32_t slots, int64_t eviction_ms);
void kb_fetch_sessions_close(void);
int32_t kb_fetch_sessions_count(void);

struct kb_fetch_session *kb_fetch_session_get(int32_t id);
void kb_fetch_session_remove(int32_t id);
/* A new empty session, evicting per Kafka's rules when the cache is full;
 * NULL when none may be made (the fetch then goes on sessionless). */
struct kb_fetch_session *kb_fetch_session_create(bool privileged,
						 int32_t size, int64_t now);
/* Records a use: its place in the eviction order follows its size. */
void kb_fetch_session_touch(struct kb_fetch_session *s, int64_t now);

/* The session's entry for a partition, added (bounds -1) when @add. */
struct kb_fs_part *kb_fs_part_get(struct kb_fetch_session *s,
				  const char *topic, const uint8_t *topic_id,
				  int32_t partition, bool add);
void kb_fs_part_forget(struct kb_fetch_session *s, const char *topic,
		       int32_t partition);
/* Moves the entries flagged in @sent (by index) to the end, keeping
 * order, so partitions that just returned records go last next time. */
int kb_fs_rotate(struct kb_fetch_session *s, const bool *sent);

#endif
