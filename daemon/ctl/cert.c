// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl cert: the daemon's certificates over its control socket
 * (common/ctlsock.h), and the MAINTENANCE check other changes use.
 *   cert status            subject, issuer, expiry, last rotation
 *   cert rotate [LISTENER] a maintenance window now; waits for its end
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/ctlsock.h"
#include "keys/kbnl.h"
#include "ctl/ctl.h"

#define MAINT_MSG "broker is in MAINTENANCE (certificate update); try again later"

const char *kbctl_socket_path(void)
{
	const char *p = getenv("KBROKER_SOCKET");

	return p && *p ? p : KB_CTL_SOCKET_DEFAULT;
}

int kbctl_daemon(const char *cmd, char **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = kbctl_socket_path();
	char *buf = NULL;
	size_t len = 0;
	char tmp[4096];
	ssize_t n;
	FILE *m;
	int fd;

	*reply = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	m = open_memstream(&buf, &len);
	while (m && (n = read(fd, tmp, sizeof(tmp))) > 0)
		fwrite(tmp, 1, (size_t)n, m);
	close(fd);
	if (!m)
		return -ENOMEM;
	fclose(m);
	*reply = buf;
	return 0;
}

void kbctl_daemon_error(int err)
{
	fprintf(stderr, "kbrokerctl: cannot reach kbrokerd at %s: %s (set KBROKER_SOCKET or control.socket)\n",
		kbctl_socket_path(), strerror(-err));
}

/* 1 (and the reason printed) when the broker is in MAINTENANCE, by the
 * module's state or the daemon's own; 0 otherwise. */
int kbctl_refuse_in_maintenance(void)
{
	struct kbnl_status st;
	struct kbnl *nl;
	char *r = NULL;
	int busy = 0;

	if (!kbnl_open(&nl)) {
		busy = !kbnl_get_status(nl, &st) &&
		       st.state == KBROKER_STATE_MAINTENANCE;
		kbnl_close(nl);
	}
	if (!busy && !kbctl_daemon("status\n", &r) && r)
		busy = !strncmp(r, "state: MAINTENANCE", 18);
	free(r);
	if (busy)
		fprintf(stderr, "kbrokerctl: " MAINT_MSG "\n");
	return busy;
}

/* Prints the daemon's reply; 0 when it ends in "ok". */
int kbctl_show_reply(const char *r)
{
	const char *last;
	size_t n = strlen(r);

	while (n && r[n - 1] == '\n')
		n--;
	last = n ? memrchr(r, '\n', n) : NULL;
	last = last ? last + 1 : r;
	if (!strncmp(last, "error: ", 7)) {
		fwrite(r, 1, (size_t)(last - r), stdout);
		fprintf(stderr, "kbrokerctl: %.*s\n", (int)(r + n - last - 7),
			last + 7);
		return 1;
	}
	fwrite(r, 1, (size_t)(last - r), stdout);
	if (r + n - last != 2 || strncmp(last, "ok", 2))
		printf("%.*s\n", (int)(r + n - last), last);
	return 0;
}

int kbctl_cert(int argc, char **argv)
{
	char cmd[256], *r = NULL;
	int ret;

	if (argc < 2 || (strcmp(argv[1], "status") &&
			 strcmp(argv[1], "rotate"))) {
		fprintf(stderr, "usage: kbrokerctl cert status\n"
				"       kbrokerctl cert rotate [LISTENER]\n");
		return 2;
	}
	if (!strcmp(argv[1], "rotate")) {
		if (kbctl_refuse_in_maintenance())
			return 1;
		snprintf(cmd, sizeof(cmd), "rotate %s\n",
			 argc > 2 ? argv[2] : "");
	} else {
		snprintf(cmd, sizeof(cmd), "status\n");
	}
	ret = kbctl_daemon(cmd, &r);
	if (ret) {
		kbctl_daemon_error(ret);
		return 1;
	}
	ret = kbctl_show_reply(r ? r : "error: no answer\n");
	free(r);
	return ret;
}
