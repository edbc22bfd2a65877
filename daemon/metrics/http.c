// SPDX-License-Identifier: GPL-2.0
/*
 * The /metrics endpoint: a libmicrohttpd daemon with its own thread, on a
 * socket bound here (so the port is known and bind errors are ours), and
 * the snapshot the loop publishes for it.
 *
 * Bounds: at most MAX_CONNS scrapers at once (more are closed at accept),
 * CONN_TIMEOUT_S of silence closes one (a scraper that never reads), a
 * small per-connection memory pool, and a response that is one malloc'd
 * copy of the snapshot per connection; the loop keeps one snapshot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/loop.h"
#include "common/log.h"
#include "common/time.h"
#include "metrics/internal.h"
#include "metrics/metrics.h"

#define MAX_CONNS 32
#define CONN_TIMEOUT_S 10
#define CONN_MEMORY (32 * 1024)
#define WAIT_LOOP_MS 1000

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

struct snap {
	int refs;
	char *text[KB_FMT_N];
	size_t len[KB_FMT_N];
	uint64_t taken_ns;		/* CLOCK_MONOTONIC */
	uint64_t render_ns;		/* loop time it took */
};

static struct {
	struct MHD_Daemon *mhd;
	struct kb_loop *l;
	struct kb_watch watch;		/* efd on the loop */
	int efd;
	int lfd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct snap *cur;		/* under mu */
	uint64_t gen;			/* under mu */
	bool asked;			/* under mu */
	/* HTTP thread only. */
	uint64_t scrapes[KB_FMT_N], stale, rejected;
	char version[32];
	/* Loop thread only. */
	uint64_t snapshots, dropped;
} m = {
	.efd = -1,
	.lfd = -1,
	.mu = PTHREAD_MUTEX_INITIALIZER,
};

static void snap_put(struct snap *s)
{
	int f;

	if (!s || --s->refs)
		return;
	for (f = 0; f < KB_FMT_N; f++)
		free(s->text[f]);
	free(s);
}

