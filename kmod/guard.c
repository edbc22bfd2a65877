// SPDX-License-Identifier: GPL-2.0
/*
 * The socket guard: each listener's policy enforced on the wire by
 * netfilter hooks, so that no daemon bug can break it.  Design and reasons
 * in Documentation/kbroker/listener-policy.rst.
 *
 * LOCAL_IN sees what clients send to a listener port, LOCAL_OUT what the
 * broker sends from it.  A connection is tracked from its SYN in a bounded
 * hash table keyed by namespace and 4-tuple:
 *  - inbound, the first three stream bytes are checked where they fall,
 *    whatever the segmentation: 0x16 0x03 0x01..0x04 opens a TLS record;
 *  - outbound, TLS record headers are followed across segments.
 * A connection the current policy forbids is reset both ways (an RST to
 * each end) and the offending segment dropped.
 *
 * Nothing that TCP itself would ignore changes what the guard does: an
 * inbound segment with a bad checksum is left to TCP untouched, an RST or
 * both FINs only mark the entry for the collector, which drops it once the
 * real socket is gone (so an RST that TCP refuses leaves the connection
 * tracked), a SYN on a live connection keeps the entry (TCP answers it with
 * a challenge ACK), and inbound bytes TCP already holds are not looked at
 * again.  Entries also go by idle timeout.
 *
 * A connection that began while the module or its listener was not there
 * (the module reloaded under a running kbrokerd) has no entry: SOCK_ATTACH
 * adopts it with its state taken from the socket (kbroker_guard_adopt),
 * and for KBROKER_ADOPT_WINDOW after a listener is registered its live
 * untracked connections pass until they are attached, rather than being
 * reset as untracked.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jhash.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/inet6_hashtables.h>
#include <net/inet_hashtables.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/route.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "kbroker.h"

static unsigned int max_connections = 16384;
module_param(max_connections, uint, 0444);
MODULE_PARM_DESC(max_connections,
		 "connections tracked at most; SYNs beyond are dropped (default 16384)");

/* Read-only once loaded: a write would bypass CAP_NET_ADMIN and MAINTENANCE. */
static unsigned int idle_timeout = 7200;
module_param(idle_timeout, uint, 0444);
MODULE_PARM_DESC(idle_timeout,
		 "seconds an established connection may stay silent and tracked (default 7200)");

#define GUARD_BUCKETS		1024
#define GUARD_SYN_TIMEOUT	(60 * HZ)
#define GUARD_DEAD_TIMEOUT	(10 * HZ)
#define GUARD_GC_PERIOD		(2 * HZ)
/* Inbound bytes past this offset are never the "first" bytes again. */
#define GUARD_IN_WINDOW		65536

/* TLS record: type 20..23, version 0x0301..0x0304, length <= 2^14 + 256. */
#define TLS_HDR_LEN		5
#define TLS_MAX_RECORD		(16384 + 256)
#define TLS_HANDSHAKE		22
#define TLS_APP_DATA		23
/*
 * Application-data record bytes that may leave without kTLS TX: TLS 1.3's
 * encrypted handshake flight (EncryptedExtensions, Certificate chain,
 * CertificateVerify, Finished) travels in such records before OpenSSL
 * attaches kTLS.  Chains of a few certificates stay well below.
 */
#define GUARD_USER_APP_MAX	32768

enum guard_class {
	GUARD_UNKNOWN,
	GUARD_TLS,
	GUARD_PLAIN,
};

struct guard_conn {
	struct hlist_node node;
	struct rcu_head rcu;
	spinlock_t lock;		/* the fields below */
	struct net *net;
	struct kbroker_listener *l;	/* valid while hashed (see flush) */
	struct in6_addr laddr, raddr;	/* IPv4 as v4-mapped */
	__be16 lport, rport;
	int dif, sdif;			/* the SYN's input interfaces */
	u8 family;
	bool hashed;			/* under guard_lock */
	bool probe;			/* RST or both FINs: ask the socket */
	u8 in_class;			/* enum guard_class, from byte 0 */
	bool in_bad_hdr;		/* bytes 1-2 not a TLS record's */
	bool in_conflict;		/* byte 0 seen with two values */
	bool in_done;			/* past GUARD_IN_WINDOW */
	bool out_synced;		/* SYN-ACK seen: out_next valid */
	bool out_bad;			/* outbound is not TLS records */
	bool out_hs;			/* a handshake record left */
	bool out_early_app;		/* app data before any handshake */
	bool out_user_app;		/* app data past the bound, no kTLS */
	bool out_ktls_only;		/* adopted with kTLS TX: kernel records */
	bool outbound;			/* the broker connected: a TLS client */
	u32 out_app_user;		/* app data bytes sent without kTLS */
	bool dead;			/* reset by us */
	bool fin_in, fin_out;
	bool data;			/* payload seen either way */
	u8 hdr_have;
	u8 hdr[TLS_HDR_LEN];
	u32 in_isn;
	u32 out_next;			/* seq of the next unparsed byte */
	u32 rec_left;			/* record body bytes still to come */
	unsigned long last;		/* jiffies of the last segment */
};

