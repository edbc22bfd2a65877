/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbroker.ko internals shared between the module's files.
 */
#ifndef _KBROKER_KMOD_H
#define _KBROKER_KMOD_H

#include <linux/types.h>
#include <net/genetlink.h>
#include <uapi/linux/kbroker.h>

#define KBROKER_MOD_VERSION "0.1.0"

enum kbroker_state kbroker_get_state(void);
const char *kbroker_state_name(enum kbroker_state state);

int kbroker_sysfs_init(void);
void kbroker_sysfs_exit(void);

int kbroker_genl_init(void);
void kbroker_genl_exit(void);

struct kobject;

/* netlink.c: the family, for replies built in other files. */
extern struct genl_family kbroker_genl_family;

/* sysfs.c: /sys/kernel/kbroker, parent of per-object directories. */
struct kobject *kbroker_sysfs_kobj(void);

/* volume.c: per-volume data keys (VOLUME_* commands). */
extern const struct nla_policy kbroker_vol_create_policy[KBROKER_A_MAX + 1];
extern const struct nla_policy kbroker_vol_open_policy[KBROKER_A_MAX + 1];
extern const struct nla_policy kbroker_vol_close_policy[KBROKER_A_MAX + 1];
extern const struct nla_policy kbroker_vol_rewrap_policy[KBROKER_A_MAX + 1];
extern const struct nla_policy kbroker_vol_list_policy[KBROKER_A_MAX + 1];
int kbroker_volume_create(struct sk_buff *skb, struct genl_info *info);
int kbroker_volume_open(struct sk_buff *skb, struct genl_info *info);
int kbroker_volume_close(struct sk_buff *skb, struct genl_info *info);
int kbroker_volume_rewrap(struct sk_buff *skb, struct genl_info *info);
int kbroker_volume_list(struct sk_buff *skb, struct netlink_callback *cb);
int kbroker_volume_init(struct kobject *parent);
void kbroker_volume_exit(void);

#endif /* _KBROKER_KMOD_H */
