// SPDX-License-Identifier: GPL-2.0
/*
 * Transaction APIs: not advertised, since kbrokerd has no transaction
 * coordinator.  A client that sends them anyway gets UNSUPPORTED_VERSION
 * in the response shape it expects (echoing topics and partitions).
 */
#include "handlers/api.h"
#include "proto/errors.h"

#define UNSUP KB_ERR_UNSUPPORTED_VERSION

/* Echoes topics[name, partitions[...]] with an error per partition.
 * @read_part reads one partition entry and returns its index; with
 * @int_array the partitions are a plain int32 array. */
static void echo_topics(struct kb_rd *rd, struct kb_wr *w, bool flex,
			int32_t (*read_part)(struct kb_rd *rd, bool flex,
					     int16_t ver),
			int16_t ver, bool int_array)
{
	int32_t nt = kb_rd_varray(rd, flex), np, i, j;

	kb_wr_varray(w, flex, nt < 0 ? 0 : nt);
	for (i = 0; i < nt && !rd->err; i++) {
		struct kb_str s = kb_rd_vstr(rd, flex);

		if (flex)
			kb_wr_cstr(w, s.ptr, s.len);
		else
			kb_wr_str(w, s.ptr, s.len);
		np = kb_rd_varray(rd, flex);
		kb_wr_varray(w, flex, np < 0 ? 0 : np);
		for (j = 0; j < np && !rd->err; j++) {
			kb_wr_i32(w, int_array ? kb_rd_i32(rd) :
				  read_part(rd, flex, ver));
			kb_wr_i16(w, UNSUP);
			kb_wr_tags(w, flex);
		}
		if (flex)
			kb_rd_vtags(rd, flex);
		kb_wr_tags(w, flex);
	}
}

static int32_t txn_offset_part(struct kb_rd *rd, bool flex, int16_t ver)
{
	int32_t idx = kb_rd_i32(rd);

	kb_rd_i64(rd);
	if (ver >= 2)
		kb_rd_i32(rd);
	kb_rd_vnstr(rd, flex);
	if (flex)
		kb_rd_vtags(rd, flex);
	return idx;
}

int kb_h_txn_unsupported(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	int32_t n, i;

	switch (req->hdr.api_key) {
	case KB_API_ADD_OFFSETS_TO_TXN:
	case KB_API_END_TXN:
		kb_wr_i32(w, 0);
		kb_wr_i16(w, UNSUP);
		break;
	case KB_API_LIST_TRANSACTIONS:
		kb_wr_i32(w, 0);
		kb_wr_i16(w, UNSUP);
		kb_wr_carray(w, 0);
		kb_wr_carray(w, 0);
		break;
	case KB_API_DESCRIBE_TRANSACTIONS:
		n = kb_rd_carray(rd);
		kb_wr_i32(w, 0);
		kb_wr_carray(w, n < 0 ? 0 : n);
		for (i = 0; i < n && !rd->err; i++) {
			struct kb_str s = kb_rd_cstr(rd);

			kb_wr_i16(w, UNSUP);
			kb_wr_cstr(w, s.ptr, s.len);
			kb_wr_cstr(w, "", 0);
			kb_wr_i32(w, -1);
			kb_wr_i64(w, -1);
			kb_wr_i64(w, -1);
			kb_wr_i16(w, -1);
			kb_wr_carray(w, 0);
			kb_wr_tags(w, true);
		}
		break;
	case KB_API_ADD_PARTITIONS_TO_TXN:
		kb_rd_vstr(rd, flex);	/* transactional_id */
		kb_rd_i64(rd);
		kb_rd_i16(rd);
		kb_wr_i32(w, 0);
		echo_topics(rd, w, flex, NULL, ver, true);
		break;
	case KB_API_TXN_OFFSET_COMMIT:
		kb_rd_vstr(rd, flex);
		kb_rd_vstr(rd, flex);
		kb_rd_i64(rd);
		kb_rd_i16(rd);
		if (ver >= 3) {
			kb_rd_i32(rd);
			kb_rd_vstr(rd, flex);
			kb_rd_vnstr(rd, flex);
		}
		kb_wr_i32(w, 0);
		echo_topics(rd, w, flex, txn_offset_part, ver, false);
		break;
	case KB_API_WRITE_TXN_MARKERS:
		n = kb_rd_varray(rd, flex);
		kb_wr_varray(w, flex, n < 0 ? 0 : n);
		for (i = 0; i < n && !rd->err; i++) {
			kb_wr_i64(w, kb_rd_i64(rd));
			kb_rd_i16(rd);
			kb_rd_bool(rd);
			echo_topics(rd, w, flex, NULL, ver, true);
			kb_rd_i32(rd);
			kb_rd_vtags(rd, flex);
			kb_wr_tags(w, flex);
		}
		break;
	default:
		return KB_H_CLOSE;
	}
	if (rd->err)
		return KB_H_CLOSE;
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}
