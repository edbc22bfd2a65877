/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS for listeners (OpenSSL 3): one SSL_CTX per listener built from its
 * ssl.* config, and counters for what ran where (kTLS or userspace).  The
 * connections' side (handshake, kTLS, records) is net/transport_tls.c.
 */
#ifndef KB_TLS_TLS_H
#define KB_TLS_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

struct ssl_ctx_st;

struct kb_tls_stats {
	uint64_t handshakes;		/* completed */
	uint64_t handshake_failures;
	uint64_t ktls_tx;		/* connections with kTLS send */
	uint64_t ktls_rx;		/* connections with kTLS receive */
	uint64_t userspace;		/* connections with no offload at all */
	uint64_t sendfile_bytes;	/* file bytes sent by SSL_sendfile */
	uint64_t copied_file_bytes;	/* file bytes sent by pread + SSL_write */
};

extern struct kb_tls_stats kb_tls_stats;

/* Builds the context of a listener with a PEM keystore and logs what it
 * serves; logs one clear error (naming the file) and returns NULL when the
 * keystore, key or truststore is unusable.  Keyring keystores are
 * certs/'s (kb_cert_ctx_new). */
struct ssl_ctx_st *kb_tls_ctx_new(const struct kb_listener_cfg *lc);
/* The same, silent, with a key and chain (leaf first) from memory. */
struct evp_pkey_st;
struct stack_st_X509;
struct ssl_ctx_st *kb_tls_ctx_new_with(const struct kb_listener_cfg *lc,
				       struct evp_pkey_st *key,
				       struct stack_st_X509 *chain);
void kb_tls_ctx_free(struct ssl_ctx_st *ctx);
/* The line kb_tls_ctx_new() logs: protocols, client auth, keystore. */
void kb_tls_announce(const struct kb_listener_cfg *lc);

/* OpenSSL's last error as text, else errno's, else @none. */
const char *kb_ssl_reason(const char *none);

/* Why a TLS connection (or its receive side) stayed in userspace. */
enum kb_ktls_miss { KB_KTLS_MISS_NO_KERNEL, KB_KTLS_MISS_UNSUPPORTED,
		    KB_KTLS_MISS_RX_TLS13, KB_KTLS_MISS_RX_UNSUPPORTED,
		    KB_KTLS_MISS_N };

/* Logs the totals (at shutdown). */
void kb_tls_log_stats(void);

#endif
