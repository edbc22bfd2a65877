// SPDX-License-Identifier: GPL-2.0
/*
 * kbroker.ko: kernel side of kbroker, the encryption of a self-hosted
 * Kafka-protocol broker.  This file holds the module's lifetime and the
 * broker state; sysfs.c and netlink.c are its two interfaces.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <net/genetlink.h>

#include "kbroker.h"

static enum kbroker_state kbroker_state = KBROKER_STATE_ACTIVE;

static const char *const kbroker_state_names[] = {
	[KBROKER_STATE_ACTIVE] = "ACTIVE",
	[KBROKER_STATE_MAINTENANCE] = "MAINTENANCE",
};

enum kbroker_state kbroker_get_state(void)
{
	return READ_ONCE(kbroker_state);
}

const char *kbroker_state_name(enum kbroker_state state)
{
	if (state >= __KBROKER_STATE_MAX)
		return "UNKNOWN";
	return kbroker_state_names[state];
}

/*
 * Serialises state changes against update operations: an update checks
 * the state and completes under this mutex, so none runs once SET_STATE
 * MAINTENANCE has returned.  Never held across kobject removal (a sysfs
 * store waiting here would deadlock against it).
 */
static DEFINE_MUTEX(kbroker_update_mutex);

/* Begins an update operation: 0 with the mutex held, or -EBUSY. */
int kbroker_update_begin(void)
{
	mutex_lock(&kbroker_update_mutex);
	if (kbroker_state == KBROKER_STATE_MAINTENANCE) {
		mutex_unlock(&kbroker_update_mutex);
		return -EBUSY;
	}
	return 0;
}

/* The same lock whatever the state: for cleanups that cannot wait. */
void kbroker_update_lock(void)
{
	mutex_lock(&kbroker_update_mutex);
}

void kbroker_update_end(void)
{
	mutex_unlock(&kbroker_update_mutex);
}

/* A multicast event on the "events" group; NULL when out of memory. */
struct sk_buff *kbroker_event_new(u32 type, void **hdr)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);

	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &kbroker_genl_family, 0,
			   KBROKER_CMD_EVENT);
	if (!*hdr || nla_put_u32(skb, KBROKER_A_EVENT_TYPE, type)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

/*
 * Sends and consumes @skb, to the subscribers in @net, or in every network
 * namespace when @net is NULL; nobody listening is not an error.
 */
void kbroker_event_send(struct sk_buff *skb, void *hdr, struct net *net)
{
	genlmsg_end(skb, hdr);
	if (net)
		genlmsg_multicast_netns(&kbroker_genl_family, net, skb, 0, 0,
					GFP_KERNEL);
	else
		genlmsg_multicast_allns(&kbroker_genl_family, skb, 0, 0);
}

const struct nla_policy kbroker_set_state_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_STATE] = NLA_POLICY_MAX(NLA_U32, __KBROKER_STATE_MAX - 1),
};

int kbroker_nl_set_state(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *ev;
	u32 state;
	void *hdr;

	if (GENL_REQ_ATTR_CHECK(info, KBROKER_A_STATE))
		return -EINVAL;
	state = nla_get_u32(info->attrs[KBROKER_A_STATE]);

	mutex_lock(&kbroker_update_mutex);
	if (state == kbroker_state) {
		mutex_unlock(&kbroker_update_mutex);
		return 0;
	}
	WRITE_ONCE(kbroker_state, state);
	pr_info("state %s\n", kbroker_state_name(state));
	/* Sent under the mutex so events arrive in the order of changes. */
	ev = kbroker_event_new(KBROKER_EVENT_STATE, &hdr);
	if (ev && !nla_put_u32(ev, KBROKER_A_STATE, state))
		kbroker_event_send(ev, hdr, NULL);
	else
		nlmsg_free(ev);
	mutex_unlock(&kbroker_update_mutex);
	return 0;
}

static int __init kbroker_init(void)
{
	int ret;

	ret = kbroker_sysfs_init();
	if (ret)
		goto err_sysfs;
	ret = kbroker_volume_init(kbroker_sysfs_kobj());
	if (ret)
		goto err_volume;
	ret = kbroker_listeners_init(kbroker_sysfs_kobj());
	if (ret)
		goto err_listeners;
	ret = kbroker_guard_init();
	if (ret)
		goto err_guard;
	/* Netlink last: once registered, userspace can reach everything. */
	ret = kbroker_genl_init();
	if (ret)
		goto err_genl;

	pr_info("version %s loaded\n", KBROKER_MOD_VERSION);
	return 0;

err_genl:
	kbroker_guard_exit();
err_guard:
	kbroker_listeners_exit();
err_listeners:
	kbroker_volume_exit();
err_volume:
	kbroker_sysfs_exit();
err_sysfs:
	return ret;
}

static void __exit kbroker_exit(void)
{
	kbroker_genl_exit();
	kbroker_guard_exit();
	kbroker_listeners_exit();
	kbroker_volume_exit();
	kbroker_sysfs_exit();
	pr_info("unloaded\n");
}

module_init(kbroker_init);
module_exit(kbroker_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kbroker: kTLS, listener policy and volume keys for Kafka-protocol brokers");
MODULE_VERSION(KBROKER_MOD_VERSION);
MODULE_ALIAS_GENL_FAMILY(KBROKER_GENL_NAME);
