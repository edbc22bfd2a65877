// SPDX-License-Identifier: GPL-2.0
/*
 * Produce: the request is decoded whole, then checked, then each
 * partition's record batches are appended to its log.
 */
#include <string.h>

#include "handlers/api.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "proto/tplist.h"
#include "common/log.h"
#include "store/store.h"

struct produce_part {
	int32_t idx;
	struct kb_bytes records;
};

/* A whole Produce request, decoded before anything is appended. */
struct produce_req {
	struct kb_str txn;		/* transactional_id, v3+ */
	int16_t acks;
	struct kb_tp_list topics;	/* of struct produce_part */
};

static void produce_read_part(struct kb_rd *rd, bool flex, int16_t ver,
			      void *part)
{
	struct produce_part *pp = part;

	(void)ver;
	pp->idx = kb_rd_i32(rd);
	pp->records = kb_rd_vnbytes(rd, flex);
	kb_rd_vtags(rd, flex);
}

/* Reads the whole request; false when it is truncated or malformed (or
 * memory runs out), so that such a frame appends nothing. */
static bool produce_decode(struct kb_req *req, struct produce_req *pr)
{
	struct kb_rd *rd = &req->rd;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;

	pr->txn = ver >= 3 ? kb_rd_vnstr(rd, flex) : (struct kb_str){ 0 };
	pr->acks = kb_rd_i16(rd);
	kb_rd_i32(rd);		/* timeout_ms: appends are synchronous */
	if (!kb_tp_decode(rd, flex, ver, &pr->topics,
			  sizeof(struct produce_part), produce_read_part))
		return false;
	kb_rd_vtags(rd, flex);
	return !rd->err;
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

/* Appends one partition's records; r->error set on failure. */
static void produce_part(struct kb_broker *b, int16_t ver,
			 const struct kb_topic *t,
			 const struct produce_part *pp,
			 struct kb_append_result *r)
{
	struct kb_partition *p;
	int ret;

	r->error = kb_leader_check(b, t->name, pp->idx, -1);
	if (r->error)
		return;
	p = kb_store_partition(b->store, t->name, pp->idx);
	if (!p) {
		r->error = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (!pp->records.ptr || pp->records.len <= 0) {
		r->error = KB_ERR_INVALID_RECORD;
		return;
	}
	if (ver < 3) {
		/*
		 * v0-2 carry message format v0/v1, which is not stored; they
		 * are advertised because librdkafka before 2.10 compresses
		 * only for brokers that list Produce v0.
		 */
		r->error = KB_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
		return;
	}
	ret = kb_partition_append(p, pp->records.ptr, pp->records.len, r);
	if (ret < 0) {
		kb_log_once(KB_LOG_ERR, "append to %s-%d failed: %s", t->name,
			    pp->idx, strerror(-ret));
		r->error = KB_ERR_KAFKA_STORAGE_ERROR;
	}
}

/* The topic's partitions, each appended unless @err; true when any
 * partition failed.  Sets *@appended when records were added. */
static bool produce_topic(struct kb_req *req, struct kb_wr *w,
			  const struct kb_tp_topic *pt, int16_t err,
			  bool *appended)
{
	struct kb_broker *b = req->b;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex, failed = false;
	char name[KB_TOPIC_NAME_MAX + 1];
	const struct kb_topic *t = NULL;

	kb_tp_write_name(w, flex, pt->name);
	if (!err) {
		if (!kb_str_copy(name, sizeof(name), pt->name) ||
		    !kb_topic_name_valid(name))
			err = KB_ERR_INVALID_TOPIC_EXCEPTION;
		else if (!kb_req_may(req, KB_OP_WRITE, KB_RES_TOPIC, name))
			err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
		else
			t = kb_store_topic_get_or_create(
				b->store, name, kb_req_auto_partitions(req, name),
				&err);
	}
	kb_wr_varray(w, flex, pt->n);
	for (int32_t j = 0; j < pt->n; j++) {
		const struct produce_part *pp = kb_tp_part(pt, sizeof(*pp), j);
		struct kb_append_result r = {
			.error = err, .base_offset = -1,
			.log_append_time = -1, .log_start_offset = -1,
		};

		if (!r.error && t)
			produce_part(b, ver, t, pp, &r);
		if (r.error) {
			r.base_offset = -1;
			failed = true;
		} else if (t) {
			*appended = true;
		}
		write_part(w, ver, flex, pp->idx, &r);
	}
	kb_wr_tags(w, flex);
	return failed;
}

int kb_h_produce(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_wr *w = &resp->w;
	struct produce_req pr = { 0 };
	bool appended = false, failed = false;
	int16_t topic_err = 0;

	if (!produce_decode(req, &pr)) {
		kb_tp_free(&pr.topics);
		return KB_H_CLOSE;
	}
	/* Transactions are not supported: refuse rather than write records a
	 * read_committed consumer could never see committed. */
	if (pr.txn.ptr)
		topic_err = KB_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	else if (pr.acks != 0 && pr.acks != 1 && pr.acks != -1)
		topic_err = KB_ERR_INVALID_REQUIRED_ACKS;

	kb_wr_varray(w, req->flex, pr.topics.n);
	for (int32_t i = 0; i < pr.topics.n; i++)
		failed |= produce_topic(req, w, &pr.topics.topics[i],
					topic_err, &appended);
	kb_tp_free(&pr.topics);
	if (req->hdr.api_version >= 1)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
	kb_wr_tags(w, req->flex);
	if (appended)
		req->b->wake = true;
	/*
	 * acks=0: the client expects no response at all.  As in Kafka, an
	 * error closes the connection instead, so the producer notices and
	 * refreshes its metadata rather than losing records unseen.
	 */
	if (pr.acks == 0 && failed) {
		resp->close_why = "acks=0 Produce failed for a partition";
		return KB_H_CLOSE;
	}
	if (pr.acks == 0)
		resp->none = true;
	return KB_H_DONE;
}
