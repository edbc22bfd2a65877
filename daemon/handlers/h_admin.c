// SPDX-License-Identifier: GPL-2.0
/* CreateTopics, DeleteTopics, CreatePartitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/api.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "cluster/cluster.h"
#include "common/log.h"
#include "common/time.h"
#include "store/store.h"

/* Each partition costs the store open files: one request must not be able
 * to exhaust them (found by fuzzing). */
#define KB_MAX_TOPIC_PARTITIONS 10000
/* More than every topic key twice over: anything beyond is abuse. */
#define KB_MAX_TOPIC_CONFIGS 64

/* A config of a CreateTopics topic, copied out of the request. */
struct cfg_in {
	char key[64];
	char value[256];
};

static int16_t store_err(int ret, const char *what, const char *name)
{
	if (ret < 0) {
		kb_err("%s %s: %s", what, name, strerror(-ret));
		return KB_ERR_KAFKA_STORAGE_ERROR;
	}
	return (int16_t)ret;
}

static const char *err_text(int16_t err)
{
	switch (err) {
	case KB_ERR_TOPIC_ALREADY_EXISTS:
		return "topic already exists";
	case KB_ERR_INVALID_TOPIC_EXCEPTION:
		return "invalid topic name";
	case KB_ERR_INVALID_PARTITIONS:
		return "invalid number of partitions";
	case KB_ERR_INVALID_REPLICATION_FACTOR:
		return "replication factor must be 1 (single broker)";
	case KB_ERR_INVALID_REPLICA_ASSIGNMENT:
		return "replicas must be exactly this broker";
	case KB_ERR_INVALID_CONFIG:
		return "invalid topic config";
	case KB_ERR_UNKNOWN_TOPIC_OR_PARTITION:
		return "unknown topic";
	case KB_ERR_UNKNOWN_TOPIC_ID:
		return "unknown topic id";
	case KB_ERR_KAFKA_STORAGE_ERROR:
		return "storage error";
	}
	return NULL;
}

/* Reads one assignments array (of broker id arrays); returns how many
 * partitions it assigns, or -1 when a replica set is not just us. */
static int32_t read_assignments(struct kb_rd *rd, bool flex, int32_t me,
				bool with_index, bool *ok)
{
	int32_t n = kb_rd_varray(rd, flex), i, k, nb;

	*ok = true;
	for (i = 0; i < n && !rd->err; i++) {
		if (with_index)
			kb_rd_i32(rd);
		nb = kb_rd_varray(rd, flex);
		if (nb != 1)
			*ok = false;
		for (k = 0; k < nb && !rd->err; k++)
			if (kb_rd_i32(rd) != me)
				*ok = false;
		kb_rd_vtags(rd, flex);
	}
	return n;
}

/* A config of a CreateTopics topic, as the request has it. */
struct ct_cfg {
	struct kb_str key, value;
};

struct ct_topic {
	struct kb_str name;
	int32_t np;			/* num_partitions, -1 default */
	int16_t rf;			/* replication_factor, -1 default */
	int32_t na;			/* partitions assigned, <= 0 none */
	bool assign_ok;			/* every assignment is just us */
	int32_t nc;
	struct ct_cfg *cfgs;
	/* In a cluster: the assignment, partition i's replicas at i * asg_rf. */
	int32_t *asg;
	int32_t asg_rf;
};

/* In a cluster: reads one assignments array into a new *@out; *ok false
 * when the counts differ or are out of range.  CreateTopics gives each
 * partition's index (@with_index), CreatePartitions does not. */
static int32_t read_assign_any(struct kb_rd *rd, bool flex, bool with_index,
			       int32_t **out, int32_t *rf, bool *ok)
{
	int32_t n = kb_rd_varray(rd, flex), i, k, nb;

	*ok = true;
	*rf = -1;
	*out = NULL;
	if (n > 0 && n <= KB_MAX_TOPIC_PARTITIONS)
		*out = calloc((size_t)n * 16, sizeof(**out));
	if (n > 0 && !*out)
		*ok = false;
	for (i = 0; i < n && !rd->err; i++) {
		int32_t idx = with_index ? kb_rd_i32(rd) : i;

		nb = kb_rd_varray(rd, flex);
		if (*rf < 0)
			*rf = nb;
		if (nb != *rf || nb < 1 || nb > 16 || idx != i)
			*ok = false;
		for (k = 0; k < nb && !rd->err; k++) {
			int32_t id = kb_rd_i32(rd);

			if (*ok)
				(*out)[i * *rf + k] = id;
		}
		kb_rd_vtags(rd, flex);
	}
	return n;
}

