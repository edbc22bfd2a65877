// SPDX-License-Identifier: GPL-2.0
/*
 * Listeners over netlink and sysfs: LISTENER_ADD/DEL/GET, the policy knob
 * and its -EINVAL cases, SET_STATE and -EBUSY in MAINTENANCE, events on
 * the "events" group, admin-only access, limits, and a listener deleted
 * (or the module unloaded) under an open sysfs file.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kbroker_listener.h"

FIXTURE(lst) {
	struct kbnl_t nl;
};

FIXTURE_SETUP(lst)
{
	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
}

FIXTURE_TEARDOWN(lst)
{
	char name[16];
	int i;

	kbt_set_state(&self->nl, KBROKER_STATE_ACTIVE);
	kbt_listener_del(&self->nl, "plain");
	kbt_listener_del(&self->nl, "tls-1");
	for (i = 0; i < KBROKER_LISTENERS_MAX + 1; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		kbt_listener_del(&self->nl, name);
	}
	close(self->nl.fd);
}

TEST_F(lst, add_shows_in_sysfs_and_get)
{
	uint64_t ctr[KBROKER_COUNTER_MAX + 1] = { 0 };
	char buf[64];
	uint32_t policy = 99;

	ASSERT_EQ(0, kbt_listener_add(&self->nl, "tls-1", 19092, -1));
	EXPECT_EQ(19092, lsys_read("tls-1", "port"));
	ASSERT_EQ(0, read_file(LSYS "/tls-1/policy", buf, sizeof(buf)));
	EXPECT_STREQ("tls", buf);
	EXPECT_EQ(0, lsys_read("tls-1", "connections"));
	EXPECT_EQ(0, lsys_read("tls-1", "rejected"));
	EXPECT_EQ(0, lsys_read("tls-1", "ktls_tx"));
	EXPECT_EQ(0, lsys_read("tls-1", "tracked"));
	ASSERT_EQ(0, kbt_listener_get(&self->nl, "tls-1", ctr, &policy));
	EXPECT_EQ(KBROKER_POLICY_TLS, policy);
	EXPECT_EQ(-EEXIST, kbt_listener_add(&self->nl, "tls-1", 19093, -1));
	EXPECT_EQ(-EADDRINUSE, kbt_listener_add(&self->nl, "plain", 19092, -1));
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "plain", 19093,
				      KBROKER_POLICY_PLAINTEXT));
	ASSERT_EQ(0, read_file(LSYS "/plain/policy", buf, sizeof(buf)));
	EXPECT_STREQ("plaintext", buf);
	EXPECT_EQ(0, kbt_listener_del(&self->nl, "plain"));
	EXPECT_EQ(-1, lsys_read("plain", "port"));
	EXPECT_EQ(-ENOENT, kbt_listener_del(&self->nl, "plain"));
	EXPECT_EQ(-ENOENT, kbt_listener_get(&self->nl, "plain", ctr, NULL));
	/* Read-only files refuse writes. */
	EXPECT_NE(0, lsys_write("tls-1", "port", "1"));
	EXPECT_NE(0, lsys_write("tls-1", "rejected", "0"));
}

/* LISTENER_GET as a dump: one message per listener, then DONE. */
TEST_F(lst, get_dump_lists_all)
{
	struct genl_msg m;
	char buf[32768];
	int names = 0, done = 0, i;

	for (i = 0; i < 40; i++) {
		char name[16];

		snprintf(name, sizeof(name), "l%d", i);
		ASSERT_EQ(0, kbt_listener_add(&self->nl, name, 20000 + i, -1));
	}
	genl_init(&m, self->nl.family, KBROKER_CMD_LISTENER_GET,
		  KBROKER_GENL_VERSION);
	m.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ASSERT_LT(0, send(self->nl.fd, &m, m.n.nlmsg_len, 0));
	while (!done) {
		ssize_t len = recv(self->nl.fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		ASSERT_LT(0, len);
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			struct genl_msg *r = (struct genl_msg *)h;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			ASSERT_NE(NLMSG_ERROR, h->nlmsg_type);
			if (genl_attr(r, KBROKER_A_LISTENER_NAME) &&
			    genl_attr(r, KBROKER_A_LISTENER_COUNTERS))
				names++;
		}
	}
	EXPECT_EQ(40, names);
}

