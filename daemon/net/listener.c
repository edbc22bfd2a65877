// SPDX-License-Identifier: GPL-2.0
/* Listener policy and the kbroker module's registration of listeners. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "certs/cert.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/loop.h"
#include "net/transport_tls.h"
#include "keys/kbnl.h"
#include "common/log.h"

static void module_off(struct kb_loop *l, const char *why)
{
	kb_log_once(KB_LOG_NOTICE,
		    "%s: kbrokerd enforces the listener policy from its config alone",
		    why);
	kbnl_close(l->nl);
	l->nl = NULL;
}

/* Registers one listener; adopts the module's policy if it knew it. */
static void register_one(struct kb_loop *l, int i)
{
	const struct kb_listener_cfg *lc = &l->b->cfg->listeners[i];
	struct kb_listener *ls = &l->ls[i];
	uint32_t pol;
	int ret;

	if (!lc->port) {
		kb_warn("listener %s: port 0 cannot be registered with the kbroker module",
			lc->name);
		return;
	}
	ret = kbnl_listener_add(l->nl, lc->name, (uint16_t)lc->port,
				ls->policy);
	if (ret == -EEXIST && !kbnl_listener_get(l->nl, lc->name, &pol) &&
	    pol < 3) {
		/* Set before a restart (sysfs knob): the module's wins. */
		if (pol != ls->policy)
			kb_notice("listener %s: policy %s from the kbroker module (config says %s)",
				  lc->name, kb_policy_name(pol),
				  kb_policy_name(ls->policy));
		ls->policy = pol;
		return;
	}
	if (ret == -EOPNOTSUPP || ret == -EINVAL) {
		module_off(l, "the kbroker module has no listener support");
		return;
	}
	if (ret) {
		kb_warn("listener %s: registering with the kbroker module: %s",
			lc->name, strerror(-ret));
		return;
	}
	kb_info("listener %s: registered with the kbroker module, policy %s",
		lc->name, kb_policy_name(ls->policy));
}

static void open_module(struct kb_loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct kbnl_status st;
	int ret, i;

	ret = kbnl_open(&l->nl);
	if (ret) {
		l->nl = NULL;
		module_off(l, ret == -ENOENT ?
			   "kbroker module not loaded" :
			   "kbroker module unreachable");
		return;
	}
	for (i = 0; i < l->b->cfg->n_listeners && l->nl; i++)
		register_one(l, i);
	if (!l->nl)
		return;
	/* A window an operator opened before we started. */
	if (!kbnl_get_status(l->nl, &st))
		kb_cert_module_state(st.state == KBROKER_STATE_MAINTENANCE);
	ret = kbnl_events_open(&l->nl_ev);
	if (ret) {
		kb_warn("kbroker module events: %s: policy changes will not be seen",
			strerror(-ret));
		l->nl_ev = NULL;
		return;
	}
	l->ev_kind = KB_EV_MODULE;
	ev.data.ptr = &l->ev_kind;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, kbnl_fd(l->nl_ev), &ev)) {
		kb_warn("epoll_ctl (module events): %m");
		kbnl_close(l->nl_ev);
		l->nl_ev = NULL;
	}
}

int kb_listeners_init(struct kb_loop *l)
{
	const struct kb_config *cfg = l->b->cfg;
	int i;

	for (i = 0; i < cfg->n_listeners; i++) {
		const struct kb_listener_cfg *lc = &cfg->listeners[i];
		struct kb_listener *ls = &l->ls[i];

		ls->policy = lc->policy;
		if (lc->proto != KB_SEC_SSL && lc->policy == KB_POLICY_PLAINTEXT)
			continue;
		ls->tls_ctx = kb_cert_ctx_new(lc);
		if (!ls->tls_ctx)
			return -1;
	}
	/* The module must know a port before it is listened on. */
	open_module(l);
	return 0;
}

void kb_listeners_register(struct kb_loop *l)
{
	int i;

	for (i = 0; i < l->n_ls; i++)
		kb_info("listener %s: policy %s%s", l->b->cfg->listeners[i].name,
			kb_policy_name(l->ls[i].policy),
			l->nl ? "" : " (enforced by kbrokerd)");
}

void kb_listeners_fini(struct kb_loop *l)
{
	int i;

	for (i = 0; i < KB_MAX_LISTENERS; i++) {
		kb_tls_ctx_free(l->ls[i].tls_ctx);
		l->ls[i].tls_ctx = NULL;
	}
	kbnl_close(l->nl_ev);
	kbnl_close(l->nl);
	l->nl = l->nl_ev = NULL;
	kb_tls_log_stats();
}


static void on_module_event(const struct kbnl_event *ev, void *arg)
{
	struct kb_loop *l = arg;
	struct kb_conn *c, *next;
	struct kb_listener *ls;
	int i, dropped = 0;

	if (ev->type == KBROKER_EVENT_STATE) {
		/* Also our own window's SET_STATE, which ends ACTIVE too. */
		kb_cert_module_state(ev->state == KBROKER_STATE_MAINTENANCE);
		return;
	}
	if (ev->type != KBROKER_EVENT_POLICY || ev->policy >= 3)
		return;
	for (i = 0; i < l->n_ls; i++)
		if (!strcmp(l->b->cfg->listeners[i].name, ev->listener))
			break;
	if (i == l->n_ls)
		return;
	ls = &l->ls[i];
	ls->policy = ev->policy;
	if (ls->policy != KB_POLICY_PLAINTEXT && !ls->tls_ctx)
		kb_err("listener %s: policy %s needs TLS but the listener has no ssl.keystore.location: TLS clients are refused",
		       ev->listener, kb_policy_name(ls->policy));
	for (c = l->conns; c; c = next) {
		next = c->next;
		if (c->listener != i || c->state != KB_CONN_OPEN ||
		    kb_listener_allows(ls, c->is_tls))
			continue;
		kb_conn_close(c, "forbidden by the new listener policy");
		dropped++;
	}
	kb_notice("listener %s: policy now %s (kbroker module); %d connection%s dropped",
		  ev->listener, kb_policy_name(ls->policy), dropped,
		  dropped == 1 ? "" : "s");
}

void kb_listeners_on_event(struct kb_loop *l)
{
	int ret;

	if (!l->nl_ev)
		return;
	ret = kbnl_events_recv(l->nl_ev, on_module_event, l);
	if (ret && ret != -EAGAIN)
		kb_log_once(KB_LOG_WARN, "kbroker module events: %s",
			    strerror(-ret));
}
