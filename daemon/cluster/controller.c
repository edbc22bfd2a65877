// SPDX-License-Identifier: GPL-2.0
/*
 * Controller election as Kafka ran it on ZooKeeper: the broker that
 * creates the ephemeral /controller node is the controller, and bumps
 * /controller_epoch so that anything it writes can be told from a
 * deposed controller's.  Everyone else watches /controller and runs for
 * election when it is deleted (its owner stopped or its session expired).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

#include "cluster/internal.h"
#include "cluster/json.h"
#include "common/log.h"

static void read_controller(struct kb_cluster *cl);

static void epoch_set_done(struct kb_zk *zk, const struct kb_zk_res *r,
			   void *arg);

static void epoch_get_done(struct kb_zk *zk, const struct kb_zk_res *r,
			   void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	char buf[16];
	long e = 0;
	int n;

	(void)arg;
	if (!cl->is_controller)
		return;
	if (r->rc == ZNONODE) {
		kb_zk_create(zk, "/controller_epoch", "1", 1, false,
			     epoch_set_done, (void *)(intptr_t)1);
		return;
	}
	if (r->rc != ZOK) {
		kb_warn("ZooKeeper: reading /controller_epoch: %s",
			kb_zk_strerror(r->rc));
		return;
	}
	if (r->data)
		e = strtol(r->data, NULL, 10);
	if (e < 0 || e >= INT32_MAX)
		e = 0;
	n = snprintf(buf, sizeof(buf), "%ld", e + 1);
	kb_zk_set(zk, "/controller_epoch", buf, n, r->version, epoch_set_done,
		  (void *)(intptr_t)(e + 1));
}

static void epoch_set_done(struct kb_zk *zk, const struct kb_zk_res *r,
			   void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);

	if (!cl->is_controller)
		return;
	if (r->rc == ZBADVERSION || r->rc == ZNODEEXISTS) {
		/* Raced with a deposed controller's write: read again. */
		kb_zk_get(zk, "/controller_epoch", false, epoch_get_done, NULL);
		return;
	}
	if (r->rc != ZOK) {
		kb_warn("ZooKeeper: writing /controller_epoch: %s",
			kb_zk_strerror(r->rc));
		return;
	}
	cl->controller_epoch = (int32_t)(intptr_t)arg;
	kb_notice("broker %d is the controller (epoch %d)", cl->o.broker_id,
		  cl->controller_epoch);
	kb_cl_reconcile(cl);
}

static void elect_done(struct kb_zk *zk, const struct kb_zk_res *r, void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);

	(void)arg;
	cl->electing = false;
	if (r->rc == ZOK) {
		cl->is_controller = true;
		cl->controller_id = cl->o.broker_id;
		/* Hear of the node's deletion (session trouble) too. */
		kb_zk_exists(zk, "/controller", true, NULL, NULL);
		kb_zk_get(zk, "/controller_epoch", false, epoch_get_done, NULL);
		return;
	}
	if (r->rc == ZNODEEXISTS) {
		read_controller(cl);
		return;
	}
	kb_warn("ZooKeeper: controller election: %s; trying again",
		kb_zk_strerror(r->rc));
	/* kb_cluster_tick runs the election again while none is known. */
	cl->controller_id = -1;
	cl->retry_at_ms = 1;
}

void kb_cl_elect(struct kb_cluster *cl)
{
	char data[128];
	int n;

	if (cl->electing || !cl->registered)
		return;
	cl->electing = true;
	n = snprintf(data, sizeof(data),
		     "{\"version\":1,\"brokerid\":%d,\"timestamp\":\"%ld\"}",
		     cl->o.broker_id, (long)time(NULL) * 1000);
	kb_zk_create(cl->zk, "/controller", data, n, true, elect_done, NULL);
}

static void controller_read_done(struct kb_zk *zk, const struct kb_zk_res *r,
				 void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	int64_t id;

	(void)arg;
	if (r->rc == ZNONODE) {
		/* Deleted between our create and read: run again. */
		kb_cl_elect(cl);
		return;
	}
	if (r->rc != ZOK || !r->data ||
	    !kb_json_int(r->data, "brokerid", &id) || id < 0 ||
	    id > INT32_MAX) {
		if (r->rc != ZOK)
			kb_warn("ZooKeeper: reading /controller: %s",
				kb_zk_strerror(r->rc));
		return;
	}
	if (cl->is_controller && id != cl->o.broker_id)
		kb_cl_controller_lost(cl, "another broker holds /controller");
	if (cl->controller_id != id && id != cl->o.broker_id)
		kb_info("broker %d is the controller", (int)id);
	cl->controller_id = (int32_t)id;
	if (id == cl->o.broker_id && !cl->is_controller) {
		/* Our node from before a reconnect: we still hold it. */
		cl->is_controller = r->ephemeral_owner ==
				    kb_zk_session_id(zk);
		if (cl->is_controller)
			kb_zk_get(zk, "/controller_epoch", false,
				  epoch_get_done, NULL);
	}
}

