// SPDX-License-Identifier: GPL-2.0
/*
 * Membership: the cluster id and its in-cluster encryption setting, this
 * broker's ephemeral registration and the list of live brokers.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#include "cluster/internal.h"
#include "cluster/json.h"
#include "common/log.h"

#define RETRY_MS 1000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reg_start(struct kb_cluster *cl);

static void on_session(struct kb_zk *zk, enum kb_zk_session s, void *arg)
{
	struct kb_cluster *cl = arg;

	switch (s) {
	case KB_ZK_CONNECTED:
		kb_info("ZooKeeper session 0x%" PRIx64 " connected to %s",
			kb_zk_session_id(zk), kb_zk_hosts(zk));
		if (cl->want_register && !cl->registered && !cl->registering)
			reg_start(cl);
		else if (cl->registered) {
			/* Watches survive a reconnect, changes meanwhile
			 * were delivered; read again all the same. */
			kb_cl_brokers_reload(cl);
			kb_cl_topics_reload(cl);
		}
		break;
	case KB_ZK_CONNECTING:
		kb_warn("ZooKeeper connection lost; reconnecting to %s (the session lasts %d ms)",
			kb_zk_hosts(zk), cl->o.session_timeout_ms);
		break;
	case KB_ZK_EXPIRED:
		kb_warn("ZooKeeper session expired: this broker's registration is gone, registering again with a new session");
		cl->registered = false;
		cl->registering = false;
		kb_cl_controller_lost(cl, "ZooKeeper session expired");
		kb_cl_isr_expired(cl);
		kb_cl_ops_expired(cl);
		break;
	}
}

static void on_watch(struct kb_zk *zk, enum kb_zk_watch w, const char *path,
		     void *arg)
{
	struct kb_cluster *cl = arg;

	(void)zk;
	if (!strcmp(path, "/brokers/ids") && w == KB_ZK_W_CHILD)
		kb_cl_brokers_reload(cl);
	else if (!strcmp(path, "/controller"))
		kb_cl_controller_watch(cl, w);
	else if (!strcmp(path, "/admin/controlled_shutdown"))
		kb_cl_shutting_reload(cl);
	else
		kb_cl_topics_watch(cl, w, path);
}

int kb_cluster_open(const struct kb_cluster_opts *o, struct kb_store *store,
		    struct kb_cluster **out)
{
	struct kb_cluster *cl = calloc(1, sizeof(*cl));
	struct kb_zk_hooks h = { on_session, on_watch, cl };

	if (!cl)
		return -1;
	cl->o = *o;
	snprintf(cl->connect, sizeof(cl->connect), "%s", o->connect);
	snprintf(cl->rack, sizeof(cl->rack), "%s", o->rack ? o->rack : "");
	snprintf(cl->ibl, sizeof(cl->ibl), "%s",
		 o->inter_broker_listener ? o->inter_broker_listener : "");
	cl->o.connect = cl->connect;
	cl->o.rack = cl->rack;
	cl->o.inter_broker_listener = cl->ibl;
	cl->controller_id = -1;
	cl->store = store;
	if (kb_zk_open(cl->connect, o->session_timeout_ms, &h, &cl->zk)) {
		free(cl);
		return -1;
	}
	*out = cl;
	return 0;
}

void kb_cluster_close(struct kb_cluster *cl)
{
	if (!cl)
		return;
	/* Closing the session removes our ephemeral nodes at once, so the
	 * others need not wait for a session timeout. */
	kb_zk_close(cl->zk);
	kb_cl_isr_free(cl);
	kb_cl_ops_free(cl);
	kb_cl_topics_free(cl);
	free(cl->shutting);
	free(cl->brokers);
	free(cl);
}

int kb_cluster_fd(const struct kb_cluster *cl)
{
	return kb_zk_fd(cl->zk);
}

void kb_cluster_on_event(struct kb_cluster *cl)
{
	kb_zk_dispatch(cl->zk);
	/* Admin requests waiting for what the view now shows. */
	kb_cl_ops_check(cl);
}

int kb_cluster_tick(struct kb_cluster *cl, int64_t now_ms)
{
	if (cl->fatal)
		return -1;
	/* Writes that failed without a watch to tell: try again. */
	if (now_ms >= cl->next_reconcile_ms) {
		kb_cl_reconcile(cl);
		cl->next_reconcile_ms = now_ms + 2000;
	}
	if (cl->retry_at_ms && now_ms >= cl->retry_at_ms) {
		cl->retry_at_ms = 0;
		if (cl->want_register && !cl->registered && !cl->registering &&
		    kb_zk_state(cl->zk) == KB_ZK_CONNECTED)
			reg_start(cl);
		else if (cl->registered && cl->controller_id < 0)
			kb_cl_elect(cl);
	}
	return 0;
}