static int32_t read_assign_list(struct kb_rd *rd, bool flex, int32_t **out,
				int32_t *rf, bool *ok)
{
	return read_assign_any(rd, flex, true, out, rf, ok);
}

static int32_t read_assign_list_noidx(struct kb_rd *rd, bool flex,
				      int32_t **out, int32_t *rf, bool *ok)
{
	return read_assign_any(rd, flex, false, out, rf, ok);
}

/* A whole CreateTopics request, decoded before any topic is made. */
struct ct_req {
	int32_t n;
	struct ct_topic *topics;
	int32_t timeout_ms;
	bool validate_only;
};

static void ct_free(struct ct_req *cr)
{
	for (int32_t i = 0; cr->topics && i < cr->n; i++) {
		free(cr->topics[i].cfgs);
		free(cr->topics[i].asg);
	}
	free(cr->topics);
}

static bool ct_decode(struct kb_req *req, struct ct_req *cr)
{
	struct kb_rd *rd = &req->rd;
	int32_t me = req->b->cfg->broker_id;
	bool flex = req->flex;

	cr->n = kb_rd_varray(rd, flex);
	if (rd->err || cr->n < 0)
		return false;
	cr->topics = calloc(cr->n ? cr->n : 1, sizeof(*cr->topics));
	if (!cr->topics)
		return false;
	for (int32_t i = 0; i < cr->n; i++) {
		struct ct_topic *t = &cr->topics[i];

		t->name = kb_rd_vstr(rd, flex);
		t->np = kb_rd_i32(rd);
		t->rf = kb_rd_i16(rd);
		if (req->b->cluster)
			t->na = read_assign_list(rd, flex, &t->asg, &t->asg_rf,
						 &t->assign_ok);
		else
			t->na = read_assignments(rd, flex, me, true,
						 &t->assign_ok);
		t->nc = kb_rd_varray(rd, flex);
		if (rd->err)
			return false;
		t->cfgs = calloc(t->nc > 0 ? t->nc : 1, sizeof(*t->cfgs));
		if (!t->cfgs)
			return false;
		for (int32_t k = 0; k < t->nc; k++) {
			t->cfgs[k].key = kb_rd_vstr(rd, flex);
			t->cfgs[k].value = kb_rd_vnstr(rd, flex);
			kb_rd_vtags(rd, flex);
		}
		kb_rd_vtags(rd, flex);
	}
	cr->timeout_ms = kb_rd_i32(rd);
	if (req->hdr.api_version >= 1)
		cr->validate_only = kb_rd_bool(rd);
	kb_rd_vtags(rd, flex);
	return !rd->err;
}

/*
 * Copies the configs of one topic into @in and @ops; returns
 * KB_ERR_INVALID_CONFIG with *@why when one cannot be taken as it is.
 */
static int16_t take_configs(const struct ct_topic *t, struct cfg_in *in,
			    struct kb_cfg_op *ops, size_t *n, const char **why)
{
	*n = 0;
	for (int32_t k = 0; k < t->nc; k++) {
		const struct ct_cfg *c = &t->cfgs[k];

		*why = *n == KB_MAX_TOPIC_CONFIGS ? "too many configs" :
		       !kb_str_copy(in[*n].key, sizeof(in[*n].key), c->key) ?
		       "config name too long" :
		       !c->value.ptr ? "null config values are not supported" :
		       !kb_str_copy(in[*n].value, sizeof(in[*n].value),
				    c->value) ? "config value too long" : NULL;
		if (*why)
			return KB_ERR_INVALID_CONFIG;
		ops[*n].key = in[*n].key;
		ops[*n].value = in[*n].value;
		(*n)++;
	}
	return KB_ERR_NONE;
}

