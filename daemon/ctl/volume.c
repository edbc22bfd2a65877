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
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/fs.h>

#include <keyutils.h>
#include <libdevmapper.h>

#include "common/kbnl_volume.h"
#include "common/volhdr.h"
#include "ctl/ctl.h"

#define DEFAULT_MASTER	"kbroker:master:default"
#define MAP_PREFIX	"kbroker-"
#define TORN_BYTES	256

static const char *state_dir(void)
{
	const char *d = getenv("KBROKER_STATE_DIR");

	return d && *d ? d : "/var/lib/kbroker";
}

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

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The default master key: 32 random bytes made once, kept in a root-only
 * file, loaded as a logon key into this process's keyring at each use
 * (gone when the tool exits).
 */
static int load_default_master(int create)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	uint8_t key[KBROKER_MASTER_KEY_LEN];
	const char *dir = state_dir();
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/master.key", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir_p(dir, 0700)) {
			fprintf(stderr, "kbrokerctl: %s: %m\n", dir);
			return -1;
		}
		if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
			perror("kbrokerctl: getrandom");
			return -1;
		}
		/* Write aside, then rename: never a half-written key. */
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, key, sizeof(key)) != sizeof(key) ||
		    fsync(fd) || rename(tmp, path)) {
			fprintf(stderr, "kbrokerctl: %s: %m\n", path);
			explicit_bzero(key, sizeof(key));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		explicit_bzero(key, sizeof(key));
		fprintf(stderr, "kbrokerctl: made the default master key %s\n",
			path);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		fprintf(stderr,
			"kbrokerctl: default master key %s: %m (name a master key with --master-key)\n",
			path);
		return -1;
	}
	if (fstat(fd, &st) || (st.st_mode & 077) || st.st_uid != geteuid()) {
		fprintf(stderr,
			"kbrokerctl: default master key %s must be owned by us with mode 0600\n",
			path);
		close(fd);
		return -1;
	}
	n = read(fd, key, sizeof(key));
	close(fd);
	if (n != sizeof(key) || st.st_size != sizeof(key)) {
		fprintf(stderr, "kbrokerctl: default master key %s is not %d bytes\n",
			path, KBROKER_MASTER_KEY_LEN);
		explicit_bzero(key, sizeof(key));
		return -1;
	}
	if (add_key("logon", DEFAULT_MASTER, key, sizeof(key),
		    KEY_SPEC_PROCESS_KEYRING) < 0) {
		fprintf(stderr, "kbrokerctl: loading %s into the keyring: %m\n",
			DEFAULT_MASTER);
		explicit_bzero(key, sizeof(key));
		return -1;
	}
	explicit_bzero(key, sizeof(key));
	return 0;
}

/*
 * Makes the master key @desc usable by the module, and gives this process
 * a keyring of its own: the module links volume keys there, where
 * dm-crypt's request_key() looks when we load the table.
 */
static int master_prepare(const char *desc, int create)
{
	if (keyctl_get_keyring_ID(KEY_SPEC_PROCESS_KEYRING, 1) < 0) {
		perror("kbrokerctl: process keyring");
		return -1;
	}
	if (!strcmp(desc, DEFAULT_MASTER))
		return load_default_master(create);
	return 0;
}

static void vol_error(const char *what, const char *master,
		      const char *label, int err)
{
	switch (err) {
	case -ENOKEY:
		fprintf(stderr,
			"kbrokerctl: %s: master key '%s' not found in the kernel keyring (e.g. keyctl padd logon %s @u); nothing was changed\n",
			what, master, master);
		break;
	case -EKEYREJECTED:
		fprintf(stderr,
			"kbrokerctl: %s: master key '%s' does not unlock volume '%s': wrong key; nothing was changed\n",
			what, master, label);
		break;
	case -EKEYREVOKED:
	case -EKEYEXPIRED:
		fprintf(stderr, "kbrokerctl: %s: master key '%s': %s\n", what,
			master, strerror(-err));
		break;
	case -EINVAL:
		fprintf(stderr,
			"kbrokerctl: %s: refused by the module (is master key '%s' 32 bytes?)\n",
			what, master);
		break;
	default:
		kbctl_nl_error(err);
	}
}