struct guard_pkt {
	u8 family;
	struct in6_addr saddr, daddr;
	const struct tcphdr *th;
	struct tcphdr _th;
	unsigned int thoff;		/* from skb->data */
	unsigned int doff;		/* payload from skb->data */
	u32 len;			/* payload bytes */
	u32 seq;			/* of the first payload byte */
	int dif, sdif;
};

static struct hlist_head guard_table[GUARD_BUCKETS];
static DEFINE_SPINLOCK(guard_lock);	/* table membership */
static atomic_t guard_count = ATOMIC_INIT(0);
/* Outbound entries: only while there are any do other ports look here. */
static atomic_t guard_outbound_n = ATOMIC_INIT(0);
static u32 guard_seed __read_mostly;
static struct delayed_work guard_gc_work;

static u32 guard_hash(const struct net *net, const struct in6_addr *laddr,
		      const struct in6_addr *raddr, __be16 lport, __be16 rport)
{
	u32 h = jhash(laddr, sizeof(*laddr), guard_seed ^ net_hash_mix(net));

	h = jhash(raddr, sizeof(*raddr), h);
	return jhash_2words((__force u32)lport, (__force u32)rport, h) &
	       (GUARD_BUCKETS - 1);
}

/* Under RCU. */
static struct guard_conn *guard_lookup(const struct net *net,
				       const struct in6_addr *laddr,
				       const struct in6_addr *raddr,
				       __be16 lport, __be16 rport)
{
	u32 h = guard_hash(net, laddr, raddr, lport, rport);
	struct guard_conn *c;

	hlist_for_each_entry_rcu(c, &guard_table[h], node)
		if (c->net == net && c->lport == lport && c->rport == rport &&
		    ipv6_addr_equal(&c->laddr, laddr) &&
		    ipv6_addr_equal(&c->raddr, raddr))
			return c;
	return NULL;
}

/* Under guard_lock. */
static void __guard_unhash(struct guard_conn *c)
{
	if (!c->hashed)
		return;
	c->hashed = false;
	hlist_del_rcu(&c->node);
	atomic64_dec(&c->l->counters[KBROKER_COUNTER_TRACKED]);
	atomic_dec(&guard_count);
	if (c->outbound)
		atomic_dec(&guard_outbound_n);
	kfree_rcu(c, rcu);
}

/*
 * Tracks a new connection from its SYN, replacing a stale entry with the
 * same 4-tuple.  NULL when the table is full or memory short.
 */
static struct guard_conn *guard_insert(const struct net *net,
				       struct kbroker_listener *l,
				       const struct guard_pkt *p, u32 isn)
{
	u32 h = guard_hash(net, &p->daddr, &p->saddr, p->th->dest,
			   p->th->source);
	struct guard_conn *c, *old;

	if (atomic_read(&guard_count) >= max_connections)
		return NULL;
	c = kzalloc(sizeof(*c), GFP_ATOMIC);
	if (!c)
		return NULL;
	spin_lock_init(&c->lock);
	c->net = (struct net *)net;
	c->l = l;
	c->laddr = p->daddr;
	c->raddr = p->saddr;
	c->lport = p->th->dest;
	c->rport = p->th->source;
	c->family = p->family;
	c->dif = p->dif;
	c->sdif = p->sdif;
	c->in_isn = isn;
	c->last = jiffies;
	c->hashed = true;

	spin_lock_bh(&guard_lock);
	old = guard_lookup(net, &c->laddr, &c->raddr, c->lport, c->rport);
	if (old)
		__guard_unhash(old);
	hlist_add_head_rcu(&c->node, &guard_table[h]);
	atomic_inc(&guard_count);
	atomic64_inc(&l->counters[KBROKER_COUNTER_TRACKED]);
	spin_unlock_bh(&guard_lock);
	kbroker_count(l, KBROKER_COUNTER_CONNECTIONS);
	return c;
}

