/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbroker.ko internals shared between the module's files.
 */
#ifndef _KBROKER_KMOD_H
#define _KBROKER_KMOD_H

#include <linux/types.h>
#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/atomic.h>
#include <linux/list.h>
#include <net/genetlink.h>
#include <uapi/linux/kbroker.h>

#define KBROKER_MOD_VERSION "0.1.0"

enum kbroker_state kbroker_get_state(void);
const char *kbroker_state_name(enum kbroker_state state);

int kbroker_sysfs_init(void);
void kbroker_sysfs_exit(void);

int kbroker_genl_init(void);
void kbroker_genl_exit(void);

/* main.c: the maintenance window and events. */
int kbroker_update_begin(void);
void kbroker_update_lock(void);
void kbroker_update_end(void);
struct sk_buff *kbroker_event_new(u32 type, void **hdr);
void kbroker_event_send(struct sk_buff *skb, void *hdr, struct net *net);
extern const struct nla_policy kbroker_set_state_policy[];
int kbroker_nl_set_state(struct sk_buff *skb, struct genl_info *info);

/*
 * listener.c: listeners, their policy and counters.  A listener belongs to
 * the network namespace that registered it and is found by (netns, port)
 * by the hooks; its name is unique host-wide (it names a sysfs directory).
 */
struct kbroker_listener {
	struct kobject kobj;
	struct list_head node;		/* kbroker_listeners, RCU */
	struct list_head gone;		/* being removed with its netns */
	struct rcu_head rcu;
	possible_net_t net;		/* no reference: netns exit deletes */
	u16 port;
	u32 policy;			/* enum kbroker_policy */
	bool ktls_required;		/* app data only through kTLS */
	bool dead;			/* deleted, under kbroker_update_begin */
	unsigned long adopt_until;	/* jiffies: see kbroker_guard_adopt */
	atomic64_t counters[__KBROKER_COUNTER_MAX];
	char name[KBROKER_LISTENER_NAME_MAX + 1];
};

int kbroker_listeners_init(struct kobject *parent);
void kbroker_listeners_exit(void);
struct kbroker_listener *kbroker_listener_by_port(const struct net *net,
						  u16 port);
struct kbroker_listener *kbroker_listener_get(const struct net *net,
					      const char *name);
void kbroker_listener_put(struct kbroker_listener *l);

static inline void kbroker_count(struct kbroker_listener *l,
				 enum kbroker_counter c)
{
	atomic64_inc(&l->counters[c]);
}

extern const struct nla_policy kbroker_listener_add_policy[];
extern const struct nla_policy kbroker_listener_del_policy[];
extern const struct nla_policy kbroker_listener_get_policy[];
int kbroker_nl_listener_add(struct sk_buff *skb, struct genl_info *info);
int kbroker_nl_listener_del(struct sk_buff *skb, struct genl_info *info);
int kbroker_nl_listener_get(struct sk_buff *skb, struct genl_info *info);
int kbroker_nl_listener_dump(struct sk_buff *skb, struct netlink_callback *cb);
extern const struct nla_policy kbroker_listener_set_policy[];
int kbroker_nl_listener_set(struct sk_buff *skb, struct genl_info *info);

/* sock.c: SOCK_ATTACH. */
extern const struct nla_policy kbroker_sock_attach_policy[];
int kbroker_nl_sock_attach(struct sk_buff *skb, struct genl_info *info);

/* guard.c: the policy enforced on the wire. */
int kbroker_guard_init(void);
void kbroker_guard_exit(void);
void kbroker_guard_flush(struct kbroker_listener *l);
struct sock;
/* Tracks an established @sk the guard never saw start; socket locked. */
int kbroker_guard_adopt(struct sock *sk, struct kbroker_listener *l,
			u32 found, struct netlink_ext_ack *extack);
/* Tracks a connected @sk the broker opened, before its first byte. */
int kbroker_guard_outbound(struct sock *sk, struct kbroker_listener *l,
			   u32 found, struct netlink_ext_ack *extack);
/* How long a new listener lets its untracked live connections be. */
#define KBROKER_ADOPT_WINDOW	(5 * HZ)

struct kobject;

/* netlink.c: the family, for replies built in other files. */
extern struct genl_family kbroker_genl_family;

/* sysfs.c: /sys/kernel/kbroker, parent of per-object directories. */
struct kobject *kbroker_sysfs_kobj(void);
bool kbroker_in_cluster_tls(void);

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
