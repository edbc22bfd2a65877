// SPDX-License-Identifier: GPL-2.0
/*
 * Per-topic configuration: the keys a topic may override, their checks
 * (Kafka's LogConfig ranges), and the effective log settings of a topic
 * (broker defaults with the overrides applied).  Persistence is topics.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "store/internal.h"

enum kind { K_LONG, K_INT, K_TSTYPE, K_POLICY, K_COMPRESSION, K_RATIO };

struct tkey {
	const char *name;
	enum kind kind;
	int64_t min;
};

/* Order is the KB_TCFG_* order of internal.h. */
static const struct tkey keys[KB_TCFG_N] = {
	[KB_TCFG_RETENTION_MS] = { "retention.ms", K_LONG, -1 },
	[KB_TCFG_RETENTION_BYTES] = { "retention.bytes", K_LONG, -1 },
	/* 14: the smallest record Kafka could ever hold (v0 overhead). */
	[KB_TCFG_SEGMENT_BYTES] = { "segment.bytes", K_INT, 14 },
	[KB_TCFG_SEGMENT_MS] = { "segment.ms", K_LONG, 1 },
	[KB_TCFG_MAX_MESSAGE_BYTES] = { "max.message.bytes", K_INT, 0 },
	[KB_TCFG_TIMESTAMP_TYPE] = { "message.timestamp.type", K_TSTYPE, 0 },
	[KB_TCFG_FLUSH_MESSAGES] = { "flush.messages", K_LONG, 1 },
	[KB_TCFG_FLUSH_MS] = { "flush.ms", K_LONG, 0 },
	[KB_TCFG_CLEANUP_POLICY] = { "cleanup.policy", K_POLICY, 0 },
	[KB_TCFG_MIN_INSYNC] = { "min.insync.replicas", K_INT, 1 },
	[KB_TCFG_COMPRESSION] = { "compression.type", K_COMPRESSION, 0 },
	[KB_TCFG_INDEX_INTERVAL] = { "index.interval.bytes", K_INT, 0 },
	[KB_TCFG_DELETE_RETENTION_MS] = { "delete.retention.ms", K_LONG, 0 },
	[KB_TCFG_MIN_CLEANABLE_RATIO] = { "min.cleanable.dirty.ratio",
					  K_RATIO, 0 },
	[KB_TCFG_MIN_COMPACTION_LAG_MS] = { "min.compaction.lag.ms", K_LONG,
					    0 },
	[KB_TCFG_MAX_COMPACTION_LAG_MS] = { "max.compaction.lag.ms", K_LONG,
					    1 },
};

/* Messages name the key; one buffer is enough for a single-threaded API. */
static char why_buf[256];

size_t kb_topic_cfg_key_count(void)
{
	return KB_TCFG_N;
}

const char *kb_topic_cfg_key_name(size_t i)
{
	return i < KB_TCFG_N ? keys[i].name : NULL;
}

int kb_tcfg_index(const char *key)
{
	for (int i = 0; i < KB_TCFG_N; i++)
		if (!strcmp(keys[i].name, key))
			return i;
	return -1;
}

/* @fmt takes two strings, @a then @b. */
static const char *bad(const char *fmt, const char *a, const char *b)
{
	snprintf(why_buf, sizeof(why_buf), fmt, a, b);
	return why_buf;
}

/* Parses @v strictly: decimal, no blanks, in [min, max]. */
static bool parse_num(const char *v, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long x;

	if (!*v || (*v != '-' && (*v < '0' || *v > '9')))
		return false;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return false;
	*out = x;
	return true;
}

bool kb_tcfg_policy(const char *v, bool *del, bool *compact)
{
	char item[16];
	size_t n;

	*del = *compact = false;
	for (;;) {
		while (*v == ' ')
			v++;
		n = strcspn(v, ",");
		while (n && v[n - 1] == ' ')
			n--;
		if (n >= sizeof(item))
			return false;
		memcpy(item, v, n);
		item[n] = '\0';
		if (!strcmp(item, "delete"))
			*del = true;
		else if (!strcmp(item, "compact"))
			*compact = true;
		else
			return false;
		v = strchr(v, ',');
		if (!v)
			break;
		v++;
	}
	return true;
}

