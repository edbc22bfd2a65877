/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One client connection: framing, in-order request processing and the
 * output queue.  Requests are handled one at a time; while one is parked
 * (a delayed Fetch) or the output queue is large, nothing more is read, so
 * memory per connection stays bounded.
 */
#ifndef KB_BROKER_CONN_H
#define KB_BROKER_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "handlers/api.h"
#include "net/outq.h"
#include "net/transport.h"

struct kb_loop;

/* Before OPEN the first byte decides plaintext or TLS (the listener's
 * policy must allow it), then a TLS handshake runs, under a deadline. */
enum kb_conn_state { KB_CONN_SNIFF, KB_CONN_HANDSHAKE, KB_CONN_OPEN };

struct kb_conn {
	int kind;			/* KB_EV_CONN, first for epoll */
	struct kb_loop *loop;
	struct kb_transport tr;
	uint64_t id;
	int listener;
	char peer[64];
	char host[48];			/* peer's address, for ACL hosts */
	char principal[KB_PRINCIPAL_MAX];
	char adv_host[KB_HOST_MAX];
	int adv_port;
	uint8_t *rbuf;
	size_t rcap, rlen, rpos;
	struct kb_outq out;
	struct kb_resp parked;		/* valid when is_parked */
	bool is_parked;
	size_t heap_idx;
	int64_t deadline_ms;
	int64_t last_active_ms;
	uint32_t ev_mask;		/* events registered with epoll */
	bool logged_bad;
	enum kb_conn_state state;
	bool is_tls;
	int64_t hs_deadline_ms;		/* 0 = none */
	uint64_t req_start_ns;		/* of the parked request */
	int16_t req_api, req_ver;
	struct kb_conn *prev, *next;	/* loop->conns */
	struct kb_conn *pprev, *pnext;	/* loop->parked */
};

/* Takes ownership of @fd (already non-blocking). */
struct kb_conn *kb_conn_new(struct kb_loop *l, int fd, int listener,
			    int listen_port);
void kb_conn_close(struct kb_conn *c, const char *why);
void kb_conn_on_event(struct kb_conn *c, uint32_t events);
/* Closes a connection whose TLS handshake (or first byte) is overdue;
 * true when it did. */
bool kb_conn_check_handshake(struct kb_conn *c, int64_t now);
/* Completes the parked request if it can (or must, when @expired). */
void kb_conn_poll_parked(struct kb_conn *c, bool expired);

#endif
