// SPDX-License-Identifier: GPL-2.0
/* Listener TLS contexts: keystore, truststore, protocols and suites. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certs/cert.h"
#include "tls/tls.h"
#include "common/log.h"

struct kb_tls_stats kb_tls_stats;

/* AEAD only: AES-GCM and ChaCha20-Poly1305 (ECDHE for forward secrecy). */
static const char default_ciphers12[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const char default_suites13[] =
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
	"TLS_CHACHA20_POLY1305_SHA256";

const char *kb_ssl_reason(const char *none)
{
	static char buf[256];
	unsigned long e = ERR_peek_last_error();

	if (!e)
		return errno ? strerror(errno) : none;
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

static bool is_tls13_suite(const char *n)
{
	return !strncmp(n, "TLS_AES_", 8) || !strncmp(n, "TLS_CHACHA20_", 13);
}

/* Splits ssl.cipher.suites into the TLS 1.2 cipher list and the TLS 1.3
 * suites; IANA names (TLS_ECDHE_...) are accepted for 1.2 too. */
static int split_ciphers(const char *list, char *c12, size_t l12, char *c13,
			 size_t l13, const char **badname)
{
	static char bad_buf[128];
	char *copy = strdup(list), *save = NULL, *tok;
	int ret = 0;

	if (!copy)
		return -1;
	*c12 = *c13 = '\0';
	for (tok = strtok_r(copy, ",:", &save); tok;
	     tok = strtok_r(NULL, ",:", &save)) {
		const char *name = tok;
		char *dst;
		size_t len;

		while (*name == ' ' || *name == '\t')
			name++;
		len = strlen(name);
		while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
			tok[name - tok + --len] = '\0';
		if (!*name)
			continue;
		if (is_tls13_suite(name)) {
			dst = c13;
			len = l13;
		} else {
			if (!strncmp(name, "TLS_", 4)) {
				const char *o = OPENSSL_cipher_name(name);

				if (!o || !strcmp(o, "(NONE)")) {
					snprintf(bad_buf, sizeof(bad_buf), "%s",
						 name);
					*badname = bad_buf;
					ret = -1;
					break;
				}
				name = o;
			}
			dst = c12;
			len = l12;
		}
		if (strlen(dst) + strlen(name) + 2 > len) {
			ret = -1;
			break;
		}
		if (*dst)
			strcat(dst, ":");
		strcat(dst, name);
	}
	free(copy);
	return ret;
}

/* ssl.cipher.suites may only narrow the AEAD default. */
static int check_aead(SSL_CTX *ctx, const char **badname)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
	int i;

	for (i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);

		if (!SSL_CIPHER_is_aead(c)) {
			*badname = SSL_CIPHER_get_name(c);
			return -1;
		}
	}
	return 0;
}

static int set_ciphers(SSL_CTX *ctx, const struct kb_listener_cfg *lc,
		       int *min, int *max)
{
	const struct kb_tls_cfg *tc = &lc->tls;
	char c12[1024], c13[512];
	const char *badname = NULL;

	if (!*tc->ciphers) {
		snprintf(c12, sizeof(c12), "%s", default_ciphers12);
		snprintf(c13, sizeof(c13), "%s", default_suites13);
	} else if (split_ciphers(tc->ciphers, c12, sizeof(c12), c13,
				 sizeof(c13), &badname)) {
		kb_err("listener %s: ssl.cipher.suites: unknown or too many suites%s%s",
		       lc->name, badname ? ": " : "", badname ? badname : "");
		return -1;
	}
	/* Naming suites of one version only turns the other one off. */
	if (*tc->ciphers && !*c12)
		*min = TLS1_3_VERSION;
	if (*tc->ciphers && !*c13)
		*max = TLS1_2_VERSION;
	if (*min > *max) {
		kb_err("listener %s: ssl.cipher.suites names no suite for the enabled protocols %s",
		       lc->name, tc->protocols);
		return -1;
	}
	if (*c12 && !SSL_CTX_set_cipher_list(ctx, c12)) {
		kb_err("listener %s: ssl.cipher.suites: no usable TLS 1.2 suite in %s",
		       lc->name, c12);
		return -1;
	}
	if (*c13 && !SSL_CTX_set_ciphersuites(ctx, c13)) {
		kb_err("listener %s: ssl.cipher.suites: no usable TLS 1.3 suite in %s",
		       lc->name, c13);
		return -1;
	}
	if (check_aead(ctx, &badname)) {
		kb_err("listener %s: ssl.cipher.suites: %s is not an AEAD suite (only AES-GCM and ChaCha20-Poly1305 are allowed)",
		       lc->name, badname);
		return -1;
	}
	return 0;
}

static int load_keystore(SSL_CTX *ctx, const struct kb_listener_cfg *lc)
{
	const char *ks = lc->tls.keystore;

	if (access(ks, R_OK)) {
		kb_err("listener %s: ssl.keystore.location %s: %m", lc->name,
		       ks);
		return -1;
	}
	if (*lc->tls.key_password)
		SSL_CTX_set_default_passwd_cb_userdata(
			ctx, (void *)lc->tls.key_password);
	if (SSL_CTX_use_certificate_chain_file(ctx, ks) != 1) {
		kb_err("listener %s: ssl.keystore.location %s: no usable PEM certificate chain: %s",
		       lc->name, ks, kb_ssl_reason("unknown error"));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, ks, SSL_FILETYPE_PEM) != 1) {
		kb_err("listener %s: ssl.keystore.location %s: no usable PEM private key (wrong ssl.key.password?): %s",
		       lc->name, ks, kb_ssl_reason("unknown error"));
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		kb_err("listener %s: ssl.keystore.location %s: the private key does not match the certificate",
		       lc->name, ks);
		return -1;
	}
	return 0;
}

