// SPDX-License-Identifier: GPL-2.0
/*
 * Denials are logged, but a client retrying in a loop must not flood the
 * log: one line per principal, resource and operation per minute.  The
 * table remembers a hash of each recent denial; a collision only costs an
 * extra line or a skipped one within the minute, never memory.
 */
#include <string.h>
#include <time.h>

#include "auth/internal.h"
#include "common/log.h"

#define AUDIT_SLOTS 4096
#define AUDIT_PERIOD_MS 60000

struct slot {
	uint64_t hash;
	int64_t at_ms;
	uint64_t suppressed;
};

static struct slot slots[AUDIT_SLOTS];

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kb_auth_audit(const struct kb_auth_who *who, int8_t op, int8_t res,
		   const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int64_t now = mono_ms();
	struct slot *s;
	int8_t k[2] = { op, res };

	h = fnv(h, who->principal, strlen(who->principal) + 1);
	h = fnv(h, name, strlen(name) + 1);
	h = fnv(h, k, sizeof(k));
	h |= 1;			/* 0 marks an empty slot */
	s = &slots[h % AUDIT_SLOTS];
	if (s->hash == h && now - s->at_ms < AUDIT_PERIOD_MS) {
		s->suppressed++;
		return;
	}
	kb_auth_stats.denied_logged++;
	if (s->hash == h && s->suppressed)
		kb_notice("authorization denied: principal %s from %s, operation %s on %s %s (and %llu more in the last minute)",
			  who->principal, who->host ?: "-",
			  kb_acl_op_name(op), kb_acl_res_name(res), name,
			  (unsigned long long)s->suppressed);
	else
		kb_notice("authorization denied: principal %s from %s, operation %s on %s %s",
			  who->principal, who->host ?: "-",
			  kb_acl_op_name(op), kb_acl_res_name(res), name);
	s->hash = h;
	s->at_ms = now;
	s->suppressed = 0;
}

void kb_auth_audit_reset(void)
{
	memset(slots, 0, sizeof(slots));
}
