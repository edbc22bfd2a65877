// SPDX-License-Identifier: GPL-2.0
/*
 * ListOffsets: earliest, latest, max timestamp, or by timestamp.  The
 * request is decoded whole first, so a truncated one is closed unanswered.
 */
#include "handlers/api.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "proto/tplist.h"
#include "store/store.h"

struct lo_part {
	int32_t idx;
	int32_t epoch;		/* current_leader_epoch, -1 unknown */
	int64_t ts;
};

static void lo_read_part(struct kb_rd *rd, bool flex, int16_t ver,
			 void *part)
{
	struct lo_part *lp = part;

	lp->idx = kb_rd_i32(rd);
	lp->epoch = ver >= 4 ? kb_rd_i32(rd) : -1;
	lp->ts = kb_rd_i64(rd);
	if (ver == 0)
		kb_rd_i32(rd);	/* max_num_offsets */
	kb_rd_vtags(rd, flex);
}

static bool lo_decode(struct kb_req *req, struct kb_tp_list *l)
{
	struct kb_rd *rd = &req->rd;
	int16_t ver = req->hdr.api_version;

	kb_rd_i32(rd);			/* replica_id */
	if (ver >= 2)
		kb_rd_i8(rd);		/* isolation: LSO == HW here */
	if (!kb_tp_decode(rd, req->flex, ver, l, sizeof(struct lo_part),
			  lo_read_part))
		return false;
	kb_rd_vtags(rd, req->flex);
	return !rd->err;
}

static void lo_part(struct kb_req *req, struct kb_wr *w, const char *name,
		    const struct lo_part *lp)
{
	int16_t ver = req->hdr.api_version;
	int64_t off = -1, found_ts = -1;
	struct kb_partition *p = NULL;
	int16_t err = 0;

	if (name && !kb_req_may(req, KB_OP_DESCRIBE, KB_RES_TOPIC, name))
		err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
	else if (name)
		err = kb_leader_check(req->b, name, lp->idx, lp->epoch);
	if (name && !err)
		p = kb_store_partition(req->b->store, name, lp->idx);
	if (err)
		p = NULL;	/* not served by this broker */
	else if (!p)
		err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	else if (lp->ts < -3 || (lp->ts == -3 && ver < 7))
		err = KB_ERR_UNSUPPORTED_VERSION;
	else if (kb_partition_offset_for_time(p, lp->ts, &off, &found_ts) < 0)
		err = KB_ERR_KAFKA_STORAGE_ERROR;
	if (err) {
		off = -1;
		found_ts = -1;
	}
	kb_wr_i32(w, lp->idx);
	kb_wr_i16(w, err);
	if (ver == 0) {
		kb_wr_varray(w, req->flex, off >= 0 ? 1 : 0);
		if (off >= 0)
			kb_wr_i64(w, off);
	} else {
		kb_wr_i64(w, found_ts);
		kb_wr_i64(w, off);
		if (ver >= 4)
			kb_wr_i32(w, off >= 0 ? 0 : -1);
	}
	kb_wr_tags(w, req->flex);
}

int kb_h_list_offsets(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_wr *w = &resp->w;
	bool flex = req->flex;
	struct kb_tp_list l = { 0 };

	if (!lo_decode(req, &l)) {
		kb_tp_free(&l);
		return KB_H_CLOSE;
	}
	if (req->hdr.api_version >= 2)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
	kb_wr_varray(w, flex, l.n);
	for (int32_t i = 0; i < l.n; i++) {
		const struct kb_tp_topic *t = &l.topics[i];
		char name[KB_TOPIC_NAME_MAX + 1];
		bool name_ok = kb_str_copy(name, sizeof(name), t->name);

		kb_tp_write_name(w, flex, t->name);
		kb_wr_varray(w, flex, t->n);
		for (int32_t j = 0; j < t->n; j++)
			lo_part(req, w, name_ok ? name : NULL,
				kb_tp_part(t, sizeof(struct lo_part), j));
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	kb_tp_free(&l);
	return KB_H_DONE;
}
