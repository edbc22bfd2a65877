/* SPDX-License-Identifier: GPL-2.0 */
/* State shared by the cluster layer's files; nothing outside reads it. */
#ifndef KB_CLUSTER_INTERNAL_H
#define KB_CLUSTER_INTERNAL_H

#include "cluster/cluster.h"
#include "cluster/zk.h"

#define KB_CL_MAX_RF 16

/* A partition as ZooKeeper has it: assignment, then the controller's state. */
struct kb_cl_part {
	int32_t n_replicas;
	int32_t replicas[KB_CL_MAX_RF];
	bool has_state;			/* state node read */
	bool no_state;			/* state node known absent */
	bool pending;			/* controller write in flight */
	int32_t leader;			/* -1 = none (offline) */
	int32_t leader_epoch;
	int32_t n_isr;
	int32_t isr[KB_CL_MAX_RF];
	int32_t version;		/* state node's zk version */
	int32_t ctrl_epoch;		/* controller epoch the node carries */
	bool isr_busy;			/* a leader's ISR write in flight */
};

struct kb_cl_topic {
	char name[256];
	uint8_t id[16];
	bool loaded;			/* assignment read */
	bool local;			/* the local log holds it */
	bool listed;			/* in the latest listing */
	bool deleting;			/* in /admin/delete_topics */
	int32_t version;		/* topic node's zk version */
	int32_t n_parts;
	struct kb_cl_part *parts;
};

struct kb_store;
struct kb_cl_isr_op;
struct kb_cl_del_job;

struct kb_cluster {
	struct kb_cluster_opts o;
	char connect[1024];
	char rack[64];
	char ibl[64];
	struct kb_zk *zk;
	char id[32];
	bool encrypted;			/* the cluster's recorded setting */
	bool want_register;		/* listeners are up */
	bool registering;		/* a create is in flight */
	bool registered;		/* our node exists in this session */
	bool fatal;			/* stop the broker */
	int64_t dup_since_ms;		/* our id held by another session */
	int64_t retry_at_ms;		/* next registration attempt, 0 none */
	int64_t next_reconcile_ms;
	/* Live brokers, sorted by id. */
	struct kb_cluster_broker *brokers;
	size_t n_brokers;
	unsigned int list_gen;		/* children listings issued */
	/* Controller. */
	int32_t controller_id;
	int32_t controller_epoch;
	bool is_controller;
	bool electing;			/* a create of /controller in flight */
	/* Topics (topics.c). */
	struct kb_store *store;
	struct kb_cl_topic **topics;
	size_t n_topics;
	unsigned int topics_gen;
	/* ISR writes of this broker as leader in flight (isr.c). */
	struct kb_cl_isr_op *isr_ops;
	/* Admin writes in flight or waiting for the view (admin.c). */
	struct kb_cluster_op *ops;
	/* /admin/delete_topics, and the controller's deletions under way. */
	char **deletes;
	size_t n_deletes;
	unsigned int deletes_gen;
	struct kb_cl_del_job *del_jobs;
	/* Brokers in controlled shutdown (/admin/controlled_shutdown). */
	int32_t *shutting;
	size_t n_shutting;
	unsigned int shutting_gen;
	/* This broker's own controlled shutdown (shutdown.c). */
	int64_t cs_started_ms, cs_next_ms;
	int cs_attempt;
};

enum kb_cl_op_kind { KB_CL_OP_CREATE, KB_CL_OP_DELETE, KB_CL_OP_GROW };

struct kb_cluster_op {
	struct kb_cluster_op *next;
	enum kb_cl_op_kind kind;
	char topic[256];
	int32_t want_parts;		/* partitions that must have leaders */
	bool writing;			/* its ZooKeeper writes in flight */
	bool cancelled;
	char *data1, *data2;		/* node contents still to write */
	int32_t version;		/* GROW: the topic node's version */
	kb_cluster_op_done done;
	void *arg;
};

/* membership.c */
void kb_cl_brokers_reload(struct kb_cluster *cl);
/* topics.c */
void kb_cl_topics_reload(struct kb_cluster *cl);
bool kb_cl_topics_watch(struct kb_cluster *cl, enum kb_zk_watch w,
			const char *path);
/* Reads a leader-and-isr node into @pt; false (untouched) if malformed. */
bool kb_cl_state_parse(struct kb_cl_part *pt, const char *data,
		       int32_t version);
bool kb_cl_broker_live(const struct kb_cluster *cl, int32_t id);
void kb_cl_topics_free(struct kb_cluster *cl);
/* admin.c */
struct kb_cluster_op *kb_cl_op_new(struct kb_cluster *cl,
				   enum kb_cl_op_kind kind, const char *topic,
				   kb_cluster_op_done done, void *arg);
void kb_cl_op_start(struct kb_cluster *cl, struct kb_cluster_op *op);
void kb_cl_ops_check(struct kb_cluster *cl);
void kb_cl_ops_expired(struct kb_cluster *cl);
void kb_cl_ops_free(struct kb_cluster *cl);
void kb_cl_deletes_reload(struct kb_cluster *cl);
void kb_cl_deletes_run(struct kb_cluster *cl);
bool kb_cl_delete_marked(const struct kb_cluster *cl, const char *name);
/* topics.c, for admin.c */
struct kb_cl_topic *kb_cl_topic_find(const struct kb_cluster *cl,
				     const char *name);
/* isr.c */
void kb_cl_isr_expired(struct kb_cluster *cl);
void kb_cl_isr_free(struct kb_cluster *cl);
/* controller.c */
void kb_cl_shutting_reload(struct kb_cluster *cl);
bool kb_cl_shutting(const struct kb_cluster *cl, int32_t id);
int kb_cl_state_json(char *buf, size_t size, int32_t ctrl_epoch,
		     int32_t leader, int32_t epoch, const int32_t *isr,
		     int32_t n_isr);
void kb_cl_reconcile(struct kb_cluster *cl);
void kb_cl_elect(struct kb_cluster *cl);
void kb_cl_controller_lost(struct kb_cluster *cl, const char *why);
void kb_cl_controller_watch(struct kb_cluster *cl, enum kb_zk_watch w);

#endif