/* Reads /controller and watches it. */
static void read_controller(struct kb_cluster *cl)
{
	kb_zk_get(cl->zk, "/controller", true, controller_read_done, NULL);
}

void kb_cl_controller_lost(struct kb_cluster *cl, const char *why)
{
	if (cl->is_controller)
		kb_warn("broker %d is no longer the controller: %s",
			cl->o.broker_id, why);
	cl->is_controller = false;
	cl->electing = false;
	cl->controller_id = -1;
	cl->controller_epoch = 0;
}

void kb_cl_controller_watch(struct kb_cluster *cl, enum kb_zk_watch w)
{
	if (w == KB_ZK_W_DELETED) {
		if (cl->is_controller)
			kb_cl_controller_lost(cl, "its /controller node was deleted");
		cl->controller_id = -1;
		kb_cl_elect(cl);
	} else {
		read_controller(cl);
	}
}

/*
 * The controller's duty towards partitions: every partition has a state
 * node, and its leader is live.  Leaders come from the ISR only (no
 * unclean election): with no live in-sync replica the partition goes
 * offline (leader -1) rather than coming back empty on another broker.
 * Every change bumps the leader epoch and carries the controller epoch;
 * writes are conditional on the node's version, so a deposed controller's
 * late write fails.
 */
struct part_ref {
	char topic[256];
	int32_t p;
	/* What was written, taken on success until the watch reads it. */
	int32_t leader, epoch, n_isr;
	int32_t isr[KB_CL_MAX_RF];
};

static struct kb_cl_part *ref_part(struct kb_cluster *cl,
				   const struct part_ref *ref)
{
	size_t i;

	for (i = 0; i < cl->n_topics; i++) {
		struct kb_cl_topic *t = cl->topics[i];

		if (!strcmp(t->name, ref->topic))
			return t->loaded && ref->p < t->n_parts ?
			       &t->parts[ref->p] : NULL;
	}
	return NULL;
}

static void state_written(struct kb_zk *zk, const struct kb_zk_res *r,
			  void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct part_ref *ref = arg;
	struct kb_cl_part *pt = ref_part(cl, ref);

	if (pt)
		pt->pending = false;
	if (pt && r->rc == ZOK) {
		pt->has_state = true;
		pt->no_state = false;
		pt->leader = ref->leader;
		pt->leader_epoch = ref->epoch;
		pt->n_isr = ref->n_isr;
		memcpy(pt->isr, ref->isr, sizeof(pt->isr));
		/* A create returns no stat: a new node is at version 0. */
		pt->version = r->has_stat ? r->version : 0;
		pt->ctrl_epoch = cl->controller_epoch;
	}
	/* A lost race (BADVERSION, NODEEXISTS) shows up through the watch,
	 * which reads the state again and reconciles from there. */
	if (r->rc != ZOK && r->rc != ZBADVERSION && r->rc != ZNODEEXISTS)
		kb_warn("ZooKeeper: writing the state of %s-%d: %s",
			ref->topic, ref->p, kb_zk_strerror(r->rc));
	free(ref);
}

static void ignore(struct kb_zk *zk, const struct kb_zk_res *r, void *arg)
{
	(void)zk;
	(void)r;
	(void)arg;
}

/* Kafka's leader-and-isr node (version 1). */
int kb_cl_state_json(char *buf, size_t size, int32_t ctrl_epoch,
		     int32_t leader, int32_t epoch, const int32_t *isr,
		     int32_t n_isr)
{
	size_t n;
	int32_t i;
	int w;

	w = snprintf(buf, size,
		     "{\"controller_epoch\":%d,\"leader\":%d,\"version\":1,\"leader_epoch\":%d,\"isr\":[",
		     ctrl_epoch, leader, epoch);
	if (w < 0 || (size_t)w >= size)
		return -1;
	n = (size_t)w;
	for (i = 0; i < n_isr; i++) {
		w = snprintf(buf + n, size - n, "%s%d", i ? "," : "", isr[i]);
		if (w < 0 || (size_t)w >= size - n)
			return -1;
		n += (size_t)w;
	}
	w = snprintf(buf + n, size - n, "]}");
	if (w < 0 || (size_t)w >= size - n)
		return -1;
	return (int)(n + (size_t)w);
}

