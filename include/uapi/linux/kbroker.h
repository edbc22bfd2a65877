/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kbroker: kernel side of a Kafka-protocol broker's encryption.
 *
 * Generic netlink family "kbroker", version KBROKER_GENL_VERSION.
 * Every command requires CAP_NET_ADMIN in the caller's network namespace
 * (GENL_ADMIN_PERM); attributes are validated strictly: an unknown
 * attribute, a wrong type or a string that is too long is refused with
 * -EINVAL and an extended ack naming the attribute.
 *
 * KBROKER_CMD_GET_STATUS
 *   Request:  no attributes.
 *   Reply:    KBROKER_CMD_GET_STATUS with
 *               KBROKER_A_VERSION  NLA_NUL_STRING  module version, e.g. "0.1.0"
 *               KBROKER_A_STATE    NLA_U32         enum kbroker_state
 *
 * Commands are numbered from 1 and never renumbered; new commands and
 * attributes are only ever appended.
 */
#ifndef _UAPI_LINUX_KBROKER_H
#define _UAPI_LINUX_KBROKER_H

#define KBROKER_GENL_NAME "kbroker"
#define KBROKER_GENL_VERSION 1
/* Multicast group for state, policy and key events (KBROKER_CMD_EVENT). */
#define KBROKER_GENL_MCGRP_EVENTS "events"

/* Largest version string, terminating NUL included. */
#define KBROKER_VERSION_MAX 32

/*
 * Broker state, as read from /sys/kernel/kbroker/state:
 * ACTIVE: normal service.
 * MAINTENANCE: a certificate update runs; produce and consume go on, update
 *              operations are refused with -EBUSY.
 */
enum kbroker_state {
	KBROKER_STATE_ACTIVE,
	KBROKER_STATE_MAINTENANCE,
	__KBROKER_STATE_MAX,
};

/*
 * Commands.  Numbers are fixed once released; each is documented above its
 * implementation's policy table and in Documentation/netlink/kbroker.rst.
 * LISTENER_* and SOCK_ATTACH: listener policy and kTLS (kmod/listener.c);
 * SET_STATE: the maintenance window (kmod/main.c);
 * VOLUME_*: per-volume data keys (kmod/volume.c).
 */
enum kbroker_cmd {
	KBROKER_CMD_UNSPEC,
	KBROKER_CMD_GET_STATUS,
	KBROKER_CMD_SET_STATE,
	KBROKER_CMD_LISTENER_ADD,
	KBROKER_CMD_LISTENER_DEL,
	KBROKER_CMD_LISTENER_GET,
	KBROKER_CMD_SOCK_ATTACH,
	KBROKER_CMD_VOLUME_CREATE,
	KBROKER_CMD_VOLUME_OPEN,
	KBROKER_CMD_VOLUME_CLOSE,
	KBROKER_CMD_VOLUME_REWRAP,
	KBROKER_CMD_VOLUME_LIST,
	KBROKER_CMD_EVENT,
	__KBROKER_CMD_MAX,
};

#define KBROKER_CMD_MAX (__KBROKER_CMD_MAX - 1)

/*
 * Attributes.  One flat space shared by all commands; each command's
 * policy accepts only the ones it takes.  Listener attributes are
 * KBROKER_A_LISTENER_*, volume attributes KBROKER_A_VOLUME_*.
 */
enum kbroker_attr {
	KBROKER_A_UNSPEC,
	KBROKER_A_VERSION,
	KBROKER_A_STATE,
	KBROKER_A_LISTENER_NAME = 16,
	KBROKER_A_LISTENER_PORT,
	KBROKER_A_LISTENER_POLICY,
	KBROKER_A_LISTENER_COUNTERS,
	KBROKER_A_SOCK_FD,
	KBROKER_A_SOCK_FLAGS,
	KBROKER_A_EVENT_TYPE,
	KBROKER_A_VOLUME_UUID = 48,
	KBROKER_A_VOLUME_LABEL,
	KBROKER_A_VOLUME_CIPHER,
	KBROKER_A_VOLUME_MASTER_KEY,
	KBROKER_A_VOLUME_WRAPPED_KEY,
	KBROKER_A_VOLUME_NEW_MASTER_KEY,
	KBROKER_A_VOLUME_STATE,
	KBROKER_A_VOLUME_KEY_DESC,
	__KBROKER_A_MAX,
};

