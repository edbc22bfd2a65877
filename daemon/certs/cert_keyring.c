// SPDX-License-Identifier: GPL-2.0
/*
 * Listener key and chain as "user" keys in the kernel keyring, searched in
 * the session keyring (the one systemd shares with the daemon) and then
 * the user keyring.  Updates keep the key id (keyctl_update), so whoever
 * linked the key sees the new payload.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <keyutils.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certs/cert.h"
#include "tls/tls.h"
#include "common/log.h"

static key_serial_t find(const char *desc)
{
	key_serial_t id;

	id = keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", desc, 0);
	if (id < 0)
		id = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	return id;
}

int kb_keyring_read(const char *desc, char **out, size_t *len)
{
	key_serial_t id = find(desc);
	void *buf = NULL;
	long n;

	if (id < 0)
		return -ENOKEY;
	n = keyctl_read_alloc(id, &buf);
	if (n < 0)
		return -errno;
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int kb_keyring_store(const char *desc, const char *buf, size_t len)
{
	key_serial_t id = find(desc);

	if (id >= 0)
		return keyctl_update(id, buf, len) ? -errno : 0;
	id = add_key("user", desc, buf, len, KEY_SPEC_SESSION_KEYRING);
	return id < 0 ? -errno : 0;
}

/* Makes a key pair and chain through the renew command and stores them. */
static int provision(const struct kb_listener_cfg *lc, const char *what,
		     EVP_PKEY **key, STACK_OF(X509) **chain)
{
	const struct kb_config *cfg = kb_cert_cfg();
	char why[256] = "", *kp = NULL, *cp = NULL;
	size_t kl = 0, cl = 0;
	int ret = -1;

	if (!cfg || !*cfg->cert_renew_command) {
		kb_err("listener %s: keyring key %s %s and no ssl.certificate.renew.command to issue one",
		       lc->name, lc->tls.keyring_key, what);
		return -1;
	}
	kb_notice("listener %s: keyring key %s %s: making a new key pair and certificate",
		  lc->name, lc->tls.keyring_key, what);
	if (kb_cert_issue(lc, NULL, NULL, key, chain, why, sizeof(why))) {
		kb_err("listener %s: issuing a certificate: %s", lc->name, why);
		return -1;
	}
	if (kb_cert_key_pem(*key, &kp, &kl) ||
	    kb_cert_chain_pem(*chain, &cp, &cl) ||
	    kb_keyring_store(lc->tls.keyring_key, kp, kl) ||
	    kb_keyring_store(lc->tls.keyring_chain, cp, cl)) {
		kb_err("listener %s: storing the new key and chain in the keyring: %m",
		       lc->name);
		goto out;
	}
	ret = 0;
out:
	kb_cert_wipe(kp, kl);
	free(cp);
	if (ret) {
		EVP_PKEY_free(*key);
		sk_X509_pop_free(*chain, X509_free);
		*key = NULL;
		*chain = NULL;
	}
	return ret;
}

int kb_keyring_load(const struct kb_listener_cfg *lc, EVP_PKEY **key,
		    STACK_OF(X509) **chain)
{
	char *kp = NULL, *cp = NULL;
	size_t kl = 0, cl = 0;
	int r1, r2;

	*key = NULL;
	*chain = NULL;
	r1 = kb_keyring_read(lc->tls.keyring_key, &kp, &kl);
	r2 = kb_keyring_read(lc->tls.keyring_chain, &cp, &cl);
	if (r1 == -ENOKEY && r2 == -ENOKEY)
		return provision(lc, "not found", key, chain);
	if (r1 || r2) {
		kb_err("listener %s: reading keyring key %s: %s", lc->name,
		       r1 ? lc->tls.keyring_key : lc->tls.keyring_chain,
		       strerror(-(r1 ? r1 : r2)));
		goto err;
	}
	*key = kb_cert_key_from_pem(kp, kl);
	*chain = kb_cert_chain_from_pem(cp, cl);
	kb_cert_wipe(kp, kl);
	free(cp);
	kp = cp = NULL;
	if (!*key || !*chain) {
		kb_err("listener %s: keyring key %s or %s holds no usable PEM",
		       lc->name, lc->tls.keyring_key, lc->tls.keyring_chain);
		goto err;
	}
	if (X509_check_private_key(sk_X509_value(*chain, 0), *key) != 1) {
		/* Only a crash between the two updates leaves this. */
		ERR_clear_error();
		EVP_PKEY_free(*key);
		sk_X509_pop_free(*chain, X509_free);
		return provision(lc, "does not match its chain", key, chain);
	}
	return 0;
err:
	kb_cert_wipe(kp, kl);
	free(cp);
	EVP_PKEY_free(*key);
	sk_X509_pop_free(*chain, X509_free);
	*key = NULL;
	*chain = NULL;
	return -1;
}

SSL_CTX *kb_cert_ctx_new(const struct kb_listener_cfg *lc)
{
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	SSL_CTX *ctx;

	if (lc->tls.ks_type != KB_KS_KEYRING)
		return kb_tls_ctx_new(lc);
	if (kb_keyring_load(lc, &key, &chain))
		return NULL;
	ctx = kb_tls_ctx_new_with(lc, key, chain);
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	if (ctx)
		kb_tls_announce(lc);
	return ctx;
}
