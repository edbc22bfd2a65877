/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client side of the "kbroker" generic netlink family, over libnl-genl;
 * shared by kbrokerd and kbrokerctl.
 */
#ifndef KB_COMMON_KBNL_H
#define KB_COMMON_KBNL_H

#include <stdbool.h>
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

/* LISTENER_ADD: @policy is enum kbroker_policy. */
int kbnl_listener_add(struct kbnl *nl, const char *name, uint16_t port,
		      uint32_t policy);
/* LISTENER_DEL: -ENOENT when not registered, -EBUSY in MAINTENANCE. */
int kbnl_listener_del(struct kbnl *nl, const char *name);
/* SET_STATE: enum kbroker_state; a change is multicast as an event.
 * In MAINTENANCE, listener and policy updates fail with -EBUSY. */
int kbnl_set_state(struct kbnl *nl, uint32_t state);
/* LISTENER_GET of one listener: its policy. */
int kbnl_listener_get(struct kbnl *nl, const char *name, uint32_t *policy);
/* SOCK_ATTACH: @flags as claimed (KBROKER_SOCK_*); *@found (may be NULL)
 * gets what the module found.  -EPERM: the listener's policy forbids it. */
int kbnl_sock_attach(struct kbnl *nl, int fd, const char *listener,
		     uint32_t flags, uint32_t *found);
/*
 * An outbound (inter-broker) connection @fd, connected and not yet
 * written to, attached under @listener's policy as a TLS client (@tls) or
 * plaintext.  Call again after the TLS handshake to have kTLS counted;
 * *@found (may be NULL) as for kbnl_sock_attach.  -EPERM: the policy or
 * in_cluster_tls forbids it; -EALREADY: bytes were already written.
 */
int kbnl_attach_outbound(struct kbnl *nl, int fd, const char *listener,
			 bool tls, uint32_t *found);

/* Event subscription: a separate, non-blocking socket joined to the
 * "events" multicast group; poll kbnl_fd() and call kbnl_events_recv(). */
struct kbnl_event {
	uint32_t type;			/* enum kbroker_event */
	uint32_t state;			/* KBROKER_EVENT_STATE */
	char listener[KBROKER_LISTENER_NAME_MAX + 1];	/* _POLICY */
	uint32_t policy;
};

int kbnl_events_open(struct kbnl **out);
int kbnl_fd(struct kbnl *nl);
/* Calls @cb for each queued event; 0 when drained, or a negative errno. */
int kbnl_events_recv(struct kbnl *nl,
		     void (*cb)(const struct kbnl_event *ev, void *arg),
		     void *arg);

/*
 * The generic netlink controller's notifications, to see the module come
 * and go: the "kbroker" family is registered when the module loads and
 * unregistered when it unloads.  A non-blocking socket; poll kbnl_fd().
 */
int kbnl_ctrl_watch_open(struct kbnl **out);
/* Calls @cb with 1 (family registered) or 0 (gone) for each "kbroker"
 * notification queued; 0 when drained, or a negative errno. */
int kbnl_ctrl_watch_recv(struct kbnl *nl, void (*cb)(int present, void *arg),
			 void *arg);
/* The family id this handle resolved (it changes when the module reloads). */
int kbnl_family(const struct kbnl *nl);

#endif
