// SPDX-License-Identifier: GPL-2.0
/*
 * The ACL store of a single broker: <state dir>/acls, one binding a line
 * in the text form of kb_acl_format().  Saved as a new file, fsynced and
 * renamed over the old one, so a crash leaves either list, never half of
 * one.  A line that does not parse stops the broker at start: dropping a
 * DENY silently would widen access.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "common/log.h"

struct file_be {
	char path[KB_PATH_MAX + 8];
	char dir[KB_PATH_MAX];
};

static int file_load(struct kb_acl_backend *be, struct kb_acl **out,
		     size_t *n)
{
	struct file_be *f = be->priv;
	struct kb_acl *v = NULL, *p;
	size_t nv = 0, cap = 0, llen = 0;
	char *line = NULL;
	int lineno = 0, ret = 0;
	FILE *fp;

	*out = NULL;
	*n = 0;
	fp = fopen(f->path, "re");
	if (!fp)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &llen, fp) > 0) {
		char *s = line + strspn(line, " \t");

		lineno++;
		if (*s == '#' || *s == '\n' || !*s)
			continue;
		if (nv == cap) {
			cap = cap ? cap * 2 : 64;
			p = realloc(v, cap * sizeof(*p));
			if (!p) {
				ret = -ENOMEM;
				break;
			}
			v = p;
		}
		if (kb_acl_parse(s, &v[nv])) {
			kb_err("%s:%d: not an ACL binding", f->path, lineno);
			ret = -EINVAL;
			break;
		}
		nv++;
	}
	free(line);
	fclose(fp);
	if (ret) {
		kb_acls_free(v, nv);
		return ret;
	}
	*out = v;
	*n = nv;
	return 0;
}

static int file_save(struct kb_acl_backend *be, const struct kb_acl *acls,
		     size_t n)
{
	struct file_be *f = be->priv;
	char tmp[sizeof(f->path) + 8], line[3 * KB_PRINCIPAL_MAX + 64];
	size_t i;
	FILE *fp;
	int fd, ret = 0;

	mkdir(f->dir, 0700);
	snprintf(tmp, sizeof(tmp), "%s.new", f->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	fp = fdopen(fd, "w");
	if (!fp) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret;
	}
	fputs("# kbroker ACLs: resource-type pattern-type name principal host operation permission\n",
	      fp);
	for (i = 0; i < n; i++) {
		if (kb_acl_format(&acls[i], line, sizeof(line))) {
			ret = -ENAMETOOLONG;
			break;
		}
		fprintf(fp, "%s\n", line);
	}
	if (fflush(fp) || fsync(fd))
		ret = ret ?: -errno;
	if (fclose(fp))
		ret = ret ?: -errno;
	if (!ret && rename(tmp, f->path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd))
			ret = -errno;
		close(fd);
	}
	return ret;
}

static void file_free(struct kb_acl_backend *be)
{
	free(be->priv);
	free(be);
}

struct kb_acl_backend *kb_acl_file_backend(const char *dir)
{
	struct kb_acl_backend *be = calloc(1, sizeof(*be));
	struct file_be *f = calloc(1, sizeof(*f));

	if (!be || !f || strlen(dir) >= sizeof(f->dir)) {
		free(be);
		free(f);
		return NULL;
	}
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	snprintf(f->path, sizeof(f->path), "%s/acls", dir);
	be->name = f->path;
	be->load = file_load;
	be->save = file_save;
	be->free = file_free;
	be->priv = f;
	return be;
}
