// SPDX-License-Identifier: GPL-2.0
/*
 * DescribeConfigs for BROKER and TOPIC resources.  A topic's entries are the
 * broker's values (static or default) unless the store holds an override
 * (source TOPIC_CONFIG).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "handlers/api.h"
#include "handlers/authz.h"
#include "certs/cert.h"
#include "proto/errors.h"
#include "net/loop.h"
#include "store/store.h"

enum {
	RES_TOPIC = 2, RES_BROKER = 4,
	SRC_TOPIC = 1, SRC_DYNAMIC_BROKER = 2, SRC_STATIC_BROKER = 4,
	SRC_DEFAULT = 5,
	TYPE_STRING = 2, TYPE_INT = 3, TYPE_LONG = 5, TYPE_DOUBLE = 6,
	TYPE_LIST = 7,
};

struct topic_key {
	const char *name;
	const char *broker_key;	/* NULL: fixed value */
	const char *fixed;
	int8_t type;
	const char *syn;	/* fixed value's broker key, DEFAULT_CONFIG */
	const char *doc;
};

/* Topic keys and the broker keys they default to, as Kafka's LogConfig. */
static const struct topic_key topic_keys[] = {
	{ "cleanup.policy", "log.cleanup.policy", NULL, TYPE_LIST, NULL,
	  "The retention policy of old log segments: delete, compact or both." },
	{ "compression.type", "compression.type", NULL, TYPE_STRING, NULL,
	  "The final compression type of the topic's batches: uncompressed, zstd, lz4, snappy, gzip, or producer to keep the producer's codec." },
	{ "message.timestamp.type", NULL, "CreateTime", TYPE_STRING,
	  "log.message.timestamp.type",
	  "Whether record timestamps are the producer's (CreateTime) or the broker's append time (LogAppendTime)." },
	{ "min.insync.replicas", NULL, "1", TYPE_INT, "min.insync.replicas",
	  "The minimum number of in-sync replicas that must acknowledge an acks=all write." },
	{ "max.message.bytes", "message.max.bytes", NULL, TYPE_INT, NULL,
	  "The largest record batch size allowed, after compression." },
	{ "retention.ms", "log.retention.ms", NULL, TYPE_LONG, NULL,
	  "How long a log segment is kept before it is deleted, in ms; -1 for no time limit." },
	{ "retention.bytes", "log.retention.bytes", NULL, TYPE_LONG, NULL,
	  "The largest size a partition may grow to before old segments are deleted; -1 for no limit." },
	{ "segment.bytes", "log.segment.bytes", NULL, TYPE_INT, NULL,
	  "The segment file size of the log." },
	{ "segment.ms", "log.roll.ms", NULL, TYPE_LONG, NULL,
	  "The time after which a segment is rolled even if not full, in ms." },
	{ "flush.messages", "log.flush.interval.messages", NULL, TYPE_LONG,
	  NULL, "The number of messages after which the log is fsynced." },
	{ "flush.ms", "log.flush.interval.ms", NULL, TYPE_LONG, NULL,
	  "The time after which the log is fsynced, in ms." },
	{ "index.interval.bytes", "log.index.interval.bytes", NULL, TYPE_INT,
	  NULL, "How many bytes of log lie between two offset index entries." },
	{ "delete.retention.ms", "log.cleaner.delete.retention.ms", NULL,
	  TYPE_LONG, NULL,
	  "How long tombstones are kept on a compacted topic, in ms." },
	{ "min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", NULL,
	  TYPE_DOUBLE, NULL,
	  "The dirty share of the log above which it is compacted." },
	{ "min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", NULL,
	  TYPE_LONG, NULL,
	  "The least time a record stays uncompacted, in ms." },
	{ "max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", NULL,
	  TYPE_LONG, NULL,
	  "The most time a record stays ineligible for compaction, in ms." },
};