/* Parses the IP and TCP headers; false for anything but TCP. */
static bool guard_parse(struct sk_buff *skb, u8 pf, struct guard_pkt *p)
{
	unsigned int off = skb_network_offset(skb);
	u32 tcplen;

	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		/* LOCAL_IN sees reassembled packets; LOCAL_OUT TCP is whole. */
		if (iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
			return false;
		p->family = AF_INET;
		ipv6_addr_set_v4mapped(iph->saddr, &p->saddr);
		ipv6_addr_set_v4mapped(iph->daddr, &p->daddr);
		off += iph->ihl * 4;
		tcplen = ntohs(iph->tot_len) - iph->ihl * 4;
		if (ntohs(iph->tot_len) < iph->ihl * 4 ||
		    ntohs(iph->tot_len) > skb->len - skb_network_offset(skb))
			return false;
		p->dif = inet_iif(skb);
		p->sdif = inet_sdif(skb);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		unsigned int thoff = 0;
		unsigned short frag = 0;

		if (ipv6_find_hdr(skb, &thoff, IPPROTO_TCP, &frag, NULL) !=
		    IPPROTO_TCP || frag)
			return false;
		p->family = AF_INET6;
		p->saddr = ip6h->saddr;
		p->daddr = ip6h->daddr;
		off = thoff;
		if (skb->len < thoff)
			return false;
		tcplen = skb->len - thoff;
		p->dif = inet6_iif(skb);
		p->sdif = inet6_sdif(skb);
	}
	p->th = skb_header_pointer(skb, off, sizeof(p->_th), &p->_th);
	if (!p->th || p->th->doff < 5 || p->th->doff * 4 > tcplen)
		return false;
	p->thoff = off;
	p->doff = off + p->th->doff * 4;
	p->len = tcplen - p->th->doff * 4;
	/* A SYN takes a sequence number before any data it carries. */
	p->seq = ntohl(p->th->seq) + p->th->syn;
	return true;
}

/*
 * The local socket of a listener connection, with a reference (release
 * with sock_gen_put), or NULL: a full socket, a request or a time-wait one.
 */
static struct sock *guard_sock(struct net *net, u8 family,
			       const struct in6_addr *laddr,
			       const struct in6_addr *raddr,
			       __be16 lport, __be16 rport, int dif, int sdif)
{
	struct inet_hashinfo *hinfo = net->ipv4.tcp_death_row.hashinfo;

	if (family == AF_INET)
		return __inet_lookup_established(net, hinfo,
						 raddr->s6_addr32[3], rport,
						 laddr->s6_addr32[3],
						 ntohs(lport), dif, sdif);
#if IS_ENABLED(CONFIG_IPV6)
	return __inet6_lookup_established(net, hinfo, raddr, rport, laddr,
					  ntohs(lport), dif, sdif);
#else
	return NULL;
#endif
}

/* Whether TCP still has a connection there that a new SYN cannot replace. */
static bool guard_sock_state_live(const struct sock *sk)
{
	return sk && sk->sk_state != TCP_TIME_WAIT &&
	       sk->sk_state != TCP_CLOSE;
}

static bool guard_conn_live(struct guard_conn *c)
{
	struct sock *sk;
	bool live;

	rcu_read_lock();
	sk = guard_sock(c->net, c->family, &c->laddr, &c->raddr, c->lport,
			c->rport, c->dif, c->sdif);
	live = guard_sock_state_live(sk);
	if (sk)
		sock_gen_put(sk);
	rcu_read_unlock();
	return live;
}

/*
 * Inbound stream bytes TCP already holds in order (so ignores if sent
 * again), counted from the first byte after the SYN; 0 before the
 * connection is a full socket.
 */
static u32 guard_in_received(struct net *net, const struct guard_conn *c,
			     const struct guard_pkt *p)
{
	struct sock *sk;
	u32 have = 0;

	rcu_read_lock();
	sk = guard_sock(net, c->family, &c->laddr, &c->raddr, c->lport,
			c->rport, p->dif, p->sdif);
	if (sk && sk_fullsock(sk) && sk->sk_state != TCP_CLOSE)
		have = READ_ONCE(tcp_sk(sk)->rcv_nxt) - (c->in_isn + 1);
	if (sk)
		sock_gen_put(sk);
	rcu_read_unlock();
	return have;
}

static int guard_byte(struct sk_buff *skb, const struct guard_pkt *p, u32 i)
{
	u8 b;

	if (skb_copy_bits(skb, p->doff + i, &b, 1))
		return -1;
	return b;
}

/*
 * Inbound: check stream bytes 0..2 wherever they fall in this segment,
 * except those TCP already received (@have of them): a copy of them, sent
 * again or forged, is dropped by TCP and must not count either.
 */
static void guard_in_data(struct guard_conn *c, struct sk_buff *skb,
			  const struct guard_pkt *p, u32 have)
{
	s32 rel = p->seq - (c->in_isn + 1);
	int i, b;

	if (c->in_done)
		return;
	if (rel > GUARD_IN_WINDOW) {
		c->in_done = true;
		return;
	}
	for (i = 0; i < 3; i++) {
		s64 k = (s64)i - rel;

		if (k < 0 || k >= p->len || (u32)i < have)
			continue;
		b = guard_byte(skb, p, k);
		if (b < 0) {
			c->in_conflict = true;
			continue;
		}
		if (i == 0) {
			u8 cls = b == 0x16 ? GUARD_TLS : GUARD_PLAIN;

			if (c->in_class == GUARD_UNKNOWN) {
				c->in_class = cls;
				if (!c->outbound)
					kbroker_count(c->l, cls == GUARD_TLS ?
						      KBROKER_COUNTER_TLS :
						      KBROKER_COUNTER_PLAINTEXT);
			} else if (c->in_class != cls) {
				/* Two different first bytes: trust neither. */
				c->in_conflict = true;
			}
		} else if (i == 1 && b != 0x03) {
			c->in_bad_hdr = true;
		} else if (i == 2 && (b < 0x01 || b > 0x04)) {
			c->in_bad_hdr = true;
		}
	}
}

