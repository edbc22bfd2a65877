// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/kbroker: the operator's view of the module.
 *
 *   version  module version (read-only)
 *   state    ACTIVE or MAINTENANCE (read-only)
 *   in_cluster_tls  encryption between brokers: 1 (default) or 0, written
 *            once, then fixed until the module is loaded again
 *
 * Documented in Documentation/ABI/testing/sysfs-kernel-kbroker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>

#include "kbroker.h"

static struct kobject *kbroker_kobj;

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", KBROKER_MOD_VERSION);
}

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", kbroker_state_name(kbroker_get_state()));
}

/*
 * Encryption within the cluster is chosen when the cluster is created and
 * never changes after (MSK's rule): the first write fixes it, later ones
 * fail with EBUSY until the module is loaded again.
 */
static DEFINE_MUTEX(kbroker_ict_lock);
static bool kbroker_ict = true;
static bool kbroker_ict_fixed;

bool kbroker_in_cluster_tls(void)
{
	return READ_ONCE(kbroker_ict);
}

static ssize_t in_cluster_tls_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", kbroker_in_cluster_tls());
}

static ssize_t in_cluster_tls_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	bool on;
	int ret;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	if (memchr(buf, 0, count) || kstrtobool(buf, &on))
		return -EINVAL;
	mutex_lock(&kbroker_ict_lock);
	if (kbroker_ict_fixed) {
		ret = -EBUSY;
	} else {
		WRITE_ONCE(kbroker_ict, on);
		kbroker_ict_fixed = true;
		ret = count;
	}
	mutex_unlock(&kbroker_ict_lock);
	if (ret > 0)
		pr_info("in_cluster_tls fixed to %d until the module is reloaded\n",
			on);
	return ret;
}

static struct kobj_attribute version_attr = __ATTR_RO(version);
static struct kobj_attribute state_attr = __ATTR_RO(state);
static struct kobj_attribute in_cluster_tls_attr = __ATTR_RW(in_cluster_tls);

static struct attribute *kbroker_attrs[] = {
	&version_attr.attr,
	&state_attr.attr,
	&in_cluster_tls_attr.attr,
	NULL,
};

static const struct attribute_group kbroker_group = {
	.attrs = kbroker_attrs,
};

struct kobject *kbroker_sysfs_kobj(void)
{
	return kbroker_kobj;
}

int kbroker_sysfs_init(void)
{
	int ret;

	kbroker_kobj = kobject_create_and_add("kbroker", kernel_kobj);
	if (!kbroker_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(kbroker_kobj, &kbroker_group);
	if (ret) {
		kobject_put(kbroker_kobj);
		kbroker_kobj = NULL;
	}
	return ret;
}

void kbroker_sysfs_exit(void)
{
	sysfs_remove_group(kbroker_kobj, &kbroker_group);
	kobject_put(kbroker_kobj);
	kbroker_kobj = NULL;
}
