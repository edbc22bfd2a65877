// SPDX-License-Identifier: GPL-2.0
/*
 * Listeners: the broker's TCP ports and the policy the module enforces on
 * each (guard.c).  kbrokerd registers them over netlink; the operator sees
 * and changes them in /sys/kernel/kbroker/listeners/<name>/.
 *
 * A listener is a kobject: its memory lives until the last open sysfs file
 * and the last RCU reader are gone.  The list is changed under the update
 * mutex (main.c) and read under RCU by the netfilter hooks.
 *
 * A listener belongs to the network namespace of the process that added
 * it: the hooks act on it only there, netlink shows it only there, and it
 * is deleted with the namespace.  Its policy changes through one function,
 * kbroker_listener_set(), for sysfs and netlink alike: CAP_NET_ADMIN over
 * the listener's namespace, refused in MAINTENANCE.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "kbroker.h"

static LIST_HEAD(kbroker_listeners);
static unsigned int kbroker_listener_count;
static struct kset *kbroker_listeners_kset;

static const char *const kbroker_policy_names[] = {
	[KBROKER_POLICY_TLS] = "tls",
	[KBROKER_POLICY_TLS_PLAINTEXT] = "tls_plaintext",
	[KBROKER_POLICY_PLAINTEXT] = "plaintext",
};

static struct kbroker_listener *to_listener(struct kobject *kobj)
{
	return container_of(kobj, struct kbroker_listener, kobj);
}

static struct net *kbroker_listener_net(const struct kbroker_listener *l)
{
	return read_pnet(&l->net);
}

/* Under RCU (the hooks) or the update mutex. */
struct kbroker_listener *kbroker_listener_by_port(const struct net *net,
						  u16 port)
{
	struct kbroker_listener *l;

	list_for_each_entry_rcu(l, &kbroker_listeners, node, true)
		if (l->port == port && net_eq(kbroker_listener_net(l), net))
			return l;
	return NULL;
}

static struct kbroker_listener *kbroker_listener_find(const char *name)
{
	struct kbroker_listener *l;

	list_for_each_entry_rcu(l, &kbroker_listeners, node, true)
		if (!strcmp(l->name, name))
			return l;
	return NULL;
}

/* A reference to the listener called @name in @net, or NULL. */
struct kbroker_listener *kbroker_listener_get(const struct net *net,
					      const char *name)
{
	struct kbroker_listener *l;

	rcu_read_lock();
	l = kbroker_listener_find(name);
	if (l && (!net_eq(kbroker_listener_net(l), net) ||
		  !kobject_get_unless_zero(&l->kobj)))
		l = NULL;
	rcu_read_unlock();
	return l;
}

void kbroker_listener_put(struct kbroker_listener *l)
{
	kobject_put(&l->kobj);
}

static bool kbroker_listener_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len > KBROKER_LISTENER_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

/* Multicasts a policy change; the daemon closes what it now forbids. */
static void kbroker_listener_event(struct kbroker_listener *l, u32 policy)
{
	struct sk_buff *ev;
	void *hdr;

	ev = kbroker_event_new(KBROKER_EVENT_POLICY, &hdr);
	if (!ev)
		return;
	if (nla_put_string(ev, KBROKER_A_LISTENER_NAME, l->name) ||
	    nla_put_u32(ev, KBROKER_A_LISTENER_POLICY, policy)) {
		nlmsg_free(ev);
		return;
	}
	kbroker_event_send(ev, hdr, kbroker_listener_net(l));
}

/*
 * The one place a listener's policy changes, from sysfs or netlink.
 * @admin: the caller has CAP_NET_ADMIN over the listener's namespace,
 * as each interface checks it.  0 or -EPERM, -EBUSY, -ENODEV.
 */