/* Loop thread: a scrape asked for a fresh snapshot. */
static void on_request(struct kb_loop *l, struct kb_watch *w)
{
	struct snap *s, *old;
	struct kb_expo e;
	uint64_t v, t0 = kb_now_mono_ns();
	int f;

	(void)l;
	(void)w;
	if (read(m.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	kb_expo_init(&e, KB_FMT_ALL);
	kb_mc_transit(m.l, &e);
	kb_mc_certs(m.l, &e);
	kb_mc_requests(m.l, &e);
	m.dropped += kb_mc_topics(m.l, &e);
	m.dropped += kb_mc_groups(m.l, &e);
	kb_mc_cluster(m.l, &e);
	m.snapshots++;
	kb_expo_family(&e, "kbroker_metrics_snapshots_total", KB_MT_COUNTER,
		       "Snapshots of the broker's state taken on the event loop for scrapes.");
	kb_expo_u64(&e, "kbroker_metrics_snapshots_total", NULL, m.snapshots);
	kb_expo_family(&e, "kbroker_metrics_series_dropped_total",
		       KB_MT_COUNTER,
		       "Series left out of snapshots because a per-topic or per-group bound was reached.");
	kb_expo_u64(&e, "kbroker_metrics_series_dropped_total", NULL,
		    m.dropped);
	for (f = 0; f < KB_FMT_N; f++)
		s->text[f] = kb_expo_take(&e, f, &s->len[f]);
	kb_expo_free(&e);
	if (!s->text[0] || !s->text[1]) {
		s->refs = 1;
		snap_put(s);
		kb_log_once(KB_LOG_WARN, "metrics: out of memory for a snapshot");
		return;
	}
	s->refs = 1;
	s->taken_ns = kb_now_mono_ns();
	s->render_ns = s->taken_ns - t0;
	pthread_mutex_lock(&m.mu);
	old = m.cur;
	m.cur = s;
	m.gen++;
	m.asked = false;
	pthread_cond_broadcast(&m.cv);
	pthread_mutex_unlock(&m.mu);
	/* The HTTP thread holds a reference while it copies. */
	pthread_mutex_lock(&m.mu);
	snap_put(old);
	pthread_mutex_unlock(&m.mu);
}

/* HTTP thread: a snapshot at most KB_METRICS_MAX_AGE_MS old, or the last
 * one when the loop does not answer within WAIT_LOOP_MS (busy: the scrape
 * says how old it is). */
static struct snap *snap_get(void)
{
	uint64_t now = kb_now_mono_ns(), v = 1, gen;
	struct timespec dl;
	struct snap *s;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += WAIT_LOOP_MS / 1000;
	pthread_mutex_lock(&m.mu);
	if (!m.cur ||
	    now - m.cur->taken_ns > KB_METRICS_MAX_AGE_MS * 1000000ULL) {
		if (!m.asked) {
			m.asked = true;
			if (write(m.efd, &v, sizeof(v)) < 0)
				m.asked = false;
		}
		gen = m.gen;
		while (m.gen == gen && m.asked &&
		       pthread_cond_timedwait(&m.cv, &m.mu, &dl) != ETIMEDOUT)
			;
		if (m.gen == gen)
			m.stale++;
	}
	s = m.cur;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&m.mu);
	return s;
}

static void snap_release(struct snap *s)
{
	pthread_mutex_lock(&m.mu);
	snap_put(s);
	pthread_mutex_unlock(&m.mu);
}

/* q= of one media range, 1 when absent. */
static double qvalue(const char *range, size_t len)
{
	const char *p = range, *end = range + len;

	while ((p = memchr(p, ';', (size_t)(end - p)))) {
		p++;
		while (p < end && *p == ' ')
			p++;
		if (end - p > 2 && (*p == 'q' || *p == 'Q') && p[1] == '=')
			return strtod(p + 2, NULL);
	}
	return 1.0;
}

/* OpenMetrics when the scraper prefers it (Prometheus asks for it first). */
static enum kb_expo_fmt negotiate(const char *accept)
{
	double om = -1, text = -1;
	const char *p = accept;

	if (!accept)
		return KB_FMT_TEXT;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *r = p;
		double q;

		while (*r == ' ' && r < p + len)
			r++;
		q = qvalue(r, len - (size_t)(r - p));
		if (!strncasecmp(r, "application/openmetrics-text", 28)) {
			if (q > om)
				om = q;
		} else if (!strncasecmp(r, "text/plain", 10)) {
			if (q > text)
				text = q;
		}
		p += len;
		if (*p)
			p++;
	}
	return om > 0 && om >= text ? KB_FMT_OPENMETRICS : KB_FMT_TEXT;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code,
			     const char *text, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void self_metrics(struct kb_expo *e, const struct snap *s)
{
	struct kb_labels l;
	int f;

	kb_expo_family(e, "kbroker_metrics_scrapes_total", KB_MT_COUNTER,
		       "Scrapes of /metrics served, by exposition format.");
	for (f = 0; f < KB_FMT_N; f++) {
		kb_labels_init(&l);
		kb_labels_add(&l, "format", f == KB_FMT_TEXT ? "text" :
			      "openmetrics");
		kb_expo_u64(e, "kbroker_metrics_scrapes_total", &l,
			    m.scrapes[f]);
	}
	kb_expo_family(e, "kbroker_metrics_stale_scrapes_total", KB_MT_COUNTER,
		       "Scrapes served an older snapshot because the event loop did not answer within a second.");
	kb_expo_u64(e, "kbroker_metrics_stale_scrapes_total", NULL, m.stale);
	kb_expo_one(e, "kbroker_metrics_snapshot_age_seconds", KB_MT_GAUGE,
		    "Age of the broker snapshot in this scrape.",
		    s ? (double)(kb_now_mono_ns() - s->taken_ns) / 1e9 : 0);
	kb_expo_one(e, "kbroker_metrics_snapshot_render_seconds", KB_MT_GAUGE,
		    "Event loop time spent rendering that snapshot.",
		    s ? (double)s->render_ns / 1e9 : 0);
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload,
			       size_t *upload_len, void **req_cls)
{
	const struct kb_config *cfg = m.l->b->cfg;
	struct MHD_Response *r;
	enum MHD_Result ret;
	enum kb_expo_fmt fmt;
	struct kb_expo e;
	struct snap *s;
	char *text;
	size_t len;

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)req_cls;
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n",
			     NULL);
	/* Answered before any body is read; MHD then closes. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			     "only GET and HEAD\n", "GET, HEAD");
	fmt = negotiate(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_ACCEPT));
	m.scrapes[fmt]++;
	s = snap_get();
	kb_expo_init(&e, 1u << fmt);
	if (s)
		kb_expo_raw(&e, s->text[fmt], s->len[fmt]);
	kb_mc_process(&e, m.version);
	kb_mc_module(&e, cfg);
	kb_mc_storage(&e, cfg);
	self_metrics(&e, s);
	if (s)
		snap_release(s);
	if (fmt == KB_FMT_OPENMETRICS)
		kb_expo_raw(&e, "# EOF\n", 6);
	text = kb_expo_take(&e, fmt, &len);
	kb_expo_free(&e);
	if (!text)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "out of memory\n", NULL);
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				fmt == KB_FMT_OPENMETRICS ? CT_OPENMETRICS :
				CT_TEXT);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* libmicrohttpd's own messages (limits reached, bad requests) can come
 * once per connection: debug level, so a flood of scrapers cannot flood
 * the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	kb_dbg("metrics: %s", buf);
}

/* http://HOST:PORT[/], HOST a name, an IPv4 or a [bracketed] IPv6. */
static int parse_url(const char *url, char *host, size_t hlen, char *port,
		     size_t plen)
{
	const char *h, *e, *p;
	size_t n;

	if (strncmp(url, "http://", 7))
		return -1;
	h = url + 7;
	if (*h == '[') {
		e = strchr(h, ']');
		if (!e || e[1] != ':')
			return -1;
		h++;
		p = e + 2;
	} else {
		e = strrchr(h, ':');
		if (!e || e == h)
			return -1;
		p = e + 1;
	}
	n = (size_t)(e - h);
	if (!n || n >= hlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	n = strspn(p, "0123456789");
	if (!n || n > 5 || (p[n] && strcmp(p + n, "/")) || atoi(p) > 65535 ||
	    n >= plen)
		return -1;
	memcpy(port, p, n);
	port[n] = '\0';
	return 0;
}

int kb_metrics_check(const struct kb_config *cfg)
{
	char host[KB_HOST_MAX], port[8];

	if (!*cfg->metrics_listener ||
	    !parse_url(cfg->metrics_listener, host, sizeof(host), port,
		       sizeof(port)))
		return 0;
	kb_err("metrics.listener: %s: expected http://HOST:PORT (empty to turn metrics off)",
	       cfg->metrics_listener);
	return -1;
}

static bool loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
			>> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* Binds the listening socket; -1 (logged at @level) when it cannot. */
static int bind_listener(const char *url, char *shown, size_t slen,
			 int level)
{
	struct addrinfo hints = { 0 }, *ai, *a;
	char host[KB_HOST_MAX], port[8], addr[INET6_ADDRSTRLEN];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1, ret;

	if (parse_url(url, host, sizeof(host), port, sizeof(port)))
		return -1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		kb_log(level, "metrics.listener %s: cannot resolve %s: %s",
		       url, host, gai_strerror(ret));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, 128)) {
			if (!loopback(a->ai_addr))
				kb_warn("metrics.listener %s is not a loopback address: whoever reaches it reads the broker's metrics (topic and group names included)",
					url);
			break;
		}
		ret = errno;
		close(fd);
		fd = -1;
		errno = ret;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		kb_log(level, "metrics.listener %s: cannot listen: %m", url);
		return -1;
	}
	if (!getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		if (ss.ss_family == AF_INET6)
			snprintf(shown, slen, "[%s]:%d",
				 inet_ntop(AF_INET6,
					   &((struct sockaddr_in6 *)&ss)->sin6_addr,
					   addr, sizeof(addr)),
				 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		else
			snprintf(shown, slen, "%s:%d",
				 inet_ntop(AF_INET,
					   &((struct sockaddr_in *)&ss)->sin_addr,
					   addr, sizeof(addr)),
				 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	return fd;
}

int kb_metrics_start(struct kb_loop *l, const char *version)
{
	const struct kb_config *cfg = l->b->cfg;
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_condattr_t ca;
	char shown[KB_HOST_MAX + 16] = "?";

	if (!*cfg->metrics_listener) {
		kb_info("metrics: off (metrics.listener is empty)");
		return 0;
	}
	m.l = l;
	snprintf(m.version, sizeof(m.version), "%s", version);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m.cv, &ca);
	pthread_condattr_destroy(&ca);
	/* Several brokers on one host: only the first gets the default. */
	m.lfd = bind_listener(cfg->metrics_listener, shown, sizeof(shown),
			      cfg->metrics_listener_set ? KB_LOG_ERR :
			      KB_LOG_NOTICE);
	if (m.lfd < 0) {
		if (cfg->metrics_listener_set)
			return -1;
		kb_notice("metrics: not served (the default metrics.listener is taken: set metrics.listener to a free port, or empty)");
		return 0;
	}
	m.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	m.watch.kind = KB_EV_WATCH;
	m.watch.on_event = on_request;
	ev.data.ptr = &m.watch;
	if (m.efd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, m.efd, &ev)) {
		kb_err("metrics: eventfd: %m");
		goto err;
	}
	m.mhd = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD |
				 MHD_USE_ERROR_LOG,
				 0, NULL, NULL, on_http, NULL,
				 MHD_OPTION_LISTEN_SOCKET, m.lfd,
				 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNS,
				 MHD_OPTION_CONNECTION_TIMEOUT,
				 (unsigned int)CONN_TIMEOUT_S,
				 MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				 (size_t)CONN_MEMORY,
				 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				 MHD_OPTION_END);
	if (!m.mhd) {
		kb_err("metrics: cannot start the HTTP server on %s", shown);
		goto err;
	}
	m.lfd = -1;	/* libmicrohttpd closes it when it stops */
	snprintf(l->b->metrics_url, sizeof(l->b->metrics_url),
		 "http://%s/metrics", shown);
	kb_info("metrics on %s", l->b->metrics_url);
	return 0;
err:
	if (m.efd >= 0)
		close(m.efd);
	close(m.lfd);
	m.efd = m.lfd = -1;
	return cfg->metrics_listener_set ? -1 : 0;
}

void kb_metrics_stop(void)
{
	if (m.mhd) {
		/* Wakes a scrape waiting for the loop, which stops now. */
		pthread_mutex_lock(&m.mu);
		m.asked = false;
		pthread_cond_broadcast(&m.cv);
		pthread_mutex_unlock(&m.mu);
		MHD_stop_daemon(m.mhd);
		m.mhd = NULL;
	}
	if (m.lfd >= 0)
		close(m.lfd);
	if (m.efd >= 0)
		close(m.efd);
	m.lfd = m.efd = -1;
	pthread_mutex_lock(&m.mu);
	snap_put(m.cur);
	m.cur = NULL;
	pthread_mutex_unlock(&m.mu);
}
