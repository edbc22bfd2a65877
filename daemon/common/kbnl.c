// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "common/kbnl.h"

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