TEST_F(lst, bad_names_ports_policies)
{
	const char *bad[] = { "", "a b", "a/b", "..", "a.b", "é",
		"123456789012345678901234567890123" };
	struct genl_msg m;
	uint32_t p = __KBROKER_POLICY_MAX;
	uint16_t port = 0;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, kbt_listener_add(&self->nl, bad[i], 19100,
						    -1)) TH_LOG("%s", bad[i]);
	EXPECT_EQ(0, kbt_listener_add(&self->nl,
				      "12345678901234567890123456789012",
				      19100, -1));
	EXPECT_EQ(0, kbt_listener_del(&self->nl,
				      "12345678901234567890123456789012"));
	EXPECT_EQ(-ERANGE, kbt_listener_add(&self->nl, "l0", 0, -1));
	EXPECT_EQ(-ERANGE, kbt_listener_add(&self->nl, "l0", 19100, p));
	/* Missing port; a wrongly sized port. */
	genl_init(&m, self->nl.family, KBROKER_CMD_LISTENER_ADD,
		  KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_LISTENER_NAME, "l0", 3);
	EXPECT_EQ(-EINVAL, genl_talk(self->nl.fd, &m, NULL));
	genl_put(&m, KBROKER_A_LISTENER_PORT, &p, sizeof(p));
	EXPECT_EQ(-EINVAL, genl_talk(self->nl.fd, &m, NULL));
	/* An attribute LISTENER_DEL does not take. */
	genl_init(&m, self->nl.family, KBROKER_CMD_LISTENER_DEL,
		  KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_LISTENER_NAME, "l0", 3);
	genl_put(&m, KBROKER_A_LISTENER_PORT, &port, sizeof(port));
	EXPECT_EQ(-EINVAL, genl_talk(self->nl.fd, &m, NULL));
}

TEST_F(lst, limit_of_listeners)
{
	char name[16];
	int i;

	for (i = 0; i < KBROKER_LISTENERS_MAX; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		ASSERT_EQ(0, kbt_listener_add(&self->nl, name, 20000 + i, -1));
	}
	snprintf(name, sizeof(name), "l%d", i);
	EXPECT_EQ(-ENOSPC, kbt_listener_add(&self->nl, name, 20000 + i, -1));
}

TEST_F(lst, policy_knob)
{
	const char *bad[] = { "\n", "tl", "tlss", "TLS", "tls x", "tls\n\n",
		"plaintext ", " tls", "tls,plaintext",
		"tls_plaintext_tls_plaintext_tls_plaintext_tls_plaintext" };
	char buf[64], big[8192];
	unsigned int i;
	int fd;

	ASSERT_EQ(0, kbt_listener_add(&self->nl, "tls-1", 19092, -1));
	EXPECT_EQ(0, lsys_write("tls-1", "policy", "plaintext"));
	ASSERT_EQ(0, read_file(LSYS "/tls-1/policy", buf, sizeof(buf)));
	EXPECT_STREQ("plaintext", buf);
	EXPECT_EQ(0, lsys_write("tls-1", "policy", "tls_plaintext\n"));
	ASSERT_EQ(0, read_file(LSYS "/tls-1/policy", buf, sizeof(buf)));
	EXPECT_STREQ("tls_plaintext", buf);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, lsys_write("tls-1", "policy", bad[i]))
			TH_LOG("\"%s\"", bad[i]);
	/* Garbage hidden after a NUL; an overlong write. */
	fd = open(LSYS "/tls-1/policy", O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, "tls\0x", 5));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	memset(big, 't', sizeof(big));
	fd = open(LSYS "/tls-1/policy", O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, big, sizeof(big)));
	close(fd);
	ASSERT_EQ(0, read_file(LSYS "/tls-1/policy", buf, sizeof(buf)));
	EXPECT_STREQ("tls_plaintext", buf);
	EXPECT_EQ(0, lsys_write("tls-1", "policy", "tls"));
}

TEST_F(lst, maintenance_refuses_updates)
{
	uint64_t ctr[KBROKER_COUNTER_MAX + 1];
	char buf[64];

	ASSERT_EQ(0, kbt_listener_add(&self->nl, "tls-1", 19092, -1));
	ASSERT_EQ(0, kbt_set_state(&self->nl, KBROKER_STATE_MAINTENANCE));
	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/state", buf, sizeof(buf)));
	EXPECT_STREQ("MAINTENANCE", buf);
	EXPECT_EQ(0, kbt_set_state(&self->nl, KBROKER_STATE_MAINTENANCE));
	EXPECT_EQ(-EBUSY, lsys_write("tls-1", "policy", "plaintext"));
	EXPECT_EQ(-EBUSY, kbt_listener_add(&self->nl, "plain", 19093, -1));
	EXPECT_EQ(-EBUSY, kbt_listener_del(&self->nl, "tls-1"));
	/* Reads go on. */
	EXPECT_EQ(0, kbt_listener_get(&self->nl, "tls-1", ctr, NULL));
	EXPECT_EQ(19092, lsys_read("tls-1", "port"));
	/* state stays read-only in sysfs. */
	EXPECT_NE(0, write_file(KBROKER_SYSFS "/state", "ACTIVE"));
	ASSERT_EQ(0, kbt_set_state(&self->nl, KBROKER_STATE_ACTIVE));
	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/state", buf, sizeof(buf)));
	EXPECT_STREQ("ACTIVE", buf);
	EXPECT_EQ(0, lsys_write("tls-1", "policy", "plaintext"));
	EXPECT_EQ(-ERANGE, kbt_set_state(&self->nl, __KBROKER_STATE_MAX));
}