static int kbroker_listener_set(struct kbroker_listener *l, int policy,
				int ktls_required, bool admin)
{
	int ret;

	if (!admin)
		return -EPERM;
	ret = kbroker_update_begin();
	if (ret)
		return ret;
	if (l->dead) {
		ret = -ENODEV;
	} else if (policy >= 0 && l->policy != policy) {
		/* The hooks read it per segment: effective at once. */
		WRITE_ONCE(l->policy, policy);
		pr_info("listener %s: policy %s\n", l->name,
			kbroker_policy_names[policy]);
		kbroker_listener_event(l, policy);
	}
	if (!ret && ktls_required >= 0 && l->ktls_required != ktls_required) {
		WRITE_ONCE(l->ktls_required, ktls_required);
		pr_info("listener %s: ktls_required %d\n", l->name,
			ktls_required);
	}
	kbroker_update_end();
	return ret;
}

/* sysfs writers: CAP_NET_ADMIN in the user namespace owning the netns. */
static bool kbroker_listener_sysfs_admin(struct kbroker_listener *l)
{
	return ns_capable(kbroker_listener_net(l)->user_ns, CAP_NET_ADMIN);
}

/* sysfs: listeners/<name>/{port,policy,counters...} */

static ssize_t port_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%u\n", to_listener(kobj)->port);
}

static ssize_t policy_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	u32 policy = READ_ONCE(to_listener(kobj)->policy);

	return sysfs_emit(buf, "%s\n", kbroker_policy_names[policy]);
}

static ssize_t policy_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	struct kbroker_listener *l = to_listener(kobj);
	int policy, ret;

	/* sysfs_streq: one trailing newline allowed; no hidden NUL either. */
	if (memchr(buf, 0, count))
		return -EINVAL;
	policy = sysfs_match_string(kbroker_policy_names, buf);
	if (policy < 0)
		return -EINVAL;
	ret = kbroker_listener_set(l, policy, -1,
				   kbroker_listener_sysfs_admin(l));
	return ret ? ret : count;
}

static ssize_t ktls_required_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  READ_ONCE(to_listener(kobj)->ktls_required));
}

static ssize_t ktls_required_store(struct kobject *kobj,
				   struct kobj_attribute *attr,
				   const char *buf, size_t count)
{
	struct kbroker_listener *l = to_listener(kobj);
	bool on;
	int ret;

	if (memchr(buf, 0, count) || kstrtobool(buf, &on))
		return -EINVAL;
	ret = kbroker_listener_set(l, -1, on,
				   kbroker_listener_sysfs_admin(l));
	return ret ? ret : count;
}

/* The namespace's inode number, as in /proc/PID/ns/net. */
static ssize_t netns_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  kbroker_listener_net(to_listener(kobj))->ns.inum);
}

#define KBROKER_COUNTER_ATTR(_name, _counter)				\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n", (long long)			\
		atomic64_read(&to_listener(kobj)->counters[_counter]));	\
}									\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

KBROKER_COUNTER_ATTR(connections, KBROKER_COUNTER_CONNECTIONS);
KBROKER_COUNTER_ATTR(tls, KBROKER_COUNTER_TLS);
KBROKER_COUNTER_ATTR(plaintext, KBROKER_COUNTER_PLAINTEXT);
KBROKER_COUNTER_ATTR(ktls_tx, KBROKER_COUNTER_KTLS_TX);
KBROKER_COUNTER_ATTR(ktls_rx, KBROKER_COUNTER_KTLS_RX);
KBROKER_COUNTER_ATTR(userspace_tls, KBROKER_COUNTER_USERSPACE_TLS);
KBROKER_COUNTER_ATTR(rejected, KBROKER_COUNTER_REJECTED);
KBROKER_COUNTER_ATTR(tracked, KBROKER_COUNTER_TRACKED);
KBROKER_COUNTER_ATTR(adopted, KBROKER_COUNTER_ADOPTED);
KBROKER_COUNTER_ATTR(outbound, KBROKER_COUNTER_OUTBOUND);
KBROKER_COUNTER_ATTR(outbound_rejected, KBROKER_COUNTER_OUTBOUND_REJECTED);
KBROKER_COUNTER_ATTR(outbound_ktls_tx, KBROKER_COUNTER_OUTBOUND_KTLS_TX);
KBROKER_COUNTER_ATTR(outbound_ktls_rx, KBROKER_COUNTER_OUTBOUND_KTLS_RX);

