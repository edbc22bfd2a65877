// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/kbroker: the operator's view of the module.
 *
 *   version  module version (read-only)
 *   state    ACTIVE or MAINTENANCE (read-only)
 *
 * Documented in Documentation/ABI/testing/sysfs-kernel-kbroker.
 */
#include <linux/kobject.h>
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

static struct kobj_attribute version_attr = __ATTR_RO(version);
static struct kobj_attribute state_attr = __ATTR_RO(state);

static struct attribute *kbroker_attrs[] = {
	&version_attr.attr,
	&state_attr.attr,
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
