/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small raw generic-netlink client for the guest tests, independent of
 * the daemon's code and of libnl, so a test can send exactly the bytes it
 * wants (unknown attributes, wrong types) and see the kernel's answer.
 */
#ifndef KBROKER_TEST_GENL_H
#define KBROKER_TEST_GENL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

struct genl_msg {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char buf[8192];
};

static inline int genl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static inline void genl_init(struct genl_msg *m, uint16_t type, uint8_t cmd,
			     uint8_t version)
{
	memset(m, 0, sizeof(*m));
	m->n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->n.nlmsg_type = type;
	m->n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	m->n.nlmsg_seq = 1;
	m->g.cmd = cmd;
	m->g.version = version;
}

static inline void genl_put(struct genl_msg *m, uint16_t type,
			    const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)&m->n +
					     NLMSG_ALIGN(m->n.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	m->n.nlmsg_len = NLMSG_ALIGN(m->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/*
 * Sends @m and reads until the ack (or a dump's end).  The first data
 * reply, if any, is copied to @reply.  Returns 0 or the negative errno the
 * kernel answered.
 */
static inline int genl_talk(int fd, struct genl_msg *m, struct genl_msg *reply)
{
	char buf[16384];
	int got_reply = 0;

	if (send(fd, m, m->n.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (reply && !got_reply &&
			    h->nlmsg_len <= sizeof(*reply)) {
				memcpy(reply, h, h->nlmsg_len);
				got_reply = 1;
			}
		}
	}
}

/* Finds attribute @type in a reply; NULL when absent. */
static inline struct nlattr *genl_attr(struct genl_msg *m, uint16_t type)
{
	int len = m->n.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	struct nlattr *a = (struct nlattr *)m->buf;

	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return NULL;
}

#define genl_attr_data(a) ((void *)((char *)(a) + NLA_HDRLEN))

/* Resolves a family name to its id; negative errno when not registered. */
static inline int genl_family_id(int fd, const char *name)
{
	struct genl_msg m, r;
	struct nlattr *a;
	int ret;

	genl_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	genl_put(&m, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	memset(&r, 0, sizeof(r));
	ret = genl_talk(fd, &m, &r);
	if (ret)
		return ret;
	a = genl_attr(&r, CTRL_ATTR_FAMILY_ID);
	if (!a)
		return -ENOENT;
	return *(uint16_t *)genl_attr_data(a);
}

/*
 * Whether a family is registered, from a dump of all families: unlike a
 * lookup by name, a dump never makes the kernel autoload the module.
 * Returns 1, 0 or a negative errno.
 */
static inline int genl_family_registered(int fd, const char *name)
{
	struct genl_msg m;
	char buf[32768];
	int found = 0;

	genl_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	m.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	if (send(fd, &m, m.n.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			struct genl_msg *r = (struct genl_msg *)h;
			struct nlattr *a;

			if (h->nlmsg_type == NLMSG_DONE)
				return found;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			a = genl_attr(r, CTRL_ATTR_FAMILY_NAME);
			if (a && !strcmp(genl_attr_data(a), name))
				found = 1;
		}
	}
}

#endif
