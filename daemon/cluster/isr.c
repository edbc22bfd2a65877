// SPDX-License-Identifier: GPL-2.0
/*
 * ISR changes written by a partition's leader (cluster.h): the
 * leader-and-isr node rewritten with a conditional set against the version
 * last read, as Kafka's ZooKeeper-era Partition.updateIsr did.  A failed
 * or unanswered write is settled by reading the node again: the write may
 * have been ours (a connection lost after the server applied it), or
 * another writer's (the controller electing a new leader).
 */
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "cluster/internal.h"
#include "common/log.h"

enum {
	E_UNKNOWN_TOPIC_OR_PARTITION = 3,
	E_NOT_LEADER_OR_FOLLOWER = 6,
	E_REQUEST_TIMED_OUT = 7,
	E_INVALID_REQUEST = 42,
	E_OPERATION_NOT_ATTEMPTED = 55,
	E_FENCED_LEADER_EPOCH = 74,
	E_UNKNOWN_LEADER_EPOCH = 76,
	E_INVALID_UPDATE_VERSION = 95,
};

/* One write in flight; on cl->isr_ops until it completes. */
struct kb_cl_isr_op {
	struct kb_cl_isr_op *next;
	char topic[256];
	int32_t p, epoch, n_isr;
	int32_t isr[KB_CL_MAX_RF];
	int rc;				/* the set's, kept over the re-read */
	kb_cluster_isr_done done;
	void *arg;
};

static struct kb_cl_part *op_part(struct kb_cluster *cl, const char *topic,
				  int32_t p)
{
	size_t i;

	for (i = 0; i < cl->n_topics; i++) {
		struct kb_cl_topic *t = cl->topics[i];

		if (!strcmp(t->name, topic))
			return t->loaded && p >= 0 && p < t->n_parts ?
			       &t->parts[p] : NULL;
	}
	return NULL;
}

static void view(const struct kb_cl_part *pt, struct kb_cluster_partition *v)
{
	v->leader = pt->leader;
	v->leader_epoch = pt->leader_epoch;
	v->n_replicas = pt->n_replicas;
	v->replicas = pt->replicas;
	v->n_isr = pt->n_isr;
	v->isr = pt->isr;
}

static bool same_set(const int32_t *a, int32_t na, const int32_t *b,
		     int32_t nb)
{
	int32_t i, j;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && b[j] != a[i]; j++)
			;
		if (j == nb)
			return false;
	}
	return true;
}

/* Takes @op off the list, tells its owner, frees it. */
static void finish(struct kb_cluster *cl, struct kb_cl_isr_op *op,
		   int16_t err)
{
	struct kb_cl_isr_op **pp;
	struct kb_cl_part *pt = op_part(cl, op->topic, op->p);
	struct kb_cluster_partition v;

	for (pp = &cl->isr_ops; *pp && *pp != op; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = op->next;
	if (pt) {
		pt->isr_busy = false;
		if (pt->has_state)
			view(pt, &v);
	}
	if (err && err != E_REQUEST_TIMED_OUT)
		kb_info("%s-%d: ISR change at leader epoch %d not written: error %d",
			op->topic, op->p, op->epoch, err);
	op->done(op->arg, err, pt && pt->has_state ? &v : NULL);
	free(op);
}

static void reread_done(struct kb_zk *zk, const struct kb_zk_res *r,
			void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cl_isr_op *op = arg;
	struct kb_cl_part *pt = op_part(cl, op->topic, op->p);

	if (r->rc == ZNONODE || !pt) {
		finish(cl, op, E_UNKNOWN_TOPIC_OR_PARTITION);
		return;
	}
	if (r->rc != ZOK || !kb_cl_state_parse(pt, r->data, r->version)) {
		finish(cl, op, E_REQUEST_TIMED_OUT);
		return;
	}
	if (pt->leader != cl->o.broker_id || pt->leader_epoch != op->epoch)
		finish(cl, op, E_FENCED_LEADER_EPOCH);
	else if (same_set(pt->isr, pt->n_isr, op->isr, op->n_isr))
		finish(cl, op, 0);	/* ours, applied before the loss */
	else
		finish(cl, op, E_INVALID_UPDATE_VERSION);
}

static void set_done(struct kb_zk *zk, const struct kb_zk_res *r, void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cl_isr_op *op = arg;
	struct kb_cl_part *pt = op_part(cl, op->topic, op->p);
	char path[600];

	op->rc = r->rc;
	if (r->rc == ZOK && pt && r->has_stat) {
		pt->n_isr = op->n_isr;
		memcpy(pt->isr, op->isr, sizeof(pt->isr));
		pt->version = r->version;
		char list[KB_CL_MAX_RF * 12] = "";
		size_t n = 0;
		int32_t i;

		for (i = 0; i < op->n_isr && n < sizeof(list); i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n,
					      "%s%d", i ? "," : "", op->isr[i]);
		kb_info("%s-%d: ISR now [%s] at leader epoch %d", op->topic,
			op->p, list, op->epoch);
		finish(cl, op, 0);
		return;
	}
	if (r->rc == ZNONODE) {
		finish(cl, op, E_UNKNOWN_TOPIC_OR_PARTITION);
		return;
	}
	/* BADVERSION, or no answer: read what ZooKeeper has now. */
	snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state",
		 op->topic, op->p);
	kb_zk_get(zk, path, false, reread_done, op);
}