/*
 * Waits for @cond with the dispatcher running; a readable @stop_fd (the
 * loop's signalfd) ends the wait.  Returns 0, -1 on fatal, 1 on stop.
 */
static int wait_for(struct kb_cluster *cl, int stop_fd,
		    bool (*cond)(struct kb_cluster *cl), int64_t say_every_ms,
		    const char *waiting)
{
	int64_t next_say = mono_ms() + say_every_ms, waited = 0;

	while (!cond(cl)) {
		struct pollfd p[2] = {
			{ .fd = kb_zk_fd(cl->zk), .events = POLLIN },
			{ .fd = stop_fd, .events = POLLIN },
		};
		int n = poll(p, stop_fd >= 0 ? 2 : 1, 200);
		int64_t now = mono_ms();

		if (n < 0 && errno != EINTR) {
			kb_err("poll: %m");
			return -1;
		}
		if (n > 0 && p[0].revents)
			kb_zk_dispatch(cl->zk);
		if (n > 0 && stop_fd >= 0 && p[1].revents) {
			kb_info("stopping while %s", waiting);
			return 1;
		}
		if (kb_cluster_tick(cl, now))
			return -1;
		if (now >= next_say && !cond(cl)) {
			waited += say_every_ms;
			kb_warn("still %s (%" PRId64 " s)", waiting,
				waited / 1000);
			next_say = now + say_every_ms;
		}
	}
	return 0;
}

static bool is_connected(struct kb_cluster *cl)
{
	return kb_zk_state(cl->zk) == KB_ZK_CONNECTED;
}

static const char *onoff(bool v)
{
	return v ? "true" : "false";
}

/* Reads /cluster/id, creating it with @id first when absent. */
static int cluster_id_sync(struct kb_cluster *cl, char id[32])
{
	char buf[512], data[256], got[32];
	bool enc;
	int rc;

	rc = kb_zk_sync_get(cl->zk, "/cluster/id", buf, sizeof(buf));
	if (rc == ZNONODE) {
		snprintf(data, sizeof(data),
			 "{\"version\":\"1\",\"id\":\"%s\",\"encryption.in.cluster\":%s}",
			 id, onoff(cl->o.encryption_in_cluster));
		rc = kb_zk_sync_mkpath(cl->zk, "/cluster");
		if (rc == ZOK)
			rc = kb_zk_sync_create(cl->zk, "/cluster/id", data,
					       (int)strlen(data), false);
		if (rc == ZOK)
			kb_notice("created cluster %s in ZooKeeper with encryption.in.cluster=%s",
				  id, onoff(cl->o.encryption_in_cluster));
		else if (rc != ZNODEEXISTS)
			return rc;
		rc = kb_zk_sync_get(cl->zk, "/cluster/id", buf, sizeof(buf));
	}
	if (rc != ZOK)
		return rc;
	if (!kb_json_str(buf, "id", got, sizeof(got)) || !*got) {
		kb_err("ZooKeeper %s/cluster/id holds no cluster id: '%.200s'",
		       kb_zk_chroot(cl->zk), buf);
		return ZAPIERROR;
	}
	if (!kb_json_bool(buf, "encryption.in.cluster", &enc)) {
		kb_err("cluster %s records no encryption.in.cluster setting in ZooKeeper; it was not created by kbrokerd and this broker cannot join it",
		       got);
		return ZAPIERROR;
	}
	if (enc != cl->o.encryption_in_cluster) {
		kb_err("cluster %s was created with encryption.in.cluster=%s and this broker has encryption.in.cluster=%s: the setting is fixed when a cluster is created; set encryption.in.cluster=%s to join it",
		       got, onoff(enc), onoff(cl->o.encryption_in_cluster),
		       onoff(enc));
		return ZAPIERROR;
	}
	cl->encrypted = enc;
	snprintf(cl->id, sizeof(cl->id), "%s", got);
	memcpy(id, cl->id, sizeof(cl->id));
	return ZOK;
}

