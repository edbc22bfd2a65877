// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket kbrokerctl talks to (see common/ctlsock.h).  Only
 * root (mode 0600) may connect.  A command is one short line the client
 * sends right after connecting, read with a 200 ms timeout: the loop is
 * held at most that long by a client that connects and says nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin/acl_ctl.h"
#include "admin/control.h"
#include "certs/cert.h"
#include "cluster/cluster.h"
#include "common/file.h"
#include "common/log.h"
#include "net/loop.h"

static int ctl_fd = -1;
static void on_accept(struct kb_loop *l, struct kb_watch *w);

static struct kb_watch ctl_watch = { KB_EV_WATCH, on_accept };
static char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void mkparent(const char *path)
{
	char d[KB_PATH_MAX], *s;

	snprintf(d, sizeof(d), "%s", path);
	s = strrchr(d, '/');
	if (s && s != d) {
		*s = '\0';
		mkdir(d, 0750);
	}
}

int kb_ctl_open(struct kb_loop *l)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ctl_watch };
	const char *path = l->b->cfg->control_socket;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		kb_warn("control.socket %s: path too long; kbrokerctl cannot reach kbrokerd",
			path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	mkparent(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A live daemon answers; a stale socket file is replaced. */
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		kb_warn("control.socket %s: another kbrokerd answers there; kbrokerctl cannot reach this one",
			path);
		close(fd);
		return -1;
	}
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || listen(fd, 16) ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		kb_warn("control.socket %s: %m; kbrokerctl cannot reach kbrokerd",
			path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ctl_fd = fd;
	snprintf(ctl_path, sizeof(ctl_path), "%s", path);
	kb_info("control socket %s", path);
	return 0;
}

void kb_ctl_close(struct kb_loop *l)
{
	(void)l;
	if (ctl_fd < 0)
		return;
	close(ctl_fd);
	unlink(ctl_path);
	ctl_fd = -1;
}

static int listener_mask(struct kb_loop *l, const char *name)
{
	int i;

	for (i = 0; i < l->n_ls; i++)
		if (!strcasecmp(l->b->cfg->listeners[i].name, name))
			return 1 << i;
	return -1;
}

static void cluster_status(struct kb_loop *l, int fd, bool json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!l->b->cluster) {
		kb_fd_reply(fd, "error: this broker is not in a cluster (zookeeper.connect is not set)\n");
		return;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		kb_fd_reply(fd, "error: out of memory\n");
		return;
	}
	kb_cluster_status(l->b->cluster, f, json);
	fputs("ok\n", f);
	fclose(f);
	kb_fd_reply(fd, text);
	free(text);
}

static void command(struct kb_loop *l, int fd, char *line)
{
	char why[256], *arg;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int mask = 0;

	line[strcspn(line, "\r\n")] = '\0';
	arg = strchr(line, ' ');
	if (arg)
		*arg++ = '\0';
	if (!strcmp(line, "status")) {
		f = open_memstream(&text, &len);
		if (!f) {
			kb_fd_reply(fd, "error: out of memory\n");
			return;
		}
		kb_cert_status(l, f);
		if (*l->b->metrics_url)
			fprintf(f, "metrics: %s\n", l->b->metrics_url);
		fputs("ok\n", f);
		fclose(f);
		kb_fd_reply(fd, text);
		free(text);
		return;
	}
	if (!strcmp(line, "cluster")) {
		cluster_status(l, fd, arg && !strcmp(arg, "json"));
		return;
	}
	if (!strcmp(line, "rotate")) {
		if (arg && *arg && (mask = listener_mask(l, arg)) < 0) {
			kb_fd_reply(fd, "error: no such listener\n");
			return;
		}
		kb_info("certificate rotation asked for by kbrokerctl");
		if (kb_cert_rotate(l, (unsigned int)mask, NULL,
				   "kbrokerctl cert rotate", fd, why,
				   sizeof(why))) {
			char out[300];

			snprintf(out, sizeof(out), "error: %s\n", why);
			kb_fd_reply(fd, out);
		}
		return;
	}
	if (!strcmp(line, "acl")) {
		kb_ctl_acl(fd, arg, kb_fd_reply);
		return;
	}
	kb_fd_reply(fd, "error: unknown command (status, rotate [LISTENER], cluster [json], acl ...)\n");
}

static void on_accept(struct kb_loop *l, struct kb_watch *w)
{
	struct timeval tv = { .tv_usec = 200000 };
	char line[4096];	/* an acl line with a long DN */
	ssize_t n;
	int fd;

	(void)w;
	while ((fd = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, line, sizeof(line) - 1, 0);
		if (n <= 0) {
			close(fd);
			continue;
		}
		line[n] = '\0';
		command(l, fd, line);
	}
}
