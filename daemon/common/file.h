/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KB_COMMON_FILE_H
#define KB_COMMON_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Writes all of @iov (@n entries, consumed) at @pos, or at the file
 * offset when @pos is -1, in IOV_MAX chunks, resuming short writes and
 * EINTR.  0 or a negative errno. */
int kb_writev_all(int fd, struct iovec *iov, int n, off_t pos);
/* The same for one buffer at the file offset. */
int kb_write_all(int fd, const void *buf, size_t len);
/* Replaces @dir/@name by @buf through @name.tmp, fsync and rename, then
 * fsyncs the directory.  Logged; 0 or a negative errno. */
int kb_write_atomic(int dfd, const char *dir, const char *name,
		    const void *buf, size_t len);
/* fsync of a directory, logged with @what. */
int kb_fsync_dir(int dfd, const char *what);
/* Removes the flat directory @name under @parent_dfd and its files. */
int kb_rm_dir(int parent_dfd, const char *parent, const char *name);
/* Writes a short text answer to @fd (a control socket client) and closes
 * it. */
void kb_fd_reply(int fd, const char *text);
/* Reads a small file whole into a malloc'd, NUL-terminated *@buf. */
int kb_read_small(int dfd, const char *name, char **buf, size_t *len);

#endif
