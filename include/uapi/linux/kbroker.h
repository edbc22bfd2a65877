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

enum kbroker_cmd {
	KBROKER_CMD_UNSPEC,
	KBROKER_CMD_GET_STATUS,
	__KBROKER_CMD_MAX,
};

#define KBROKER_CMD_MAX (__KBROKER_CMD_MAX - 1)

enum kbroker_attr {
	KBROKER_A_UNSPEC,
	KBROKER_A_VERSION,
	KBROKER_A_STATE,
	__KBROKER_A_MAX,
};

#define KBROKER_A_MAX (__KBROKER_A_MAX - 1)

#endif /* _UAPI_LINUX_KBROKER_H */
