// SPDX-License-Identifier: GPL-2.0
/* Produce: append each partition's record batches to its log. */
#include <string.h>

#include "handlers/api.h"
#include "proto/errors.h"
#include "common/log.h"
#include "store/store.h"

/* Walks the request without acting, so a truncated frame appends nothing. */
static bool produce_valid(struct kb_rd rd, bool flex)
{
	int32_t nt, np, i, j;

	nt = kb_rd_varray(&rd, flex);
	for (i = 0; i < nt && !rd.err; i++) {
		kb_rd_vstr(&rd, flex);
		np = kb_rd_varray(&rd, flex);
		for (j = 0; j < np && !rd.err; j++) {
			kb_rd_i32(&rd);
			kb_rd_vnbytes(&rd, flex);
			kb_rd_vtags(&rd, flex);
		}
		kb_rd_vtags(&rd, flex);
	}
	kb_rd_vtags(&rd, flex);
	return !rd.err && nt >= 0;
}

static void write_part(struct kb_wr *w, int16_t ver, bool flex, int32_t idx,
		       const struct kb_append_result *r)
{
	kb_wr_i32(w, idx);
	kb_wr_i16(w, r->error);
	kb_wr_i64(w, r->error ? -1 : r->base_offset);
	if (ver >= 2)
		kb_wr_i64(w, r->log_append_time);
	if (ver >= 5)
		kb_wr_i64(w, r->log_start_offset);
	if (ver >= 8) {
		kb_wr_varray(w, flex, 0);	/* record_errors */
		kb_wr_vnstr(w, flex, r->error ? r->error_message : NULL);
	}
	kb_wr_tags(w, flex);
}

int kb_h_produce(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	struct kb_broker *b = req->b;
	int16_t ver = req->hdr.api_version, acks, topic_err = 0;
	bool flex = req->flex, appended = false, failed = false;
	struct kb_str txn;
	int32_t nt, np, i, j;

	txn = ver >= 3 ? kb_rd_vnstr(rd, flex) : (struct kb_str){ 0 };
	acks = kb_rd_i16(rd);
	kb_rd_i32(rd);		/* timeout_ms: appends are synchronous */
	if (rd->err || !produce_valid(*rd, flex))
		return KB_H_CLOSE;
	/* Transactions are not supported: refuse rather than write records a
	 * read_committed consumer could never see committed. */
	if (txn.ptr)
		topic_err = KB_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	else if (acks != 0 && acks != 1 && acks != -1)
		topic_err = KB_ERR_INVALID_REQUIRED_ACKS;

	nt = kb_rd_varray(rd, flex);
	kb_wr_varray(w, flex, nt);
	for (i = 0; i < nt; i++) {
		char name[KB_TOPIC_NAME_MAX + 1];
		const struct kb_topic *t = NULL;
		struct kb_str s = kb_rd_vstr(rd, flex);
		int16_t err = topic_err;

		if (flex)
			kb_wr_cstr(w, s.ptr, s.len);
		else
			kb_wr_str(w, s.ptr, s.len);
		if (!err) {
			if (!kb_str_copy(name, sizeof(name), s) ||
			    !kb_topic_name_valid(name))
				err = KB_ERR_INVALID_TOPIC_EXCEPTION;
			else
				t = kb_store_topic_get_or_create(
					b->store, name, kb_auto_partitions(b),
					&err);
		}
		np = kb_rd_varray(rd, flex);
		kb_wr_varray(w, flex, np);
		for (j = 0; j < np; j++) {
			int32_t idx = kb_rd_i32(rd);
			struct kb_bytes rec = kb_rd_vnbytes(rd, flex);
			struct kb_append_result r = {
				.error = err, .base_offset = -1,
				.log_append_time = -1, .log_start_offset = -1,
			};
			struct kb_partition *p = NULL;
			int ret;

			kb_rd_vtags(rd, flex);
			if (!r.error && t) {
				p = kb_store_partition(b->store, t->name, idx);
				if (!p)
					r.error =
					    KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			}
			if (!r.error && p) {
				if (!rec.ptr || rec.len <= 0) {
					r.error = KB_ERR_INVALID_RECORD;
				} else if (ver < 3) {
					/*
					 * v0-2 carry message format v0/v1,
					 * which is not stored; they are
					 * advertised because librdkafka
					 * before 2.10 compresses only for
					 * brokers that list Produce v0.
					 */
					r.error =
					KB_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
				} else {
					ret = kb_partition_append(p, rec.ptr,
								  rec.len, &r);
					if (ret < 0) {
						kb_log_once(KB_LOG_ERR,
							    "append to %s-%d failed: %s",
							    t->name, idx,
							    strerror(-ret));
						r.error =
						    KB_ERR_KAFKA_STORAGE_ERROR;
					} else if (!r.error) {
						appended = true;
					}
				}
			}
			if (r.error) {
				r.base_offset = -1;
				failed = true;
			}
			write_part(w, ver, flex, idx, &r);
		}
		kb_rd_vtags(rd, flex);
		kb_wr_tags(w, flex);
	}
	kb_rd_vtags(rd, flex);
	if (ver >= 1)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
	kb_wr_tags(w, flex);
	if (appended)
		b->wake = true;
	/*
	 * acks=0: the client expects no response at all.  As in Kafka, an
	 * error closes the connection instead, so the producer notices and
	 * refreshes its metadata rather than losing records unseen.
	 */
	if (acks == 0 && failed) {
		resp->close_why = "acks=0 Produce failed for a partition";
		return KB_H_CLOSE;
	}
	if (acks == 0)
		resp->none = true;
	return KB_H_DONE;
}
