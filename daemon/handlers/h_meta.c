// SPDX-License-Identifier: GPL-2.0
/*
 * Metadata and DescribeCluster.  Standalone, one broker leads everything;
 * in a cluster the brokers are the live ones registered in ZooKeeper,
 * each with its endpoint of the listener the client came in on, and the
 * controller is the elected one.
 */
#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"
#include "common/log.h"
#include "handlers/api.h"
#include "handlers/authz.h"
#include "auth/ops.h"
#include "proto/errors.h"
#include "store/store.h"

#define NO_AUTH_OPS INT32_MIN	/* authorized operations not computed */

static void write_topic(struct kb_req *req, struct kb_wr *w, bool ops,
			const struct kb_topic *t, const char *name,
			const uint8_t *id, int16_t err)
{
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	int32_t me = req->b->cfg->broker_id;
	static const uint8_t zero_id[16];
	int32_t i, n = t ? t->n_partitions : 0;

	kb_wr_i16(w, err);
	if (ver >= 12)
		kb_wr_vnstr(w, flex, t ? t->name : name);
	else
		kb_wr_vstr(w, flex, t ? t->name : (name ? name : ""));
	if (ver >= 10)
		kb_wr_uuid(w, t ? t->id : (id ? id : zero_id));
	if (ver >= 1)
		kb_wr_bool(w, false);	/* is_internal */
	kb_wr_varray(w, flex, n);
	for (i = 0; i < n; i++) {
		kb_wr_i16(w, 0);
		kb_wr_i32(w, i);
		kb_wr_i32(w, me);	/* leader */
		if (ver >= 7)
			kb_wr_i32(w, 0);	/* leader_epoch */
		kb_wr_varray(w, flex, 1);
		kb_wr_i32(w, me);
		kb_wr_varray(w, flex, 1);
		kb_wr_i32(w, me);
		if (ver >= 5)
			kb_wr_varray(w, flex, 0);
		kb_wr_tags(w, flex);
	}
	if (ver >= 8)
		kb_wr_i32(w, ops && t && !err ?
			  kb_authorized_ops(req, KB_RES_TOPIC, t->name) :
			  NO_AUTH_OPS);
	kb_wr_tags(w, flex);
}

/* A topic of the cluster: partition state from ZooKeeper. */
static void write_ctopic(struct kb_req *req, struct kb_wr *w,
			 const char *name, const uint8_t *id, int32_t n,
			 int16_t err)
{
	struct kb_cluster *cl = req->b->cluster;
	int16_t ver = req->hdr.api_version;
	static const uint8_t zero_id[16];
	bool flex = req->flex;
	int32_t i, k, off;

	kb_wr_i16(w, err);
	if (ver >= 12)
		kb_wr_vnstr(w, flex, name);
	else
		kb_wr_vstr(w, flex, name);
	if (ver >= 10)
		kb_wr_uuid(w, id ? id : zero_id);
	if (ver >= 1)
		kb_wr_bool(w, false);	/* is_internal */
	kb_wr_varray(w, flex, err ? 0 : n);
	for (i = 0; !err && i < n; i++) {
		struct kb_cluster_partition st;

		if (!kb_cluster_partition(cl, name, i, &st))
			memset(&st, 0, sizeof(st));
		kb_wr_i16(w, st.leader < 0 ? KB_ERR_LEADER_NOT_AVAILABLE : 0);
		kb_wr_i32(w, i);
		kb_wr_i32(w, st.leader);
		if (ver >= 7)
			kb_wr_i32(w, st.leader_epoch);
		kb_wr_varray(w, flex, st.n_replicas);
		for (k = 0; k < st.n_replicas; k++)
			kb_wr_i32(w, st.replicas[k]);
		kb_wr_varray(w, flex, st.n_isr);
		for (k = 0; k < st.n_isr; k++)
			kb_wr_i32(w, st.isr[k]);
		if (ver >= 5) {
			for (k = 0, off = 0; k < st.n_replicas; k++)
				off += !kb_cluster_broker_is_live(cl,
								  st.replicas[k]);
			kb_wr_varray(w, flex, off);
			for (k = 0; k < st.n_replicas; k++)
				if (!kb_cluster_broker_is_live(cl,
							       st.replicas[k]))
					kb_wr_i32(w, st.replicas[k]);
		}
		kb_wr_tags(w, flex);
	}
	if (ver >= 8)
		kb_wr_i32(w, NO_AUTH_OPS);
	kb_wr_tags(w, flex);
}

