// SPDX-License-Identifier: GPL-2.0
/*
 * kbroker.ko: kernel side of kbroker, the encryption of a self-hosted
 * Kafka-protocol broker.  This file holds the module's lifetime and the
 * broker state; sysfs.c and netlink.c are its two interfaces.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
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

static int __init kbroker_init(void)
{
	int ret;

	ret = kbroker_sysfs_init();
	if (ret)
		goto err_sysfs;
	ret = kbroker_volume_init(kbroker_sysfs_kobj());
	if (ret)
		goto err_volume;
	/* Netlink last: once registered, userspace can reach everything. */
	ret = kbroker_genl_init();
	if (ret)
		goto err_genl;

	pr_info("version %s loaded\n", KBROKER_MOD_VERSION);
	return 0;

err_genl:
	kbroker_volume_exit();
err_volume:
	kbroker_sysfs_exit();
err_sysfs:
	return ret;
}

static void __exit kbroker_exit(void)
{
	kbroker_genl_exit();
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
