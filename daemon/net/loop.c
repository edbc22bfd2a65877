// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "certs/cert.h"
#include "net/conn.h"
#include "group/group.h"
#include "net/listener.h"
#include "net/loop.h"
#include "common/log.h"
#include "proto/api.h"
#include "store/store.h"

#define TICK_MS 100
#define IDLE_SCAN_MS 1000
#define MAX_EVENTS 256

int kb_loop_init(struct kb_loop *l, struct kb_broker *b)
{
	sigset_t set;

	memset(l, 0, sizeof(*l));
	l->b = b;
	l->sig = -1;
	l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Without it requests are simply not counted. */
	l->req_stats = calloc(KB_API_COUNT, sizeof(*l->req_stats));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		kb_err("epoll_create1: %m");
		return -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	l->sig = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sig < 0) {
		kb_err("signalfd: %m");
		return -1;
	}
	l->sig_kind = KB_EV_SIGNAL;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->sig_kind };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sig, &ev)) {
		kb_err("epoll_ctl: %m");
		return -1;
	}
	b->loop = l;
	return 0;
}

static int listen_one(struct kb_loop *l, int idx)
{
	const struct kb_listener_cfg *lc = &l->b->cfg->listeners[idx];
	struct addrinfo hints = { 0 }, *ai, *a;
	struct kb_listener *ls = &l->ls[l->n_ls];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[8];
	int fd = -1, one = 1, ret;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", lc->port);
	ret = getaddrinfo(*lc->host ? lc->host : "0.0.0.0", port, &hints, &ai);
	if (ret) {
		kb_err("listener %s: cannot resolve %s: %s", lc->name, lc->host,
		       gai_strerror(ret));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family,
			    a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, 1024))
			break;
		ret = errno;
		close(fd);
		fd = -1;
		errno = ret;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		kb_err("listener %s: cannot listen on %s:%d: %m", lc->name,
		       lc->host, lc->port);
		return -1;
	}
	ls->kind = KB_EV_LISTENER;
	ls->fd = fd;
	ls->idx = idx;
	ls->port = lc->port;
	if (!getsockname(fd, (struct sockaddr *)&ss, &sl))
		ls->port = ntohs(ss.ss_family == AF_INET6 ?
				 ((struct sockaddr_in6 *)&ss)->sin6_port :
				 ((struct sockaddr_in *)&ss)->sin_port);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ls };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		kb_err("epoll_ctl: %m");
		close(fd);
		return -1;
	}
	l->n_ls++;
	kb_info("listening on %s %s:%d", lc->name, lc->host, ls->port);
	return 0;
}

int kb_loop_listen(struct kb_loop *l)
{
	int i;

	if (kb_listeners_init(l))
		return -1;
	for (i = 0; i < l->b->cfg->n_listeners; i++)
		if (listen_one(l, i))
			return -1;
	kb_listeners_register(l);
	kb_module_start(l);
	return kb_cert_start(l);
}

int kb_loop_add_hook(struct kb_loop *l, struct kb_loop_hook *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	h->kind = KB_EV_HOOK;
	if (h->fd >= 0 && epoll_ctl(l->epfd, EPOLL_CTL_ADD, h->fd, &ev)) {
		kb_err("epoll_ctl: %m");
		return -1;
	}
	h->next = l->hooks;
	l->hooks = h;
	return 0;
}

static void run_hook(struct kb_loop_hook *h)
{
	h->on_event(h->arg);
}

static void tick_hooks(struct kb_loop *l, int64_t now)
{
	struct kb_loop_hook *h;

	for (h = l->hooks; h; h = h->next) {
		if (h->on_tick && h->on_tick(h->arg, now) && !l->stop) {
			l->stop = 1;
			l->exit_code = 1;
		}
	}
}

void kb_loop_accept_pause(struct kb_loop *l, bool pause)
{
	int i;

	if (l->accept_paused == pause)
		return;
	for (i = 0; i < l->n_ls; i++) {
		struct kb_listener *ls = &l->ls[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ls };
		const char *name = l->b->cfg->listeners[ls->idx].name;

		if (pause) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, ls->fd, NULL);
			/* On Linux, SHUT_RD takes a listening socket out of
			 * LISTEN and keeps its port; listen() brings it back. */
			if (shutdown(ls->fd, SHUT_RD))
				kb_err("listener %s: stop listening: %m", name);
		} else if (listen(ls->fd, 1024) ||
			   epoll_ctl(l->epfd, EPOLL_CTL_ADD, ls->fd, &ev)) {
			kb_err("listener %s: listening again: %m", name);
		}
	}
	l->accept_paused = pause;
}

/* Stops the loop once no hook asks for more time. */
static void stop_hooks(struct kb_loop *l, int64_t now)
{
	struct kb_loop_hook *h;
	bool wait = false;

	for (h = l->hooks; h; h = h->next)
		if (h->on_stop && h->on_stop(h->arg, now) > 0)
			wait = true;
	if (!wait)
		l->stop = 1;
}

static void do_accept(struct kb_loop *l, struct kb_listener *ls)
{
	int i, fd;

	for (i = 0; i < 64; i++) {
		fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			ls->st.accepted++;
			kb_conn_new(l, fd, ls->idx, ls->port);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of fds: take the connection and drop it so
			 * the listen queue does not spin the loop. */
			kb_log_once(KB_LOG_WARN,
				    "out of file descriptors: refusing connections");
			if (l->spare_fd >= 0) {
				close(l->spare_fd);
				fd = accept(ls->fd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				l->spare_fd = open("/dev/null",
						   O_RDONLY | O_CLOEXEC);
			}
		}
		return;
	}
}