/*
 * A topic a client asked for in a cluster: as it is, or auto-created in
 * ZooKeeper (answered LEADER_NOT_AVAILABLE until leaders are elected, as
 * Kafka does).
 */
static void cluster_topic(struct kb_req *req, struct kb_wr *w,
			  const char *name, bool allow)
{
	struct kb_cluster *cl = req->b->cluster;
	const struct kb_config *cfg = req->b->cfg;
	struct kb_cluster_new_topic nt = {
		.name = name,
		.n_parts = cfg->num_partitions,
		.rf = (int16_t)cfg->default_replication_factor,
	};
	const char *found, *why;
	struct kb_cluster_op *op;
	const uint8_t *id = NULL;
	int32_t n = 0;
	int16_t err;

	found = kb_cluster_topic_find(cl, name, NULL, &id, &n);
	if (found) {
		write_ctopic(req, w, name, id, n, 0);
		return;
	}
	if (!allow || !cfg->auto_create_topics) {
		write_ctopic(req, w, name, NULL, 0,
			     KB_ERR_UNKNOWN_TOPIC_OR_PARTITION);
		return;
	}
	/* Written in the background; the client asks again. */
	err = kb_cluster_create_topic(cl, &nt, &why, false, NULL, NULL, &op);
	if (err && err != KB_ERR_TOPIC_ALREADY_EXISTS)
		kb_log_once(KB_LOG_WARN, "auto-creating topic %s: %s", name,
			    why ? why : "error");
	if (err == KB_ERR_TOPIC_ALREADY_EXISTS)
		err = 0;
	write_ctopic(req, w, name, NULL, 0,
		     err ? err : KB_ERR_LEADER_NOT_AVAILABLE);
}

/* One broker entry as Metadata (@desc false) or DescribeCluster has it. */
struct broker_ep {
	int32_t id;
	const char *host;
	int port;
	const char *rack;	/* NULL = none */
};

/*
 * The brokers to list: this one as the client reaches it, then every other
 * live broker with an endpoint of the same listener name (Kafka leaves out
 * a broker without one).  Returns the count, at most @max.
 */
static int list_brokers(const struct kb_req *req, struct broker_ep *out,
			int max)
{
	const struct kb_config *cfg = req->b->cfg;
	struct kb_cluster *cl = req->b->cluster;
	const char *lname = req->listener >= 0 ?
			    cfg->listeners[req->listener].name : NULL;
	size_t i, n_live;
	int n = 0;

	out[n++] = (struct broker_ep){ cfg->broker_id, req->adv_host,
				       req->adv_port,
				       cfg->broker_rack[0] ?
				       cfg->broker_rack : NULL };
	if (!cl || !lname)
		return n;
	n_live = kb_cluster_broker_count(cl);
	for (i = 0; i < n_live && n < max; i++) {
		const struct kb_cluster_broker *br = kb_cluster_broker_at(cl, i);
		const struct kb_cluster_endpoint *e;

		if (!br || br->id == cfg->broker_id)
			continue;
		e = kb_cluster_endpoint(br, lname);
		if (!e)
			continue;
		out[n++] = (struct broker_ep){ br->id, e->host, e->port,
					       br->rack[0] ? br->rack : NULL };
	}
	return n;
}

static int32_t controller_id(const struct kb_req *req)
{
	if (!req->b->cluster)
		return req->b->cfg->broker_id;
	return kb_cluster_controller(req->b->cluster);
}

#define MAX_LISTED 256

