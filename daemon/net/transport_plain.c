// SPDX-License-Identifier: GPL-2.0
/* Plaintext transport: the socket itself, sendfile() for file slices. */
#include <sys/sendfile.h>
#include <unistd.h>

#include "net/transport.h"

static ssize_t plain_read(struct kb_transport *t, void *buf, size_t len)
{
	return read(t->fd, buf, len);
}

static ssize_t plain_writev(struct kb_transport *t, const struct iovec *iov,
			    int n)
{
	return writev(t->fd, iov, n);
}

static ssize_t plain_sendfile(struct kb_transport *t, int in_fd, off_t *pos,
			      size_t len)
{
	return sendfile(t->fd, in_fd, pos, len);
}

static void plain_close(struct kb_transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

const struct kb_transport_ops kb_transport_plain = {
	.name = "plaintext",
	.read = plain_read,
	.writev = plain_writev,
	.sendfile = plain_sendfile,
	.close = plain_close,
};
