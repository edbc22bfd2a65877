// SPDX-License-Identifier: GPL-2.0
/*
 * What a listener's policy lets in, and the kbroker module's say on each
 * accepted connection (SOCK_ATTACH), for net/conn.c; net/listener.c keeps
 * the policy up to date.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "keys/kbnl.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/loop.h"
#include "net/transport_tls.h"

/* The config's enum is the module's, value for value. */
_Static_assert((int)KB_POLICY_TLS == KBROKER_POLICY_TLS &&
	       (int)KB_POLICY_TLS_PLAINTEXT == KBROKER_POLICY_TLS_PLAINTEXT &&
	       (int)KB_POLICY_PLAINTEXT == KBROKER_POLICY_PLAINTEXT,
	       "listener policy values differ from the uapi");

bool kb_listener_allows(const struct kb_listener *ls, bool tls)
{
	if (tls)
		return ls->policy != KB_POLICY_PLAINTEXT && ls->tls_ctx;
	return ls->policy != KB_POLICY_TLS;
}

bool kb_listener_sock_attach(struct kb_loop *l, struct kb_conn *c)
{
	uint32_t flags, found = 0;
	int ret;

	if (!l->nl)
		return true;
	if (c->is_tls) {
		flags = KBROKER_SOCK_TLS;
		if (kb_tls_ktls_rx(&c->tr))
			flags |= KBROKER_SOCK_KTLS_RX;
	} else {
		flags = KBROKER_SOCK_PLAINTEXT;
	}
	ret = kbnl_sock_attach(l->nl, c->tr.fd,
			       l->b->cfg->listeners[c->listener].name, flags,
			       &found);
	if (ret == -EPERM) {
		kb_info("conn %llu (%s): refused by the kbroker module's listener policy",
			(unsigned long long)c->id, c->peer);
		return false;
	}
	if (ret) {
		kb_log_once(KB_LOG_WARN, "kbroker module SOCK_ATTACH: %s",
			    strerror(-ret));
		/* The module may be gone: look now, not in a second. */
		l->module_check = true;
		return true;
	}
	kb_dbg("conn %llu: attached, module found%s%s%s%s",
	       (unsigned long long)c->id,
	       found & KBROKER_SOCK_KTLS_TX ? " ktls_tx" : "",
	       found & KBROKER_SOCK_KTLS_RX ? " ktls_rx" : "",
	       found & KBROKER_SOCK_USERSPACE_TLS ? " userspace_tls" : "",
	       found & KBROKER_SOCK_PLAINTEXT ? " plaintext" : "");
	return true;
}