static bool kb_streq0(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool broker_value(const struct kb_config *cfg, const char *key,
			 char *buf, size_t len, bool *set)
{
	size_t i, n = kb_config_key_count();

	for (i = 0; i < n; i++)
		if (!strcmp(kb_config_key_name(i), key))
			return kb_config_key_value(cfg, i, buf, len, set);
	return false;
}

static bool key_set(const struct kb_config *cfg, const char *key)
{
	char buf[64];
	bool set = false;

	broker_value(cfg, key, buf, sizeof(buf), &set);
	return set;
}

size_t kb_topic_configs(const struct kb_config *cfg, struct kb_store *st,
			const char *topic, struct kb_topic_config *out,
			size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(topic_keys) / sizeof(topic_keys[0]); i++) {
		const struct topic_key *k = &topic_keys[i];
		struct kb_topic_config *c;
		bool set = false;

		if (n == cap)
			break;
		c = &out[n];
		c->name = k->name;
		c->type = k->type;
		c->synonym = k->broker_key ? k->broker_key : k->syn;
		c->doc = k->doc;
		if (k->broker_key) {
			if (!broker_value(cfg, k->broker_key, c->value,
					  sizeof(c->value), &set))
				continue;
			/* Aliases (minutes, hours) feed the same value. */
			if (!strcmp(k->name, "retention.ms")) {
				set = key_set(cfg, "log.retention.ms") ||
				      key_set(cfg, "log.retention.minutes") ||
				      key_set(cfg, "log.retention.hours");
				snprintf(c->value, sizeof(c->value),
					 "%" PRId64, cfg->retention_ms);
			} else if (!strcmp(k->name, "segment.ms")) {
				set = key_set(cfg, "log.roll.ms") ||
				      key_set(cfg, "log.roll.hours");
				snprintf(c->value, sizeof(c->value),
					 "%" PRId64, cfg->roll_ms);
			} else if (!strcmp(k->name, "flush.ms") &&
				   cfg->flush_ms < 0) {
				/*
				 * The broker's -1 is "never"; Kafka says that
				 * with Long.MAX_VALUE for the topic key, the
				 * one value flush.ms accepts back.
				 */
				snprintf(c->value, sizeof(c->value), "%" PRId64,
					 INT64_MAX);
			}
		} else {
			snprintf(c->value, sizeof(c->value), "%s", k->fixed);
		}
		c->source = set ? SRC_STATIC_BROKER : SRC_DEFAULT;
		c->read_only = true;
		for (size_t j = 0; j < kb_topic_cfg_key_count(); j++)
			if (!strcmp(kb_topic_cfg_key_name(j), k->name))
				c->read_only = false;
		snprintf(c->dflt, sizeof(c->dflt), "%s", c->value);
		c->dflt_source = c->source;
		if (st && topic) {
			const char *v = kb_store_topic_config(st, topic,
							      k->name);

			if (v) {
				snprintf(c->value, sizeof(c->value), "%s", v);
				c->source = SRC_TOPIC;
			}
		}
		n++;
	}
	return n;
}

/* Is @name among the requested keys (NULL list = all)? */
static bool wanted(struct kb_rd keys, int32_t n, bool flex, const char *name)
{
	int32_t i;

	if (n < 0)
		return true;
	for (i = 0; i < n; i++) {
		struct kb_str s = kb_rd_vstr(&keys, flex);

		if ((size_t)s.len == strlen(name) && !memcmp(s.ptr, name, s.len))
			return true;
	}
	return false;
}

static void write_synonym(struct kb_wr *w, bool flex, const char *name,
			  const char *value, int8_t source)
{
	kb_wr_vstr(w, flex, name);
	kb_wr_vnstr(w, flex, value);
	kb_wr_i8(w, source);
	kb_wr_tags(w, flex);
}

/*
 * One entry; synonyms in Kafka's order of precedence: the topic override
 * (when @source is TOPIC_CONFIG), then the broker key @syn_name with
 * @dflt (@dflt_source).
 */
static void write_entry(struct kb_wr *w, int16_t ver, bool flex,
			bool synonyms, const char *name, const char *value,
			int8_t source, int8_t type, bool read_only,
			const char *syn_name, const char *dflt,
			int8_t dflt_source, const char *doc)
{
	kb_wr_vstr(w, flex, name);
	kb_wr_vnstr(w, flex, value);
	kb_wr_bool(w, read_only);
	if (ver == 0)
		kb_wr_bool(w, source == SRC_DEFAULT);
	else
		kb_wr_i8(w, source);
	kb_wr_bool(w, false);		/* is_sensitive */
	if (ver >= 1) {
		bool topic = source == SRC_TOPIC;

		if (!synonyms) {
			kb_wr_varray(w, flex, 0);
		} else {
			kb_wr_varray(w, flex, topic + (syn_name != NULL));
			if (topic)
				write_synonym(w, flex, name, value, source);
			if (syn_name)
				write_synonym(w, flex, syn_name, dflt,
					      dflt_source == SRC_DEFAULT ?
					      SRC_DEFAULT : SRC_STATIC_BROKER);
		}
	}
	if (ver >= 3) {
		kb_wr_i8(w, type);
		kb_wr_vnstr(w, flex, doc);	/* NULL unless asked for */
	}
	kb_wr_tags(w, flex);
}

