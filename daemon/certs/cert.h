/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Listener certificates: key and chain in the kernel keyring, renewal
 * through ssl.certificate.renew.command, and the maintenance window that
 * swaps them live (cert_window.c).  kbrokerctl reaches the daemon on a
 * unix control socket (admin/control.c).
 */
#ifndef KB_BROKER_CERT_H
#define KB_BROKER_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/config.h"

struct kb_loop;
struct ssl_ctx_st;

/* --- cert_pki.c: keys, CSRs, chains ---------------------------------- */

/* A new P-256 key. */
EVP_PKEY *kb_cert_keygen(void);
/* PKCS#8 PEM of @key into a malloc'd buffer (wipe with kb_cert_wipe). */
int kb_cert_key_pem(EVP_PKEY *key, char **out, size_t *len);
EVP_PKEY *kb_cert_key_from_pem(const char *pem, size_t len);
/* PEM CSR for @key with @tmpl's subject and subjectAltName. */
int kb_cert_csr(EVP_PKEY *key, X509 *tmpl, char **out, size_t *len);
/* Certificates in @pem, leaf first; NULL when there are none. */
STACK_OF(X509) *kb_cert_chain_from_pem(const char *pem, size_t len);
int kb_cert_chain_pem(STACK_OF(X509) *chain, char **out, size_t *len);
/* Leaf matches @key, is valid now, and @chain verifies against the CA
 * file @ca (skipped when empty).  0, or -1 with @why. */
int kb_cert_check(EVP_PKEY *key, STACK_OF(X509) *chain, const char *ca,
		  char *why, size_t wlen);
/* SHA-256 fingerprint as openssl x509 -fingerprint prints it. */
void kb_cert_fingerprint(X509 *x, char *buf, size_t len);
void kb_cert_name(X509_NAME *n, char *buf, size_t len);
time_t kb_cert_not_after(X509 *x);
/* Zeroes and frees a secret buffer. */
void kb_cert_wipe(char *buf, size_t len);

/* --- cert_keyring.c: "user" keys in the session/user keyring ---------- */

/* Reads the payload of the user key @desc.  -ENOKEY when absent. */
int kb_keyring_read(const char *desc, char **out, size_t *len);
/* Updates the key in place (same id) or adds it to the session keyring. */
int kb_keyring_store(const char *desc, const char *buf, size_t len);
/* Key and chain of a KEYRING listener; if absent or not matching and a
 * renew command is configured, makes a new key, has it signed and stores
 * both (the key never touches a file).  0 or -1, logged. */
int kb_keyring_load(const struct kb_listener_cfg *lc, EVP_PKEY **key,
		    STACK_OF(X509) **chain);
/* A listener's SSL_CTX from its keystore, a PEM file or the keyring;
 * NULL (logged) when it cannot serve TLS. */
struct ssl_ctx_st *kb_cert_ctx_new(const struct kb_listener_cfg *lc);

/* --- cert_renew.c: ssl.certificate.renew.command ---------------------- */

/* Runs @cmd (sh -c) with @csr on stdin; the chain it prints goes to
 * *@out.  Gives up after @timeout_ms or when *@stop becomes true. */
int kb_cert_run_renew(const char *cmd, const char *csr, size_t csr_len,
		      const char *listener, int64_t days, int timeout_ms,
		      volatile bool *stop, char **out, size_t *olen,
		      char *why, size_t wlen);
/* Key + signed chain for @lc's CN/SAN (@tmpl may be NULL: CN=localhost,
 * SAN localhost and 127.0.0.1) through the renew command. */
int kb_cert_issue(const struct kb_listener_cfg *lc, X509 *tmpl,
		  volatile bool *stop, EVP_PKEY **key,
		  STACK_OF(X509) **chain, char *why, size_t wlen);

/* Set once before listeners are built. */
void kb_cert_setup(const struct kb_config *cfg);
const struct kb_config *kb_cert_cfg(void);

/* --- cert_window.c: renewal timer and the maintenance window ---------- */

int kb_cert_start(struct kb_loop *l);
void kb_cert_stop(struct kb_loop *l);
void kb_cert_tick(struct kb_loop *l, int64_t now_ms);
/* The window's eventfd is readable. */
void kb_cert_on_event(struct kb_loop *l);
/* Our own window, or the module's state set from outside (events). */
bool kb_cert_in_maintenance(void);
/* The module's state as its events (or STATUS at start) report it. */
void kb_cert_module_state(bool maintenance);
/* Starts a window for the listeners in @mask (all TLS listeners if 0).
 * @pem_file: take key and chain from this PEM file instead of renewing.
 * @waiter: control socket fd told the result, or -1.  0, or -1 with why. */
int kb_cert_rotate(struct kb_loop *l, unsigned int mask, const char *pem_file,
		   const char *reason, int waiter, char *why, size_t wlen);
/* Status lines for kbrokerctl into @f. */
void kb_cert_status(struct kb_loop *l, FILE *f);
/* Certificate windows since start, for monitoring. */
struct kb_cert_rotations {
	uint64_t ok, failed;
	time_t last_time;		/* 0 = none yet */
	bool last_ok;
};

void kb_cert_rotations(struct kb_cert_rotations *out);
/* The last file a listener's key came from via Kafka (or NULL). */
const char *kb_cert_dynamic_location(int listener);

#define KB_MAINT_MSG "broker is in MAINTENANCE (certificate update)"

#endif
