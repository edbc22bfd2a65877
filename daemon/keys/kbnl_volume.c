// SPDX-License-Identifier: GPL-2.0
/*
 * VOLUME_* requests, sent through kbnl's request machinery.  Errors come
 * back as the kernel's own errno (an error callback, not libnl's mapping,
 * which would turn -EKEYREJECTED into a generic failure).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "keys/kbnl.h"
#include "keys/kbnl_req.h"
#include "keys/kbnl_volume.h"

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

int kbvol_create(struct kbnl *nl, const uint8_t *uuid, const char *master,
		 uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN])
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_VOLUME_CREATE, NLM_F_ACK);
	struct blob_out o = { .blob = blob };
	struct kbnl_req r = { .parse = parse_blob, .arg = &o, .policy = vol_policy };
	int ret;

	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KBROKER_A_VOLUME_UUID, KBROKER_VOLUME_UUID_LEN, uuid) ||
	    nla_put_string(msg, KBROKER_A_VOLUME_MASTER_KEY, master)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	ret = kbnl_request(nl, msg, &r);
	return ret ? ret : o.got ? 0 : -EPROTO;
}

static void parse_desc(struct nlattr **tb, void *arg)
{
	if (tb[KBROKER_A_VOLUME_KEY_DESC])
		snprintf(arg, KBROKER_VOLUME_KEY_DESC_MAX, "%s",
			 nla_get_string(tb[KBROKER_A_VOLUME_KEY_DESC]));
}

int kbvol_open(struct kbnl *nl, const struct kbvol_info *v,
	       const uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN],
	       char key_desc[KBROKER_VOLUME_KEY_DESC_MAX])
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_VOLUME_OPEN, NLM_F_ACK);
	struct kbnl_req r = { .parse = parse_desc, .arg = key_desc, .policy = vol_policy };

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
	return kbnl_request(nl, msg, &r);
}

int kbvol_close(struct kbnl *nl, const uint8_t *uuid)
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_VOLUME_CLOSE, NLM_F_ACK);
	struct kbnl_req r = { .policy = vol_policy };

	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KBROKER_A_VOLUME_UUID, KBROKER_VOLUME_UUID_LEN,
		    uuid)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return kbnl_request(nl, msg, &r);
}

int kbvol_rewrap(struct kbnl *nl, const uint8_t *uuid, const char *master,
		 const char *new_master,
		 const uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN],
		 uint8_t new_blob[KBROKER_VOLUME_WRAPPED_LEN])
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_VOLUME_REWRAP, NLM_F_ACK);
	struct blob_out o = { .blob = new_blob };
	struct kbnl_req r = { .parse = parse_blob, .arg = &o, .policy = vol_policy };
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
	ret = kbnl_request(nl, msg, &r);
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

int kbvol_list(struct kbnl *nl,
	       int (*cb)(const struct kbvol_info *v, void *arg), void *arg)
{
	struct nl_msg *msg = kbnl_msg_new(nl, KBROKER_CMD_VOLUME_LIST, NLM_F_DUMP);
	struct list_ctx c = { .cb = cb, .arg = arg };
	struct kbnl_req r = { .parse = parse_list, .arg = &c, .policy = vol_policy };

	if (!msg)
		return -ENOMEM;
	return kbnl_request(nl, msg, &r);
}