#define KBROKER_A_MAX (__KBROKER_A_MAX - 1)

/*
 * Volume keys (kmod/volume.c).  A volume's 64-byte data key (AES-256-XTS)
 * is made by the module, wrapped with a 32-byte master key found by
 * description in the caller's keyrings (types "logon" or "user"), and only
 * ever leaves the module wrapped, or as a "logon" key for dm-crypt.
 *
 * Wrapped key blob, KBROKER_VOLUME_WRAPPED_LEN bytes:
 *   u8 version (KBROKER_VOLUME_WRAP_GCM_AES256) | 12-byte nonce |
 *   64-byte ciphertext | 16-byte tag;
 *   AEAD "gcm(aes)", key = master key, associated data = the 16-byte UUID.
 *
 * KBROKER_CMD_VOLUME_CREATE
 *   Request:  KBROKER_A_VOLUME_UUID        binary[16]  the new volume's UUID
 *             KBROKER_A_VOLUME_MASTER_KEY  NUL string  master key description
 *   Reply:    KBROKER_A_VOLUME_WRAPPED_KEY binary      the wrapped data key
 *   Errors:   -ENOKEY no such master key; -EINVAL not 32 bytes.
 *
 * KBROKER_CMD_VOLUME_OPEN
 *   Request:  KBROKER_A_VOLUME_UUID, KBROKER_A_VOLUME_LABEL (NUL string,
 *             [A-Za-z0-9_.-]), KBROKER_A_VOLUME_CIPHER ("aes-xts-plain64"),
 *             KBROKER_A_VOLUME_MASTER_KEY, KBROKER_A_VOLUME_WRAPPED_KEY
 *   Reply:    KBROKER_A_VOLUME_KEY_DESC    NUL string  "kbroker:vol:<uuid>"
 *   Unwraps the data key into a "logon" key of that description, held in
 *   the module's keyring ".kbroker" and linked into the caller's process
 *   keyring (else its session keyring), where dm-crypt's request_key()
 *   finds it when the same process loads the table.  The module stays
 *   pinned while any volume is open.  Opening an open volume re-links it.
 *   Errors:   -EKEYREJECTED the master key does not unwrap the blob;
 *             -ENOKEY no such master key.
 *
 * KBROKER_CMD_VOLUME_CLOSE
 *   Request:  KBROKER_A_VOLUME_UUID
 *   Invalidates the logon key.  -ENOENT when the volume is not open.
 *
 * KBROKER_CMD_VOLUME_REWRAP
 *   Request:  KBROKER_A_VOLUME_UUID, KBROKER_A_VOLUME_MASTER_KEY (old),
 *             KBROKER_A_VOLUME_NEW_MASTER_KEY, KBROKER_A_VOLUME_WRAPPED_KEY
 *   Reply:    KBROKER_A_VOLUME_WRAPPED_KEY wrapped with the new master key
 *
 * KBROKER_CMD_VOLUME_LIST (dump)
 *   Request:  no attributes.
 *   Reply:    one message per open volume with KBROKER_A_VOLUME_UUID,
 *             _LABEL, _CIPHER, _MASTER_KEY, _KEY_DESC and
 *             KBROKER_A_VOLUME_STATE (NLA_U32, enum kbroker_volume_state).
 */
#define KBROKER_VOLUME_UUID_LEN		16
#define KBROKER_VOLUME_LABEL_MAX	64	/* NUL included */
#define KBROKER_VOLUME_CIPHER_MAX	32	/* NUL included */
#define KBROKER_MASTER_KEY_DESC_MAX	128	/* NUL included */
#define KBROKER_VOLUME_KEY_DESC_MAX	64	/* NUL included */
#define KBROKER_VOLUME_KEY_LEN		64	/* AES-256-XTS */
#define KBROKER_MASTER_KEY_LEN		32	/* AES-256-GCM */
#define KBROKER_VOLUME_WRAP_GCM_AES256	1
#define KBROKER_VOLUME_WRAPPED_LEN	(1 + 12 + KBROKER_VOLUME_KEY_LEN + 16)
#define KBROKER_VOLUME_CIPHER_NAME	"aes-xts-plain64"
#define KBROKER_VOLUME_KEY_PREFIX	"kbroker:vol:"

enum kbroker_volume_state {
	KBROKER_VOLUME_CLOSED,
	KBROKER_VOLUME_OPEN,
};

#endif /* _UAPI_LINUX_KBROKER_H */
