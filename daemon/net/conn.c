// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/capture.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/loop.h"
#include "net/transport_tls.h"
#include "common/log.h"
#include "common/time.h"

#define RBUF_MIN (64 * 1024)
/* Stop reading requests while this much output is still queued. */
#define OUTQ_HIGH (4 * 1024 * 1024)

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len,
		     int *port)
{
	char host[INET6_ADDRSTRLEN] = "?";

	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		*port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		*port = ntohs(a->sin6_port);
	}
	snprintf(buf, len, "%s", host);
}

static bool wildcard_host(const char *h)
{
	return !*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

struct kb_conn *kb_conn_new(struct kb_loop *l, int fd, int listener,
			    int listen_port)
{
	const struct kb_listener_cfg *lc = &l->b->cfg->listeners[listener];
	struct kb_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct epoll_event ev;
	char host[INET6_ADDRSTRLEN];
	int one = 1, port;

	if (!c) {
		close(fd);
		return NULL;
	}
	c->kind = KB_EV_CONN;
	c->loop = l;
	c->tr.ops = &kb_transport_plain;
	c->tr.fd = fd;
	c->id = ++l->next_conn_id;
	c->listener = listener;
	c->last_active_ms = kb_now_mono_ms();
	c->state = KB_CONN_SNIFF;
	/* A listener that may serve TLS bounds the wait for a handshake. */
	if (l->ls[listener].tls_ctx &&
	    l->ls[listener].policy != KB_POLICY_PLAINTEXT)
		c->hs_deadline_ms = c->last_active_ms +
				    l->b->cfg->ssl_handshake_timeout_ms;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!getpeername(fd, (struct sockaddr *)&ss, &sl)) {
		addr_str(&ss, host, sizeof(host), &port);
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
		snprintf(c->host, sizeof(c->host), "%s", host);
	}
	snprintf(c->principal, sizeof(c->principal), "%s",
		 KB_PRINCIPAL_ANONYMOUS);
	/* Advertise what the client can reach: the configured advertised
	 * listener, else the listener's host, else the address it used. */
	c->adv_port = lc->adv_port ? lc->adv_port : listen_port;
	if (lc->adv_port) {
		snprintf(c->adv_host, sizeof(c->adv_host), "%s", lc->adv_host);
	} else if (!wildcard_host(lc->host)) {
		snprintf(c->adv_host, sizeof(c->adv_host), "%s", lc->host);
	} else {
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl))
			snprintf(c->adv_host, sizeof(c->adv_host), "localhost");
		else
			addr_str(&ss, c->adv_host, sizeof(c->adv_host), &port);
	}
	c->ev_mask = EPOLLIN;
	ev.events = c->ev_mask;
	ev.data.ptr = c;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		kb_warn("epoll_ctl: %m");
		close(fd);
		free(c);
		return NULL;
	}
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->n_conns++;
	kb_dbg("conn %llu: accepted from %s on %s",
	       (unsigned long long)c->id, c->peer, lc->name);
	return c;
}

static void unpark(struct kb_conn *c)
{
	struct kb_loop *l = c->loop;

	if (!c->is_parked)
		return;
	kb_heap_del(l, c);
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		l->parked = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	c->pprev = c->pnext = NULL;
	c->is_parked = false;
}

void kb_conn_close(struct kb_conn *c, const char *why)
{
	struct kb_loop *l = c->loop;

	kb_dbg("conn %llu (%s): closing: %s", (unsigned long long)c->id,
	       c->peer, why);
	if (c->is_parked) {
		unpark(c);
		kb_resp_free(&c->parked);
	}
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->tr.fd, NULL);
	c->tr.ops->close(&c->tr);
	kb_outq_clear(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->n_conns--;
	free(c->rbuf);
	free(c);
}

