// SPDX-License-Identifier: GPL-2.0
/*
 * SOCK_ATTACH: kbrokerd hands over an accepted connection's fd and says
 * how it serves it; the module checks in the socket itself whether kernel
 * TLS really carries the records before counting the connection as
 * offloaded.  A connection the guard has no entry for (it began while the
 * module was not loaded) is adopted into it.  No reference to the socket
 * outlives the call.
 */
#include <linux/net.h>
#include <linux/file.h>
#include <net/genetlink.h>
#include <net/inet_connection_sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "kbroker.h"

const struct nla_policy kbroker_sock_attach_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_SOCK_FD] = { .type = NLA_U32 },
	[KBROKER_A_LISTENER_NAME] = { .type = NLA_NUL_STRING,
				      .len = KBROKER_LISTENER_NAME_MAX },
	[KBROKER_A_SOCK_FLAGS] = NLA_POLICY_MASK(NLA_U32,
						 KBROKER_SOCK_TLS |
						 KBROKER_SOCK_PLAINTEXT |
						 KBROKER_SOCK_USERSPACE_TLS |
						 KBROKER_SOCK_KTLS_RX |
						 KBROKER_SOCK_OUTBOUND),
};

static bool kbroker_tls_conf_offloaded(u8 conf)
{
	return conf == TLS_SW || conf == TLS_HW;
}

/*
 * What carries @sk's records: KBROKER_SOCK_KTLS_TX/_RX when the "tls" ULP
 * is installed with a TX/RX configuration.  Caller holds the socket lock,
 * which keeps the ULP and its context in place.
 */
static u32 kbroker_sock_ktls(struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	struct tls_context *ctx;
	u32 found = 0;

	if (!icsk->icsk_ulp_ops || strcmp(icsk->icsk_ulp_ops->name, "tls"))
		return 0;
	ctx = tls_get_ctx(sk);
	if (!ctx)
		return 0;
	if (kbroker_tls_conf_offloaded(ctx->tx_conf))
		found |= KBROKER_SOCK_KTLS_TX;
	if (kbroker_tls_conf_offloaded(ctx->rx_conf))
		found |= KBROKER_SOCK_KTLS_RX;
	return found;
}

/* Checks @sock against @l; fills *@found; 0 or an errno with an extack. */
static int kbroker_sock_check(struct socket *sock, struct kbroker_listener *l,
			      u32 flags, u32 *found, struct genl_info *info)
{
	struct sock *sk = sock->sk;
	int ret = 0;

	if (!sk || sk->sk_type != SOCK_STREAM ||
	    sk->sk_protocol != IPPROTO_TCP ||
	    (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)) {
		NL_SET_ERR_MSG(info->extack, "not a TCP socket");
		return -EPROTOTYPE;
	}
	lock_sock(sk);
	if (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSE_WAIT) {
		NL_SET_ERR_MSG(info->extack, "socket not connected");
		ret = -ENOTCONN;
	} else if (!net_eq(sock_net(sk), read_pnet(&l->net)) ||
		   (!(flags & KBROKER_SOCK_OUTBOUND) &&
		    inet_sk(sk)->inet_num != l->port)) {
		NL_SET_ERR_MSG(info->extack,
			       "socket's local port or netns is not the listener's");
		ret = -EADDRNOTAVAIL;
	} else if ((flags & KBROKER_SOCK_OUTBOUND) &&
		   inet_sk(sk)->inet_num == l->port) {
		NL_SET_ERR_MSG(info->extack,
			       "an outbound socket's local port is its own, not the listener's");
		ret = -EADDRNOTAVAIL;
	} else if (flags & KBROKER_SOCK_TLS) {
		*found = kbroker_sock_ktls(sk);
		if (!(flags & KBROKER_SOCK_KTLS_RX))
			*found &= ~KBROKER_SOCK_KTLS_RX;
		if (!(*found & KBROKER_SOCK_KTLS_TX))
			*found = KBROKER_SOCK_USERSPACE_TLS;
	} else {
		*found = KBROKER_SOCK_PLAINTEXT;
	}
	/* One the guard never saw start (the module came back): adopt it. */
	if (!ret && (flags & KBROKER_SOCK_OUTBOUND))
		ret = kbroker_guard_outbound(sk, l, *found, info->extack);
	else if (!ret)
		ret = kbroker_guard_adopt(sk, l, *found, info->extack);
	release_sock(sk);
	return ret;
}

