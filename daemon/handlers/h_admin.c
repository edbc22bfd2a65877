// SPDX-License-Identifier: GPL-2.0
/* CreateTopics, DeleteTopics, CreatePartitions. */
#include <stdio.h>
#include <string.h>

#include "handlers/api.h"
#include "proto/errors.h"
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

/*
 * Reads the configs of one topic into @in and @ops; returns
 * KB_ERR_INVALID_CONFIG with *@why when one cannot be taken as it is.
 */
static int16_t read_configs(struct kb_rd *rd, bool flex, struct cfg_in *in,
			    struct kb_cfg_op *ops, size_t *n, const char **why)
{
	int32_t nc = kb_rd_varray(rd, flex), k;
	int16_t err = 0;

	*n = 0;
	for (k = 0; k < nc && !rd->err; k++) {
		struct kb_str key = kb_rd_vstr(rd, flex);
		struct kb_str val = kb_rd_vnstr(rd, flex);

		kb_rd_vtags(rd, flex);
		if (err)
			continue;
		if (*n == KB_MAX_TOPIC_CONFIGS) {
			err = KB_ERR_INVALID_CONFIG;
			*why = "too many configs";
		} else if (!kb_str_copy(in[*n].key, sizeof(in[*n].key), key)) {
			err = KB_ERR_INVALID_CONFIG;
			*why = "config name too long";
		} else if (!val.ptr) {
			err = KB_ERR_INVALID_CONFIG;
			*why = "null config values are not supported";
		} else if (!kb_str_copy(in[*n].value, sizeof(in[*n].value),
					val)) {
			err = KB_ERR_INVALID_CONFIG;
			*why = "config value too long";
		} else {
			ops[*n].key = in[*n].key;
			ops[*n].value = in[*n].value;
			(*n)++;
		}
	}
	return err;
}

static bool create_topics_valid(struct kb_rd rd, int16_t ver, bool flex)
{
	int32_t nt, i, k, nc;
	bool ok;

	nt = kb_rd_varray(&rd, flex);
	for (i = 0; i < nt && !rd.err; i++) {
		kb_rd_vstr(&rd, flex);
		kb_rd_i32(&rd);
		kb_rd_i16(&rd);
		read_assignments(&rd, flex, 0, true, &ok);
		nc = kb_rd_varray(&rd, flex);
		for (k = 0; k < nc && !rd.err; k++) {
			kb_rd_vstr(&rd, flex);
			kb_rd_vnstr(&rd, flex);
			kb_rd_vtags(&rd, flex);
		}
		kb_rd_vtags(&rd, flex);
	}
	kb_rd_i32(&rd);
	if (ver >= 1)
		kb_rd_bool(&rd);
	kb_rd_vtags(&rd, flex);
	return !rd.err && nt >= 0;
}

int kb_h_create_topics(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd, tail;
	struct kb_wr *w = &resp->w;
	struct kb_broker *b = req->b;
	int16_t ver = req->hdr.api_version;
	int32_t me = b->cfg->broker_id, nt, i, k;
	bool flex = req->flex, validate_only = false;

	if (!create_topics_valid(*rd, ver, flex))
		return KB_H_CLOSE;
	/* validate_only sits after the topics: peek at it first. */
	tail = *rd;
	nt = kb_rd_varray(&tail, flex);
	for (i = 0; i < nt; i++) {
		bool ok;
		int32_t nc;

		kb_rd_vstr(&tail, flex);
		kb_rd_i32(&tail);
		kb_rd_i16(&tail);
		read_assignments(&tail, flex, me, true, &ok);
		nc = kb_rd_varray(&tail, flex);
		for (k = 0; k < nc; k++) {
			kb_rd_vstr(&tail, flex);
			kb_rd_vnstr(&tail, flex);
			kb_rd_vtags(&tail, flex);
		}
		kb_rd_vtags(&tail, flex);
	}
	kb_rd_i32(&tail);
	if (ver >= 1)
		validate_only = kb_rd_bool(&tail);

	if (ver >= 2)
		kb_wr_i32(w, 0);
	nt = kb_rd_varray(rd, flex);
	kb_wr_varray(w, flex, nt);
	for (i = 0; i < nt; i++) {
		static struct cfg_in in[KB_MAX_TOPIC_CONFIGS];
		struct kb_cfg_op ops[KB_MAX_TOPIC_CONFIGS];
		char name[KB_TOPIC_NAME_MAX + 1];
		struct kb_str s = kb_rd_vstr(rd, flex);
		int32_t np = kb_rd_i32(rd), na;
		int16_t rf = kb_rd_i16(rd), err = 0, cerr;
		const struct kb_topic *t = NULL;
		const char *why = NULL;
		bool assign_ok;
		size_t nc;

		na = read_assignments(rd, flex, me, true, &assign_ok);
		cerr = read_configs(rd, flex, in, ops, &nc, &why);
		kb_rd_vtags(rd, flex);

		if (!kb_str_copy(name, sizeof(name), s) ||
		    !kb_topic_name_valid(name))
			err = KB_ERR_INVALID_TOPIC_EXCEPTION;
		else if (kb_store_topic_find(b->store, name))
			err = KB_ERR_TOPIC_ALREADY_EXISTS;
		else if (na > 0 && (np != -1 || rf != -1))
			err = KB_ERR_INVALID_REQUEST;
		else if (na > 0 && !assign_ok)
			err = KB_ERR_INVALID_REPLICA_ASSIGNMENT;
		else if (rf != -1 && rf != 1)
			err = KB_ERR_INVALID_REPLICATION_FACTOR;
		else if (cerr)
			err = cerr;
		if (na > 0)
			np = na;
		if (np == -1)
			np = b->cfg->num_partitions;
		if (!err && (np <= 0 || np > KB_MAX_TOPIC_PARTITIONS))
			err = KB_ERR_INVALID_PARTITIONS;
		if (!err) {
			err = store_err(kb_store_topic_create_cfg(b->store,
								  name, np,
								  ops, nc,
								  validate_only,
								  &why),
					"creating topic", name);
			if (!err && !validate_only)
				kb_dbg("created topic %s with %d partition(s)",
					name, np);
		}
		if (!err && !validate_only)
			t = kb_store_topic_find(b->store, name);

		if (flex)
			kb_wr_cstr(w, s.ptr, s.len);
		else
			kb_wr_str(w, s.ptr, s.len);
		if (ver >= 7) {
			static const uint8_t zero[16];

			kb_wr_uuid(w, t ? t->id : zero);
		}
		kb_wr_i16(w, err);
		if (ver >= 1)
			kb_wr_vnstr(w, flex, !err ? NULL :
				    why ? why : err_text(err));
		if (ver >= 5) {
			struct kb_topic_config tc[32];
			size_t n, c;

			kb_wr_i32(w, err ? -1 : np);
			kb_wr_i16(w, err ? -1 : 1);
			if (err) {
				kb_wr_carray(w, -1);
			} else {
				n = kb_topic_configs(b->cfg, b->store,
						     t ? name : NULL, tc, 32);
				/* validate_only: what the topic would get. */
				for (c = 0; !t && c < n; c++) {
					for (size_t o = 0; o < nc; o++) {
						if (strcmp(ops[o].key,
							   tc[c].name))
							continue;
						snprintf(tc[c].value,
							 sizeof(tc[c].value),
							 "%s", ops[o].value);
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
		}
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	if (validate_only)
		return KB_H_DONE;
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
		if (!t)
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
