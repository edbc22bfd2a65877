/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The table of kbroker.properties keys, shared by the parser (config.c)
 * and by what reports them (config_keys.c, DescribeConfigs); not for use
 * outside common/.
 */
#ifndef KB_COMMON_CONFIG_KEYS_H
#define KB_COMMON_CONFIG_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

enum key_type { T_INT, T_BOOL, T_STR, T_ONOFF };

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;		/* into struct kb_config, for T_INT/T_BOOL */
	int size;		/* 4 or 8 for T_INT */
	int64_t min, max;
	const char *def;	/* default as text */
	int alias_of;		/* -1, or index of the key this feeds */
	int64_t scale;		/* alias unit in ms */
};

enum {
	K_BROKER_ID, K_LISTENERS, K_ADV_LISTENERS, K_PROTO_MAP, K_LOG_DIRS,
	K_LOG_DIR, K_NUM_PARTITIONS, K_AUTO_CREATE, K_SEGMENT_BYTES, K_ROLL_MS,
	K_ROLL_HOURS, K_RET_MS, K_RET_MIN, K_RET_HOURS, K_RET_BYTES,
	K_FLUSH_MSGS, K_FLUSH_MS, K_INDEX_INTERVAL, K_MSG_MAX, K_REQ_MAX,
	K_IDLE_MS, K_AT_REST, K_OFFSETS_RET_MIN, K_OFFSET_META_MAX,
	K_SSL_KS_TYPE, K_SSL_KS_LOC, K_SSL_KEY_PW, K_SSL_TS_TYPE, K_SSL_TS_LOC,
	K_SSL_CLIENT_AUTH, K_SSL_PROTOCOLS, K_SSL_CIPHERS, K_SSL_HS_TIMEOUT,
	K_SSL_KR_KEY, K_SSL_KR_CHAIN, K_CERT_LIFETIME, K_CERT_BEFORE,
	K_CERT_RETRY, K_CERT_CMD, K_CERT_CA, K_CTL_SOCK,
	K_AT_REST_VOLUMES, K_AT_REST_MASTER, K_AT_REST_STATE, K_METRICS,
	K_ZK_CONNECT, K_ZK_SESSION, K_ZK_CONN_TIMEOUT, K_RACK, K_IBL,
	K_ENC_IN_CLUSTER, K_DEFAULT_RF, K_CS_ENABLE, K_CS_RETRIES, K_CS_BACKOFF,
	K_AUTHORIZER, K_SUPER_USERS, K_ALLOW_NO_ACL, K_PRINCIPAL_RULES,
	K_CLEANUP_POLICY, K_CLEANER_ENABLE, K_CLEANER_THREADS,
	K_CLEANER_IO_MAX, K_CLEANER_DEDUPE, K_CLEANER_DEL_RET,
	K_CLEANER_MIN_RATIO, K_CLEANER_MIN_LAG, K_CLEANER_MAX_LAG,
	K_CLEANER_BACKOFF,
	K_FETCH_SESSION_SLOTS, K_FETCH_SESSION_EVICTION,
	K_MODULE_REQUIRED,
	K_COMPRESSION,
	K_COUNT
};

extern const struct key_def kb_config_keys[K_COUNT];

/* ssl.* keys that a listener may override, in table order. */
#define KB_N_TLS_KEYS 10
extern const int kb_config_tls_keys[KB_N_TLS_KEYS];

int64_t kb_config_load_int(const struct kb_config *cfg,
			   const struct key_def *k);

#endif
