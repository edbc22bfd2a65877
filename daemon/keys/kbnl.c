// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "keys/kbnl.h"
#include "keys/kbnl_req.h"

struct kbnl {
	struct nl_sock *sk;
	int family;
};

/* libnl's own error codes, mapped back to the errno the kernel sent. */
static int nl_to_errno(int err)
{
	switch (-err) {
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	default:
		return -EIO;
	}
}

int kbnl_open(struct kbnl **out)
{
	struct kbnl *nl = calloc(1, sizeof(*nl));
	int ret;

	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		ret = -ENOMEM;
		goto err;
	}
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		ret = nl_to_errno(ret);
		goto err;
	}
	nl->family = genl_ctrl_resolve(nl->sk, KBROKER_GENL_NAME);
	if (nl->family < 0) {
		ret = -ENOENT;
		goto err;
	}
	*out = nl;
	return 0;
err:
	kbnl_close(nl);
	return ret;
}

void kbnl_close(struct kbnl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

static struct nla_policy status_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_VERSION] = { .type = NLA_NUL_STRING,
				.maxlen = KBROKER_VERSION_MAX },
	[KBROKER_A_STATE] = { .type = NLA_U32 },
};

static int status_cb(struct nl_msg *msg, void *arg)
{
	struct kbnl_status *st = arg;
	struct nlattr *tb[KBROKER_A_MAX + 1];
	int ret;

	ret = genlmsg_parse(nlmsg_hdr(msg), 0, tb, KBROKER_A_MAX,
			    status_policy);
	if (ret < 0)
		return NL_SKIP;
	if (tb[KBROKER_A_VERSION])
		snprintf(st->version, sizeof(st->version), "%s",
			 nla_get_string(tb[KBROKER_A_VERSION]));
	if (tb[KBROKER_A_STATE])
		st->state = nla_get_u32(tb[KBROKER_A_STATE]);
	return NL_OK;
}

int kbnl_get_status(struct kbnl *nl, struct kbnl_status *st)
{
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	if (!msg)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	st->state = UINT32_MAX;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, 0,
			 KBROKER_CMD_GET_STATUS, KBROKER_GENL_VERSION)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return nl_to_errno(ret);
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, status_cb, st);
	ret = nl_recvmsgs_default(nl->sk);
	if (ret < 0)
		return nl_to_errno(ret);
	if (st->state == UINT32_MAX)
		return -EPROTO;
	return 0;
}

const char *kbnl_state_name(uint32_t state)
{
	switch (state) {
	case KBROKER_STATE_ACTIVE:
		return "ACTIVE";
	case KBROKER_STATE_MAINTENANCE:
		return "MAINTENANCE";
	default:
		return "UNKNOWN";
	}
}

/* Reply attributes of the listener, socket and state commands. */
static struct nla_policy reply_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_LISTENER_NAME] = { .type = NLA_NUL_STRING },
	[KBROKER_A_LISTENER_PORT] = { .type = NLA_U16 },
	[KBROKER_A_LISTENER_POLICY] = { .type = NLA_U32 },
	[KBROKER_A_SOCK_FLAGS] = { .type = NLA_U32 },
	[KBROKER_A_EVENT_TYPE] = { .type = NLA_U32 },
	[KBROKER_A_STATE] = { .type = NLA_U32 },
};

static int req_valid(struct nl_msg *msg, void *arg)
{
	struct kbnl_req *r = arg;
	struct nlattr *tb[KBROKER_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KBROKER_A_MAX,
			  r->policy ? r->policy : reply_policy) < 0)
		return NL_SKIP;
	if (r->parse)
		r->parse(tb, r->arg);
	return NL_OK;
}

static int req_ack(struct nl_msg *msg, void *arg)
{
	struct kbnl_req *r = arg;

	(void)msg;
	r->done = 1;
	return NL_STOP;
}

static int req_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct kbnl_req *r = arg;

	(void)nla;
	r->err = e->error;
	r->done = 1;
	return NL_STOP;
}

int kbnl_request(struct kbnl *nl, struct nl_msg *msg, struct kbnl_req *r)
{
	struct nl_cb *cb;
	int ret;

	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return nl_to_errno(ret);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, req_valid, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, req_ack, r);
	/* A dump ends with NLMSG_DONE rather than an ack. */
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, req_ack, r);
	nl_cb_err(cb, NL_CB_CUSTOM, req_err, r);
	while (!r->done) {
		ret = nl_recvmsgs(nl->sk, cb);
		if (ret < 0 && !r->done) {
			r->err = nl_to_errno(ret);
			break;
		}
	}
	nl_cb_put(cb);
	return r->err;
}

