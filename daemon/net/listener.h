/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Listener policy: what each listener accepts (tls, tls_plaintext,
 * plaintext), its TLS context, and the kbroker module's side of it.
 * With the module the listeners are registered (LISTENER_ADD), every
 * connection is attached once its transport is known (SOCK_ATTACH) and
 * policy changes arrive on the "events" multicast group; without it the
 * daemon applies the policy from its config alone.
 */
#ifndef KB_BROKER_LISTENER_H
#define KB_BROKER_LISTENER_H

#include <stdbool.h>

#include "common/config.h"

struct kb_loop;
struct kb_listener;
struct kb_conn;

/* First byte of every TLS connection: a handshake record (0x16).  A Kafka
 * request starts with its size, which never starts with it (that would be
 * at least 0x16000000 bytes). */
#define KB_TLS_RECORD_HANDSHAKE 0x16

/* Builds TLS contexts; -1 (logged) when a keystore is unusable. */
int kb_listeners_init(struct kb_loop *l);
/* After binding: registers with the module, or says once that the daemon
 * enforces the policy itself. */
void kb_listeners_register(struct kb_loop *l);
void kb_listeners_fini(struct kb_loop *l);

bool kb_listener_allows(const struct kb_listener *ls, bool tls);
/* Tells the module about an accepted connection; false = drop it. */
bool kb_listener_sock_attach(struct kb_loop *l, struct kb_conn *c);
/* The module's event socket is readable. */
void kb_listeners_on_event(struct kb_loop *l);

/*
 * The module's lifetime: kbrokerd watches the generic netlink controller
 * for the "kbroker" family going and coming, and checks each second.
 * Gone: logged as an error; with module.required, the listeners stop
 * listening (established connections go on) until it is back.  Back:
 * listeners registered, live connections attached, listening again.
 */
void kb_module_start(struct kb_loop *l);
void kb_module_on_watch(struct kb_loop *l);
void kb_module_tick(struct kb_loop *l);

#endif