/* Opens @dev and reads its newest valid header. */
static int dev_open(const char *dev, int flags, struct volhdr *h)
{
	int fd = open(dev, flags | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		fprintf(stderr, "kbrokerctl: %s: %m\n", dev);
		return -1;
	}
	ret = volhdr_read(fd, h, NULL);
	if (ret) {
		if (ret == -ENODATA)
			fprintf(stderr,
				"kbrokerctl: %s: not a kbroker volume (no valid header)\n",
				dev);
		else
			fprintf(stderr, "kbrokerctl: %s: %s\n", dev,
				strerror(-ret));
		close(fd);
		return -1;
	}
	if (h->wrapped_len != KBROKER_VOLUME_WRAPPED_LEN ||
	    h->key_bytes != KBROKER_VOLUME_KEY_LEN) {
		fprintf(stderr, "kbrokerctl: %s: unsupported volume header\n",
			dev);
		close(fd);
		return -1;
	}
	return fd;
}

static int dev_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	*size = st.st_size;
	return 0;
}

/* dm map @name: 1 and its dev_t if it exists, 0 if not, -1 on error. */
static int dm_map_info(const char *name, dev_t *devt)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_INFO);
	struct dm_info info;
	int ret = -1;

	if (!dmt)
		return -1;
	if (dm_task_set_name(dmt, name) && dm_task_run(dmt) &&
	    dm_task_get_info(dmt, &info)) {
		ret = info.exists ? 1 : 0;
		if (info.exists && devt)
			*devt = makedev(info.major, info.minor);
	}
	dm_task_destroy(dmt);
	return ret;
}

/* The table names the key by description: no key bytes pass here. */
static int dm_map_create(const char *name, const struct volhdr *h,
			 const char *dev, uint64_t sectors,
			 const char *key_desc)
{
	char params[PATH_MAX + 512], uuid[37], dm_uuid[64];
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int ok;

	volhdr_uuid_str(h->uuid, uuid);
	snprintf(dm_uuid, sizeof(dm_uuid), "KBROKER-%s", uuid);
	if (snprintf(params, sizeof(params),
		     "%s :%u:logon:%s 0 %s %llu 2 no_read_workqueue no_write_workqueue",
		     h->cipher, h->key_bytes, key_desc, dev,
		     (unsigned long long)(h->data_offset / 512)) >=
	    (int)sizeof(params))
		return -1;
	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt)
		return -1;
	ok = dm_task_set_name(dmt, name) && dm_task_set_uuid(dmt, dm_uuid) &&
	     dm_task_add_target(dmt, 0, sectors, "crypt", params) &&
	     dm_task_set_cookie(dmt, &cookie, 0) && dm_task_run(dmt);
	/* Also runs the node updates libdevmapper queued when udev is absent. */
	dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

static int dm_map_remove(const char *name)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_REMOVE);
	uint32_t cookie = 0;
	int ok;

	if (!dmt)
		return -1;
	ok = dm_task_set_name(dmt, name) && dm_task_retry_remove(dmt) &&
	     dm_task_set_cookie(dmt, &cookie, 0) && dm_task_run(dmt);
	/* Also runs the node updates libdevmapper queued when udev is absent. */
	dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	return ok ? 0 : -1;
}

/* Mount points of @devt from mountinfo, one per call (@skip-th). */
static int find_mount(dev_t devt, int skip, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], mp[PATH_MAX];
	unsigned int maj, min;
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mp) != 3)
			continue;
		if (makedev(maj, min) != devt || skip-- > 0)
			continue;
		snprintf(out, size, "%s", mp);
		found = 1;
		break;
	}
	fclose(f);
	return found;
}

static int has_ext4(const char *path)
{
	uint8_t magic[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, magic, 2, 1024 + 56);
	close(fd);
	if (n != 2)
		return -1;
	return magic[0] == 0x53 && magic[1] == 0xef;
}

static int run_cmd(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "kbrokerctl: %s: %m\n", argv[0]);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int wait_node(const char *path)
{
	struct stat st;
	int i;

	for (i = 0; i < 100; i++) {
		if (!stat(path, &st))
			return 0;
		usleep(50000);
	}
	return -1;
}