struct nl_msg *kbnl_msg_new(struct kbnl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 flags, cmd, KBROKER_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int kbnl_listener_add(struct kbnl *nl, const char *name, uint16_t port,
		      uint32_t policy)
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_LISTENER_ADD, NLM_F_ACK);
	struct kbnl_req r = { 0 };

	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, KBROKER_A_LISTENER_NAME, name) ||
	    nla_put_u16(msg, KBROKER_A_LISTENER_PORT, port) ||
	    nla_put_u32(msg, KBROKER_A_LISTENER_POLICY, policy)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return kbnl_request(nl, msg, &r);
}

int kbnl_listener_del(struct kbnl *nl, const char *name)
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_LISTENER_DEL, NLM_F_ACK);
	struct kbnl_req r = { 0 };

	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, KBROKER_A_LISTENER_NAME, name)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return kbnl_request(nl, msg, &r);
}

int kbnl_set_state(struct kbnl *nl, uint32_t state)
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_SET_STATE, NLM_F_ACK);
	struct kbnl_req r = { 0 };

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, KBROKER_A_STATE, state)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return kbnl_request(nl, msg, &r);
}

static void get_parse(struct nlattr **tb, void *arg)
{
	if (tb[KBROKER_A_LISTENER_POLICY])
		*(uint32_t *)arg = nla_get_u32(tb[KBROKER_A_LISTENER_POLICY]);
}

int kbnl_listener_get(struct kbnl *nl, const char *name, uint32_t *policy)
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_LISTENER_GET, NLM_F_ACK);
	uint32_t got = UINT32_MAX;
	struct kbnl_req r = { .parse = get_parse, .arg = &got };
	int ret;

	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, KBROKER_A_LISTENER_NAME, name)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	ret = kbnl_request(nl, msg, &r);
	if (!ret && got == UINT32_MAX)
		ret = -EPROTO;
	if (!ret)
		*policy = got;
	return ret;
}

static void attach_parse(struct nlattr **tb, void *arg)
{
	if (tb[KBROKER_A_SOCK_FLAGS])
		*(uint32_t *)arg = nla_get_u32(tb[KBROKER_A_SOCK_FLAGS]);
}

int kbnl_sock_attach(struct kbnl *nl, int fd, const char *listener,
		     uint32_t flags, uint32_t *found)
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_SOCK_ATTACH, NLM_F_ACK);
	uint32_t got = 0;
	struct kbnl_req r = { .parse = attach_parse, .arg = &got };
	int ret;

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, KBROKER_A_SOCK_FD, (uint32_t)fd) ||
	    nla_put_string(msg, KBROKER_A_LISTENER_NAME, listener) ||
	    nla_put_u32(msg, KBROKER_A_SOCK_FLAGS, flags)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	ret = kbnl_request(nl, msg, &r);
	if (found)
		*found = got;
	return ret;
}

int kbnl_attach_outbound(struct kbnl *nl, int fd, const char *listener,
			 bool tls, uint32_t *found)
{
	uint32_t flags = KBROKER_SOCK_OUTBOUND;

	flags |= tls ? KBROKER_SOCK_TLS : KBROKER_SOCK_PLAINTEXT;
	return kbnl_sock_attach(nl, fd, listener, flags, found);
}

int kbnl_events_open(struct kbnl **out)
{
	struct kbnl *nl;
	int grp, ret;

	ret = kbnl_open(&nl);
	if (ret)
		return ret;
	grp = genl_ctrl_resolve_grp(nl->sk, KBROKER_GENL_NAME,
				    KBROKER_GENL_MCGRP_EVENTS);
	if (grp < 0) {
		kbnl_close(nl);
		return -ENOENT;
	}
	/* Events are unsolicited: no sequence numbers to match. */
	nl_socket_disable_seq_check(nl->sk);
	ret = nl_socket_add_membership(nl->sk, grp);
	if (!ret)
		ret = nl_socket_set_nonblocking(nl->sk);
	if (ret < 0) {
		kbnl_close(nl);
		return nl_to_errno(ret);
	}
	*out = nl;
	return 0;
}

int kbnl_fd(struct kbnl *nl)
{
	return nl_socket_get_fd(nl->sk);
}

struct kbnl_ev_ctx {
	void (*cb)(const struct kbnl_event *ev, void *arg);
	void *arg;
};

