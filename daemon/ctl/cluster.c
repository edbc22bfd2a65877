// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl cluster status [--json]: the broker's view of its cluster
 * (brokers, controller, offline and under-replicated partitions, in-cluster
 * encryption), asked over the control socket.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

int kbctl_cluster(int argc, char **argv)
{
	bool json = argc == 3 && !strcmp(argv[2], "--json");
	char *r = NULL;
	int ret;

	if (argc < 2 || strcmp(argv[1], "status") || (argc == 3 && !json) ||
	    argc > 3) {
		fprintf(stderr, "usage: kbrokerctl cluster status [--json]\n");
		return 2;
	}
	ret = kbctl_daemon(json ? "cluster json\n" : "cluster\n", &r);
	if (ret) {
		kbctl_daemon_error(ret);
		return 1;
	}
	ret = kbctl_show_reply(r ? r : "error: no answer\n");
	free(r);
	return ret;
}
