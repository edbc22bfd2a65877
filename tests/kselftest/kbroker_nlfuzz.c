// SPDX-License-Identifier: GPL-2.0
/*
 * Random generic netlink traffic at the "kbroker" family from two
 * processes at once, plus random writes to a listener's sysfs policy
 * file: commands in and beyond range, every attribute id with lengths
 * around the policy's limits, garbage nests, dumps, stray flags, and fds
 * of every kind for SOCK_ATTACH.  Half the volume requests use a real
 * master key and wrapped keys the module made (some bit-flipped), so the
 * unwrap, open and close paths run too.  The guest runs with
 * panic_on_warn, so any WARN or oops fails the suite; afterwards the
 * module must still answer, hold nothing the test did not clean up, and
 * unload.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <linux/keyctl.h>

#include "kselftest_harness.h"
#include "genl.h"
#include "kbroker_test.h"

#include <uapi/linux/kbroker.h>

#define ROUNDS 12000
#define NAMES 4
#define UUIDS 4
#define MASTER "kbroker:master:nlfuzz"

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

/* Wrapped keys the module returned, for OPEN and REWRAP to reuse. */
static uint8_t wrapped[UUIDS][KBROKER_VOLUME_WRAPPED_LEN];
static bool have_wrapped[UUIDS];
static int fds[8];

static void uuid_of(int i, uint8_t *u)
{
	memset(u, 0, KBROKER_VOLUME_UUID_LEN);
	u[0] = 0xf5;
	u[15] = (uint8_t)i;
}

