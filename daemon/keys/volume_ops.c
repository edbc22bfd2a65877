// SPDX-License-Identifier: GPL-2.0
/*
 * Opening and closing kbroker volumes, for kbrokerctl and kbrokerd alike.
 * The module unwraps the data key into a logon key linked into this
 * process's keyring; this process then loads the dm-crypt table that
 * names it, so the key bytes never pass through userspace and dm-crypt's
 * request_key() finds the key.  See Documentation/kbroker/volumes.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
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

#include "keys/kbnl.h"
#include "common/log.h"
#include "keys/volume_ops.h"

static const char *op_prog;
static const char *op_state_dir;
static const char *op_master_opt = "--master-key";
static const char *op_ctx;

void kbvolop_init(const char *prog, const char *state_dir,
		  const char *master_opt)
{
	op_prog = prog;
	op_state_dir = state_dir;
	if (master_opt)
		op_master_opt = master_opt;
}

void kbvolop_set_context(const char *ctx)
{
	op_ctx = ctx;
}

const char *kbvolop_state_dir(void)
{
	const char *d = getenv("KBROKER_STATE_DIR");

	if (op_state_dir && *op_state_dir)
		return op_state_dir;
	return d && *d ? d : "/var/lib/kbroker";
}

static void vreport(int level, const char *fmt, va_list ap)
{
	char line[1024];

	/* First, so that %m still sees the caller's errno. */
	vsnprintf(line, sizeof(line), fmt, ap);
	if (op_prog)
		fprintf(stderr, "%s: %s%s%s\n", op_prog, op_ctx ?: "",
			op_ctx ? ": " : "", line);
	else
		kb_log(level, "%s%s%s", op_ctx ?: "", op_ctx ? ": " : "", line);
}

void kbvolop_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(KB_LOG_ERR, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(KB_LOG_NOTICE, fmt, ap);
	va_end(ap);
}

void kbvolop_nl_error(int err)
{
	if (err == -ENOENT)
		kbvolop_err("the kbroker kernel module is not loaded (modprobe kbroker)");
	else if (err == -EPERM)
		kbvolop_err("permission denied: kbroker commands need CAP_NET_ADMIN (run as root)");
	else
		kbvolop_err("netlink: %s", strerror(-err));
}

void kbvolop_vol_error(const char *what, const char *master, const char *label,
		       int err)
{
	switch (err) {
	case -ENOKEY:
		kbvolop_err("%s: master key '%s' not found in the kernel keyring (e.g. keyctl padd logon %s @u); nothing was changed",
			    what, master, master);
		break;
	case -EKEYREJECTED:
		kbvolop_err("%s: master key '%s' does not unlock volume '%s': wrong key; nothing was changed",
			    what, master, label);
		break;
	case -EKEYREVOKED:
	case -EKEYEXPIRED:
		kbvolop_err("%s: master key '%s': %s", what, master,
			    strerror(-err));
		break;
	case -EINVAL:
		kbvolop_err("%s: refused by the module (is master key '%s' 32 bytes?)",
			    what, master);
		break;
	default:
		kbvolop_nl_error(err);
	}
}

int kbvolop_mkdir_p(const char *path, mode_t mode)
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
 * (gone when the process exits).
 */