/* A TLS listener's keystore: the file a Kafka client set (dynamic), or
 * the configured file or keyring key. */
static bool keystore_value(struct kb_broker *b, int li, char *buf, size_t len,
			   bool *dynamic)
{
	const struct kb_listener_cfg *lc = &b->cfg->listeners[li];
	const char *d;

	if (!b->loop || li >= b->loop->n_ls || !b->loop->ls[li].tls_ctx)
		return false;
	d = kb_cert_dynamic_location(li);
	*dynamic = d != NULL;
	if (d)
		snprintf(buf, len, "%s", d);
	else if (lc->tls.ks_type == KB_KS_KEYRING)
		snprintf(buf, len, "keyring:%s", lc->tls.keyring_key);
	else
		snprintf(buf, len, "%s", lc->tls.keystore);
	return true;
}

/* The configs of a topic the request asks for. */
static void describe_topic(struct kb_wr *w, int16_t ver, bool flex,
			   bool synonyms, bool docs, struct kb_rd keys,
			   int32_t nk, const struct kb_topic_config *tc,
			   size_t n)
{
	size_t cnt = 0, c;

	for (c = 0; c < n; c++)
		cnt += wanted(keys, nk, flex, tc[c].name);
	kb_wr_varray(w, flex, (int32_t)cnt);
	for (c = 0; c < n; c++)
		if (wanted(keys, nk, flex, tc[c].name))
			write_entry(w, ver, flex, synonyms, tc[c].name,
				    tc[c].value, tc[c].source, tc[c].type,
				    tc[c].read_only, tc[c].synonym,
				    tc[c].dflt, tc[c].dflt_source,
				    docs ? tc[c].doc : NULL);
}

/*
 * A broker key's documentation: the topic key it is the default of says
 * what it does; kbroker's own keys are described in kbroker.properties(5).
 */
static const char *broker_doc(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(topic_keys) / sizeof(topic_keys[0]); i++)
		if (kb_streq0(topic_keys[i].broker_key, key) ||
		    kb_streq0(topic_keys[i].syn, key))
			return topic_keys[i].doc;
	return "A kbrokerd setting, see kbroker.properties(5).";
}

/* The broker's configs the request asks for: per listener keystores in
 * Kafka's dynamic form, then the config file's keys. */
static void describe_broker(struct kb_req *req, struct kb_wr *w,
			    bool synonyms, bool docs, struct kb_rd keys,
			    int32_t nk)
{
	const struct kb_config *cfg = req->b->cfg;
	int16_t ver = req->hdr.api_version;
	size_t nkeys = kb_config_key_count(), cnt = 0, c;
	char val[512], kn2[KB_NAME_MAX + 40];
	bool flex = req->flex, set;
	int li;

	for (c = 0; c < nkeys; c++)
		cnt += kb_config_key_value(cfg, c, val, sizeof(val), &set) &&
		       wanted(keys, nk, flex, kb_config_key_name(c));
	for (li = 0; li < cfg->n_listeners; li++) {
		snprintf(kn2, sizeof(kn2),
			 "listener.name.%s.ssl.keystore.location",
			 cfg->listeners[li].name);
		cnt += wanted(keys, nk, flex, kn2) &&
		       keystore_value(req->b, li, val, sizeof(val), &set);
	}
	kb_wr_varray(w, flex, (int32_t)cnt);
	for (li = 0; li < cfg->n_listeners; li++) {
		snprintf(kn2, sizeof(kn2),
			 "listener.name.%s.ssl.keystore.location",
			 cfg->listeners[li].name);
		if (!wanted(keys, nk, flex, kn2) ||
		    !keystore_value(req->b, li, val, sizeof(val), &set))
			continue;
		write_entry(w, ver, flex, synonyms, kn2, val,
			    set ? SRC_DYNAMIC_BROKER : SRC_STATIC_BROKER,
			    TYPE_STRING, false, NULL, NULL, 0,
			    docs ? "The listener's keystore: a PEM file with key and chain." : NULL);
	}
	for (c = 0; c < nkeys; c++) {
		const char *kn = kb_config_key_name(c);

		if (!kb_config_key_value(cfg, c, val, sizeof(val), &set) ||
		    !wanted(keys, nk, flex, kn))
			continue;
		write_entry(w, ver, flex, synonyms, kn, val,
			    set ? SRC_STATIC_BROKER : SRC_DEFAULT,
			    kb_config_key_kafka_type(c), true, kn, val,
			    set ? SRC_STATIC_BROKER : SRC_DEFAULT,
			    docs ? broker_doc(kn) : NULL);
	}
}

