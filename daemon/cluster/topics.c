// SPDX-License-Identifier: GPL-2.0
/*
 * Topics of the cluster: created in ZooKeeper with a replica assignment,
 * learnt by every broker through watches, and made in the local log as
 * they appear.  The controller's side (leaders, ISR) is in controller.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zookeeper/zookeeper.h>

#include "cluster/internal.h"
#include "cluster/json.h"
#include "common/log.h"
#include "store/store.h"

/* Kafka error codes answered from here. */
enum {
	E_UNKNOWN_TOPIC_OR_PARTITION = 3,
	E_NOT_LEADER_OR_FOLLOWER = 6,
	E_REQUEST_TIMED_OUT = 7,
	E_TOPIC_ALREADY_EXISTS = 36,
	E_INVALID_PARTITIONS = 37,
	E_INVALID_REPLICATION_FACTOR = 38,
	E_INVALID_REPLICA_ASSIGNMENT = 39,
	E_INVALID_CONFIG = 40,
	E_FENCED_LEADER_EPOCH = 74,
	E_UNKNOWN_LEADER_EPOCH = 76,
};

#define MAX_PARTS 10000

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Kafka's Uuid text: URL-safe base64 of the 16 bytes, unpadded. */
static void uuid_text(const uint8_t id[16], char out[23])
{
	int i, o = 0;

	for (i = 0; i < 16; i += 3) {
		uint32_t v = (uint32_t)id[i] << 16;

		if (i + 1 < 16)
			v |= (uint32_t)id[i + 1] << 8;
		if (i + 2 < 16)
			v |= id[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		if (i + 1 < 16)
			out[o++] = b64url[v >> 6 & 63];
		if (i + 2 < 16)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
}

static bool uuid_parse(const char *s, uint8_t id[16])
{
	uint32_t acc = 0;
	int bits = 0, n = 0;

	if (strlen(s) != 22)
		return false;
	for (; *s; s++) {
		const char *p = strchr(b64url, *s);

		if (!p)
			return false;
		acc = acc << 6 | (uint32_t)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < 16)
				id[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n == 16;
}

struct kb_cl_topic *kb_cl_topic_find(const struct kb_cluster *cl,
				     const char *name)
{
	size_t i;

	for (i = 0; i < cl->n_topics; i++)
		if (!strcmp(cl->topics[i]->name, name))
			return cl->topics[i];
	return NULL;
}

bool kb_cl_broker_live(const struct kb_cluster *cl, int32_t id)
{
	size_t i;

	for (i = 0; i < cl->n_brokers; i++)
		if (cl->brokers[i].id == id)
			return true;
	return false;
}

bool kb_cluster_broker_is_live(const struct kb_cluster *cl, int32_t id)
{
	return kb_cl_broker_live(cl, id);
}

/*
 * Kafka's assignment: brokers in an order that alternates racks, the first
 * replica of partition p on broker (start + p), the others shifted so
 * that followers spread too.  With racks balanced, a partition's replicas
 * land on distinct racks.
 */
static int rack_order(const struct kb_cluster *cl, int32_t *out)
{
	const struct kb_cluster_broker *by[256];
	bool used[256] = { false };
	int n = 0, k = 0, i;

	for (size_t j = 0; j < cl->n_brokers && n < 256; j++)
		by[n++] = &cl->brokers[j];
	/* Round-robin over racks, in order of first appearance. */
	while (k < n) {
		char seen[256][64];
		int ns = 0;

		for (i = 0; i < n; i++) {
			bool dup = false;
			int s;

			if (used[i])
				continue;
			for (s = 0; s < ns; s++)
				if (!strcmp(seen[s], by[i]->rack))
					dup = true;
			if (dup)
				continue;
			snprintf(seen[ns++], sizeof(seen[0]), "%s", by[i]->rack);
			used[i] = true;
			out[k++] = by[i]->id;
		}
	}
	return n;
}

/* @first_p: the number of the first partition assigned (CreatePartitions
 * goes on where the topic's assignment ends); @lead0: the broker that
 * leads partition 0, -1 for a random start. */
static int assign(const struct kb_cluster *cl, int32_t first_p, int32_t np,
		  int32_t rf, int32_t lead0, int32_t *out)
{
	int32_t order[256], start, shift;
	uint32_t r = 0;
	int n = rack_order(cl, order), p, j;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)np;
	start = (int32_t)(r % (uint32_t)n);
	shift = (int32_t)((r >> 8) % (uint32_t)n);
	for (j = 0; lead0 >= 0 && j < n; j++)
		if (order[j] == lead0)
			start = j;
	for (p = first_p; p < first_p + np; p++) {
		int32_t first = (start + p) % n;

		if (p > 0 && p % n == 0)
			shift++;
		out[(p - first_p) * rf] = order[first];
		for (j = 1; j < rf; j++) {
			int32_t off = 1 + (shift + j - 1) % (n - 1);

			out[(p - first_p) * rf + j] = order[(first + off) % n];
		}
	}
	return 0;
}

static int16_t check_assignment(const struct kb_cluster *cl,
				const int32_t *assign, int32_t n_parts,
				int32_t rf, const char **why)
{
	int32_t p, j, k;

	if (rf < 1 || rf > KB_CL_MAX_RF) {
		*why = "each partition needs 1 to 16 replicas, the same number for all";
		return E_INVALID_REPLICA_ASSIGNMENT;
	}
	for (p = 0; p < n_parts; p++) {
		const int32_t *r = &assign[p * rf];

		for (j = 0; j < rf; j++) {
			if (!kb_cl_broker_live(cl, r[j])) {
				*why = "a replica names a broker that is not live in the cluster";
				return E_INVALID_REPLICA_ASSIGNMENT;
			}
			for (k = 0; k < j; k++) {
				if (r[k] == r[j]) {
					*why = "a partition names the same broker twice";
					return E_INVALID_REPLICA_ASSIGNMENT;
				}
			}
		}
	}
	return 0;
}

/* Appends text to a growing buffer; false when it does not fit. */
struct sbuf {
	char *p;
	size_t n, cap;
};

static bool sb_add(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	for (;;) {
		va_start(ap, fmt);
		w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (w < 0)
			return false;
		if ((size_t)w < b->cap - b->n) {
			b->n += (size_t)w;
			return true;
		}
		size_t cap = b->cap * 2 + (size_t)w;
		char *np = realloc(b->p, cap);

		if (!np)
			return false;
		b->p = np;
		b->cap = cap;
	}
}

static bool sb_quote(struct sbuf *b, const char *s)
{
	char q[600];

	if (kb_json_quote(q, sizeof(q), s) < 0)
		return false;
	return sb_add(b, "%s", q);
}

int16_t kb_cluster_create_topic(struct kb_cluster *cl,
				struct kb_cluster_new_topic *t,
				const char **why, bool wait_leaders,
				kb_cluster_op_done done, void *arg,
				struct kb_cluster_op **opp)
{
	struct sbuf js = { 0 }, cfg = { 0 };
	int32_t rf = t->rf, *asg = NULL, p, j;
	struct kb_cluster_op *op;
	char idtxt[23];
	uint8_t id[16];
	int16_t err = 0;
	size_t i;

	*why = NULL;
	*opp = NULL;
	if (kb_zk_state(cl->zk) != KB_ZK_CONNECTED || !cl->registered) {
		*why = "ZooKeeper is not reachable from this broker";
		return E_REQUEST_TIMED_OUT;
	}
	if (kb_cl_topic_find(cl, t->name)) {
		*why = kb_cl_delete_marked(cl, t->name) ?
		       "topic is being deleted" : "topic already exists";
		return E_TOPIC_ALREADY_EXISTS;
	}
	if (t->n_parts < 1 || t->n_parts > MAX_PARTS) {
		*why = "invalid number of partitions";
		return E_INVALID_PARTITIONS;
	}
	if (t->assign) {
		err = check_assignment(cl, t->assign, t->n_parts,
				       t->assign_rf, why);
		if (err)
			return err;
		rf = t->assign_rf;
	} else if (rf < 1 || rf > KB_CL_MAX_RF ||
		   (size_t)rf > cl->n_brokers) {
		static char msg[160];

		snprintf(msg, sizeof(msg),
			 "replication factor %d: there are %zu live brokers",
			 rf, cl->n_brokers);
		*why = msg;
		return E_INVALID_REPLICATION_FACTOR;
	}
	for (i = 0; i < t->n_cfg; i++) {
		if (kb_topic_cfg_check(t->cfg_keys[i], t->cfg_vals[i], why))
			return E_INVALID_CONFIG;
	}
	if (t->validate_only)
		return 0;

	asg = calloc((size_t)t->n_parts * (size_t)rf, sizeof(*asg));
	if (!asg) {
		*why = "out of memory";
		return E_REQUEST_TIMED_OUT;
	}
	if (t->assign)
		memcpy(asg, t->assign, (size_t)t->n_parts * (size_t)rf *
		       sizeof(*asg));
	else
		assign(cl, 0, t->n_parts, rf, -1, asg);
	if (getrandom(id, sizeof(id), 0) != sizeof(id)) {
		*why = "no random topic id";
		err = E_REQUEST_TIMED_OUT;
		goto out;
	}
	id[6] = (id[6] & 0x0f) | 0x40;
	id[8] = (id[8] & 0x3f) | 0x80;
	uuid_text(id, idtxt);
	memcpy(t->id, id, 16);

	bool ok = sb_add(&cfg, "{\"version\":1,\"config\":{");

	for (i = 0; ok && i < t->n_cfg; i++)
		ok = (!i || sb_add(&cfg, ",")) && sb_quote(&cfg, t->cfg_keys[i]) &&
		     sb_add(&cfg, ":") && sb_quote(&cfg, t->cfg_vals[i]);
	ok = ok && sb_add(&cfg, "}}");
	ok = ok && sb_add(&js, "{\"version\":2,\"partitions\":{");
	for (p = 0; ok && p < t->n_parts; p++) {
		ok = sb_add(&js, "%s\"%d\":[", p ? "," : "", p);
		for (j = 0; ok && j < rf; j++)
			ok = sb_add(&js, "%s%d", j ? "," : "", asg[p * rf + j]);
		ok = ok && sb_add(&js, "]");
	}
	ok = ok && sb_add(&js, "},\"topic_id\":\"%s\",\"adding_replicas\":{},\"removing_replicas\":{}}",
			  idtxt);
	op = ok ? kb_cl_op_new(cl, KB_CL_OP_CREATE, t->name, done, arg) : NULL;
	if (!op) {
		*why = "out of memory";
		err = E_REQUEST_TIMED_OUT;
		goto out;
	}
	op->data1 = cfg.p;
	op->data2 = js.p;
	cfg.p = js.p = NULL;
	op->want_parts = wait_leaders ? t->n_parts : 0;
	kb_dbg("creating topic %s: %d partition(s), replication factor %d, id %s",
	       t->name, t->n_parts, rf, idtxt);
	kb_cl_op_start(cl, op);
	*opp = op;
out:
	free(js.p);
	free(cfg.p);
	free(asg);
	return err;
}

int16_t kb_cluster_delete_topic(struct kb_cluster *cl, const char *topic,
				const char **why, kb_cluster_op_done done,
				void *arg, struct kb_cluster_op **opp)
{
	struct kb_cl_topic *t = kb_cl_topic_find(cl, topic);

	*why = NULL;
	*opp = NULL;
	if (kb_zk_state(cl->zk) != KB_ZK_CONNECTED || !cl->registered) {
		*why = "ZooKeeper is not reachable from this broker";
		return E_REQUEST_TIMED_OUT;
	}
	if (!t || !t->loaded) {
		*why = "unknown topic";
		return E_UNKNOWN_TOPIC_OR_PARTITION;
	}
	*opp = kb_cl_op_new(cl, KB_CL_OP_DELETE, topic, done, arg);
	if (!*opp) {
		*why = "out of memory";
		return E_REQUEST_TIMED_OUT;
	}
	kb_cl_op_start(cl, *opp);
	return 0;
}

int16_t kb_cluster_create_partitions(struct kb_cluster *cl,
				     const char *topic, int32_t count,
				     const int32_t *assign_in, int32_t n_assign,
				     int32_t assign_rf, bool validate_only,
				     const char **why, kb_cluster_op_done done,
				     void *arg, struct kb_cluster_op **opp)
{
	struct kb_cl_topic *t = kb_cl_topic_find(cl, topic);
	struct sbuf js = { 0 };
	struct kb_cluster_op *op;
	int32_t *asg = NULL, rf, add, p, j;
	char idtxt[23];
	int16_t err = 0;
	bool ok;

	*why = NULL;
	*opp = NULL;
	if (kb_zk_state(cl->zk) != KB_ZK_CONNECTED || !cl->registered) {
		*why = "ZooKeeper is not reachable from this broker";
		return E_REQUEST_TIMED_OUT;
	}
	if (!t || !t->loaded || t->deleting) {
		*why = t ? "topic is being deleted" : "unknown topic";
		return E_UNKNOWN_TOPIC_OR_PARTITION;
	}
	rf = t->parts[0].n_replicas;
	add = count - t->n_parts;
	if (rf < 1) {
		*why = "the topic's assignment cannot be read";
		return E_INVALID_REPLICA_ASSIGNMENT;
	}
	if (count <= t->n_parts || count > MAX_PARTS) {
		static char msg[200];

		snprintf(msg, sizeof(msg),
			 "topic %.60s has %d partitions: the new count must be more, at most %d",
			 topic, t->n_parts, MAX_PARTS);
		*why = msg;
		return E_INVALID_PARTITIONS;
	}
	if (assign_in) {
		if (n_assign != add || assign_rf != rf) {
			*why = "the assignment must give each new partition as many replicas as the topic has";
			return E_INVALID_REPLICA_ASSIGNMENT;
		}
		err = check_assignment(cl, assign_in, add, rf, why);
		if (err)
			return err;
	} else if ((size_t)rf > cl->n_brokers) {
		static char msg[160];

		snprintf(msg, sizeof(msg),
			 "replication factor %d: there are %zu live brokers",
			 rf, cl->n_brokers);
		*why = msg;
		return E_INVALID_REPLICATION_FACTOR;
	}
	if (validate_only)
		return 0;
	asg = calloc((size_t)add * (size_t)rf, sizeof(*asg));
	if (!asg) {
		*why = "out of memory";
		return E_REQUEST_TIMED_OUT;
	}
	if (assign_in)
		memcpy(asg, assign_in, (size_t)add * (size_t)rf * sizeof(*asg));
	else
		assign(cl, t->n_parts, add, rf, t->parts[0].replicas[0], asg);
	uuid_text(t->id, idtxt);
	ok = sb_add(&js, "{\"version\":2,\"partitions\":{");
	for (p = 0; ok && p < count; p++) {
		const int32_t *r = p < t->n_parts ? t->parts[p].replicas :
				   &asg[(p - t->n_parts) * rf];
		int32_t n = p < t->n_parts ? t->parts[p].n_replicas : rf;

		ok = sb_add(&js, "%s\"%d\":[", p ? "," : "", p);
		for (j = 0; ok && j < n; j++)
			ok = sb_add(&js, "%s%d", j ? "," : "", r[j]);
		ok = ok && sb_add(&js, "]");
	}
	ok = ok && sb_add(&js, "},\"topic_id\":\"%s\",\"adding_replicas\":{},\"removing_replicas\":{}}",
			  idtxt);
	op = ok ? kb_cl_op_new(cl, KB_CL_OP_GROW, topic, done, arg) : NULL;
	if (!op) {
		*why = "out of memory";
		err = E_REQUEST_TIMED_OUT;
		goto out;
	}
	op->data1 = js.p;
	js.p = NULL;
	op->want_parts = count;
	op->version = t->version;
	kb_cl_op_start(cl, op);
	*opp = op;
out:
	free(js.p);
	free(asg);
	return err;
}

/* Watching and loading. */

static void state_get(struct kb_cluster *cl, struct kb_cl_topic *t,
		      int32_t p);

static bool int_list(const char *v, int32_t *out, int32_t *n)
{
	char buf[24];

	*n = 0;
	if (!v)
		return false;
	while ((v = kb_json_next(v, buf, sizeof(buf)))) {
		char *end;
		long x = strtol(buf, &end, 10);

		if (*end || x < 0 || x > INT32_MAX || *n >= KB_CL_MAX_RF)
			return false;
		out[(*n)++] = (int32_t)x;
	}
	return true;
}

/* The local log learns the partition's leader epoch, which appends on
 * this broker stamp into their batches while it leads. */
static void local_epoch(struct kb_cluster *cl, struct kb_cl_topic *t,
			int32_t p)
{
	struct kb_partition *lp;

	if (!t->local || !t->parts[p].has_state || t->parts[p].leader < 0)
		return;
	lp = kb_store_partition(cl->store, t->name, p);
	if (lp)
		kb_partition_set_leader_epoch(lp, t->parts[p].leader_epoch);
}

/* Makes the topic in the local log with its configs and id. */
static void cfg_done(struct kb_zk *zk, const struct kb_zk_res *r, void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cl_topic *t = kb_cl_topic_find(cl, arg);
	struct kb_cfg_op ops[64];
	char keys[64][64], vals[64][256];
	const char *why = NULL, *v, *p;
	size_t n = 0;
	int err;

	free(arg);
	if (!t || t->local)
		return;
	v = r->rc == ZOK && r->data ? kb_json_find(r->data, "config") : NULL;
	/* The config object: "key":"value" pairs. */
	if (v && *v == '{') {
		p = v + 1;
		while (n < 64) {
			const char *k = strchr(p, '"'), *ke, *vs, *ve;

			if (!k)
				break;
			ke = strchr(k + 1, '"');
			if (!ke)
				break;
			vs = strchr(ke + 1, '"');
			if (!vs || strchr(ke + 1, '}') < vs)
				break;
			ve = strchr(vs + 1, '"');
			if (!ve || ke - k - 1 >= 64 || ve - vs - 1 >= 256)
				break;
			snprintf(keys[n], sizeof(keys[n]), "%.*s",
				 (int)(ke - k - 1), k + 1);
			snprintf(vals[n], sizeof(vals[n]), "%.*s",
				 (int)(ve - vs - 1), vs + 1);
			ops[n].key = keys[n];
			ops[n].value = vals[n];
			n++;
			p = ve + 1;
		}
	}
	const struct kb_topic *lt = kb_store_topic_find(cl->store, t->name);

	if (lt) {
		/* Grown in the cluster while this broker was away. */
		err = lt->n_partitions < t->n_parts ?
		      kb_store_topic_grow(cl->store, t->name, t->n_parts) :
		      KB_ERR_NONE;
	} else {
		err = kb_store_topic_create_cfg(cl->store, t->name, t->n_parts,
						ops, n, false, &why);
		if (err == KB_ERR_INVALID_CONFIG)
			/* Another broker's key this one lacks: defaults. */
			err = kb_store_topic_create_cfg(cl->store, t->name,
							t->n_parts, NULL, 0,
							false, &why);
	}
	if (!err)
		err = kb_store_topic_set_id(cl->store, t->name, t->id);
	if (err) {
		kb_err("cluster topic %s: cannot make it in the local log: %s",
		       t->name, err < 0 ? strerror(-err) : why ? why : "error");
		return;
	}
	t->local = true;
	for (int32_t i = 0; i < t->n_parts; i++)
		local_epoch(cl, t, i);
}

/* The topic node: its assignment, first read or grown (CreatePartitions). */
static void topic_data_done(struct kb_zk *zk, const struct kb_zk_res *r,
			    void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct kb_cl_topic *t = kb_cl_topic_find(cl, arg);
	struct kb_cl_part *np;
	const char *parts;
	char idtxt[32], path[512];
	uint8_t id[16];
	int32_t p, n = 0, old;

	if (!t || r->rc != ZOK || !r->data) {
		free(arg);
		return;
	}
	parts = kb_json_find(r->data, "partitions");
	if (!kb_json_str(r->data, "topic_id", idtxt, sizeof(idtxt)) ||
	    !uuid_parse(idtxt, id) || !parts || *parts != '{' ||
	    (t->loaded && memcmp(id, t->id, 16))) {
		kb_log_once(KB_LOG_WARN, "ZooKeeper: topic %s cannot be read: '%.200s'",
			    t->name, r->data);
		free(arg);
		return;
	}
	/* Partitions are numbered 0..n-1: count them, then read each. */
	for (;; n++) {
		char key[16];

		snprintf(key, sizeof(key), "%d", n);
		if (!kb_json_find(parts, key) || n >= MAX_PARTS)
			break;
	}
	t->version = r->version;
	old = t->loaded ? t->n_parts : 0;
	if (n <= old) {
		free(arg);	/* partitions are never taken away */
		return;
	}
	np = realloc(t->parts, (size_t)n * sizeof(*t->parts));
	if (!np) {
		free(arg);
		return;
	}
	t->parts = np;
	memset(&np[old], 0, (size_t)(n - old) * sizeof(*np));
	for (p = old; p < n; p++) {
		char key[16];

		snprintf(key, sizeof(key), "%d", p);
		int_list(kb_json_find(parts, key), t->parts[p].replicas,
			 &t->parts[p].n_replicas);
		t->parts[p].leader = -1;
		t->parts[p].version = -1;
	}
	memcpy(t->id, id, 16);
	t->n_parts = n;
	if (old && t->local) {
		int err = kb_store_topic_grow(cl->store, t->name, n);

		if (err)
			kb_err("cluster topic %s: cannot grow the local log to %d partitions: %s",
			       t->name, n, err < 0 ? strerror(-err) : "error");
		else
			kb_info("topic %s now has %d partitions", t->name, n);
	}
	if (!old) {
		t->loaded = true;
		snprintf(path, sizeof(path), "/config/topics/%s", t->name);
		kb_zk_get(zk, path, false, cfg_done, arg);
	} else {
		free(arg);
	}
	for (p = old; p < n; p++)
		state_get(cl, t, p);
}

static void topic_load(struct kb_cluster *cl, struct kb_cl_topic *t)
{
	char path[512], *name = strdup(t->name);

	if (!name)
		return;
	snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
	/* The watch tells of new partitions (CreatePartitions). */
	kb_zk_get(cl->zk, path, true, topic_data_done, name);
}

/* The topic is gone from the cluster: so is its local log. */
static void topic_remove(struct kb_cluster *cl, size_t i)
{
	struct kb_cl_topic *t = cl->topics[i];

	if (t->local || kb_store_topic_find(cl->store, t->name)) {
		int err = kb_store_topic_delete(cl->store, t->name);

		if (err)
			kb_err("cluster topic %s: deleting the local log: %s",
			       t->name, err < 0 ? strerror(-err) : "error");
		else
			kb_info("topic %s deleted from the local log",
				t->name);
	}
	free(t->parts);
	free(t);
	memmove(&cl->topics[i], &cl->topics[i + 1],
		(cl->n_topics - i - 1) * sizeof(*cl->topics));
	cl->n_topics--;
}

static void topics_done(struct kb_zk *zk, const struct kb_zk_res *r,
			void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	size_t i;
	int k;

	if ((unsigned int)(uintptr_t)arg != cl->topics_gen || r->rc != ZOK)
		return;
	for (i = 0; i < cl->n_topics; i++)
		cl->topics[i]->listed = false;
	for (k = 0; k < r->n_children; k++) {
		struct kb_cl_topic *t = kb_cl_topic_find(cl, r->children[k]), **nt;

		if (t) {
			t->listed = true;
			continue;
		}
		if (strlen(r->children[k]) >= sizeof(t->name))
			continue;
		t = calloc(1, sizeof(*t));
		nt = realloc(cl->topics, (cl->n_topics + 1) * sizeof(*nt));
		if (!t || !nt) {
			free(t);
			if (nt)
				cl->topics = nt;
			continue;
		}
		cl->topics = nt;
		strcpy(t->name, r->children[k]);
		t->listed = true;
		t->deleting = kb_cl_delete_marked(cl, t->name);
		cl->topics[cl->n_topics++] = t;
		topic_load(cl, t);
	}
	/* Deleted by the controller (DeleteTopics). */
	for (i = cl->n_topics; i-- > 0;)
		if (!cl->topics[i]->listed)
			topic_remove(cl, i);
	/* Deleted while this broker was away: said, not guessed at. */
	for (i = 0; i < kb_store_topic_count(cl->store); i++) {
		const struct kb_topic *lt = kb_store_topic_at(cl->store, i);

		if (lt && strncmp(lt->name, "__", 2) &&
		    !kb_cl_topic_find(cl, lt->name))
			kb_warn("topic %s is in the local log but not in the cluster (deleted while this broker was away?): left as it is; delete its directories by hand",
				lt->name);
	}
	kb_cl_ops_check(cl);
}

void kb_cl_topics_reload(struct kb_cluster *cl)
{
	size_t i;

	cl->topics_gen++;
	kb_zk_children(cl->zk, "/brokers/topics", true, topics_done,
		       (void *)(uintptr_t)cl->topics_gen);
	/* After a new session: read what we could not before. */
	for (i = 0; i < cl->n_topics; i++)
		if (!cl->topics[i]->loaded)
			topic_load(cl, cl->topics[i]);
	kb_cl_deletes_reload(cl);
	kb_cl_shutting_reload(cl);
}

/* Partition state. */

struct state_ref {
	char topic[256];
	int32_t p;
};

static void state_exists_done(struct kb_zk *zk, const struct kb_zk_res *r,
			      void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct state_ref *ref = arg;
	struct kb_cl_topic *t = kb_cl_topic_find(cl, ref->topic);

	/* ZNONODE: the watch set here tells when it is created. */
	if (r->rc == ZOK && t && t->loaded && ref->p < t->n_parts)
		state_get(cl, t, ref->p);
	free(ref);
}

bool kb_cl_state_parse(struct kb_cl_part *pt, const char *data,
		       int32_t version)
{
	int32_t isr[KB_CL_MAX_RF], n_isr;
	int64_t leader, epoch, ce = 0;

	if (!data || !kb_json_int(data, "leader", &leader) ||
	    !kb_json_int(data, "leader_epoch", &epoch) ||
	    leader < -1 || leader > INT32_MAX || epoch < 0 ||
	    epoch > INT32_MAX ||
	    !int_list(kb_json_find(data, "isr"), isr, &n_isr))
		return false;
	pt->leader = (int32_t)leader;
	pt->leader_epoch = (int32_t)epoch;
	pt->n_isr = n_isr;
	memcpy(pt->isr, isr, sizeof(isr));
	pt->version = version;
	if (kb_json_int(data, "controller_epoch", &ce) && ce >= 0 &&
	    ce <= INT32_MAX)
		pt->ctrl_epoch = (int32_t)ce;
	pt->has_state = true;
	pt->no_state = false;
	return true;
}

static void state_done(struct kb_zk *zk, const struct kb_zk_res *r,
		       void *arg)
{
	struct kb_cluster *cl = kb_zk_owner(zk);
	struct state_ref *ref = arg;
	struct kb_cl_topic *t = kb_cl_topic_find(cl, ref->topic);
	struct kb_cl_part *pt;
	int32_t leader, epoch;
	char path[600];

	if (!t || ref->p >= t->n_parts) {
		free(ref);
		return;
	}
	pt = &t->parts[ref->p];
	if (r->rc == ZNONODE) {
		/* Not elected yet: hear when the controller writes it. */
		pt->has_state = false;
		pt->no_state = true;
		pt->leader = -1;
		snprintf(path, sizeof(path),
			 "/brokers/topics/%s/partitions/%d/state", t->name,
			 ref->p);
		/* @ref goes on to the exists: created meanwhile, read it. */
		kb_zk_exists(zk, path, true, state_exists_done, ref);
		kb_cl_reconcile(cl);
		return;
	}
	free(ref);
	if (r->rc != ZOK || !r->data)
		return;
	leader = pt->leader;
	epoch = pt->leader_epoch;
	if (!kb_cl_state_parse(pt, r->data, r->version)) {
		kb_log_once(KB_LOG_WARN, "ZooKeeper: a partition state of %s cannot be read: '%.200s'",
			    t->name, r->data);
		return;
	}
	if (pt->leader != leader || pt->leader_epoch != epoch)
		kb_dbg("%s-%d: leader %d, epoch %d", t->name, (int)(pt - t->parts),
		       (int)pt->leader, (int)pt->leader_epoch);
	pt->has_state = true;
	pt->no_state = false;
	local_epoch(cl, t, (int32_t)(pt - t->parts));
	kb_cl_reconcile(cl);
}

static void state_get(struct kb_cluster *cl, struct kb_cl_topic *t,
		      int32_t p)
{
	struct state_ref *ref = calloc(1, sizeof(*ref));
	char path[600];

	if (!ref)
		return;
	snprintf(ref->topic, sizeof(ref->topic), "%s", t->name);
	ref->p = p;
	snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state",
		 t->name, p);
	kb_zk_get(cl->zk, path, true, state_done, ref);
}

bool kb_cl_topics_watch(struct kb_cluster *cl, enum kb_zk_watch w,
			const char *path)
{
	char name[256];
	struct kb_cl_topic *t;
	int p, n = 0;

	if (!strcmp(path, "/brokers/topics")) {
		if (w == KB_ZK_W_CHILD)
			kb_cl_topics_reload(cl);
		return true;
	}
	if (!strcmp(path, "/admin/delete_topics")) {
		if (w == KB_ZK_W_CHILD)
			kb_cl_deletes_reload(cl);
		return true;
	}
	if (sscanf(path, "/brokers/topics/%255[^/]%n", name, &n) == 1 &&
	    !path[n]) {
		t = kb_cl_topic_find(cl, name);
		/* Changed: new partitions.  Deleted: the listing removes it. */
		if (t && w == KB_ZK_W_CHANGED)
			topic_load(cl, t);
		return true;
	}
	if (sscanf(path, "/brokers/topics/%255[^/]/partitions/%d/state%n",
		   name, &p, &n) != 2 || path[n])
		return false;
	t = kb_cl_topic_find(cl, name);
	if (t && t->loaded && p >= 0 && p < t->n_parts)
		state_get(cl, t, p);
	return true;
}

void kb_cl_topics_free(struct kb_cluster *cl)
{
	size_t i;

	for (i = 0; i < cl->n_topics; i++) {
		free(cl->topics[i]->parts);
		free(cl->topics[i]);
	}
	free(cl->topics);
	cl->topics = NULL;
	cl->n_topics = 0;
}

/* Accessors. */

size_t kb_cluster_topic_count(const struct kb_cluster *cl)
{
	size_t i, n = 0;

	for (i = 0; i < cl->n_topics; i++)
		n += cl->topics[i]->loaded;
	return n;
}

const char *kb_cluster_topic_at(const struct kb_cluster *cl, size_t i,
				const uint8_t **id, int32_t *n_parts)
{
	size_t k;

	for (k = 0; k < cl->n_topics; k++) {
		struct kb_cl_topic *t = cl->topics[k];

		if (!t->loaded || i--)
			continue;
		*id = t->id;
		*n_parts = t->n_parts;
		return t->name;
	}
	return NULL;
}

const char *kb_cluster_topic_find(const struct kb_cluster *cl,
				  const char *name, const uint8_t *id,
				  const uint8_t **id_out, int32_t *n_parts)
{
	size_t k;

	for (k = 0; k < cl->n_topics; k++) {
		struct kb_cl_topic *t = cl->topics[k];

		if (!t->loaded)
			continue;
		if (name ? strcmp(t->name, name) : memcmp(t->id, id, 16))
			continue;
		*n_parts = t->n_parts;
		if (id_out)
			*id_out = t->id;
		return t->name;
	}
	return NULL;
}

bool kb_cluster_partition(const struct kb_cluster *cl, const char *topic,
			  int32_t p, struct kb_cluster_partition *out)
{
	const struct kb_cl_topic *t = kb_cl_topic_find(cl, topic);
	const struct kb_cl_part *pt;

	if (!t || !t->loaded || p < 0 || p >= t->n_parts)
		return false;
	pt = &t->parts[p];
	out->leader = pt->has_state ? pt->leader : -1;
	out->leader_epoch = pt->has_state ? pt->leader_epoch : -1;
	out->n_replicas = pt->n_replicas;
	out->replicas = pt->replicas;
	out->n_isr = pt->has_state ? pt->n_isr : 0;
	out->isr = pt->isr;
	return true;
}

int16_t kb_cluster_check_leader(const struct kb_cluster *cl,
				const char *topic, int32_t p, int32_t epoch)
{
	struct kb_cluster_partition st;

	if (!kb_cluster_partition(cl, topic, p, &st))
		return E_UNKNOWN_TOPIC_OR_PARTITION;
	if (epoch >= 0 && st.leader_epoch >= 0) {
		if (epoch < st.leader_epoch)
			return E_FENCED_LEADER_EPOCH;
		if (epoch > st.leader_epoch)
			return E_UNKNOWN_LEADER_EPOCH;
	}
	if (st.leader != cl->o.broker_id || !cl->registered)
		return E_NOT_LEADER_OR_FOLLOWER;
	return 0;
}
