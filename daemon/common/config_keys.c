// SPDX-License-Identifier: GPL-2.0
/* The kbroker.properties keys: types, ranges, defaults, and their values
 * as DescribeConfigs reports them. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/config_keys.h"

#define OFF(f) offsetof(struct kb_config, f)
#define SZ(f) ((int)sizeof(((struct kb_config *)0)->f))
#define INT(n, f, lo, hi, d) { n, T_INT, OFF(f), SZ(f), lo, hi, d, -1, 1 }
#define BOOL(n, f, d) { n, T_BOOL, OFF(f), SZ(f), 0, 1, d, -1, 1 }
#define STR(n, d) { n, T_STR, 0, 0, 0, 0, d, -1, 1 }

const struct key_def kb_config_keys[K_COUNT] = {
	[K_BROKER_ID] = INT("broker.id", broker_id, 0, INT32_MAX, "0"),
	[K_LISTENERS] = STR("listeners", "PLAINTEXT://0.0.0.0:9092"),
	[K_ADV_LISTENERS] = STR("advertised.listeners", NULL),
	[K_PROTO_MAP] = STR("listener.security.protocol.map",
			    "PLAINTEXT:PLAINTEXT,SSL:SSL"),
	[K_LOG_DIRS] = STR("log.dirs", NULL),
	[K_LOG_DIR] = { "log.dir", T_STR, 0, 0, 0, 0, NULL, K_LOG_DIRS, 1 },
	[K_NUM_PARTITIONS] = INT("num.partitions", num_partitions, 1,
				 100000, "1"),
	[K_AUTO_CREATE] = BOOL("auto.create.topics.enable",
			       auto_create_topics, "true"),
	[K_SEGMENT_BYTES] = INT("log.segment.bytes", segment_bytes, 14,
				INT32_MAX, "1073741824"),
	[K_ROLL_MS] = INT("log.roll.ms", roll_ms, 1, INT64_MAX, "604800000"),
	[K_ROLL_HOURS] = { "log.roll.hours", T_INT, OFF(roll_ms), 8, 1,
			   INT32_MAX, NULL, K_ROLL_MS, 3600000 },
	[K_RET_MS] = INT("log.retention.ms", retention_ms, -1, INT64_MAX,
			 "604800000"),
	[K_RET_MIN] = { "log.retention.minutes", T_INT, OFF(retention_ms), 8,
			-1, INT32_MAX, NULL, K_RET_MS, 60000 },
	[K_RET_HOURS] = { "log.retention.hours", T_INT, OFF(retention_ms), 8,
			  -1, INT32_MAX, NULL, K_RET_MS, 3600000 },
	[K_RET_BYTES] = INT("log.retention.bytes", retention_bytes, -1,
			    INT64_MAX, "-1"),
	[K_FLUSH_MSGS] = INT("log.flush.interval.messages", flush_messages, 1,
			     INT64_MAX, "9223372036854775807"),
	[K_FLUSH_MS] = INT("log.flush.interval.ms", flush_ms, -1, INT64_MAX,
			   "-1"),
	[K_INDEX_INTERVAL] = INT("log.index.interval.bytes",
				 index_interval_bytes, 0, INT32_MAX, "4096"),
	[K_MSG_MAX] = INT("message.max.bytes", message_max_bytes, 0,
			  INT32_MAX, "1048588"),
	[K_REQ_MAX] = INT("socket.request.max.bytes", socket_request_max_bytes,
			  1, INT32_MAX, "104857600"),
	[K_IDLE_MS] = INT("connections.max.idle.ms", connections_max_idle_ms,
			  -1, INT64_MAX, "600000"),
	[K_AT_REST] = { "at.rest.encryption", T_ONOFF, OFF(at_rest_encryption),
			SZ(at_rest_encryption), 0, 1, "on", -1, 1 },
	[K_OFFSETS_RET_MIN] = INT("offsets.retention.minutes",
				  offsets_retention_min, 1, INT32_MAX, "10080"),
	[K_OFFSET_META_MAX] = INT("offset.metadata.max.bytes",
				  offset_metadata_max, 0, INT32_MAX, "4096"),
	/* TLS, Kafka's keys; listener.name.<name>.ssl.* override them. */
	[K_SSL_KS_TYPE] = STR("ssl.keystore.type", "PEM"),
	[K_SSL_KS_LOC] = STR("ssl.keystore.location", NULL),
	[K_SSL_KEY_PW] = STR("ssl.key.password", NULL),
	[K_SSL_TS_TYPE] = STR("ssl.truststore.type", "PEM"),
	[K_SSL_TS_LOC] = STR("ssl.truststore.location", NULL),
	[K_SSL_CLIENT_AUTH] = STR("ssl.client.auth", "none"),
	[K_SSL_PROTOCOLS] = STR("ssl.enabled.protocols", "TLSv1.2,TLSv1.3"),
	[K_SSL_CIPHERS] = STR("ssl.cipher.suites", NULL),
	[K_SSL_HS_TIMEOUT] = INT("ssl.handshake.timeout.ms",
				 ssl_handshake_timeout_ms, 1, INT32_MAX,
				 "10000"),
	/* ssl.keystore.type=KEYRING: key and chain from the kernel keyring. */
	[K_SSL_KR_KEY] = STR("ssl.keystore.keyring.key", NULL),
	[K_SSL_KR_CHAIN] = STR("ssl.keystore.keyring.chain", NULL),
	/* 13 months, as MSK renews. */
	[K_CERT_LIFETIME] = INT("ssl.certificate.lifetime.days",
				cert_lifetime_days, 1, 36500, "395"),
	[K_CERT_BEFORE] = INT("ssl.certificate.renew.before.days",
			      cert_renew_before_days, 0, 36500, "30"),
	[K_CERT_RETRY] = INT("ssl.certificate.renew.retry.ms",
			     cert_renew_retry_ms, 100, INT32_MAX, "60000"),
	[K_CERT_CMD] = STR("ssl.certificate.renew.command", NULL),
	[K_CERT_CA] = STR("ssl.certificate.ca.location", NULL),
	[K_CTL_SOCK] = STR("control.socket", "/run/kbroker/kbrokerd.sock"),
	/* Volumes kbrokerd opens itself, and the master key it uses. */
	[K_AT_REST_VOLUMES] = STR("at.rest.volumes", NULL),
	[K_AT_REST_MASTER] = STR("at.rest.master.key", NULL),
	[K_AT_REST_STATE] = STR("at.rest.state.dir", NULL),
	/* A cluster on ZooKeeper, Kafka's keys (cluster/cluster.h). */
	[K_ZK_CONNECT] = STR("zookeeper.connect", NULL),
	[K_ZK_SESSION] = INT("zookeeper.session.timeout.ms",
			     zk_session_timeout_ms, 1000, INT32_MAX, "18000"),
	[K_ZK_CONN_TIMEOUT] = INT("zookeeper.connection.timeout.ms",
				  zk_connection_timeout_ms, 100, INT32_MAX,
				  "18000"),
	[K_RACK] = STR("broker.rack", NULL),
	[K_IBL] = STR("inter.broker.listener.name", NULL),
	/* Fixed when the cluster is created, as MSK's in-cluster setting. */
	[K_ENC_IN_CLUSTER] = BOOL("encryption.in.cluster",
				  encryption_in_cluster, "true"),
	[K_DEFAULT_RF] = INT("default.replication.factor",
			     default_replication_factor, 1, 16, "1"),
	/* SIGTERM moves leadership away first (cluster/shutdown.c). */
	[K_CS_ENABLE] = BOOL("controlled.shutdown.enable",
			     controlled_shutdown, "true"),
	[K_CS_RETRIES] = INT("controlled.shutdown.max.retries",
			     cs_max_retries, 0, 100, "3"),
	[K_CS_BACKOFF] = INT("controlled.shutdown.retry.backoff.ms",
			     cs_backoff_ms, 0, 3600000, "5000"),
	/* Prometheus scrapes /metrics here (daemon/metrics). */
	[K_METRICS] = STR("metrics.listener", "http://127.0.0.1:9644"),
	/* Authorization (auth/): acl or none. */
	[K_AUTHORIZER] = STR("authorizer", "none"),
	[K_SUPER_USERS] = STR("super.users", NULL),
	[K_ALLOW_NO_ACL] = BOOL("allow.everyone.if.no.acl.found",
				allow_everyone_if_no_acl, "false"),
	[K_PRINCIPAL_RULES] = STR("ssl.principal.mapping.rules", "DEFAULT"),
	/* Log compaction, Kafka's keys and defaults (store/cleaner.c). */
	[K_CLEANUP_POLICY] = STR("log.cleanup.policy", "delete"),
	[K_CLEANER_ENABLE] = BOOL("log.cleaner.enable", cleaner_enable,
				  "true"),
	[K_CLEANER_THREADS] = INT("log.cleaner.threads", cleaner_threads, 0,
				  64, "1"),
	/* Doubles, checked by config.c. */
	[K_CLEANER_IO_MAX] = STR("log.cleaner.io.max.bytes.per.second",
				 "1.7976931348623157E308"),
	[K_CLEANER_DEDUPE] = INT("log.cleaner.dedupe.buffer.size",
				 cleaner_dedupe_buffer, 65536, INT64_MAX,
				 "134217728"),
	[K_CLEANER_DEL_RET] = INT("log.cleaner.delete.retention.ms",
				  cleaner_delete_retention_ms, 0, INT64_MAX,
				  "86400000"),
	[K_CLEANER_MIN_RATIO] = STR("log.cleaner.min.cleanable.ratio", "0.5"),
	[K_CLEANER_MIN_LAG] = INT("log.cleaner.min.compaction.lag.ms",
				  cleaner_min_lag_ms, 0, INT64_MAX, "0"),
	[K_CLEANER_MAX_LAG] = INT("log.cleaner.max.compaction.lag.ms",
				  cleaner_max_lag_ms, 1, INT64_MAX,
				  "9223372036854775807"),
	[K_CLEANER_BACKOFF] = INT("log.cleaner.backoff.ms",
				  cleaner_backoff_ms, 0, INT64_MAX, "15000"),
	/* KIP-227 fetch sessions; 0 slots = every fetch sessionless. */
	[K_FETCH_SESSION_SLOTS] = INT("max.incremental.fetch.session.cache.slots",
				      fetch_session_slots, 0, 1000000, "1000"),
	[K_FETCH_SESSION_EVICTION] = INT("min.incremental.fetch.session.eviction.ms",
					 fetch_session_eviction_ms, 0,
					 INT32_MAX, "120000"),
	/* Unset: required when the module is loaded at start. */
	[K_MODULE_REQUIRED] = STR("module.required", NULL),
	/* Topics' compression.type default: batches recompressed at append. */
	[K_COMPRESSION] = STR("compression.type", "producer"),
};