/* The first reason, in Kafka's order, why @t cannot be created as asked. */
static int16_t ct_check(struct kb_req *req, const struct ct_topic *t,
			const char *name, bool name_ok, int16_t cerr)
{
	struct kb_broker *b = req->b;

	if (!name_ok)
		return KB_ERR_INVALID_TOPIC_EXCEPTION;
	if (!kb_req_may_create_topic(req, name))
		return KB_ERR_TOPIC_AUTHORIZATION_FAILED;
	if (kb_store_topic_find(b->store, name))
		return KB_ERR_TOPIC_ALREADY_EXISTS;
	if (t->na > 0 && (t->np != -1 || t->rf != -1))
		return KB_ERR_INVALID_REQUEST;
	if (t->na > 0 && !t->assign_ok)
		return KB_ERR_INVALID_REPLICA_ASSIGNMENT;
	if (t->rf != -1 && t->rf != 1 && !b->cluster)
		return KB_ERR_INVALID_REPLICATION_FACTOR;
	return cerr;
}

/* CreateTopics v5+: the configs the topic got (or would get). */
static void ct_write_configs(struct kb_broker *b, struct kb_wr *w,
			     const char *name, const struct kb_topic *t,
			     const struct kb_cfg_op *ops, size_t nc)
{
	struct kb_topic_config tc[32];
	size_t n, c;

	n = kb_topic_configs(b->cfg, b->store, t ? name : NULL, tc, 32);
	/* validate_only: what the topic would get. */
	for (c = 0; !t && c < n; c++) {
		for (size_t o = 0; o < nc; o++) {
			if (strcmp(ops[o].key, tc[c].name))
				continue;
			snprintf(tc[c].value, sizeof(tc[c].value), "%s",
				 ops[o].value);
			tc[c].source = 1;
		}
	}
	kb_wr_carray(w, (int32_t)n);
	for (c = 0; c < n; c++) {
		kb_wr_cstr(w, tc[c].name, -1);
		kb_wr_cnstr(w, tc[c].value, -1);
		kb_wr_bool(w, tc[c].read_only);
		kb_wr_i8(w, tc[c].source);
		kb_wr_bool(w, false);
		kb_wr_tags(w, true);
	}
}

/* Creates (or, validate_only, checks) one topic and writes its result. */
static void ct_topic(struct kb_req *req, struct kb_wr *w,
		     const struct ct_topic *ct, bool validate_only)
{
	static struct cfg_in in[KB_MAX_TOPIC_CONFIGS];
	struct kb_cfg_op ops[KB_MAX_TOPIC_CONFIGS];
	struct kb_broker *b = req->b;
	int16_t ver = req->hdr.api_version, err, cerr;
	char name[KB_TOPIC_NAME_MAX + 1];
	const struct kb_topic *t = NULL;
	const char *why = NULL;
	bool flex = req->flex, name_ok;
	int32_t np = ct->np;
	int16_t resp_rf = 1;
	size_t nc;

	cerr = take_configs(ct, in, ops, &nc, &why);
	name_ok = kb_str_copy(name, sizeof(name), ct->name) &&
		  kb_topic_name_valid(name);
	err = ct_check(req, ct, name, name_ok, cerr);
	if (ct->na > 0)
		np = ct->na;
	if (np == -1)
		np = b->cfg->num_partitions;
	if (!err && (np <= 0 || np > KB_MAX_TOPIC_PARTITIONS))
		err = KB_ERR_INVALID_PARTITIONS;
	if (!err) {
		err = store_err(kb_store_topic_create_cfg(b->store, name, np,
							  ops, nc,
							  validate_only, &why),
				"creating topic", name);
		if (!err && !validate_only)
			kb_dbg("created topic %s with %d partition(s)", name,
			       np);
	}
	if (!err && !validate_only)
		t = kb_store_topic_find(b->store, name);

	if (flex)
		kb_wr_cstr(w, ct->name.ptr, ct->name.len);
	else
		kb_wr_str(w, ct->name.ptr, ct->name.len);
	if (ver >= 7) {
		static const uint8_t zero[16];

		kb_wr_uuid(w, t ? t->id : zero);
	}
	kb_wr_i16(w, err);
	if (ver >= 1)
		kb_wr_vnstr(w, flex, !err ? NULL : why ? why : err_text(err));
	if (ver >= 5) {
		kb_wr_i32(w, err ? -1 : np);
		kb_wr_i16(w, err ? -1 : resp_rf);
		if (err)
			kb_wr_carray(w, -1);
		else
			ct_write_configs(b, w, name, t, ops, nc);
	}
	kb_wr_tags(w, flex);
}