/* Whether resource @type/@s is one this broker describes; the topic's
 * configs into @tc (*@n of them) when it is a topic. */
static int16_t describe_check(struct kb_req *req, int8_t type,
			      struct kb_str s, const char **msg,
			      struct kb_topic_config *tc, size_t *n)
{
	char name[KB_TOPIC_NAME_MAX + 1], me[16];
	int16_t denied;

	*n = 0;
	snprintf(me, sizeof(me), "%d", req->b->cfg->broker_id);
	denied = kb_config_denied(req, type, s, KB_OP_DESCRIBE_CONFIGS);
	if (denied) {
		*msg = "not authorized";
		return denied;
	}
	if (type == RES_TOPIC) {
		if (!kb_str_copy(name, sizeof(name), s) ||
		    !kb_store_topic_find(req->b->store, name)) {
			*msg = "unknown topic";
			return KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		}
		*n = kb_topic_configs(req->b->cfg, req->b->store, name, tc,
				      32);
		return KB_ERR_NONE;
	}
	if (type == RES_BROKER) {
		if (s.len && ((size_t)s.len != strlen(me) ||
			      memcmp(s.ptr, me, s.len))) {
			*msg = "not this broker's id";
			return KB_ERR_INVALID_REQUEST;
		}
		return KB_ERR_NONE;
	}
	*msg = "only TOPIC and BROKER resources are served";
	return KB_ERR_INVALID_REQUEST;
}

int kb_h_describe_configs(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd, scan;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex, synonyms = false, docs = false;
	int32_t nr, i, k, nk;

	scan = *rd;
	nr = kb_rd_varray(&scan, flex);
	for (i = 0; i < nr && !scan.err; i++) {
		kb_rd_i8(&scan);
		kb_rd_vstr(&scan, flex);
		nk = kb_rd_varray(&scan, flex);
		for (k = 0; k < nk && !scan.err; k++)
			kb_rd_vstr(&scan, flex);
		kb_rd_vtags(&scan, flex);
	}
	if (ver >= 1)
		synonyms = kb_rd_bool(&scan);
	if (ver >= 3)
		docs = kb_rd_bool(&scan);
	kb_rd_vtags(&scan, flex);
	if (scan.err || nr < 0)
		return KB_H_CLOSE;

	kb_wr_i32(w, 0);
	nr = kb_rd_varray(rd, flex);
	kb_wr_varray(w, flex, nr);
	for (i = 0; i < nr; i++) {
		int8_t type = kb_rd_i8(rd);
		struct kb_str s = kb_rd_vstr(rd, flex);
		struct kb_topic_config tc[32];
		const char *msg = NULL;
		struct kb_rd keys;
		int16_t err;
		size_t n;

		nk = kb_rd_varray(rd, flex);
		keys = *rd;
		for (k = 0; k < nk; k++)
			kb_rd_vstr(rd, flex);
		kb_rd_vtags(rd, flex);

		err = describe_check(req, type, s, &msg, tc, &n);
		kb_wr_i16(w, err);
		kb_wr_vnstr(w, flex, msg);
		kb_wr_i8(w, type);
		if (flex)
			kb_wr_cstr(w, s.ptr, s.len);
		else
			kb_wr_str(w, s.ptr, s.len);
		if (err)
			kb_wr_varray(w, flex, 0);
		else if (type == RES_TOPIC)
			describe_topic(w, ver, flex, synonyms, docs, keys, nk,
				       tc, n);
		else
			describe_broker(req, w, synonyms, docs, keys, nk);
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}
