/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbroker.ko internals shared between the module's files.
 */
#ifndef _KBROKER_KMOD_H
#define _KBROKER_KMOD_H

#include <linux/types.h>
#include <uapi/linux/kbroker.h>

#define KBROKER_MOD_VERSION "0.1.0"

enum kbroker_state kbroker_get_state(void);
const char *kbroker_state_name(enum kbroker_state state);

int kbroker_sysfs_init(void);
void kbroker_sysfs_exit(void);

int kbroker_genl_init(void);
void kbroker_genl_exit(void);

#endif /* _KBROKER_KMOD_H */
