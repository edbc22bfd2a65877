/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbroker as one broker of a cluster coordinated by ZooKeeper, with
 * Kafka's ZooKeeper layout: /cluster/id, /brokers/ids/<id> (ephemeral),
 * /controller (ephemeral, the elected controller) and /controller_epoch.
 *
 * This is the narrow interface the rest of the daemon sees.  Start-up
 * calls kb_cluster_open(), kb_cluster_join() (blocks until ZooKeeper
 * answers and the cluster id is known) and, once the listeners are bound,
 * kb_cluster_register().  The event loop then polls kb_cluster_fd() and
 * calls kb_cluster_on_event() and kb_cluster_tick(); handlers read the
 * live view through the accessors.  Everything runs in the loop thread.
 */
#ifndef KB_CLUSTER_CLUSTER_H
#define KB_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KB_CLUSTER_MAX_EPS 8

struct kb_cluster;
struct kb_store;

struct kb_cluster_endpoint {
	char name[64];			/* listener name */
	char proto[16];			/* SSL or PLAINTEXT */
	char host[256];
	int port;
};

struct kb_cluster_broker {
	int32_t id;
	char rack[64];			/* empty = none */
	int n_eps;
	struct kb_cluster_endpoint eps[KB_CLUSTER_MAX_EPS];
	bool loaded;			/* its node has been read */
};

struct kb_cluster_opts {
	const char *connect;		/* zookeeper.connect */
	int session_timeout_ms;
	int connection_timeout_ms;
	int32_t broker_id;
	const char *rack;		/* broker.rack, "" = none */
	bool encryption_in_cluster;
	const char *inter_broker_listener;
	/* Advertised endpoints, one per listener (set_endpoints). */
	int n_eps;
	struct kb_cluster_endpoint eps[KB_CLUSTER_MAX_EPS];
};

/* @store: the local log, where the cluster's topics are created. */
int kb_cluster_open(const struct kb_cluster_opts *o, struct kb_store *store,
		    struct kb_cluster **out);
void kb_cluster_close(struct kb_cluster *cl);

/*
 * Waits for ZooKeeper (saying so each zookeeper.connection.timeout.ms),
 * then reads the cluster id and its encryption.in.cluster setting, or
 * creates both from @id when this is the first broker.  On return @id
 * holds the cluster's id.  Returns 0, -1 on a refusal (logged), or 1 when
 * @stop_fd became readable (a signal) first.
 */
int kb_cluster_join(struct kb_cluster *cl, int stop_fd, char id[32]);
/* The advertised endpoints, once the listeners are bound. */
void kb_cluster_set_endpoints(struct kb_cluster *cl,
			      const struct kb_cluster_endpoint *eps, int n);
/*
 * Registers this broker (its ephemeral node) and joins the controller
 * election; waits for the registration.  A node of the same broker.id
 * held by another session is waited out for up to one session timeout
 * (a crashed predecessor's), then refused as a duplicate.  Same returns.
 */
int kb_cluster_register(struct kb_cluster *cl, int stop_fd);

/* Event loop side. */
int kb_cluster_fd(const struct kb_cluster *cl);
void kb_cluster_on_event(struct kb_cluster *cl);
/* Timers; returns -1 when the broker must stop (logged why). */
int kb_cluster_tick(struct kb_cluster *cl, int64_t now_ms);

/* The live view, for handlers. */
const char *kb_cluster_id(const struct kb_cluster *cl);
int32_t kb_cluster_controller(const struct kb_cluster *cl);	/* -1 none */
int32_t kb_cluster_controller_epoch(const struct kb_cluster *cl);
bool kb_cluster_is_controller(const struct kb_cluster *cl);
bool kb_cluster_encrypted(const struct kb_cluster *cl);
bool kb_cluster_connected(const struct kb_cluster *cl);
size_t kb_cluster_broker_count(const struct kb_cluster *cl);
/* Live brokers in id order; entries not yet read are skipped. */
const struct kb_cluster_broker *kb_cluster_broker_at(
	const struct kb_cluster *cl, size_t i);
