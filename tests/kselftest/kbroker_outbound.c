// SPDX-License-Identifier: GPL-2.0
/*
 * Outbound attach: a connection the broker opens to another broker (local
 * port ephemeral) attached under the inter-broker listener is guarded as a
 * TLS client: plaintext out or back is reset and counted in
 * outbound_rejected, a ClientHello and TLS records pass.  A connection
 * nobody attached is left alone; an attach after the first byte, or a
 * plaintext one while in_cluster_tls is 1, is refused.
 */
#include "kselftest_harness.h"
#include "kbroker_listener.h"

#define IBPORT 19601	/* the inter-broker listener: nothing binds it */
#define PEER 19602	/* the other broker's port */

static const unsigned char hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04,
				       'h', 'e', 'l', 'o' };
static const unsigned char kafka[] = { 0x00, 0x00, 0x00, 0x04,
				       'a', 'b', 'c', 'd' };
static const unsigned char shello[] = { 0x16, 0x03, 0x03, 0x00, 0x02,
					0x02, 0x00 };

FIXTURE(ob) {
	struct kbnl_t nl;
	int lfd, cli, srv;
};

FIXTURE_VARIANT(ob) {
	int family;
};

FIXTURE_VARIANT_ADD(ob, ipv4) {
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(ob, ipv6) {
	.family = AF_INET6,
};

FIXTURE_SETUP(ob)
{
	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
	kbt_listener_del(&self->nl, "ib");
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "ib", IBPORT,
				      KBROKER_POLICY_TLS));
	self->lfd = tcp_listen(variant->family, PEER);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, tcp_pair(self->lfd, variant->family, PEER, &self->cli,
			      &self->srv));
}

FIXTURE_TEARDOWN(ob)
{
	close(self->cli);
	close(self->srv);
	close(self->lfd);
	kbt_listener_del(&self->nl, "ib");
	close(self->nl.fd);
}

#define EXPECT_BYTES(fd, want) do {					\
	unsigned char _b[256];						\
	int _n = recv_within(fd, _b, sizeof(want), 2000);		\
	ASSERT_EQ((int)sizeof(want), _n);				\
	EXPECT_EQ(0, memcmp(_b, want, sizeof(want)));			\
} while (0)

static int attach(FIXTURE_DATA(ob) *self, uint32_t flags)
{
	uint32_t found;

	return kbt_sock_attach(&self->nl, self->cli, "ib",
			       flags | KBROKER_SOCK_OUTBOUND, &found);
}

TEST_F(ob, plaintext_out_reset)
{
	unsigned char b[16];

	ASSERT_EQ(0, attach(self, KBROKER_SOCK_TLS));
	EXPECT_EQ(1, lsys_read("ib", "outbound"));
	ASSERT_EQ(sizeof(kafka), send(self->cli, kafka, sizeof(kafka), 0));
	/* Nothing reaches the peer but the reset. */
	EXPECT_EQ(-ECONNRESET, recv_within(self->srv, b, sizeof(b), 2000));
	EXPECT_EQ(-ECONNRESET, recv_within(self->cli, b, sizeof(b), 2000));
	EXPECT_EQ(1, lsys_read("ib", "outbound_rejected"));
	EXPECT_EQ(0, lsys_read("ib", "rejected"));
}

TEST_F(ob, client_hello_and_tls_back_pass)
{
	ASSERT_EQ(0, attach(self, KBROKER_SOCK_TLS));
	/* Attached again after the handshake: counted once. */
	ASSERT_EQ(0, attach(self, KBROKER_SOCK_TLS));
	EXPECT_EQ(1, lsys_read("ib", "outbound"));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	ASSERT_EQ(sizeof(shello), send(self->srv, shello, sizeof(shello), 0));
	EXPECT_BYTES(self->cli, shello);
	EXPECT_EQ(0, lsys_read("ib", "outbound_rejected"));
	EXPECT_EQ(1, lsys_read("ib", "tracked"));
}

TEST_F(ob, plaintext_back_reset)
{
	unsigned char b[16];

	ASSERT_EQ(0, attach(self, KBROKER_SOCK_TLS));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	ASSERT_EQ(sizeof(kafka), send(self->srv, kafka, sizeof(kafka), 0));
	EXPECT_EQ(-ECONNRESET, recv_within(self->cli, b, sizeof(b), 2000));
	EXPECT_EQ(1, lsys_read("ib", "outbound_rejected"));
}

TEST_F(ob, unattached_left_alone)
{
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	ASSERT_EQ(sizeof(kafka), send(self->cli, kafka, sizeof(kafka), 0));
	EXPECT_BYTES(self->srv, kafka);
	EXPECT_EQ(0, lsys_read("ib", "outbound"));
	EXPECT_EQ(0, lsys_read("ib", "tracked"));
}

TEST_F(ob, refused_after_first_byte)
{
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	EXPECT_EQ(-EALREADY, attach(self, KBROKER_SOCK_TLS));
	EXPECT_EQ(1, lsys_read("ib", "outbound_rejected"));
	EXPECT_EQ(0, lsys_read("ib", "tracked"));
}

TEST_F(ob, plaintext_refused_with_in_cluster_tls)
{
	char v[8];

	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/in_cluster_tls", v, sizeof(v)));
	if (strcmp(v, "1"))
		SKIP(return, "in_cluster_tls is %s", v);
	EXPECT_EQ(-EPERM, attach(self, KBROKER_SOCK_PLAINTEXT));
	EXPECT_EQ(1, lsys_read("ib", "outbound_rejected"));
	EXPECT_EQ(0, lsys_read("ib", "outbound"));
}

TEST_F(ob, listener_port_is_not_outbound)
{
	uint32_t found;

	/* The peer's accepted side has no listener here: wrong port. */
	EXPECT_EQ(-EADDRNOTAVAIL,
		  kbt_sock_attach(&self->nl, self->srv, "ib",
				  KBROKER_SOCK_TLS, &found));
}

TEST_HARNESS_MAIN
