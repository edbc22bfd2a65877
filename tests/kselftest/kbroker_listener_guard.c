// SPDX-License-Identifier: GPL-2.0
/*
 * The socket guard on loopback, IPv4 and IPv6, with plain sockets and no
 * daemon: a listener's policy decides which first bytes a client may send
 * and, on a tls listener, that only TLS records leave; violations reset
 * the connection and count in "rejected".  Also: runtime policy changes,
 * one byte per segment, 1000 connections with no tracked entry left, and
 * module unload with connections tracked.
 */
#include "kselftest_harness.h"
#include "kbroker_listener.h"

#define GPORT 19200

static const unsigned char hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04,
				       'h', 'e', 'l', 'o' };
static const unsigned char kafka[] = { 0x00, 0x00, 0x00, 0x04,
				       'a', 'b', 'c', 'd' };
static const unsigned char record[] = { 0x17, 0x03, 0x03, 0x00, 0x03,
					'x', 'y', 'z' };
/* A handshake record first: no application data may lead. */
static const unsigned char shello[] = { 0x16, 0x03, 0x03, 0x00, 0x02,
					0x02, 0x00 };

FIXTURE(guard) {
	struct kbnl_t nl;
	int lfd;
	int cli, srv;
};

FIXTURE_VARIANT(guard) {
	int family;
};

FIXTURE_VARIANT_ADD(guard, ipv4) {
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(guard, ipv6) {
	.family = AF_INET6,
};

FIXTURE_SETUP(guard)
{
	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
	kbt_listener_del(&self->nl, "g");
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "g", GPORT,
				      KBROKER_POLICY_TLS));
	self->lfd = tcp_listen(variant->family, GPORT);
	ASSERT_LE(0, self->lfd);
	self->cli = self->srv = -1;
}

FIXTURE_TEARDOWN(guard)
{
	close(self->cli);
	close(self->srv);
	close(self->lfd);
	if (kbroker_loaded())
		kbt_listener_del(&self->nl, "g");
	close(self->nl.fd);
}

static int pair(struct __test_metadata *_metadata, FIXTURE_DATA(guard) *self,
		const FIXTURE_VARIANT(guard) *variant)
{
	close(self->cli);
	close(self->srv);
	return tcp_pair(self->lfd, variant->family, GPORT, &self->cli,
			&self->srv);
}

/* Nothing arrives, or a reset: never a byte. */
#define EXPECT_NOTHING(fd) do {						\
	unsigned char _b[64];						\
	int _n = recv_within(fd, _b, sizeof(_b), 700);			\
	EXPECT_GE(0, _n);						\
} while (0)

#define EXPECT_BYTES(fd, want) do {					\
	unsigned char _b[256];						\
	int _n = recv_within(fd, _b, sizeof(want), 2000);		\
	ASSERT_EQ((int)sizeof(want), _n);				\
	EXPECT_EQ(0, memcmp(_b, want, sizeof(want)));			\
} while (0)

TEST_F(guard, tls_resets_plaintext_client)
{
	unsigned char b[16];

	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(kafka), send(self->cli, kafka, sizeof(kafka), 0));
	/* The daemon side reads nothing but the reset. */
	EXPECT_EQ(-ECONNRESET, recv_within(self->srv, b, sizeof(b), 2000));
	EXPECT_EQ(-ECONNRESET, recv_within(self->cli, b, sizeof(b), 2000));
	EXPECT_EQ(1, lsys_read("g", "rejected"));
	EXPECT_EQ(1, lsys_read("g", "plaintext"));
	EXPECT_EQ(1, lsys_read("g", "connections"));
}

TEST_F(guard, tls_passes_client_hello_and_records)
{
	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	ASSERT_EQ(sizeof(shello), send(self->srv, shello, sizeof(shello), 0));
	EXPECT_BYTES(self->cli, shello);
	ASSERT_EQ(sizeof(record), send(self->srv, record, sizeof(record), 0));
	EXPECT_BYTES(self->cli, record);
	EXPECT_EQ(0, lsys_read("g", "rejected"));
	EXPECT_EQ(1, lsys_read("g", "tls"));
	EXPECT_EQ(1, lsys_read("g", "tracked"));
}

TEST_F(guard, tls_drops_plaintext_from_server)
{
	static const char msg[] = "plaintext secret";

	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	send(self->srv, msg, sizeof(msg), 0);
	EXPECT_NOTHING(self->cli);
	EXPECT_EQ(1, lsys_read("g", "rejected"));
}

TEST_F(guard, tls_records_split_across_segments)
{
	static const unsigned char bad[] = { 0x18, 0x03, 0x03, 0x00, 0x01, 0 };
	static const unsigned char big[] = { 0x17, 0x03, 0x03, 0x41, 0x01 };
	static const unsigned char r13[] = { 0x17, 0x03, 0x03, 0x00, 0x02,
					     'h', 'i', 0x15, 0x03, 0x04, 0x00,
					     0x01, 'a' };
	unsigned char b[64];
	size_t i;

	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	ASSERT_EQ(sizeof(shello), send(self->srv, shello, sizeof(shello), 0));
	EXPECT_BYTES(self->cli, shello);
	/* Headers and bodies cut at every byte. */
	for (i = 0; i < sizeof(r13); i++) {
		ASSERT_EQ(1, send(self->srv, &r13[i], 1, 0));
		usleep(2000);
	}
	EXPECT_BYTES(self->cli, r13);
	/* A record type that does not exist: nothing of it leaves. */
	send(self->srv, bad, sizeof(bad), 0);
	EXPECT_GE(0, recv_within(self->cli, b, sizeof(b), 700));
	EXPECT_EQ(1, lsys_read("g", "rejected"));

	/* A record longer than 2^14 + 256. */
	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	send(self->srv, big, sizeof(big), 0);
	EXPECT_NOTHING(self->cli);
	EXPECT_EQ(2, lsys_read("g", "rejected"));
}

