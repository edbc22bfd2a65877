// SPDX-License-Identifier: GPL-2.0
/*
 * VOLUME_* requests over libnl-genl.  Errors come back as the kernel's
 * own errno (an error callback, not libnl's mapping, which would turn
 * -EKEYREJECTED into a generic failure).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "common/kbnl_volume.h"

struct kbvol_nl {
	struct nl_sock *sk;
	int family;
};

struct req {
	int done;
	int err;
	void (*parse)(struct nlattr **tb, void *arg);
	void *arg;
};

static struct nla_policy vol_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_VOLUME_UUID] = { .type = NLA_UNSPEC,
				    .minlen = KBROKER_VOLUME_UUID_LEN },
	[KBROKER_A_VOLUME_LABEL] = { .type = NLA_NUL_STRING },
	[KBROKER_A_VOLUME_CIPHER] = { .type = NLA_NUL_STRING },
	[KBROKER_A_VOLUME_MASTER_KEY] = { .type = NLA_NUL_STRING },
	[KBROKER_A_VOLUME_KEY_DESC] = { .type = NLA_NUL_STRING },
	[KBROKER_A_VOLUME_WRAPPED_KEY] = { .type = NLA_UNSPEC },
	[KBROKER_A_VOLUME_STATE] = { .type = NLA_U32 },
};

int kbvol_nl_open(struct kbvol_nl **out)
{
	struct kbvol_nl *nl = calloc(1, sizeof(*nl));
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
		ret = -EIO;
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
	kbvol_nl_close(nl);
	return ret;
}

void kbvol_nl_close(struct kbvol_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;
	struct nlattr *tb[KBROKER_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KBROKER_A_MAX,
			  vol_policy) < 0)
		return NL_SKIP;
	if (r->parse)
		r->parse(tb, r->arg);
	return NL_OK;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	(void)msg;
	r->done = 1;
	return NL_STOP;
}

static int on_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req *r = arg;

	(void)nla;
	r->err = e->error;
	r->done = 1;
	return NL_STOP;
}

static struct nl_msg *new_msg(struct kbvol_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
				flags, cmd, KBROKER_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static int run(struct kbvol_nl *nl, struct nl_msg *msg, struct req *r)
{
	struct nl_cb *cb;
	int ret;

	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return ret == -NLE_PERM ? -EPERM : -EIO;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_err, r);
	while (!r->done) {
		ret = nl_recvmsgs(nl->sk, cb);
		if (ret < 0 && !r->done) {
			r->err = -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	return r->err;
}

struct blob_out {
	uint8_t *blob;
	int got;
};

static void parse_blob(struct nlattr **tb, void *arg)
{
	struct blob_out *o = arg;
	struct nlattr *a = tb[KBROKER_A_VOLUME_WRAPPED_KEY];

	if (a && nla_len(a) == KBROKER_VOLUME_WRAPPED_LEN) {
		memcpy(o->blob, nla_data(a), KBROKER_VOLUME_WRAPPED_LEN);
		o->got = 1;
	}
}

int kbvol_create(struct kbvol_nl *nl, const uint8_t *uuid, const char *master,
		 uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN])
{
	struct nl_msg *msg = new_msg(nl, KBROKER_CMD_VOLUME_CREATE, NLM_F_ACK);
	struct blob_out o = { .blob = blob };
	struct req r = { .parse = parse_blob, .arg = &o };
	int ret;

	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KBROKER_A_VOLUME_UUID, KBROKER_VOLUME_UUID_LEN, uuid) ||
	    nla_put_string(msg, KBROKER_A_VOLUME_MASTER_KEY, master)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	ret = run(nl, msg, &r);
	return ret ? ret : o.got ? 0 : -EPROTO;
}

static void parse_desc(struct nlattr **tb, void *arg)
{
	if (tb[KBROKER_A_VOLUME_KEY_DESC])
		snprintf(arg, KBROKER_VOLUME_KEY_DESC_MAX, "%s",
			 nla_get_string(tb[KBROKER_A_VOLUME_KEY_DESC]));
}

int kbvol_open(struct kbvol_nl *nl, const struct kbvol_info *v,
	       const uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN],
	       char key_desc[KBROKER_VOLUME_KEY_DESC_MAX])
{
	struct nl_msg *msg = new_msg(nl, KBROKER_CMD_VOLUME_OPEN, NLM_F_ACK);
	struct req r = { .parse = parse_desc, .arg = key_desc };

	if (!msg)
		return -ENOMEM;
	key_desc[0] = 0;
	if (nla_put(msg, KBROKER_A_VOLUME_UUID, KBROKER_VOLUME_UUID_LEN,
		    v->uuid) ||
	    nla_put_string(msg, KBROKER_A_VOLUME_LABEL, v->label) ||
	    nla_put_string(msg, KBROKER_A_VOLUME_CIPHER, v->cipher) ||
	    nla_put_string(msg, KBROKER_A_VOLUME_MASTER_KEY, v->master) ||
	    nla_put(msg, KBROKER_A_VOLUME_WRAPPED_KEY,
		    KBROKER_VOLUME_WRAPPED_LEN, blob)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return run(nl, msg, &r);
}

int kbvol_close(struct kbvol_nl *nl, const uint8_t *uuid)
{
	struct nl_msg *msg = new_msg(nl, KBROKER_CMD_VOLUME_CLOSE, NLM_F_ACK);
	struct req r = { 0 };

	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KBROKER_A_VOLUME_UUID, KBROKER_VOLUME_UUID_LEN,
		    uuid)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return run(nl, msg, &r);
}

int kbvol_rewrap(struct kbvol_nl *nl, const uint8_t *uuid, const char *master,
		 const char *new_master,
		 const uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN],
		 uint8_t new_blob[KBROKER_VOLUME_WRAPPED_LEN])
{
	struct nl_msg *msg = new_msg(nl, KBROKER_CMD_VOLUME_REWRAP, NLM_F_ACK);
	struct blob_out o = { .blob = new_blob };
	struct req r = { .parse = parse_blob, .arg = &o };
	int ret;

	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KBROKER_A_VOLUME_UUID, KBROKER_VOLUME_UUID_LEN,
		    uuid) ||
	    nla_put_string(msg, KBROKER_A_VOLUME_MASTER_KEY, master) ||
	    nla_put_string(msg, KBROKER_A_VOLUME_NEW_MASTER_KEY, new_master) ||
	    nla_put(msg, KBROKER_A_VOLUME_WRAPPED_KEY,
		    KBROKER_VOLUME_WRAPPED_LEN, blob)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	ret = run(nl, msg, &r);
	return ret ? ret : o.got ? 0 : -EPROTO;
}

struct list_ctx {
	int (*cb)(const struct kbvol_info *v, void *arg);
	void *arg;
	int stop;
};

static void copy_str(struct nlattr *a, char *out, size_t size)
{
	if (a)
		snprintf(out, size, "%s", nla_get_string(a));
}

static void parse_list(struct nlattr **tb, void *arg)
{
	struct list_ctx *c = arg;
	struct kbvol_info v = { 0 };

	if (c->stop || !tb[KBROKER_A_VOLUME_UUID])
		return;
	memcpy(v.uuid, nla_data(tb[KBROKER_A_VOLUME_UUID]), sizeof(v.uuid));
	copy_str(tb[KBROKER_A_VOLUME_LABEL], v.label, sizeof(v.label));
	copy_str(tb[KBROKER_A_VOLUME_CIPHER], v.cipher, sizeof(v.cipher));
	copy_str(tb[KBROKER_A_VOLUME_MASTER_KEY], v.master, sizeof(v.master));
	copy_str(tb[KBROKER_A_VOLUME_KEY_DESC], v.key_desc,
		 sizeof(v.key_desc));
	if (tb[KBROKER_A_VOLUME_STATE])
		v.state = nla_get_u32(tb[KBROKER_A_VOLUME_STATE]);
	c->stop = c->cb(&v, c->arg);
}

int kbvol_list(struct kbvol_nl *nl,
	       int (*cb)(const struct kbvol_info *v, void *arg), void *arg)
{
	struct nl_msg *msg = new_msg(nl, KBROKER_CMD_VOLUME_LIST, NLM_F_DUMP);
	struct list_ctx c = { .cb = cb, .arg = arg };
	struct req r = { .parse = parse_list, .arg = &c };

	if (!msg)
		return -ENOMEM;
	return run(nl, msg, &r);
}
