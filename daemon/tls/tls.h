/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS for listeners (OpenSSL 3): one SSL_CTX per listener built from its
 * ssl.* config, the non-blocking server handshake, kTLS detection after
 * it, and counters for what ran where (kTLS or userspace).
 */
#ifndef KB_BROKER_TLS_H
#define KB_BROKER_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "net/transport.h"

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

/* Builds the listener's context; logs one clear error (naming the file)
 * and returns NULL when the keystore, key or truststore is unusable. */
struct ssl_ctx_st *kb_tls_ctx_new(const struct kb_listener_cfg *lc);
/* The same with a key and chain (leaf first) from memory. */
struct evp_pkey_st;
struct stack_st_X509;
struct ssl_ctx_st *kb_tls_ctx_new_with(const struct kb_listener_cfg *lc,
				       struct evp_pkey_st *key,
				       struct stack_st_X509 *chain);
void kb_tls_ctx_free(struct ssl_ctx_st *ctx);

/* Turns @t (a plain transport on an accepted socket) into a TLS one in
 * the handshake state.  Returns 0 or -1. */
int kb_tls_attach(struct kb_transport *t, struct ssl_ctx_st *ctx);

enum kb_hs_result { KB_HS_DONE, KB_HS_AGAIN, KB_HS_FAIL };

/* Advances the handshake; on KB_HS_AGAIN t->wants says which event. */
enum kb_hs_result kb_tls_handshake(struct kb_transport *t, const char *who);

/* After the handshake: kTLS directions in use. */
bool kb_tls_ktls_tx(const struct kb_transport *t);
bool kb_tls_ktls_rx(const struct kb_transport *t);

/* Logs the totals (at shutdown). */
void kb_tls_log_stats(void);

#endif
