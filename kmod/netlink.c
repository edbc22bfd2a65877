// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "kbroker": how kbrokerd and kbrokerctl talk to the
 * module.  Every op is admin-only (CAP_NET_ADMIN in the initial user
 * namespace: listener names, listener slots, the state and volume keys are
 * host-wide) and every op has its own strict policy;
 * the commands and attributes are documented in
 * include/uapi/linux/kbroker.h and Documentation/netlink/kbroker.rst.
 */
#include <net/genetlink.h>

#include "kbroker.h"

/* GET_STATUS takes no attributes: an empty strict policy refuses any. */
static const struct nla_policy kbroker_get_status_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_VERSION] = { .type = NLA_REJECT },
	[KBROKER_A_STATE] = { .type = NLA_REJECT },
};

static int kbroker_get_status(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kbroker_genl_family, 0,
				KBROKER_CMD_GET_STATUS);
	if (!hdr)
		goto err_free;
	if (nla_put_string(msg, KBROKER_A_VERSION, KBROKER_MOD_VERSION) ||
	    nla_put_u32(msg, KBROKER_A_STATE, kbroker_get_state()))
		goto err_cancel;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_cancel:
	genlmsg_cancel(msg, hdr);
err_free:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static const struct genl_ops kbroker_genl_ops[] = {
	{
		.cmd = KBROKER_CMD_GET_STATUS,
		.doit = kbroker_get_status,
		.policy = kbroker_get_status_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_SET_STATE,
		.doit = kbroker_nl_set_state,
		.policy = kbroker_set_state_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_LISTENER_ADD,
		.doit = kbroker_nl_listener_add,
		.policy = kbroker_listener_add_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_LISTENER_DEL,
		.doit = kbroker_nl_listener_del,
		.policy = kbroker_listener_del_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_LISTENER_GET,
		.doit = kbroker_nl_listener_get,
		.dumpit = kbroker_nl_listener_dump,
		.policy = kbroker_listener_get_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_LISTENER_SET,
		.doit = kbroker_nl_listener_set,
		.policy = kbroker_listener_set_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_SOCK_ATTACH,
		.doit = kbroker_nl_sock_attach,
		.policy = kbroker_sock_attach_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_VOLUME_CREATE,
		.doit = kbroker_volume_create,
		.policy = kbroker_vol_create_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_VOLUME_OPEN,
		.doit = kbroker_volume_open,
		.policy = kbroker_vol_open_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_VOLUME_CLOSE,
		.doit = kbroker_volume_close,
		.policy = kbroker_vol_close_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_VOLUME_REWRAP,
		.doit = kbroker_volume_rewrap,
		.policy = kbroker_vol_rewrap_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KBROKER_CMD_VOLUME_LIST,
		.dumpit = kbroker_volume_list,
		.policy = kbroker_vol_list_policy,
		.maxattr = KBROKER_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

/* Subscribing to events needs CAP_NET_ADMIN too. */
static const struct genl_multicast_group kbroker_genl_mcgrps[] = {
	{ .name = KBROKER_GENL_MCGRP_EVENTS, .flags = GENL_ADMIN_PERM },
};

struct genl_family kbroker_genl_family __ro_after_init = {
	.name = KBROKER_GENL_NAME,
	.version = KBROKER_GENL_VERSION,
	.module = THIS_MODULE,
	/* Listeners are per netns; state and volumes are host-wide. */
	.netnsok = true,
	.ops = kbroker_genl_ops,
	.n_ops = ARRAY_SIZE(kbroker_genl_ops),
	.mcgrps = kbroker_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kbroker_genl_mcgrps),
	.resv_start_op = KBROKER_CMD_MAX + 1,
};

int __init kbroker_genl_init(void)
{
	return genl_register_family(&kbroker_genl_family);
}

void kbroker_genl_exit(void)
{
	genl_unregister_family(&kbroker_genl_family);
}
