// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl volume: kbroker's encrypted volumes.  The header (volhdr.c)
 * holds the data key wrapped by the module; opening asks the module to
 * unwrap it into a logon key in this process's keyring, then loads a
 * dm-crypt table that names that key, so the key bytes never pass
 * through userspace.  See Documentation/kbroker/volumes.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/types.h>

#include "keys/kbnl.h"
#include "keys/kbnl_volume.h"
#include "keys/volhdr.h"
#include "keys/volume_ops.h"
#include "ctl/ctl.h"

#define DEFAULT_MASTER	KBVOLOP_DEFAULT_MASTER
#define MAP_PREFIX	KBVOLOP_MAP_PREFIX
#define TORN_BYTES	256

/* Test hook: KBROKER_TEST_CRASH_AT=N makes the tool die at step N. */
static int crash_at(int step)
{
	const char *s = getenv("KBROKER_TEST_CRASH_AT");

	return s && atoi(s) == step;
}

static void crash_point(int step)
{
	if (!crash_at(step))
		return;
	fprintf(stderr, "kbrokerctl: KBROKER_TEST_CRASH_AT=%d: dying here\n",
		step);
	_exit(99);
}

/* Writes one header copy; at crash step @torn, only part of it. */
static int write_copy(int fd, const struct volhdr *h, int which, int torn)
{
	uint8_t buf[VOLHDR_SIZE];

	if (crash_at(torn)) {
		volhdr_encode(h, buf);
		if (pwrite(fd, buf, TORN_BYTES,
			   which ? VOLHDR_COPY_B : VOLHDR_COPY_A) < 0)
			perror("pwrite");
		fsync(fd);
		crash_point(torn);
	}
	return volhdr_write(fd, h, which);
}

/* The shared open/close code lives in keys/volume_ops.c. */
static int dm_map_info(const char *name, dev_t *devt)
{
	return kbvolop_map_info(name, devt, NULL, 0);
}

/* One line per copy of what a scan found, each prefixed with @pfx. */
static void print_copies(FILE *f, const char *pfx, const struct volhdr_scan *s)
{
	char uuid[37];
	int i;

	for (i = 0; i < 2; i++) {
		const struct volhdr *h = &s->h[i];

		fprintf(f, "%scopy %c at byte %d: %s", pfx, i ? 'B' : 'A',
			i ? VOLHDR_COPY_B : VOLHDR_COPY_A,
			volhdr_copy_state_name(s->state[i]));
		if (s->state[i] == VOLHDR_TORN)
			fprintf(f, " (%s)", s->err[i] == -EBADMSG ?
				"checksum does not match" : "bad version or field");
		if (s->state[i] != VOLHDR_BLANK && s->label_ok[i]) {
			volhdr_uuid_str(h->uuid, uuid);
			fprintf(f, ", volume '%s' %s, generation %llu", h->label,
				uuid, (unsigned long long)h->generation);
			if (h->master[0])
				fprintf(f, ", master key %s", h->master);
		}
		fputc('\n', f);
	}
}

/*
 * Anything that looks like a kbroker header, even one neither copy of
 * which is valid any more, may still be repaired and hold data: never
 * overwritten without --force.
 */
static void refuse_format(const char *dev, const struct volhdr_scan *s)
{
	int valid = s->state[0] == VOLHDR_VALID || s->state[1] == VOLHDR_VALID;

	fprintf(stderr,
		"kbrokerctl: %s %s; nothing was changed (--force destroys it and the data encrypted behind it):\n",
		dev, valid ? "already holds a kbroker volume" :
			     "looks like a damaged kbroker volume");
	print_copies(stderr, "kbrokerctl:   ", s);
}

static void print_destroyed(const char *dev, const struct volhdr_scan *s,
			    uint64_t size)
{
	printf("--force: about to destroy what %s holds:\n", dev);
	print_copies(stdout, "  ", s);
	printf("  and %llu MiB of data encrypted under its key (unreadable from now on)\n",
	       (unsigned long long)((size - VOLHDR_DATA_OFFSET) >> 20));
	fflush(stdout);
}

