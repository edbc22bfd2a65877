// SPDX-License-Identifier: GPL-2.0
/*
 * SOCK_ATTACH: kTLS installed by hand on a loopback pair (TCP_ULP "tls",
 * TLS_TX/TLS_RX with made-up AES-GCM-128 keys, no handshake needed) is
 * found and counted; a socket without kTLS counts as userspace TLS; a
 * non-socket, a UDP socket, a wrong port get clear errors.  And records
 * kTLS makes pass the guard of a tls listener.
 */
#include <linux/tls.h>

#include "kselftest_harness.h"
#include "kbroker_listener.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define KPORT 19300

static int ktls_install(int fd, int dir)
{
	struct tls12_crypto_info_aes_gcm_128 ci = {
		.info.version = TLS_1_2_VERSION,
		.info.cipher_type = TLS_CIPHER_AES_GCM_128,
	};

	memset(ci.key, 0x11, sizeof(ci.key));
	memset(ci.iv, 0x22, sizeof(ci.iv));
	memset(ci.salt, 0x33, sizeof(ci.salt));
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) &&
	    errno != EEXIST)
		return -errno;
	return setsockopt(fd, SOL_TLS, dir, &ci, sizeof(ci)) ? -errno : 0;
}

FIXTURE(ktls) {
	struct kbnl_t nl;
	int lfd, cli, srv;
};

FIXTURE_SETUP(ktls)
{
	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
	kbt_listener_del(&self->nl, "k");
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "k", KPORT,
				      KBROKER_POLICY_TLS_PLAINTEXT));
	self->lfd = tcp_listen(AF_INET, KPORT);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, tcp_pair(self->lfd, AF_INET, KPORT, &self->cli,
			      &self->srv));
}

FIXTURE_TEARDOWN(ktls)
{
	close(self->cli);
	close(self->srv);
	close(self->lfd);
	kbt_listener_del(&self->nl, "k");
	close(self->nl.fd);
}

TEST_F(ktls, finds_ktls_tx_then_rx)
{
	uint32_t found = 0;

	ASSERT_EQ(0, ktls_install(self->srv, TLS_TX));
	ASSERT_EQ(0, kbt_sock_attach(&self->nl, self->srv, "k",
				     KBROKER_SOCK_TLS | KBROKER_SOCK_KTLS_RX,
				     &found));
	EXPECT_EQ(KBROKER_SOCK_KTLS_TX, found);
	EXPECT_EQ(1, lsys_read("k", "ktls_tx"));
	EXPECT_EQ(0, lsys_read("k", "ktls_rx"));

	ASSERT_EQ(0, ktls_install(self->srv, TLS_RX));
	ASSERT_EQ(0, kbt_sock_attach(&self->nl, self->srv, "k",
				     KBROKER_SOCK_TLS | KBROKER_SOCK_KTLS_RX,
				     &found));
	EXPECT_EQ(KBROKER_SOCK_KTLS_TX | KBROKER_SOCK_KTLS_RX, found);
	EXPECT_EQ(2, lsys_read("k", "ktls_tx"));
	EXPECT_EQ(1, lsys_read("k", "ktls_rx"));
	/* RX is only looked for when the daemon says it installed it. */
	ASSERT_EQ(0, kbt_sock_attach(&self->nl, self->srv, "k",
				     KBROKER_SOCK_TLS, &found));
	EXPECT_EQ(KBROKER_SOCK_KTLS_TX, found);
	EXPECT_EQ(0, lsys_read("k", "userspace_tls"));
}

TEST_F(ktls, without_ktls_is_userspace_tls)
{
	uint32_t found = 0;

	ASSERT_EQ(0, kbt_sock_attach(&self->nl, self->srv, "k",
				     KBROKER_SOCK_TLS | KBROKER_SOCK_KTLS_RX,
				     &found));
	EXPECT_EQ(KBROKER_SOCK_USERSPACE_TLS, found);
	ASSERT_EQ(0, kbt_sock_attach(&self->nl, self->srv, "k",
				     KBROKER_SOCK_USERSPACE_TLS, &found));
	EXPECT_EQ(KBROKER_SOCK_USERSPACE_TLS, found);
	EXPECT_EQ(2, lsys_read("k", "userspace_tls"));
	EXPECT_EQ(0, lsys_read("k", "ktls_tx"));
	/* The ULP alone, without TLS_TX, is not offload. */
	ASSERT_EQ(0, setsockopt(self->srv, IPPROTO_TCP, TCP_ULP, "tls",
				sizeof("tls")));
	ASSERT_EQ(0, kbt_sock_attach(&self->nl, self->srv, "k",
				     KBROKER_SOCK_TLS, &found));
	EXPECT_EQ(KBROKER_SOCK_USERSPACE_TLS, found);

	ASSERT_EQ(0, kbt_sock_attach(&self->nl, self->srv, "k",
				     KBROKER_SOCK_PLAINTEXT, &found));
	EXPECT_EQ(KBROKER_SOCK_PLAINTEXT, found);
	ASSERT_EQ(0, lsys_write("k", "policy", "tls"));
	EXPECT_EQ(-EPERM, kbt_sock_attach(&self->nl, self->srv, "k",
					  KBROKER_SOCK_PLAINTEXT, &found));
}

