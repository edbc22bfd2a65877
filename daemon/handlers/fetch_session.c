// SPDX-License-Identifier: GPL-2.0
/*
 * The fetch session cache.  Eviction follows Kafka's FetchSessionCache: a
 * full cache gives a new session room only by evicting
 *  1. the least recently used session, when it has been idle longer than
 *     min.incremental.fetch.session.eviction.ms, whoever asks; else
 *  2. the least valuable evictable session, when the newcomer is worth at
 *     least as much.  Value orders by privileged (a follower's) first,
 *     then by the number of partitions, then by id.  A follower may evict
 *     any consumer session and any follower session older than the
 *     eviction time; a consumer only sessions older than that.
 * The event loop is single-threaded and the cache holds at most a few
 * thousand sessions, so both choices are a linear scan when the cache is
 * full, which is rare; lookups by id go through a small hash.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "handlers/fetch_session.h"

static struct {
	struct kb_fetch_session **v;	/* open addressing by id */
	uint32_t cap;
	int32_t n;
	int32_t slots;
	int64_t eviction_ms;
} cache = { .slots = 1000, .eviction_ms = 120000 };

void kb_fetch_sessions_init(int32_t slots, int64_t eviction_ms)
{
	cache.slots = slots;
	cache.eviction_ms = eviction_ms;
}

static void session_free(struct kb_fetch_session *s)
{
	free(s->topics);
	free(s->parts);
	free(s->hash);
	free(s);
}

void kb_fetch_sessions_close(void)
{
	for (uint32_t i = 0; i < cache.cap; i++)
		if (cache.v[i])
			session_free(cache.v[i]);
	free(cache.v);
	cache.v = NULL;
	cache.cap = 0;
	cache.n = 0;
}

int32_t kb_fetch_sessions_count(void)
{
	return cache.n;
}

static uint32_t id_slot(int32_t id, uint32_t cap)
{
	return ((uint32_t)id * 2654435761u) & (cap - 1);
}

static void cache_put(struct kb_fetch_session *s)
{
	uint32_t i = id_slot(s->id, cache.cap);

	while (cache.v[i])
		i = (i + 1) & (cache.cap - 1);
	cache.v[i] = s;
}

static int cache_grow(void)
{
	struct kb_fetch_session **old = cache.v;
	uint32_t oldcap = cache.cap, cap = oldcap ? oldcap * 2 : 64;

	cache.v = calloc(cap, sizeof(*cache.v));
	if (!cache.v) {
		cache.v = old;
		return -1;
	}
	cache.cap = cap;
	for (uint32_t i = 0; i < oldcap; i++)
		if (old[i])
			cache_put(old[i]);
	free(old);
	return 0;
}

static uint32_t find_slot(int32_t id)
{
	uint32_t i;

	if (!cache.cap)
		return UINT32_MAX;
	for (i = id_slot(id, cache.cap); cache.v[i];
	     i = (i + 1) & (cache.cap - 1))
		if (cache.v[i]->id == id)
			return i;
	return UINT32_MAX;
}

struct kb_fetch_session *kb_fetch_session_get(int32_t id)
{
	uint32_t i = find_slot(id);

	return i == UINT32_MAX ? NULL : cache.v[i];
}

/* Backward-shift deletion keeps probe chains whole. */
static void cache_del(uint32_t i)
{
	uint32_t j = i;

	session_free(cache.v[i]);
	cache.v[i] = NULL;
	cache.n--;
	for (;;) {
		uint32_t h;

		j = (j + 1) & (cache.cap - 1);
		if (!cache.v[j])
			return;
		h = id_slot(cache.v[j]->id, cache.cap);
		/* Move j back to i when its home is not within (i, j]. */
		if ((j > i && (h <= i || h > j)) ||
		    (j < i && (h <= i && h > j))) {
			cache.v[i] = cache.v[j];
			cache.v[j] = NULL;
			i = j;
		}
	}
}

void kb_fetch_session_remove(int32_t id)
{
	uint32_t i = find_slot(id);

	if (i != UINT32_MAX)
		cache_del(i);
}