/* Listing all topics leaves out those the principal may not describe. */
static bool meta_sees(struct kb_req *req, const char *topic)
{
	return kb_req_sees(req, KB_OP_DESCRIBE, KB_RES_TOPIC, topic);
}

static void write_brokers(struct kb_req *req, struct kb_wr *w)
{
	struct broker_ep eps[MAX_LISTED];
	int i, n = list_brokers(req, eps, MAX_LISTED);

	kb_wr_varray(w, req->flex, n);
	for (i = 0; i < n; i++) {
		kb_wr_i32(w, eps[i].id);
		kb_wr_vstr(w, req->flex, eps[i].host);
		kb_wr_i32(w, eps[i].port);
		if (req->hdr.api_version >= 1)
			kb_wr_vnstr(w, req->flex, eps[i].rack);
		kb_wr_tags(w, req->flex);
	}
}

int kb_h_metadata(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd, scan;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex, allow = true, all;
	bool topic_ops = false, cluster_ops = false;
	struct kb_broker *b = req->b;
	int32_t n, i;
	size_t k;

	n = kb_rd_varray(rd, flex);
	all = n < 0 || (ver == 0 && n == 0);
	/* Validate the whole request before acting on any topic. */
	scan = *rd;
	for (i = 0; i < n && !scan.err; i++) {
		if (ver >= 10) {
			uint8_t id[16];

			kb_rd_uuid(&scan, id);
			kb_rd_cnstr(&scan);
		} else {
			kb_rd_vstr(&scan, flex);
		}
		kb_rd_vtags(&scan, flex);
	}
	if (ver >= 4)
		allow = kb_rd_bool(&scan);
	if (ver >= 8 && ver <= 10)
		cluster_ops = kb_rd_bool(&scan);
	if (ver >= 8)
		topic_ops = kb_rd_bool(&scan);
	kb_rd_vtags(&scan, flex);
	if (scan.err)
		return KB_H_CLOSE;

	if (ver >= 3)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
	write_brokers(req, w);
	if (ver >= 2)
		kb_wr_vnstr(w, flex, b->cluster_id);
	if (ver >= 1)
		kb_wr_i32(w, controller_id(req));
	if (all && b->cluster) {
		size_t nt = kb_cluster_topic_count(b->cluster), shown = 0;
		const uint8_t *id = NULL;
		int32_t np = 0;
		const char *name;

		/* Topics the principal may not describe are left out. */
		for (k = 0; k < nt; k++) {
			name = kb_cluster_topic_at(b->cluster, k, &id, &np);
			shown += meta_sees(req, name ? name : "");
		}
		kb_wr_varray(w, flex, (int32_t)shown);
		for (k = 0; k < nt; k++) {
			name = kb_cluster_topic_at(b->cluster, k, &id, &np);
			if (meta_sees(req, name ? name : ""))
				write_ctopic(req, w, name ? name : "", id, np,
					     0);
		}
	} else if (all) {
		size_t nt = kb_store_topic_count(b->store), shown = 0;

		for (k = 0; k < nt; k++)
			shown += meta_sees(req,
					   kb_store_topic_at(b->store, k)->name);
		kb_wr_varray(w, flex, (int32_t)shown);
		for (k = 0; k < nt; k++)
			if (meta_sees(req, kb_store_topic_at(b->store, k)->name))
				write_topic(req, w, topic_ops,
					    kb_store_topic_at(b->store, k),
					    NULL, NULL, 0);
	} else {
		kb_wr_varray(w, flex, n);
		for (i = 0; i < n; i++) {
			char name[KB_TOPIC_NAME_MAX + 1];
			const struct kb_topic *t = NULL;
			uint8_t id[16] = { 0 };
			struct kb_str s;
			int16_t err = 0;

			if (ver >= 10) {
				kb_rd_uuid(rd, id);
				s = kb_rd_cnstr(rd);
			} else {
				s = kb_rd_vstr(rd, flex);
			}
			kb_rd_vtags(rd, flex);
			if (!s.ptr && b->cluster) {
				const char *cn;
				int32_t np = 0;

				cn = kb_cluster_topic_find(b->cluster, NULL, id,
							   NULL, &np);
				if (cn && !meta_sees(req, cn))
					cn = NULL;	/* as if unknown */
				write_ctopic(req, w, cn, id, np, cn ? 0 :
					     KB_ERR_UNKNOWN_TOPIC_ID);
				continue;
			}
			if (!s.ptr) {
				t = kb_store_topic_find_id(b->store, id);
				if (t && !meta_sees(req, t->name))
					t = NULL;	/* as if unknown */
				if (!t)
					err = KB_ERR_UNKNOWN_TOPIC_ID;
				write_topic(req, w, topic_ops, t, NULL, id, err);
				continue;
			}
			if (!kb_str_copy(name, sizeof(name), s) ||
			    !kb_topic_name_valid(name)) {
				char shown[KB_TOPIC_NAME_MAX + 1];

				/* Echo what fits; the name is invalid anyway. */
				snprintf(shown, sizeof(shown), "%.*s",
					 s.len > KB_TOPIC_NAME_MAX ?
					 KB_TOPIC_NAME_MAX : s.len, s.ptr);
				write_topic(req, w, topic_ops, NULL, shown, NULL,
					    KB_ERR_INVALID_TOPIC_EXCEPTION);
				continue;
			}
			if (!kb_req_may(req, KB_OP_DESCRIBE, KB_RES_TOPIC, name)) {
				write_topic(req, w, topic_ops, NULL, name, NULL,
					    KB_ERR_TOPIC_AUTHORIZATION_FAILED);
				continue;
			}
			if (b->cluster) {
				cluster_topic(req, w, name,
					      allow && kb_req_may_create_topic(req,
									name));
				continue;
			}
			t = kb_store_topic_get_or_create(
				b->store, name,
				allow ? kb_req_auto_partitions(req, name) : 0,
				&err);
			write_topic(req, w, topic_ops, t, name, NULL, err);
		}
	}
	if (ver >= 8 && ver <= 10)
		kb_wr_i32(w, cluster_ops ?
			  kb_authorized_ops(req, KB_RES_CLUSTER, NULL) :
			  NO_AUTH_OPS);
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}

