/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client side of the VOLUME_* commands of the "kbroker" family (see
 * include/uapi/linux/kbroker.h), on a connection from kbnl_open().
 * Functions return 0 or the kernel's negative
 * errno: -ENOKEY (no such master key), -EKEYREJECTED (wrong master key),
 * -ENOENT (module not loaded, or volume not open), -EPERM.
 */
#ifndef KB_COMMON_KBNL_VOLUME_H
#define KB_COMMON_KBNL_VOLUME_H

#include <stdint.h>
#include <uapi/linux/kbroker.h>

struct kbnl;

struct kbvol_info {
	uint8_t uuid[KBROKER_VOLUME_UUID_LEN];
	char label[KBROKER_VOLUME_LABEL_MAX];
	char cipher[KBROKER_VOLUME_CIPHER_MAX];
	char master[KBROKER_MASTER_KEY_DESC_MAX];
	char key_desc[KBROKER_VOLUME_KEY_DESC_MAX];
	uint32_t state;			/* enum kbroker_volume_state */
};

int kbvol_create(struct kbnl *nl, const uint8_t *uuid, const char *master,
		 uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN]);
int kbvol_open(struct kbnl *nl, const struct kbvol_info *v,
	       const uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN],
	       char key_desc[KBROKER_VOLUME_KEY_DESC_MAX]);
int kbvol_close(struct kbnl *nl, const uint8_t *uuid);
int kbvol_rewrap(struct kbnl *nl, const uint8_t *uuid, const char *master,
		 const char *new_master,
		 const uint8_t blob[KBROKER_VOLUME_WRAPPED_LEN],
		 uint8_t new_blob[KBROKER_VOLUME_WRAPPED_LEN]);
/* Calls @cb for each open volume; stops early when @cb returns non-zero. */
int kbvol_list(struct kbnl *nl,
	       int (*cb)(const struct kbvol_info *v, void *arg), void *arg);

#endif