/*
 * In a cluster, CreateTopics, DeleteTopics and CreatePartitions write to
 * ZooKeeper: the request parks while the writes go and the cluster's view
 * catches up, and is answered from the completions (never blocking the
 * loop on ZooKeeper round trips).  Each topic of the request is one item.
 */
struct ap_item {
	struct admin_park *ap;
	struct kb_cluster_op *op;	/* pending while set */
	int16_t err;
	char why[200];
	char *raw;			/* the name as the request had it */
	int32_t raw_len;		/* -1: null */
	uint8_t id[16];
	int32_t np;			/* CreateTopics */
	int16_t rf;
	struct cfg_in *cfg;
	size_t nc;
};

struct admin_park {
	struct kb_park park;
	struct kb_broker *b;
	int16_t api, ver;
	bool flex;
	int32_t n;
	struct ap_item *items;
};

static void ap_done(void *arg, int16_t err, const char *why)
{
	struct ap_item *it = arg;

	it->op = NULL;
	it->err = err;
	snprintf(it->why, sizeof(it->why), "%s", why ? why : "");
	it->ap->b->wake = true;
}

static void ap_free(struct kb_park *pk)
{
	struct admin_park *ap = (struct admin_park *)pk;

	for (int32_t i = 0; i < ap->n; i++) {
		if (ap->items[i].op)
			kb_cluster_op_cancel(ap->b->cluster, ap->items[i].op);
		free(ap->items[i].raw);
		free(ap->items[i].cfg);
	}
	free(ap->items);
	free(ap);
}

static struct admin_park *ap_new(struct kb_req *req, int16_t api, int32_t n)
{
	struct admin_park *ap = calloc(1, sizeof(*ap));

	if (!ap)
		return NULL;
	ap->items = calloc(n > 0 ? (size_t)n : 1, sizeof(*ap->items));
	if (!ap->items) {
		free(ap);
		return NULL;
	}
	ap->b = req->b;
	ap->api = api;
	ap->ver = req->hdr.api_version;
	ap->flex = req->flex;
	ap->n = n;
	for (int32_t i = 0; i < n; i++) {
		ap->items[i].ap = ap;
		ap->items[i].raw_len = -1;
	}
	return ap;
}

static bool ap_keep_name(struct ap_item *it, struct kb_str s)
{
	if (!s.ptr)
		return true;
	it->raw = malloc(s.len > 0 ? (size_t)s.len : 1);
	if (!it->raw)
		return false;
	memcpy(it->raw, s.ptr, s.len > 0 ? (size_t)s.len : 0);
	it->raw_len = s.len;
	return true;
}

static const char *ap_why(const struct ap_item *it)
{
	return it->err ? it->why[0] ? it->why : err_text(it->err) : NULL;
}

static void ap_write_name(struct admin_park *ap, struct kb_wr *w,
			  const struct ap_item *it)
{
	if (ap->flex)
		kb_wr_cstr(w, it->raw, it->raw_len);
	else
		kb_wr_str(w, it->raw, it->raw_len);
}

