/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kbroker: kernel side of a Kafka-protocol broker's encryption.
 *
 * Generic netlink family "kbroker", version KBROKER_GENL_VERSION.
 * The family is present in every network namespace.  Every command
 * requires CAP_NET_ADMIN in the initial user namespace (GENL_ADMIN_PERM):
 * listener names and slots, the state and volume keys are host-wide.
 * Listeners belong to the network namespace of the socket that added
 * them: LISTENER_* and SOCK_ATTACH see only the caller's namespace's
 * listeners, the module enforces a listener's policy only on traffic in
 * that namespace, and a listener is deleted with its namespace.  Ports
 * are unique per namespace, names host-wide.  GET_STATUS, SET_STATE and
 * VOLUME_* act on the host whatever the caller's namespace.
 * Attributes are validated strictly: an unknown attribute, a wrong type
 * or a string that is too long is refused with -EINVAL and an extended
 * ack naming the attribute.
 *
 * KBROKER_CMD_GET_STATUS
 *   Request:  no attributes.
 *   Reply:    KBROKER_CMD_GET_STATUS with
 *               KBROKER_A_VERSION  NLA_NUL_STRING  module version, e.g. "0.1.0"
 *               KBROKER_A_STATE    NLA_U32         enum kbroker_state
 *
 * KBROKER_CMD_SET_STATE
 *   Request:  KBROKER_A_STATE  NLA_U32  enum kbroker_state
 *   Enters or leaves MAINTENANCE.  A change is multicast as a
 *   KBROKER_EVENT_STATE event.  Setting the current state is not an error.
 *
 * KBROKER_CMD_LISTENER_ADD
 *   Request:  KBROKER_A_LISTENER_NAME    NLA_NUL_STRING  [A-Za-z0-9_-]{1,32}
 *             KBROKER_A_LISTENER_PORT    NLA_U16         TCP port, 1..65535
 *             KBROKER_A_LISTENER_POLICY  NLA_U32         enum kbroker_policy,
 *                                                        optional, default TLS
 *             KBROKER_A_LISTENER_KTLS_REQUIRED  NLA_U8  0 or 1, optional,
 *                                    default 1 where the kernel has TLS:
 *                                    on a tls listener, application data
 *                                    leaves only through kTLS TX (past
 *                                    TLS 1.3's encrypted handshake, at
 *                                    most 32 KiB without it) or resets
 *   Creates /sys/kernel/kbroker/listeners/<name>/ and starts enforcing the
 *   policy on connections to the port.  Register a listener before listen()
 *   on its port: connections the module did not see start are not tracked.
 *   Errors: -EEXIST name taken; -EADDRINUSE port taken in this network
 *   namespace; -ENOSPC more than KBROKER_LISTENERS_MAX; -EBUSY in
 *   MAINTENANCE.
 *
 * KBROKER_CMD_LISTENER_DEL
 *   Request:  KBROKER_A_LISTENER_NAME
 *   Stops enforcement on the port and removes the sysfs directory.
 *   Errors: -ENOENT; -EBUSY in MAINTENANCE.
 *
 * KBROKER_CMD_LISTENER_SET
 *   Request:  KBROKER_A_LISTENER_NAME
 *             KBROKER_A_LISTENER_POLICY  NLA_U32  optional, the new policy
 *             KBROKER_A_LISTENER_KTLS_REQUIRED  NLA_U8  optional, 0 or 1
 *   Changes the listener as a write to its sysfs files does (the same
 *   function): CAP_NET_ADMIN over the listener's network namespace,
 *   multicast as KBROKER_EVENT_POLICY when the policy changes.
 *   Errors: -ENOENT; -EBUSY in MAINTENANCE.
 *
 * KBROKER_CMD_LISTENER_GET (do with a name, or dump without)
 *   Reply:    one KBROKER_CMD_LISTENER_GET message per listener with
 *             KBROKER_A_LISTENER_NAME, _PORT, _POLICY, _KTLS_REQUIRED and
 *             KBROKER_A_LISTENER_COUNTERS, a nest of NLA_U64
 *             enum kbroker_counter attributes.
 *
 * KBROKER_CMD_SOCK_ATTACH
 *   Request:  KBROKER_A_SOCK_FD        NLA_U32  an fd of the caller: an
 *                                               accepted TCP socket
 *             KBROKER_A_LISTENER_NAME           the listener it came from
 *             KBROKER_A_SOCK_FLAGS     NLA_U32  KBROKER_SOCK_* the daemon
 *                                               claims: exactly one of TLS,
 *                                               PLAINTEXT; with TLS, KTLS_RX
 *                                               when it installed kTLS RX too
 *   Reply:    KBROKER_A_SOCK_FLAGS     what the kernel found: KTLS_TX and
 *             KTLS_RX (ULP "tls", TLS_SW or TLS_HW) or USERSPACE_TLS, or
 *             PLAINTEXT; the listener counters ktls_tx, ktls_rx and
 *             userspace_tls count the same findings.
 *   With KBROKER_SOCK_OUTBOUND the socket is one the caller connected
 *   (an inter-broker link, ephemeral local port) that falls under the
 *   named listener's policy: attach it before its first byte (-EALREADY
 *   after), and again after its handshake to have kTLS counted
 *   (outbound_ktls_tx/_rx).  While in_cluster_tls is 1 only a TLS attach
 *   under a listener with policy tls is accepted (-EPERM otherwise).
 *   The module keeps no reference to the socket after the call.
 *   Errors: -EBADF/-ENOTSOCK not a socket; -EPROTOTYPE not TCP;
 *   -EADDRNOTAVAIL its local port is not the listener's; -ENOTCONN not
 *   connected; -ENOENT no such listener; -EPERM PLAINTEXT on a listener
 *   whose policy is TLS.
 *
 * KBROKER_CMD_EVENT (multicast on group KBROKER_GENL_MCGRP_EVENTS only)
 *   KBROKER_A_EVENT_TYPE  NLA_U32  enum kbroker_event
 *   KBROKER_EVENT_STATE:  KBROKER_A_STATE, the new state.
 *   KBROKER_EVENT_POLICY: KBROKER_A_LISTENER_NAME and _POLICY, the new
 *                         policy; connections it forbids should be closed
 *                         (the module resets them at their next segment).
 *   Subscribing needs CAP_NET_ADMIN.  STATE events reach subscribers in
 *   every network namespace, POLICY events those in the listener's.
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
 * Listener policy (/sys/kernel/kbroker/listeners/<name>/policy), enforced
 * by the module on every connection to the listener's port:
 * TLS: the client's first bytes must open a TLS handshake record and only
 *      well-formed TLS records may leave; no application-data record may
 *      leave without kTLS before a handshake record did, and with
 *      ktls_required none past 32 KiB; anything else resets.
 * TLS_PLAINTEXT: both TLS and plaintext clients are served.
 * PLAINTEXT: a client opening with a TLS record is reset.
 */
