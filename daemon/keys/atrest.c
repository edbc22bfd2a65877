// SPDX-License-Identifier: GPL-2.0
/*
 * Encryption at rest, the daemon's side: refuse to start when a log dir
 * is not on an open kbroker volume.  The mount is found in
 * /proc/self/mountinfo (longest mount point covering the dir), and the
 * device is judged by its dm name and uuid in sysfs, not by the mount
 * source string, which anyone can choose.
 *
 * It also opens the volumes named in at.rest.volumes itself, through the
 * same code as kbrokerctl (keys/volume_ops.c), and closes them at a
 * clean shutdown.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <stdlib.h>
#include <string.h>

#include "keys/atrest.h"
#include "common/log.h"
#include "keys/volume_ops.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] &&
		    s[3]) {
			*d++ = (char)strtol((char[]){ s[1], s[2], s[3], 0 },
					    NULL, 8);
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

/* Whether mount point @mp covers @path. */
static size_t covers(const char *mp, const char *path)
{
	size_t n = strlen(mp);

	if (!strcmp(mp, "/"))
		return 1;
	if (strncmp(mp, path, n) || (path[n] && path[n] != '/'))
		return 0;
	return n;
}

/* The dm name and uuid of block device maj:min; empty if not dm. */
static void dm_ids(unsigned int maj, unsigned int min, char *name,
		   char *uuid, size_t size)
{
	char path[128];
	FILE *f;

	name[0] = uuid[0] = 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/name", maj, min);
	f = fopen(path, "r");
	if (f) {
		if (fgets(name, size, f))
			name[strcspn(name, "\n")] = 0;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/uuid", maj, min);
	f = fopen(path, "r");
	if (f) {
		if (fgets(uuid, size, f))
			uuid[strcspn(uuid, "\n")] = 0;
		fclose(f);
	}
}

/* The real path of @dir, or of its nearest existing ancestor. */
static int resolve(const char *dir, char *out)
{
	char buf[PATH_MAX], *slash;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -1;
	while (!realpath(buf, out)) {
		slash = strrchr(buf, '/');
		if (!slash)
			return realpath(".", out) ? 0 : -1;
		if (slash == buf) {
			strcpy(out, "/");
			return 0;
		}
		*slash = 0;
	}
	return 0;
}

static int check_dir(const char *dir)
{
	char path[PATH_MAX], line[8192], mp[PATH_MAX], best_mp[PATH_MAX] = "";
	char src[PATH_MAX], best_src[PATH_MAX] = "?", name[256], uuid[256];
	unsigned int maj, min, bmaj = 0, bmin = 0;
	size_t best = 0, n;
	char *dash;
	FILE *f;

	if (resolve(dir, path)) {
		kb_err("log dir %s: cannot resolve its path", dir);
		return -1;
	}
	f = fopen("/proc/self/mountinfo", "r");
	if (!f) {
		kb_err("at.rest.encryption: /proc/self/mountinfo: %m");
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		dash = strstr(line, " - ");
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mp) != 3 ||
		    !dash || sscanf(dash + 3, "%*s %4095s", src) != 1)
			continue;
		unescape(mp);
		n = covers(mp, path);
		/* The last of equal mount points is the one on top. */
		if (n && n >= best) {
			best = n;
			bmaj = maj;
			bmin = min;
			snprintf(best_mp, sizeof(best_mp), "%s", mp);
			snprintf(best_src, sizeof(best_src), "%s", src);
		}
	}
	fclose(f);
	dm_ids(bmaj, bmin, name, uuid, sizeof(name));
	if (best && !strncmp(name, "kbroker-", 8) &&
	    !strncmp(uuid, "KBROKER-", 8)) {
		kb_info("log dir %s: encrypted at rest on kbroker volume %s (%s)",
			dir, name + 8, best_mp);
		return 0;
	}
	kb_err("log dir %s is not on an open kbroker volume (it is on %s, mounted from %s): "
	       "refusing to start; open one with `kbrokerctl volume open DEV --mount DIR`, "
	       "or set at.rest.encryption=off",
	       dir, best_mp[0] ? best_mp : "?", best_src);
	return -1;
}

