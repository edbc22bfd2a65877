// SPDX-License-Identifier: GPL-2.0
/*
 * Start-up and shutdown of cluster membership (zookeeper.connect set):
 * joins the ZooKeeper cluster before the listeners open, registers this
 * broker once they are bound, and gives the cluster layer's fd and timer
 * to the event loop.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app/cluster_join.h"
#include "common/broker.h"
#include "net/loop.h"
#include "cluster/cluster.h"
#include "common/log.h"

static struct kb_loop_hook hook;

static void on_event(void *arg)
{
	kb_cluster_on_event(arg);
}

static int on_tick(void *arg, int64_t now_ms)
{
	return kb_cluster_tick(arg, now_ms);
}

static bool wildcard(const char *h)
{
	return !*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

/* What the other brokers and the clients are told for listener @i. */
static void endpoint(const struct kb_loop *l, int i,
		     struct kb_cluster_endpoint *e)
{
	const struct kb_listener_cfg *lc = &l->b->cfg->listeners[i];

	snprintf(e->name, sizeof(e->name), "%s", lc->name);
	snprintf(e->proto, sizeof(e->proto), "%s",
		 lc->proto == KB_SEC_SSL ? "SSL" : "PLAINTEXT");
	e->port = lc->adv_port ? lc->adv_port : l->ls[i].port;
	if (lc->adv_port)
		snprintf(e->host, sizeof(e->host), "%s", lc->adv_host);
	else if (!wildcard(lc->host))
		snprintf(e->host, sizeof(e->host), "%s", lc->host);
	else if (gethostname(e->host, sizeof(e->host)))
		snprintf(e->host, sizeof(e->host), "localhost");
}

int kb_broker_cluster_join(struct kb_broker *b, struct kb_loop *l)
{
	const struct kb_config *cfg = b->cfg;
	struct kb_cluster_opts o = {
		.connect = cfg->zk_connect,
		.session_timeout_ms = (int)cfg->zk_session_timeout_ms,
		.connection_timeout_ms = (int)cfg->zk_connection_timeout_ms,
		.broker_id = cfg->broker_id,
		.rack = cfg->broker_rack,
		.encryption_in_cluster = cfg->encryption_in_cluster,
		.inter_broker_listener =
			cfg->listeners[cfg->inter_broker_listener].name,
	};
	char id[32];
	int rc;

	if (!cfg->zk_connect[0])
		return 0;
	if (kb_cluster_open(&o, b->store, &b->cluster))
		return -1;
	memcpy(id, b->cluster_id, sizeof(id));
	rc = kb_cluster_join(b->cluster, l->sig, id);
	if (rc)
		return rc;
	return kb_cluster_meta_adopt(b, id);
}

int kb_broker_cluster_register(struct kb_broker *b, struct kb_loop *l)
{
	struct kb_cluster_endpoint eps[KB_CLUSTER_MAX_EPS];
	int i, rc;

	if (!b->cluster)
		return 0;
	/* The endpoints are known now that the listeners are bound. */
	for (i = 0; i < l->n_ls && i < KB_CLUSTER_MAX_EPS; i++)
		endpoint(l, i, &eps[i]);
	kb_cluster_set_endpoints(b->cluster, eps, i);
	rc = kb_cluster_register(b->cluster, l->sig);
	if (rc)
		return rc;
	hook.fd = kb_cluster_fd(b->cluster);
	hook.on_event = on_event;
	hook.on_tick = on_tick;
	hook.arg = b->cluster;
	return kb_loop_add_hook(l, &hook);
}

void kb_broker_cluster_close(struct kb_broker *b)
{
	if (!b->cluster)
		return;
	kb_cluster_close(b->cluster);
	b->cluster = NULL;
	kb_info("left the cluster (ZooKeeper session closed)");
}
