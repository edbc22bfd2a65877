// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl: the operator's command-line tool for kbroker.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keys/kbnl.h"
#include "ctl/ctl.h"

static const struct kbctl_cmd cmds[] = {
	{ "status", kbctl_status, "show the module's and the daemon's state, certificates" },
	{ "cert", kbctl_cert, "status | rotate [LISTENER]: the daemon's certificates" },
	{ "ca", kbctl_ca, "init DIR | sign DIR: a local CA for development and tests" },
	{ "volume", kbctl_volume, "encrypted volumes: format, open, close, check, status, rewrap, probe" },
	{ "listener", kbctl_listener, "list, add, delete listeners; set a policy" },
	{ "state", kbctl_state, "show the state, or set active|maintenance" },
	{ "cluster", kbctl_cluster, "status [--json]: brokers, controller, partitions, in-cluster encryption" },
	{ "acl", kbctl_acl, "list | add | remove: the broker's ACLs" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: kbrokerctl COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].help);
}

/* One clear line for the errors every command can meet. */
int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "kbrokerctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