TEST_F(lst, events_on_policy_and_state)
{
	struct genl_msg ev;
	struct nlattr *a;
	int efd, grp;

	ASSERT_EQ(0, kbt_listener_add(&self->nl, "tls-1", 19092, -1));
	efd = genl_open();
	ASSERT_LE(0, efd);
	grp = kbt_mcgrp_id(efd, KBROKER_GENL_MCGRP_EVENTS);
	ASSERT_LT(0, grp);
	ASSERT_EQ(0, setsockopt(efd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				&grp, sizeof(grp)));

	ASSERT_EQ(0, lsys_write("tls-1", "policy", "tls_plaintext"));
	ASSERT_LT(0, kbt_event(efd, &ev, 2000));
	EXPECT_EQ(KBROKER_CMD_EVENT, ev.g.cmd);
	a = genl_attr(&ev, KBROKER_A_EVENT_TYPE);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(KBROKER_EVENT_POLICY, *(uint32_t *)genl_attr_data(a));
	a = genl_attr(&ev, KBROKER_A_LISTENER_NAME);
	ASSERT_NE(NULL, a);
	EXPECT_STREQ("tls-1", (char *)genl_attr_data(a));
	a = genl_attr(&ev, KBROKER_A_LISTENER_POLICY);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(KBROKER_POLICY_TLS_PLAINTEXT, *(uint32_t *)genl_attr_data(a));

	/* Writing the same policy again changes nothing: no event. */
	ASSERT_EQ(0, lsys_write("tls-1", "policy", "tls_plaintext"));
	EXPECT_EQ(-ETIMEDOUT, kbt_event(efd, &ev, 300));

	ASSERT_EQ(0, kbt_set_state(&self->nl, KBROKER_STATE_MAINTENANCE));
	ASSERT_LT(0, kbt_event(efd, &ev, 2000));
	a = genl_attr(&ev, KBROKER_A_EVENT_TYPE);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(KBROKER_EVENT_STATE, *(uint32_t *)genl_attr_data(a));
	a = genl_attr(&ev, KBROKER_A_STATE);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(KBROKER_STATE_MAINTENANCE, *(uint32_t *)genl_attr_data(a));
	ASSERT_EQ(0, kbt_set_state(&self->nl, KBROKER_STATE_ACTIVE));
	ASSERT_LT(0, kbt_event(efd, &ev, 2000));
	a = genl_attr(&ev, KBROKER_A_STATE);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(KBROKER_STATE_ACTIVE, *(uint32_t *)genl_attr_data(a));
	close(efd);
}

TEST_F(lst, unprivileged_is_refused)
{
	pid_t pid;
	int status;

	ASSERT_EQ(0, kbt_listener_add(&self->nl, "tls-1", 19092, -1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kbnl_t t;
		uint64_t ctr[KBROKER_COUNTER_MAX + 1];
		uint32_t found;
		int grp;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (kbt_open(&t))
			_exit(3);
		if (kbt_listener_add(&t, "plain", 19093, -1) != -EPERM ||
		    kbt_listener_del(&t, "tls-1") != -EPERM ||
		    kbt_listener_get(&t, "tls-1", ctr, NULL) != -EPERM ||
		    kbt_set_state(&t, KBROKER_STATE_MAINTENANCE) != -EPERM ||
		    kbt_sock_attach(&t, 0, "tls-1", KBROKER_SOCK_TLS,
				    &found) != -EPERM)
			_exit(4);
		if (lsys_write("tls-1", "policy", "plaintext") != -EACCES)
			_exit(5);
		grp = kbt_mcgrp_id(t.fd, KBROKER_GENL_MCGRP_EVENTS);
		if (grp <= 0 || !setsockopt(t.fd, SOL_NETLINK,
					    NETLINK_ADD_MEMBERSHIP, &grp,
					    sizeof(grp)))
			_exit(6);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(lst, delete_under_open_file)
{
	char buf[64];
	int fd, wfd;

	ASSERT_EQ(0, kbt_listener_add(&self->nl, "tls-1", 19092, -1));
	fd = open(LSYS "/tls-1/policy", O_RDONLY);
	ASSERT_LE(0, fd);
	wfd = open(LSYS "/tls-1/policy", O_WRONLY);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, kbt_listener_del(&self->nl, "tls-1"));
	EXPECT_GT(0, pread(fd, buf, sizeof(buf), 0));
	EXPECT_GT(0, write(wfd, "tls", 3));
	close(fd);
	close(wfd);
	/* The name is free again. */
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "tls-1", 19092, -1));
}

TEST_F(lst, unload_with_listeners_and_open_file)
{
	char buf[64];
	int fd;

	ASSERT_EQ(0, kbt_listener_add(&self->nl, "tls-1", 19092, -1));
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "plain", 19093,
				      KBROKER_POLICY_PLAINTEXT));
	fd = open(LSYS "/tls-1/policy", O_RDWR);
	ASSERT_LE(0, fd);
	close(self->nl.fd);
	ASSERT_EQ(0, kbroker_unload());
	EXPECT_GT(0, pread(fd, buf, sizeof(buf), 0));
	EXPECT_GT(0, write(fd, "tls", 3));
	close(fd);
	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
	EXPECT_EQ(-1, lsys_read("tls-1", "port"));
}

TEST_HARNESS_MAIN