/* Kafka's EvictableKey order: privileged, then size, then id. */
static int key_cmp(bool pa, int32_t sa, int32_t ia, bool pb, int32_t sb,
		   int32_t ib)
{
	if (pa != pb)
		return pa ? 1 : -1;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static bool try_evict(bool privileged, int32_t size, int64_t now)
{
	uint32_t lru = UINT32_MAX, best = UINT32_MAX;

	for (uint32_t i = 0; i < cache.cap; i++) {
		struct kb_fetch_session *s = cache.v[i];
		bool old;

		if (!s)
			continue;
		if (lru == UINT32_MAX ||
		    s->last_used_ms < cache.v[lru]->last_used_ms)
			lru = i;
		old = now - s->created_ms > cache.eviction_ms;
		/* A consumer evicts only old sessions; a follower also
		 * any consumer's. */
		if (!(old || (privileged && !s->privileged)))
			continue;
		if (best == UINT32_MAX ||
		    key_cmp(s->privileged, s->n_parts, s->id,
			    cache.v[best]->privileged, cache.v[best]->n_parts,
			    cache.v[best]->id) < 0)
			best = i;
	}
	if (lru == UINT32_MAX)
		return false;
	if (now - cache.v[lru]->last_used_ms > cache.eviction_ms) {
		cache_del(lru);
		return true;
	}
	if (best == UINT32_MAX)
		return false;
	/* The newcomer (id 0) must be worth at least the cheapest. */
	if (key_cmp(privileged, size, 0, cache.v[best]->privileged,
		    cache.v[best]->n_parts, cache.v[best]->id) < 0)
		return false;
	cache_del(best);
	return true;
}

static int32_t new_id(void)
{
	int32_t id;

	do {
		uint32_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)rand();
		id = (int32_t)(r & 0x7fffffff);
	} while (id == 0 || kb_fetch_session_get(id));
	return id;
}

struct kb_fetch_session *kb_fetch_session_create(bool privileged,
						 int32_t size, int64_t now)
{
	struct kb_fetch_session *s;

	if (cache.slots <= 0)
		return NULL;
	if (cache.n >= cache.slots && !try_evict(privileged, size, now))
		return NULL;
	if ((uint32_t)(cache.n + 1) * 2 > cache.cap && cache_grow())
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->id = new_id();
	s->epoch = 1;
	s->privileged = privileged;
	s->created_ms = s->last_used_ms = now;
	cache_put(s);
	cache.n++;
	return s;
}

void kb_fetch_session_touch(struct kb_fetch_session *s, int64_t now)
{
	s->last_used_ms = now;
}

