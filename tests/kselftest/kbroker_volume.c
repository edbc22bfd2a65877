// SPDX-License-Identifier: GPL-2.0
/*
 * Volume keys over raw generic netlink: CREATE wraps a fresh data key with
 * a master key from the caller's keyrings, OPEN unwraps it into a logon key
 * nobody can read, a wrong master key is refused with -EKEYREJECTED,
 * REWRAP moves the key to a new master key, CLOSE forgets it; open volumes
 * pin the module; strict policies; unprivileged callers refused.
 */
#include <stdlib.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "genl.h"
#include "kbroker_test.h"

#include <uapi/linux/kbroker.h>

#define KEY_SPEC_PROCESS_KEYRING	-2
#define KEYCTL_READ			11

static const uint8_t uuid1[16] = { 0x6b, 0x62, 0x72, 0x6b, 1, 2, 3, 4,
				   5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t uuid2[16] = { 0x6b, 0x62, 0x72, 0x6b, 1, 2, 3, 4,
				   5, 6, 7, 8, 9, 10, 11, 13 };
#define UUID1_STR "6b62726b-0102-0304-0506-0708090a0b0c"

static long add_master(const char *desc, uint8_t fill, size_t len)
{
	uint8_t k[64];

	memset(k, fill, sizeof(k));
	return syscall(SYS_add_key, "logon", desc, k, len,
		       KEY_SPEC_PROCESS_KEYRING);
}

FIXTURE(vol) {
	int fd;
	int family;
	struct genl_msg req, reply;
	uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN];
};

FIXTURE_SETUP(vol)
{
	ASSERT_EQ(0, kbroker_load());
	self->fd = genl_open();
	ASSERT_LE(0, self->fd);
	self->family = genl_family_id(self->fd, KBROKER_GENL_NAME);
	ASSERT_LT(0, self->family);
	ASSERT_LT(0, add_master("kbroker:master:a", 0xaa, 32));
	ASSERT_LT(0, add_master("kbroker:master:b", 0xbb, 32));
	ASSERT_LT(0, add_master("kbroker:master:short", 0xcc, 16));
}

FIXTURE_TEARDOWN(vol)
{
	close(self->fd);
}

static void put_str(struct genl_msg *m, int attr, const char *s)
{
	genl_put(m, attr, s, strlen(s) + 1);
}

static int vol_create(FIXTURE_DATA(vol) *self, const uint8_t *uuid,
		      const char *master)
{
	struct nlattr *a;
	int ret;

	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_CREATE,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid, 16);
	put_str(&self->req, KBROKER_A_VOLUME_MASTER_KEY, master);
	memset(&self->reply, 0, sizeof(self->reply));
	ret = genl_talk(self->fd, &self->req, &self->reply);
	if (ret)
		return ret;
	a = genl_attr(&self->reply, KBROKER_A_VOLUME_WRAPPED_KEY);
	if (!a || a->nla_len != NLA_HDRLEN + KBROKER_VOLUME_WRAPPED_LEN)
		return -EPROTO;
	memcpy(self->blob, genl_attr_data(a), KBROKER_VOLUME_WRAPPED_LEN);
	return 0;
}

static void open_req(FIXTURE_DATA(vol) *self, const uint8_t *uuid,
		     const char *label, const char *master)
{
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_OPEN,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid, 16);
	put_str(&self->req, KBROKER_A_VOLUME_LABEL, label);
	put_str(&self->req, KBROKER_A_VOLUME_CIPHER, KBROKER_VOLUME_CIPHER_NAME);
	put_str(&self->req, KBROKER_A_VOLUME_MASTER_KEY, master);
	genl_put(&self->req, KBROKER_A_VOLUME_WRAPPED_KEY, self->blob,
		 KBROKER_VOLUME_WRAPPED_LEN);
}

static int vol_open(FIXTURE_DATA(vol) *self, const uint8_t *uuid,
		    const char *label, const char *master)
{
	open_req(self, uuid, label, master);
	memset(&self->reply, 0, sizeof(self->reply));
	return genl_talk(self->fd, &self->req, &self->reply);
}

