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

#endif /* _UAPI_LINUX_KBROKER_H */