static bool guard_tls_header_ok(const u8 *h)
{
	u16 ver = h[1] << 8 | h[2];
	u16 len = h[3] << 8 | h[4];

	return h[0] >= 20 && h[0] <= 23 && ver >= 0x0301 && ver <= 0x0304 &&
	       len <= TLS_MAX_RECORD;
}

/*
 * Outbound: follow TLS record boundaries over the new bytes of this
 * segment.  Retransmitted bytes were parsed before; a gap cannot be
 * parsed and counts as not TLS.
 */
static void guard_out_data(struct guard_conn *c, struct sk_buff *skb,
			   const struct guard_pkt *p, bool ktls)
{
	s32 start = p->seq - c->out_next;
	u32 k;
	int b;

	if (c->out_bad)
		return;
	if (!c->out_synced || start > 0) {
		c->out_bad = true;
		return;
	}
	if ((s32)(p->seq + p->len - c->out_next) <= 0)
		return;
	k = -start;
	while (k < p->len) {
		if (c->rec_left) {
			u32 n = min(c->rec_left, p->len - k);

			c->rec_left -= n;
			k += n;
			continue;
		}
		b = guard_byte(skb, p, k);
		if (b < 0) {
			c->out_bad = true;
			return;
		}
		c->hdr[c->hdr_have++] = b;
		k++;
		if (c->hdr_have < TLS_HDR_LEN)
			continue;
		c->hdr_have = 0;
		if (!guard_tls_header_ok(c->hdr)) {
			c->out_bad = true;
			return;
		}
		c->rec_left = c->hdr[3] << 8 | c->hdr[4];
		/* A client's first record is its ClientHello. */
		if (c->outbound && !c->out_hs && c->hdr[0] != TLS_HANDSHAKE) {
			c->out_bad = true;
			return;
		}
		if (c->hdr[0] == TLS_HANDSHAKE)
			c->out_hs = true;
		if (c->hdr[0] != TLS_APP_DATA || ktls)
			continue;
		/* Written by userspace: TLS, not just its framing. */
		if (!c->out_hs)
			c->out_early_app = true;
		c->out_app_user += c->rec_left;
		if (c->out_app_user > GUARD_USER_APP_MAX)
			c->out_user_app = true;
	}
	c->out_next = p->seq + p->len;
}

/*
 * Whether @skb leaves through kernel TLS: its socket has the "tls" ULP
 * with a TX configuration.  Under RCU (tls frees its context after a
 * grace period).
 */
static bool guard_skb_ktls_tx(const struct sk_buff *skb)
{
	const struct inet_connection_sock *icsk;
	const struct tls_context *ctx;
	struct sock *sk = skb->sk;

	if (!sk || !sk_fullsock(sk) || sk->sk_protocol != IPPROTO_TCP)
		return false;
	icsk = inet_csk(sk);
	if (!icsk->icsk_ulp_ops || strcmp(icsk->icsk_ulp_ops->name, "tls"))
		return false;
	ctx = rcu_dereference(icsk->icsk_ulp_data);
	return ctx && (ctx->tx_conf == TLS_SW || ctx->tx_conf == TLS_HW);
}

static bool guard_forbidden(const struct guard_conn *c, u32 policy,
			    bool ktls_required)
{
	switch (policy) {
	case KBROKER_POLICY_TLS:
		return c->in_class == GUARD_PLAIN || c->in_bad_hdr ||
		       c->in_conflict || c->out_bad || c->out_early_app ||
		       (ktls_required && c->out_user_app);
	case KBROKER_POLICY_PLAINTEXT:
		return c->in_class == GUARD_TLS || c->in_conflict;
	default:
		return false;
	}
}

/*
 * Sends a bare RST for the connection @skb belongs to: to its sender when
 * @to_sender (from its receiver), else on to its receiver (as from its
 * sender), with sequence number @seq.
 */