static int vol_close(FIXTURE_DATA(vol) *self, const uint8_t *uuid)
{
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_CLOSE,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid, 16);
	return genl_talk(self->fd, &self->req, NULL);
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Volume keys in /proc/keys that are not invalidated or revoked. */
static int live_vol_keys(void)
{
	FILE *f = fopen("/proc/keys", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	/* Flags are the second field: R revoked, D dead, i invalidated. */
	while (fgets(line, sizeof(line), f)) {
		char flags[16] = "";

		if (!strstr(line, KBROKER_VOLUME_KEY_PREFIX))
			continue;
		sscanf(line, "%*x %15s", flags);
		if (!strpbrk(flags, "RDi"))
			n++;
	}
	fclose(f);
	return n;
}

TEST_F(vol, create_open_close)
{
	char buf[128];
	struct nlattr *a;
	long id;

	ASSERT_EQ(0, vol_create(self, uuid1, "kbroker:master:a"));
	EXPECT_EQ(KBROKER_VOLUME_WRAP_GCM_AES256, self->blob[0]);
	ASSERT_EQ(0, vol_open(self, uuid1, "kst", "kbroker:master:a"));
	a = genl_attr(&self->reply, KBROKER_A_VOLUME_KEY_DESC);
	ASSERT_NE(NULL, a);
	EXPECT_STREQ(KBROKER_VOLUME_KEY_PREFIX UUID1_STR,
		     (char *)genl_attr_data(a));

	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/volumes/" UUID1_STR "/label",
			       buf, sizeof(buf)));
	EXPECT_STREQ("kst", buf);
	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/volumes/" UUID1_STR "/cipher",
			       buf, sizeof(buf)));
	EXPECT_STREQ("aes-xts-plain64", buf);
	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/volumes/" UUID1_STR
			       "/master_key", buf, sizeof(buf)));
	EXPECT_STREQ("kbroker:master:a", buf);
	ASSERT_EQ(0, read_file(KBROKER_SYSFS "/volumes/" UUID1_STR "/state",
			       buf, sizeof(buf)));
	EXPECT_STREQ("open", buf);

	/* The key is in our keyrings, where dm-crypt looks, but unreadable. */
	id = syscall(SYS_request_key, "logon",
		     KBROKER_VOLUME_KEY_PREFIX UUID1_STR, NULL, 0);
	ASSERT_LT(0, id);
	EXPECT_GT(0, syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof(buf)));
	EXPECT_EQ(1, live_vol_keys());

	/* Opening again is allowed (re-links the key). */
	ASSERT_EQ(0, vol_open(self, uuid1, "kst", "kbroker:master:a"));

	ASSERT_EQ(0, vol_close(self, uuid1));
	EXPECT_FALSE(exists(KBROKER_SYSFS "/volumes/" UUID1_STR));
	EXPECT_EQ(-ENOENT, vol_close(self, uuid1));
	EXPECT_EQ(0, live_vol_keys());
}

TEST_F(vol, wrong_or_missing_master_key)
{
	ASSERT_EQ(0, vol_create(self, uuid1, "kbroker:master:a"));
	EXPECT_EQ(-EKEYREJECTED, vol_open(self, uuid1, "kst",
					  "kbroker:master:b"));
	EXPECT_FALSE(exists(KBROKER_SYSFS "/volumes/" UUID1_STR));
	EXPECT_EQ(-ENOKEY, vol_open(self, uuid1, "kst", "kbroker:master:none"));
	EXPECT_EQ(-ENOKEY, vol_open(self, uuid1, "kst", "nocolon"));
	EXPECT_EQ(-ENOKEY, vol_create(self, uuid1, "kbroker:master:none"));
	EXPECT_EQ(-EINVAL, vol_create(self, uuid1, "kbroker:master:short"));
	/* The UUID is bound in: the blob does not open another volume. */
	EXPECT_EQ(-EKEYREJECTED, vol_open(self, uuid2, "kst",
					  "kbroker:master:a"));
	/* A flipped ciphertext bit is caught by the tag. */
	self->blob[20] ^= 1;
	EXPECT_EQ(-EKEYREJECTED, vol_open(self, uuid1, "kst",
					  "kbroker:master:a"));
	self->blob[20] ^= 1;
	self->blob[0] = 7;
	EXPECT_EQ(-EINVAL, vol_open(self, uuid1, "kst", "kbroker:master:a"));
}

