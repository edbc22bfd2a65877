// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl status: what the module says about itself, then what the
 * daemon says over its control socket (state, certificates).  Either may
 * be missing: the module on a build host, the daemon when not running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kbnl.h"
#include "ctl/ctl.h"

int kbctl_status(int argc, char **argv)
{
	struct kbnl_status st;
	struct kbnl *nl;
	char *r = NULL;
	int ret, dret;

	(void)argc;
	(void)argv;
	ret = kbnl_open(&nl);
	if (!ret) {
		ret = kbnl_get_status(nl, &st);
		kbnl_close(nl);
	}
	dret = kbctl_daemon("status\n", &r);
	if (ret && (ret != -ENOENT || dret)) {
		kbctl_nl_error(ret);
		if (dret)
			return 1;
	}
	if (!ret) {
		printf("module:  kbroker %s\n", st.version);
		printf("state:   %s\n", kbnl_state_name(st.state));
	}
	if (dret || !r) {
		if (ret != -ENOENT)
			printf("daemon:  not reachable at %s\n",
			       kbctl_socket_path());
		free(r);
		return ret ? 1 : 0;
	}
	/* The daemon's lines; its state line only without the module. */
	printf("daemon:  kbrokerd at %s\n", kbctl_socket_path());
	for (char *line = strtok(r, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strcmp(line, "ok"))
			continue;
		if (!strncmp(line, "state: ", 7)) {
			if (ret)
				printf("state:   %s (kept by kbrokerd: no module)\n",
				       line + 7);
			continue;
		}
		printf("%s\n", line);
	}
	free(r);
	return 0;
}