static int cmd_format(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "master-key", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ 0 }
	};
	const char *label = NULL, *master = DEFAULT_MASTER, *dev;
	uint8_t zero[65536] = { 0 };
	struct volhdr h = { 0 };
	struct volhdr_scan scan;
	struct kbnl *nl;
	int c, fd, force = 0, ret = 1;
	char uuid[37];
	uint64_t size, off;

	while ((c = getopt_long(argc, argv, "l:m:f", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			label = optarg;
			break;
		case 'm':
			master = optarg;
			break;
		case 'f':
			force = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || !label) {
		fprintf(stderr,
			"usage: kbrokerctl volume format DEV --label NAME [--master-key DESC] [--force]\n");
		return 2;
	}
	dev = argv[optind];
	if (!volhdr_label_ok(label) ||
	    strlen(label) >= KBROKER_VOLUME_LABEL_MAX) {
		fprintf(stderr,
			"kbrokerctl: label '%s': 1-63 letters, digits, '_', '.', '-'\n",
			label);
		return 2;
	}
	if (strlen(master) >= KBROKER_MASTER_KEY_DESC_MAX) {
		fprintf(stderr, "kbrokerctl: master key description too long\n");
		return 2;
	}
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "kbrokerctl: %s: %m\n", dev);
		return 1;
	}
	if (kbvolop_dev_size(fd, &size) || size < VOLHDR_DATA_OFFSET + (1 << 20)) {
		fprintf(stderr, "kbrokerctl: %s: too small (at least 2 MiB)\n",
			dev);
		goto out_fd;
	}
	c = volhdr_scan(fd, &scan);
	if (c) {
		fprintf(stderr, "kbrokerctl: %s: %s\n", dev, strerror(-c));
		goto out_fd;
	}
	if (volhdr_scan_found(&scan)) {
		if (!force) {
			refuse_format(dev, &scan);
			goto out_fd;
		}
		print_destroyed(dev, &scan, size);
	}
	if (kbvolop_master_prepare(master, 1))
		goto out_fd;
	if (getrandom(h.uuid, sizeof(h.uuid), 0) != sizeof(h.uuid))
		goto out_fd;
	h.uuid[6] = (h.uuid[6] & 0x0f) | 0x40;	/* RFC 4122 version 4 */
	h.uuid[8] = (h.uuid[8] & 0x3f) | 0x80;
	h.generation = 1;
	snprintf(h.label, sizeof(h.label), "%s", label);
	snprintf(h.cipher, sizeof(h.cipher), "%s", KBROKER_VOLUME_CIPHER_NAME);
	snprintf(h.master, sizeof(h.master), "%s", master);
	h.key_bytes = KBROKER_VOLUME_KEY_LEN;
	h.wrap_alg = KBROKER_VOLUME_WRAP_GCM_AES256;
	h.data_offset = VOLHDR_DATA_OFFSET;
	h.wrapped_len = KBROKER_VOLUME_WRAPPED_LEN;
	h.fs = VOLHDR_FS_NONE;	/* the first open makes it */
	if (kbvolop_nl_connect(&nl))
		goto out_fd;
	c = kbvol_create(nl, h.uuid, master, h.wrapped);
	kbnl_close(nl);
	if (c) {
		kbvolop_vol_error("format", master, label, c);
		goto out_fd;
	}
	/* Clear the header area: no stale signature (old fs, old copy) stays. */
	for (off = 0; off < VOLHDR_DATA_OFFSET; off += sizeof(zero))
		if (pwrite(fd, zero, sizeof(zero), off) != sizeof(zero)) {
			fprintf(stderr, "kbrokerctl: %s: %m\n", dev);
			goto out_fd;
		}
	c = volhdr_write(fd, &h, 1);
	if (!c)
		c = volhdr_write(fd, &h, 0);
	if (c) {
		fprintf(stderr, "kbrokerctl: %s: writing the header: %s\n", dev,
			strerror(-c));
		goto out_fd;
	}
	volhdr_uuid_str(h.uuid, uuid);
	printf("formatted %s: kbroker volume '%s' %s, master key %s\n", dev,
	       label, uuid, master);
	ret = 0;
out_fd:
	close(fd);
	return ret;
}