static const char *const codec_names[] = {
	"uncompressed", "gzip", "snappy", "lz4", "zstd",
};

int kb_compression_parse(const char *name)
{
	int i;

	if (!strcmp(name, "producer"))
		return KB_COMPRESSION_PRODUCER;
	for (i = 0; i < 5; i++)
		if (!strcmp(name, codec_names[i]))
			return i;
	return -2;
}

const char *kb_compression_name(int c)
{
	return c >= 0 && c < 5 ? codec_names[c] : "producer";
}

const int kb_config_tls_keys[KB_N_TLS_KEYS] = {
	K_SSL_KS_TYPE, K_SSL_KS_LOC, K_SSL_KEY_PW, K_SSL_TS_TYPE, K_SSL_TS_LOC,
	K_SSL_CLIENT_AUTH, K_SSL_PROTOCOLS, K_SSL_CIPHERS, K_SSL_KR_KEY,
	K_SSL_KR_CHAIN,
};

static const char *const policy_names[] = {
	[KB_POLICY_TLS] = "tls",
	[KB_POLICY_TLS_PLAINTEXT] = "tls_plaintext",
	[KB_POLICY_PLAINTEXT] = "plaintext",
};

const char *kb_policy_name(enum kb_listener_policy p)
{
	return (unsigned int)p < 3 ? policy_names[p] : "?";
}

