/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State shared by the event loop and the request handlers.
 */
#ifndef KB_BROKER_BROKER_H
#define KB_BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/time.h"

struct kb_store;
struct kb_loop;
struct kb_cluster;

struct kb_broker {
	const struct kb_config *cfg;
	struct kb_store *store;
	char cluster_id[32];
	bool cluster_id_fresh;		/* meta.properties written by this run */
	/* The ZooKeeper cluster this broker belongs to, NULL standalone. */
	struct kb_cluster *cluster;
	struct kb_loop *loop;		/* NULL when driven without sockets */
	/* Parked requests may be completable: set by appends and by anything
	 * else parked requests wait for (group state changes later). */
	bool wake;
	/* Where /metrics is served (set by daemon/metrics), "" = nowhere;
	 * kbrokerctl status shows it. */
	char metrics_url[KB_HOST_MAX + 32];
};

/* Reads or creates <first log dir>/meta.properties (cluster.id, broker.id)
 * like Kafka does; fills b->cluster_id. */
int kb_cluster_meta_load(struct kb_broker *b);
/* Takes the cluster id ZooKeeper holds: rewrites meta.properties when
 * this run made it, refuses when the log dirs belong to another cluster. */
int kb_cluster_meta_adopt(struct kb_broker *b, const char *id);

#endif