int kb_h_describe_cluster(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int8_t endpoint_type = 1;
	int16_t err = 0;
	bool ops = kb_rd_bool(rd);	/* include_cluster_authorized_operations */
	if (req->hdr.api_version >= 1)
		endpoint_type = kb_rd_i8(rd);
	kb_rd_tags(rd);	/* always flexible */
	if (rd->err)
		return KB_H_CLOSE;
	if (endpoint_type != 1)
		err = KB_ERR_UNSUPPORTED_ENDPOINT_TYPE;
	kb_wr_i32(w, 0);
	kb_wr_i16(w, err);
	kb_wr_cnstr(w, err ? "only broker endpoints are served" : NULL, -1);
	if (req->hdr.api_version >= 1)
		kb_wr_i8(w, endpoint_type);
	kb_wr_cstr(w, req->b->cluster_id, -1);
	kb_wr_i32(w, controller_id(req));
	if (err) {
		kb_wr_carray(w, 0);
	} else {
		struct broker_ep eps[MAX_LISTED];
		int i, n = list_brokers(req, eps, MAX_LISTED);

		kb_wr_carray(w, n);
		for (i = 0; i < n; i++) {
			kb_wr_i32(w, eps[i].id);
			kb_wr_cstr(w, eps[i].host, -1);
			kb_wr_i32(w, eps[i].port);
			kb_wr_cnstr(w, eps[i].rack, -1);
			kb_wr_tags(w, true);
		}
	}
	kb_wr_i32(w, ops ? kb_authorized_ops(req, KB_RES_CLUSTER, NULL) :
		  NO_AUTH_OPS);
	kb_wr_tags(w, true);
	return KB_H_DONE;
}