int kb_cluster_join(struct kb_cluster *cl, int stop_fd, char id[32])
{
	static const char *const paths[] = {
		"/brokers/ids", "/brokers/topics", "/config/topics",
		"/admin/delete_topics", "/admin/controlled_shutdown",
	};
	char waiting[1200];
	size_t i;
	int rc;

	snprintf(waiting, sizeof(waiting),
		 "waiting for ZooKeeper at %s (chroot %s)",
		 kb_zk_hosts(cl->zk), kb_zk_chroot(cl->zk));
	kb_info("connecting to ZooKeeper at %s (chroot %s)",
		kb_zk_hosts(cl->zk), kb_zk_chroot(cl->zk));
	for (;;) {
		rc = wait_for(cl, stop_fd, is_connected,
			      cl->o.connection_timeout_ms, waiting);
		if (rc)
			return rc;
		rc = ZOK;
		for (i = 0; rc == ZOK && i < sizeof(paths) / sizeof(*paths);
		     i++)
			rc = kb_zk_sync_mkpath(cl->zk, paths[i]);
		if (rc == ZOK)
			rc = cluster_id_sync(cl, id);
		if (rc == ZOK)
			return 0;
		if (rc == ZAPIERROR)
			return -1;
		if (rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT &&
		    rc != ZSESSIONEXPIRED && rc != ZINVALIDSTATE) {
			kb_err("ZooKeeper: setting up %s: %s",
			       kb_zk_chroot(cl->zk), kb_zk_strerror(rc));
			return -1;
		}
		kb_warn("ZooKeeper: %s while joining; trying again",
			kb_zk_strerror(rc));
	}
}

/* This broker's node, in Kafka's format (version 5). */
static int reg_data(const struct kb_cluster *cl, char *buf, size_t size)
{
	size_t n = 0;
	int i, w;

#define ADD(...)                                                       \
	do {                                                           \
		w = snprintf(buf + n, size - n, __VA_ARGS__);          \
		if (w < 0 || (size_t)w >= size - n)                    \
			return -1;                                     \
		n += (size_t)w;                                        \
	} while (0)
	ADD("{\"listener_security_protocol_map\":{");
	for (i = 0; i < cl->o.n_eps; i++)
		ADD("%s\"%s\":\"%s\"", i ? "," : "", cl->o.eps[i].name,
		    cl->o.eps[i].proto);
	ADD("},\"endpoints\":[");
	for (i = 0; i < cl->o.n_eps; i++)
		ADD("%s\"%s://%s:%d\"", i ? "," : "", cl->o.eps[i].name,
		    cl->o.eps[i].host, cl->o.eps[i].port);
	ADD("],\"rack\":");
	if (*cl->rack) {
		w = kb_json_quote(buf + n, size - n, cl->rack);
		if (w < 0)
			return -1;
		n += (size_t)w;
	} else {
		ADD("null");
	}
	ADD(",\"jmx_port\":-1,\"host\":\"%s\",\"port\":%d,\"timestamp\":\"%" PRId64 "\",\"version\":5}",
	    cl->o.n_eps ? cl->o.eps[0].host : "", cl->o.n_eps ? cl->o.eps[0].port : -1,
	    real_ms());
#undef ADD
	return (int)n;
}

static void registered(struct kb_cluster *cl)
{
	cl->registered = true;
	cl->dup_since_ms = 0;
	kb_info("registered as broker %d of cluster %s (ZooKeeper session 0x%" PRIx64 ")",
		cl->o.broker_id, cl->id, kb_zk_session_id(cl->zk));
	kb_cl_brokers_reload(cl);
	kb_cl_topics_reload(cl);
	kb_cl_elect(cl);
}

static void reg_owner_done(struct kb_zk *zk, const struct kb_zk_res *r,
			   void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	int64_t now = mono_ms(), wait_ms = cl->o.session_timeout_ms + 2000;

	(void)arg;
	cl->registering = false;
	if (r->rc == ZNONODE) {
		/* Gone meanwhile: try again now. */
		reg_start(cl);
		return;
	}
	if (r->rc != ZOK) {
		cl->retry_at_ms = now + RETRY_MS;
		return;
	}
	if (r->ephemeral_owner == kb_zk_session_id(zk)) {
		registered(cl);
		return;
	}
	if (!cl->dup_since_ms) {
		cl->dup_since_ms = now;
		kb_warn("broker.id %d is registered in ZooKeeper by another session (0x%" PRIx64 "); waiting up to %" PRId64 " ms in case it is this broker's previous, crashed run",
			cl->o.broker_id, r->ephemeral_owner, wait_ms);
	} else if (now - cl->dup_since_ms > wait_ms) {
		kb_err("broker.id %d is already registered by another live broker (ZooKeeper node %s/brokers/ids/%d, session 0x%" PRIx64 "): each broker needs its own broker.id",
		       cl->o.broker_id, kb_zk_chroot(zk), cl->o.broker_id,
		       r->ephemeral_owner);
		cl->fatal = true;
		return;
	}
	cl->retry_at_ms = now + 500;
}