int kb_cluster_isr_update(struct kb_cluster *cl, const char *topic,
			  int32_t partition, int32_t leader_epoch,
			  const int32_t *isr, int n_isr,
			  kb_cluster_isr_done done, void *arg)
{
	struct kb_cl_part *pt = op_part(cl, topic, partition);
	struct kb_cl_isr_op *op;
	char path[600], data[512];
	int i, j, n;

	if (!pt || !pt->has_state)
		return pt ? E_NOT_LEADER_OR_FOLLOWER :
			    E_UNKNOWN_TOPIC_OR_PARTITION;
	if (leader_epoch < pt->leader_epoch)
		return E_FENCED_LEADER_EPOCH;
	if (leader_epoch > pt->leader_epoch)
		return E_UNKNOWN_LEADER_EPOCH;
	if (pt->leader != cl->o.broker_id)
		return E_NOT_LEADER_OR_FOLLOWER;
	if (!isr || n_isr < 1 || n_isr > KB_CL_MAX_RF || !done)
		return E_INVALID_REQUEST;
	for (i = 0; i < n_isr; i++) {
		for (j = 0; j < pt->n_replicas && pt->replicas[j] != isr[i];
		     j++)
			;
		if (j == pt->n_replicas)
			return E_INVALID_REQUEST;
		for (j = 0; j < i; j++)
			if (isr[j] == isr[i])
				return E_INVALID_REQUEST;
	}
	for (i = 0; i < n_isr && isr[i] != cl->o.broker_id; i++)
		;
	if (i == n_isr)
		return E_INVALID_REQUEST;	/* the leader is always in */
	if (kb_zk_state(cl->zk) != KB_ZK_CONNECTED || !cl->registered)
		return E_REQUEST_TIMED_OUT;
	if (pt->isr_busy || pt->pending)
		return E_OPERATION_NOT_ATTEMPTED;
	n = kb_cl_state_json(data, sizeof(data), pt->ctrl_epoch, pt->leader,
			     pt->leader_epoch, isr, n_isr);
	op = calloc(1, sizeof(*op));
	if (n < 0 || !op) {
		free(op);
		return E_REQUEST_TIMED_OUT;
	}
	snprintf(op->topic, sizeof(op->topic), "%s", topic);
	op->p = partition;
	op->epoch = leader_epoch;
	op->n_isr = n_isr;
	memcpy(op->isr, isr, (size_t)n_isr * sizeof(*isr));
	op->done = done;
	op->arg = arg;
	op->next = cl->isr_ops;
	cl->isr_ops = op;
	pt->isr_busy = true;
	snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state",
		 topic, partition);
	kb_zk_set(cl->zk, path, data, n, pt->version, set_done, op);
	return 0;
}

/* The session is gone and its answers with it: tell every owner. */
void kb_cl_isr_expired(struct kb_cluster *cl)
{
	while (cl->isr_ops)
		finish(cl, cl->isr_ops, E_REQUEST_TIMED_OUT);
}

/* Closing: nobody is left to tell. */
void kb_cl_isr_free(struct kb_cluster *cl)
{
	struct kb_cl_isr_op *op, *next;

	for (op = cl->isr_ops; op; op = next) {
		next = op->next;
		free(op);
	}
	cl->isr_ops = NULL;
}