static void ap_write(struct admin_park *ap, struct kb_wr *w)
{
	static const uint8_t zero[16];
	int16_t ver = ap->ver;
	bool flex = ap->flex;

	if (ap->api != KB_API_DELETE_TOPICS || ver >= 1)
		if (ap->api != KB_API_CREATE_TOPICS || ver >= 2)
			kb_wr_i32(w, 0);
	kb_wr_varray(w, flex, ap->n);
	for (int32_t i = 0; i < ap->n; i++) {
		const struct ap_item *it = &ap->items[i];

		switch (ap->api) {
		case KB_API_CREATE_TOPICS:
			ap_write_name(ap, w, it);
			if (ver >= 7)
				kb_wr_uuid(w, it->err ? zero : it->id);
			kb_wr_i16(w, it->err);
			if (ver >= 1)
				kb_wr_vnstr(w, flex, ap_why(it));
			if (ver >= 5) {
				struct kb_cfg_op ops[KB_MAX_TOPIC_CONFIGS];

				kb_wr_i32(w, it->err ? -1 : it->np);
				kb_wr_i16(w, it->err ? -1 : it->rf);
				for (size_t c = 0; c < it->nc; c++) {
					ops[c].key = it->cfg[c].key;
					ops[c].value = it->cfg[c].value;
				}
				if (it->err)
					kb_wr_carray(w, -1);
				else
					ct_write_configs(ap->b, w, it->raw, NULL,
							 ops, it->nc);
			}
			break;
		case KB_API_DELETE_TOPICS:
			if (ver >= 6) {
				kb_wr_cnstr(w, it->raw, it->raw_len);
				kb_wr_uuid(w, it->id);
			} else {
				ap_write_name(ap, w, it);
			}
			kb_wr_i16(w, it->err);
			if (ver >= 5)
				kb_wr_vnstr(w, flex, ap_why(it));
			break;
		default:	/* CreatePartitions */
			ap_write_name(ap, w, it);
			kb_wr_i16(w, it->err);
			kb_wr_vnstr(w, flex, ap_why(it));
			break;
		}
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
}

static bool ap_poll(struct kb_park *pk, struct kb_resp *resp, bool expired)
{
	struct admin_park *ap = (struct admin_park *)pk;
	int32_t i;

	for (i = 0; i < ap->n && !expired; i++)
		if (ap->items[i].op)
			return false;
	for (i = 0; i < ap->n; i++) {
		struct ap_item *it = &ap->items[i];

		if (!it->op)
			continue;
		kb_cluster_op_cancel(ap->b->cluster, it->op);
		it->op = NULL;
		it->err = KB_ERR_REQUEST_TIMED_OUT;
		snprintf(it->why, sizeof(it->why),
			 "timed out waiting for the cluster; the change may still complete");
	}
	ap_write(ap, &resp->w);
	return true;
}

/* Answers now when nothing is pending, else parks for @timeout_ms. */
static int ap_finish(struct admin_park *ap, struct kb_resp *resp,
		     int32_t timeout_ms)
{
	ap->park.poll = ap_poll;
	ap->park.free = ap_free;
	if (ap_poll(&ap->park, resp, false)) {
		ap_free(&ap->park);
		return KB_H_DONE;
	}
	/* Timeout 0 still waits for the writes themselves. */
	ap->park.deadline_ms = kb_now_mono_ms() +
			       (timeout_ms > 0 ? timeout_ms : 30000);
	resp->park = &ap->park;
	return KB_H_PARK;
}

/* One CreateTopics topic in a cluster: checked now, written after. */
static void ct_cluster(struct kb_req *req, const struct ct_topic *ct,
		       const struct ct_req *cr, struct ap_item *it)
{
	static struct cfg_in in[KB_MAX_TOPIC_CONFIGS];
	struct kb_cfg_op ops[KB_MAX_TOPIC_CONFIGS];
	const char *keys[KB_MAX_TOPIC_CONFIGS], *vals[KB_MAX_TOPIC_CONFIGS];
	struct kb_broker *b = req->b;
	char name[KB_TOPIC_NAME_MAX + 1];
	const char *why = NULL;
	int32_t np = ct->np;
	int16_t err, cerr;
	bool name_ok;
	size_t nc;

	cerr = take_configs(ct, in, ops, &nc, &why);
	name_ok = kb_str_copy(name, sizeof(name), ct->name) &&
		  kb_topic_name_valid(name);
	err = ct_check(req, ct, name, name_ok, cerr);
	if (ct->na > 0)
		np = ct->na;
	if (np == -1)
		np = b->cfg->num_partitions;
	if (!err && (np <= 0 || np > KB_MAX_TOPIC_PARTITIONS))
		err = KB_ERR_INVALID_PARTITIONS;
	if (!err) {
		struct kb_cluster_new_topic nt = {
			.name = name, .n_parts = np,
			.rf = ct->rf != -1 ? ct->rf :
			      (int16_t)b->cfg->default_replication_factor,
			.assign = ct->na > 0 ? ct->asg : NULL,
			.assign_rf = ct->asg_rf,
			.cfg_keys = keys, .cfg_vals = vals,
			.n_cfg = nc, .validate_only = cr->validate_only,
		};

		for (size_t c = 0; c < nc; c++) {
			keys[c] = ops[c].key;
			vals[c] = ops[c].value;
		}
		err = kb_cluster_create_topic(b->cluster, &nt, &why,
					      cr->timeout_ms > 0, ap_done, it,
					      &it->op);
		it->rf = ct->na > 0 ? (int16_t)ct->asg_rf : nt.rf;
		memcpy(it->id, nt.id, 16);
	}
	it->err = err;
	snprintf(it->why, sizeof(it->why), "%s", err && why ? why : "");
	it->np = np;
	if (!err && nc) {
		it->cfg = malloc(nc * sizeof(*it->cfg));
		if (it->cfg) {
			memcpy(it->cfg, in, nc * sizeof(*it->cfg));
			it->nc = nc;
		}
	}
}

static int ct_cluster_all(struct kb_req *req, struct kb_resp *resp,
			  struct ct_req *cr)
{
	struct admin_park *ap = ap_new(req, KB_API_CREATE_TOPICS, cr->n);

	if (!ap)
		return KB_H_CLOSE;
	for (int32_t i = 0; i < cr->n; i++) {
		if (!ap_keep_name(&ap->items[i], cr->topics[i].name)) {
			ap_free(&ap->park);
			return KB_H_CLOSE;
		}
		ct_cluster(req, &cr->topics[i], cr, &ap->items[i]);
	}
	return ap_finish(ap, resp, cr->timeout_ms);
}

int kb_h_create_topics(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_wr *w = &resp->w;
	struct ct_req cr = { 0 };

	if (!ct_decode(req, &cr)) {
		ct_free(&cr);
		return KB_H_CLOSE;
	}
	if (req->b->cluster) {
		int rc = ct_cluster_all(req, resp, &cr);

		ct_free(&cr);
		return rc;
	}
	if (req->hdr.api_version >= 2)
		kb_wr_i32(w, 0);
	kb_wr_varray(w, req->flex, cr.n);
	for (int32_t i = 0; i < cr.n; i++)
		ct_topic(req, w, &cr.topics[i], cr.validate_only);
	kb_wr_tags(w, req->flex);
	ct_free(&cr);
	return KB_H_DONE;
}

/* DeleteTopics in a cluster: each topic marked for the controller. */
static int dt_cluster(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_cluster *cl = req->b->cluster;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	struct admin_park *ap;
	int32_t nt, i, timeout;

	nt = kb_rd_varray(rd, flex);
	ap = ap_new(req, KB_API_DELETE_TOPICS, nt);
	if (!ap)
		return KB_H_CLOSE;
	for (i = 0; i < nt; i++) {
		struct ap_item *it = &ap->items[i];
		char name[KB_TOPIC_NAME_MAX + 1] = "";
		const char *found = NULL, *why = NULL;
		const uint8_t *tid = NULL;
		int32_t np;
		struct kb_str s;

		s = ver >= 6 ? kb_rd_cnstr(rd) : kb_rd_vstr(rd, flex);
		if (ver >= 6) {
			kb_rd_uuid(rd, it->id);
			kb_rd_vtags(rd, flex);
		}
		if (!ap_keep_name(it, s)) {
			ap_free(&ap->park);
			return KB_H_CLOSE;
		}
		if (s.ptr) {
			if (kb_str_copy(name, sizeof(name), s))
				found = kb_cluster_topic_find(cl, name, NULL,
							      &tid, &np);
			if (!found)
				it->err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		} else {
			found = kb_cluster_topic_find(cl, NULL, it->id, &tid,
						      &np);
			if (!found)
				it->err = KB_ERR_UNKNOWN_TOPIC_ID;
		}
		if (found && !kb_req_may(req, KB_OP_DELETE, KB_RES_TOPIC,
					 found)) {
			it->err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
			found = NULL;
		}
		if (!found)
			continue;
		memcpy(it->id, tid, 16);
		if (!s.ptr) {
			/* Named in the response when asked for by id. */
			size_t l = strlen(found);

			it->raw = malloc(l + 1);
			if (it->raw) {
				memcpy(it->raw, found, l + 1);
				it->raw_len = (int32_t)l;
			}
		}
		snprintf(name, sizeof(name), "%s", found);
		it->err = kb_cluster_delete_topic(cl, name, &why, ap_done, it,
						  &it->op);
		snprintf(it->why, sizeof(it->why), "%s",
			 it->err && why ? why : "");
	}
	timeout = kb_rd_i32(rd);
	return ap_finish(ap, resp, timeout);
}

int kb_h_delete_topics(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd, scan;
	struct kb_wr *w = &resp->w;
	struct kb_broker *b = req->b;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	int32_t nt, i;

	scan = *rd;
	nt = kb_rd_varray(&scan, flex);
	for (i = 0; i < nt && !scan.err; i++) {
		if (ver >= 6) {
			uint8_t id[16];

			kb_rd_cnstr(&scan);
			kb_rd_uuid(&scan, id);
			kb_rd_vtags(&scan, flex);
		} else {
			kb_rd_vstr(&scan, flex);
		}
	}
	kb_rd_i32(&scan);
	kb_rd_vtags(&scan, flex);
	if (scan.err || nt < 0)
		return KB_H_CLOSE;
	if (b->cluster)
		return dt_cluster(req, resp);

	if (ver >= 1)
		kb_wr_i32(w, 0);
	nt = kb_rd_varray(rd, flex);
	kb_wr_varray(w, flex, nt);
	for (i = 0; i < nt; i++) {
		char name[KB_TOPIC_NAME_MAX + 1] = "";
		const struct kb_topic *t = NULL;
		uint8_t id[16] = { 0 };
		struct kb_str s;
		int16_t err = 0;

		s = ver >= 6 ? kb_rd_cnstr(rd) : kb_rd_vstr(rd, flex);
		if (ver >= 6) {
			kb_rd_uuid(rd, id);
			kb_rd_vtags(rd, flex);
		}
		if (s.ptr) {
			if (kb_str_copy(name, sizeof(name), s))
				t = kb_store_topic_find(b->store, name);
			if (!t)
				err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		} else {
			t = kb_store_topic_find_id(b->store, id);
			if (!t)
				err = KB_ERR_UNKNOWN_TOPIC_ID;
		}
		if (t && !kb_req_may(req, KB_OP_DELETE, KB_RES_TOPIC, t->name)) {
			err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
			t = NULL;
		}
		if (t) {
			memcpy(id, t->id, 16);
			snprintf(name, sizeof(name), "%s", t->name);
			err = store_err(kb_store_topic_delete(b->store, name),
					"deleting topic", name);
			if (!err)
				kb_dbg("deleted topic %s", name);
		}
		if (ver >= 6) {
			if (s.ptr)
				kb_wr_cstr(w, s.ptr, s.len);
			else
				kb_wr_cnstr(w, t ? name : NULL, -1);
			kb_wr_uuid(w, id);
		} else if (flex) {
			kb_wr_cstr(w, s.ptr, s.len);
		} else {
			kb_wr_str(w, s.ptr, s.len);
		}
		kb_wr_i16(w, err);
		if (ver >= 5)
			kb_wr_vnstr(w, flex, err ? err_text(err) : NULL);
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}

/* CreatePartitions in a cluster: the new assignment written to ZooKeeper,
 * the controller elects the new partitions' leaders. */
static int cp_cluster(struct kb_req *req, struct kb_resp *resp,
		      bool validate_only)
{
	struct kb_rd *rd = &req->rd;
	struct kb_cluster *cl = req->b->cluster;
	bool flex = req->flex;
	struct admin_park *ap;
	int32_t nt, i, timeout;

	nt = kb_rd_varray(rd, flex);
	ap = ap_new(req, KB_API_CREATE_PARTITIONS, nt);
	if (!ap)
		return KB_H_CLOSE;
	for (i = 0; i < nt; i++) {
		struct ap_item *it = &ap->items[i];
		char name[KB_TOPIC_NAME_MAX + 1] = "";
		struct kb_str s = kb_rd_vstr(rd, flex);
		int32_t count = kb_rd_i32(rd), na, arf, *asg = NULL, np;
		const char *found = NULL, *why = NULL;
		const uint8_t *tid;
		bool ok;

		/* assignments: nullable; each an array of broker ids. */
		na = read_assign_list_noidx(rd, flex, &asg, &arf, &ok);
		kb_rd_vtags(rd, flex);
		if (!ap_keep_name(it, s)) {
			free(asg);
			ap_free(&ap->park);
			return KB_H_CLOSE;
		}
		if (kb_str_copy(name, sizeof(name), s))
			found = kb_cluster_topic_find(cl, name, NULL, &tid, &np);
		if (found && !kb_req_may(req, KB_OP_ALTER, KB_RES_TOPIC, name))
			it->err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
		else if (!found)
			it->err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		else if (na >= 0 && !ok)
			it->err = KB_ERR_INVALID_REPLICA_ASSIGNMENT;
		else
			it->err = kb_cluster_create_partitions(
				cl, name, count, na >= 0 ? asg : NULL, na, arf,
				validate_only, &why, ap_done, it, &it->op);
		snprintf(it->why, sizeof(it->why), "%s",
			 it->err && why ? why : "");
		free(asg);
	}
	timeout = kb_rd_i32(rd);
	return ap_finish(ap, resp, timeout);
}

int kb_h_create_partitions(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd, scan;
	struct kb_wr *w = &resp->w;
	struct kb_broker *b = req->b;
	int32_t me = b->cfg->broker_id, nt, i;
	bool flex = req->flex, validate_only, ok;

	scan = *rd;
	nt = kb_rd_varray(&scan, flex);
	for (i = 0; i < nt && !scan.err; i++) {
		kb_rd_vstr(&scan, flex);
		kb_rd_i32(&scan);
		read_assignments(&scan, flex, me, false, &ok);
		kb_rd_vtags(&scan, flex);
	}
	kb_rd_i32(&scan);
	validate_only = kb_rd_bool(&scan);
	kb_rd_vtags(&scan, flex);
	if (scan.err || nt < 0)
		return KB_H_CLOSE;
	if (b->cluster)
		return cp_cluster(req, resp, validate_only);

	kb_wr_i32(w, 0);
	nt = kb_rd_varray(rd, flex);
	kb_wr_varray(w, flex, nt);
	for (i = 0; i < nt; i++) {
		char name[KB_TOPIC_NAME_MAX + 1];
		struct kb_str s = kb_rd_vstr(rd, flex);
		int32_t count = kb_rd_i32(rd), na;
		const struct kb_topic *t = NULL;
		int16_t err = 0;

		na = read_assignments(rd, flex, me, false, &ok);
		kb_rd_vtags(rd, flex);
		if (kb_str_copy(name, sizeof(name), s))
			t = kb_store_topic_find(b->store, name);
		if (t && !kb_req_may(req, KB_OP_ALTER, KB_RES_TOPIC, name))
			err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
		else if (!t)
			err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		else if (count <= t->n_partitions ||
			 count > KB_MAX_TOPIC_PARTITIONS)
			err = KB_ERR_INVALID_PARTITIONS;
		else if (na >= 0 && (!ok || na != count - t->n_partitions))
			err = KB_ERR_INVALID_REPLICA_ASSIGNMENT;
		else if (!validate_only) {
			err = store_err(kb_store_topic_grow(b->store, name,
							    count),
					"growing topic", name);
			if (!err)
				kb_dbg("topic %s now has %d partitions",
					name, count);
		}
		if (flex)
			kb_wr_cstr(w, s.ptr, s.len);
		else
			kb_wr_str(w, s.ptr, s.len);
		kb_wr_i16(w, err);
		kb_wr_vnstr(w, flex, err ? err_text(err) : NULL);
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}
