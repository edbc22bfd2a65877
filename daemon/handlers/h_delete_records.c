// SPDX-License-Identifier: GPL-2.0
/*
 * DeleteRecords: moves each partition's log start offset forward (Kafka's
 * AdminClient deleteRecords, kafka-delete-records.sh).  The answer carries
 * the new low watermark; a Fetch below it gets OFFSET_OUT_OF_RANGE.
 */
#include "certs/cert.h"
#include "handlers/api.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "store/store.h"

static bool delete_records_valid(struct kb_rd rd, bool flex)
{
	int32_t nt, np, i, j;

	nt = kb_rd_varray(&rd, flex);
	for (i = 0; i < nt && !rd.err; i++) {
		kb_rd_vstr(&rd, flex);
		np = kb_rd_varray(&rd, flex);
		for (j = 0; j < np && !rd.err; j++) {
			kb_rd_i32(&rd);
			kb_rd_i64(&rd);
			kb_rd_vtags(&rd, flex);
		}
		kb_rd_vtags(&rd, flex);
	}
	kb_rd_i32(&rd);			/* timeout_ms */
	kb_rd_vtags(&rd, flex);
	return !rd.err && nt >= 0;
}

int kb_h_delete_records(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	bool flex = req->flex;
	bool maint = kb_cert_in_maintenance();
	int32_t nt, np, i, j;

	/* Read it all first: a malformed request deletes nothing. */
	if (!delete_records_valid(*rd, flex))
		return KB_H_CLOSE;
	kb_wr_i32(w, 0);		/* throttle_time_ms */
	nt = kb_rd_varray(rd, flex);
	kb_wr_varray(w, flex, nt);
	for (i = 0; i < nt; i++) {
		char name[KB_TOPIC_NAME_MAX + 1];
		struct kb_str s = kb_rd_vstr(rd, flex);
		bool name_ok = kb_str_copy(name, sizeof(name), s);

		if (flex)
			kb_wr_cstr(w, s.ptr, s.len);
		else
			kb_wr_str(w, s.ptr, s.len);
		np = kb_rd_varray(rd, flex);
		kb_wr_varray(w, flex, np);
		for (j = 0; j < np; j++) {
			int32_t idx = kb_rd_i32(rd);
			int64_t off = kb_rd_i64(rd), low = -1;
			struct kb_partition *p = NULL;
			bool denied;
			int16_t err;

			kb_rd_vtags(rd, flex);
			denied = name_ok && !kb_req_may(req, KB_OP_DELETE,
							KB_RES_TOPIC, name);
			if (name_ok && !denied)
				p = kb_store_partition(req->b->store, name,
						       idx);
			if (denied)
				err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
			else if (!p)
				err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (maint)
				/* No update in MAINTENANCE, as AlterConfigs. */
				err = KB_ERR_POLICY_VIOLATION;
			else
				err = kb_partition_delete_records(p, off,
								  &low);
			if (err && err != KB_ERR_OFFSET_OUT_OF_RANGE)
				low = -1;
			kb_wr_i32(w, idx);
			kb_wr_i64(w, low);
			kb_wr_i16(w, err);
			kb_wr_tags(w, flex);
		}
		kb_rd_vtags(rd, flex);
		kb_wr_tags(w, flex);
	}
	kb_rd_i32(rd);
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}
