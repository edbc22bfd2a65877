// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime: kbroker.ko loads and unloads cleanly many times and
 * leaves nothing behind (sysfs directory, netlink family).
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "genl.h"
#include "kbroker_test.h"

#include <uapi/linux/kbroker.h>

static void assert_gone(struct __test_metadata *_metadata)
{
	struct stat st;
	int fd;

	ASSERT_NE(0, stat(KBROKER_SYSFS, &st));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_NE(0, stat("/sys/module/kbroker", &st));
	fd = genl_open();
	ASSERT_LE(0, fd);
	/* Not by name: a lookup by name autoloads the module by its alias. */
	EXPECT_EQ(0, genl_family_registered(fd, KBROKER_GENL_NAME));
	close(fd);
}

TEST(load_unload_50_times)
{
	struct stat st;
	int i, fd;

	ASSERT_EQ(0, kbroker_unload());
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(0, kbroker_load()) TH_LOG("load %d", i);
		ASSERT_EQ(0, stat(KBROKER_SYSFS "/state", &st));
		fd = genl_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(1, genl_family_registered(fd, KBROKER_GENL_NAME));
		close(fd);
		ASSERT_EQ(0, kbroker_unload()) TH_LOG("unload %d", i);
	}
	assert_gone(_metadata);
	/* Leave the module loaded, as the suite found it. */
	ASSERT_EQ(0, kbroker_load());
}

TEST(unload_while_netlink_socket_open)
{
	int fd = genl_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kbroker_load());
	ASSERT_LT(0, genl_family_id(fd, KBROKER_GENL_NAME));
	/* An idle socket that knows the family does not pin the module. */
	ASSERT_EQ(0, kbroker_unload());
	close(fd);
	assert_gone(_metadata);
	ASSERT_EQ(0, kbroker_load());
}

TEST(family_lookup_autoloads_module)
{
	int fd = genl_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kbroker_unload());
	/* MODULE_ALIAS_GENL_FAMILY: kbrokerd finds the family even when
	 * nobody loaded the module first. */
	ASSERT_LT(0, genl_family_id(fd, KBROKER_GENL_NAME));
	EXPECT_TRUE(kbroker_loaded());
	close(fd);
	ASSERT_EQ(0, kbroker_load());
}

TEST_HARNESS_MAIN