static void reconcile_part(struct kb_cluster *cl, struct kb_cl_topic *t,
			   int32_t p)
{
	struct kb_cl_part *pt = &t->parts[p];
	int32_t leader = -1, isr[KB_CL_MAX_RF], n_isr = 0, i;
	char path[600], data[512];
	struct part_ref *ref;
	int n;

	if (pt->pending)
		return;
	if (pt->no_state) {
		/* New partition: the first live replica leads. */
		for (i = 0; i < pt->n_replicas && leader < 0; i++)
			if (kb_cl_broker_live(cl, pt->replicas[i]))
				leader = pt->replicas[i];
		if (leader < 0)
			return;
		isr[n_isr++] = leader;
		n = kb_cl_state_json(data, sizeof(data), cl->controller_epoch,
				     leader, 0, isr, n_isr);
	} else if (pt->has_state) {
		bool live = pt->leader >= 0 &&
			    kb_cl_broker_live(cl, pt->leader);

		if (live && !kb_cl_shutting(cl, pt->leader))
			return;
		/* A broker in controlled shutdown leaves the ISR too. */
		for (i = 0; i < pt->n_isr; i++) {
			if (!kb_cl_broker_live(cl, pt->isr[i]) ||
			    kb_cl_shutting(cl, pt->isr[i]))
				continue;
			if (leader < 0)
				leader = pt->isr[i];
			isr[n_isr++] = pt->isr[i];
		}
		if (leader < 0 && live)
			return;		/* nowhere to move it: keep it */
		if (leader < 0 && pt->leader < 0)
			return;		/* offline already */
		if (live)
			kb_info("%s-%d: moving leadership off broker %d (controlled shutdown)",
				t->name, p, pt->leader);
		if (leader < 0) {
			/* Keep the last ISR: it names who may lead again. */
			memcpy(isr, pt->isr, sizeof(isr));
			n_isr = pt->n_isr;
			kb_warn("%s-%d is offline: no in-sync replica is live",
				t->name, p);
		} else {
			kb_info("%s-%d: broker %d leads, epoch %d", t->name, p,
				leader, pt->leader_epoch + 1);
		}
		n = kb_cl_state_json(data, sizeof(data), cl->controller_epoch,
				     leader, pt->leader_epoch + 1, isr, n_isr);
	} else {
		return;		/* not read yet */
	}
	ref = calloc(1, sizeof(*ref));
	if (n < 0 || !ref) {
		free(ref);
		return;
	}
	snprintf(ref->topic, sizeof(ref->topic), "%s", t->name);
	ref->p = p;
	ref->leader = leader;
	ref->epoch = pt->no_state ? 0 : pt->leader_epoch + 1;
	ref->n_isr = n_isr;
	memcpy(ref->isr, isr, sizeof(isr));
	pt->pending = true;
	snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state",
		 t->name, p);
	if (pt->no_state) {
		char parent[600];

		/* Requests run in order: the parents exist before the state. */
		snprintf(parent, sizeof(parent), "/brokers/topics/%s/partitions",
			 t->name);
		kb_zk_create(cl->zk, parent, NULL, -1, false, ignore, NULL);
		snprintf(parent, sizeof(parent),
			 "/brokers/topics/%s/partitions/%d", t->name, p);
		kb_zk_create(cl->zk, parent, NULL, -1, false, ignore, NULL);
		kb_zk_create(cl->zk, path, data, n, false, state_written, ref);
	} else {
		kb_zk_set(cl->zk, path, data, n, pt->version, state_written,
			  ref);
	}
}

void kb_cl_reconcile(struct kb_cluster *cl)
{
	size_t i;
	int32_t p;

	if (!cl->is_controller || cl->controller_epoch <= 0 ||
	    kb_zk_state(cl->zk) != KB_ZK_CONNECTED)
		return;
	for (i = 0; i < cl->n_topics; i++) {
		struct kb_cl_topic *t = cl->topics[i];

		/* A topic being deleted gets no new state nodes. */
		if (!t->loaded || t->deleting)
			continue;
		for (p = 0; p < t->n_parts; p++)
			reconcile_part(cl, t, p);
	}
	kb_cl_deletes_run(cl);
}

bool kb_cl_shutting(const struct kb_cluster *cl, int32_t id)
{
	size_t i;

	for (i = 0; i < cl->n_shutting; i++)
		if (cl->shutting[i] == id)
			return true;
	return false;
}

static void shutting_done(struct kb_zk *zk, const struct kb_zk_res *r,
			  void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	int32_t *ids;
	int k, n = 0;

	if ((unsigned int)(uintptr_t)arg != cl->shutting_gen || r->rc != ZOK)
		return;
	ids = calloc((size_t)r->n_children + 1, sizeof(*ids));
	if (!ids)
		return;
	for (k = 0; k < r->n_children; k++) {
		char *end;
		long id = strtol(r->children[k], &end, 10);

		if (!*end && id >= 0 && id <= INT32_MAX)
			ids[n++] = (int32_t)id;
	}
	free(cl->shutting);
	cl->shutting = ids;
	cl->n_shutting = (size_t)n;
	if (n && cl->is_controller)
		kb_info("controlled shutdown asked by %d broker(s)", n);
	kb_cl_reconcile(cl);
}

void kb_cl_shutting_reload(struct kb_cluster *cl)
{
	cl->shutting_gen++;
	kb_zk_children(cl->zk, "/admin/controlled_shutdown", true,
		       shutting_done, (void *)(uintptr_t)cl->shutting_gen);
}

int32_t kb_cluster_controller(const struct kb_cluster *cl)
{
	return cl->controller_id;
}

int32_t kb_cluster_controller_epoch(const struct kb_cluster *cl)
{
	return cl->controller_epoch;
}

bool kb_cluster_is_controller(const struct kb_cluster *cl)
{
	return cl->is_controller;
}