int kbroker_nl_sock_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct kbroker_listener *l;
	struct socket *sock;
	struct sk_buff *msg;
	u32 flags, found = 0;
	void *hdr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KBROKER_A_SOCK_FD) ||
	    GENL_REQ_ATTR_CHECK(info, KBROKER_A_LISTENER_NAME) ||
	    GENL_REQ_ATTR_CHECK(info, KBROKER_A_SOCK_FLAGS))
		return -EINVAL;
	flags = nla_get_u32(info->attrs[KBROKER_A_SOCK_FLAGS]);
	/* USERSPACE_TLS: TLS the daemon did not offload; checked all the same. */
	if (flags & KBROKER_SOCK_USERSPACE_TLS)
		flags = (flags & ~KBROKER_SOCK_USERSPACE_TLS) | KBROKER_SOCK_TLS;
	if (!(flags & KBROKER_SOCK_TLS) == !(flags & KBROKER_SOCK_PLAINTEXT) ||
	    ((flags & KBROKER_SOCK_KTLS_RX) && !(flags & KBROKER_SOCK_TLS))) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[KBROKER_A_SOCK_FLAGS],
				    "exactly one of TLS, PLAINTEXT; KTLS_RX only with TLS");
		return -EINVAL;
	}

	l = kbroker_listener_get(genl_info_net(info),
				 nla_data(info->attrs[KBROKER_A_LISTENER_NAME]));
	if (!l) {
		NL_SET_ERR_MSG(info->extack, "no such listener");
		return -ENOENT;
	}
	if ((flags & KBROKER_SOCK_PLAINTEXT) &&
	    READ_ONCE(l->policy) == KBROKER_POLICY_TLS) {
		NL_SET_ERR_MSG(info->extack, "listener policy is tls");
		ret = -EPERM;
		goto out_refused;
	}
	/* Inter-broker links follow the cluster's choice, fixed at creation. */
	if ((flags & KBROKER_SOCK_OUTBOUND) && kbroker_in_cluster_tls() &&
	    ((flags & KBROKER_SOCK_PLAINTEXT) ||
	     READ_ONCE(l->policy) != KBROKER_POLICY_TLS)) {
		NL_SET_ERR_MSG(info->extack,
			       "in_cluster_tls is 1: an outbound link must be TLS under a listener with policy tls");
		ret = -EPERM;
		goto out_refused;
	}

	sock = sockfd_lookup(nla_get_u32(info->attrs[KBROKER_A_SOCK_FD]), &ret);
	if (!sock) {
		NL_SET_ERR_MSG(info->extack, "fd is not a socket");
		goto out_refused;
	}
	ret = kbroker_sock_check(sock, l, flags, &found, info);
	sockfd_put(sock);
	if (ret < 0)
		goto out_refused;

	if (flags & KBROKER_SOCK_OUTBOUND) {
		if (ret > 0)
			kbroker_count(l, KBROKER_COUNTER_OUTBOUND);
		if (found & KBROKER_SOCK_KTLS_TX)
			kbroker_count(l, KBROKER_COUNTER_OUTBOUND_KTLS_TX);
		if (found & KBROKER_SOCK_KTLS_RX)
			kbroker_count(l, KBROKER_COUNTER_OUTBOUND_KTLS_RX);
	} else {
		if (found & KBROKER_SOCK_KTLS_TX)
			kbroker_count(l, KBROKER_COUNTER_KTLS_TX);
		if (found & KBROKER_SOCK_KTLS_RX)
			kbroker_count(l, KBROKER_COUNTER_KTLS_RX);
		if (found & KBROKER_SOCK_USERSPACE_TLS)
			kbroker_count(l, KBROKER_COUNTER_USERSPACE_TLS);
	}

	ret = -ENOMEM;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		goto out_listener;
	hdr = genlmsg_put_reply(msg, info, &kbroker_genl_family, 0,
				KBROKER_CMD_SOCK_ATTACH);
	if (!hdr || nla_put_u32(msg, KBROKER_A_SOCK_FLAGS, found)) {
		nlmsg_free(msg);
		ret = -EMSGSIZE;
		goto out_listener;
	}
	genlmsg_end(msg, hdr);
	ret = genlmsg_reply(msg, info);
	goto out_listener;

out_refused:
	if (flags & KBROKER_SOCK_OUTBOUND)
		kbroker_count(l, KBROKER_COUNTER_OUTBOUND_REJECTED);
out_listener:
	kbroker_listener_put(l);
	return ret;
}