const struct kb_cluster_endpoint *kb_cluster_endpoint(
	const struct kb_cluster_broker *br, const char *listener);

/*
 * Controlled shutdown (SIGTERM): asks the controller, through this
 * broker's ephemeral /admin/controlled_shutdown/<id>, to move the
 * leadership of every partition it leads to another live in-sync replica.
 * Call on the stop signal and then each tick: returns 1 while waiting
 * (up to @max_retries checks @backoff_ms apart), 0 once nothing led here
 * can move (logged: moved, nothing to move to, or the bound passed).
 */
int kb_cluster_shutdown(struct kb_cluster *cl, int64_t now_ms,
			int max_retries, int backoff_ms);

/* kbrokerctl cluster status: human text, or one JSON object. */
void kb_cluster_status(const struct kb_cluster *cl, FILE *f, bool json);
/* The offline and under-replicated partition counts that status shows. */
void kb_cluster_health(const struct kb_cluster *cl, size_t *offline,
		       size_t *under);

/*
 * Topics and partitions, as the controller keeps them in ZooKeeper:
 * /brokers/topics/<t> (assignment, topic id), /config/topics/<t>
 * (overrides) and /brokers/topics/<t>/partitions/<p>/state (leader,
 * leader epoch, ISR).  Every broker keeps a local log of every topic (the
 * store, created as topics appear) and serves the partitions it leads.
 */
struct kb_cluster_partition {
	int32_t leader;			/* -1: none, offline */
	int32_t leader_epoch;
	int32_t n_replicas;
	const int32_t *replicas;
	int32_t n_isr;
	const int32_t *isr;
};

/* Topics whose assignment is known, stable order between changes. */
size_t kb_cluster_topic_count(const struct kb_cluster *cl);
const char *kb_cluster_topic_at(const struct kb_cluster *cl, size_t i,
				const uint8_t **id, int32_t *n_parts);
/* By @name, else by @id; *@id_out gets the topic's id. */
const char *kb_cluster_topic_find(const struct kb_cluster *cl,
				  const char *name, const uint8_t *id,
				  const uint8_t **id_out, int32_t *n_parts);
/* False for an unknown topic or partition. */
bool kb_cluster_partition(const struct kb_cluster *cl, const char *topic,
			  int32_t p, struct kb_cluster_partition *out);
bool kb_cluster_broker_is_live(const struct kb_cluster *cl, int32_t id);
/*
 * For Produce, Fetch and ListOffsets: 0 when this broker leads @p, else a
 * Kafka error code: NOT_LEADER_OR_FOLLOWER (also while it has no leader),
 * FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH when @epoch (-1 = unchecked)
 * is below / above the current one, UNKNOWN_TOPIC_OR_PARTITION.
 */
int16_t kb_cluster_check_leader(const struct kb_cluster *cl,
				const char *topic, int32_t p, int32_t epoch);

/*
 * ISR changes by a partition's leader (the replication layer), written to
 * /brokers/topics/<t>/partitions/<p>/state as Kafka's ZooKeeper-era
 * leaders did: the leader-and-isr node rewritten with the new "isr", the
 * leader, leader epoch and controller epoch kept, conditional on the
 * node version this broker last read.
 *
 * @done runs later in the loop thread, exactly once, with 0 and the
 * partition as ZooKeeper now has it, or a Kafka error code:
 * FENCED_LEADER_EPOCH when the node's leader or leader epoch moved on
 * (this broker no longer leads at @leader_epoch: stop acting as leader),
 * INVALID_UPDATE_VERSION when another write changed the ISR meanwhile
 * (the view is re-read; decide again from it), UNKNOWN_TOPIC_OR_PARTITION
 * when the node is gone, REQUEST_TIMED_OUT when ZooKeeper did not answer
 * or the session expired.  @now is NULL when the state is unknown; its
 * arrays are valid during the call only.
 *
 * Returns 0 when the write was sent (@done will run), else a Kafka error
 * code and @done never runs: NOT_LEADER_OR_FOLLOWER (this broker does not
 * lead @partition), FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH (@epoch
 * below / above the current one), UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_REQUEST (@isr empty, without the leader, naming a broker that
 * is not a replica or one twice), OPERATION_NOT_ATTEMPTED (a write of
 * this partition is in flight: try again from its @done),
 * REQUEST_TIMED_OUT (no ZooKeeper session now).
 */
