// SPDX-License-Identifier: GPL-2.0
/*
 * Admin writes to ZooKeeper without blocking the loop (cluster.h), and the
 * controller's side of topic deletion, as Kafka's ZooKeeper-era admin path
 * had them: a request writes /brokers/topics/<t> (create, grow) or
 * /admin/delete_topics/<t> (delete) and waits until this broker's view
 * shows the result; the controller elects the new partitions' leaders and
 * carries out deletions, removing the topic's nodes, after which every
 * broker deletes its local log (topics.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "cluster/internal.h"
#include "common/log.h"

enum {
	E_REQUEST_TIMED_OUT = 7,
	E_TOPIC_ALREADY_EXISTS = 36,
	E_INVALID_PARTITIONS = 37,
};

/* A topic deletion the controller carries out. */
struct kb_cl_del_job {
	struct kb_cl_del_job *next;
	char topic[256];
	bool failed;
};

struct kb_cluster_op *kb_cl_op_new(struct kb_cluster *cl,
				   enum kb_cl_op_kind kind, const char *topic,
				   kb_cluster_op_done done, void *arg)
{
	struct kb_cluster_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->kind = kind;
	snprintf(op->topic, sizeof(op->topic), "%s", topic);
	op->done = done;
	op->arg = arg;
	op->writing = true;
	op->next = cl->ops;
	cl->ops = op;
	return op;
}

