/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event loop: one thread, epoll, listeners, connections, a min-heap of
 * parked-request deadlines, the store tick and signal-driven shutdown.
 */
#ifndef KB_BROKER_LOOP_H
#define KB_BROKER_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/broker.h"
#include "tls/tls.h"

struct kb_conn;
struct kbnl;

enum kb_ev_kind { KB_EV_LISTENER, KB_EV_CONN, KB_EV_SIGNAL, KB_EV_MODULE,
		  KB_EV_CERT, KB_EV_WATCH, KB_EV_HOOK, KB_EV_MODWATCH };

/* The kbroker module as kbrokerd last saw it (listener.c). */
enum kb_module_state {
	KB_MOD_ABSENT,		/* not loaded, and not required */
	KB_MOD_UP,		/* loaded, our listeners registered */
	KB_MOD_GONE,		/* required, and not there */
};

struct kb_loop;

/*
 * An fd a higher layer serves from the loop (the control socket): its
 * epoll data points to the watch, and the loop calls @on_event when the
 * fd is readable.
 */
struct kb_watch {
	int kind;		/* KB_EV_WATCH, first for epoll dispatch */
	void (*on_event)(struct kb_loop *l, struct kb_watch *w);
};

/*
 * An fd and timer owned by a layer the loop does not know (the cluster):
 * on_event when @fd is readable, on_tick every tick; a non-zero return
 * from on_tick stops the broker (the hook logged why).
 */
struct kb_loop_hook {
	int kind;		/* KB_EV_HOOK, first for epoll dispatch */
	int fd;
	void (*on_event)(void *arg);
	int (*on_tick)(void *arg, int64_t now_ms);
	/* Once SIGTERM or SIGINT came: > 0 asks the loop to keep running
	 * (asked again each tick), 0 lets it stop.  May be NULL. */
	int (*on_stop)(void *arg, int64_t now_ms);
	void *arg;
	struct kb_loop_hook *next;
};

/*
 * Counters kept by the loop for monitoring: plain integers bumped on the
 * loop thread and read there by daemon/metrics when it takes a snapshot,
 * so they need no atomics and no lock (stats.c).
 */
struct kb_listener_stats {
	uint64_t accepted;
	uint64_t rejected_policy;	/* first byte not allowed by policy */
	uint64_t rejected_module;	/* refused by the module's guard */
	uint64_t handshakes_ok, handshakes_failed, handshakes_timeout;
	uint64_t ktls_tx, ktls_rx;	/* TLS connections offloaded */
	uint64_t ktls_miss[KB_KTLS_MISS_N];
	uint64_t bytes_in, bytes_out;
};

/* Request latency buckets and versions counted apart. */
#define KB_REQ_BUCKETS 16
#define KB_REQ_VERSIONS 16

struct kb_req_stats {
	uint64_t count[KB_REQ_VERSIONS];	/* by version */
	uint64_t bucket[KB_REQ_BUCKETS + 1];	/* by latency, last = +Inf */
	uint64_t sum_ns;
};

/* Upper bounds of the latency buckets in ns. */
extern const uint64_t kb_req_bucket_ns[KB_REQ_BUCKETS];

struct kb_listener {
	int kind;		/* KB_EV_LISTENER, first for epoll dispatch */
	int fd;
	int idx;		/* in cfg->listeners */
	int port;		/* bound port */
	enum kb_listener_policy policy;	/* current: config, then module */
	void *tls_ctx;		/* SSL_CTX, NULL when it cannot serve TLS */
	struct kb_listener_stats st;
};

struct kb_loop {
	struct kb_broker *b;
	int epfd;
	int sig;
	int sig_kind;		/* KB_EV_SIGNAL, epoll data for sig */
	struct kb_listener ls[KB_MAX_LISTENERS];
	int n_ls;
	struct kb_conn *conns;		/* all connections */
	size_t n_conns;
	struct kb_conn *parked;		/* connections with a parked request */
	struct kb_conn **heap;		/* parked, by deadline */
	size_t heap_n, heap_cap;
	uint64_t next_conn_id;
	int spare_fd;			/* freed to shed connections on EMFILE */
	volatile int stop;
	bool stopping;			/* a stop signal came; hooks finish */
	struct kbnl *nl;		/* kbroker module requests, or NULL */
	struct kbnl *nl_ev;		/* its events group, or NULL */
	int ev_kind;			/* KB_EV_MODULE, epoll data for nl_ev */
	struct kb_loop_hook *hooks;
	int exit_code;			/* non-zero: a hook stopped the broker */
	struct kb_req_stats *req_stats;	/* KB_API_COUNT of them, or NULL */
	struct kbnl *nl_ctrl;		/* genetlink controller notifications */
	int ctrl_kind;			/* KB_EV_MODWATCH, epoll data for it */
	enum kb_module_state module;
	bool module_required;		/* module.required, resolved at start */
	bool module_check;		/* a request failed: check at once */
	int module_family;		/* family id l->nl resolved */
	bool accept_paused;		/* listeners not listening */
};

int kb_loop_init(struct kb_loop *l, struct kb_broker *b);
/* Binds every listener and logs "listening on NAME host:port". */
int kb_loop_listen(struct kb_loop *l);
/* Adds @h (kept by the caller until kb_loop_fini). */
int kb_loop_add_hook(struct kb_loop *l, struct kb_loop_hook *h);
/* Runs until SIGTERM/SIGINT; returns 0 on a clean stop. */
int kb_loop_run(struct kb_loop *l);
/*
 * Stops the listeners listening (pending connections are reset, ports
 * stay bound) or starts them again.
 */
void kb_loop_accept_pause(struct kb_loop *l, bool pause);
/* Closes listeners and connections. */
void kb_loop_fini(struct kb_loop *l);

/* Counts one request of @api/@ver that took @ns (stats.c). */
void kb_loop_req_done(struct kb_loop *l, int api, int ver, uint64_t ns);

/* Deadline heap of parked requests (timers.c): conn.c adds and removes,
 * the loop runs what is due. */
void kb_heap_add(struct kb_loop *l, struct kb_conn *c);
void kb_heap_del(struct kb_loop *l, struct kb_conn *c);

#endif