static int nl_connect(struct kbvol_nl **nl)
{
	int ret = kbvol_nl_open(nl);

	if (ret)
		kbctl_nl_error(ret);
	return ret;
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
	struct volhdr h = { 0 }, old;
	struct kbvol_nl *nl;
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
	if (!volhdr_read(fd, &old, NULL) && !force) {
		volhdr_uuid_str(old.uuid, uuid);
		fprintf(stderr,
			"kbrokerctl: %s already holds kbroker volume '%s' (%s); --force destroys it\n",
			dev, old.label, uuid);
		goto out_fd;
	}
	if (dev_size(fd, &size) || size < VOLHDR_DATA_OFFSET + (1 << 20)) {
		fprintf(stderr, "kbrokerctl: %s: too small (at least 2 MiB)\n",
			dev);
		goto out_fd;
	}
	if (master_prepare(master, 1))
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
	if (nl_connect(&nl))
		goto out_fd;
	c = kbvol_create(nl, h.uuid, master, h.wrapped);
	kbvol_nl_close(nl);
	if (c) {
		vol_error("format", master, label, c);
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
	char dev[PATH_MAX], name[128], node[PATH_MAX], desc[KBROKER_VOLUME_KEY_DESC_MAX];
	const char *mnt = NULL, *master = NULL;
	struct kbvol_info v = { 0 };
	struct kbvol_nl *nl;
	struct volhdr h;
	uint64_t size;
	struct stat st;
	int c, fd, ret = 1;
	char uuid[37];

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
	fd = dev_open(dev, O_RDONLY, &h);
	if (fd < 0)
		return 1;
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode)) {
		fprintf(stderr,
			"kbrokerctl: %s: not a block device (attach a file with losetup first)\n",
			dev);
		goto out_fd;
	}
	if (dev_size(fd, &size) || size <= h.data_offset) {
		fprintf(stderr, "kbrokerctl: %s: smaller than its header says\n",
			dev);
		goto out_fd;
	}
	snprintf(name, sizeof(name), MAP_PREFIX "%s", h.label);
	snprintf(node, sizeof(node), "/dev/mapper/%s", name);
	volhdr_uuid_str(h.uuid, uuid);
	if (dm_map_info(name, NULL) == 1) {
		fprintf(stderr, "kbrokerctl: volume '%s' is already open as %s\n",
			h.label, node);
		goto out_fd;
	}
	memcpy(v.uuid, h.uuid, sizeof(v.uuid));
	snprintf(v.label, sizeof(v.label), "%s", h.label);
	snprintf(v.cipher, sizeof(v.cipher), "%s", h.cipher);
	snprintf(v.master, sizeof(v.master), "%s", master ? master : h.master);
	if (master_prepare(v.master, 0) || nl_connect(&nl))
		goto out_fd;
	c = kbvol_open(nl, &v, h.wrapped, desc);
	if (c) {
		vol_error("open", v.master, h.label, c);
		goto out_nl;
	}
	if (dm_map_create(name, &h, dev, (size - h.data_offset) / 512, desc) ||
	    wait_node(node)) {
		fprintf(stderr, "kbrokerctl: %s: creating the dm-crypt map failed\n",
			name);
		goto err_close;
	}
	/* The key was authenticated: no ext4 here means a fresh volume. */
	c = has_ext4(node);
	if (c == 0) {
		char *mkfs[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-m", "0",
				 node, NULL };

		if (run_cmd(mkfs)) {
			fprintf(stderr, "kbrokerctl: %s: mke2fs failed\n", node);
			goto err_map;
		}
	} else if (c < 0) {
		fprintf(stderr, "kbrokerctl: %s: %m\n", node);
		goto err_map;
	}
	if (mnt) {
		if (mkdir_p(mnt, 0755) ||
		    mount(node, mnt, "ext4", MS_NOATIME | MS_NODEV | MS_NOSUID,
			  NULL)) {
			fprintf(stderr, "kbrokerctl: mount %s on %s: %m\n", node,
				mnt);
			goto err_map;
		}
	}
	printf("opened '%s' %s as %s%s%s\n", h.label, uuid, node,
	       mnt ? " on " : "", mnt ? mnt : "");
	ret = 0;
	goto out_nl;

err_map:
	dm_map_remove(name);
err_close:
	kbvol_close(nl, h.uuid);
out_nl:
	kbvol_nl_close(nl);
out_fd:
	close(fd);
	return ret;
}

struct find_label {
	const char *label;
	struct kbvol_info v;
	int found;
};

