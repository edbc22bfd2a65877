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
	case KB_ERR_POLICY_VIOLATION:
		return "deleting topics and adding partitions are not done in a cluster yet";
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
 * when the counts differ or are out of range. */
static int32_t read_assign_list(struct kb_rd *rd, bool flex, int32_t **out,
				int32_t *rf, bool *ok)
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
		int32_t idx = kb_rd_i32(rd);

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

/* A whole CreateTopics request, decoded before any topic is made. */
struct ct_req {
	int32_t n;
	struct ct_topic *topics;
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
	kb_rd_i32(rd);			/* timeout_ms: creation is synchronous */
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
	uint8_t cid[16] = { 0 };
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
	if (!err && b->cluster) {
		const char *keys[KB_MAX_TOPIC_CONFIGS];
		const char *vals[KB_MAX_TOPIC_CONFIGS];
		struct kb_cluster_new_topic nt = {
			.name = name, .n_parts = np,
			.rf = ct->rf != -1 ? ct->rf :
			      (int16_t)b->cfg->default_replication_factor,
			.assign = ct->na > 0 ? ct->asg : NULL,
			.assign_rf = ct->asg_rf,
			.cfg_keys = keys, .cfg_vals = vals,
			.n_cfg = nc, .validate_only = validate_only,
		};

		for (size_t c = 0; c < nc; c++) {
			keys[c] = ops[c].key;
			vals[c] = ops[c].value;
		}
		err = kb_cluster_create_topic(b->cluster, &nt, &why);
		resp_rf = ct->na > 0 ? (int16_t)ct->asg_rf : nt.rf;
		if (!validate_only)
			memcpy(cid, nt.id, 16);
	} else if (!err) {
		err = store_err(kb_store_topic_create_cfg(b->store, name, np,
							  ops, nc,
							  validate_only, &why),
				"creating topic", name);
		if (!err && !validate_only)
			kb_dbg("created topic %s with %d partition(s)", name,
			       np);
	}
	if (!err && !validate_only && !b->cluster)
		t = kb_store_topic_find(b->store, name);

	if (flex)
		kb_wr_cstr(w, ct->name.ptr, ct->name.len);
	else
		kb_wr_str(w, ct->name.ptr, ct->name.len);
	if (ver >= 7) {
		static const uint8_t zero[16];

		kb_wr_uuid(w, t ? t->id : b->cluster && !err ? cid : zero);
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

int kb_h_create_topics(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_wr *w = &resp->w;
	struct ct_req cr = { 0 };

	if (!ct_decode(req, &cr)) {
		ct_free(&cr);
		return KB_H_CLOSE;
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
		} else if (t && b->cluster) {
			err = KB_ERR_POLICY_VIOLATION;
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
		else if (b->cluster)
			err = KB_ERR_POLICY_VIOLATION;
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