TEST_F(vol, rewrap)
{
	struct nlattr *a;

	ASSERT_EQ(0, vol_create(self, uuid1, "kbroker:master:a"));
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_REWRAP,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid1, 16);
	put_str(&self->req, KBROKER_A_VOLUME_MASTER_KEY, "kbroker:master:a");
	put_str(&self->req, KBROKER_A_VOLUME_NEW_MASTER_KEY, "kbroker:master:b");
	genl_put(&self->req, KBROKER_A_VOLUME_WRAPPED_KEY, self->blob,
		 KBROKER_VOLUME_WRAPPED_LEN);
	ASSERT_EQ(0, genl_talk(self->fd, &self->req, &self->reply));
	a = genl_attr(&self->reply, KBROKER_A_VOLUME_WRAPPED_KEY);
	ASSERT_NE(NULL, a);
	memcpy(self->blob, genl_attr_data(a), KBROKER_VOLUME_WRAPPED_LEN);
	EXPECT_EQ(-EKEYREJECTED, vol_open(self, uuid1, "kst",
					  "kbroker:master:a"));
	ASSERT_EQ(0, vol_open(self, uuid1, "kst", "kbroker:master:b"));
	ASSERT_EQ(0, vol_close(self, uuid1));
}

TEST_F(vol, list_dumps_open_volumes)
{
	struct genl_msg m;
	char buf[16384];
	int n = 0, done = 0;

	ASSERT_EQ(0, vol_create(self, uuid1, "kbroker:master:a"));
	ASSERT_EQ(0, vol_open(self, uuid1, "one", "kbroker:master:a"));
	ASSERT_EQ(0, vol_create(self, uuid2, "kbroker:master:a"));
	ASSERT_EQ(0, vol_open(self, uuid2, "two", "kbroker:master:a"));

	genl_init(&m, self->family, KBROKER_CMD_VOLUME_LIST,
		  KBROKER_GENL_VERSION);
	m.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ASSERT_LT(0, send(self->fd, &m, m.n.nlmsg_len, 0));
	while (!done) {
		ssize_t len = recv(self->fd, buf, sizeof(buf), 0);
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
			ASSERT_NE(NULL, genl_attr(r, KBROKER_A_VOLUME_LABEL));
			ASSERT_NE(NULL, genl_attr(r, KBROKER_A_VOLUME_STATE));
			n++;
		}
	}
	EXPECT_EQ(2, n);
	ASSERT_EQ(0, vol_close(self, uuid1));
	ASSERT_EQ(0, vol_close(self, uuid2));
}

TEST_F(vol, open_volume_pins_module)
{
	ASSERT_EQ(0, vol_create(self, uuid1, "kbroker:master:a"));
	ASSERT_EQ(0, vol_open(self, uuid1, "kst", "kbroker:master:a"));
	EXPECT_NE(0, kbroker_unload());
	ASSERT_TRUE(kbroker_loaded());
	ASSERT_EQ(0, vol_close(self, uuid1));
	/* Closed: nothing pins it any more. */
	ASSERT_EQ(0, kbroker_unload());
	ASSERT_EQ(0, kbroker_load());
}

TEST_F(vol, open_close_200_cycles_leak_nothing)
{
	char before[32], after[32];
	int i;

	ASSERT_EQ(0, read_file("/sys/module/kbroker/refcnt", before,
			       sizeof(before)));
	ASSERT_EQ(0, vol_create(self, uuid1, "kbroker:master:a"));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, vol_open(self, uuid1, "kst", "kbroker:master:a"))
			TH_LOG("open %d", i);
		ASSERT_EQ(0, vol_close(self, uuid1)) TH_LOG("close %d", i);
	}
	ASSERT_EQ(0, read_file("/sys/module/kbroker/refcnt", after,
			       sizeof(after)));
	EXPECT_STREQ(before, after);
	EXPECT_EQ(0, live_vol_keys());
}

