// SPDX-License-Identifier: GPL-2.0
/*
 * Start-up and shutdown of cluster membership (zookeeper.connect set):
 * joins the ZooKeeper cluster before the listeners open, registers this
 * broker once they are bound, and gives the cluster layer's fd and timer
 * to the event loop.
 */
#include <errno.h>
#include <fcntl.h>
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
	kb_cluster_on_event(((struct kb_broker *)arg)->cluster);
}

static int on_tick(void *arg, int64_t now_ms)
{
	return kb_cluster_tick(((struct kb_broker *)arg)->cluster, now_ms);
}

/* SIGTERM: leadership moves away before the broker leaves. */
static int on_stop(void *arg, int64_t now_ms)
{
	struct kb_broker *b = arg;
	const struct kb_config *cfg = b->cfg;

	if (!cfg->controlled_shutdown || !b->cluster)
		return 0;
	return kb_cluster_shutdown(b->cluster, now_ms, cfg->cs_max_retries,
				   cfg->cs_backoff_ms);
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

#define ICT "/sys/kernel/kbroker/in_cluster_tls"

/*
 * Tells the module the cluster's encryption.in.cluster, which it guards
 * the inter-broker links by.  The module takes one write and keeps the
 * value until it is loaded again; a value already there must be this
 * cluster's.  Without the module (or a module without the file) there is
 * nothing to tell.
 */
static int report_in_cluster_tls(bool on)
{
	char want = on ? '1' : '0', have[8] = "";
	int fd = open(ICT, O_RDWR | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT)
			kb_info("%s: not there (kbroker.ko not loaded, or without it): in-cluster encryption not reported to the kernel",
				ICT);
		else
			kb_warn("%s: %m: in-cluster encryption not reported to the kernel",
				ICT);
		return 0;
	}
	if (write(fd, &want, 1) == 1) {
		close(fd);
		kb_info("%s: %c (encryption.in.cluster=%s)", ICT, want,
			on ? "true" : "false");
		return 0;
	}
	if (errno != EBUSY) {
		kb_warn("%s: writing %c: %m", ICT, want);
		close(fd);
		return 0;
	}
	/* Fixed already, by an earlier run: it must agree. */
	n = pread(fd, have, sizeof(have) - 1, 0);
	close(fd);
	if (n > 0 && have[0] == want)
		return 0;
	kb_err("%s is fixed at %.1s but this cluster has encryption.in.cluster=%s: the module guards inter-broker links by its value; reload kbroker.ko to change it",
	       ICT, n > 0 ? have : "?", on ? "true" : "false");
	return -1;
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
	if (kb_cluster_meta_adopt(b, id))
		return -1;
	return report_in_cluster_tls(kb_cluster_encrypted(b->cluster));
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
	hook.on_stop = on_stop;
	hook.arg = b;
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
