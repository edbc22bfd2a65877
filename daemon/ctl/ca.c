// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl ca: a small local CA for development and tests, so that
 * "make run" and the tests need nothing else to renew certificates.
 *   ca init DIR [--days N]   DIR/ca.key (0600) and DIR/ca.pem
 *   ca sign DIR [--days N]   CSR on stdin -> certificate + CA on stdout;
 *                            N defaults to $KBROKER_CERT_DAYS, then 395
 * The subject and subjectAltName are copied from the CSR.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ctl/ctl.h"

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!e)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

static X509 *new_cert(X509_NAME *subj, EVP_PKEY *pub, long days)
{
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509 *x = X509_new();

	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto err;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto err;
	BN_free(bn);
	X509_set_version(x, 2);
	X509_set_subject_name(x, subj);
	X509_set_pubkey(x, pub);
	/* A minute back for clocks a little behind. */
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL);
	return x;
err:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static long days_opt(int argc, char **argv)
{
	const char *env = getenv("KBROKER_CERT_DAYS");
	int i;

	for (i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], "--days"))
			return atol(argv[i + 1]);
	return env && atol(env) > 0 ? atol(env) : 395;
}

static int ca_init(const char *dir, long days)
{
	char path[4096];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_NAME *n = X509_NAME_new();
	X509 *x = NULL;
	FILE *f;
	int fd, ret = 1;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "kbrokerctl: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"kbroker local CA",
				   -1, -1, 0);
	x = key ? new_cert(n, key, days) : NULL;
	if (!x || X509_set_issuer_name(x, n) != 1 ||
	    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    !X509_sign(x, key, EVP_sha256()))
		goto out;
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)) {
		fprintf(stderr, "kbrokerctl: %s: %s\n", path,
			errno == EEXIST ? "a CA already exists there" :
			strerror(errno));
		if (f)
			fclose(f);
		goto out;
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	f = fopen(path, "w");
	if (!f || !PEM_write_X509(f, x)) {
		fprintf(stderr, "kbrokerctl: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		goto out;
	}
	fclose(f);
	printf("CA in %s: ca.pem (give it to clients as ssl.ca.location), ca.key\n",
	       dir);
	ret = 0;
out:
	X509_free(x);
	X509_NAME_free(n);
	EVP_PKEY_free(key);
	return ret;
}

static int ca_sign(const char *dir, long days)
{
	char path[4096];
	EVP_PKEY *cakey = NULL, *pub = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509 *ca = NULL, *x = NULL;
	X509_REQ *req;
	FILE *f;
	int i, ret = 1;

	req = PEM_read_X509_REQ(stdin, NULL, NULL, NULL);
	if (!req) {
		fprintf(stderr, "kbrokerctl: no PEM certificate request on stdin\n");
		return 1;
	}
	pub = X509_REQ_get_pubkey(req);
	if (!pub || X509_REQ_verify(req, pub) != 1) {
		fprintf(stderr, "kbrokerctl: the request's signature does not verify\n");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	f = fopen(path, "r");
	cakey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	f = fopen(path, "r");
	ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!cakey || !ca) {
		fprintf(stderr, "kbrokerctl: %s: no CA (kbrokerctl ca init %s)\n",
			dir, dir);
		goto out;
	}
	x = new_cert(X509_REQ_get_subject_name(req), pub, days);
	if (!x || X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, ca, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment") ||
	    add_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    add_ext(x, ca, NID_subject_key_identifier, "hash") ||
	    add_ext(x, ca, NID_authority_key_identifier, "keyid:always"))
		goto out;
	exts = X509_REQ_get_extensions(req);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) ==
		    NID_subject_alt_name)
			X509_add_ext(x, e, -1);
	}
	if (!X509_sign(x, cakey, EVP_sha256()) || !PEM_write_X509(stdout, x) ||
	    !PEM_write_X509(stdout, ca))
		goto out;
	ret = 0;
out:
	if (ret)
		ERR_print_errors_fp(stderr);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_free(x);
	X509_free(ca);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(cakey);
	return ret;
}

int kbctl_ca(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "init") && strcmp(argv[1], "sign"))) {
		fprintf(stderr,
			"usage: kbrokerctl ca init DIR [--days N]\n"
			"       kbrokerctl ca sign DIR [--days N] <CSR >CHAIN\n");
		return 2;
	}
	if (days_opt(argc, argv) <= 0) {
		fprintf(stderr, "kbrokerctl: --days must be positive\n");
		return 2;
	}
	if (!strcmp(argv[1], "init"))
		return ca_init(argv[2], argc > 3 ? days_opt(argc, argv) : 3650);
	return ca_sign(argv[2], days_opt(argc, argv));
}
