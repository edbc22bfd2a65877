// SPDX-License-Identifier: GPL-2.0
/*
 * Forged segments against an established connection on a tls listener,
 * sent over a raw socket with only the addresses and ports known: an RST
 * with a sequence number far out of the window, one inside the window but
 * not exact, one with the exact number and a bad checksum, and a SYN.
 * TCP ignores them all (RFC 5961), so the guard must too: the connection
 * goes on carrying records both ways.  An RST with the exact sequence
 * number and a good checksum ends the connection in TCP, and the guard's
 * entry goes with it.
 */
#include <netinet/ip.h>

#include "kselftest_harness.h"
#include "kbroker_listener.h"

#define SPORT 19250

#ifndef TCP_REPAIR_OFF_NO_WP
#define TCP_REPAIR_OFF_NO_WP -1
#endif

static const unsigned char hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04,
				       'h', 'e', 'l', 'o' };
static const unsigned char record[] = { 0x17, 0x03, 0x03, 0x00, 0x03,
					'x', 'y', 'z' };
static const unsigned char shello[] = { 0x16, 0x03, 0x03, 0x00, 0x02,
					0x02, 0x00 };

struct tcpraw {
	struct iphdr ip;
	unsigned char th[20];
} __attribute__((packed));

static uint16_t csum_fold32(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const unsigned char *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

/* One TCP header, no options, from @src to @dst; @bad spoils its checksum. */
static int send_forged(const struct sockaddr_in *src,
		       const struct sockaddr_in *dst, uint32_t seq,
		       uint8_t flags, int bad)
{
	struct tcpraw pkt;
	unsigned char pseudo[12];
	uint32_t sum;
	uint16_t c;
	int fd, ret;

	memset(&pkt, 0, sizeof(pkt));
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_TCP;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.saddr = src->sin_addr.s_addr;
	pkt.ip.daddr = dst->sin_addr.s_addr;
	memcpy(&pkt.th[0], &src->sin_port, 2);
	memcpy(&pkt.th[2], &dst->sin_port, 2);
	seq = htonl(seq);
	memcpy(&pkt.th[4], &seq, 4);
	pkt.th[12] = 5 << 4;
	pkt.th[13] = flags;
	pkt.th[14] = 0xff;			/* window */
	memcpy(pseudo, &pkt.ip.saddr, 4);
	memcpy(pseudo + 4, &pkt.ip.daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = 0;
	pseudo[11] = sizeof(pkt.th);
	sum = csum_add(0, pseudo, sizeof(pseudo));
	sum = csum_add(sum, pkt.th, sizeof(pkt.th));
	c = htons(csum_fold32(sum) ^ (bad ? 0x5a5a : 0));
	memcpy(&pkt.th[16], &c, 2);

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	ret = sendto(fd, &pkt, sizeof(pkt), 0, (const struct sockaddr *)dst,
		     sizeof(*dst)) == sizeof(pkt) ? 0 : -errno;
	close(fd);
	return ret;
}

/* The client's next sequence number: what the server's TCP expects. */
static int snd_seq(int fd, uint32_t *seq)
{
	int on = 1, off = TCP_REPAIR_OFF_NO_WP, q = TCP_SEND_QUEUE;
	socklen_t len = sizeof(*seq);
	int ret = 0;

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)))
		return -errno;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
	    getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &len))
		ret = -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
	return ret;
}

FIXTURE(spoof) {
	struct kbnl_t nl;
	int lfd, cli, srv;
	struct sockaddr_in ca, sa;
	uint32_t seq;
};

#define EXPECT_BYTES(fd, want) do {					\
	unsigned char _b[256];						\
	int _n = recv_within(fd, _b, sizeof(want), 2000);		\
	ASSERT_EQ((int)sizeof(want), _n);				\
	EXPECT_EQ(0, memcmp(_b, want, sizeof(want)));			\
} while (0)

FIXTURE_SETUP(spoof)
{
	socklen_t len = sizeof(self->ca);

	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
	kbt_listener_del(&self->nl, "s");
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "s", SPORT,
				      KBROKER_POLICY_TLS));
	self->lfd = tcp_listen(AF_INET, SPORT);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, tcp_pair(self->lfd, AF_INET, SPORT, &self->cli,
			      &self->srv));
	ASSERT_EQ(0, getsockname(self->cli, (struct sockaddr *)&self->ca,
				 &len));
	len = sizeof(self->sa);
	ASSERT_EQ(0, getpeername(self->cli, (struct sockaddr *)&self->sa,
				 &len));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	ASSERT_EQ(sizeof(shello), send(self->srv, shello, sizeof(shello), 0));
	EXPECT_BYTES(self->cli, shello);
	ASSERT_EQ(sizeof(record), send(self->srv, record, sizeof(record), 0));
	EXPECT_BYTES(self->cli, record);
	ASSERT_EQ(0, snd_seq(self->cli, &self->seq));
}

FIXTURE_TEARDOWN(spoof)
{
	close(self->cli);
	close(self->srv);
	close(self->lfd);
	kbt_listener_del(&self->nl, "s");
	close(self->nl.fd);
}

/* Records still flow both ways and nothing was reset. */
static void still_alive(struct __test_metadata *_metadata,
			FIXTURE_DATA(spoof) *self)
{
	usleep(200000);
	ASSERT_EQ(sizeof(record), send(self->srv, record, sizeof(record), 0));
	EXPECT_BYTES(self->cli, record);
	ASSERT_EQ(sizeof(record), send(self->cli, record, sizeof(record), 0));
	EXPECT_BYTES(self->srv, record);
	EXPECT_EQ(0, lsys_read("s", "rejected"));
	EXPECT_EQ(1, lsys_read("s", "tracked"));
}

#define RST 0x04
#define SYN 0x02

TEST_F(spoof, rst_out_of_window)
{
	ASSERT_EQ(0, send_forged(&self->ca, &self->sa, self->seq + 0x80000000u,
				 RST, 0));
	still_alive(_metadata, self);
	/* Long enough for the collector to have looked at the socket. */
	sleep(3);
	still_alive(_metadata, self);
}

TEST_F(spoof, rst_in_window_not_exact)
{
	/* TCP answers with a challenge ACK and goes on. */
	ASSERT_EQ(0, send_forged(&self->ca, &self->sa, self->seq + 1000,
				 RST, 0));
	still_alive(_metadata, self);
}

TEST_F(spoof, rst_bad_checksum)
{
	ASSERT_EQ(0, send_forged(&self->ca, &self->sa, self->seq, RST, 1));
	still_alive(_metadata, self);
}

TEST_F(spoof, syn_on_established)
{
	ASSERT_EQ(0, send_forged(&self->ca, &self->sa, self->seq ^ 0x5a5a5a5a,
				 SYN, 0));
	still_alive(_metadata, self);
	ASSERT_EQ(0, send_forged(&self->ca, &self->sa, self->seq, SYN, 1));
	still_alive(_metadata, self);
}

TEST_F(spoof, rst_exact_ends_connection_and_entry)
{
	unsigned char b[16];
	int i, tracked = -1;

	ASSERT_EQ(0, send_forged(&self->ca, &self->sa, self->seq, RST, 0));
	/* TCP takes it: the server's socket is reset, as without us. */
	EXPECT_EQ(-ECONNRESET, recv_within(self->srv, b, sizeof(b), 2000));
	for (i = 0; i < 50; i++) {
		tracked = lsys_read("s", "tracked");
		if (!tracked)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, tracked);
	EXPECT_EQ(0, lsys_read("s", "rejected"));
}

TEST_HARNESS_MAIN
