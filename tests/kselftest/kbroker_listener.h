/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the listener tests: LISTENER_*, SET_STATE and SOCK_ATTACH
 * over raw generic netlink, the events group, listener sysfs files and
 * loopback TCP pairs.
 */
#ifndef KBROKER_TEST_LISTENER_H
#define KBROKER_TEST_LISTENER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "genl.h"
#include "kbroker_test.h"

#include <uapi/linux/kbroker.h>

#define LSYS KBROKER_SYSFS "/listeners"

struct kbnl_t {
	int fd;
	int family;
};

static inline int kbt_open(struct kbnl_t *t)
{
	t->fd = genl_open();
	if (t->fd < 0)
		return t->fd;
	t->family = genl_family_id(t->fd, KBROKER_GENL_NAME);
	return t->family < 0 ? t->family : 0;
}

static inline int kbt_listener_add(struct kbnl_t *t, const char *name,
				   uint16_t port, int policy)
{
	struct genl_msg m;
	uint32_t p = policy;

	genl_init(&m, t->family, KBROKER_CMD_LISTENER_ADD, KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_LISTENER_NAME, name, strlen(name) + 1);
	genl_put(&m, KBROKER_A_LISTENER_PORT, &port, sizeof(port));
	if (policy >= 0)
		genl_put(&m, KBROKER_A_LISTENER_POLICY, &p, sizeof(p));
	return genl_talk(t->fd, &m, NULL);
}

static inline int kbt_listener_del(struct kbnl_t *t, const char *name)
{
	struct genl_msg m;

	genl_init(&m, t->family, KBROKER_CMD_LISTENER_DEL, KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_LISTENER_NAME, name, strlen(name) + 1);
	return genl_talk(t->fd, &m, NULL);
}

/* LISTENER_SET; @policy, @ktls < 0 leave them out. */
static inline int kbt_listener_set2(struct kbnl_t *t, const char *name,
				    int policy, int ktls)
{
	struct genl_msg m;
	uint32_t p = policy;
	uint8_t k = ktls;

	genl_init(&m, t->family, KBROKER_CMD_LISTENER_SET, KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_LISTENER_NAME, name, strlen(name) + 1);
	if (policy >= 0)
		genl_put(&m, KBROKER_A_LISTENER_POLICY, &p, sizeof(p));
	if (ktls >= 0)
		genl_put(&m, KBROKER_A_LISTENER_KTLS_REQUIRED, &k, sizeof(k));
	return genl_talk(t->fd, &m, NULL);
}

static inline int kbt_listener_set(struct kbnl_t *t, const char *name,
				   int policy)
{
	return kbt_listener_set2(t, name, policy, -1);
}

static inline int kbt_set_state(struct kbnl_t *t, uint32_t state)
{
	struct genl_msg m;

	genl_init(&m, t->family, KBROKER_CMD_SET_STATE, KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_STATE, &state, sizeof(state));
	return genl_talk(t->fd, &m, NULL);
}

/* LISTENER_GET for @name; fills @ctr[KBROKER_COUNTER_*] and *@policy. */
static inline int kbt_listener_get(struct kbnl_t *t, const char *name,
				   uint64_t *ctr, uint32_t *policy)
{
	struct genl_msg m, r;
	struct nlattr *a, *n;
	int ret, len;

	genl_init(&m, t->family, KBROKER_CMD_LISTENER_GET, KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_LISTENER_NAME, name, strlen(name) + 1);
	memset(&r, 0, sizeof(r));
	ret = genl_talk(t->fd, &m, &r);
	if (ret)
		return ret;
	a = genl_attr(&r, KBROKER_A_LISTENER_POLICY);
	if (!a)
		return -EPROTO;
	if (policy)
		*policy = *(uint32_t *)genl_attr_data(a);
	a = genl_attr(&r, KBROKER_A_LISTENER_COUNTERS);
	if (!a)
		return -EPROTO;
	len = a->nla_len - NLA_HDRLEN;
	n = genl_attr_data(a);
	while (len >= NLA_HDRLEN && n->nla_len >= NLA_HDRLEN &&
	       n->nla_len <= len) {
		if (n->nla_type <= KBROKER_COUNTER_MAX &&
		    n->nla_len == NLA_HDRLEN + 8 && ctr)
			memcpy(&ctr[n->nla_type], genl_attr_data(n), 8);
		len -= NLA_ALIGN(n->nla_len);
		n = (struct nlattr *)((char *)n + NLA_ALIGN(n->nla_len));
	}
	return 0;
}

