// SPDX-License-Identifier: GPL-2.0
/*
 * OffsetForLeaderEpoch (v0-4): where an epoch ended in the leader's log.
 * A follower that becomes one asks this for the last epoch it holds and
 * cuts its log back to the answer before fetching; a consumer asks it to
 * notice a log truncated under it.  Answered by the partition's leader
 * only, with the current leader epoch checked as Fetch does.
 */
#include "handlers/api.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "proto/tplist.h"
#include "store/store.h"

struct ole_part {
	int32_t idx;
	int32_t current;	/* current_leader_epoch, -1 unchecked */
	int32_t epoch;		/* the epoch asked about */
};

static void ole_read_part(struct kb_rd *rd, bool flex, int16_t ver,
			  void *part)
{
	struct ole_part *op = part;

	op->idx = kb_rd_i32(rd);
	op->current = ver >= 2 ? kb_rd_i32(rd) : -1;
	op->epoch = kb_rd_i32(rd);
	kb_rd_vtags(rd, flex);
}

static void ole_part(struct kb_req *req, struct kb_wr *w, const char *name,
		     bool cluster_ok, const struct ole_part *op)
{
	int16_t ver = req->hdr.api_version, err = 0;
	int32_t end_epoch = -1;
	int64_t end = -1;
	struct kb_partition *p = NULL;

	if (!name)
		err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	else if (!cluster_ok &&
		 !kb_req_may(req, KB_OP_DESCRIBE, KB_RES_TOPIC, name))
		err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
	else
		err = kb_leader_check(req->b, name, op->idx, op->current);
	if (!err) {
		p = kb_store_partition(req->b->store, name, op->idx);
		if (!p)
			err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		else
			kb_partition_end_for_epoch(p, op->epoch, &end_epoch,
						   &end);
	}
	kb_wr_i16(w, err);
	kb_wr_i32(w, op->idx);
	if (ver >= 1)
		kb_wr_i32(w, err ? -1 : end_epoch);
	kb_wr_i64(w, err ? -1 : end);
	kb_wr_tags(w, req->flex);
}

int kb_h_offset_for_leader_epoch(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex, cluster_ok;
	struct kb_tp_list l = { 0 };

	if (ver >= 3)
		kb_rd_i32(rd);		/* replica_id */
	if (!kb_tp_decode(rd, flex, ver, &l, sizeof(struct ole_part),
			  ole_read_part) || (kb_rd_vtags(rd, flex), rd->err)) {
		kb_tp_free(&l);
		return KB_H_CLOSE;
	}
	/* As Kafka: CLUSTER_ACTION covers every topic, else DESCRIBE each. */
	cluster_ok = kb_req_may(req, KB_OP_CLUSTER_ACTION, KB_RES_CLUSTER,
				NULL);
	if (ver >= 2)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
	kb_wr_varray(w, flex, l.n);
	for (int32_t i = 0; i < l.n; i++) {
		const struct kb_tp_topic *t = &l.topics[i];
		char name[KB_TOPIC_NAME_MAX + 1];
		bool name_ok = kb_str_copy(name, sizeof(name), t->name) &&
			       kb_topic_name_valid(name);

		kb_tp_write_name(w, flex, t->name);
		kb_wr_varray(w, flex, t->n);
		for (int32_t j = 0; j < t->n; j++)
			ole_part(req, w, name_ok ? name : NULL, cluster_ok,
				 kb_tp_part(t, sizeof(struct ole_part), j));
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	kb_tp_free(&l);
	return KB_H_DONE;
}
