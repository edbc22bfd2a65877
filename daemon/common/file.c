// SPDX-License-Identifier: GPL-2.0
/* Small file helpers: whole writes, atomic replacement, small reads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/log.h"

int kb_writev_all(int fd, struct iovec *iov, int n, off_t pos)
{
	while (n > 0) {
		int cnt = n < IOV_MAX ? n : IOV_MAX;
		ssize_t w = pos < 0 ? writev(fd, iov, cnt) :
				      pwritev(fd, iov, cnt, pos);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!w)
			return -EIO;
		if (pos >= 0)
			pos += w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int kb_write_all(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return kb_writev_all(fd, &iov, len ? 1 : 0, -1);
}

int kb_fsync_dir(int dfd, const char *what)
{
	if (fsync(dfd)) {
		int err = -errno;

		kb_err("%s: cannot fsync directory: %m", what ? what : "?");
		return err;
	}
	return 0;
}

int kb_write_atomic(int dfd, const char *dir, const char *name,
		    const void *buf, size_t len)
{
	char tmp[300];
	int fd, err;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		kb_err("%s/%s: cannot create: %m", dir ? dir : ".", tmp);
		return err;
	}
	err = kb_write_all(fd, buf, len);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && renameat(dfd, tmp, dfd, name))
		err = -errno;
	if (err) {
		errno = -err;
		kb_err("%s/%s: cannot write: %m", dir ? dir : ".", name);
		unlinkat(dfd, tmp, 0);
		return err;
	}
	return kb_fsync_dir(dfd, dir);
}

int kb_read_small(int dfd, const char *name, char **buf, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *b;
	ssize_t r;
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	r = pread(fd, b, (size_t)st.st_size, 0);
	err = r < 0 ? -errno : 0;
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[r] = 0;
	*buf = b;
	*len = (size_t)r;
	return 0;
}

int kb_rm_dir(int parent_dfd, const char *parent, const char *name)
{
	int fd = openat(parent_dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	/* Partition dirs are flat: files only. */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) && !err) {
			err = -errno;
			kb_err("%s/%s/%s: cannot remove: %m", parent, name,
			       de->d_name);
		}
	}
	closedir(d);
	if (unlinkat(parent_dfd, name, AT_REMOVEDIR) && !err) {
		err = -errno;
		kb_err("%s/%s: cannot remove directory: %m", parent, name);
	}
	return err;
}

void kb_fd_reply(int fd, const char *text)
{
	size_t n = strlen(text);

	/* Short answers into an empty socket buffer: no partial writes. */
	if (write(fd, text, n) != (ssize_t)n)
		kb_dbg("control socket: short reply");
	close(fd);
}
