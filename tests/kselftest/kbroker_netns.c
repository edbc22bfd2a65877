// SPDX-License-Identifier: GPL-2.0
/*
 * Listeners belong to the network namespace that registered them: a
 * plaintext service on the same port in another namespace (a container)
 * is not policed by the host's tls listener; a listener registered inside
 * a namespace is enforced there, invisible from elsewhere, and deleted
 * with the namespace.
 */
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kbroker_listener.h"

#define NPORT 19400

static const unsigned char kafka[] = { 0x00, 0x00, 0x00, 0x04,
				       'a', 'b', 'c', 'd' };

static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	close(fd);
	return ret;
}

/* A plaintext exchange on loopback; 0 when both directions arrive. */
static int plaintext_exchange(uint16_t port)
{
	unsigned char b[sizeof(kafka)];
	int lfd, cli = -1, srv = -1, ret = -1;

	lfd = tcp_listen(AF_INET, port);
	if (lfd < 0)
		return lfd;
	if (tcp_pair(lfd, AF_INET, port, &cli, &srv)) {
		close(lfd);
		return -1;
	}
	if (send(cli, kafka, sizeof(kafka), 0) == sizeof(kafka) &&
	    recv_within(srv, b, sizeof(b), 2000) == sizeof(kafka) &&
	    send(srv, kafka, sizeof(kafka), 0) == sizeof(kafka) &&
	    recv_within(cli, b, sizeof(b), 2000) == sizeof(kafka))
		ret = 0;
	close(cli);
	close(srv);
	close(lfd);
	return ret;
}

FIXTURE(netns) {
	struct kbnl_t nl;
};

FIXTURE_SETUP(netns)
{
	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
	kbt_listener_del(&self->nl, "host");
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "host", NPORT,
				      KBROKER_POLICY_TLS));
}

FIXTURE_TEARDOWN(netns)
{
	kbt_listener_del(&self->nl, "host");
	close(self->nl.fd);
}

TEST_F(netns, host_listener_does_not_police_other_netns)
{
	/* The host's policy holds in the host's namespace. */
	EXPECT_NE(0, plaintext_exchange(NPORT));
	EXPECT_EQ(1, lsys_read("host", "rejected"));

	/* self->nl stays in the initial namespace. */
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, lo_up());
	EXPECT_EQ(0, plaintext_exchange(NPORT));
	EXPECT_EQ(1, lsys_read("host", "connections"));
	EXPECT_EQ(1, lsys_read("host", "rejected"));
}

/* In a child in its own namespace: exit status 0 when all held. */
static int in_child_netns(void)
{
	struct kbnl_t nl;
	uint32_t policy;

	if (unshare(CLONE_NEWNET) || lo_up())
		return 10;
	if (kbt_open(&nl))
		return 11;
	/* The host's listener is not there; its port is free here. */
	if (kbt_listener_get(&nl, "host", NULL, &policy) != -ENOENT)
		return 12;
	if (kbt_listener_del(&nl, "host") != -ENOENT)
		return 13;
	if (kbt_listener_add(&nl, "host", NPORT + 1, KBROKER_POLICY_TLS) !=
	    -EEXIST)
		return 14;
	if (kbt_listener_add(&nl, "inner", NPORT, KBROKER_POLICY_TLS))
		return 15;
	/* Enforced here. */
	if (plaintext_exchange(NPORT) == 0)
		return 16;
	if (lsys_read("inner", "rejected") != 1)
		return 17;
	if (lsys_read("host", "connections") != 0)
		return 18;
	if (lsys_read("inner", "netns") == lsys_read("host", "netns"))
		return 19;
	/* Exit without deleting it: the namespace takes it along. */
	return 0;
}

TEST_F(netns, listener_lives_and_dies_with_its_netns)
{
	struct stat st;
	int status, i;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(in_child_netns());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Namespace cleanup runs from a workqueue. */
	for (i = 0; i < 100; i++) {
		if (stat(LSYS "/inner", &st))
			break;
		usleep(100000);
	}
	EXPECT_NE(0, stat(LSYS "/inner", &st));
	EXPECT_EQ(0, stat(LSYS "/host", &st));
	/* The host's listener never saw the namespace's traffic. */
	EXPECT_EQ(0, lsys_read("host", "connections"));
}

TEST_HARNESS_MAIN
