// SPDX-License-Identifier: GPL-2.0
/* Metadata and DescribeCluster: one broker, leader of everything. */
#include <stdio.h>
#include <string.h>

#include "handlers/api.h"
#include "handlers/authz.h"
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
			  kb_authorized_ops(req, KB_ACL_RES_TOPIC, t->name) :
			  NO_AUTH_OPS);
	kb_wr_tags(w, flex);
}

static void write_brokers(struct kb_req *req, struct kb_wr *w)
{
	kb_wr_varray(w, req->flex, 1);
	kb_wr_i32(w, req->b->cfg->broker_id);
	kb_wr_vstr(w, req->flex, req->adv_host);
	kb_wr_i32(w, req->adv_port);
	if (req->hdr.api_version >= 1)
		kb_wr_vnstr(w, req->flex, NULL);	/* rack */
	kb_wr_tags(w, req->flex);
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
		kb_wr_i32(w, b->cfg->broker_id);	/* controller */
	if (all) {
		size_t nt = kb_store_topic_count(b->store);

		kb_wr_varray(w, flex, (int32_t)nt);
		for (k = 0; k < nt; k++)
			write_topic(req, w, topic_ops, kb_store_topic_at(b->store, k),
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
			if (!s.ptr) {
				t = kb_store_topic_find_id(b->store, id);
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
			t = kb_store_topic_get_or_create(
				b->store, name, allow ? kb_auto_partitions(b) : 0,
				&err);
			write_topic(req, w, topic_ops, t, name, NULL, err);
		}
	}
	if (ver >= 8 && ver <= 10)
		kb_wr_i32(w, cluster_ops ?
			  kb_authorized_ops(req, KB_ACL_RES_CLUSTER, NULL) :
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
	kb_wr_i32(w, req->b->cfg->broker_id);
	if (err) {
		kb_wr_carray(w, 0);
	} else {
		kb_wr_carray(w, 1);
		kb_wr_i32(w, req->b->cfg->broker_id);
		kb_wr_cstr(w, req->adv_host, -1);
		kb_wr_i32(w, req->adv_port);
		kb_wr_cnstr(w, NULL, -1);
		kb_wr_tags(w, true);
	}
	kb_wr_i32(w, ops ? kb_authorized_ops(req, KB_ACL_RES_CLUSTER, NULL) :
		  NO_AUTH_OPS);
	kb_wr_tags(w, true);
	return KB_H_DONE;
}
