/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client side of the "kbroker" generic netlink family, over libnl-genl;
 * shared by kbrokerd and kbrokerctl.
 */
#ifndef KB_COMMON_KBNL_H
#define KB_COMMON_KBNL_H

#include <stdint.h>
#include <uapi/linux/kbroker.h>

struct kbnl;

struct kbnl_status {
	char version[KBROKER_VERSION_MAX];
	uint32_t state;			/* enum kbroker_state */
};

/*
 * Connects and resolves the family.  Returns 0, -ENOENT when the module is
 * not loaded, or another negative errno.
 */
int kbnl_open(struct kbnl **out);
void kbnl_close(struct kbnl *nl);

int kbnl_get_status(struct kbnl *nl, struct kbnl_status *st);

const char *kbnl_state_name(uint32_t state);

#endif
