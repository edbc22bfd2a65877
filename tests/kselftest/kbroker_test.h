/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by kbroker's guest tests: load and unload the module,
 * read sysfs files.
 */
#ifndef KBROKER_TEST_H
#define KBROKER_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define KBROKER_SYSFS "/sys/kernel/kbroker"

static inline int kbroker_loaded(void)
{
	struct stat st;

	return stat("/sys/module/kbroker", &st) == 0;
}

static inline int kbroker_load(void)
{
	char path[256];
	struct utsname u;
	int fd, ret;

	if (kbroker_loaded())
		return 0;
	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/kbroker.ko",
		 u.release);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static inline int kbroker_unload(void)
{
	if (!kbroker_loaded())
		return 0;
	return syscall(SYS_delete_module, "kbroker", O_NONBLOCK) ? -errno : 0;
}

/* Reads a sysfs file into @buf without its trailing newline. */
static inline int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/* Writes @s to a sysfs file; returns 0 or the negative errno. */
static inline int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

#endif