static int load_default_master(int create)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	uint8_t key[KBROKER_MASTER_KEY_LEN];
	const char *dir = kbvolop_state_dir();
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/master.key", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if (kbvolop_mkdir_p(dir, 0700)) {
			kbvolop_err("%s: %m", dir);
			return -1;
		}
		if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
			kbvolop_err("getrandom: %m");
			return -1;
		}
		/* Write aside, then rename: never a half-written key. */
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, key, sizeof(key)) != sizeof(key) ||
		    fsync(fd) || rename(tmp, path)) {
			kbvolop_err("%s: %m", path);
			explicit_bzero(key, sizeof(key));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		explicit_bzero(key, sizeof(key));
		note("made the default master key %s", path);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		kbvolop_err("default master key %s: %m (name a master key with %s)",
			    path, op_master_opt);
		return -1;
	}
	if (fstat(fd, &st) || (st.st_mode & 077) || st.st_uid != geteuid()) {
		kbvolop_err("default master key %s must be owned by us with mode 0600",
			    path);
		close(fd);
		return -1;
	}
	n = read(fd, key, sizeof(key));
	close(fd);
	if (n != sizeof(key) || st.st_size != sizeof(key)) {
		kbvolop_err("default master key %s is not %d bytes", path,
			    KBROKER_MASTER_KEY_LEN);
		explicit_bzero(key, sizeof(key));
		return -1;
	}
	if (add_key("logon", KBVOLOP_DEFAULT_MASTER, key, sizeof(key),
		    KEY_SPEC_PROCESS_KEYRING) < 0) {
		kbvolop_err("loading %s into the keyring: %m",
			    KBVOLOP_DEFAULT_MASTER);
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
int kbvolop_master_prepare(const char *desc, int create)
{
	if (keyctl_get_keyring_ID(KEY_SPEC_PROCESS_KEYRING, 1) < 0) {
		kbvolop_err("process keyring: %m");
		return -1;
	}
	if (!strcmp(desc, KBVOLOP_DEFAULT_MASTER))
		return load_default_master(create);
	return 0;
}

int kbvolop_dev_open(const char *dev, int flags, struct volhdr *h)
{
	int fd = open(dev, flags | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		kbvolop_err("%s: %m", dev);
		return -1;
	}
	ret = volhdr_read(fd, h, NULL);
	if (ret) {
		if (ret == -ENODATA)
			kbvolop_err("%s: not a kbroker volume (no valid header)",
				    dev);
		else
			kbvolop_err("%s: %s", dev, strerror(-ret));
		close(fd);
		return -1;
	}
	if (h->wrapped_len != KBROKER_VOLUME_WRAPPED_LEN ||
	    h->key_bytes != KBROKER_VOLUME_KEY_LEN) {
		kbvolop_err("%s: unsupported volume header", dev);
		close(fd);
		return -1;
	}
	return fd;
}

int kbvolop_dev_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
	*size = st.st_size;
	return 0;
}

int kbvolop_nl_connect(struct kbnl **nl)
{
	int ret = kbnl_open(nl);

	if (ret)
		kbvolop_nl_error(ret);
	return ret;
}

int kbvolop_map_info(const char *name, dev_t *devt, char *uuid, size_t size)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_INFO);
	struct dm_info info;
	const char *u;
	int ret = -1;

	if (!dmt)
		return -1;
	if (dm_task_set_name(dmt, name) && dm_task_run(dmt) &&
	    dm_task_get_info(dmt, &info)) {
		ret = info.exists ? 1 : 0;
		if (info.exists && devt)
			*devt = makedev(info.major, info.minor);
		if (info.exists && uuid) {
			u = dm_task_get_uuid(dmt);
			snprintf(uuid, size, "%s", u ? u : "");
		}
	}
	dm_task_destroy(dmt);
	return ret;
}

/* The table names the key by description: no key bytes pass here. */
static int map_create(const char *name, const struct volhdr *h,
		      const char *dev, uint64_t sectors, const char *key_desc)
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

int kbvolop_map_remove(const char *name)
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

int kbvolop_find_mount(dev_t devt, int skip, char *out, size_t size)
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