TEST_F(vol, strict_policies)
{
	char big[300];
	uint32_t v = 1;

	ASSERT_EQ(0, vol_create(self, uuid1, "kbroker:master:a"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;

	/* Short UUID. */
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_CLOSE,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid1, 15);
	EXPECT_GT(0, genl_talk(self->fd, &self->req, NULL));
	/* Missing UUID. */
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_CLOSE,
		  KBROKER_GENL_VERSION);
	EXPECT_EQ(-EINVAL, genl_talk(self->fd, &self->req, NULL));
	/* Oversized label and master key description. */
	EXPECT_GT(0, vol_open(self, uuid1, big, "kbroker:master:a"));
	EXPECT_GT(0, vol_open(self, uuid1, "kst", big));
	/* Labels name dm maps: no slashes. */
	EXPECT_EQ(-EINVAL, vol_open(self, uuid1, "../x", "kbroker:master:a"));
	EXPECT_EQ(-EINVAL, vol_open(self, uuid1, "", "kbroker:master:a"));
	/* An attribute OPEN does not take. */
	open_req(self, uuid1, "kst", "kbroker:master:a");
	genl_put(&self->req, KBROKER_A_LISTENER_PORT, &v, sizeof(v));
	EXPECT_EQ(-EINVAL, genl_talk(self->fd, &self->req, NULL));
	/* Short wrapped blob. */
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_OPEN,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid1, 16);
	put_str(&self->req, KBROKER_A_VOLUME_LABEL, "kst");
	put_str(&self->req, KBROKER_A_VOLUME_CIPHER, "aes-xts-plain64");
	put_str(&self->req, KBROKER_A_VOLUME_MASTER_KEY, "kbroker:master:a");
	genl_put(&self->req, KBROKER_A_VOLUME_WRAPPED_KEY, self->blob, 40);
	EXPECT_GT(0, genl_talk(self->fd, &self->req, NULL));
	/* Another cipher. */
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_OPEN,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid1, 16);
	put_str(&self->req, KBROKER_A_VOLUME_LABEL, "kst");
	put_str(&self->req, KBROKER_A_VOLUME_CIPHER, "cipher_null");
	put_str(&self->req, KBROKER_A_VOLUME_MASTER_KEY, "kbroker:master:a");
	genl_put(&self->req, KBROKER_A_VOLUME_WRAPPED_KEY, self->blob,
		 KBROKER_VOLUME_WRAPPED_LEN);
	EXPECT_EQ(-EINVAL, genl_talk(self->fd, &self->req, NULL));
	/* A string without its NUL. */
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_CREATE,
		  KBROKER_GENL_VERSION);
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid1, 16);
	genl_put(&self->req, KBROKER_A_VOLUME_MASTER_KEY, "kbroker:master:a",
		 16);
	EXPECT_EQ(-EINVAL, genl_talk(self->fd, &self->req, NULL));
	/* LIST takes nothing. */
	genl_init(&self->req, self->family, KBROKER_CMD_VOLUME_LIST,
		  KBROKER_GENL_VERSION);
	self->req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	genl_put(&self->req, KBROKER_A_VOLUME_UUID, uuid1, 16);
	EXPECT_GT(0, genl_talk(self->fd, &self->req, NULL));
	EXPECT_FALSE(exists(KBROKER_SYSFS "/volumes/" UUID1_STR));
}

TEST_F(vol, unprivileged_refused)
{
	static const int cmds[] = { KBROKER_CMD_VOLUME_CREATE,
		KBROKER_CMD_VOLUME_OPEN, KBROKER_CMD_VOLUME_CLOSE,
		KBROKER_CMD_VOLUME_REWRAP, KBROKER_CMD_VOLUME_LIST };
	pid_t pid;
	int status;

	ASSERT_EQ(0, vol_create(self, uuid1, "kbroker:master:a"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		size_t i;
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = genl_open();
		if (fd < 0)
			_exit(3);
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			open_req(self, uuid1, "kst", "kbroker:master:a");
			self->req.g.cmd = cmds[i];
			if (cmds[i] == KBROKER_CMD_VOLUME_LIST)
				self->req.n.nlmsg_flags |= NLM_F_DUMP;
			if (genl_talk(fd, &self->req, NULL) != -EPERM)
				_exit(10 + i);
		}
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_FALSE(exists(KBROKER_SYSFS "/volumes/" UUID1_STR));
}

TEST_HARNESS_MAIN