static void update_events(struct kb_conn *c)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (!c->is_parked && c->out.bytes < OUTQ_HIGH)
		want |= EPOLLIN;
	if (!kb_outq_empty(&c->out))
		want |= EPOLLOUT;
	if (c->tr.wants & KB_TR_READ_WANTS_WRITE)
		want |= EPOLLOUT;
	if (c->tr.wants & KB_TR_WRITE_WANTS_READ)
		want |= EPOLLIN;
	if (want == c->ev_mask)
		return;
	ev.events = want;
	ev.data.ptr = c;
	if (!epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->tr.fd, &ev))
		c->ev_mask = want;
}

/* Queues a finished response; false when the connection must close. */
static bool queue_resp(struct kb_conn *c, struct kb_resp *resp)
{
	if (resp->none) {
		kb_resp_free(resp);
		return true;
	}
	if (resp->w.err) {
		kb_warn("conn %llu: out of memory building a response",
			(unsigned long long)c->id);
		kb_resp_free(resp);
		return false;
	}
	kb_resp_finish(resp);
	if (kb_outq_push(&c->out, resp)) {
		kb_resp_free(resp);
		return false;
	}
	kb_resp_free(resp);
	return true;
}

/* Handles one frame; false when the connection must close. */
static bool handle_frame(struct kb_conn *c, const uint8_t *frame, size_t len)
{
	struct kb_loop *l = c->loop;
	struct kb_req req = {
		.listener = c->listener,
		.adv_host = c->adv_host,
		.adv_port = c->adv_port,
		.conn_id = c->id,
		.who = { .principal = c->principal, .host = c->host },
	};
	uint64_t start = kb_now_mono_ns();
	struct kb_resp resp;
	int ret;

	kb_capture(frame, len);
	kb_resp_init(&resp);
	ret = kb_api_handle(l->b, &req, frame, len, &resp);
	/* A parked request is counted when it completes. */
	if (ret == KB_H_DONE)
		kb_loop_req_done(l, req.hdr.api_key, req.hdr.api_version,
				 kb_now_mono_ns() - start);
	if (ret == KB_H_CLOSE) {
		if (resp.close_why) {
			kb_info("conn %llu (%s): %s, closing",
				(unsigned long long)c->id, c->peer,
				resp.close_why);
		} else if (!c->logged_bad) {
			c->logged_bad = true;
			kb_info("conn %llu (%s): malformed or unsupported request (api %d v%d), closing",
				(unsigned long long)c->id, c->peer,
				req.hdr.api_key, req.hdr.api_version);
		}
		kb_resp_free(&resp);
		return false;
	}
	if (ret == KB_H_PARK) {
		c->parked = resp;
		c->is_parked = true;
		c->req_start_ns = start;
		c->req_api = req.hdr.api_key;
		c->req_ver = req.hdr.api_version;
		c->deadline_ms = resp.park->deadline_ms;
		kb_heap_add(l, c);
		c->pnext = l->parked;
		if (l->parked)
			l->parked->pprev = c;
		l->parked = c;
		return true;
	}
	return queue_resp(c, &resp);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Runs complete frames from the read buffer, in order. */
static bool process(struct kb_conn *c)
{
	int64_t max = c->loop->b->cfg->socket_request_max_bytes;

	while (!c->is_parked && c->out.bytes < OUTQ_HIGH) {
		size_t avail = c->rlen - c->rpos;
		uint32_t size;

		if (avail < 4)
			break;
		size = be32(c->rbuf + c->rpos);
		/* Checked before any allocation for the frame. */
		if ((int32_t)size < 8 || size > max) {
			kb_info("conn %llu (%s): request size %d outside [8, socket.request.max.bytes=%lld], closing",
				(unsigned long long)c->id, c->peer,
				(int32_t)size, (long long)max);
			return false;
		}
		if (avail < 4 + (size_t)size) {
			if (c->rpos + 4 + (size_t)size > c->rcap) {
				uint8_t *nb;

				memmove(c->rbuf, c->rbuf + c->rpos, avail);
				c->rlen = avail;
				c->rpos = 0;
				if (4 + (size_t)size > c->rcap) {
					nb = realloc(c->rbuf, 4 + (size_t)size);
					if (!nb)
						return false;
					c->rbuf = nb;
					c->rcap = 4 + (size_t)size;
				}
			}
			break;
		}
		if (!handle_frame(c, c->rbuf + c->rpos + 4, size))
			return false;
		c->rpos += 4 + (size_t)size;
	}
	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
		/* Give back the room a large request needed. */
		if (c->rcap > 4 * RBUF_MIN) {
			free(c->rbuf);
			c->rbuf = NULL;
			c->rcap = 0;
		}
	}
	return true;
}

