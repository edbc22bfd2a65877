// SPDX-License-Identifier: GPL-2.0
/*
 * Putting cleaned segments in place of the old ones so that a crash at any
 * point leaves one set or the other, never neither nor a mix.
 *
 * The cleaner writes a group's new segment as <base>.cleaned and syncs it.
 * The swap renames it to <base>.<end>.swap, naming in the file name the
 * offsets it replaces, and syncs the directory: from then on the new set
 * is the log, whatever happens.  The old segments with a base in
 * [base, end) are then removed and the swap file renamed to <base>.log
 * (over the old one of the same base, atomically).  Recovery removes a
 * *.cleaned (the old set is intact) and finishes a *.swap by repeating
 * the last two steps, which are idempotent.  Index files of the new
 * segment are written after the rename and rebuilt when missing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

void kb_clean_name(char *buf, size_t len, int64_t base, int64_t end)
{
	snprintf(buf, len, "%020" PRId64 ".%020" PRId64 ".swap", base, end);
}

static int sync_dir(int dfd, const char *path)
{
	return kb_fsync_dir(dfd, path);
}

static int unlink_seg_files(int dfd, const char *path, int64_t base,
			    bool log_too)
{
	static const char *const ext[] = { ".index", ".timeindex", ".log" };
	char name[48];

	for (size_t i = 0; i < (log_too ? 3u : 2u); i++) {
		kb_seg_name(name, sizeof(name), base, ext[i]);
		if (unlinkat(dfd, name, 0) && errno != ENOENT) {
			int err = -errno;

			kb_err("%s/%s: cannot remove: %m", path, name);
			return err;
		}
	}
	return 0;
}

int kb_clean_swap(int dfd, const char *path, int64_t base, int64_t end,
		  const int64_t *old, size_t n_old, int stop_after)
{
	char cleaned[48], swap[64], log[48];
	int err;

	kb_seg_name(cleaned, sizeof(cleaned), base, ".cleaned");
	kb_clean_name(swap, sizeof(swap), base, end);
	kb_seg_name(log, sizeof(log), base, ".log");
	/* 1: the commit point. */
	if (renameat(dfd, cleaned, dfd, swap)) {
		err = -errno;
		kb_err("%s/%s: cannot rename to %s: %m", path, cleaned, swap);
		return err;
	}
	err = sync_dir(dfd, path);
	if (err || stop_after == 1)
		return err;
	/* 2: the old set goes; the old <base>.log is replaced in 3. */
	for (size_t i = 0; i < n_old; i++) {
		err = unlink_seg_files(dfd, path, old[i], old[i] != base);
		if (err)
			return err;
	}
	if (stop_after == 2)
		return 0;
	/* 3 */
	if (renameat(dfd, swap, dfd, log)) {
		err = -errno;
		kb_err("%s/%s: cannot rename to %s: %m", path, swap, log);
		return err;
	}
	return sync_dir(dfd, path);
}

/* "<20 digits>.<20 digits>.swap" -> base and end. */
static bool parse_swap(const char *name, int64_t *base, int64_t *end)
{
	char tail[8];

	if (strlen(name) != 46)
		return false;
	return sscanf(name, "%20" SCNd64 ".%20" SCNd64 "%7s", base, end,
		      tail) == 3 && !strcmp(tail, ".swap") && *base >= 0 &&
	       *end > *base;
}

struct found {
	int64_t *v;
	size_t n, cap;
};

static int push(struct found *f, int64_t v)
{
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 16;
		int64_t *nv = realloc(f->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		f->v = nv;
		f->cap = nc;
	}
	f->v[f->n++] = v;
	return 0;
}

/* Finishes the swap of [base, end): steps 2 and 3 again. */
static int finish_swap(int dfd, const char *path, int64_t base, int64_t end,
		       const struct found *logs)
{
	struct found old = { 0 };
	int err = 0;

	for (size_t i = 0; i < logs->n && !err; i++)
		if (logs->v[i] >= base && logs->v[i] < end)
			err = push(&old, logs->v[i]);
	if (!err && !old.n)
		err = push(&old, base);	/* at least its indexes */
	if (!err) {
		char cleaned[48];

		kb_warn("%s: finishing the swap of cleaned segments [%" PRId64
			", %" PRId64 ") cut short", path, base, end);
		/* Step 1 is done: pretend it runs again on an absent file. */
		kb_seg_name(cleaned, sizeof(cleaned), base, ".cleaned");
		unlinkat(dfd, cleaned, 0);
		for (size_t i = 0; i < old.n && !err; i++)
			err = unlink_seg_files(dfd, path, old.v[i],
					       old.v[i] != base);
		if (!err) {
			char swap[64], log[48];

			kb_clean_name(swap, sizeof(swap), base, end);
			kb_seg_name(log, sizeof(log), base, ".log");
			if (renameat(dfd, swap, dfd, log))
				err = -errno;
			else
				err = sync_dir(dfd, path);
		}
	}
	free(old.v);
	return err;
}

int kb_clean_recover(int dfd, const char *path)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct found logs = { 0 }, swaps = { 0 };
	struct dirent *de;
	int err = 0;

	if (!d) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (!err && (de = readdir(d))) {
		const char *n = de->d_name;
		size_t l = strlen(n);
		int64_t base, end;

		if (l == 28 && !strcmp(n + 20, ".cleaned")) {
			kb_warn("%s/%s: removing a cleaning cut short", path, n);
			unlinkat(dfd, n, 0);
		} else if (parse_swap(n, &base, &end)) {
			err = push(&swaps, base);
			if (!err)
				err = push(&swaps, end);
		} else if (l == 24 && !strcmp(n + 20, ".log")) {
			err = push(&logs, strtoll(n, NULL, 10));
		}
	}
	closedir(d);
	for (size_t i = 0; !err && i + 1 < swaps.n; i += 2)
		err = finish_swap(dfd, path, swaps.v[i], swaps.v[i + 1], &logs);
	free(logs.v);
	free(swaps.v);
	return err;
}