static void guard_rst(struct net *net, struct sk_buff *skb,
		      const struct guard_pkt *p, bool to_sender, u32 seq)
{
	const struct in6_addr *saddr = to_sender ? &p->daddr : &p->saddr;
	const struct in6_addr *daddr = to_sender ? &p->saddr : &p->daddr;
	unsigned int nhlen = p->family == AF_INET ? sizeof(struct iphdr) :
						    sizeof(struct ipv6hdr);
	struct sk_buff *nskb;
	struct tcphdr *th;

	if (!skb_dst(skb))
		return;
	nskb = alloc_skb(LL_MAX_HEADER + nhlen + sizeof(*th), GFP_ATOMIC);
	if (!nskb)
		return;
	skb_reserve(nskb, LL_MAX_HEADER + nhlen);
	skb_reset_transport_header(nskb);
	th = skb_put_zero(nskb, sizeof(*th));
	th->source = to_sender ? p->th->dest : p->th->source;
	th->dest = to_sender ? p->th->source : p->th->dest;
	th->seq = htonl(seq);
	th->doff = sizeof(*th) / 4;
	th->rst = 1;
	nskb->ip_summed = CHECKSUM_NONE;
	nskb->mark = skb->mark;
	/* ip{,6}_route_me_harder start from the old packet's route. */
	skb_dst_set_noref(nskb, skb_dst(skb));

	if (p->family == AF_INET) {
		struct iphdr *iph = skb_push(nskb, sizeof(*iph));

		skb_reset_network_header(nskb);
		iph->version = 4;
		iph->ihl = 5;
		iph->tot_len = htons(nskb->len);
		iph->frag_off = htons(IP_DF);
		iph->ttl = 64;
		iph->protocol = IPPROTO_TCP;
		iph->saddr = saddr->s6_addr32[3];
		iph->daddr = daddr->s6_addr32[3];
		th->check = tcp_v4_check(sizeof(*th), iph->saddr, iph->daddr,
					 csum_partial(th, sizeof(*th), 0));
		ip_send_check(iph);
		nskb->protocol = htons(ETH_P_IP);
		if (ip_route_me_harder(net, NULL, nskb, RTN_UNSPEC))
			goto drop;
		ip_local_out(net, NULL, nskb);
	} else {
		struct ipv6hdr *ip6h = skb_push(nskb, sizeof(*ip6h));

		skb_reset_network_header(nskb);
		ip6_flow_hdr(ip6h, 0, 0);
		ip6h->payload_len = htons(sizeof(*th));
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = 64;
		ip6h->saddr = *saddr;
		ip6h->daddr = *daddr;
		th->check = csum_ipv6_magic(saddr, daddr, sizeof(*th),
					    IPPROTO_TCP,
					    csum_partial(th, sizeof(*th), 0));
		nskb->protocol = htons(ETH_P_IPV6);
		if (ip6_route_me_harder(net, NULL, nskb))
			goto drop;
		ip6_local_out(net, NULL, nskb);
	}
	return;
drop:
	kfree_skb(nskb);
}

/*
 * Resets both ends: the sender at the sequence number it acknowledges (its
 * rcv_nxt), the receiver at this segment's.  Should the receiver's answer
 * be a challenge ACK, the sender, already closed, answers it with an RST
 * at exactly the receiver's rcv_nxt.
 */
static void guard_reset(struct net *net, struct sk_buff *skb,
			const struct guard_pkt *p)
{
	if (p->th->ack)
		guard_rst(net, skb, p, true, ntohl(p->th->ack_seq));
	guard_rst(net, skb, p, false, ntohl(p->th->seq));
}

/*
 * Whether an untracked segment belongs to a connection TCP has
 * established: the sending socket outbound, the socket found inbound.
 */
static bool guard_untracked_live(struct net *net, struct sk_buff *skb,
				 const struct guard_pkt *p, bool out,
				 const struct in6_addr *laddr,
				 const struct in6_addr *raddr,
				 __be16 lport, __be16 rport)
{
	struct sock *sk;
	bool live;

	if (out) {
		sk = skb->sk;
		return sk && sk_fullsock(sk) &&
		       sk->sk_protocol == IPPROTO_TCP &&
		       guard_sock_state_live(sk) &&
		       sk->sk_state != TCP_LISTEN &&
		       sk->sk_state != TCP_SYN_SENT;
	}
	rcu_read_lock();
	sk = guard_sock(net, p->family, laddr, raddr, lport, rport, p->dif,
			p->sdif);
	live = sk && sk_fullsock(sk) && guard_sock_state_live(sk);
	if (sk)
		sock_gen_put(sk);
	rcu_read_unlock();
	return live;
}

/* @sk's 4-tuple as the hooks key it (IPv4 as v4-mapped, family of the wire). */
static void guard_sock_key(const struct sock *sk, u8 *family,
			   struct in6_addr *laddr, struct in6_addr *raddr,
			   __be16 *lport, __be16 *rport)
{
	*family = AF_INET;
	ipv6_addr_set_v4mapped(sk->sk_rcv_saddr, laddr);
	ipv6_addr_set_v4mapped(sk->sk_daddr, raddr);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		*laddr = sk->sk_v6_rcv_saddr;
		*raddr = sk->sk_v6_daddr;
		if (!ipv6_addr_v4mapped(raddr))
			*family = AF_INET6;
	}
#endif
	*lport = htons(inet_sk(sk)->inet_num);
	*rport = sk->sk_dport;
}

