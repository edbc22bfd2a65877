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

#include <sys/types.h>
#include <sys/uio.h>

struct kb_transport;

struct kb_transport_ops {
	const char *name;
	ssize_t (*read)(struct kb_transport *t, void *buf, size_t len);
	ssize_t (*writev)(struct kb_transport *t, const struct iovec *iov,
			  int n);
	/* Sends @len bytes of @in_fd at *@pos, advancing *@pos. */
	ssize_t (*sendfile)(struct kb_transport *t, int in_fd, off_t *pos,
			    size_t len);
	void (*close)(struct kb_transport *t);
};

struct kb_transport {
	const struct kb_transport_ops *ops;
	int fd;
	void *priv;		/* e.g. the SSL object */
};

extern const struct kb_transport_ops kb_transport_plain;

#endif