/* SOCK_ATTACH; *@found gets the reply's flags. */
static inline int kbt_sock_attach(struct kbnl_t *t, int sfd, const char *name,
				  uint32_t flags, uint32_t *found)
{
	struct genl_msg m, r;
	uint32_t fd = sfd;
	struct nlattr *a;
	int ret;

	genl_init(&m, t->family, KBROKER_CMD_SOCK_ATTACH, KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_SOCK_FD, &fd, sizeof(fd));
	genl_put(&m, KBROKER_A_LISTENER_NAME, name, strlen(name) + 1);
	genl_put(&m, KBROKER_A_SOCK_FLAGS, &flags, sizeof(flags));
	memset(&r, 0, sizeof(r));
	ret = genl_talk(t->fd, &m, &r);
	if (ret)
		return ret;
	a = genl_attr(&r, KBROKER_A_SOCK_FLAGS);
	if (!a)
		return -EPROTO;
	*found = *(uint32_t *)genl_attr_data(a);
	return 0;
}

/* The id of multicast group @grp of the kbroker family. */
static inline int kbt_mcgrp_id(int fd, const char *grp)
{
	struct genl_msg m, r;
	struct nlattr *a, *g, *x;
	int len, glen, ret;

	genl_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	genl_put(&m, CTRL_ATTR_FAMILY_NAME, KBROKER_GENL_NAME,
		 strlen(KBROKER_GENL_NAME) + 1);
	memset(&r, 0, sizeof(r));
	ret = genl_talk(fd, &m, &r);
	if (ret)
		return ret;
	a = genl_attr(&r, CTRL_ATTR_MCAST_GROUPS);
	if (!a)
		return -ENOENT;
	len = a->nla_len - NLA_HDRLEN;
	for (g = genl_attr_data(a); len >= NLA_HDRLEN && g->nla_len <= len;
	     len -= NLA_ALIGN(g->nla_len),
	     g = (struct nlattr *)((char *)g + NLA_ALIGN(g->nla_len))) {
		const char *name = NULL;
		int id = -1;

		glen = g->nla_len - NLA_HDRLEN;
		for (x = genl_attr_data(g); glen >= NLA_HDRLEN &&
		     x->nla_len <= glen;
		     glen -= NLA_ALIGN(x->nla_len),
		     x = (struct nlattr *)((char *)x + NLA_ALIGN(x->nla_len))) {
			if (x->nla_type == CTRL_ATTR_MCAST_GRP_NAME)
				name = genl_attr_data(x);
			if (x->nla_type == CTRL_ATTR_MCAST_GRP_ID)
				id = *(uint32_t *)genl_attr_data(x);
		}
		if (name && !strcmp(name, grp))
			return id;
	}
	return -ENOENT;
}

/* Waits up to @ms for one event; returns its message length or -errno. */
static inline int kbt_event(int fd, struct genl_msg *ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	n = recv(fd, ev, sizeof(*ev), 0);
	return n < 0 ? -errno : (int)n;
}

static inline long lsys_read(const char *name, const char *file)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), LSYS "/%s/%s", name, file);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static inline int lsys_write(const char *name, const char *file,
			     const char *s)
{
	char path[256];

	snprintf(path, sizeof(path), LSYS "/%s/%s", name, file);
	return write_file(path, s);
}

/* Loopback TCP: a listening socket on @port of @family. */
static inline int tcp_listen(int family, uint16_t port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((family == AF_INET6 ?
	     bind(fd, (struct sockaddr *)&a6, sizeof(a6)) :
	     bind(fd, (struct sockaddr *)&a4, sizeof(a4))) ||
	    listen(fd, 64)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Connects to @port (TCP_NODELAY), accepts; 0 with *@cli and *@srv. */
static inline int tcp_pair(int lfd, int family, uint16_t port, int *cli,
			   int *srv)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 2 };
	int one = 1, c;

	c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -errno;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (family == AF_INET6 ?
	    connect(c, (struct sockaddr *)&a6, sizeof(a6)) :
	    connect(c, (struct sockaddr *)&a4, sizeof(a4))) {
		close(c);
		return -errno;
	}
	*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*srv < 0) {
		close(c);
		return -errno;
	}
	setsockopt(*srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*cli = c;
	return 0;
}

/*
 * Reads what arrives on @fd within @ms: the byte count (0 on EOF or
 * nothing), or -errno (-ECONNRESET when reset).
 */
static inline int recv_within(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (poll(&p, 1, ms) != 1)
			break;
		n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (n < 0)
			return got ? (int)got : -errno;
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

#endif
