// SPDX-License-Identifier: GPL-2.0
/*
 * Controlled shutdown, the broker's side (cluster.h).  Kafka's brokers sent
 * ControlledShutdown (ApiKey 7) to the controller; here the request is an
 * ephemeral /admin/controlled_shutdown/<id> that the controller watches
 * (controller.c moves leadership off the broker and drops it from the
 * ISR).  ZooKeeper is the one channel every broker already has to the
 * controller, the request vanishes with the broker's session if it dies
 * mid-way, and the answer is the partition states every broker watches
 * anyway, so the broker waits for its own view to show it leads nothing
 * that could move.
 */
#include <inttypes.h>
#include <stdio.h>
#include <zookeeper/zookeeper.h>

#include "cluster/internal.h"
#include "common/log.h"

/* Partitions led here: @movable with another live in-sync replica. */
static void led(const struct kb_cluster *cl, size_t *movable, size_t *stuck)
{
	size_t i;
	int32_t p, k;

	*movable = *stuck = 0;
	for (i = 0; i < cl->n_topics; i++) {
		const struct kb_cl_topic *t = cl->topics[i];

		for (p = 0; t->loaded && p < t->n_parts; p++) {
			const struct kb_cl_part *pt = &t->parts[p];
			bool other = false;

			if (!pt->has_state || pt->leader != cl->o.broker_id)
				continue;
			for (k = 0; k < pt->n_isr; k++)
				if (pt->isr[k] != cl->o.broker_id &&
				    kb_cl_broker_live(cl, pt->isr[k]))
					other = true;
			if (other)
				(*movable)++;
			else
				(*stuck)++;
		}
	}
}

static void asked(struct kb_zk *zk, const struct kb_zk_res *r, void *arg)
{
	(void)arg;
	if (r->rc != ZOK && r->rc != ZNODEEXISTS)
		kb_warn("controlled shutdown: ZooKeeper did not take the request: %s",
			kb_zk_strerror(r->rc));
	(void)zk;
}

static void say_stuck(size_t stuck)
{
	if (stuck)
		kb_warn("controlled shutdown: %zu partition(s) led here have no other in-sync replica to move to; they are offline until this broker returns",
			stuck);
}

int kb_cluster_shutdown(struct kb_cluster *cl, int64_t now_ms,
			int max_retries, int backoff_ms)
{
	size_t movable, stuck;
	char path[64], data[64];
	int n;

	led(cl, &movable, &stuck);
	if (!cl->cs_started_ms) {
		cl->cs_started_ms = now_ms;
		if (!cl->registered || kb_zk_state(cl->zk) != KB_ZK_CONNECTED) {
			kb_warn("controlled shutdown: no ZooKeeper session, leaving without moving leadership");
			return 0;
		}
		if (!movable) {
			if (!stuck)
				kb_info("controlled shutdown: this broker leads no partition");
			say_stuck(stuck);
			return 0;
		}
		snprintf(path, sizeof(path), "/admin/controlled_shutdown/%d",
			 cl->o.broker_id);
		n = snprintf(data, sizeof(data), "{\"version\":1,\"brokerid\":%d}",
			     cl->o.broker_id);
		kb_zk_create(cl->zk, path, data, n, true, asked, NULL);
		kb_notice("controlled shutdown: asking the controller (broker %d) to move the leadership of %zu partition(s) to other in-sync replicas",
			  cl->controller_id, movable);
		cl->cs_attempt = 1;
		cl->cs_next_ms = now_ms + backoff_ms;
		return 1;
	}
	if (!movable) {
		kb_notice("controlled shutdown: leadership moved in %" PRId64 " ms",
			  now_ms - cl->cs_started_ms);
		say_stuck(stuck);
		return 0;
	}
	if (now_ms < cl->cs_next_ms)
		return 1;
	if (cl->cs_attempt >= (max_retries > 0 ? max_retries : 1)) {
		kb_warn("controlled shutdown: %zu partition(s) still led here after %d attempt(s) %d ms apart; leaving anyway",
			movable, cl->cs_attempt, backoff_ms);
		say_stuck(stuck);
		return 0;
	}
	cl->cs_attempt++;
	cl->cs_next_ms = now_ms + backoff_ms;
	kb_info("controlled shutdown: %zu partition(s) still led here, waiting (attempt %d of %d)",
		movable, cl->cs_attempt, max_retries);
	return 1;
}
