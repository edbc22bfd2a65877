/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TLS transport of a connection: the non-blocking server handshake
 * over a listener's SSL_CTX (tls/), kTLS detection after it, then records
 * through kTLS or OpenSSL.
 */
#ifndef KB_NET_TRANSPORT_TLS_H
#define KB_NET_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "net/transport.h"
#include "tls/tls.h"

/* Turns @t (a plain transport on an accepted socket) into a TLS one in
 * the handshake state.  Returns 0 or -1. */
int kb_tls_attach(struct kb_transport *t, struct ssl_ctx_st *ctx);

enum kb_hs_result { KB_HS_DONE, KB_HS_AGAIN, KB_HS_FAIL };

/* Advances the handshake; on KB_HS_AGAIN t->wants says which event. */
enum kb_hs_result kb_tls_handshake(struct kb_transport *t, const char *who);

/* After the handshake: the peer's principal (auth/auth.h); -1 when the
 * connection must be refused, @out saying why. */
int kb_tls_principal(const struct kb_transport *t, char *out, size_t len);

/* After the handshake: kTLS directions in use. */
bool kb_tls_ktls_tx(const struct kb_transport *t);
/* After the handshake: why some direction is not offloaded
 * (enum kb_ktls_miss), or -1. */
int kb_tls_ktls_miss(const struct kb_transport *t);
bool kb_tls_ktls_rx(const struct kb_transport *t);

#endif
