// SPDX-License-Identifier: GPL-2.0
/* Loop side: requests, topics, groups and the cluster. */
#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"
#include "handlers/api.h"
#include "group/group.h"
#include "net/loop.h"
#include "metrics/internal.h"
#include "store/store.h"

void kb_mc_requests(struct kb_loop *l, struct kb_expo *e)
{
	double bound[KB_REQ_BUCKETS];
	struct kb_labels lb;
	int a, v;

	if (!l->req_stats)
		return;
	for (a = 0; a < KB_REQ_BUCKETS; a++)
		bound[a] = (double)kb_req_bucket_ns[a] / 1e9;
	kb_expo_family(e, "kbroker_requests_total", KB_MT_COUNTER,
		       "Kafka requests answered, by API and version (versions above 15 are counted as 15).");
	for (a = 0; a < KB_API_COUNT; a++)
		for (v = 0; v < KB_REQ_VERSIONS; v++) {
			if (!l->req_stats[a].count[v])
				continue;
			kb_labels_init(&lb);
			kb_labels_add(&lb, "api", kb_apis[a].name);
			kb_labels_addu(&lb, "version", (uint64_t)v);
			kb_expo_u64(e, "kbroker_requests_total", &lb,
				    l->req_stats[a].count[v]);
		}
	kb_expo_family(e, "kbroker_request_duration_seconds", KB_MT_HISTOGRAM,
		       "Time from a request's arrival to its response being queued, a Fetch's wait for data included.");
	for (a = 0; a < KB_API_COUNT; a++) {
		const struct kb_req_stats *st = &l->req_stats[a];
		uint64_t n = 0;

		for (v = 0; v <= KB_REQ_BUCKETS; v++)
			n += st->bucket[v];
		if (!n)
			continue;
		kb_labels_init(&lb);
		kb_labels_add(&lb, "api", kb_apis[a].name);
		kb_expo_histogram(e, "kbroker_request_duration_seconds", &lb,
				  bound, st->bucket, KB_REQ_BUCKETS,
				  (double)st->sum_ns / 1e9);
	}
}

struct topic_sum {
	struct kb_part_stats st;
	uint64_t size;
	int32_t parts;
};

enum { F_MSGS_IN, F_BYTES_IN, F_MSGS_OUT, F_BYTES_OUT, F_PARTS, F_SIZE, F_N };

static const struct {
	const char *name;
	enum kb_expo_type type;
	const char *help;
} topic_family[F_N] = {
	[F_MSGS_IN] = { "kbroker_topic_messages_in_total", KB_MT_COUNTER,
			"Records appended to the topic's partitions (retried duplicates not counted)." },
	[F_BYTES_IN] = { "kbroker_topic_bytes_in_total", KB_MT_COUNTER,
			 "Record batch bytes appended to the topic's partitions." },
	[F_MSGS_OUT] = { "kbroker_topic_messages_out_total", KB_MT_COUNTER,
			 "Offsets delivered by Fetch past each fetch offset." },
	[F_BYTES_OUT] = { "kbroker_topic_bytes_out_total", KB_MT_COUNTER,
			  "Record batch bytes sent by Fetch." },
	[F_PARTS] = { "kbroker_topic_partitions", KB_MT_GAUGE,
		      "Partitions of the topic." },
	[F_SIZE] = { "kbroker_topic_log_size_bytes", KB_MT_GAUGE,
		     "Bytes of all segments of the topic's partitions." },
};

static uint64_t field(const struct topic_sum *t, int f)
{
	switch (f) {
	case F_MSGS_IN:
		return t->st.msgs_in;
	case F_BYTES_IN:
		return t->st.bytes_in;
	case F_MSGS_OUT:
		return t->st.msgs_out;
	case F_BYTES_OUT:
		return t->st.bytes_out;
	case F_PARTS:
		return (uint64_t)t->parts;
	}
	return t->size;
}

uint64_t kb_mc_topics(struct kb_loop *l, struct kb_expo *e)
{
	struct kb_store *s = l->b->store;
	size_t n = s ? kb_store_topic_count(s) : 0, shown, i;
	static struct topic_sum sums[KB_METRICS_MAX_TOPICS];
	uint64_t parts = 0;
	struct kb_labels lb;
	int32_t k;
	int f;

	shown = n < KB_METRICS_MAX_TOPICS ? n : KB_METRICS_MAX_TOPICS;
	for (i = 0; i < shown; i++) {
		const struct kb_topic *t = kb_store_topic_at(s, i);
		struct topic_sum *ts = &sums[i];

		memset(ts, 0, sizeof(*ts));
		for (k = 0; k < t->n_partitions; k++) {
			struct kb_partition *p =
				kb_store_partition(s, t->name, k);
			const struct kb_part_stats *ps;

			if (!p)
				continue;
			ps = kb_partition_stats(p);
			ts->st.msgs_in += ps->msgs_in;
			ts->st.bytes_in += ps->bytes_in;
			ts->st.msgs_out += ps->msgs_out;
			ts->st.bytes_out += ps->bytes_out;
			ts->size += kb_partition_size(p);
			ts->parts++;
		}
	}
	for (i = 0; i < n; i++)
		parts += (uint64_t)kb_store_topic_at(s, i)->n_partitions;
	kb_expo_one(e, "kbroker_topics", KB_MT_GAUGE, "Topics on this broker.",
		    (double)n);
	kb_expo_one(e, "kbroker_partitions", KB_MT_GAUGE,
		    "Partitions on this broker, all topics.", (double)parts);
	for (f = 0; f < F_N; f++) {
		kb_expo_family(e, topic_family[f].name, topic_family[f].type,
			       topic_family[f].help);
		for (i = 0; i < shown; i++) {
			kb_labels_init(&lb);
			kb_labels_add(&lb, "topic",
				      kb_store_topic_at(s, i)->name);
			kb_expo_u64(e, topic_family[f].name, &lb,
				    field(&sums[i], f));
		}
	}
	return (uint64_t)(n - shown) * F_N;
}

