// SPDX-License-Identifier: GPL-2.0
/*
 * Who may change a listener: CAP_NET_ADMIN, through sysfs as through
 * netlink (one function does both), never in MAINTENANCE.  uid 0 with
 * every capability dropped is refused on the policy file, on
 * LISTENER_SET and on the module parameters, which are read-only once
 * loaded.
 */
#include <linux/capability.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "kbroker_listener.h"

#define CPORT 19450
#define PARAMS "/sys/module/kbroker/parameters"

static int drop_all_caps(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static int policy_is(const char *want)
{
	char buf[32];

	if (read_file(LSYS "/c/policy", buf, sizeof(buf)))
		return 0;
	return !strcmp(buf, want);
}

FIXTURE(caps) {
	struct kbnl_t nl;
};

FIXTURE_SETUP(caps)
{
	ASSERT_EQ(0, kbroker_load());
	ASSERT_EQ(0, kbt_open(&self->nl));
	kbt_listener_del(&self->nl, "c");
	ASSERT_EQ(0, kbt_listener_add(&self->nl, "c", CPORT,
				      KBROKER_POLICY_TLS));
}

FIXTURE_TEARDOWN(caps)
{
	kbt_set_state(&self->nl, KBROKER_STATE_ACTIVE);
	kbt_listener_del(&self->nl, "c");
	close(self->nl.fd);
}

/* In a child: root, no capabilities.  Exit 0 when every write failed. */
static int capless(struct kbnl_t *nl)
{
	if (getuid() != 0 || drop_all_caps())
		return 10;
	if (write_file(LSYS "/c/policy", "plaintext") != -EPERM)
		return 11;
	if (write_file(LSYS "/c/policy", "tls") != -EPERM)
		return 12;
	if (write_file(PARAMS "/idle_timeout", "5") != -EACCES)
		return 13;
	if (write_file(PARAMS "/max_connections", "1") != -EACCES)
		return 14;
	/* The netlink socket opened with capabilities is checked too. */
	if (kbt_listener_set(nl, "c", KBROKER_POLICY_PLAINTEXT) != -EPERM)
		return 15;
	if (write_file(KBROKER_SYSFS "/in_cluster_tls", "0") != -EPERM)
		return 17;
	return policy_is("tls") ? 0 : 16;
}

TEST_F(caps, capless_root_changes_nothing)
{
	char before[32], after[32];
	int status;
	pid_t pid;

	ASSERT_EQ(0, read_file(PARAMS "/idle_timeout", before,
			       sizeof(before)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(capless(&self->nl));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_TRUE(policy_is("tls"));
	ASSERT_EQ(0, read_file(PARAMS "/idle_timeout", after, sizeof(after)));
	EXPECT_STREQ(before, after);
}

/*
 * in_cluster_tls: the first write by CAP_NET_ADMIN fixes it until the
 * module is loaded again (this test may be that first write or not).
 */
TEST_F(caps, in_cluster_tls_write_once)
{
	const char *f = KBROKER_SYSFS "/in_cluster_tls";
	char buf[8];
	int ret;

	ASSERT_EQ(0, read_file(f, buf, sizeof(buf)));
	ret = write_file(f, buf);
	EXPECT_TRUE(ret == 0 || ret == -EBUSY);
	EXPECT_EQ(-EBUSY, write_file(f, strcmp(buf, "1") ? "1" : "0"));
	EXPECT_EQ(-EBUSY, write_file(f, buf));
	EXPECT_EQ(-EINVAL, write_file(f, "maybe"));
	ASSERT_EQ(0, read_file(f, buf + 4, sizeof(buf) - 4));
	EXPECT_STREQ(buf, buf + 4);
}

TEST_F(caps, params_read_only_even_for_admin)
{
	EXPECT_EQ(-EACCES, write_file(PARAMS "/idle_timeout", "5"));
	EXPECT_EQ(-EACCES, write_file(PARAMS "/max_connections", "1"));
}

TEST_F(caps, sysfs_and_netlink_share_one_path)
{
	uint32_t policy = 99;

	ASSERT_EQ(0, write_file(LSYS "/c/policy", "plaintext"));
	ASSERT_EQ(0, kbt_listener_get(&self->nl, "c", NULL, &policy));
	EXPECT_EQ(KBROKER_POLICY_PLAINTEXT, policy);
	ASSERT_EQ(0, kbt_listener_set(&self->nl, "c",
				      KBROKER_POLICY_TLS_PLAINTEXT));
	EXPECT_TRUE(policy_is("tls_plaintext"));
	EXPECT_EQ(-ENOENT, kbt_listener_set(&self->nl, "nosuch",
					    KBROKER_POLICY_TLS));

	/* MAINTENANCE holds both back alike. */
	ASSERT_EQ(0, kbt_set_state(&self->nl, KBROKER_STATE_MAINTENANCE));
	EXPECT_EQ(-EBUSY, write_file(LSYS "/c/policy", "tls"));
	EXPECT_EQ(-EBUSY, kbt_listener_set(&self->nl, "c",
					   KBROKER_POLICY_TLS));
	EXPECT_TRUE(policy_is("tls_plaintext"));
	ASSERT_EQ(0, kbt_set_state(&self->nl, KBROKER_STATE_ACTIVE));
	ASSERT_EQ(0, kbt_listener_set(&self->nl, "c", KBROKER_POLICY_TLS));
	EXPECT_TRUE(policy_is("tls"));
}

TEST_HARNESS_MAIN