/* Kafka's ratio: a double in [0, 1]. */
static bool parse_ratio(const char *v, double *out)
{
	char *end;
	double x;

	if (!*v)
		return false;
	errno = 0;
	x = strtod(v, &end);
	if (errno || *end || !(x >= 0.0 && x <= 1.0))
		return false;
	*out = x;
	return true;
}

int kb_tcfg_normalize(int idx, const char *value, char *out, size_t cap,
		      const char **why)
{
	const struct tkey *k = &keys[idx];
	int64_t x;

	if (!value) {
		*why = bad("Null value not supported for %s%s", k->name, "");
		return KB_ERR_INVALID_CONFIG;
	}
	switch (k->kind) {
	case K_LONG:
	case K_INT:
		if (!parse_num(value, k->min, k->kind == K_INT ? INT32_MAX :
			       INT64_MAX, &x)) {
			snprintf(why_buf, sizeof(why_buf),
				 "Invalid value %.64s for configuration %s: must be %s >= %" PRId64,
				 value, k->name,
				 k->kind == K_INT ? "an int" : "a long",
				 k->min);
			*why = why_buf;
			return KB_ERR_INVALID_CONFIG;
		}
		snprintf(out, cap, "%" PRId64, x);
		return KB_ERR_NONE;
	case K_TSTYPE:
		if (strcmp(value, "CreateTime") &&
		    strcmp(value, "LogAppendTime")) {
			*why = bad("Invalid value %.64s for configuration %s: String must be one of: CreateTime, LogAppendTime",
				   value, k->name);
			return KB_ERR_INVALID_CONFIG;
		}
		break;
	case K_POLICY: {
		/* A list in Kafka; written back in one canonical order. */
		bool del, compact;

		if (!kb_tcfg_policy(value, &del, &compact)) {
			*why = bad("Invalid value %.64s for configuration %s: String must be one of: compact, delete",
				   value, k->name);
			return KB_ERR_INVALID_CONFIG;
		}
		snprintf(out, cap, "%s", compact && del ? "compact,delete" :
			 compact ? "compact" : "delete");
		return KB_ERR_NONE;
	}
	case K_RATIO: {
		double r;

		if (!parse_ratio(value, &r)) {
			*why = bad("Invalid value %.64s for configuration %s: must be a double in [0.0, 1.0]",
				   value, k->name);
			return KB_ERR_INVALID_CONFIG;
		}
		snprintf(out, cap, "%g", r);
		return KB_ERR_NONE;
	}
	case K_COMPRESSION:
		if (kb_compression_parse(value) < KB_COMPRESSION_PRODUCER) {
			*why = bad("Invalid value %.64s for configuration %s: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer",
				   value, k->name);
			return KB_ERR_INVALID_CONFIG;
		}
		break;
	}
	snprintf(out, cap, "%s", value);
	return KB_ERR_NONE;
}

/*
 * Kafka's other topic configs (TopicConfig): refused too, but the client
 * is told the name is right and the feature is what is missing.
 */
static const char *const kafka_only[] = {
	"compression.gzip.level", "compression.lz4.level",
	"compression.zstd.level", "delete.retention.ms",
	"file.delete.delay.ms", "follower.replication.throttled.replicas",
	"leader.replication.throttled.replicas", "local.retention.bytes",
	"local.retention.ms", "max.compaction.lag.ms",
	"message.downconversion.enable", "message.format.version",
	"message.timestamp.after.max.ms", "message.timestamp.before.max.ms",
	"message.timestamp.difference.max.ms", "min.cleanable.dirty.ratio",
	"min.compaction.lag.ms", "preallocate", "remote.storage.enable",
	"segment.index.bytes", "segment.jitter.ms",
	"unclean.leader.election.enable",
};

