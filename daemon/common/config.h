/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbrokerd configuration: a Kafka server.properties style file.  Keys are
 * described by a table (type, range, default) so later work (TLS, at-rest
 * encryption) adds rows, not parsing code.
 */
#ifndef KB_BROKER_CONFIG_H
#define KB_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_MAX_LISTENERS 8
#define KB_NAME_MAX 64
#define KB_HOST_MAX 256
#define KB_PATH_MAX 1024

enum kb_client_auth { KB_AUTH_NONE, KB_AUTH_REQUESTED, KB_AUTH_REQUIRED };
enum kb_keystore_type { KB_KS_PEM, KB_KS_KEYRING };

/* ssl.* keys, global or per listener (listener.name.<name>.ssl.*). */
struct kb_tls_cfg {
	enum kb_keystore_type ks_type;
	char keystore[KB_PATH_MAX];	/* PEM: key and chain */
	/* KEYRING: descriptions of the "user" keys holding the PEM private
	 * key and the PEM chain (default kbroker:tls:{key,chain}:<name>). */
	char keyring_key[256];
	char keyring_chain[256];
	char key_password[256];
	char truststore[KB_PATH_MAX];	/* PEM CA file */
	char protocols[128];		/* e.g. "TLSv1.2,TLSv1.3" */
	char ciphers[1024];		/* empty = AEAD suites */
	enum kb_client_auth client_auth;
};

enum kb_security_proto { KB_SEC_PLAINTEXT, KB_SEC_SSL };
enum kb_listener_policy { KB_POLICY_TLS, KB_POLICY_TLS_PLAINTEXT,
			  KB_POLICY_PLAINTEXT };

struct kb_listener_cfg {
	char name[KB_NAME_MAX];
	char host[KB_HOST_MAX];		/* empty = all addresses */
	int port;
	char adv_host[KB_HOST_MAX];	/* empty = not advertised explicitly */
	int adv_port;
	enum kb_security_proto proto;
	enum kb_listener_policy policy;
	bool policy_set;
	struct kb_tls_cfg tls;
};

/* One at.rest.volumes entry, DEV:DIR. */
struct kb_volume_cfg {
	char dev[KB_PATH_MAX];
	char dir[KB_PATH_MAX];
};

struct kb_config {
	int32_t broker_id;
	struct kb_listener_cfg listeners[KB_MAX_LISTENERS];
	int n_listeners;
	char **log_dirs;
	size_t n_log_dirs;
	int32_t num_partitions;
	bool auto_create_topics;
	int64_t segment_bytes;
	int64_t roll_ms;
	int64_t retention_ms;
	int64_t retention_bytes;
	int64_t flush_messages;
	int64_t flush_ms;
	int64_t index_interval_bytes;
	int64_t message_max_bytes;
	int64_t socket_request_max_bytes;
	int64_t connections_max_idle_ms;
	bool at_rest_encryption;
	/* at.rest.volumes: opened at start, closed at shutdown (atrest.c). */
	struct kb_volume_cfg *volumes;
	size_t n_volumes;
	char at_rest_master_key[256];	/* empty = the default master key */
	char at_rest_state_dir[KB_PATH_MAX];	/* empty = $KBROKER_STATE_DIR */
	/* module.required: 1, 0, or -1 unset (on if loaded at start). */
	int module_required;
	int64_t offsets_retention_min;	/* committed offsets */
	int64_t offset_metadata_max;	/* commit metadata bytes */
	int64_t ssl_handshake_timeout_ms;
	/* Certificates: renewal and the maintenance window (cert*.c). */
	int64_t cert_lifetime_days;
	int64_t cert_renew_before_days;
	int64_t cert_renew_retry_ms;	/* first backoff after a failure */
	char cert_renew_command[KB_PATH_MAX];
	char cert_ca[KB_PATH_MAX];	/* verifies renewed chains */
	char control_socket[KB_PATH_MAX];
	/* Cluster membership (daemon/cluster/): off unless zookeeper.connect
	 * is set, then a broker of the cluster it names. */
	char zk_connect[KB_PATH_MAX];
	int64_t zk_session_timeout_ms;
	int64_t zk_connection_timeout_ms;
	char broker_rack[KB_NAME_MAX];
	int inter_broker_listener;	/* index in listeners */
	bool encryption_in_cluster;
	int32_t default_replication_factor;
	bool controlled_shutdown;	/* controlled.shutdown.enable */
	int32_t cs_max_retries;
	int32_t cs_backoff_ms;
	/* metrics.listener: http://host:port of /metrics, empty = off. */
	char metrics_listener[KB_HOST_MAX + 16];
	bool metrics_listener_set;	/* given in the file, not the default */
	/* Authorization (auth/auth.h). */
	bool authorizer_acl;
	bool allow_everyone_if_no_acl;
	char super_users[4096];
	char ssl_principal_mapping_rules[4096];
	/* Log compaction (store/cleaner.c): the broker defaults of the topic
	 * keys and the cleaner's own settings. */
	char cleanup_policy[32];	/* log.cleanup.policy, canonical */
	bool cleaner_enable;
	int32_t cleaner_threads;
	double cleaner_io_max_bps;	/* log.cleaner.io.max.bytes.per.second */
	int64_t cleaner_dedupe_buffer;
	int64_t cleaner_delete_retention_ms;
	double cleaner_min_ratio;	/* log.cleaner.min.cleanable.ratio */
	int64_t cleaner_min_lag_ms;
	int64_t cleaner_max_lag_ms;
	int64_t cleaner_backoff_ms;
	/* Incremental fetch sessions (handlers/fetch_session.c). */
	int64_t fetch_session_slots;
	int64_t fetch_session_eviction_ms;
	/* compression.type: KB_COMPRESSION_PRODUCER or a codec, 0-4. */
	int8_t compression_type;
	/* Raw text of every table key as given in the file (NULL = default),
	 * indexed like the key table; kept for DescribeConfigs. */
	char **raw;
};

/*
 * compression.type values: producer (-1, keep the producer's codec) or the
 * codec of a record batch's attributes, uncompressed 0, gzip 1, snappy 2,
 * lz4 3, zstd 4.  Parse answers -2 for anything else.
 */
#define KB_COMPRESSION_PRODUCER (-1)
int kb_compression_parse(const char *name);
const char *kb_compression_name(int c);

/* "tls", "tls_plaintext", "plaintext" ("?" for anything else). */
const char *kb_policy_name(enum kb_listener_policy p);

/* Loads @path into @cfg.  On error logs one line naming the key and line
 * and returns -1. */
int kb_config_load(const char *path, struct kb_config *cfg);
/* Parses text already in memory (@name used in messages). */
int kb_config_parse(const char *text, const char *name, struct kb_config *cfg);
void kb_config_free(struct kb_config *cfg);

/* Iteration over broker config keys for DescribeConfigs: effective value
 * as text in @buf, and whether the file set it. */
size_t kb_config_key_count(void);
const char *kb_config_key_name(size_t i);
/* Kafka ConfigType of key @i (LONG, BOOLEAN, STRING). */
int8_t kb_config_key_kafka_type(size_t i);
bool kb_config_key_value(const struct kb_config *cfg, size_t i, char *buf,
			 size_t len, bool *is_set);

#endif