/* Key and chain already in memory (keyring, renewal); leaf first. */
static int use_keys(SSL_CTX *ctx, const struct kb_listener_cfg *lc,
		    EVP_PKEY *key, STACK_OF(X509) *chain)
{
	int i;

	if (SSL_CTX_use_certificate(ctx, sk_X509_value(chain, 0)) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		kb_err("listener %s: the key does not match the certificate: %s",
		       lc->name, kb_ssl_reason("unknown error"));
		return -1;
	}
	SSL_CTX_clear_chain_certs(ctx);
	for (i = 1; i < sk_X509_num(chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1)
			return -1;
	return 0;
}

static int load_truststore(SSL_CTX *ctx, const struct kb_listener_cfg *lc)
{
	const char *ts = lc->tls.truststore;
	STACK_OF(X509_NAME) *cas;
	int mode;

	if (!*ts)
		return 0;
	if (access(ts, R_OK)) {
		kb_err("listener %s: ssl.truststore.location %s: %m", lc->name,
		       ts);
		return -1;
	}
	if (SSL_CTX_load_verify_locations(ctx, ts, NULL) != 1) {
		kb_err("listener %s: ssl.truststore.location %s: no usable PEM CA certificate: %s",
		       lc->name, ts, kb_ssl_reason("unknown error"));
		return -1;
	}
	cas = SSL_load_client_CA_file(ts);
	if (cas)
		SSL_CTX_set_client_CA_list(ctx, cas);
	switch (lc->tls.client_auth) {
	case KB_AUTH_REQUIRED:
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		break;
	case KB_AUTH_REQUESTED:
		mode = SSL_VERIFY_PEER;
		break;
	default:
		mode = SSL_VERIFY_NONE;
	}
	SSL_CTX_set_verify(ctx, mode, NULL);
	return 0;
}

static SSL_CTX *ctx_new(const struct kb_listener_cfg *lc, EVP_PKEY *key,
			STACK_OF(X509) *chain)
{
	const struct kb_tls_cfg *tc = &lc->tls;
	int min, max;
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		kb_err("listener %s: SSL_CTX_new: %s", lc->name, kb_ssl_reason("unknown error"));
		return NULL;
	}
	min = strstr(tc->protocols, "TLSv1.2") ? TLS1_2_VERSION :
						 TLS1_3_VERSION;
	max = strstr(tc->protocols, "TLSv1.3") ? TLS1_3_VERSION :
						 TLS1_2_VERSION;
	if (set_ciphers(ctx, lc, &min, &max))
		goto err;
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	/*
	 * kTLS takes over the records once keys are set.  Session tickets
	 * would be written after the TLS 1.3 handshake and disturb the
	 * offload, so none are sent; without resumption there is no cache.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS | SSL_OP_NO_TICKET |
				 SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Partial writes let the output queue account records as they go;
	 * a retry may come from another buffer holding the same bytes. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (key ? use_keys(ctx, lc, key, chain) : load_keystore(ctx, lc))
		goto err;
	if (load_truststore(ctx, lc))
		goto err;
	return ctx;
err:
	SSL_CTX_free(ctx);
	return NULL;
}

void kb_tls_announce(const struct kb_listener_cfg *lc)
{
	const struct kb_tls_cfg *tc = &lc->tls;

	kb_info("listener %s: TLS %s, client auth %s, keystore %s%s",
		lc->name, tc->protocols,
		tc->client_auth == KB_AUTH_REQUIRED ? "required" :
		tc->client_auth == KB_AUTH_REQUESTED ? "requested" : "none",
		tc->ks_type == KB_KS_KEYRING ? "keyring " : "",
		tc->ks_type == KB_KS_KEYRING ? tc->keyring_key : tc->keystore);
}

SSL_CTX *kb_tls_ctx_new(const struct kb_listener_cfg *lc)
{
	SSL_CTX *ctx = ctx_new(lc, NULL, NULL);

	if (ctx)
		kb_tls_announce(lc);
	return ctx;
}

SSL_CTX *kb_tls_ctx_new_with(const struct kb_listener_cfg *lc,
			     EVP_PKEY *key, STACK_OF(X509) *chain)
{
	return ctx_new(lc, key, chain);
}

void kb_tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

void kb_tls_log_stats(void)
{
	const struct kb_tls_stats *s = &kb_tls_stats;

	if (!s->handshakes && !s->handshake_failures)
		return;
	kb_info("tls: %llu handshakes (%llu failed), kTLS tx %llu rx %llu, userspace-only %llu; file bytes: sendfile %llu, pread+write %llu",
		(unsigned long long)s->handshakes,
		(unsigned long long)s->handshake_failures,
		(unsigned long long)s->ktls_tx, (unsigned long long)s->ktls_rx,
		(unsigned long long)s->userspace,
		(unsigned long long)s->sendfile_bytes,
		(unsigned long long)s->copied_file_bytes);
}
