// SPDX-License-Identifier: GPL-2.0
/* ListOffsets: earliest, latest, max timestamp, or by timestamp. */
#include "handlers/api.h"
#include "proto/errors.h"
#include "store/store.h"

static bool list_offsets_valid(struct kb_rd rd, int16_t ver, bool flex)
{
	int32_t nt, np, i, j;

	nt = kb_rd_varray(&rd, flex);
	for (i = 0; i < nt && !rd.err; i++) {
		kb_rd_vstr(&rd, flex);
		np = kb_rd_varray(&rd, flex);
		for (j = 0; j < np && !rd.err; j++) {
			kb_rd_i32(&rd);
			if (ver >= 4)
				kb_rd_i32(&rd);
			kb_rd_i64(&rd);
			if (ver == 0)
				kb_rd_i32(&rd);
			kb_rd_vtags(&rd, flex);
		}
		kb_rd_vtags(&rd, flex);
	}
	kb_rd_vtags(&rd, flex);
	return !rd.err && nt >= 0;
}

int kb_h_list_offsets(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	int32_t nt, np, i, j;

	kb_rd_i32(rd);			/* replica_id */
	if (ver >= 2)
		kb_rd_i8(rd);		/* isolation: LSO == HW here */
	if (rd->err || !list_offsets_valid(*rd, ver, flex))
		return KB_H_CLOSE;
	if (ver >= 2)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
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
			int64_t ts, off = -1, found_ts = -1;
			struct kb_partition *p = NULL;
			int16_t err = 0;

			if (ver >= 4)
				kb_rd_i32(rd);	/* current_leader_epoch */
			ts = kb_rd_i64(rd);
			if (ver == 0)
				kb_rd_i32(rd);	/* max_num_offsets */
			kb_rd_vtags(rd, flex);
			if (name_ok)
				p = kb_store_partition(req->b->store, name,
						       idx);
			if (!p)
				err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (ts < -3 || (ts == -3 && ver < 7))
				err = KB_ERR_UNSUPPORTED_VERSION;
			else if (kb_partition_offset_for_time(p, ts, &off,
							      &found_ts) < 0)
				err = KB_ERR_KAFKA_STORAGE_ERROR;
			if (err) {
				off = -1;
				found_ts = -1;
			}
			kb_wr_i32(w, idx);
			kb_wr_i16(w, err);
			if (ver == 0) {
				kb_wr_varray(w, flex, off >= 0 ? 1 : 0);
				if (off >= 0)
					kb_wr_i64(w, off);
			} else {
				kb_wr_i64(w, found_ts);
				kb_wr_i64(w, off);
				if (ver >= 4)
					kb_wr_i32(w, off >= 0 ? 0 : -1);
			}
			kb_wr_tags(w, flex);
		}
		kb_rd_vtags(rd, flex);
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}