int kb_atrest_check(const struct kb_config *cfg)
{
	size_t i;
	int ret = 0;

	if (!cfg->at_rest_encryption)
		return 0;	/* config.c warns at every start */
	for (i = 0; i < cfg->n_log_dirs; i++)
		if (check_dir(cfg->log_dirs[i]))
			ret = -1;
	return ret;
}

/* What kb_atrest_open() did, undone in reverse by kb_atrest_close(). */
struct opened {
	char dev[KB_PATH_MAX];
	char dir[KB_PATH_MAX];
	char label[KBROKER_VOLUME_LABEL_MAX];
	int reused;	/* someone else's map: only undo our mount */
	int mounted;
};

static struct opened *opened;
static size_t n_opened;

static int undo(const struct opened *o)
{
	char what[KB_PATH_MAX + 32];
	int ret;

	if (!o->reused) {
		snprintf(what, sizeof(what), "closing volume %s", o->dev);
		kbvolop_set_context(what);
		ret = kbvolop_close(o->label);
		kbvolop_set_context(NULL);
		if (ret)
			return -1;
		kb_info("volume %s ('%s') closed", o->dev, o->label);
		return 0;
	}
	if (o->mounted && umount2(o->dir, 0)) {
		kb_err("volume %s: unmounting %s: %s", o->dev, o->dir,
		       strerror(errno));
		return -1;
	}
	kb_info("volume %s ('%s') left open as we found it", o->dev, o->label);
	return 0;
}

int kb_atrest_open(const struct kb_config *cfg)
{
	const char *master;
	struct kbvolop_open_res res;
	char dev[PATH_MAX], what[PATH_MAX + 32];
	size_t i;

	if (!cfg->n_volumes)
		return 0;
	kbvolop_init(NULL, cfg->at_rest_state_dir, "at.rest.master.key");
	master = cfg->at_rest_master_key[0] ? cfg->at_rest_master_key :
		 KBVOLOP_DEFAULT_MASTER;
	opened = calloc(cfg->n_volumes, sizeof(*opened));
	if (!opened) {
		kb_err("at.rest.volumes: out of memory");
		return -1;
	}
	for (i = 0; i < cfg->n_volumes; i++) {
		const struct kb_volume_cfg *v = &cfg->volumes[i];
		struct opened *o = &opened[n_opened];

		if (!realpath(v->dev, dev)) {
			/* strerror: the first kb_log() call may clobber errno. */
			kb_err("at.rest.volumes: volume %s: %s", v->dev,
			       strerror(errno));
			goto err;
		}
		/* Every message names the device, once. */
		snprintf(what, sizeof(what), "at.rest.volumes: volume %s",
			 v->dev);
		kbvolop_set_context(what);
		if (kbvolop_open(dev, v->dir, master, "open", 1, &res)) {
			kbvolop_set_context(NULL);
			goto err;
		}
		kbvolop_set_context(NULL);
		snprintf(o->dev, sizeof(o->dev), "%s", v->dev);
		snprintf(o->dir, sizeof(o->dir), "%s", v->dir);
		snprintf(o->label, sizeof(o->label), "%s", res.label);
		o->reused = res.reused;
		o->mounted = res.mounted;
		n_opened++;
		kb_info("volume %s ('%s' %s) %s as %s on %s", v->dev,
			res.label, res.uuid,
			res.reused ? "already open, reused" : "opened",
			res.node, v->dir);
	}
	return 0;
err:
	kb_atrest_close();
	return -1;
}

int kb_atrest_close(void)
{
	int ret = 0;

	while (n_opened > 0)
		if (undo(&opened[--n_opened]))
			ret = -1;
	free(opened);
	opened = NULL;
	return ret;
}