TEST_F(guard, plaintext_listener)
{
	unsigned char b[16];

	ASSERT_EQ(0, lsys_write("g", "policy", "plaintext"));
	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_EQ(-ECONNRESET, recv_within(self->srv, b, sizeof(b), 2000));
	EXPECT_EQ(1, lsys_read("g", "rejected"));

	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(kafka), send(self->cli, kafka, sizeof(kafka), 0));
	EXPECT_BYTES(self->srv, kafka);
	ASSERT_EQ(sizeof(kafka), send(self->srv, kafka, sizeof(kafka), 0));
	EXPECT_BYTES(self->cli, kafka);
	EXPECT_EQ(1, lsys_read("g", "rejected"));
}

TEST_F(guard, tls_plaintext_serves_both)
{
	ASSERT_EQ(0, lsys_write("g", "policy", "tls_plaintext"));
	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	ASSERT_EQ(sizeof(record), send(self->srv, record, sizeof(record), 0));
	EXPECT_BYTES(self->cli, record);

	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(kafka), send(self->cli, kafka, sizeof(kafka), 0));
	EXPECT_BYTES(self->srv, kafka);
	ASSERT_EQ(sizeof(kafka), send(self->srv, kafka, sizeof(kafka), 0));
	EXPECT_BYTES(self->cli, kafka);
	EXPECT_EQ(0, lsys_read("g", "rejected"));
	EXPECT_EQ(1, lsys_read("g", "tls"));
	EXPECT_EQ(1, lsys_read("g", "plaintext"));
}

TEST_F(guard, policy_change_applies_to_open_connections)
{
	unsigned char b[16];
	int cli2, srv2;

	ASSERT_EQ(0, lsys_write("g", "policy", "tls_plaintext"));
	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(kafka), send(self->cli, kafka, sizeof(kafka), 0));
	EXPECT_BYTES(self->srv, kafka);
	ASSERT_EQ(0, tcp_pair(self->lfd, variant->family, GPORT, &cli2,
			      &srv2));
	ASSERT_EQ(sizeof(kafka), send(cli2, kafka, sizeof(kafka), 0));
	EXPECT_BYTES(srv2, kafka);

	ASSERT_EQ(0, lsys_write("g", "policy", "tls"));
	/* The broker's next plaintext byte never leaves... */
	send(self->srv, kafka, sizeof(kafka), 0);
	EXPECT_NOTHING(self->cli);
	/* ...nor does the client's next one arrive. */
	send(cli2, kafka, sizeof(kafka), 0);
	EXPECT_GE(0, recv_within(srv2, b, sizeof(b), 700));
	EXPECT_EQ(2, lsys_read("g", "rejected"));
	close(cli2);
	close(srv2);
}

TEST_F(guard, first_bytes_one_per_segment)
{
	static const unsigned char bad[] = { 0x16, 0x07 };
	unsigned char b[16];
	size_t i;

	ASSERT_EQ(0, pair(_metadata, self, variant));
	for (i = 0; i < sizeof(hello); i++) {
		ASSERT_EQ(1, send(self->cli, &hello[i], 1, 0));
		usleep(5000);
	}
	EXPECT_BYTES(self->srv, hello);

	/* 0x16 then a version byte that is not 0x03. */
	ASSERT_EQ(0, pair(_metadata, self, variant));
	for (i = 0; i < sizeof(bad); i++) {
		send(self->cli, &bad[i], 1, 0);
		usleep(5000);
	}
	/* At most the 0x16 arrives, then the reset. */
	EXPECT_GE(1, recv_within(self->srv, b, sizeof(b), 700));
	EXPECT_GE(0, recv_within(self->srv, b, sizeof(b), 700));
	EXPECT_EQ(1, lsys_read("g", "rejected"));

	/* A single plaintext byte is enough to decide. */
	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(1, send(self->cli, "k", 1, 0));
	EXPECT_EQ(-ECONNRESET, recv_within(self->srv, b, sizeof(b), 2000));
	EXPECT_EQ(2, lsys_read("g", "rejected"));
}

TEST_F(guard, thousand_connections_leave_nothing_tracked)
{
	int i, tracked = -1;

	for (i = 0; i < 1000; i++) {
		unsigned char b[sizeof(hello)];

		ASSERT_EQ(0, pair(_metadata, self, variant));
		ASSERT_EQ(sizeof(hello), send(self->cli, hello,
					      sizeof(hello), 0));
		ASSERT_EQ(sizeof(hello), recv_within(self->srv, b, sizeof(b),
						     2000));
		close(self->cli);
		close(self->srv);
		self->cli = self->srv = -1;
	}
	for (i = 0; i < 50; i++) {
		tracked = lsys_read("g", "tracked");
		if (!tracked)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, tracked);
	EXPECT_EQ(1000, lsys_read("g", "connections"));
	EXPECT_EQ(0, lsys_read("g", "rejected"));
}

TEST_F(guard, unload_with_connections_tracked)
{
	ASSERT_EQ(0, pair(_metadata, self, variant));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	EXPECT_BYTES(self->srv, hello);
	EXPECT_EQ(1, lsys_read("g", "tracked"));
	close(self->nl.fd);
	ASSERT_EQ(0, kbroker_unload());
	/* Without the module nothing is enforced, nothing breaks. */
	ASSERT_EQ(sizeof(kafka), send(self->srv, kafka, sizeof(kafka), 0));
	EXPECT_BYTES(self->cli, kafka);
	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
}

TEST_HARNESS_MAIN