static int cmd_open(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mount", required_argument, NULL, 'M' },
		{ "master-key", required_argument, NULL, 'm' },
		{ 0 }
	};
	const char *mnt = NULL, *master = NULL;
	struct kbvolop_open_res res;
	char dev[PATH_MAX];
	int c;

	while ((c = getopt_long(argc, argv, "M:m:", opts, NULL)) != -1) {
		switch (c) {
		case 'M':
			mnt = optarg;
			break;
		case 'm':
			master = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"usage: kbrokerctl volume open DEV [--mount DIR] [--master-key DESC]\n");
		return 2;
	}
	if (!realpath(argv[optind], dev)) {
		fprintf(stderr, "kbrokerctl: %s: %m\n", argv[optind]);
		return 1;
	}
	if (kbvolop_open(dev, mnt, master, "open", 0, &res))
		return 1;
	printf("opened '%s' %s as %s%s%s\n", res.label, res.uuid, res.node,
	       mnt ? " on " : "", mnt ? mnt : "");
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "master-key", required_argument, NULL, 'm' },
		{ 0 }
	};
	const char *master = NULL;
	char dev[PATH_MAX];
	int c, repair = 0;

	while ((c = getopt_long(argc, argv, "rm:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			repair = 1;
			break;
		case 'm':
			master = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"usage: kbrokerctl volume check DEV [--repair] [--master-key DESC]\n");
		return 2;
	}
	if (!realpath(argv[optind], dev)) {
		fprintf(stderr, "kbrokerctl: %s: %m\n", argv[optind]);
		return 1;
	}
	return kbvolop_check(dev, master, repair) ? 1 : 0;
}

static int cmd_close(int argc, char **argv)
{
	const char *label;
	struct volhdr h;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: kbrokerctl volume close DEV|LABEL\n");
		return 2;
	}
	if (strchr(argv[1], '/')) {
		fd = kbvolop_dev_open(argv[1], O_RDONLY, &h);
		if (fd < 0)
			return 1;
		close(fd);
		label = h.label;
	} else {
		label = argv[1];
	}
	if (!volhdr_label_ok(label)) {
		fprintf(stderr, "kbrokerctl: bad label '%s'\n", label);
		return 2;
	}
	if (kbvolop_close(label))
		return 1;
	printf("closed '%s'\n", label);
	return 0;
}

static int status_cb(const struct kbvol_info *v, void *arg)
{
	char uuid[37], name[128], mp[PATH_MAX] = "-";
	int *n = arg;
	dev_t devt;
	int mapped;

	volhdr_uuid_str(v->uuid, uuid);
	snprintf(name, sizeof(name), MAP_PREFIX "%s", v->label);
	mapped = dm_map_info(name, &devt) == 1;
	if (mapped)
		kbvolop_find_mount(devt, 0, mp, sizeof(mp));
	if (!(*n)++)
		printf("%-16s %-36s %-6s %-24s %-28s %s\n", "LABEL", "UUID",
		       "STATE", "MASTER KEY", "MAP", "MOUNT");
	printf("%-16s %-36s %-6s %-24s /dev/mapper/%-16s %s\n", v->label, uuid,
	       mapped ? "open" : "keyed", v->master, name, mp);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	struct kbnl *nl;
	int n = 0, ret;

	(void)argc;
	(void)argv;
	if (kbvolop_nl_connect(&nl))
		return 1;
	ret = kbvol_list(nl, status_cb, &n);
	kbnl_close(nl);
	if (ret) {
		kbctl_nl_error(ret);
		return 1;
	}
	if (!n)
		printf("no open volumes\n");
	return 0;
}

/*
 * New header to copy B, synced, then to copy A, each a generation higher:
 * whenever we die, one valid copy wraps the key with the old or the new
 * master key (Documentation/kbroker/volumes.rst).
 */