/*
 * Adopts established @sk into the guard when it has no entry: it started
 * while the module or @l was not there.  What the guard would have learnt
 * from its first segments is taken from the socket and from the attach:
 *  - inbound, the stream bytes TCP holds (tcp_sock.bytes_received) give
 *    the ISN; first bytes not yet received are still checked, those
 *    already received are classed by @found (kbrokerd's TLS handshake or
 *    plaintext, which SOCK_ATTACH checked against the policy);
 *  - outbound, with kTLS TX every later byte is a record the kernel
 *    makes; without it, record framing is followed from write_seq, the
 *    end of what was written before the attach, and a record split there
 *    fails closed.  With ktls_required a TLS connection without kTLS TX
 *    is refused (EPERM): the bytes it wrote in userspace were not seen.
 * Bytes queued before the attach are not inspected.  0, or an errno with
 * @extack set.  Caller holds the socket lock and checked the port.
 */
int kbroker_guard_adopt(struct sock *sk, struct kbroker_listener *l,
			u32 found, struct netlink_ext_ack *extack)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	struct net *net = sock_net(sk);
	struct guard_conn *c, *old;
	u32 h, rcvd;
	int ret = 0;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	spin_lock_init(&c->lock);
	c->net = net;
	c->l = l;
	guard_sock_key(sk, &c->family, &c->laddr, &c->raddr, &c->lport,
		       &c->rport);
	c->dif = sk->sk_bound_dev_if;
	/* A FIN received takes a sequence number, not a byte. */
	c->fin_in = sk->sk_state == TCP_CLOSE_WAIT;
	rcvd = (u32)min_t(u64, tp->bytes_received, GUARD_IN_WINDOW + 1);
	c->in_isn = tp->rcv_nxt - rcvd - 1 - c->fin_in;
	c->in_done = rcvd > GUARD_IN_WINDOW;
	if (rcvd)
		c->in_class = found & KBROKER_SOCK_PLAINTEXT ? GUARD_PLAIN :
							       GUARD_TLS;
	c->out_synced = true;
	c->out_next = tp->write_seq;
	c->out_hs = true;	/* attached once its handshake is over */
	c->out_ktls_only = !!(found & KBROKER_SOCK_KTLS_TX);
	c->data = true;
	c->last = jiffies;
	c->hashed = true;

	h = guard_hash(net, &c->laddr, &c->raddr, c->lport, c->rport);
	spin_lock_bh(&guard_lock);
	old = guard_lookup(net, &c->laddr, &c->raddr, c->lport, c->rport);
	if (old) {
		/* Seen from its SYN, as usual. */
		ret = 0;
	} else if (l->dead) {
		/* Deleted: its entries are flushed, or being. */
		NL_SET_ERR_MSG(extack, "listener deleted");
		ret = -ENOENT;
	} else if ((found & KBROKER_SOCK_USERSPACE_TLS) &&
		   READ_ONCE(l->ktls_required)) {
		NL_SET_ERR_MSG(extack,
			       "ktls_required: an established connection without kTLS TX cannot be adopted");
		ret = -EPERM;
	} else if (atomic_read(&guard_count) >= max_connections) {
		NL_SET_ERR_MSG(extack, "connection table full (max_connections)");
		ret = -ENOSPC;
	}
	if (old || ret) {
		spin_unlock_bh(&guard_lock);
		kfree(c);
		return ret;
	}
	hlist_add_head_rcu(&c->node, &guard_table[h]);
	atomic_inc(&guard_count);
	atomic64_inc(&l->counters[KBROKER_COUNTER_TRACKED]);
	spin_unlock_bh(&guard_lock);
	kbroker_count(l, KBROKER_COUNTER_CONNECTIONS);
	kbroker_count(l, KBROKER_COUNTER_ADOPTED);
	return 0;
}

/*
 * Tracks @sk, a connection the broker opened (an inter-broker link),
 * under @l's policy, as a TLS client: with policy tls its first bytes out
 * must open a handshake record (the ClientHello), everything it sends must
 * be TLS records and, with ktls_required, application data past the
 * handshake only the kernel's TLS may make; the first bytes back must be
 * a TLS record.  Attached before its first byte: 1 when newly tracked, 0
 * when it already was (the attach after the handshake), or an errno.
 * Caller holds the socket lock and checked netns and port.
 */
