// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl status: what the module says about itself.
 */
#include <stdio.h>

#include "common/kbnl.h"
#include "ctl/ctl.h"

int kbctl_status(int argc, char **argv)
{
	struct kbnl_status st;
	struct kbnl *nl;
	int ret;

	(void)argc;
	(void)argv;
	ret = kbnl_open(&nl);
	if (ret) {
		kbctl_nl_error(ret);
		return 1;
	}
	ret = kbnl_get_status(nl, &st);
	kbnl_close(nl);
	if (ret) {
		kbctl_nl_error(ret);
		return 1;
	}
	printf("module:  kbroker %s\n", st.version);
	printf("state:   %s\n", kbnl_state_name(st.state));
	return 0;
}
