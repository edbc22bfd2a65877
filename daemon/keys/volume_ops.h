/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening and closing kbroker volumes, shared by kbrokerctl (volume
 * open/close) and kbrokerd (at.rest.volumes): the master key in this
 * process's keyring, VOLUME_OPEN through the module, the dm-crypt table
 * loaded by this process (dm-crypt finds the logon key in its keyrings),
 * ext4 on first open (only where the header says none was made), the
 * mount.  See Documentation/kbroker/volumes.rst.
 *
 * Errors are reported as one line each: "PROG: message" on stderr when
 * a program name was set with kbvolop_init(), else through kb_err().
 */
#ifndef KB_COMMON_VOLUME_OPS_H
#define KB_COMMON_VOLUME_OPS_H

#include <stdint.h>
#include <sys/types.h>

#include "keys/kbnl_volume.h"
#include "keys/volhdr.h"

#define KBVOLOP_DEFAULT_MASTER	"kbroker:master:default"
#define KBVOLOP_MAP_PREFIX	"kbroker-"

/*
 * @prog: message prefix, or NULL to log through kb_err();
 * @state_dir: where the default master key lives, or NULL for
 * $KBROKER_STATE_DIR, else /var/lib/kbroker;
 * @master_opt: how the user names a master key, for hints
 * ("--master-key", "at.rest.master.key").
 */
void kbvolop_init(const char *prog, const char *state_dir,
		  const char *master_opt);
/* Prefix for every message until reset with NULL (e.g. the device). */
void kbvolop_set_context(const char *ctx);
const char *kbvolop_state_dir(void);

void kbvolop_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kbvolop_nl_error(int err);
/* One line for a VOLUME_* error; @what says which step ("open", a device). */
void kbvolop_vol_error(const char *what, const char *master, const char *label,
		       int err);

int kbvolop_mkdir_p(const char *path, mode_t mode);
/* Loads @desc if it is the default master key (made if @create) into this
 * process's keyring, and makes sure this process has a keyring. */
int kbvolop_master_prepare(const char *desc, int create);
/* Opens @dev, reads its newest valid header; fd or -1 (reported). */
int kbvolop_dev_open(const char *dev, int flags, struct volhdr *h);
int kbvolop_dev_size(int fd, uint64_t *size);
int kbvolop_nl_connect(struct kbnl **nl);

/* dm map @name: 1 (with dev_t and dm uuid) if it exists, 0 if not, -1. */
int kbvolop_map_info(const char *name, dev_t *devt, char *uuid, size_t size);
int kbvolop_map_remove(const char *name);
/* The @skip-th mount point of @devt; 1 if found. */
int kbvolop_find_mount(dev_t devt, int skip, char *out, size_t size);

struct kbvolop_open_res {
	char label[KBROKER_VOLUME_LABEL_MAX];
	char uuid[37];
	char node[192];		/* /dev/mapper/kbroker-<label> */
	int reused;		/* the map was already open */
	int mounted;		/* we mounted it */
};

/*
 * Opens volume @dev (a block device, resolved by the caller) with master
 * key @master (NULL: the one its header names), and mounts it on @mnt if
 * not NULL.  With @reuse, a map already open for this very volume is
 * taken as it is (and mounted on @mnt if it is not mounted there); else
 * it is an error.  On failure nothing it made is left behind.
 */
int kbvolop_open(const char *dev, const char *mnt, const char *master,
		 const char *what, int reuse, struct kbvolop_open_res *res);

/*
 * Runs e2fsck on volume @dev through a map of its own (or its map, open
 * but not mounted): read-only (-n), or fixing what it finds (-y) with
 * @repair.  0 when the file system is clean or was repaired, else -1
 * (reported, with the next step).
 */
int kbvolop_check(const char *dev, const char *master, int repair);

/*
 * Closes volume @label: unmounts every mount of its map, removes the map,
 * has the module forget the key.  0, or -1 (reported).
 */
int kbvolop_close(const char *label);

#endif