int kbroker_guard_outbound(struct sock *sk, struct kbroker_listener *l,
			   u32 found, struct netlink_ext_ack *extack)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	struct net *net = sock_net(sk);
	struct guard_conn *c, *old;
	int ret = 1;
	u32 h;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	spin_lock_init(&c->lock);
	c->net = net;
	c->l = l;
	c->outbound = true;
	guard_sock_key(sk, &c->family, &c->laddr, &c->raddr, &c->lport,
		       &c->rport);
	c->dif = sk->sk_bound_dev_if;
	c->in_isn = tp->rcv_nxt - (u32)tp->bytes_received - 1;
	c->in_done = tp->bytes_received > 2;
	c->out_synced = true;
	c->out_next = tp->write_seq;
	c->last = jiffies;
	c->hashed = true;

	h = guard_hash(net, &c->laddr, &c->raddr, c->lport, c->rport);
	spin_lock_bh(&guard_lock);
	old = guard_lookup(net, &c->laddr, &c->raddr, c->lport, c->rport);
	if (old) {
		if (!old->outbound || old->l != l) {
			NL_SET_ERR_MSG(extack,
				       "socket tracked under another listener or direction");
			ret = -EBUSY;
		} else {
			ret = 0;
		}
	} else if (l->dead) {
		NL_SET_ERR_MSG(extack, "listener deleted");
		ret = -ENOENT;
	} else if (tp->bytes_sent || tp->write_seq != tp->snd_una ||
		   tp->bytes_received) {
		NL_SET_ERR_MSG(extack,
			       "attach an outbound socket before its first byte");
		ret = -EALREADY;
	} else if (atomic_read(&guard_count) >= max_connections) {
		NL_SET_ERR_MSG(extack, "connection table full (max_connections)");
		ret = -ENOSPC;
	}
	if (ret != 1) {
		spin_unlock_bh(&guard_lock);
		kfree(c);
		return ret;
	}
	hlist_add_head_rcu(&c->node, &guard_table[h]);
	atomic_inc(&guard_count);
	atomic_inc(&guard_outbound_n);
	atomic64_inc(&l->counters[KBROKER_COUNTER_TRACKED]);
	spin_unlock_bh(&guard_lock);
	return 1;
}

static unsigned int guard_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	bool out = state->hook == NF_INET_LOCAL_OUT;
	struct kbroker_listener *l;
	const struct in6_addr *laddr, *raddr;
	__be16 lport, rport;
	struct guard_conn *c;
	struct guard_pkt p;
	bool forbidden, closed;
	u32 policy, have = 0;

	if (!guard_parse(skb, state->pf, &p))
		return NF_ACCEPT;
	lport = out ? p.th->source : p.th->dest;
	rport = out ? p.th->dest : p.th->source;
	laddr = out ? &p.saddr : &p.daddr;
	raddr = out ? &p.daddr : &p.saddr;
	l = kbroker_listener_by_port(state->net, ntohs(lport));
	if (l) {
		c = guard_lookup(state->net, laddr, raddr, lport, rport);
	} else {
		/* An outbound connection: its local port is ephemeral. */
		if (!atomic_read(&guard_outbound_n))
			return NF_ACCEPT;
		c = guard_lookup(state->net, laddr, raddr, lport, rport);
		if (!c || !c->outbound)
			return NF_ACCEPT;
		l = c->l;
	}
	policy = READ_ONCE(l->policy);

	/* A segment TCP will drop for its checksum changes nothing here. */
	if (!out && nf_checksum(skb, state->hook, p.thoff, IPPROTO_TCP,
				state->pf))
		return NF_ACCEPT;
	if (p.th->rst) {
		/*
		 * Ours, the end of the connection, or a forgery TCP will
		 * refuse: the collector asks the socket.  A reset one stays
		 * dead.
		 */
		if (c && !READ_ONCE(c->dead))
			WRITE_ONCE(c->probe, true);
		return NF_ACCEPT;
	}
	if (!out && p.th->syn && !p.th->ack && !(c && c->outbound)) {
		/*
		 * A SYN with a new ISN replaces the entry only when TCP could
		 * start a new connection there; on a live one TCP sends a
		 * challenge ACK (RFC 5961 4.2) and so do we nothing.
		 */
		if (c && c->in_isn != ntohl(p.th->seq) && guard_conn_live(c))
			return NF_ACCEPT;
		if (!c || c->in_isn != ntohl(p.th->seq))
			c = guard_insert(state->net, l, &p, ntohl(p.th->seq));
		if (!c) {
			/* Cannot watch it: refuse it unless anything goes. */
			if (policy == KBROKER_POLICY_TLS_PLAINTEXT)
				return NF_ACCEPT;
			kbroker_count(l, KBROKER_COUNTER_REJECTED);
			return NF_DROP;
		}
	}
	if (!c) {
		/* Untracked: started before us, or expired.  Fail closed. */
		if (!p.len || policy == KBROKER_POLICY_TLS_PLAINTEXT ||
		    (out && policy == KBROKER_POLICY_PLAINTEXT))
			return NF_ACCEPT;
		/* ...unless kbrokerd is about to attach it (adopt). */
		if (time_before(jiffies, READ_ONCE(l->adopt_until)) &&
		    guard_untracked_live(state->net, skb, &p, out, laddr,
					 raddr, lport, rport))
			return NF_ACCEPT;
		kbroker_count(l, KBROKER_COUNTER_REJECTED);
		guard_reset(state->net, skb, &p);
		return NF_DROP;
	}
	if (!out && p.len && !READ_ONCE(c->in_done)) {
		s32 rel = p.seq - (c->in_isn + 1);

		if (rel <= 2 && rel + (s64)p.len > 0)
			have = guard_in_received(state->net, c, &p);
	}

	spin_lock_bh(&c->lock);
	if (c->dead) {
		spin_unlock_bh(&c->lock);
		return NF_DROP;
	}
	c->last = jiffies;
	if (out && p.th->syn) {
		c->out_synced = true;
		c->out_next = p.seq;
	}
	if (p.len) {
		c->data = true;
		if (out && c->out_ktls_only)
			c->out_bad |= !guard_skb_ktls_tx(skb);
		else if (out)
			guard_out_data(c, skb, &p, guard_skb_ktls_tx(skb));
		else
			guard_in_data(c, skb, &p, have);
	}
	forbidden = guard_forbidden(c, policy, READ_ONCE(l->ktls_required));
	if (forbidden) {
		c->dead = true;
	} else if (p.th->fin) {
		if (out)
			c->fin_out = true;
		else
			c->fin_in = true;
	}
	closed = c->fin_in && c->fin_out;
	spin_unlock_bh(&c->lock);

	if (forbidden) {
		kbroker_count(l, c->outbound ?
			      KBROKER_COUNTER_OUTBOUND_REJECTED :
			      KBROKER_COUNTER_REJECTED);
		guard_reset(state->net, skb, &p);
		return NF_DROP;
	}
	/* Both FINs: the collector drops it once the socket is gone. */
	if (closed)
		WRITE_ONCE(c->probe, true);
	return NF_ACCEPT;
}