static int find_label_cb(const struct kbvol_info *v, void *arg)
{
	struct find_label *f = arg;

	if (strcmp(v->label, f->label))
		return 0;
	f->v = *v;
	f->found = 1;
	return 1;
}

static int cmd_close(int argc, char **argv)
{
	char name[128], mp[PATH_MAX];
	struct find_label f = { 0 };
	struct kbvol_nl *nl;
	struct volhdr h;
	dev_t devt;
	int fd, ret;

	if (argc != 2) {
		fprintf(stderr, "usage: kbrokerctl volume close DEV|LABEL\n");
		return 2;
	}
	if (strchr(argv[1], '/')) {
		fd = dev_open(argv[1], O_RDONLY, &h);
		if (fd < 0)
			return 1;
		close(fd);
		f.label = h.label;
	} else {
		f.label = argv[1];
	}
	if (!volhdr_label_ok(f.label)) {
		fprintf(stderr, "kbrokerctl: bad label '%s'\n", f.label);
		return 2;
	}
	snprintf(name, sizeof(name), MAP_PREFIX "%s", f.label);
	if (nl_connect(&nl))
		return 1;
	ret = kbvol_list(nl, find_label_cb, &f);
	if (ret) {
		kbctl_nl_error(ret);
		goto err;
	}
	if (dm_map_info(name, &devt) == 1) {
		while (find_mount(devt, 0, mp, sizeof(mp))) {
			if (umount2(mp, 0)) {
				fprintf(stderr,
					"kbrokerctl: unmounting %s: %m (stop what uses it, e.g. kbrokerd)\n",
					mp);
				goto err;
			}
		}
		if (dm_map_remove(name)) {
			fprintf(stderr, "kbrokerctl: removing map %s failed\n",
				name);
			goto err;
		}
	} else if (!f.found) {
		fprintf(stderr, "kbrokerctl: volume '%s' is not open\n", f.label);
		goto err;
	}
	if (f.found) {
		ret = kbvol_close(nl, f.v.uuid);
		if (ret && ret != -ENOENT) {
			kbctl_nl_error(ret);
			goto err;
		}
	}
	kbvol_nl_close(nl);
	printf("closed '%s'\n", f.label);
	return 0;
err:
	kbvol_nl_close(nl);
	return 1;
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
		find_mount(devt, 0, mp, sizeof(mp));
	if (!(*n)++)
		printf("%-16s %-36s %-6s %-24s %-28s %s\n", "LABEL", "UUID",
		       "STATE", "MASTER KEY", "MAP", "MOUNT");
	printf("%-16s %-36s %-6s %-24s /dev/mapper/%-16s %s\n", v->label, uuid,
	       mapped ? "open" : "keyed", v->master, name, mp);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	struct kbvol_nl *nl;
	int n = 0, ret;

	(void)argc;
	(void)argv;
	if (nl_connect(&nl))
		return 1;
	ret = kbvol_list(nl, status_cb, &n);
	kbvol_nl_close(nl);
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
	struct kbvol_nl *nl;
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
	fd = dev_open(argv[optind], O_RDWR, &h);
	if (fd < 0)
		return 1;
	snprintf(old, sizeof(old), "%s", h.master);
	if (master_prepare(old, 0) || master_prepare(newm, 1) ||
	    nl_connect(&nl))
		goto out_fd;
	c = kbvol_rewrap(nl, h.uuid, old, newm, h.wrapped, h.wrapped);
	kbvol_nl_close(nl);
	if (c == -ENOKEY) {
		fprintf(stderr,
			"kbrokerctl: rewrap: master key '%s' or '%s' not found in the kernel keyring; nothing was changed\n",
			old, newm);
		goto out_fd;
	}
	if (c) {
		vol_error("rewrap", old, h.label, c);
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
	return 0;
}

static const struct kbctl_cmd vol_cmds[] = {
	{ "format", cmd_format, "DEV --label NAME [--master-key DESC] [--force]" },
	{ "open", cmd_open, "DEV [--mount DIR] [--master-key DESC]" },
	{ "close", cmd_close, "DEV|LABEL" },
	{ "status", cmd_status, "" },
	{ "rewrap", cmd_rewrap, "DEV --master-key NEW" },
	{ "probe", cmd_probe, "DEV (udev: prints KBROKER_LABEL=, KBROKER_UUID=)" },
};

int kbctl_volume(int argc, char **argv)
{
	size_t i;
	int help;

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