static bool do_read(struct kb_conn *c)
{
	ssize_t r;

	if (!c->rbuf) {
		c->rbuf = malloc(RBUF_MIN);
		if (!c->rbuf)
			return false;
		c->rcap = RBUF_MIN;
	}
	if (c->rlen == c->rcap) {
		if (!c->rpos)
			return true;	/* full: process() must run first */
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	r = c->tr.ops->read(&c->tr, c->rbuf + c->rlen, c->rcap - c->rlen);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		       errno == EINTR;
	if (r == 0) {
		errno = 0;
		return false;	/* peer closed */
	}
	c->rlen += (size_t)r;
	c->loop->ls[c->listener].st.bytes_in += (uint64_t)r;
	return true;
}

/* Sends queued output, counting what left; < 0 when the write failed. */
static int flush_out(struct kb_conn *c)
{
	size_t before = c->out.bytes;
	int ret = kb_outq_flush(&c->out, &c->tr);

	if (c->out.bytes < before)
		c->loop->ls[c->listener].st.bytes_out += before - c->out.bytes;
	return ret;
}

static bool tr_pending(struct kb_conn *c)
{
	return c->tr.ops->pending && c->tr.ops->pending(&c->tr);
}

/* Flushes output, then keeps reading requests; false = closed. */
static bool pump(struct kb_conn *c)
{
	for (;;) {
		size_t had;

		if (!process(c)) {
			kb_conn_close(c, "bad request");
			return false;
		}
		/* Bytes TLS already decrypted raise no epoll event. */
		if (c->is_parked || c->out.bytes >= OUTQ_HIGH ||
		    !tr_pending(c))
			break;
		had = c->rlen - c->rpos;
		if (!do_read(c)) {
			kb_conn_close(c, "peer closed");
			return false;
		}
		if (c->rlen - c->rpos == had)
			break;
	}
	if (!kb_outq_empty(&c->out) && flush_out(c) < 0) {
		kb_conn_close(c, "write failed");
		return false;
	}
	update_events(c);
	return true;
}

static void set_events(struct kb_conn *c, uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.ptr = c };

	if (want != c->ev_mask &&
	    !epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->tr.fd, &ev))
		c->ev_mask = want;
}

static void refuse(struct kb_conn *c, const char *what)
{
	struct kb_listener *ls = &c->loop->ls[c->listener];

	ls->st.rejected_policy++;
	kb_info("conn %llu (%s): %s client on listener %s (policy %s), refused",
		(unsigned long long)c->id, c->peer, what,
		c->loop->b->cfg->listeners[c->listener].name,
		kb_policy_name(ls->policy));
	kb_conn_close(c, "listener policy");
}

static void count_handshake(struct kb_listener_stats *st,
			    const struct kb_transport *t)
{
	int miss = kb_tls_ktls_miss(t);

	st->handshakes_ok++;
	st->ktls_tx += kb_tls_ktls_tx(t);
	st->ktls_rx += kb_tls_ktls_rx(t);
	if (miss >= 0)
		st->ktls_miss[miss]++;
}

