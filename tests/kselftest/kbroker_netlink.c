// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "kbroker": GET_STATUS answers root with the
 * version and state, refuses an unprivileged caller, and the strict policy
 * refuses attributes the command does not take.
 */
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "genl.h"
#include "kbroker_test.h"

#include <uapi/linux/kbroker.h>

FIXTURE(genl) {
	int fd;
	int family;
	struct genl_msg req, reply;
};

FIXTURE_SETUP(genl)
{
	ASSERT_EQ(0, kbroker_load());
	self->fd = genl_open();
	ASSERT_LE(0, self->fd);
	self->family = genl_family_id(self->fd, KBROKER_GENL_NAME);
	ASSERT_LT(0, self->family);
}

FIXTURE_TEARDOWN(genl)
{
	close(self->fd);
}

TEST_F(genl, get_status_as_root)
{
	char version[64];
	struct nlattr *a;

	genl_init(&self->req, self->family, KBROKER_CMD_GET_STATUS,
		  KBROKER_GENL_VERSION);
	ASSERT_EQ(0, genl_talk(self->fd, &self->req, &self->reply));
	ASSERT_EQ(self->family, self->reply.n.nlmsg_type);
	ASSERT_EQ(KBROKER_CMD_GET_STATUS, self->reply.g.cmd);

	a = genl_attr(&self->reply, KBROKER_A_VERSION);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, read_file("/sys/module/kbroker/version", version,
			       sizeof(version)));
	EXPECT_STREQ(version, (char *)genl_attr_data(a));

	a = genl_attr(&self->reply, KBROKER_A_STATE);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(NLA_HDRLEN + 4, a->nla_len);
	EXPECT_EQ(KBROKER_STATE_ACTIVE, *(uint32_t *)genl_attr_data(a));
}

TEST_F(genl, get_status_refused_for_unprivileged)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		/* Dropping to nobody clears every capability. */
		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = genl_open();
		if (fd < 0)
			_exit(3);
		genl_init(&self->req, self->family, KBROKER_CMD_GET_STATUS,
			  KBROKER_GENL_VERSION);
		_exit(genl_talk(fd, &self->req, NULL) == -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(genl, attributes_not_taken_are_refused)
{
	uint32_t state = KBROKER_STATE_MAINTENANCE;

	genl_init(&self->req, self->family, KBROKER_CMD_GET_STATUS,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_STATE, &state, sizeof(state));
	EXPECT_EQ(-EINVAL, genl_talk(self->fd, &self->req, NULL));
}

TEST_F(genl, unknown_attribute_is_refused)
{
	uint32_t v = 1;

	genl_init(&self->req, self->family, KBROKER_CMD_GET_STATUS,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_MAX + 10, &v, sizeof(v));
	EXPECT_EQ(-EINVAL, genl_talk(self->fd, &self->req, NULL));
}

TEST_F(genl, unknown_command_is_refused)
{
	genl_init(&self->req, self->family, KBROKER_CMD_MAX + 5,
		  KBROKER_GENL_VERSION);
	EXPECT_EQ(-EOPNOTSUPP, genl_talk(self->fd, &self->req, NULL));
}

TEST_F(genl, truncated_attribute_is_refused)
{
	genl_init(&self->req, self->family, KBROKER_CMD_GET_STATUS,
		  KBROKER_GENL_VERSION);
	/* An attribute header claiming more bytes than the message has. */
	genl_put(&self->req, KBROKER_A_STATE, "\x01", 1);
	((struct nlattr *)self->req.buf)->nla_len = 200;
	EXPECT_GT(0, genl_talk(self->fd, &self->req, NULL));
}

TEST_HARNESS_MAIN
