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
#include "common/config.h"
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

/* Connects to the module and registers every listener; l->nl or NULL. */
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
	l->module_family = kbnl_family(l->nl);
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
	kbnl_close(l->nl_ctrl);
	l->nl = l->nl_ev = l->nl_ctrl = NULL;
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

/* Drops our handles on a module that is gone (or another instance). */
static void close_module(struct kb_loop *l)
{
	if (l->nl_ev)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, kbnl_fd(l->nl_ev), NULL);
	kbnl_close(l->nl_ev);
	kbnl_close(l->nl);
	l->nl = l->nl_ev = NULL;
}

static void module_gone(struct kb_loop *l, const char *why)
{
	kb_err("the kbroker kernel module is gone (%s): the kernel no longer enforces the listener policy",
	       why);
	close_module(l);
	/* Its MAINTENANCE, if any, went with it. */
	kb_cert_module_state(false);
	if (!l->module_required) {
		kb_err("module.required=false: still accepting connections, the listener policy enforced by kbrokerd alone until the module is back");
		l->module = KB_MOD_ABSENT;
		return;
	}
	kb_loop_accept_pause(l, true);
	kb_err("module.required=true: not accepting new connections until the module is back (modprobe kbroker); %zu established connection%s go%s on",
	       l->n_conns, l->n_conns == 1 ? "" : "s",
	       l->n_conns == 1 ? "es" : "");
	l->module = KB_MOD_GONE;
}

/* Attaches every established connection to the module (again). */
static int reattach(struct kb_loop *l)
{
	struct kb_conn *c, *next;
	int n = 0;

	for (c = l->conns; c && l->nl; c = next) {
		next = c->next;
		if (c->state != KB_CONN_OPEN)
			continue;	/* attached once its transport is known */
		if (!kb_listener_sock_attach(l, c)) {
			kb_conn_close(c, "refused by the kbroker module");
			continue;
		}
		n++;
	}
	return n;
}

static void module_back(struct kb_loop *l)
{
	bool was_paused = l->accept_paused;
	int n, i, regs = 0;

	open_module(l);
	if (!l->nl)
		return;		/* not usable yet: the next check tries again */
	for (i = 0; i < l->n_ls; i++)
		regs += l->b->cfg->listeners[i].port != 0;
	n = reattach(l);
	if (was_paused)
		kb_loop_accept_pause(l, false);
	l->module = KB_MOD_UP;
	l->module_check = false;
	kb_notice("the kbroker kernel module is here: %d listener%s registered, %d connection%s attached%s",
		  regs, regs == 1 ? "" : "s", n, n == 1 ? "" : "s",
		  was_paused ? ", accepting connections again" : "");
}

void kb_module_start(struct kb_loop *l)
{
	int req = l->b->cfg->module_required;
	struct epoll_event ev = { .events = EPOLLIN };
	int ret;

	l->module_required = req < 0 ? l->nl != NULL : req;
	l->module = l->nl ? KB_MOD_UP :
		    l->module_required ? KB_MOD_GONE : KB_MOD_ABSENT;
	ret = kbnl_ctrl_watch_open(&l->nl_ctrl);
	if (!ret) {
		l->ctrl_kind = KB_EV_MODWATCH;
		ev.data.ptr = &l->ctrl_kind;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, kbnl_fd(l->nl_ctrl), &ev))
			ret = -errno;
	}
	if (ret) {
		kb_warn("generic netlink notifications: %s: the kbroker module's unloading is seen within a second",
			strerror(-ret));
		kbnl_close(l->nl_ctrl);
		l->nl_ctrl = NULL;
	}
	if (l->module == KB_MOD_UP)
		kb_info("kbroker module: module.required=%s%s",
			l->module_required ? "true" : "false",
			req < 0 ? " (default: it is loaded)" : "");
	if (l->module == KB_MOD_GONE) {
		kb_err("module.required=true but the kbroker kernel module is not loaded: not accepting connections until it is (modprobe kbroker)");
		kb_loop_accept_pause(l, true);
	} else if (req == 0) {
		kb_warn("module.required=false: should the kbroker module go, kbrokerd goes on serving with the listener policy enforced by itself alone");
	}
}

static void on_ctrl(int present, void *arg)
{
	struct kb_loop *l = arg;

	if (!present && l->module == KB_MOD_UP)
		module_gone(l, "unloaded");
	else if (present && l->module != KB_MOD_UP)
		module_back(l);
	else if (present)
		l->module_check = true;	/* a reload we saw only half of */
}

void kb_module_on_watch(struct kb_loop *l)
{
	int ret;

	if (!l->nl_ctrl)
		return;
	ret = kbnl_ctrl_watch_recv(l->nl_ctrl, on_ctrl, l);
	if (ret)
		/* ENOBUFS: notifications lost; the check finds the truth. */
		l->module_check = true;
}

/*
 * Each second (and at once after a failed request): is the family there,
 * and is it the one we registered with?  A new family id is a reload.
 */
void kb_module_tick(struct kb_loop *l)
{
	struct kbnl *nl;
	int id = -ENOENT;

	l->module_check = false;
	/* A socket of its own: the request socket may hold a stale reply. */
	if (!kbnl_open(&nl)) {
		id = kbnl_family(nl);
		kbnl_close(nl);
	}
	if (l->module == KB_MOD_UP) {
		if (id == l->module_family)
			return;
		module_gone(l, id < 0 ? "its netlink family is gone" :
				    "reloaded");
	}
	if (id >= 0)
		module_back(l);
}
