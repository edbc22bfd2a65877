// SPDX-License-Identifier: GPL-2.0
/* Keys, CSRs and chains for certificate renewal (OpenSSL 3). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certs/cert.h"

void kb_cert_wipe(char *buf, size_t len)
{
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
}

EVP_PKEY *kb_cert_keygen(void)
{
	return EVP_EC_gen("P-256");
}

/* Copies a memory BIO's contents out; @secret wipes the BIO's copy. */
static int bio_out(BIO *b, char **out, size_t *len)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);

	*out = NULL;
	if (n <= 0)
		return -1;
	*out = malloc((size_t)n + 1);
	if (!*out)
		return -1;
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
	OPENSSL_cleanse(p, (size_t)n);
	return 0;
}

int kb_cert_key_pem(EVP_PKEY *key, char **out, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ret = -1;

	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
		ret = bio_out(b, out, len);
	BIO_free(b);
	return ret;
}

EVP_PKEY *kb_cert_key_from_pem(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = NULL;

	if (b)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return k;
}

int kb_cert_csr(EVP_PKEY *key, X509 *tmpl, char **out, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *san = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	int ret = -1, idx;

	if (!req || !exts || !b)
		goto out;
	X509_REQ_set_version(req, 0);
	if (tmpl) {
		X509_REQ_set_subject_name(req, X509_get_subject_name(tmpl));
		idx = X509_get_ext_by_NID(tmpl, NID_subject_alt_name, -1);
		if (idx >= 0)
			san = X509_EXTENSION_dup(X509_get_ext(tmpl, idx));
	} else {
		X509_NAME *n = X509_REQ_get_subject_name(req);

		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					   (const unsigned char *)"localhost",
					   -1, -1, 0);
		san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
					  "DNS:localhost,IP:127.0.0.1");
	}
	if (san) {
		sk_X509_EXTENSION_push(exts, san);
		X509_REQ_add_extensions(req, exts);
	}
	if (!X509_REQ_set_pubkey(req, key) ||
	    !X509_REQ_sign(req, key, EVP_sha256()) ||
	    !PEM_write_bio_X509_REQ(b, req))
		goto out;
	ret = bio_out(b, out, len);
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	BIO_free(b);
	return ret;
}

STACK_OF(X509) *kb_cert_chain_from_pem(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	if (!b || !sk)
		goto err;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		sk_X509_push(sk, x);
	ERR_clear_error();
	BIO_free(b);
	if (!sk_X509_num(sk)) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
err:
	BIO_free(b);
	sk_X509_free(sk);
	return NULL;
}

int kb_cert_chain_pem(STACK_OF(X509) *chain, char **out, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int i, ret = -1;

	if (!b)
		return -1;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (!PEM_write_bio_X509(b, sk_X509_value(chain, i)))
			goto out;
	ret = bio_out(b, out, len);
out:
	BIO_free(b);
	return ret;
}

int kb_cert_check(EVP_PKEY *key, STACK_OF(X509) *chain, const char *ca,
		  char *why, size_t wlen)
{
	X509 *leaf = sk_X509_value(chain, 0);
	STACK_OF(X509) *rest = NULL;
	X509_STORE *st = NULL;
	X509_STORE_CTX *vc = NULL;
	int ret = -1, i;

	if (!leaf) {
		snprintf(why, wlen, "no certificate in the chain");
		return -1;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		ERR_clear_error();
		snprintf(why, wlen, "the certificate does not match the new key");
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
		snprintf(why, wlen, "the certificate is not valid now");
		return -1;
	}
	if (!ca || !*ca)
		return 0;
	st = X509_STORE_new();
	vc = X509_STORE_CTX_new();
	rest = sk_X509_new_null();
	if (!st || !vc || !rest)
		goto out;
	if (X509_STORE_load_file(st, ca) != 1) {
		snprintf(why, wlen, "cannot load the CA file %s", ca);
		goto out;
	}
	for (i = 1; i < sk_X509_num(chain); i++)
		sk_X509_push(rest, sk_X509_value(chain, i));
	if (X509_STORE_CTX_init(vc, st, leaf, rest) != 1)
		goto out;
	X509_STORE_CTX_set_purpose(vc, X509_PURPOSE_SSL_SERVER);
	if (X509_verify_cert(vc) != 1) {
		snprintf(why, wlen, "the chain does not verify against %s: %s",
			 ca, X509_verify_cert_error_string(
				     X509_STORE_CTX_get_error(vc)));
		goto out;
	}
	ret = 0;
out:
	if (ret && !*why)
		snprintf(why, wlen, "verifying the chain: out of memory");
	ERR_clear_error();
	sk_X509_free(rest);
	X509_STORE_CTX_free(vc);
	X509_STORE_free(st);
	return ret;
}

void kb_cert_fingerprint(X509 *x, char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	size_t o = 0;

	*buf = '\0';
	if (!x || !X509_digest(x, EVP_sha256(), md, &n))
		return;
	for (i = 0; i < n && o + 4 <= len; i++)
		o += snprintf(buf + o, len - o, "%s%02X", i ? ":" : "", md[i]);
}

void kb_cert_name(X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r;

	*buf = '\0';
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
	r = BIO_read(b, buf, (int)len - 1);
	buf[r > 0 ? r : 0] = '\0';
	BIO_free(b);
}

time_t kb_cert_not_after(X509 *x)
{
	struct tm tm;

	if (!x || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return timegm(&tm);
}