static void reg_done(struct kb_zk *zk, const struct kb_zk_res *r, void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	char path[64];

	(void)arg;
	if (r->rc == ZOK) {
		cl->registering = false;
		registered(cl);
		return;
	}
	if (r->rc == ZNODEEXISTS) {
		snprintf(path, sizeof(path), "/brokers/ids/%d", cl->o.broker_id);
		kb_zk_exists(zk, path, false, reg_owner_done, NULL);
		return;
	}
	cl->registering = false;
	kb_warn("ZooKeeper: registering broker %d: %s; trying again",
		cl->o.broker_id, kb_zk_strerror(r->rc));
	cl->retry_at_ms = mono_ms() + RETRY_MS;
}

static void reg_start(struct kb_cluster *cl)
{
	char data[4096], path[64];
	int n = reg_data(cl, data, sizeof(data));

	if (n < 0) {
		kb_err("this broker's listeners do not fit a ZooKeeper registration");
		cl->fatal = true;
		return;
	}
	cl->registering = true;
	snprintf(path, sizeof(path), "/brokers/ids/%d", cl->o.broker_id);
	kb_zk_create(cl->zk, path, data, n, true, reg_done, NULL);
}

void kb_cluster_set_endpoints(struct kb_cluster *cl,
			      const struct kb_cluster_endpoint *eps, int n)
{
	if (n > KB_CLUSTER_MAX_EPS)
		n = KB_CLUSTER_MAX_EPS;
	memcpy(cl->o.eps, eps, (size_t)n * sizeof(*eps));
	cl->o.n_eps = n;
}

static bool reg_settled(struct kb_cluster *cl)
{
	return cl->registered || cl->fatal;
}

int kb_cluster_register(struct kb_cluster *cl, int stop_fd)
{
	char waiting[128];
	int rc;

	cl->want_register = true;
	if (is_connected(cl))
		reg_start(cl);
	snprintf(waiting, sizeof(waiting),
		 "waiting to register broker %d in ZooKeeper", cl->o.broker_id);
	rc = wait_for(cl, stop_fd, reg_settled, cl->o.connection_timeout_ms,
		      waiting);
	if (rc)
		return rc;
	return cl->fatal ? -1 : 0;
}

/* Live brokers. */

static struct kb_cluster_broker *broker_find(struct kb_cluster *cl,
					     int32_t id)
{
	size_t i;

	for (i = 0; i < cl->n_brokers; i++)
		if (cl->brokers[i].id == id)
			return &cl->brokers[i];
	return NULL;
}

/* Parses a /brokers/ids/<id> node (Kafka's format) into @br. */
static bool parse_broker(const char *js, struct kb_cluster_broker *br)
{
	const char *v, *map = kb_json_find(js, "listener_security_protocol_map");
	char ep[512];

	br->n_eps = 0;
	if (!kb_json_str(js, "rack", br->rack, sizeof(br->rack)))
		br->rack[0] = '\0';
	v = kb_json_find(js, "endpoints");
	if (!v)
		return false;
	while ((v = kb_json_next(v, ep, sizeof(ep))) &&
	       br->n_eps < KB_CLUSTER_MAX_EPS) {
		struct kb_cluster_endpoint *e = &br->eps[br->n_eps];
		char *sep = strstr(ep, "://"), *colon;
		long port;

		if (!sep)
			continue;
		*sep = '\0';
		colon = strrchr(sep + 3, ':');
		if (!colon)
			continue;
		*colon = '\0';
		port = strtol(colon + 1, NULL, 10);
		if (port <= 0 || port > 65535 ||
		    strlen(ep) >= sizeof(e->name) ||
		    strlen(sep + 3) >= sizeof(e->host))
			continue;
		strcpy(e->name, ep);
		strcpy(e->host, sep + 3);
		/* IPv6 hosts come bracketed. */
		if (e->host[0] == '[') {
			size_t hl = strlen(e->host);

			memmove(e->host, e->host + 1, hl);
			if (hl > 1 && e->host[hl - 2] == ']')
				e->host[hl - 2] = '\0';
		}
		e->port = (int)port;
		/* Without a map entry Kafka takes the name for the protocol. */
		if (!map || !kb_json_str(map, ep, e->proto, sizeof(e->proto)))
			snprintf(e->proto, sizeof(e->proto), "%s", ep);
		br->n_eps++;
	}
	return true;
}