TEST_F(ktls, clear_errors)
{
	uint32_t found;
	int fd, cli2, srv2, l2;

	fd = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTSOCK, kbt_sock_attach(&self->nl, fd, "k",
					     KBROKER_SOCK_TLS, &found));
	close(fd);
	EXPECT_EQ(-EBADF, kbt_sock_attach(&self->nl, 9999, "k",
					  KBROKER_SOCK_TLS, &found));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EPROTOTYPE, kbt_sock_attach(&self->nl, fd, "k",
					       KBROKER_SOCK_TLS, &found));
	close(fd);
	EXPECT_EQ(-ENOTCONN, kbt_sock_attach(&self->nl, self->lfd, "k",
					     KBROKER_SOCK_TLS, &found));
	/* The client end: its local port is not the listener's. */
	EXPECT_EQ(-EADDRNOTAVAIL, kbt_sock_attach(&self->nl, self->cli, "k",
						  KBROKER_SOCK_TLS, &found));
	l2 = tcp_listen(AF_INET, KPORT + 1);
	ASSERT_LE(0, l2);
	ASSERT_EQ(0, tcp_pair(l2, AF_INET, KPORT + 1, &cli2, &srv2));
	EXPECT_EQ(-EADDRNOTAVAIL, kbt_sock_attach(&self->nl, srv2, "k",
						  KBROKER_SOCK_TLS, &found));
	close(cli2);
	close(srv2);
	close(l2);
	EXPECT_EQ(-ENOENT, kbt_sock_attach(&self->nl, self->srv, "nope",
					   KBROKER_SOCK_TLS, &found));
	EXPECT_EQ(-EINVAL, kbt_sock_attach(&self->nl, self->srv, "k", 0,
					   &found));
	EXPECT_EQ(-EINVAL, kbt_sock_attach(&self->nl, self->srv, "k",
					   KBROKER_SOCK_TLS |
					   KBROKER_SOCK_PLAINTEXT, &found));
	EXPECT_EQ(-EINVAL, kbt_sock_attach(&self->nl, self->srv, "k",
					   KBROKER_SOCK_PLAINTEXT |
					   KBROKER_SOCK_KTLS_RX, &found));
	EXPECT_NE(0, kbt_sock_attach(&self->nl, self->srv, "k", 1U << 20,
				     &found));
	EXPECT_EQ(0, lsys_read("k", "ktls_tx"));
	EXPECT_EQ(0, lsys_read("k", "userspace_tls"));
}

/* On a tls listener, the records kTLS TX makes are what leaves. */
TEST_F(ktls, ktls_records_pass_the_tls_guard)
{
	static const unsigned char hello[] = { 0x16, 0x03, 0x03, 0x00, 0x01,
					       0x01 };
	unsigned char b[128];
	uint32_t found = 0;
	int n;

	ASSERT_EQ(0, lsys_write("k", "policy", "tls"));
	close(self->cli);
	close(self->srv);
	ASSERT_EQ(0, tcp_pair(self->lfd, AF_INET, KPORT, &self->cli,
			      &self->srv));
	ASSERT_EQ(sizeof(hello), send(self->cli, hello, sizeof(hello), 0));
	ASSERT_EQ(sizeof(hello), recv_within(self->srv, b, sizeof(hello),
					     2000));
	ASSERT_EQ(0, ktls_install(self->srv, TLS_TX));
	ASSERT_EQ(0, kbt_sock_attach(&self->nl, self->srv, "k",
				     KBROKER_SOCK_TLS, &found));
	EXPECT_EQ(KBROKER_SOCK_KTLS_TX, found);
	ASSERT_EQ(11, send(self->srv, "hello world", 11, 0));
	/* 5-byte header, 8-byte explicit nonce, 11 bytes, 16-byte tag. */
	n = recv_within(self->cli, b, 40, 2000);
	ASSERT_EQ(40, n);
	EXPECT_EQ(0x17, b[0]);
	EXPECT_EQ(0, memcmp(b + 1, "\x03\x03\x00\x23", 4));
	EXPECT_EQ(0, lsys_read("k", "rejected"));
}

TEST_HARNESS_MAIN