static int event_valid(struct nl_msg *msg, void *arg)
{
	struct kbnl_ev_ctx *x = arg;
	struct nlattr *tb[KBROKER_A_MAX + 1];
	struct kbnl_event ev = { 0 };

	if (genlmsg_hdr(nlmsg_hdr(msg))->cmd != KBROKER_CMD_EVENT ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, KBROKER_A_MAX,
			  reply_policy) < 0 ||
	    !tb[KBROKER_A_EVENT_TYPE])
		return NL_SKIP;
	ev.type = nla_get_u32(tb[KBROKER_A_EVENT_TYPE]);
	if (tb[KBROKER_A_STATE])
		ev.state = nla_get_u32(tb[KBROKER_A_STATE]);
	if (tb[KBROKER_A_LISTENER_NAME])
		snprintf(ev.listener, sizeof(ev.listener), "%s",
			 nla_get_string(tb[KBROKER_A_LISTENER_NAME]));
	if (tb[KBROKER_A_LISTENER_POLICY])
		ev.policy = nla_get_u32(tb[KBROKER_A_LISTENER_POLICY]);
	x->cb(&ev, x->arg);
	return NL_OK;
}

int kbnl_events_recv(struct kbnl *nl,
		     void (*cb)(const struct kbnl_event *ev, void *arg),
		     void *arg)
{
	struct kbnl_ev_ctx x = { cb, arg };
	struct nl_cb *c, *sc = nl_socket_get_cb(nl->sk);
	int ret;

	/* The socket's callbacks skip the sequence check (events). */
	c = nl_cb_clone(sc);
	nl_cb_put(sc);
	if (!c)
		return -ENOMEM;
	nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, event_valid, &x);
	do {
		ret = nl_recvmsgs(nl->sk, c);
	} while (ret >= 0);
	nl_cb_put(c);
	return ret == -NLE_AGAIN ? 0 : nl_to_errno(ret);
}

int kbnl_family(const struct kbnl *nl)
{
	return nl->family;
}

int kbnl_ctrl_watch_open(struct kbnl **out)
{
	struct kbnl *nl = calloc(1, sizeof(*nl));
	int grp, ret;

	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		ret = -ENOMEM;
		goto err;
	}
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		ret = nl_to_errno(ret);
		goto err;
	}
	nl->family = GENL_ID_CTRL;
	grp = genl_ctrl_resolve_grp(nl->sk, "nlctrl", "notify");
	if (grp < 0) {
		ret = -ENOENT;
		goto err;
	}
	nl_socket_disable_seq_check(nl->sk);
	ret = nl_socket_add_membership(nl->sk, grp);
	if (!ret)
		ret = nl_socket_set_nonblocking(nl->sk);
	if (ret < 0) {
		ret = nl_to_errno(ret);
		goto err;
	}
	*out = nl;
	return 0;
err:
	kbnl_close(nl);
	return ret;
}

struct kbnl_ctrl_ctx {
	void (*cb)(int present, void *arg);
	void *arg;
};

static int ctrl_valid(struct nl_msg *msg, void *arg)
{
	static struct nla_policy pol[CTRL_ATTR_MAX + 1] = {
		[CTRL_ATTR_FAMILY_NAME] = { .type = NLA_STRING },
	};
	struct kbnl_ctrl_ctx *x = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	uint8_t cmd;

	if (nlh->nlmsg_type != GENL_ID_CTRL ||
	    genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, pol) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_NAME] ||
	    strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]),
		   KBROKER_GENL_NAME))
		return NL_SKIP;
	cmd = genlmsg_hdr(nlh)->cmd;
	if (cmd == CTRL_CMD_NEWFAMILY)
		x->cb(1, x->arg);
	else if (cmd == CTRL_CMD_DELFAMILY)
		x->cb(0, x->arg);
	return NL_OK;
}

int kbnl_ctrl_watch_recv(struct kbnl *nl, void (*cb)(int present, void *arg),
			 void *arg)
{
	struct kbnl_ctrl_ctx x = { cb, arg };
	struct nl_cb *c, *sc = nl_socket_get_cb(nl->sk);
	int ret;

	c = nl_cb_clone(sc);
	nl_cb_put(sc);
	if (!c)
		return -ENOMEM;
	nl_cb_set(c, NL_CB_VALID, NL_CB_CUSTOM, ctrl_valid, &x);
	do {
		ret = nl_recvmsgs(nl->sk, c);
	} while (ret >= 0);
	nl_cb_put(c);
	return ret == -NLE_AGAIN ? 0 : nl_to_errno(ret);
}