static void broker_data_done(struct kb_zk *zk, const struct kb_zk_res *r,
			     void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	int32_t id = (int32_t)(intptr_t)arg;
	struct kb_cluster_broker *br = broker_find(cl, id);

	if (!br || r->rc != ZOK || !r->data)
		return;
	if (!parse_broker(r->data, br)) {
		kb_log_once(KB_LOG_WARN,
			    "ZooKeeper: broker %d's registration cannot be read: '%.200s'",
			    id, r->data);
		return;
	}
	if (!br->loaded)
		kb_info("broker %d is live%s%s", id, *br->rack ? " in rack " : "",
			br->rack);
	br->loaded = true;
}

static int cmp_id(const void *a, const void *b)
{
	int32_t x = ((const struct kb_cluster_broker *)a)->id;
	int32_t y = ((const struct kb_cluster_broker *)b)->id;

	return (x > y) - (x < y);
}

static void children_done(struct kb_zk *zk, const struct kb_zk_res *r,
			  void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cluster_broker *nb;
	size_t n = 0, i;
	int k;

	/* Only the latest listing counts. */
	if ((unsigned int)(uintptr_t)arg != cl->list_gen)
		return;
	if (r->rc != ZOK) {
		kb_warn("ZooKeeper: listing live brokers: %s",
			kb_zk_strerror(r->rc));
		return;
	}
	nb = calloc((size_t)r->n_children + 1, sizeof(*nb));
	if (!nb)
		return;
	for (k = 0; k < r->n_children; k++) {
		char *end;
		long id = strtol(r->children[k], &end, 10);
		struct kb_cluster_broker *old;

		if (*end || end == r->children[k] || id < 0 || id > INT32_MAX)
			continue;
		old = broker_find(cl, (int32_t)id);
		if (old) {
			nb[n] = *old;
		} else {
			nb[n].id = (int32_t)id;
		}
		n++;
	}
	for (i = 0; i < cl->n_brokers; i++) {
		bool gone = true;
		size_t j;

		for (j = 0; j < n; j++)
			if (nb[j].id == cl->brokers[i].id)
				gone = false;
		if (gone)
			kb_info("broker %d left the cluster", cl->brokers[i].id);
	}
	qsort(nb, n, sizeof(*nb), cmp_id);
	free(cl->brokers);
	cl->brokers = nb;
	cl->n_brokers = n;
	/* A broker that came or went may change leaders. */
	kb_cl_reconcile(cl);
	for (i = 0; i < n; i++) {
		char path[64];

		if (nb[i].loaded)
			continue;
		snprintf(path, sizeof(path), "/brokers/ids/%d", nb[i].id);
		kb_zk_get(zk, path, false, broker_data_done,
			  (void *)(intptr_t)nb[i].id);
	}
}

void kb_cl_brokers_reload(struct kb_cluster *cl)
{
	cl->list_gen++;
	kb_zk_children(cl->zk, "/brokers/ids", true, children_done,
		       (void *)(uintptr_t)cl->list_gen);
}

/* Accessors. */

const char *kb_cluster_id(const struct kb_cluster *cl)
{
	return cl->id;
}

bool kb_cluster_encrypted(const struct kb_cluster *cl)
{
	return cl->encrypted;
}

bool kb_cluster_connected(const struct kb_cluster *cl)
{
	return kb_zk_state(cl->zk) == KB_ZK_CONNECTED && cl->registered;
}

size_t kb_cluster_broker_count(const struct kb_cluster *cl)
{
	size_t i, n = 0;

	for (i = 0; i < cl->n_brokers; i++)
		n += cl->brokers[i].loaded;
	return n;
}

const struct kb_cluster_broker *kb_cluster_broker_at(
	const struct kb_cluster *cl, size_t i)
{
	size_t k;

	for (k = 0; k < cl->n_brokers; k++) {
		if (!cl->brokers[k].loaded)
			continue;
		if (!i--)
			return &cl->brokers[k];
	}
	return NULL;
}

const struct kb_cluster_endpoint *kb_cluster_endpoint(
	const struct kb_cluster_broker *br, const char *listener)
{
	int i;

	for (i = 0; i < br->n_eps; i++)
		if (!strcmp(br->eps[i].name, listener))
			return &br->eps[i];
	return NULL;
}
