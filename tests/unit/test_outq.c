// SPDX-License-Identifier: GPL-2.0
/*
 * The output queue (net/outq.c) over the plaintext transport and a real
 * socket pair: responses made of memory and file slices come out byte for
 * byte in order, also when the socket takes them a little at a time, and
 * a file slice that comes up short fails the flush with EPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/outq.h"
#include "net/transport.h"
#include "proto/api.h"
#include "tap.h"

static int file_fd;

/* A response: @pre bytes, a file slice [pos, pos + len), @post bytes. */
static void make_resp(struct kb_resp *r, const char *pre, off_t pos,
		      size_t len, const char *post)
{
	kb_resp_init(r);
	kb_wr_raw(&r->w, pre, strlen(pre));
	if (len)
		kb_resp_add_slice(r, dup(file_fd), pos, len);
	kb_wr_raw(&r->w, post, strlen(post));
	kb_resp_finish(r);
}

/* Flushes @q into @sv[0] while reading @sv[1]; returns bytes read. */
static size_t drain(struct kb_outq *q, struct kb_transport *t, int rfd,
		    uint8_t *buf, size_t cap, int *res, int *err)
{
	size_t got = 0;

	for (int rounds = 0; rounds < 100000; rounds++) {
		ssize_t n;

		*res = kb_outq_flush(q, t);
		*err = errno;
		n = read(rfd, buf + got, cap - got);
		if (n > 0)
			got += (size_t)n;
		if (*res != 0 && n <= 0)
			break;
	}
	return got;
}

/* What the frame of make_resp() holds: size, pre, file bytes, post. */
static size_t expect(uint8_t *out, const char *pre, const uint8_t *file,
		     off_t pos, size_t len, const char *post)
{
	size_t n = strlen(pre) + len + strlen(post), o = 0;

	out[o++] = n >> 24;
	out[o++] = n >> 16;
	out[o++] = n >> 8;
	out[o++] = n;
	memcpy(out + o, pre, strlen(pre));
	o += strlen(pre);
	memcpy(out + o, file + pos, len);
	o += len;
	memcpy(out + o, post, strlen(post));
	return o + strlen(post);
}

int main(void)
{
	static uint8_t file[200000], want[600000], got[600000];
	char path[] = "/tmp/kb-test-outq-XXXXXX";
	struct kb_outq q = { 0 };
	struct kb_resp r;
	struct kb_transport t = { .ops = &kb_transport_plain };
	int sv[2], res, err, small = 4096;
	size_t nw = 0, ng, i;

	for (i = 0; i < sizeof(file); i++)
		file[i] = (uint8_t)(i * 7 + i / 251);
	file_fd = mkstemp(path);
	unlink(path);
	ok(file_fd >= 0 && write(file_fd, file, sizeof(file)) ==
	   (ssize_t)sizeof(file), "a data file");
	ok(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "a socket pair");
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	t.fd = sv[0];

	ok(kb_outq_empty(&q), "a new queue is empty");
	make_resp(&r, "first", 0, 0, "");
	ok(!kb_outq_push(&q, &r), "memory-only response queued");
	kb_resp_free(&r);
	nw += expect(want + nw, "first", file, 0, 0, "");
	make_resp(&r, "hdr2", 1000, 150000, "tail2");
	ok(!kb_outq_push(&q, &r), "response with a 150000-byte slice queued");
	kb_resp_free(&r);
	nw += expect(want + nw, "hdr2", file, 1000, 150000, "tail2");
	make_resp(&r, "3", 7, 13, "three");
	ok(!kb_outq_push(&q, &r), "a third, small slice queued");
	kb_resp_free(&r);
	nw += expect(want + nw, "3", file, 7, 13, "three");
	ok(q.bytes == nw, "queued bytes counted: %zu", q.bytes);

	ng = drain(&q, &t, sv[1], got, sizeof(got), &res, &err);
	ok(res == 1 && kb_outq_empty(&q) && q.bytes == 0,
	   "flushed through a 4 KiB socket buffer until empty");
	ok(ng == nw && !memcmp(got, want, nw),
	   "the peer read %zu bytes, all in order (want %zu)", ng, nw);

	/* A slice past the end of the file: the frame cannot be whole. */
	make_resp(&r, "x", sizeof(file) - 10, 100, "");
	ok(!kb_outq_push(&q, &r), "a slice past end of file queued");
	kb_resp_free(&r);
	drain(&q, &t, sv[1], got, sizeof(got), &res, &err);
	ok(res == -1 && err == EPIPE, "its flush fails with EPIPE");
	kb_outq_clear(&q);
	ok(kb_outq_empty(&q) && q.bytes == 0, "clear empties the queue");

	close(sv[0]);
	close(sv[1]);
	close(file_fd);
	return tap_done();
}