static void op_unlink(struct kb_cluster *cl, struct kb_cluster_op *op)
{
	struct kb_cluster_op **pp;

	for (pp = &cl->ops; *pp && *pp != op; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = op->next;
	free(op->data1);
	free(op->data2);
	free(op);
}

static void op_finish(struct kb_cluster *cl, struct kb_cluster_op *op,
		      int16_t err, const char *why)
{
	kb_cluster_op_done done = op->cancelled ? NULL : op->done;
	void *arg = op->arg;

	op_unlink(cl, op);
	if (done)
		done(arg, err, why);
}

void kb_cluster_op_cancel(struct kb_cluster *cl, struct kb_cluster_op *op)
{
	struct kb_cluster_op *o;

	for (o = cl->ops; o && o != op; o = o->next)
		;
	if (!o)
		return;
	if (o->writing)
		o->cancelled = true;	/* freed when its writes return */
	else
		op_unlink(cl, o);
}

/* Whether the view shows what @op waits for. */
static bool op_satisfied(const struct kb_cluster *cl,
			 const struct kb_cluster_op *op)
{
	const struct kb_cl_topic *t = kb_cl_topic_find(cl, op->topic);
	int32_t p;

	if (op->kind == KB_CL_OP_DELETE)
		return !t;
	if (!op->want_parts)
		return true;
	if (!t || !t->loaded || t->n_parts < op->want_parts)
		return false;
	for (p = 0; p < op->want_parts; p++)
		if (!t->parts[p].has_state || t->parts[p].leader < 0)
			return false;
	return true;
}

void kb_cl_ops_check(struct kb_cluster *cl)
{
	struct kb_cluster_op *op, *next;

	for (op = cl->ops; op; op = next) {
		next = op->next;
		if (op->writing)
			continue;
		if (op->cancelled)
			op_unlink(cl, op);
		else if (op_satisfied(cl, op))
			op_finish(cl, op, 0, NULL);
	}
}

/* The writes of @op are done: from now on it waits for the view. */
static void op_written(struct kb_cluster *cl, struct kb_cluster_op *op)
{
	op->writing = false;
	if (op->cancelled)
		op_unlink(cl, op);
	else
		kb_cl_ops_check(cl);
}

static void topic_written(struct kb_zk *zk, const struct kb_zk_res *r,
			  void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cluster_op *op = arg;

	if (r->rc == ZNODEEXISTS) {
		op_finish(cl, op, E_TOPIC_ALREADY_EXISTS, "topic already exists");
	} else if (r->rc != ZOK) {
		kb_warn("ZooKeeper: creating topic %s: %s", op->topic,
			kb_zk_strerror(r->rc));
		op_finish(cl, op, E_REQUEST_TIMED_OUT,
			  "ZooKeeper did not take the topic");
	} else {
		kb_info("created topic %s in the cluster: %d partition(s)",
			op->topic, op->want_parts);
		op_written(cl, op);
	}
}

static void config_written(struct kb_zk *zk, const struct kb_zk_res *r,
			   void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cluster_op *op = arg;
	char path[512];

	/* An existing config node is one an interrupted create left. */
	if (r->rc != ZOK && r->rc != ZNODEEXISTS) {
		kb_warn("ZooKeeper: writing the configs of topic %s: %s",
			op->topic, kb_zk_strerror(r->rc));
		op_finish(cl, op, E_REQUEST_TIMED_OUT,
			  "ZooKeeper did not take the topic");
		return;
	}
	snprintf(path, sizeof(path), "/brokers/topics/%s", op->topic);
	kb_zk_create(zk, path, op->data2, (int)strlen(op->data2), false,
		     topic_written, op);
}

static void delete_marked(struct kb_zk *zk, const struct kb_zk_res *r,
			  void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cluster_op *op = arg;

	/* Already marked: the same deletion, wait for it as well. */
	if (r->rc != ZOK && r->rc != ZNODEEXISTS) {
		kb_warn("ZooKeeper: marking topic %s for deletion: %s",
			op->topic, kb_zk_strerror(r->rc));
		op_finish(cl, op, E_REQUEST_TIMED_OUT,
			  "ZooKeeper did not take the deletion");
		return;
	}
	if (r->rc == ZOK)
		kb_info("topic %s marked for deletion", op->topic);
	op_written(cl, op);
}

static void grow_written(struct kb_zk *zk, const struct kb_zk_res *r,
			 void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cluster_op *op = arg;

	if (r->rc == ZBADVERSION || r->rc == ZNONODE) {
		op_finish(cl, op, E_INVALID_PARTITIONS,
			  "the topic changed meanwhile; try again");
	} else if (r->rc != ZOK) {
		kb_warn("ZooKeeper: adding partitions to %s: %s", op->topic,
			kb_zk_strerror(r->rc));
		op_finish(cl, op, E_REQUEST_TIMED_OUT,
			  "ZooKeeper did not take the new partitions");
	} else {
		kb_info("topic %s grows to %d partitions", op->topic,
			op->want_parts);
		op_written(cl, op);
	}
}

void kb_cl_op_start(struct kb_cluster *cl, struct kb_cluster_op *op)
{
	char path[512];

	switch (op->kind) {
	case KB_CL_OP_CREATE:
		/* Configs first, as Kafka: the topic is whole once it
		 * appears. */
		snprintf(path, sizeof(path), "/config/topics/%s", op->topic);
		kb_zk_create(cl->zk, path, op->data1, (int)strlen(op->data1),
			     false, config_written, op);
		break;
	case KB_CL_OP_DELETE:
		snprintf(path, sizeof(path), "/admin/delete_topics/%s",
			 op->topic);
		kb_zk_create(cl->zk, path, NULL, -1, false, delete_marked, op);
		break;
	case KB_CL_OP_GROW:
		snprintf(path, sizeof(path), "/brokers/topics/%s", op->topic);
		kb_zk_set(cl->zk, path, op->data1, (int)strlen(op->data1),
			  op->version, grow_written, op);
		break;
	}
}

/* A new session: the writes in flight are lost with their answers. */
void kb_cl_ops_expired(struct kb_cluster *cl)
{
	struct kb_cluster_op *op, *next;
	struct kb_cl_del_job *j, *jn;

	for (op = cl->ops; op; op = next) {
		next = op->next;
		if (op->writing)
			op_finish(cl, op, E_REQUEST_TIMED_OUT,
				  "the ZooKeeper session expired");
	}
	for (j = cl->del_jobs; j; j = jn) {
		jn = j->next;
		free(j);
	}
	cl->del_jobs = NULL;
}

/* Deletion by the controller. */

/* One node of a recursive delete: its children go first. */
struct rdel {
	struct kb_cl_del_job *job;
	struct rdel *parent;
	int left;
	char path[768];
};

static void rdel_start(struct kb_cluster *cl, struct kb_cl_del_job *job,
		       struct rdel *parent, const char *path);
static void job_tree_done(struct kb_cluster *cl, struct kb_cl_del_job *job);

static void rdel_node_done(struct kb_cluster *cl, struct rdel *n);

static void rdel_deleted(struct kb_zk *zk, const struct kb_zk_res *r,
			 void *arg)
{
	struct rdel *n = arg;

	if (r->rc != ZOK && r->rc != ZNONODE) {
		kb_warn("ZooKeeper: deleting %s: %s", n->path,
			kb_zk_strerror(r->rc));
		n->job->failed = true;
	}
	rdel_node_done(kb_zk_owner(zk), n);
}

static void rdel_node_done(struct kb_cluster *cl, struct rdel *n)
{
	struct rdel *p = n->parent;
	struct kb_cl_del_job *job = n->job;

	free(n);
	if (!p)
		job_tree_done(cl, job);
	else if (--p->left == 0)
		kb_zk_delete(cl->zk, p->path, -1, rdel_deleted, p);
}

static void rdel_children(struct kb_zk *zk, const struct kb_zk_res *r,
			  void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct rdel *n = arg;
	char path[1100];
	int i;

	if (r->rc == ZNONODE) {
		rdel_node_done(cl, n);
		return;
	}
	if (r->rc != ZOK) {
		n->job->failed = true;
		rdel_node_done(cl, n);
		return;
	}
	if (!r->n_children) {
		kb_zk_delete(zk, n->path, -1, rdel_deleted, n);
		return;
	}
	n->left = r->n_children;
	for (i = 0; i < r->n_children; i++) {
		snprintf(path, sizeof(path), "%s/%.300s", n->path,
			 r->children[i]);
		rdel_start(cl, n->job, n, path);
	}
}

static void rdel_start(struct kb_cluster *cl, struct kb_cl_del_job *job,
		       struct rdel *parent, const char *path)
{
	struct rdel *n = calloc(1, sizeof(*n));

	if (!n) {
		job->failed = true;
		if (!parent)
			job_tree_done(cl, job);
		else if (--parent->left == 0)
			kb_zk_delete(cl->zk, parent->path, -1, rdel_deleted,
				     parent);
		return;
	}
	n->job = job;
	n->parent = parent;
	snprintf(n->path, sizeof(n->path), "%.767s", path);
	kb_zk_children(cl->zk, path, false, rdel_children, n);
}

static void job_free(struct kb_cluster *cl, struct kb_cl_del_job *job)
{
	struct kb_cl_del_job **pp;

	for (pp = &cl->del_jobs; *pp && *pp != job; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = job->next;
	free(job);
}

static void job_marker_deleted(struct kb_zk *zk, const struct kb_zk_res *r,
			       void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cl_del_job *job = arg;

	if (r->rc == ZOK || r->rc == ZNONODE)
		kb_notice("topic %s deleted from the cluster", job->topic);
	else
		kb_warn("ZooKeeper: removing the deletion mark of %s: %s",
			job->topic, kb_zk_strerror(r->rc));
	job_free(cl, job);
}

static void job_config_deleted(struct kb_zk *zk, const struct kb_zk_res *r,
			       void *arg)
{
	struct kb_cl_del_job *job = arg;
	char path[512];

	if (r->rc != ZOK && r->rc != ZNONODE)
		kb_warn("ZooKeeper: deleting the configs of %s: %s",
			job->topic, kb_zk_strerror(r->rc));
	snprintf(path, sizeof(path), "/admin/delete_topics/%s", job->topic);
	kb_zk_delete(zk, path, -1, job_marker_deleted, job);
}

static void job_tree_done(struct kb_cluster *cl, struct kb_cl_del_job *job)
{
	char path[512];

	if (job->failed) {
		/* The mark stays: the next reconcile tries again. */
		kb_warn("topic %s: deletion incomplete, trying again",
			job->topic);
		job_free(cl, job);
		return;
	}
	snprintf(path, sizeof(path), "/config/topics/%s", job->topic);
	kb_zk_delete(cl->zk, path, -1, job_config_deleted, job);
}

static bool job_running(const struct kb_cluster *cl, const char *topic)
{
	const struct kb_cl_del_job *j;

	for (j = cl->del_jobs; j; j = j->next)
		if (!strcmp(j->topic, topic))
			return true;
	return false;
}

void kb_cl_deletes_run(struct kb_cluster *cl)
{
	char path[512];
	size_t i;

	if (!cl->is_controller || cl->controller_epoch <= 0 ||
	    kb_zk_state(cl->zk) != KB_ZK_CONNECTED)
		return;
	for (i = 0; i < cl->n_deletes; i++) {
		struct kb_cl_del_job *job;

		if (job_running(cl, cl->deletes[i]))
			continue;
		job = calloc(1, sizeof(*job));
		if (!job)
			return;
		snprintf(job->topic, sizeof(job->topic), "%s", cl->deletes[i]);
		job->next = cl->del_jobs;
		cl->del_jobs = job;
		kb_info("deleting topic %s from the cluster", job->topic);
		snprintf(path, sizeof(path), "/brokers/topics/%s", job->topic);
		rdel_start(cl, job, NULL, path);
	}
}

bool kb_cl_delete_marked(const struct kb_cluster *cl, const char *name)
{
	size_t i;

	for (i = 0; i < cl->n_deletes; i++)
		if (!strcmp(cl->deletes[i], name))
			return true;
	return false;
}

static void deletes_free(struct kb_cluster *cl)
{
	size_t i;

	for (i = 0; i < cl->n_deletes; i++)
		free(cl->deletes[i]);
	free(cl->deletes);
	cl->deletes = NULL;
	cl->n_deletes = 0;
}

static void deletes_done(struct kb_zk *zk, const struct kb_zk_res *r,
			 void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	size_t i;
	int k;

	if ((unsigned int)(uintptr_t)arg != cl->deletes_gen || r->rc != ZOK)
		return;
	deletes_free(cl);
	cl->deletes = calloc((size_t)r->n_children + 1, sizeof(char *));
	for (k = 0; cl->deletes && k < r->n_children; k++) {
		cl->deletes[cl->n_deletes] = strdup(r->children[k]);
		if (cl->deletes[cl->n_deletes])
			cl->n_deletes++;
	}
	for (i = 0; i < cl->n_topics; i++)
		cl->topics[i]->deleting =
			kb_cl_delete_marked(cl, cl->topics[i]->name);
	kb_cl_deletes_run(cl);
}

void kb_cl_deletes_reload(struct kb_cluster *cl)
{
	cl->deletes_gen++;
	kb_zk_children(cl->zk, "/admin/delete_topics", true, deletes_done,
		       (void *)(uintptr_t)cl->deletes_gen);
}

void kb_cl_ops_free(struct kb_cluster *cl)
{
	struct kb_cl_del_job *j, *jn;

	while (cl->ops)
		op_unlink(cl, cl->ops);
	for (j = cl->del_jobs; j; j = jn) {
		jn = j->next;
		free(j);
	}
	cl->del_jobs = NULL;
	deletes_free(cl);
}