int64_t kb_config_load_int(const struct kb_config *cfg,
			   const struct key_def *k)
{
	const char *f = (const char *)cfg + k->off;

	if (k->size == 4) {
		int32_t x;

		memcpy(&x, f, 4);
		return x;
	}
	int64_t v;

	memcpy(&v, f, 8);
	return v;
}

size_t kb_config_key_count(void)
{
	return K_COUNT;
}

const char *kb_config_key_name(size_t i)
{
	return i < K_COUNT ? kb_config_keys[i].name : NULL;
}

bool kb_config_key_value(const struct kb_config *cfg, size_t i, char *buf,
			 size_t len, bool *is_set)
{
	const struct key_def *k;

	if (i >= K_COUNT)
		return false;
	k = &kb_config_keys[i];
	*is_set = cfg->raw && cfg->raw[i];
	if (i == K_SSL_KEY_PW)
		return false;	/* sensitive, like Kafka's password keys */
	switch (k->type) {
	case T_INT:
		if (k->alias_of >= 0) {
			/* Aliases report what the file said, if anything. */
			if (!*is_set)
				return false;
			snprintf(buf, len, "%s", cfg->raw[i]);
		} else {
			snprintf(buf, len, "%" PRId64, kb_config_load_int(cfg, k));
		}
		return true;
	case T_BOOL:
		snprintf(buf, len, "%s",
			 *(bool *)((char *)cfg + k->off) ? "true" : "false");
		return true;
	case T_ONOFF:
		snprintf(buf, len, "%s",
			 *(bool *)((char *)cfg + k->off) ? "on" : "off");
		return true;
	case T_STR:
		if (*is_set)
			snprintf(buf, len, "%s", cfg->raw[i]);
		else if (k->def)
			snprintf(buf, len, "%s", k->def);
		else
			return false;
		return true;
	}
	return false;
}

int8_t kb_config_key_kafka_type(size_t i)
{
	if (i >= K_COUNT)
		return 0;
	switch (i) {
	case K_CLEANER_IO_MAX:
	case K_CLEANER_MIN_RATIO:
		return 6;	/* DOUBLE */
	case K_CLEANUP_POLICY:
		return 7;	/* LIST */
	}
	switch (kb_config_keys[i].type) {
	case T_INT:
		return 5;	/* LONG */
	case T_BOOL:
		return 1;	/* BOOLEAN */
	default:
		return 2;	/* STRING */
	}
}