static int cmd_rewrap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "master-key", required_argument, NULL, 'm' },
		{ 0 }
	};
	const char *newm = NULL;
	char old[KBROKER_MASTER_KEY_DESC_MAX];
	struct kbnl *nl;
	struct volhdr h;
	int c, fd, ret = 1;

	while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
		if (c != 'm')
			return 2;
		newm = optarg;
	}
	if (optind != argc - 1 || !newm) {
		fprintf(stderr,
			"usage: kbrokerctl volume rewrap DEV --master-key NEW\n");
		return 2;
	}
	if (strlen(newm) >= KBROKER_MASTER_KEY_DESC_MAX) {
		fprintf(stderr, "kbrokerctl: master key description too long\n");
		return 2;
	}
	if (kbctl_refuse_in_maintenance())
		return 1;
	fd = kbvolop_dev_open(argv[optind], O_RDWR, &h);
	if (fd < 0)
		return 1;
	snprintf(old, sizeof(old), "%s", h.master);
	if (kbvolop_master_prepare(old, 0) || kbvolop_master_prepare(newm, 1) ||
	    kbvolop_nl_connect(&nl))
		goto out_fd;
	c = kbvol_rewrap(nl, h.uuid, old, newm, h.wrapped, h.wrapped);
	kbnl_close(nl);
	if (c == -ENOKEY) {
		fprintf(stderr,
			"kbrokerctl: rewrap: master key '%s' or '%s' not found in the kernel keyring; nothing was changed\n",
			old, newm);
		goto out_fd;
	}
	if (c) {
		kbvolop_vol_error("rewrap", old, h.label, c);
		goto out_fd;
	}
	crash_point(1);
	snprintf(h.master, sizeof(h.master), "%s", newm);
	h.generation++;
	c = write_copy(fd, &h, 1, 2);
	crash_point(3);
	h.generation++;
	if (!c)
		c = write_copy(fd, &h, 0, 4);
	crash_point(5);
	if (c) {
		fprintf(stderr, "kbrokerctl: %s: writing the header: %s\n",
			argv[optind], strerror(-c));
		goto out_fd;
	}
	printf("rewrapped '%s': master key %s -> %s\n", h.label, old, newm);
	ret = 0;
out_fd:
	close(fd);
	return ret;
}

/* For udev's IMPORT{program}: silent and non-zero on anything else. */
static int cmd_probe(int argc, char **argv)
{
	struct volhdr h;
	char uuid[37];
	int fd;

	if (argc != 2)
		return 2;
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (volhdr_read(fd, &h, NULL)) {
		close(fd);
		return 1;
	}
	close(fd);
	volhdr_uuid_str(h.uuid, uuid);
	printf("KBROKER_LABEL=%s\nKBROKER_UUID=%s\n", h.label, uuid);
	/* What the header records of the file system. */
	printf("KBROKER_FS=%s\n", h.fs == VOLHDR_FS_EXT4 ? "ext4" :
	       h.fs == VOLHDR_FS_NONE ? "none" : "unknown");
	if (h.fs == VOLHDR_FS_EXT4) {
		volhdr_uuid_str(h.fs_uuid, uuid);
		printf("KBROKER_FS_UUID=%s\n", uuid);
	}
	return 0;
}

static const struct kbctl_cmd vol_cmds[] = {
	{ "format", cmd_format, "DEV --label NAME [--master-key DESC] [--force]" },
	{ "open", cmd_open, "DEV [--mount DIR] [--master-key DESC]" },
	{ "close", cmd_close, "DEV|LABEL" },
	{ "check", cmd_check, "DEV [--repair] [--master-key DESC] (e2fsck; read-only without --repair)" },
	{ "status", cmd_status, "" },
	{ "rewrap", cmd_rewrap, "DEV --master-key NEW" },
	{ "probe", cmd_probe, "DEV (udev: prints KBROKER_LABEL=, KBROKER_UUID=, KBROKER_FS=)" },
};

int kbctl_volume(int argc, char **argv)
{
	size_t i;
	int help;

	kbvolop_init("kbrokerctl", NULL, "--master-key");
	if (argc >= 2) {
		for (i = 0; i < sizeof(vol_cmds) / sizeof(vol_cmds[0]); i++) {
			if (strcmp(argv[1], vol_cmds[i].name))
				continue;
			optind = 0;
			return vol_cmds[i].fn(argc - 1, argv + 1);
		}
	}
	help = argc >= 2 && (!strcmp(argv[1], "--help") ||
			     !strcmp(argv[1], "-h"));
	fprintf(help ? stdout : stderr, "usage: kbrokerctl volume COMMAND\n");
	for (i = 0; i < sizeof(vol_cmds) / sizeof(vol_cmds[0]); i++)
		fprintf(help ? stdout : stderr, "  volume %-7s %s\n",
			vol_cmds[i].name, vol_cmds[i].help);
	return help ? 0 : 2;
}