int kb_topic_cfg_check(const char *key, const char *value, const char **why)
{
	char norm[KB_TCFG_VALUE_MAX];
	int idx = kb_tcfg_index(key);

	if (idx < 0) {
		for (size_t i = 0; i < sizeof(kafka_only) / sizeof(*kafka_only);
		     i++) {
			if (strcmp(key, kafka_only[i]))
				continue;
			*why = bad("Topic config %s is one of Kafka's that kbrokerd does not implement%s",
				   key, "");
			return KB_ERR_INVALID_CONFIG;
		}
		*why = bad("Unknown topic config name: %.64s%s", key, "");
		return KB_ERR_INVALID_CONFIG;
	}
	return kb_tcfg_normalize(idx, value, norm, sizeof(norm), why);
}

void kb_log_cfg_defaults(const struct kb_store_opts *o, struct kb_log_cfg *c)
{
	*c = (struct kb_log_cfg){
		.segment_bytes = o->segment_bytes,
		.roll_ms = o->roll_ms,
		.retention_ms = o->retention_ms,
		.retention_bytes = o->retention_bytes,
		.flush_messages = o->flush_messages,
		.flush_ms = o->flush_ms,
		.max_message_bytes = o->max_message_bytes,
		.index_interval_bytes = o->index_interval_bytes,
		.log_append_time = o->log_append_time,
		.policy_delete = true,
		.delete_retention_ms = o->delete_retention_ms,
		.min_cleanable_ratio = o->min_cleanable_ratio,
		.min_compaction_lag_ms = o->min_compaction_lag_ms,
		.max_compaction_lag_ms = o->max_compaction_lag_ms > 0 ?
					 o->max_compaction_lag_ms : INT64_MAX,
		.compression = KB_COMPRESSION_PRODUCER,
	};
	if (o->cleanup_policy)
		kb_tcfg_policy(o->cleanup_policy, &c->policy_delete,
			       &c->policy_compact);
	if (o->compression_type &&
	    kb_compression_parse(o->compression_type) >= 0)
		c->compression = (int8_t)kb_compression_parse(o->compression_type);
}

void kb_tcfg_effective(const struct kb_store *s, struct kb_tstate *ts)
{
	struct kb_log_cfg *c = &ts->eff;

	*c = s->dflt;
	for (int i = 0; i < KB_TCFG_N; i++) {
		const char *v = ts->cfg[i];
		int64_t x = 0;

		if (!v)
			continue;
		if (keys[i].kind == K_LONG || keys[i].kind == K_INT)
			parse_num(v, keys[i].min, INT64_MAX, &x);
		switch (i) {
		case KB_TCFG_RETENTION_MS:
			c->retention_ms = x;
			break;
		case KB_TCFG_RETENTION_BYTES:
			c->retention_bytes = x;
			break;
		case KB_TCFG_SEGMENT_BYTES:
			c->segment_bytes = (uint64_t)x;
			break;
		case KB_TCFG_SEGMENT_MS:
			c->roll_ms = x;
			break;
		case KB_TCFG_MAX_MESSAGE_BYTES:
			c->max_message_bytes = (uint32_t)x;
			break;
		case KB_TCFG_TIMESTAMP_TYPE:
			c->log_append_time = !strcmp(v, "LogAppendTime");
			break;
		case KB_TCFG_FLUSH_MESSAGES:
			c->flush_messages = x;
			break;
		case KB_TCFG_FLUSH_MS:
			c->flush_ms = x;
			break;
		case KB_TCFG_INDEX_INTERVAL:
			c->index_interval_bytes = (uint32_t)x;
			break;
		case KB_TCFG_CLEANUP_POLICY:
			kb_tcfg_policy(v, &c->policy_delete,
				       &c->policy_compact);
			break;
		case KB_TCFG_DELETE_RETENTION_MS:
			c->delete_retention_ms = x;
			break;
		case KB_TCFG_MIN_CLEANABLE_RATIO:
			parse_ratio(v, &c->min_cleanable_ratio);
			break;
		case KB_TCFG_MIN_COMPACTION_LAG_MS:
			c->min_compaction_lag_ms = x;
			break;
		case KB_TCFG_MAX_COMPACTION_LAG_MS:
			c->max_compaction_lag_ms = x;
			break;
		case KB_TCFG_COMPRESSION:
			c->compression = (int8_t)kb_compression_parse(v);
			break;
		}
	}
}