/* A program's exit status, 8 (e2fsck's "operational error") if none. */
static int run_status(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 8;
	if (pid == 0) {
		execvp(argv[0], argv);
		kbvolop_err("%s: %m", argv[0]);
		_exit(8);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 8;
	return WEXITSTATUS(status);
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

static int do_mount(const char *node, const char *mnt)
{
	if (kbvolop_mkdir_p(mnt, 0755) ||
	    mount(node, mnt, "ext4", MS_NOATIME | MS_NODEV | MS_NOSUID, NULL)) {
		kbvolop_err("mount %s on %s: %m", node, mnt);
		return -1;
	}
	return 0;
}

/* Whether map @devt is mounted on @mnt already. */
static int mounted_on(dev_t devt, const char *mnt)
{
	char want[PATH_MAX], mp[PATH_MAX];
	int i;

	if (!realpath(mnt, want))
		return 0;
	for (i = 0; kbvolop_find_mount(devt, i, mp, sizeof(mp)); i++)
		if (!strcmp(mp, want))
			return 1;
	return 0;
}

/* A map that is already there: ours to use only if it is this volume. */
static int reuse_map(const char *name, const char *node, const char *uuid,
		     const char *mnt, struct kbvolop_open_res *res)
{
	char dm_uuid[128], want[64];
	dev_t devt;

	snprintf(want, sizeof(want), "KBROKER-%s", uuid);
	if (kbvolop_map_info(name, &devt, dm_uuid, sizeof(dm_uuid)) != 1 ||
	    strcmp(dm_uuid, want)) {
		kbvolop_err("map %s is open but is not volume %s (two volumes with one label?)",
			    name, uuid);
		return -1;
	}
	res->reused = 1;
	if (mnt && !mounted_on(devt, mnt)) {
		if (do_mount(node, mnt))
			return -1;
		res->mounted = 1;
	}
	return 0;
}

/* The ext4 superblock, 1 KiB into the map: its magic and UUID. */
struct sb_info {
	int ext4;
	uint8_t uuid[VOLHDR_FS_UUID_LEN];
};

static int read_sb(const char *node, struct sb_info *sb)
{
	uint8_t b[1024];
	int fd = open(node, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	memset(sb, 0, sizeof(*sb));
	if (fd < 0)
		return -errno;
	n = pread(fd, b, sizeof(b), 1024);
	close(fd);
	if (n != sizeof(b))
		return n < 0 ? -errno : -EIO;
	sb->ext4 = b[56] == 0x53 && b[57] == 0xef;
	memcpy(sb->uuid, b + 104, sizeof(sb->uuid));
	return 0;
}

/* 1 if the first 64 KiB of ciphertext were never written (all zero). */
static int raw_area_blank(int fd, uint64_t off)
{
	static uint8_t b[65536];
	ssize_t n = pread(fd, b, sizeof(b), off);
	ssize_t i;

	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void report_damaged(const char *dev, const struct volhdr *h,
			   const char *why)
{
	char fs[37];

	volhdr_uuid_str(h->fs_uuid, fs);
	kbvolop_err("volume '%s' holds ext4 file system %s, but %s: the file system is damaged and nothing was written; check it with 'kbrokerctl volume check %s' (e2fsck -f -n, read-only), repair it with 'kbrokerctl volume check --repair %s'",
		    h->label, fs, why, dev, dev);
}

/*
 * Records in the header that the data area holds ext4 file system @uuid,
 * through a descriptor of its own (the caller's is read-only).
 */
static int record_fs(const char *dev, struct volhdr *h, const uint8_t *uuid)
{
	struct volhdr cur;
	int fd, ret;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		kbvolop_err("%s: %m (recording the file system in the header)",
			    dev);
		return -1;
	}
	/* Update the newest copy, whatever changed since we read it. */
	ret = volhdr_read(fd, &cur, NULL);
	if (!ret && memcmp(cur.uuid, h->uuid, sizeof(cur.uuid)))
		ret = -ESTALE;
	if (!ret) {
		cur.fs = VOLHDR_FS_EXT4;
		memcpy(cur.fs_uuid, uuid, sizeof(cur.fs_uuid));
		ret = volhdr_update(fd, &cur);
	}
	close(fd);
	if (ret) {
		kbvolop_err("%s: recording the file system in the header: %s",
			    dev, strerror(-ret));
		return -1;
	}
	*h = cur;
	return 0;
}

static int make_fs(const char *dev, struct volhdr *h, const char *node)
{
	uint8_t uuid[VOLHDR_FS_UUID_LEN];
	char us[37];
	char *mkfs[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-m", "0",
			 "-U", us, (char *)node, NULL };

	if (getrandom(uuid, sizeof(uuid), 0) != sizeof(uuid)) {
		kbvolop_err("getrandom: %m");
		return -1;
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40;
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
	volhdr_uuid_str(uuid, us);
	if (run_status(mkfs)) {
		kbvolop_err("%s: mke2fs failed", node);
		return -1;
	}
	/*
	 * Made first, recorded second: a crash in between is seen as "made,
	 * not recorded" by the next open, never as a damaged volume.
	 */
	if (record_fs(dev, h, uuid))
		return -1;
	note("made ext4 file system %s on %s", us, node);
	return 0;
}

/*
 * What the map holds against what the header says.  A file system is
 * made only on a volume whose header says none was made yet, or on one
 * whose header predates that record and whose data area was never
 * written; anything else without an ext4 superblock is damage, reported
 * and left as it is.
 */
static int check_fs(const char *dev, int devfd, struct volhdr *h,
		    const char *node)
{
	struct sb_info sb;
	char fs[37];
	int ret = read_sb(node, &sb);

	if (ret) {
		kbvolop_err("%s: %s", node, strerror(-ret));
		return -1;
	}
	switch (h->fs) {
	case VOLHDR_FS_EXT4:
		if (!sb.ext4) {
			report_damaged(dev, h, "no ext4 superblock is at 1 KiB into the map");
			return -1;
		}
		if (memcmp(sb.uuid, h->fs_uuid, sizeof(sb.uuid))) {
			char why[96];

			volhdr_uuid_str(sb.uuid, fs);
			snprintf(why, sizeof(why), "the superblock found names %s",
				 fs);
			report_damaged(dev, h, why);
			return -1;
		}
		return 0;
	case VOLHDR_FS_NONE:
		/* Made, and the header write after it cut short. */
		if (sb.ext4)
			return record_fs(dev, h, sb.uuid);
		return make_fs(dev, h, node);
	default:
		if (sb.ext4)
			return record_fs(dev, h, sb.uuid);
		ret = raw_area_blank(devfd, h->data_offset);
		if (ret == 1)
			return make_fs(dev, h, node);
		if (ret < 0) {
			kbvolop_err("%s: %s", dev, strerror(-ret));
			return -1;
		}
		kbvolop_err("volume '%s' has no ext4 superblock, its data area has been written, and its header predates the record of a file system: it may hold a damaged one, so none is made and nothing was written; check it with 'kbrokerctl volume check %s', or if it holds nothing, format it again with 'kbrokerctl volume format --force'",
			    h->label, dev);
		return -1;
	}
}

/*
 * The volume's key through the module and its dm-crypt map, @name at
 * @node.  On failure nothing is left (key closed, *@nl closed).
 */
static int map_up(const char *dev, const struct volhdr *h, const char *master,
		  const char *what, uint64_t size, const char *name,
		  const char *node, struct kbnl **nl)
{
	char desc[KBROKER_VOLUME_KEY_DESC_MAX];
	struct kbvol_info v = { 0 };
	int c;

	memcpy(v.uuid, h->uuid, sizeof(v.uuid));
	snprintf(v.label, sizeof(v.label), "%s", h->label);
	snprintf(v.cipher, sizeof(v.cipher), "%s", h->cipher);
	snprintf(v.master, sizeof(v.master), "%s", master ? master : h->master);
	if (kbvolop_master_prepare(v.master, 0) || kbvolop_nl_connect(nl))
		return -1;
	c = kbvol_open(*nl, &v, h->wrapped, desc);
	if (c) {
		kbvolop_vol_error(what, v.master, h->label, c);
		goto err_nl;
	}
	if (map_create(name, h, dev, (size - h->data_offset) / 512, desc) ||
	    wait_node(node)) {
		kbvolop_err("%s: creating the dm-crypt map failed", name);
		kbvolop_map_remove(name);
		kbvol_close(*nl, h->uuid);
		goto err_nl;
	}
	return 0;
err_nl:
	kbnl_close(*nl);
	*nl = NULL;
	return -1;
}

static void map_down(const char *name, const struct volhdr *h,
		     struct kbnl *nl)
{
	kbvolop_map_remove(name);
	kbvol_close(nl, h->uuid);
	kbnl_close(nl);
}

/* Header, block device and size checks shared by open and check. */
static int dev_prepare(const char *dev, struct volhdr *h, uint64_t *size)
{
	struct stat st;
	int fd = kbvolop_dev_open(dev, O_RDONLY, h);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode)) {
		kbvolop_err("%s: not a block device (attach a file with losetup first)",
			    dev);
		goto err;
	}
	if (kbvolop_dev_size(fd, size) || *size <= h->data_offset) {
		kbvolop_err("%s: smaller than its header says", dev);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

int kbvolop_open(const char *dev, const char *mnt, const char *master,
		 const char *what, int reuse, struct kbvolop_open_res *res)
{
	char name[128];
	struct kbnl *nl;
	struct volhdr h;
	uint64_t size;
	int fd, ret = -1;

	memset(res, 0, sizeof(*res));
	fd = dev_prepare(dev, &h, &size);
	if (fd < 0)
		return -1;
	snprintf(name, sizeof(name), KBVOLOP_MAP_PREFIX "%s", h.label);
	snprintf(res->node, sizeof(res->node), "/dev/mapper/%s", name);
	snprintf(res->label, sizeof(res->label), "%s", h.label);
	volhdr_uuid_str(h.uuid, res->uuid);
	if (kbvolop_map_info(name, NULL, NULL, 0) == 1) {
		if (reuse) {
			ret = reuse_map(name, res->node, res->uuid, mnt, res);
			goto out_fd;
		}
		kbvolop_err("volume '%s' is already open as %s", h.label,
			    res->node);
		goto out_fd;
	}
	if (map_up(dev, &h, master, what, size, name, res->node, &nl))
		goto out_fd;
	if (check_fs(dev, fd, &h, res->node))
		goto err_map;
	if (mnt) {
		if (do_mount(res->node, mnt)) {
			kbvolop_err("if its file system is damaged: 'kbrokerctl volume check %s'",
				    dev);
			goto err_map;
		}
		res->mounted = 1;
	}
	kbnl_close(nl);
	close(fd);
	return 0;

err_map:
	map_down(name, &h, nl);
out_fd:
	close(fd);
	return ret;
}

/* e2fsck's exit status, in words (e2fsck(8)). */
static int fsck_report(const char *dev, const char *label, int st, int repair)
{
	if (st == 0) {
		note("volume '%s': file system clean", label);
		return 0;
	}
	if (repair && (st & ~3) == 0) {
		note("volume '%s': errors found and repaired", label);
		return 0;
	}
	if (st & 4) {
		if (repair)
			kbvolop_err("volume '%s': errors left uncorrected (e2fsck status %d)",
				    label, st);
		else
			kbvolop_err("volume '%s': the file system has errors; nothing was changed; repair it with 'kbrokerctl volume check --repair %s'",
				    label, dev);
		return -1;
	}
	kbvolop_err("volume '%s': e2fsck failed (status %d)", label, st);
	return -1;
}

int kbvolop_check(const char *dev, const char *master, int repair)
{
	char name[128], node[192], uuid[37], mp[PATH_MAX];
	struct kbnl *nl = NULL;
	struct volhdr h;
	uint64_t size;
	dev_t devt;
	int fd, st, ret = -1, ours = 0;
	char *fsck[] = { "e2fsck", "-f", repair ? "-y" : "-n", node, NULL };

	fd = dev_prepare(dev, &h, &size);
	if (fd < 0)
		return -1;
	snprintf(name, sizeof(name), KBVOLOP_MAP_PREFIX "%s", h.label);
	snprintf(node, sizeof(node), "/dev/mapper/%s", name);
	volhdr_uuid_str(h.uuid, uuid);
	if (h.fs == VOLHDR_FS_NONE) {
		note("volume '%s': formatted, no file system made yet: nothing to check",
		     h.label);
		ret = 0;
		goto out_fd;
	}
	if (kbvolop_map_info(name, &devt, NULL, 0) == 1) {
		char dm_uuid[128], want[64];

		snprintf(want, sizeof(want), "KBROKER-%s", uuid);
		if (kbvolop_map_info(name, NULL, dm_uuid, sizeof(dm_uuid)) != 1 ||
		    strcmp(dm_uuid, want)) {
			kbvolop_err("map %s is open but is not volume %s", name,
				    uuid);
			goto out_fd;
		}
		if (kbvolop_find_mount(devt, 0, mp, sizeof(mp))) {
			kbvolop_err("volume '%s' is mounted on %s: stop what uses it and close it (kbrokerctl volume close %s) before a check",
				    h.label, mp, h.label);
			goto out_fd;
		}
	} else {
		if (map_up(dev, &h, master, "check", size, name, node, &nl))
			goto out_fd;
		ours = 1;
	}
	note("volume '%s': e2fsck -f %s %s", h.label, repair ? "-y" : "-n",
	     node);
	st = run_status(fsck);
	ret = fsck_report(dev, h.label, st, repair);
	if (!ret && repair && h.fs == VOLHDR_FS_UNKNOWN) {
		struct sb_info sb;

		/* A header from before the record: record what was checked. */
		if (!read_sb(node, &sb) && sb.ext4)
			ret = record_fs(dev, &h, sb.uuid);
	}
	if (ours)
		map_down(name, &h, nl);
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

int kbvolop_close(const char *label)
{
	char name[128], mp[PATH_MAX];
	struct find_label f = { .label = label };
	struct kbnl *nl;
	dev_t devt;
	int ret;

	snprintf(name, sizeof(name), KBVOLOP_MAP_PREFIX "%s", label);
	if (kbvolop_nl_connect(&nl))
		return -1;
	ret = kbvol_list(nl, find_label_cb, &f);
	if (ret) {
		kbvolop_nl_error(ret);
		goto err;
	}
	if (kbvolop_map_info(name, &devt, NULL, 0) == 1) {
		while (kbvolop_find_mount(devt, 0, mp, sizeof(mp))) {
			if (umount2(mp, 0)) {
				kbvolop_err("unmounting %s: %m (stop what uses it, e.g. kbrokerd)",
					    mp);
				goto err;
			}
		}
		if (kbvolop_map_remove(name)) {
			kbvolop_err("removing map %s failed", name);
			goto err;
		}
	} else if (!f.found) {
		kbvolop_err("volume '%s' is not open", label);
		goto err;
	}
	if (f.found) {
		ret = kbvol_close(nl, f.v.uuid);
		if (ret && ret != -ENOENT) {
			kbvolop_nl_error(ret);
			goto err;
		}
	}
	kbnl_close(nl);
	return 0;
err:
	kbnl_close(nl);
	return -1;
}
