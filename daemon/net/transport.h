/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-connection transport: how bytes move on a socket.  Handlers and the
 * output queue only see these ops, so a TLS transport (OpenSSL with kTLS
 * and SSL_sendfile, or a userspace read-and-write fallback for sendfile)
 * slots in without touching them.  Ops return bytes moved, or -1 with
 * errno (EAGAIN when the socket would block).
 */
#ifndef KB_BROKER_TRANSPORT_H
#define KB_BROKER_TRANSPORT_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

struct kb_transport;

/*
 * TLS can need the other direction: SSL_read may have to write (a
 * handshake message) and SSL_write may have to read.  The transport sets
 * these in t->wants when an op fails with EAGAIN for that reason, so the
 * connection asks epoll for the event that unblocks it.
 */
#define KB_TR_READ_WANTS_WRITE	0x1
#define KB_TR_WRITE_WANTS_READ	0x2
#define KB_TR_HS_WANTS_READ	0x4	/* handshake in progress */
#define KB_TR_HS_WANTS_WRITE	0x8

struct kb_transport_ops {
	const char *name;
	ssize_t (*read)(struct kb_transport *t, void *buf, size_t len);
	ssize_t (*writev)(struct kb_transport *t, const struct iovec *iov,
			  int n);
	/* Sends @len bytes of @in_fd at *@pos, advancing *@pos. */
	ssize_t (*sendfile)(struct kb_transport *t, int in_fd, off_t *pos,
			    size_t len);
	void (*close)(struct kb_transport *t);
	/* Optional: bytes already received and decrypted but not yet read,
	 * which epoll cannot report. */
	bool (*pending)(struct kb_transport *t);
};

struct kb_transport {
	const struct kb_transport_ops *ops;
	int fd;
	void *priv;		/* e.g. the SSL object */
	unsigned int wants;	/* KB_TR_* */
};

extern const struct kb_transport_ops kb_transport_plain;
extern const struct kb_transport_ops kb_transport_tls;

#endif