static struct kobj_attribute port_attr = __ATTR_RO(port);
static struct kobj_attribute policy_attr = __ATTR_RW(policy);
static struct kobj_attribute netns_attr = __ATTR_RO(netns);
static struct kobj_attribute ktls_required_attr = __ATTR_RW(ktls_required);

static struct attribute *kbroker_listener_attrs[] = {
	&port_attr.attr,
	&netns_attr.attr,
	&ktls_required_attr.attr,
	&policy_attr.attr,
	&connections_attr.attr,
	&tls_attr.attr,
	&plaintext_attr.attr,
	&ktls_tx_attr.attr,
	&ktls_rx_attr.attr,
	&userspace_tls_attr.attr,
	&rejected_attr.attr,
	&tracked_attr.attr,
	&adopted_attr.attr,
	&outbound_attr.attr,
	&outbound_rejected_attr.attr,
	&outbound_ktls_tx_attr.attr,
	&outbound_ktls_rx_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kbroker_listener);

static void kbroker_listener_release(struct kobject *kobj)
{
	struct kbroker_listener *l = to_listener(kobj);

	/* The hooks may still hold a pointer from before the unlink. */
	kfree_rcu(l, rcu);
}

static const struct kobj_type kbroker_listener_ktype = {
	.release = kbroker_listener_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kbroker_listener_groups,
};

/* Netlink */

const struct nla_policy kbroker_listener_add_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_LISTENER_NAME] = { .type = NLA_NUL_STRING,
				      .len = KBROKER_LISTENER_NAME_MAX },
	[KBROKER_A_LISTENER_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[KBROKER_A_LISTENER_POLICY] =
		NLA_POLICY_MAX(NLA_U32, __KBROKER_POLICY_MAX - 1),
	[KBROKER_A_LISTENER_KTLS_REQUIRED] = NLA_POLICY_MAX(NLA_U8, 1),
};

const struct nla_policy kbroker_listener_del_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_LISTENER_NAME] = { .type = NLA_NUL_STRING,
				      .len = KBROKER_LISTENER_NAME_MAX },
};

const struct nla_policy kbroker_listener_get_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_LISTENER_NAME] = { .type = NLA_NUL_STRING,
				      .len = KBROKER_LISTENER_NAME_MAX },
};

const struct nla_policy kbroker_listener_set_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_LISTENER_NAME] = { .type = NLA_NUL_STRING,
				      .len = KBROKER_LISTENER_NAME_MAX },
	[KBROKER_A_LISTENER_POLICY] =
		NLA_POLICY_MAX(NLA_U32, __KBROKER_POLICY_MAX - 1),
	[KBROKER_A_LISTENER_KTLS_REQUIRED] = NLA_POLICY_MAX(NLA_U8, 1),
};

/* The listener named in the request, validated; NULL after an extack. */
static const char *kbroker_req_name(struct genl_info *info)
{
	struct nlattr *a = info->attrs[KBROKER_A_LISTENER_NAME];

	if (GENL_REQ_ATTR_CHECK(info, KBROKER_A_LISTENER_NAME))
		return NULL;
	if (!kbroker_listener_name_ok(nla_data(a))) {
		NL_SET_ERR_MSG_ATTR(info->extack, a,
				    "listener name must be [A-Za-z0-9_-], 1 to 32 bytes");
		return NULL;
	}
	return nla_data(a);
}