/* Sniff, then handshake; true once the connection is OPEN. */
static bool open_conn(struct kb_conn *c)
{
	struct kb_listener *ls = &c->loop->ls[c->listener];
	char who[96];
	uint8_t b;
	ssize_t r;

	if (c->state == KB_CONN_SNIFF) {
		r = recv(c->tr.fd, &b, 1, MSG_PEEK);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			kb_conn_close(c, "peer closed");
			return false;
		}
		if (r < 0)
			return false;
		c->is_tls = b == KB_TLS_RECORD_HANDSHAKE;
		if (!kb_listener_allows(ls, c->is_tls)) {
			refuse(c, c->is_tls ? "TLS" : "plaintext");
			return false;
		}
		if (c->is_tls && kb_tls_attach(&c->tr, ls->tls_ctx)) {
			kb_conn_close(c, "out of memory for TLS");
			return false;
		}
		c->state = KB_CONN_HANDSHAKE;
	}
	if (c->is_tls) {
		snprintf(who, sizeof(who), "conn %llu (%s)",
			 (unsigned long long)c->id, c->peer);
		switch (kb_tls_handshake(&c->tr, who)) {
		case KB_HS_FAIL:
			ls->st.handshakes_failed++;
			kb_conn_close(c, "TLS handshake failed");
			return false;
		case KB_HS_AGAIN:
			set_events(c, c->tr.wants & KB_TR_HS_WANTS_WRITE ?
				      EPOLLOUT : EPOLLIN);
			return false;
		case KB_HS_DONE:
			count_handshake(&ls->st, &c->tr);
			break;
		}
		if (kb_tls_principal(&c->tr, c->principal,
				     sizeof(c->principal))) {
			kb_info("%s: %s, closing", who, c->principal);
			kb_conn_close(c, "no principal");
			return false;
		}
	}
	c->state = KB_CONN_OPEN;
	c->hs_deadline_ms = 0;
	if (!kb_listener_sock_attach(c->loop, c)) {
		ls->st.rejected_module++;
		kb_conn_close(c, "refused by the kbroker module");
		return false;
	}
	return true;
}

bool kb_conn_check_handshake(struct kb_conn *c, int64_t now)
{
	if (c->state == KB_CONN_OPEN || !c->hs_deadline_ms ||
	    now < c->hs_deadline_ms)
		return false;
	kb_info("conn %llu (%s): no TLS handshake within ssl.handshake.timeout.ms=%lld, closing",
		(unsigned long long)c->id, c->peer,
		(long long)c->loop->b->cfg->ssl_handshake_timeout_ms);
	c->loop->ls[c->listener].st.handshakes_timeout++;
	kb_conn_close(c, "handshake timeout");
	return true;
}

void kb_conn_on_event(struct kb_conn *c, uint32_t events)
{
	c->last_active_ms = kb_now_mono_ms();
	if (events & (EPOLLERR | EPOLLHUP)) {
		kb_conn_close(c, "hangup");
		return;
	}
	if (c->state != KB_CONN_OPEN) {
		if (!open_conn(c))
			return;
		/* A client may have sent requests right behind its
		 * handshake; they may already sit decrypted in OpenSSL. */
		events = EPOLLIN;
	}
	/* TLS may need the other direction to make progress. */
	if ((events & EPOLLIN) && (c->tr.wants & KB_TR_WRITE_WANTS_READ))
		events |= EPOLLOUT;
	if ((events & EPOLLOUT) && (c->tr.wants & KB_TR_READ_WANTS_WRITE))
		events |= EPOLLIN;
	if ((events & EPOLLOUT) && !kb_outq_empty(&c->out)) {
		if (flush_out(c) < 0) {
			kb_conn_close(c, "write failed");
			return;
		}
	}
	if ((events & EPOLLIN) && !c->is_parked) {
		if (!do_read(c)) {
			kb_conn_close(c, "peer closed");
			return;
		}
	}
	pump(c);
}

void kb_conn_poll_parked(struct kb_conn *c, bool expired)
{
	struct kb_park *pk = c->parked.park;

	if (!c->is_parked || !pk->poll(pk, &c->parked, expired))
		return;
	unpark(c);
	c->parked.park = NULL;
	pk->free(pk);
	kb_loop_req_done(c->loop, c->req_api, c->req_ver,
			 kb_now_mono_ns() - c->req_start_ns);
	if (!queue_resp(c, &c->parked)) {
		kb_conn_close(c, "response failed");
		return;
	}
	/* Requests that queued up behind the parked one go now. */
	pump(c);
}
