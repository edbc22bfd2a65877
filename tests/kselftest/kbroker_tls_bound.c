// SPDX-License-Identifier: GPL-2.0
/*
 * TLS, not framing: on a tls listener a server that writes a well-formed
 * application-data record around plaintext (17 03 03 00 0f + 15 bytes)
 * before any handshake gets nothing to the client; past a handshake
 * record, application data written without kTLS is bounded (TLS 1.3's
 * encrypted flight) when ktls_required is on and passes when it is off.
 */
#include "kselftest_harness.h"
#include "kbroker_listener.h"

#define TPORT 19500

static const unsigned char hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04,
				       'h', 'e', 'l', 'o' };
static const unsigned char shello[] = { 0x16, 0x03, 0x03, 0x00, 0x02,
					0x02, 0x00 };

FIXTURE(tlsb) {
	struct kbnl_t nl;
	int lfd, cli, srv;
};

FIXTURE_SETUP(tlsb)
{
	unsigned char b[16];

	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
	kbt_listener_del(&self->nl, "t");
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "t", TPORT,
				      KBROKER_POLICY_TLS));
	self->lfd = tcp_listen(AF_INET, TPORT);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, tcp_pair(self->lfd, AF_INET, TPORT, &self->cli,
			      &self->srv));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	ASSERT_EQ(sizeof(hello), recv_within(self->srv, b, sizeof(hello),
					     2000));
}

FIXTURE_TEARDOWN(tlsb)
{
	close(self->cli);
	close(self->srv);
	close(self->lfd);
	kbt_listener_del(&self->nl, "t");
	close(self->nl.fd);
}

TEST_F(tlsb, ktls_required_on_by_default)
{
	EXPECT_EQ(1, lsys_read("t", "ktls_required"));
}

TEST_F(tlsb, fake_record_never_reaches_client)
{
	static const char fake[] = "\x17\x03\x03\x00\x0fplaintext-15-by";
	unsigned char b[64];

	/* Also with ktls_required off: this is not TLS at all. */
	ASSERT_EQ(0, lsys_write("t", "ktls_required", "0"));
	ASSERT_EQ(20, send(self->srv, fake, 20, 0));
	EXPECT_GE(0, recv_within(self->cli, b, sizeof(b), 700));
	EXPECT_EQ(1, lsys_read("t", "rejected"));
}

/* Sends @n bytes of 1000-byte application-data records; bytes received. */
static int app_records(int srv, int cli, int n)
{
	static unsigned char rec[1005] = { 0x17, 0x03, 0x03, 0x03, 0xe8 };
	static unsigned char got[1005];
	int i, r, total = 0;

	for (i = 0; i < n / 1000; i++) {
		if (send(srv, rec, sizeof(rec), MSG_NOSIGNAL) != sizeof(rec))
			break;
		r = recv_within(cli, got, sizeof(got), 700);
		if (r <= 0)
			break;
		total += r;
	}
	return total;
}

TEST_F(tlsb, userspace_app_data_bounded_when_required)
{
	ASSERT_EQ(sizeof(shello), send(self->srv, shello, sizeof(shello), 0));
	ASSERT_EQ(0, lsys_write("t", "ktls_required", "1"));
	/* The first 32 KiB pass (TLS 1.3's encrypted flight), then reset. */
	EXPECT_GT(40 * 1005, app_records(self->srv, self->cli, 40000));
	EXPECT_EQ(1, lsys_read("t", "rejected"));
}

TEST_F(tlsb, userspace_app_data_passes_when_not_required)
{
	ASSERT_EQ(sizeof(shello), send(self->srv, shello, sizeof(shello), 0));
	ASSERT_EQ(0, kbt_listener_set2(&self->nl, "t", -1, 0));
	EXPECT_EQ(0, lsys_read("t", "ktls_required"));
	EXPECT_EQ(7 + 40 * 1005, 7 + app_records(self->srv, self->cli, 40000));
	EXPECT_EQ(0, lsys_read("t", "rejected"));
}

TEST_HARNESS_MAIN