int kbroker_nl_listener_add(struct sk_buff *skb, struct genl_info *info)
{
	struct kbroker_listener *l;
	const char *name;
	u16 port;
	int ret;

	name = kbroker_req_name(info);
	if (!name || GENL_REQ_ATTR_CHECK(info, KBROKER_A_LISTENER_PORT))
		return -EINVAL;
	port = nla_get_u16(info->attrs[KBROKER_A_LISTENER_PORT]);

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	strscpy(l->name, name, sizeof(l->name));
	write_pnet(&l->net, genl_info_net(info));
	l->port = port;
	l->adopt_until = jiffies + KBROKER_ADOPT_WINDOW;
	if (info->attrs[KBROKER_A_LISTENER_POLICY])
		l->policy = nla_get_u32(info->attrs[KBROKER_A_LISTENER_POLICY]);
	/* On by default where the kernel has TLS to offload to. */
	l->ktls_required = IS_ENABLED(CONFIG_TLS);
	if (info->attrs[KBROKER_A_LISTENER_KTLS_REQUIRED])
		l->ktls_required =
			nla_get_u8(info->attrs[KBROKER_A_LISTENER_KTLS_REQUIRED]);
	kobject_init(&l->kobj, &kbroker_listener_ktype);
	l->kobj.kset = kbroker_listeners_kset;

	ret = kbroker_update_begin();
	if (ret)
		goto err_put;
	if (kbroker_listener_find(name)) {
		NL_SET_ERR_MSG(info->extack, "listener name taken");
		ret = -EEXIST;
		goto err_unlock;
	}
	if (kbroker_listener_by_port(genl_info_net(info), port)) {
		NL_SET_ERR_MSG(info->extack,
			       "port taken by another listener in this netns");
		ret = -EADDRINUSE;
		goto err_unlock;
	}
	if (kbroker_listener_count >= KBROKER_LISTENERS_MAX) {
		NL_SET_ERR_MSG(info->extack, "too many listeners");
		ret = -ENOSPC;
		goto err_unlock;
	}
	ret = kobject_add(&l->kobj, NULL, "%s", l->name);
	if (ret)
		goto err_unlock;
	list_add_tail_rcu(&l->node, &kbroker_listeners);
	kbroker_listener_count++;
	kbroker_update_end();
	pr_info("listener %s: port %u policy %s\n", l->name, port,
		kbroker_policy_names[l->policy]);
	return 0;

err_unlock:
	kbroker_update_end();
err_put:
	kobject_put(&l->kobj);
	return ret;
}

/* Called with the listener unlinked under the update mutex. */
static void kbroker_listener_destroy(struct kbroker_listener *l)
{
	/* No hook still sees it by port, then none holds its connections. */
	synchronize_rcu();
	kbroker_guard_flush(l);
	kobject_del(&l->kobj);
	kobject_put(&l->kobj);
}

int kbroker_nl_listener_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kbroker_listener *l;
	const char *name;
	int ret;

	name = kbroker_req_name(info);
	if (!name)
		return -EINVAL;
	ret = kbroker_update_begin();
	if (ret)
		return ret;
	l = kbroker_listener_find(name);
	if (!l || !net_eq(kbroker_listener_net(l), genl_info_net(info))) {
		kbroker_update_end();
		return -ENOENT;
	}
	l->dead = true;
	list_del_rcu(&l->node);
	kbroker_listener_count--;
	kbroker_update_end();
	/* Outside the mutex: kobject_del waits for running sysfs stores. */
	kbroker_listener_destroy(l);
	return 0;
}

static int kbroker_listener_fill(struct sk_buff *msg,
				 struct kbroker_listener *l)
{
	struct nlattr *nest;
	int i;

	if (nla_put_string(msg, KBROKER_A_LISTENER_NAME, l->name) ||
	    nla_put_u16(msg, KBROKER_A_LISTENER_PORT, l->port) ||
	    nla_put_u32(msg, KBROKER_A_LISTENER_POLICY, READ_ONCE(l->policy)) ||
	    nla_put_u8(msg, KBROKER_A_LISTENER_KTLS_REQUIRED,
		       READ_ONCE(l->ktls_required)))
		return -EMSGSIZE;
	nest = nla_nest_start(msg, KBROKER_A_LISTENER_COUNTERS);
	if (!nest)
		return -EMSGSIZE;
	for (i = KBROKER_COUNTER_CONNECTIONS; i <= KBROKER_COUNTER_MAX; i++)
		if (nla_put_u64_64bit(msg, i, atomic64_read(&l->counters[i]),
				      KBROKER_COUNTER_PAD))
			return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

int kbroker_nl_listener_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kbroker_listener *l;
	const char *name;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	name = kbroker_req_name(info);
	if (!name)
		return -EINVAL;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	l = kbroker_listener_get(genl_info_net(info), name);
	if (!l) {
		ret = -ENOENT;
		goto err_free;
	}
	hdr = genlmsg_put_reply(msg, info, &kbroker_genl_family, 0,
				KBROKER_CMD_LISTENER_GET);
	ret = -EMSGSIZE;
	if (!hdr || kbroker_listener_fill(msg, l))
		goto err_put;
	kbroker_listener_put(l);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_put:
	kbroker_listener_put(l);
err_free:
	nlmsg_free(msg);
	return ret;
}