typedef void (*kb_cluster_isr_done)(void *arg, int16_t err,
				    const struct kb_cluster_partition *now);

int kb_cluster_isr_update(struct kb_cluster *cl, const char *topic,
			  int32_t partition, int32_t leader_epoch,
			  const int32_t *isr, int n_isr,
			  kb_cluster_isr_done done, void *arg);

struct kb_cluster_new_topic {
	const char *name;
	int32_t n_parts;		/* -1: num.partitions, given by caller */
	int16_t rf;			/* -1: default.replication.factor */
	const int32_t *assign;		/* n_parts x assign_rf, or NULL */
	int32_t assign_rf;
	const char *const *cfg_keys;
	const char *const *cfg_vals;
	size_t n_cfg;
	bool validate_only;
	uint8_t id[16];			/* out: the new topic's id */
};

/*
 * Admin writes to ZooKeeper (CreateTopics, DeleteTopics, CreatePartitions)
 * never block the loop: each checks what it can at once, then sends its
 * writes and returns a pending operation whose @done runs later in the
 * loop thread, exactly once (unless cancelled), with 0 or a Kafka error
 * code and a reason.  A request that stops waiting (its timeout passed,
 * its connection closed) cancels the operation: the writes go on, @done
 * is not called.
 */
struct kb_cluster_op;
typedef void (*kb_cluster_op_done)(void *arg, int16_t err, const char *why);
void kb_cluster_op_cancel(struct kb_cluster *cl, struct kb_cluster_op *op);

/*
 * Creates a topic in ZooKeeper, as Kafka's admin path does: the replicas
 * are assigned here (rack-aware, spread evenly) unless given, the
 * controller elects the leaders.  Returns a Kafka error code with *@why
 * (and *@op NULL), or 0: done for validate_only (*@op NULL), else pending
 * (*@op set); @done then runs once the topic is written and, with
 * @wait_leaders, once every partition has a leader in this broker's view.
 */
int16_t kb_cluster_create_topic(struct kb_cluster *cl,
				struct kb_cluster_new_topic *t,
				const char **why, bool wait_leaders,
				kb_cluster_op_done done, void *arg,
				struct kb_cluster_op **op);

/*
 * Marks @topic for deletion (/admin/delete_topics/<topic>); the controller
 * removes it from ZooKeeper and every broker deletes its local log.
 * @done runs once the topic is gone from this broker's view.  Returns as
 * kb_cluster_create_topic() does (UNKNOWN_TOPIC_OR_PARTITION for a topic
 * the cluster does not have).
 */
int16_t kb_cluster_delete_topic(struct kb_cluster *cl, const char *topic,
				const char **why, kb_cluster_op_done done,
				void *arg, struct kb_cluster_op **op);

/*
 * Grows @topic to @count partitions: the new partitions' replicas are
 * assigned rack-aware with the topic's replication factor (or taken from
 * @assign, (@count - current) x replication factor), written to
 * /brokers/topics/<topic>; the controller elects their leaders.  @done
 * runs once they have leaders in this broker's view.  Returns as
 * kb_cluster_create_topic() does.
 */
int16_t kb_cluster_create_partitions(struct kb_cluster *cl,
				     const char *topic, int32_t count,
				     const int32_t *assign, int32_t n_assign,
				     int32_t assign_rf, bool validate_only,
				     const char **why, kb_cluster_op_done done,
				     void *arg, struct kb_cluster_op **op);

#endif
