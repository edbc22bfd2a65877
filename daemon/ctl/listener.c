// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl listener / state: the listeners the module enforces a policy
 * on, and the maintenance window.
 *
 *   kbrokerctl listener [list]
 *   kbrokerctl listener add NAME PORT [tls|tls_plaintext|plaintext]
 *   kbrokerctl listener del NAME
 *   kbrokerctl listener policy NAME tls|tls_plaintext|plaintext
 *   kbrokerctl state [active|maintenance]
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/kbnl.h"
#include "ctl/ctl.h"

#define LISTENERS "/sys/kernel/kbroker/listeners"

static const char *const policies[] = { "tls", "tls_plaintext", "plaintext" };

static int policy_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		if (!strcmp(s, policies[i]))
			return (int)i;
	return -1;
}

static void sysfs_read(const char *name, const char *file, char *buf,
		       size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), LISTENERS "/%s/%s", name, file);
	snprintf(buf, len, "-");
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static int listener_list(void)
{
	static const char *const cols[] = { "port", "policy", "connections",
		"tls", "plaintext", "ktls_tx", "ktls_rx", "userspace_tls",
		"rejected", "tracked" };
	struct dirent *de;
	char buf[64];
	size_t i;
	DIR *d;

	d = opendir(LISTENERS);
	if (!d) {
		fprintf(stderr, "kbrokerctl: %s: %s\n", LISTENERS,
			errno == ENOENT ? "the kbroker kernel module is not loaded" :
			strerror(errno));
		return 1;
	}
	printf("%-32s", "listener");
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		printf(" %s", cols[i]);
	printf("\n");
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		printf("%-32s", de->d_name);
		for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
			sysfs_read(de->d_name, cols[i], buf, sizeof(buf));
			printf(" %*s", (int)strlen(cols[i]), buf);
		}
		printf("\n");
	}
	closedir(d);
	return 0;
}

static int policy_write(const char *name, const char *policy)
{
	char path[512];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), LISTENERS "/%s/policy", name);
	f = fopen(path, "w");
	if (!f || fputs(policy, f) < 0 || fflush(f))
		ret = -errno;
	if (f && fclose(f) && !ret)
		ret = -errno;
	if (ret == -EBUSY)
		fprintf(stderr,
			"kbrokerctl: the broker is in MAINTENANCE: policy changes are refused until it is ACTIVE\n");
	else if (ret)
		fprintf(stderr, "kbrokerctl: %s: %s\n", path, strerror(-ret));
	return ret ? 1 : 0;
}

static int nl_call(int (*fn)(struct kbnl *nl, void *arg), void *arg)
{
	struct kbnl *nl;
	int ret;

	ret = kbnl_open(&nl);
	if (!ret) {
		ret = fn(nl, arg);
		kbnl_close(nl);
	}
	if (ret == -EBUSY)
		fprintf(stderr,
			"kbrokerctl: the broker is in MAINTENANCE: updates are refused until it is ACTIVE\n");
	else if (ret == -EEXIST || ret == -EADDRINUSE)
		fprintf(stderr, "kbrokerctl: that listener name or port is taken\n");
	else if (ret)
		kbctl_nl_error(ret);
	return ret ? 1 : 0;
}

struct add_args {
	const char *name;
	unsigned long port;
	int policy;
};

static int do_add(struct kbnl *nl, void *arg)
{
	struct add_args *a = arg;

	return kbnl_listener_add(nl, a->name, (uint16_t)a->port,
				 (uint32_t)a->policy);
}

static int do_del(struct kbnl *nl, void *arg)
{
	return kbnl_listener_del(nl, arg);
}

static int do_state(struct kbnl *nl, void *arg)
{
	return kbnl_set_state(nl, *(uint32_t *)arg);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: kbrokerctl listener [list]\n"
		"       kbrokerctl listener add NAME PORT [tls|tls_plaintext|plaintext]\n"
		"       kbrokerctl listener del NAME\n"
		"       kbrokerctl listener policy NAME tls|tls_plaintext|plaintext\n");
	return 2;
}

int kbctl_listener(int argc, char **argv)
{
	struct add_args a = { 0 };
	char *end;

	if (argc < 2 || !strcmp(argv[1], "list"))
		return argc <= 2 ? listener_list() : usage();
	if (!strcmp(argv[1], "add") && (argc == 4 || argc == 5)) {
		a.name = argv[2];
		errno = 0;
		a.port = strtoul(argv[3], &end, 10);
		a.policy = argc == 5 ? policy_parse(argv[4]) : 0;
		if (errno || *end || !a.port || a.port > 65535 || a.policy < 0)
			return usage();
		return nl_call(do_add, &a);
	}
	if (!strcmp(argv[1], "del") && argc == 3)
		return nl_call(do_del, argv[2]);
	if (!strcmp(argv[1], "policy") && argc == 4 &&
	    policy_parse(argv[3]) >= 0) {
		if (kbctl_refuse_in_maintenance())
			return 1;
		return policy_write(argv[2], argv[3]);
	}
	return usage();
}

int kbctl_state(int argc, char **argv)
{
	uint32_t state;

	if (argc == 1) {
		char *args[] = { "status", NULL };

		return kbctl_status(1, args);
	}
	if (argc != 2)
		goto bad;
	if (!strcasecmp(argv[1], "active"))
		state = KBROKER_STATE_ACTIVE;
	else if (!strcasecmp(argv[1], "maintenance"))
		state = KBROKER_STATE_MAINTENANCE;
	else
		goto bad;
	return nl_call(do_state, &state);
bad:
	fprintf(stderr, "usage: kbrokerctl state [active|maintenance]\n");
	return 2;
}