int kbroker_nl_listener_set(struct sk_buff *skb, struct genl_info *info)
{
	struct kbroker_listener *l;
	const char *name;
	int policy = -1, ktls = -1;
	int ret;

	name = kbroker_req_name(info);
	if (!name)
		return -EINVAL;
	if (info->attrs[KBROKER_A_LISTENER_POLICY])
		policy = nla_get_u32(info->attrs[KBROKER_A_LISTENER_POLICY]);
	if (info->attrs[KBROKER_A_LISTENER_KTLS_REQUIRED])
		ktls = nla_get_u8(info->attrs[KBROKER_A_LISTENER_KTLS_REQUIRED]);
	l = kbroker_listener_get(genl_info_net(info), name);
	if (!l)
		return -ENOENT;
	ret = kbroker_listener_set(l, policy, ktls,
				   netlink_ns_capable(skb,
						      genl_info_net(info)->user_ns,
						      CAP_NET_ADMIN));
	kbroker_listener_put(l);
	return ret;
}

/*
 * The caller's namespace's listeners.  cb->args[0]: list entries already
 * walked; a delete between parts may skip one.
 */
int kbroker_nl_listener_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(cb->skb->sk);
	struct kbroker_listener *l;
	long idx = 0;
	void *hdr;

	rcu_read_lock();
	list_for_each_entry_rcu(l, &kbroker_listeners, node) {
		if (idx++ < cb->args[0])
			continue;
		if (!net_eq(kbroker_listener_net(l), net)) {
			cb->args[0] = idx;
			continue;
		}
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &kbroker_genl_family,
				  NLM_F_MULTI, KBROKER_CMD_LISTENER_GET);
		if (!hdr)
			break;
		if (kbroker_listener_fill(skb, l)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = idx;
	}
	rcu_read_unlock();
	return skb->len;
}

/*
 * Deletes @net's listeners (every listener when @net is NULL), whatever
 * the state: the namespace or the module is going away.
 */
static void kbroker_listeners_remove(struct net *net)
{
	struct kbroker_listener *l, *tmp;
	LIST_HEAD(gone);

	kbroker_update_lock();
	list_for_each_entry_safe(l, tmp, &kbroker_listeners, node) {
		if (net && !net_eq(kbroker_listener_net(l), net))
			continue;
		l->dead = true;
		list_del_rcu(&l->node);
		kbroker_listener_count--;
		/* RCU readers may still walk through node. */
		list_add(&l->gone, &gone);
	}
	kbroker_update_end();
	list_for_each_entry_safe(l, tmp, &gone, gone) {
		list_del(&l->gone);
		if (net)
			pr_info("listener %s: its network namespace is gone\n",
				l->name);
		kbroker_listener_destroy(l);
	}
}

static void __net_exit kbroker_listeners_net_exit(struct net *net)
{
	kbroker_listeners_remove(net);
}

static struct pernet_operations kbroker_listeners_net_ops = {
	.exit = kbroker_listeners_net_exit,
};

int kbroker_listeners_init(struct kobject *parent)
{
	int ret;

	kbroker_listeners_kset = kset_create_and_add("listeners", NULL, parent);
	if (!kbroker_listeners_kset)
		return -ENOMEM;
	ret = register_pernet_subsys(&kbroker_listeners_net_ops);
	if (ret)
		kset_unregister(kbroker_listeners_kset);
	return ret;
}

/* Module exit: netlink is gone, nothing adds or deletes any more. */
void kbroker_listeners_exit(void)
{
	/* First: unregistering runs the netns exit for every namespace. */
	kbroker_listeners_remove(NULL);
	unregister_pernet_subsys(&kbroker_listeners_net_ops);
	kset_unregister(kbroker_listeners_kset);
	/* kfree_rcu callbacks need no module code, but be tidy. */
	rcu_barrier();
}