/*
 * SIGHUP reloads what can change live: the PEM keystores of the TLS
 * listeners, after an operator replaced the files, through the same
 * maintenance window as a renewal (new handshakes get the new certificate,
 * established connections are untouched, any failure rolls back).  The
 * listeners sharing the first listener's file go in one window.
 */
static void on_sighup(struct kb_loop *l)
{
	const struct kb_config *cfg = l->b->cfg;
	const char *file = NULL;
	unsigned int mask = 0;
	char why[256];
	int i;

	for (i = 0; i < l->n_ls; i++) {
		const struct kb_listener_cfg *lc = &cfg->listeners[i];
		const char *f;

		if (!l->ls[i].tls_ctx || lc->tls.ks_type != KB_KS_PEM)
			continue;
		f = kb_cert_dynamic_location(i);
		if (!f)
			f = lc->tls.keystore;
		if (!file)
			file = f;
		if (!strcmp(f, file))
			mask |= 1u << i;
	}
	if (!mask) {
		kb_info("SIGHUP: no PEM keystore to reload");
		return;
	}
	if (kb_cert_rotate(l, mask, file, "SIGHUP: keystore reload", -1, why,
			   sizeof(why)))
		kb_warn("SIGHUP: keystore reload not started: %s", why);
	else
		kb_info("SIGHUP: reloading the keystore %s", file);
}

static void on_signal(struct kb_loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sig, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			on_sighup(l);
			continue;
		}
		kb_info("received signal %u, shutting down", si.ssi_signo);
		/* A second signal does not wait for the hooks. */
		if (l->stopping)
			l->stop = 1;
		l->stopping = true;
		stop_hooks(l, kb_now_mono_ms());
	}
}

static void close_idle(struct kb_loop *l, int64_t now)
{
	int64_t idle = l->b->cfg->connections_max_idle_ms;
	struct kb_conn *c, *next;

	for (c = l->conns; c; c = next) {
		next = c->next;
		if (kb_conn_check_handshake(c, now))
			continue;
		/*
		 * Any event counts as activity, a reader taking its answers
		 * too; one that stops reading is idle with its answers queued.
		 */
		if (idle >= 0 && !c->is_parked &&
		    now - c->last_active_ms > idle)
			kb_conn_close(c, "idle");
	}
}

/* Completes parked requests: those woken by new data, then expired. */
static void run_parked(struct kb_loop *l, int64_t now)
{
	struct kb_conn *c, *next;
	int rounds;

	/* Completing one request may run a Produce that wakes others. */
	for (rounds = 0; l->b->wake && rounds < 4; rounds++) {
		l->b->wake = false;
		for (c = l->parked; c; c = next) {
			next = c->pnext;
			/* Only @c itself can close here, so @next stays. */
			kb_conn_poll_parked(c, false);
		}
	}
	while (l->heap_n && l->heap[0]->deadline_ms <= now)
		kb_conn_poll_parked(l->heap[0], true);
}

int kb_loop_run(struct kb_loop *l)
{
	struct epoll_event evs[MAX_EVENTS];
	int64_t now = kb_now_mono_ms();
	int64_t next_tick = now + TICK_MS, next_idle = now + IDLE_SCAN_MS;

	while (!l->stop) {
		int64_t wait = next_tick - now;
		int n, i;

		if (l->heap_n && l->heap[0]->deadline_ms - now < wait)
			wait = l->heap[0]->deadline_ms - now;
		if (l->b->wake || wait < 0)
			wait = 0;
		n = epoll_wait(l->epfd, evs, MAX_EVENTS, (int)wait);
		if (n < 0 && errno != EINTR) {
			kb_err("epoll_wait: %m");
			return -1;
		}
		for (i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;

			if (kind == KB_EV_LISTENER)
				do_accept(l, evs[i].data.ptr);
			else if (kind == KB_EV_CONN)
				kb_conn_on_event(evs[i].data.ptr,
						 evs[i].events);
			else if (kind == KB_EV_MODULE)
				kb_listeners_on_event(l);
			else if (kind == KB_EV_CERT)
				kb_cert_on_event(l);
			else if (kind == KB_EV_MODWATCH)
				kb_module_on_watch(l);
			else if (kind == KB_EV_WATCH)
				((struct kb_watch *)evs[i].data.ptr)->on_event(
					l, evs[i].data.ptr);
			else if (kind == KB_EV_HOOK)
				run_hook(evs[i].data.ptr);
			else
				on_signal(l);
		}
		now = kb_now_mono_ms();
		if (l->module_check)
			kb_module_tick(l);
		run_parked(l, now);
		if (now >= next_tick) {
			struct kb_groups *gs = kb_groups_get(l->b);

			kb_store_tick(l->b->store, kb_now_real_ms());
			/* Session and rebalance timeouts fire on time. */
			if (gs)
				kb_groups_tick(gs);
			tick_hooks(l, now);
			if (l->stopping && !l->stop)
				stop_hooks(l, now);
			next_tick = now + TICK_MS;
		}
		if (now >= next_idle) {
			close_idle(l, now);
			kb_cert_tick(l, now);
			kb_module_tick(l);
			next_idle = now + IDLE_SCAN_MS;
		}
	}
	return l->exit_code ? -1 : 0;
}

void kb_loop_fini(struct kb_loop *l)
{
	int i;

	kb_cert_stop(l);
	for (i = 0; i < l->n_ls; i++)
		close(l->ls[i].fd);
	l->n_ls = 0;
	while (l->conns)
		kb_conn_close(l->conns, "shutdown");
	free(l->heap);
	l->heap = NULL;
	free(l->req_stats);
	l->req_stats = NULL;
	if (l->sig >= 0)
		close(l->sig);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->spare_fd >= 0)
		close(l->spare_fd);
	kb_listeners_fini(l);
	l->b->loop = NULL;
}