/* Payload for attribute @type: plausible when @fit, else by chance. */
static uint16_t payload(uint16_t type, uint8_t *p, bool fit)
{
	static const uint16_t lens[] = { 0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 31,
					 32, 33, 63, 64, 65, 97, 127, 128,
					 129, 200, 400 };
	uint16_t len = lens[below(sizeof(lens) / sizeof(lens[0]))];
	uint32_t v;

	if (fit || below(3)) {
		switch (type) {
		case KBROKER_A_LISTENER_NAME:
			return sprintf((char *)p, "fz%u", below(NAMES)) + 1;
		case KBROKER_A_VOLUME_LABEL:
			return sprintf((char *)p, "fzvol%u", below(NAMES)) + 1;
		case KBROKER_A_VOLUME_CIPHER:
			return sprintf((char *)p, "%s", below(2) ?
				       KBROKER_VOLUME_CIPHER_NAME :
				       "cipher_null") + 1;
		case KBROKER_A_VOLUME_MASTER_KEY:
		case KBROKER_A_VOLUME_NEW_MASTER_KEY:
			return sprintf((char *)p, "%s", below(4) ? MASTER :
				       "kbroker:master:none") + 1;
		case KBROKER_A_VOLUME_UUID:
			uuid_of(below(UUIDS + 1), p);
			return KBROKER_VOLUME_UUID_LEN;
		case KBROKER_A_VOLUME_WRAPPED_KEY: {
			int i = below(UUIDS);

			memcpy(p, wrapped[i], KBROKER_VOLUME_WRAPPED_LEN);
			if (!below(3))
				p[below(KBROKER_VOLUME_WRAPPED_LEN)] ^=
					1 << below(8);
			return KBROKER_VOLUME_WRAPPED_LEN;
		}
		case KBROKER_A_LISTENER_PORT:
			v = below(65536);
			memcpy(p, &v, 2);
			return 2;
		case KBROKER_A_SOCK_FD:
			v = below(4) ? (uint32_t)fds[below(8)] : rnd();
			memcpy(p, &v, 4);
			return 4;
		case KBROKER_A_STATE:
		case KBROKER_A_LISTENER_POLICY:
		case KBROKER_A_SOCK_FLAGS:
		case KBROKER_A_VOLUME_STATE:
			v = below(5) ? below(5) : rnd();
			memcpy(p, &v, 4);
			return 4;
		}
	}
	for (uint16_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
	if (len && below(2))
		p[len - 1] = 0;
	return len;
}

static uint16_t attr_type(void)
{
	static const uint16_t ids[] = {
		KBROKER_A_VERSION, KBROKER_A_STATE, KBROKER_A_LISTENER_NAME,
		KBROKER_A_LISTENER_PORT, KBROKER_A_LISTENER_POLICY,
		KBROKER_A_LISTENER_COUNTERS, KBROKER_A_SOCK_FD,
		KBROKER_A_SOCK_FLAGS, KBROKER_A_EVENT_TYPE,
		KBROKER_A_VOLUME_UUID, KBROKER_A_VOLUME_LABEL,
		KBROKER_A_VOLUME_CIPHER, KBROKER_A_VOLUME_MASTER_KEY,
		KBROKER_A_VOLUME_WRAPPED_KEY, KBROKER_A_VOLUME_NEW_MASTER_KEY,
		KBROKER_A_VOLUME_STATE, KBROKER_A_VOLUME_KEY_DESC,
	};
	uint16_t t = below(8) ? ids[below(sizeof(ids) / sizeof(ids[0]))]
			      : (uint16_t)below(KBROKER_A_MAX + 8);

	return below(16) ? t : t | NLA_F_NESTED;
}

/* The attributes each command takes, so half the requests pass policy. */
static const uint16_t shape[][6] = {
	[KBROKER_CMD_SET_STATE] = { KBROKER_A_STATE },
	[KBROKER_CMD_LISTENER_ADD] = { KBROKER_A_LISTENER_NAME,
				       KBROKER_A_LISTENER_PORT,
				       KBROKER_A_LISTENER_POLICY },
	[KBROKER_CMD_LISTENER_DEL] = { KBROKER_A_LISTENER_NAME },
	[KBROKER_CMD_LISTENER_GET] = { KBROKER_A_LISTENER_NAME },
	[KBROKER_CMD_LISTENER_SET] = { KBROKER_A_LISTENER_NAME,
				       KBROKER_A_LISTENER_POLICY },
	[KBROKER_CMD_SOCK_ATTACH] = { KBROKER_A_SOCK_FD,
				      KBROKER_A_LISTENER_NAME,
				      KBROKER_A_SOCK_FLAGS },
	[KBROKER_CMD_VOLUME_CREATE] = { KBROKER_A_VOLUME_UUID,
					KBROKER_A_VOLUME_MASTER_KEY },
	[KBROKER_CMD_VOLUME_OPEN] = { KBROKER_A_VOLUME_UUID,
				      KBROKER_A_VOLUME_LABEL,
				      KBROKER_A_VOLUME_CIPHER,
				      KBROKER_A_VOLUME_MASTER_KEY,
				      KBROKER_A_VOLUME_WRAPPED_KEY },
	[KBROKER_CMD_VOLUME_CLOSE] = { KBROKER_A_VOLUME_UUID },
	[KBROKER_CMD_VOLUME_REWRAP] = { KBROKER_A_VOLUME_UUID,
					KBROKER_A_VOLUME_MASTER_KEY,
					KBROKER_A_VOLUME_NEW_MASTER_KEY,
					KBROKER_A_VOLUME_WRAPPED_KEY },
};

/* A real CREATE, so later OPENs have a wrapped key to work with. */
static void create_one(int fd, int family, int i)
{
	struct genl_msg m, r;
	uint8_t u[KBROKER_VOLUME_UUID_LEN];
	struct nlattr *a;

	uuid_of(i, u);
	genl_init(&m, family, KBROKER_CMD_VOLUME_CREATE, KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_VOLUME_UUID, u, sizeof(u));
	genl_put(&m, KBROKER_A_VOLUME_MASTER_KEY, MASTER, sizeof(MASTER));
	memset(&r, 0, sizeof(r));
	if (genl_talk(fd, &m, &r))
		return;
	a = genl_attr(&r, KBROKER_A_VOLUME_WRAPPED_KEY);
	if (a && a->nla_len == NLA_HDRLEN + KBROKER_VOLUME_WRAPPED_LEN) {
		memcpy(wrapped[i], genl_attr_data(a),
		       KBROKER_VOLUME_WRAPPED_LEN);
		have_wrapped[i] = true;
	}
}

static void write_policy(void)
{
	static const char *const words[] = { "tls", "tls_plaintext",
					     "plaintext", "tls\n", " tls",
					     "TLS", "", "\n", "tls_", };
	char path[128], s[300];
	size_t n;
	int fd;

	snprintf(path, sizeof(path), KBROKER_SYSFS "/listeners/fz%u/policy",
		 below(NAMES));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (below(2)) {
		snprintf(s, sizeof(s), "%s", words[below(9)]);
		n = strlen(s);
	} else {
		n = below(sizeof(s));
		for (size_t i = 0; i < n; i++)
			s[i] = (char)rnd();
	}
	if (write(fd, s, n) < 0)
		(void)errno;
	close(fd);
}

/* One fuzzing process; counts the requests the kernel accepted. */
static int fuzz(int family, uint64_t seed, int ok[KBROKER_CMD_MAX + 2])
{
	int fd = genl_open();
	struct genl_msg m;

	rng = seed;
	if (fd < 0)
		return -1;
	fds[0] = fd;
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	fds[2] = socket(AF_INET, SOCK_DGRAM, 0);
	fds[3] = open("/dev/null", O_RDONLY);
	fds[4] = -1;
	fds[5] = 0;
	fds[6] = 4096;
	fds[7] = socket(AF_UNIX, SOCK_STREAM, 0);
	for (int i = 0; i < UUIDS; i++)
		create_one(fd, family, i);

	for (int round = 0; round < ROUNDS; round++) {
		uint8_t p[512];
		int n = below(7);

		if (!below(10)) {
			write_policy();
			continue;
		}
		uint8_t cmd = below(12) ? below(KBROKER_CMD_MAX + 1) :
					  below(256);
		bool shaped = cmd <= KBROKER_CMD_MAX && below(2);

		genl_init(&m, family, cmd, below(8) ? KBROKER_GENL_VERSION :
			  below(4));
		if (!below(6) || (shaped && cmd == KBROKER_CMD_VOLUME_LIST))
			m.n.nlmsg_flags |= NLM_F_DUMP;
		if (shaped) {
			/* The command's own attributes, one of them maybe
			 * dropped, plus maybe one stray. */
			int drop = below(4) ? -1 : (int)below(6);

			n = !below(4);
			for (int i = 0; i < 6 && cmd < sizeof(shape) /
			     sizeof(shape[0]) && shape[cmd][i]; i++) {
				uint16_t t = shape[cmd][i];

				if (i != drop)
					genl_put(&m, t, p, payload(t, p, true));
			}
		}
		for (int i = 0; i < n; i++) {
			uint16_t t = attr_type(), len = payload(t, p, false);

			if (NLMSG_ALIGN(m.n.nlmsg_len) + NLA_HDRLEN + len >
			    sizeof(m))
				break;
			genl_put(&m, t, p, len);
		}
		/* A length field that lies about the last attribute. */
		if (n && !below(20)) {
			struct nlattr *a = (struct nlattr *)m.buf;

			a->nla_len += below(2) ? 4 : -2;
		}
		if (!genl_talk(fd, &m, NULL))
			ok[cmd <= KBROKER_CMD_MAX ? cmd : KBROKER_CMD_MAX + 1]++;
	}
	close(fd);
	return 0;
}

static long keyctl(int cmd, unsigned long a, unsigned long b)
{
	return syscall(SYS_keyctl, cmd, a, b, 0, 0);
}

FIXTURE(nlfuzz) {
	int unused;
};

FIXTURE_SETUP(nlfuzz)
{
}

FIXTURE_TEARDOWN(nlfuzz)
{
}

/* Minutes under TCG emulation; the harness's default is 30 s. */
TEST_F_TIMEOUT(nlfuzz, random_requests_from_two_processes, 600)
{
	uint8_t key[KBROKER_MASTER_KEY_LEN];
	uint32_t active = KBROKER_STATE_ACTIVE;
	struct genl_msg m;
	int fd, family, status;
	pid_t kids[2];

	ASSERT_EQ(0, kbroker_load());
	fd = genl_open();
	ASSERT_LE(0, fd);
	family = genl_family_id(fd, KBROKER_GENL_NAME);
	ASSERT_LT(0, family);

	/* A master key in a session keyring both children inherit. */
	ASSERT_LE(0, keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0));
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	ASSERT_LE(0, syscall(SYS_add_key, "user", MASTER, key, sizeof(key),
			     KEY_SPEC_SESSION_KEYRING));

	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		ASSERT_LE(0, kids[k]);
		if (!kids[k]) {
			int ok[KBROKER_CMD_MAX + 2] = { 0 };
			int ret = fuzz(family, 0x9e3779b97f4a7c15ULL * (k + 1),
				       ok);

			/* Accepted per command: the deep paths were run. */
			printf("# process %d, %d requests, accepted by cmd:", k,
			       ROUNDS);
			for (int c = 0; c <= KBROKER_CMD_MAX + 1; c++)
				printf(" %d", ok[c]);
			printf("\n");
			_exit(ret != 0);
		}
	}
	for (int k = 0; k < 2; k++) {
		ASSERT_EQ(kids[k], waitpid(kids[k], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}

	/* Still answering; undo what the fuzzing left behind. */
	genl_init(&m, family, KBROKER_CMD_GET_STATUS, KBROKER_GENL_VERSION);
	ASSERT_EQ(0, genl_talk(fd, &m, NULL));
	/* Active first: listeners cannot change in maintenance. */
	genl_init(&m, family, KBROKER_CMD_SET_STATE, KBROKER_GENL_VERSION);
	genl_put(&m, KBROKER_A_STATE, &active, sizeof(active));
	EXPECT_EQ(0, genl_talk(fd, &m, NULL));
	for (int i = 0; i <= UUIDS; i++) {
		uint8_t u[KBROKER_VOLUME_UUID_LEN];
		int ret;

		uuid_of(i, u);
		genl_init(&m, family, KBROKER_CMD_VOLUME_CLOSE,
			  KBROKER_GENL_VERSION);
		genl_put(&m, KBROKER_A_VOLUME_UUID, u, sizeof(u));
		ret = genl_talk(fd, &m, NULL);
		EXPECT_TRUE(ret == 0 || ret == -ENOENT);
	}
	for (int i = 0; i < NAMES; i++) {
		char name[16];
		int ret;

		genl_init(&m, family, KBROKER_CMD_LISTENER_DEL,
			  KBROKER_GENL_VERSION);
		genl_put(&m, KBROKER_A_LISTENER_NAME, name,
			 sprintf(name, "fz%d", i) + 1);
		ret = genl_talk(fd, &m, NULL);
		EXPECT_TRUE(ret == 0 || ret == -ENOENT);
	}
	close(fd);

	/* Nothing left pinned: the module unloads, and loads again. */
	EXPECT_EQ(0, kbroker_unload());
	EXPECT_EQ(0, kbroker_load());
}

TEST_HARNESS_MAIN
