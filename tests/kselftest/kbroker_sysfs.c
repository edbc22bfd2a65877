// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/kbroker: files read back what the module holds, and
 * read-only files refuse writes.
 */
#include "kselftest_harness.h"
#include "kbroker_test.h"

FIXTURE(sysfs) {
	char buf[256];
};

FIXTURE_SETUP(sysfs)
{
	ASSERT_EQ(0, kbroker_load());
}

FIXTURE_TEARDOWN(sysfs)
{
}

TEST_F(sysfs, version_matches_module)
{
	char modver[64];

	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/version", self->buf,
			       sizeof(self->buf)));
	ASSERT_EQ(0, read_file("/sys/module/kbroker/version", modver,
			       sizeof(modver)));
	EXPECT_STREQ(modver, self->buf);
	EXPECT_NE(0, self->buf[0]);
}

TEST_F(sysfs, state_reads_active)
{
	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/state", self->buf,
			       sizeof(self->buf)));
	EXPECT_STREQ("ACTIVE", self->buf);
}

TEST_F(sysfs, read_only_files_refuse_writes)
{
	EXPECT_EQ(-EACCES, write_file(KBROKER_SYSFS "/version", "9.9.9\n"));
	EXPECT_EQ(-EACCES, write_file(KBROKER_SYSFS "/state", "MAINTENANCE\n"));
	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/state", self->buf,
			       sizeof(self->buf)));
	EXPECT_STREQ("ACTIVE", self->buf);
}

TEST_F(sysfs, reads_in_small_pieces)
{
	char c;
	int fd = open(KBROKER_SYSFS "/state", O_RDONLY);
	int n = 0;

	ASSERT_LE(0, fd);
	while (read(fd, &c, 1) == 1)
		self->buf[n++] = c;
	close(fd);
	self->buf[n] = 0;
	EXPECT_STREQ("ACTIVE\n", self->buf);
}

TEST_HARNESS_MAIN