uint64_t kb_mc_groups(struct kb_loop *l, struct kb_expo *e)
{
	static const enum kb_group_state states[] = { KB_GS_EMPTY,
		KB_GS_PREPARING, KB_GS_COMPLETING, KB_GS_STABLE, KB_GS_DEAD };
	struct kb_groups *gs = kb_groups_get(l->b);
	uint64_t by_state[5] = { 0 }, dropped = 0, series = 0;
	struct kb_labels lb;
	struct kb_group *g;
	size_t i, n = 0;

	for (g = gs ? gs->head : NULL; g; g = g->next)
		if ((unsigned int)g->state < 5)
			by_state[g->state]++;
	kb_expo_family(e, "kbroker_groups", KB_MT_GAUGE,
		       "Consumer groups this broker coordinates, by state.");
	for (i = 0; i < 5; i++) {
		kb_labels_init(&lb);
		kb_labels_add(&lb, "state", kb_group_state_name(states[i]));
		kb_expo_u64(e, "kbroker_groups", &lb, by_state[states[i]]);
	}
	kb_expo_family(e, "kbroker_group_members", KB_MT_GAUGE,
		       "Members of each consumer group.");
	for (g = gs ? gs->head : NULL; g; g = g->next) {
		if (n++ >= KB_METRICS_MAX_TOPICS) {
			dropped++;
			continue;
		}
		kb_labels_init(&lb);
		kb_labels_add(&lb, "group", g->id);
		kb_expo_u64(e, "kbroker_group_members", &lb,
			    (uint64_t)g->n_members);
	}
	kb_expo_family(e, "kbroker_consumer_lag_messages", KB_MT_GAUGE,
		       "Offsets between a group's committed offset and the partition's high watermark.");
	for (g = gs ? gs->head : NULL; g; g = g->next)
		for (i = 0; i < g->n_offs; i++) {
			const struct kb_offset *o = &g->offs[i];
			struct kb_partition *p;
			int64_t lag;

			p = kb_store_partition(l->b->store, o->topic,
					       o->partition);
			if (!p || o->offset < 0)
				continue;
			if (series++ >= KB_METRICS_MAX_LAG_SERIES) {
				dropped++;
				continue;
			}
			lag = kb_partition_high_watermark(p) - o->offset;
			kb_labels_init(&lb);
			kb_labels_add(&lb, "group", g->id);
			kb_labels_add(&lb, "topic", o->topic);
			kb_labels_addu(&lb, "partition",
				       (uint64_t)o->partition);
			kb_expo_i64(e, "kbroker_consumer_lag_messages", &lb,
				    lag > 0 ? lag : 0);
		}
	return dropped;
}

/*
 * Cluster health, read from the cluster layer when there is one (the same
 * counts as kbrokerctl cluster status); a standalone broker reports what
 * holds for one broker alone.  The names stay the same either way.
 */
void kb_mc_cluster(struct kb_loop *l, struct kb_expo *e)
{
	static const char *const zk_states[] = { "connected", "connecting",
		"expired", "closed" };
	const struct kb_cluster *cl = l->b->cluster;
	int32_t me = l->b->cfg->broker_id;
	int32_t ctl = cl ? kb_cluster_controller(cl) : me;
	size_t off = 0, under = 0, i;
	const char *zk;
	struct kb_labels lb;

	if (cl)
		kb_cluster_health(cl, &off, &under);
	kb_expo_one(e, "kbroker_under_replicated_partitions", KB_MT_GAUGE,
		    "Partitions whose in-sync replica set is smaller than their replica set, in this broker's view of the cluster.",
		    (double)under);
	kb_expo_one(e, "kbroker_offline_partitions", KB_MT_GAUGE,
		    "Partitions without a live leader, in this broker's view of the cluster.",
		    (double)off);
	/* No replication yet: an ISR never shrinks or grows. */
	kb_expo_one(e, "kbroker_isr_shrinks_total", KB_MT_COUNTER,
		    "Times an in-sync replica set led here shrank.", 0);
	kb_expo_one(e, "kbroker_isr_expands_total", KB_MT_COUNTER,
		    "Times an in-sync replica set led here grew.", 0);
	kb_expo_one(e, "kbroker_controller_active", KB_MT_GAUGE,
		    "1 when this broker is the cluster's controller (a single broker always is).",
		    ctl == me);
	kb_expo_one(e, "kbroker_controller_id", KB_MT_GAUGE,
		    "broker.id of the controller this broker knows, -1 when none.",
		    ctl);
	if (!cl)
		return;
	zk = kb_cluster_connected(cl) ? "connected" : "connecting";
	kb_expo_family(e, "kbroker_zookeeper_session_state", KB_MT_GAUGE,
		       "The ZooKeeper session as a state set.");
	for (i = 0; i < sizeof(zk_states) / sizeof(zk_states[0]); i++) {
		kb_labels_init(&lb);
		kb_labels_add(&lb, "state", zk_states[i]);
		kb_expo_u64(e, "kbroker_zookeeper_session_state", &lb,
			    !strcmp(zk, zk_states[i]));
	}
}
