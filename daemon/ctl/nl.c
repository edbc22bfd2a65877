// SPDX-License-Identifier: GPL-2.0
/* What every kbrokerctl command says when the kbroker module fails it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"

void kbctl_nl_error(int err)
{
	if (err == -ENOENT)
		fprintf(stderr,
			"kbrokerctl: the kbroker kernel module is not loaded (modprobe kbroker)\n");
	else if (err == -EPERM)
		fprintf(stderr,
			"kbrokerctl: permission denied: kbroker commands need CAP_NET_ADMIN (run as root)\n");
	else
		fprintf(stderr, "kbrokerctl: netlink: %s\n", strerror(-err));
}
