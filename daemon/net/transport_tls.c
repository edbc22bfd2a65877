// SPDX-License-Identifier: GPL-2.0
/*
 * TLS transport over OpenSSL.  With kTLS TX on, file slices go out with
 * SSL_sendfile() (file -> kernel TLS -> wire); otherwise they are read
 * into a buffer and written through SSL_write().  SSL_write() has no
 * gather form, so memory pieces are staged into one buffer; a retry after
 * EAGAIN sees the same leading bytes because the output queue only moves
 * forward by what was reported written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "auth/auth.h"
#include "net/transport_tls.h"
#include "common/log.h"

#define TLS_WBUF (64 * 1024)
/* A piece at least this big is written in place rather than staged. */
#define TLS_DIRECT (16 * 1024)

struct kb_tls_conn {
	SSL *ssl;
	bool established;
	bool ktls_tx, ktls_rx;
	bool failed;		/* fatal error: no close_notify */
	uint8_t *wbuf;
	uint64_t sendfile_bytes, copied_bytes;
};

/* Maps a failed SSL call to -1 with errno, or 0 on a clean close. */
static ssize_t ssl_fail(struct kb_transport *t, int ret, unsigned int want)
{
	struct kb_tls_conn *tc = t->priv;
	int saved = errno;

	switch (SSL_get_error(tc->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		if (want == KB_TR_WRITE_WANTS_READ)
			t->wants |= want;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		if (want == KB_TR_READ_WANTS_WRITE)
			t->wants |= want;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		tc->failed = true;
		errno = saved ? saved : ECONNRESET;
		return -1;
	default:
		tc->failed = true;
		kb_dbg("TLS error on fd %d: %s", t->fd, kb_ssl_reason("connection closed"));
		errno = EPROTO;
		return -1;
	}
}

static ssize_t tls_read(struct kb_transport *t, void *buf, size_t len)
{
	struct kb_tls_conn *tc = t->priv;
	size_t n;
	int ret;

	t->wants &= ~KB_TR_READ_WANTS_WRITE;
	ERR_clear_error();
	ret = SSL_read_ex(tc->ssl, buf, len, &n);
	if (ret == 1)
		return (ssize_t)n;
	return ssl_fail(t, ret, KB_TR_READ_WANTS_WRITE);
}

static ssize_t tls_write(struct kb_transport *t, const void *buf, size_t len)
{
	struct kb_tls_conn *tc = t->priv;
	size_t n;
	int ret;

	t->wants &= ~KB_TR_WRITE_WANTS_READ;
	ERR_clear_error();
	ret = SSL_write_ex(tc->ssl, buf, len, &n);
	if (ret == 1)
		return (ssize_t)n;
	ret = (int)ssl_fail(t, ret, KB_TR_WRITE_WANTS_READ);
	if (!ret) {
		errno = EPIPE;	/* peer sent close_notify */
		ret = -1;
	}
	return ret;
}

static int ensure_wbuf(struct kb_tls_conn *tc)
{
	if (!tc->wbuf)
		tc->wbuf = malloc(TLS_WBUF);
	if (!tc->wbuf) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static ssize_t tls_writev(struct kb_transport *t, const struct iovec *iov,
			  int n)
{
	struct kb_tls_conn *tc = t->priv;
	size_t len = 0;
	int i;

	if (n == 1 || iov[0].iov_len >= TLS_DIRECT)
		return tls_write(t, iov[0].iov_base, iov[0].iov_len);
	if (ensure_wbuf(tc))
		return -1;
	for (i = 0; i < n && len < TLS_WBUF; i++) {
		size_t k = iov[i].iov_len;

		if (k > TLS_WBUF - len)
			k = TLS_WBUF - len;
		memcpy(tc->wbuf + len, iov[i].iov_base, k);
		len += k;
	}
	return tls_write(t, tc->wbuf, len);
}

static ssize_t tls_sendfile(struct kb_transport *t, int in_fd, off_t *pos,
			    size_t len)
{
	struct kb_tls_conn *tc = t->priv;
	ssize_t r;

	if (tc->ktls_tx) {
		t->wants &= ~KB_TR_WRITE_WANTS_READ;
		ERR_clear_error();
		errno = 0;
		r = SSL_sendfile(tc->ssl, in_fd, *pos, len, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EBUSY)
				errno = EAGAIN;
			else if (!errno)
				errno = EIO;
			return -1;
		}
		*pos += r;
		tc->sendfile_bytes += (uint64_t)r;
		kb_tls_stats.sendfile_bytes += (uint64_t)r;
		return r;
	}
	/* Userspace TLS: the file range is immutable log data, so a retry
	 * after EAGAIN reads back the same bytes. */
	if (ensure_wbuf(tc))
		return -1;
	if (len > TLS_WBUF)
		len = TLS_WBUF;
	r = pread(in_fd, tc->wbuf, len, *pos);
	if (r <= 0)
		return r;
	r = tls_write(t, tc->wbuf, (size_t)r);
	if (r > 0) {
		*pos += r;
		tc->copied_bytes += (uint64_t)r;
		kb_tls_stats.copied_file_bytes += (uint64_t)r;
	}
	return r;
}

static bool tls_pending(struct kb_transport *t)
{
	struct kb_tls_conn *tc = t->priv;

	return tc->established && SSL_pending(tc->ssl) > 0;
}

static void tls_close(struct kb_transport *t)
{
	struct kb_tls_conn *tc = t->priv;

	if (tc) {
		if (tc->established) {
			kb_dbg("TLS fd %d closed: kTLS tx %s rx %s, file bytes sendfile %llu, pread+write %llu",
			       t->fd, tc->ktls_tx ? "on" : "off",
			       tc->ktls_rx ? "on" : "off",
			       (unsigned long long)tc->sendfile_bytes,
			       (unsigned long long)tc->copied_bytes);
			/* Best effort close_notify; never waits. */
			if (!tc->failed)
				SSL_shutdown(tc->ssl);
		}
		SSL_free(tc->ssl);
		free(tc->wbuf);
		free(tc);
		t->priv = NULL;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

const struct kb_transport_ops kb_transport_tls = {
	.name = "tls",
	.read = tls_read,
	.writev = tls_writev,
	.sendfile = tls_sendfile,
	.close = tls_close,
	.pending = tls_pending,
};

int kb_tls_attach(struct kb_transport *t, SSL_CTX *ctx)
{
	struct kb_tls_conn *tc = calloc(1, sizeof(*tc));

	if (!tc)
		return -1;
	tc->ssl = SSL_new(ctx);
	/* A socket BIO on the fd: what kTLS needs to take over. */
	if (!tc->ssl || SSL_set_fd(tc->ssl, t->fd) != 1) {
		SSL_free(tc->ssl);
		free(tc);
		return -1;
	}
	SSL_set_accept_state(tc->ssl);
	t->priv = tc;
	t->ops = &kb_transport_tls;
	t->wants = KB_TR_HS_WANTS_READ;
	return 0;
}

/* Why a direction is not offloaded; each reason is logged once. */
static void log_no_ktls(SSL *ssl, bool tx, bool rx)
{
	const char *cipher = SSL_get_cipher_name(ssl);
	int ver = SSL_version(ssl);

	if (!tx && access("/proc/net/tls_stat", F_OK)) {
		kb_log_once(KB_LOG_NOTICE,
			    "kTLS unavailable: the kernel has no TLS support loaded (no /proc/net/tls_stat, modprobe tls); TLS records are encrypted in userspace");
		return;
	}
	if (!tx)
		kb_log_once(KB_LOG_NOTICE,
			    "kTLS unavailable for %s %s: the kernel or OpenSSL cannot offload it; this connection runs in userspace TLS",
			    SSL_get_version(ssl), cipher);
	if (tx && !rx && ver == TLS1_3_VERSION)
		kb_log_once(KB_LOG_INFO,
			    "kTLS receive is not used for TLS 1.3 (OpenSSL 3.0 offloads TLS 1.3 send only); receive stays in userspace");
	else if (tx && !rx)
		kb_log_once(KB_LOG_NOTICE,
			    "kTLS receive unavailable for %s %s; receive stays in userspace",
			    SSL_get_version(ssl), cipher);
}

int kb_tls_ktls_miss(const struct kb_transport *t)
{
	const struct kb_tls_conn *tc = t->priv;

	if (t->ops != &kb_transport_tls || !tc || !tc->established ||
	    (tc->ktls_tx && tc->ktls_rx))
		return -1;
	if (tc->ktls_tx)
		return SSL_version(tc->ssl) == TLS1_3_VERSION ?
		       KB_KTLS_MISS_RX_TLS13 : KB_KTLS_MISS_RX_UNSUPPORTED;
	/* Called once per handshake: tls.ko may be loaded meanwhile. */
	return access("/proc/net/tls_stat", F_OK) ? KB_KTLS_MISS_NO_KERNEL :
						     KB_KTLS_MISS_UNSUPPORTED;
}

enum kb_hs_result kb_tls_handshake(struct kb_transport *t, const char *who)
{
	struct kb_tls_conn *tc = t->priv;
	char prin[KB_PRINCIPAL_MAX];
	int ret;

	t->wants &= ~(KB_TR_HS_WANTS_READ | KB_TR_HS_WANTS_WRITE);
	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(tc->ssl);
	if (ret != 1) {
		switch (SSL_get_error(tc->ssl, ret)) {
		case SSL_ERROR_WANT_READ:
			t->wants |= KB_TR_HS_WANTS_READ;
			return KB_HS_AGAIN;
		case SSL_ERROR_WANT_WRITE:
			t->wants |= KB_TR_HS_WANTS_WRITE;
			return KB_HS_AGAIN;
		default:
			tc->failed = true;
			kb_tls_stats.handshake_failures++;
			kb_info("%s: TLS handshake failed: %s", who,
				kb_ssl_reason("connection closed"));
			return KB_HS_FAIL;
		}
	}
	tc->established = true;
	tc->ktls_tx = BIO_get_ktls_send(SSL_get_wbio(tc->ssl));
	tc->ktls_rx = BIO_get_ktls_recv(SSL_get_rbio(tc->ssl));
	kb_tls_stats.handshakes++;
	kb_tls_stats.ktls_tx += tc->ktls_tx;
	kb_tls_stats.ktls_rx += tc->ktls_rx;
	kb_tls_stats.userspace += !tc->ktls_tx && !tc->ktls_rx;
	if (!tc->ktls_tx || !tc->ktls_rx)
		log_no_ktls(tc->ssl, tc->ktls_tx, tc->ktls_rx);
	kb_principal_of_cert(SSL_get0_peer_certificate(tc->ssl), prin,
			     sizeof(prin));
	kb_info("%s: TLS established: %s %s, principal %s, kTLS tx %s rx %s",
		who, SSL_get_version(tc->ssl), SSL_get_cipher_name(tc->ssl),
		prin, tc->ktls_tx ? "on" : "off", tc->ktls_rx ? "on" : "off");
	return KB_HS_DONE;
}

int kb_tls_principal(const struct kb_transport *t, char *out, size_t len)
{
	const struct kb_tls_conn *tc = t->priv;

	if (t->ops != &kb_transport_tls || !tc)
		return kb_principal_of_cert(NULL, out, len);
	return kb_principal_of_cert(SSL_get0_peer_certificate(tc->ssl), out,
				    len);
}

bool kb_tls_ktls_tx(const struct kb_transport *t)
{
	const struct kb_tls_conn *tc = t->priv;

	return t->ops == &kb_transport_tls && tc && tc->ktls_tx;
}

bool kb_tls_ktls_rx(const struct kb_transport *t)
{
	const struct kb_tls_conn *tc = t->priv;

	return t->ops == &kb_transport_tls && tc && tc->ktls_rx;
}