static uint32_t part_hash(int32_t topic, int32_t partition, uint32_t cap)
{
	uint64_t k = (uint64_t)(uint32_t)topic << 32 | (uint32_t)partition;

	return (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static void hash_rebuild(struct kb_fetch_session *s)
{
	memset(s->hash, 0, s->hash_cap * sizeof(*s->hash));
	for (int32_t k = 0; k < s->n_parts; k++) {
		uint32_t i = part_hash(s->parts[k].topic, s->parts[k].partition,
				       s->hash_cap);

		while (s->hash[i])
			i = (i + 1) & (s->hash_cap - 1);
		s->hash[i] = k + 1;
	}
}

static int32_t part_find(struct kb_fetch_session *s, int32_t topic,
			 int32_t partition)
{
	uint32_t i;

	if (!s->hash_cap)
		return -1;
	for (i = part_hash(topic, partition, s->hash_cap); s->hash[i];
	     i = (i + 1) & (s->hash_cap - 1)) {
		struct kb_fs_part *p = &s->parts[s->hash[i] - 1];

		if (p->topic == topic && p->partition == partition)
			return s->hash[i] - 1;
	}
	return -1;
}

static int32_t topic_find(struct kb_fetch_session *s, const char *name)
{
	for (int32_t t = 0; t < s->n_topics; t++)
		if (s->topics[t].refs && !strcmp(s->topics[t].name, name))
			return t;
	return -1;
}

static int32_t topic_add(struct kb_fetch_session *s, const char *name,
			 const uint8_t *id)
{
	int32_t t, slot = -1;

	for (t = 0; t < s->n_topics; t++)
		if (!s->topics[t].refs) {
			slot = t;
			break;
		}
	if (slot < 0) {
		if (s->n_topics == s->cap_topics) {
			int32_t cap = s->cap_topics ? s->cap_topics * 2 : 4;
			struct kb_fs_topic *nt = realloc(s->topics,
							 cap * sizeof(*nt));

			if (!nt)
				return -1;
			s->topics = nt;
			s->cap_topics = cap;
		}
		slot = s->n_topics++;
	}
	memset(&s->topics[slot], 0, sizeof(s->topics[slot]));
	strncpy(s->topics[slot].name, name, KB_TOPIC_NAME_MAX);
	if (id)
		memcpy(s->topics[slot].id, id, 16);
	return slot;
}

struct kb_fs_part *kb_fs_part_get(struct kb_fetch_session *s,
				  const char *topic, const uint8_t *topic_id,
				  int32_t partition, bool add)
{
	int32_t t = topic_find(s, topic), k;
	struct kb_fs_part *p;

	if (t >= 0) {
		k = part_find(s, t, partition);
		if (k >= 0)
			return &s->parts[k];
	}
	if (!add)
		return NULL;
	if (t < 0 && (t = topic_add(s, topic, topic_id)) < 0)
		return NULL;
	if (s->n_parts == s->cap_parts) {
		int32_t cap = s->cap_parts ? s->cap_parts * 2 : 16;
		struct kb_fs_part *np = realloc(s->parts, cap * sizeof(*np));

		if (!np)
			return NULL;
		s->parts = np;
		s->cap_parts = cap;
	}
	if ((uint32_t)(s->n_parts + 1) * 2 > s->hash_cap) {
		uint32_t cap = s->hash_cap ? s->hash_cap * 2 : 32;
		int32_t *nh = calloc(cap, sizeof(*nh));

		if (!nh)
			return NULL;
		free(s->hash);
		s->hash = nh;
		s->hash_cap = cap;
		hash_rebuild(s);
	}
	p = &s->parts[s->n_parts++];
	*p = (struct kb_fs_part){ .topic = t, .partition = partition,
		.leader_epoch = -1, .hw = -1, .lso = -1, .log_start = -1 };
	s->topics[t].refs++;
	k = s->n_parts - 1;
	{
		uint32_t i = part_hash(t, partition, s->hash_cap);

		while (s->hash[i])
			i = (i + 1) & (s->hash_cap - 1);
		s->hash[i] = k + 1;
	}
	return p;
}

void kb_fs_part_forget(struct kb_fetch_session *s, const char *topic,
		       int32_t partition)
{
	int32_t t = topic_find(s, topic), k;

	if (t < 0 || (k = part_find(s, t, partition)) < 0)
		return;
	s->topics[t].refs--;
	memmove(&s->parts[k], &s->parts[k + 1],
		(size_t)(s->n_parts - k - 1) * sizeof(*s->parts));
	s->n_parts--;
	hash_rebuild(s);
}

int kb_fs_rotate(struct kb_fetch_session *s, const bool *sent)
{
	struct kb_fs_part *tmp;
	int32_t k, n = 0, any = 0;

	for (k = 0; k < s->n_parts; k++)
		any += sent[k];
	if (!any || any == s->n_parts)
		return 0;
	tmp = malloc((size_t)s->n_parts * sizeof(*tmp));
	if (!tmp)
		return -1;
	for (k = 0; k < s->n_parts; k++)
		if (!sent[k])
			tmp[n++] = s->parts[k];
	for (k = 0; k < s->n_parts; k++)
		if (sent[k])
			tmp[n++] = s->parts[k];
	memcpy(s->parts, tmp, (size_t)s->n_parts * sizeof(*tmp));
	free(tmp);
	hash_rebuild(s);
	return 0;
}