static const struct nf_hook_ops guard_ops[] = {
	{
		.hook = guard_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = NF_IP_PRI_FILTER,
	},
	{
		.hook = guard_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_FILTER,
	},
	{
		.hook = guard_hook,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = NF_IP6_PRI_FILTER,
	},
	{
		.hook = guard_hook,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP6_PRI_FILTER,
	},
};

/* Removes the entries matching @l (any when NULL) or @net (any when NULL). */
static void guard_remove(struct kbroker_listener *l, struct net *net)
{
	struct guard_conn *c;
	struct hlist_node *tmp;
	int i;

	spin_lock_bh(&guard_lock);
	for (i = 0; i < GUARD_BUCKETS; i++)
		hlist_for_each_entry_safe(c, tmp, &guard_table[i], node)
			if ((!l || c->l == l) && (!net || c->net == net))
				__guard_unhash(c);
	spin_unlock_bh(&guard_lock);
}

/* A deleted listener's connections, after no hook can see it any more. */
void kbroker_guard_flush(struct kbroker_listener *l)
{
	guard_remove(l, NULL);
}

static unsigned long guard_timeout(const struct guard_conn *c)
{
	if (c->dead)
		return GUARD_DEAD_TIMEOUT;
	if (!c->data)
		return GUARD_SYN_TIMEOUT;
	return (unsigned long)READ_ONCE(idle_timeout) * HZ;
}

static void guard_gc(struct work_struct *work)
{
	struct guard_conn *c;
	struct hlist_node *tmp;
	int i;

	spin_lock_bh(&guard_lock);
	for (i = 0; i < GUARD_BUCKETS; i++)
		hlist_for_each_entry_safe(c, tmp, &guard_table[i], node)
			if (time_after(jiffies,
				       READ_ONCE(c->last) + guard_timeout(c)) ||
			    (READ_ONCE(c->probe) && !READ_ONCE(c->dead) &&
			     !guard_conn_live(c)))
				__guard_unhash(c);
	spin_unlock_bh(&guard_lock);
	queue_delayed_work(system_power_efficient_wq, &guard_gc_work,
			   GUARD_GC_PERIOD);
}

static int __net_init guard_net_init(struct net *net)
{
	return nf_register_net_hooks(net, guard_ops, ARRAY_SIZE(guard_ops));
}

static void __net_exit guard_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, guard_ops, ARRAY_SIZE(guard_ops));
	guard_remove(NULL, net);
}

static struct pernet_operations guard_net_ops = {
	.init = guard_net_init,
	.exit = guard_net_exit,
};

int kbroker_guard_init(void)
{
	int ret;

	guard_seed = get_random_u32();
	INIT_DELAYED_WORK(&guard_gc_work, guard_gc);
	ret = register_pernet_subsys(&guard_net_ops);
	if (ret)
		return ret;
	queue_delayed_work(system_power_efficient_wq, &guard_gc_work,
			   GUARD_GC_PERIOD);
	return 0;
}

void kbroker_guard_exit(void)
{
	/* Unregistering the hooks waits for the ones running. */
	unregister_pernet_subsys(&guard_net_ops);
	cancel_delayed_work_sync(&guard_gc_work);
	guard_remove(NULL, NULL);
}
