/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kbroker volume header: what sits at the start of a volume's device,
 * in two copies (Documentation/kbroker/volumes.rst has the byte layout).
 */
#ifndef KB_COMMON_VOLHDR_H
#define KB_COMMON_VOLHDR_H

#include <stdint.h>
#include <uapi/linux/kbroker.h>

#define VOLHDR_MAGIC		"KBRKVOL"	/* 8 bytes with its NUL */
#define VOLHDR_VERSION		1
#define VOLHDR_SIZE		512		/* bytes used of each copy */
#define VOLHDR_COPY_A		0		/* byte offsets of the copies */
#define VOLHDR_COPY_B		4096
#define VOLHDR_DATA_OFFSET	(1024 * 1024)	/* encrypted data start */
#define VOLHDR_WRAPPED_MAX	128
#define VOLHDR_FS_UUID_LEN	16

/*
 * What the header says of the file system in the data area.  Headers
 * written before this was recorded read as UNKNOWN (the field was zero).
 */
enum volhdr_fs {
	VOLHDR_FS_UNKNOWN = 0,	/* not recorded */
	VOLHDR_FS_NONE = 1,	/* formatted, no file system made yet */
	VOLHDR_FS_EXT4 = 2,	/* ext4 made, its UUID in fs_uuid */
};

struct volhdr {
	uint64_t generation;
	uint8_t uuid[KBROKER_VOLUME_UUID_LEN];
	char label[KBROKER_VOLUME_LABEL_MAX];
	char cipher[KBROKER_VOLUME_CIPHER_MAX];
	char master[KBROKER_MASTER_KEY_DESC_MAX];
	uint32_t key_bytes;
	uint32_t wrap_alg;
	uint64_t data_offset;		/* bytes */
	uint32_t wrapped_len;
	uint8_t wrapped[VOLHDR_WRAPPED_MAX];
	uint32_t fs;			/* enum volhdr_fs */
	uint8_t fs_uuid[VOLHDR_FS_UUID_LEN];
};

void volhdr_encode(const struct volhdr *h, uint8_t out[VOLHDR_SIZE]);
/* 0, -EINVAL (no magic), -EBADMSG (checksum), -EPROTO (version, fields). */
int volhdr_decode(const uint8_t in[VOLHDR_SIZE], struct volhdr *h);

/*
 * Reads both copies and returns the valid one with the highest
 * generation (copy A on a tie).  *which (may be NULL) gets 0 for A, 1 for
 * B.  -ENODATA when neither copy is valid, or a read errno.
 */
int volhdr_read(int fd, struct volhdr *h, int *which);
/* Writes one copy (0 = A, 1 = B) and syncs it to the device. */
int volhdr_write(int fd, const struct volhdr *h, int which);
/*
 * Writes @h as the new header: copy B at generation + 1, synced, then
 * copy A at generation + 2, so a crash leaves one valid copy, old or new.
 * @h->generation is updated.
 */
int volhdr_update(int fd, struct volhdr *h);

/*
 * What each copy's slot shows, valid or not: format must not take a torn
 * volume for a blank device (Documentation/kbroker/volumes.rst).
 */
enum volhdr_copy_state {
	VOLHDR_BLANK,		/* no magic, key slot all zero */
	VOLHDR_VALID,		/* decodes: @h holds it */
	VOLHDR_TORN,		/* magic, but the CRC or a field fails */
	VOLHDR_KEYSLOT,		/* no magic, but key slot bytes remain */
};

struct volhdr_scan {
	enum volhdr_copy_state state[2];
	int err[2];		/* volhdr_decode()'s answer */
	struct volhdr h[2];	/* VALID: the copy; else what could be read */
	int label_ok[2];	/* h[i].label is a plausible label */
};

/* 0, or a read errno.  Never fails on what the bytes hold. */
int volhdr_scan(int fd, struct volhdr_scan *s);
/* Whether either copy looks like (part of) a kbroker header. */
int volhdr_scan_found(const struct volhdr_scan *s);
const char *volhdr_copy_state_name(enum volhdr_copy_state st);

/* "xxxxxxxx-xxxx-..." (37 bytes with the NUL). */
void volhdr_uuid_str(const uint8_t *uuid, char out[37]);
/* Letters, digits, '_', '.', '-'; what the module accepts. */
int volhdr_label_ok(const char *label);

#endif