enum kbroker_policy {
	KBROKER_POLICY_TLS,
	KBROKER_POLICY_TLS_PLAINTEXT,
	KBROKER_POLICY_PLAINTEXT,
	__KBROKER_POLICY_MAX,
};

#define KBROKER_LISTENER_NAME_MAX	32	/* NUL excluded */
#define KBROKER_LISTENERS_MAX		64

/* KBROKER_A_SOCK_FLAGS bits, in SOCK_ATTACH requests and replies. */
#define KBROKER_SOCK_TLS		(1U << 0)
#define KBROKER_SOCK_PLAINTEXT		(1U << 1)
#define KBROKER_SOCK_USERSPACE_TLS	(1U << 2)
#define KBROKER_SOCK_KTLS_TX		(1U << 3)
#define KBROKER_SOCK_KTLS_RX		(1U << 4)
/*
 * Request only: the socket is one the broker connected (an inter-broker
 * link, local port ephemeral) that falls under the named listener's
 * policy.  Attach it before its first byte, again after its handshake.
 */
#define KBROKER_SOCK_OUTBOUND		(1U << 5)

/* Nested in KBROKER_A_LISTENER_COUNTERS, each NLA_U64. */
enum kbroker_counter {
	KBROKER_COUNTER_UNSPEC,
	KBROKER_COUNTER_PAD,
	KBROKER_COUNTER_CONNECTIONS,	/* connections seen starting */
	KBROKER_COUNTER_TLS,		/* first bytes were a TLS record */
	KBROKER_COUNTER_PLAINTEXT,	/* first bytes were not */
	KBROKER_COUNTER_KTLS_TX,	/* SOCK_ATTACH found kTLS TX */
	KBROKER_COUNTER_KTLS_RX,	/* SOCK_ATTACH found kTLS RX */
	KBROKER_COUNTER_USERSPACE_TLS,	/* SOCK_ATTACH found TLS without kTLS */
	KBROKER_COUNTER_REJECTED,	/* connections reset by the policy */
	KBROKER_COUNTER_TRACKED,	/* connections tracked right now */
	KBROKER_COUNTER_ADOPTED,	/* established ones SOCK_ATTACH adopted */
	KBROKER_COUNTER_OUTBOUND,	/* outbound connections attached */
	KBROKER_COUNTER_OUTBOUND_REJECTED, /* outbound ones reset or refused */
	KBROKER_COUNTER_OUTBOUND_KTLS_TX, /* outbound ones found with kTLS TX */
	KBROKER_COUNTER_OUTBOUND_KTLS_RX, /* outbound ones found with kTLS RX */
	__KBROKER_COUNTER_MAX,
};

#define KBROKER_COUNTER_MAX (__KBROKER_COUNTER_MAX - 1)

/* KBROKER_A_EVENT_TYPE values. */
enum kbroker_event {
	KBROKER_EVENT_UNSPEC,
	KBROKER_EVENT_STATE,
	KBROKER_EVENT_POLICY,
	__KBROKER_EVENT_MAX,
};

/*
 * Commands.  Numbers are fixed once released; each is documented above its
 * implementation's policy table and in Documentation/netlink/kbroker.rst.
 * LISTENER_* and SOCK_ATTACH: listener policy and kTLS (kmod/listener.c,
 * kmod/sock.c);
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
	KBROKER_CMD_LISTENER_SET,
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
	KBROKER_A_LISTENER_KTLS_REQUIRED,
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
