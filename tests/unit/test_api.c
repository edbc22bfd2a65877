// SPDX-License-Identifier: GPL-2.0
/*
 * The dispatcher and the data and admin request handlers (handlers/):
 * ApiVersions, captured librdkafka frames and every truncation of them,
 * and each served API at its lowest, first flexible and highest version.
 */
#include "api_case.h"

/* req-0-v7, captured from librdkafka 2.0.2 (kcat) */
static const uint8_t produce_v7[] = {
  0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x05, 0x00, 0x07, 0x72, 0x64,
  0x6b, 0x61, 0x66, 0x6b, 0x61, 0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x75,
  0x30, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x63, 0x61, 0x70, 0x32, 0x00,
  0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x46, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x00,
  0x00, 0x00, 0x00, 0x02, 0x6f, 0xfb, 0x56, 0x0d, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x01, 0xa2, 0x21, 0x2f, 0x69, 0xd5, 0x00, 0x00,
  0x01, 0xa2, 0x21, 0x2f, 0x69, 0xd5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
  0x10, 0x00, 0x00, 0x00, 0x01, 0x04, 0x78, 0x78, 0x00
};

/* req-3-v4, captured from librdkafka 2.0.2 (kcat) */
static const uint8_t metadata_v4[] = {
  0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x07, 0x72, 0x64,
  0x6b, 0x61, 0x66, 0x6b, 0x61, 0xff, 0xff, 0xff, 0xff, 0x01
};

/* req-1-v11, captured from librdkafka 2.0.2 (kcat) */
static const uint8_t fetch_v11[] = {
  0x00, 0x01, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x07, 0x00, 0x07, 0x72, 0x64,
  0x6b, 0x61, 0x66, 0x6b, 0x61, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01,
  0xf4, 0x00, 0x00, 0x00, 0x01, 0x03, 0x20, 0x00, 0x00, 0x01, 0x00, 0x00,
  0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04,
  0x63, 0x61, 0x70, 0x32, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x10, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00
};

/* req-18-v3, captured from librdkafka 2.0.2 (kcat) */
static const uint8_t api_versions_v3[] = {
  0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x72, 0x64,
  0x6b, 0x61, 0x66, 0x6b, 0x61, 0x00, 0x0b, 0x6c, 0x69, 0x62, 0x72, 0x64,
  0x6b, 0x61, 0x66, 0x6b, 0x61, 0x06, 0x32, 0x2e, 0x30, 0x2e, 0x32, 0x00
};

static void test_api_versions(void)
{
	static const uint8_t v99[] = { 0, 18, 0, 99, 0, 0, 0, 42, 0xff, 0xff };
	struct kb_resp resp;
	struct kb_rd rd;
	int32_t n, i;
	bool has_produce = false, has_txn = false;

	ok(run(v99, sizeof(v99), &resp) == KB_H_DONE,
	   "ApiVersions v99 is answered");
	kb_rd_init(&rd, resp.w.buf + 4, resp.w.len - 4);
	ok(kb_rd_i32(&rd) == 42, "correlation id echoed (header v0)");
	ok(kb_rd_i16(&rd) == KB_ERR_UNSUPPORTED_VERSION,
	   "error UNSUPPORTED_VERSION");
	n = kb_rd_array(&rd);
	for (i = 0; i < n; i++) {
		int16_t key = kb_rd_i16(&rd), lo = kb_rd_i16(&rd),
			hi = kb_rd_i16(&rd);

		if (key == KB_API_PRODUCE && lo == 0 && hi == 9)
			has_produce = true;
		if (key == KB_API_END_TXN)
			has_txn = true;
	}
	ok(n > 5 && has_produce && !has_txn && !rd.err && !kb_rd_left(&rd),
	   "v0 body lists the ranges, no transaction APIs");
	kb_resp_free(&resp);

	ok(run(api_versions_v3, sizeof(api_versions_v3), &resp) == KB_H_DONE,
	   "ApiVersions v3 from librdkafka is answered");
	kb_rd_init(&rd, resp.w.buf + 4, resp.w.len - 4);
	kb_rd_i32(&rd);
	ok(kb_rd_i16(&rd) == 0 && kb_rd_carray(&rd) > 5,
	   "v3 uses header v0 and compact arrays");
	kb_resp_free(&resp);

	static const uint8_t unknown[] = { 0, 99, 0, 0, 0, 0, 0, 1, 0xff, 0xff };

	ok(run(unknown, sizeof(unknown), &resp) == KB_H_CLOSE,
	   "unknown api key closes the connection");
	kb_resp_free(&resp);
	/* A Produce v2 with a message format v1 set: refused, not stored. */
	static const uint8_t old_produce[] = {
		0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff,	/* header */
		0, 1, 0, 0, 0x13, 0x88, 0, 0, 0, 1,	/* acks, timeout, 1 */
		0, 4, 'o', 'l', 'd', '0', 0, 0, 0, 1,	/* topic, 1 */
		0, 0, 0, 0, 0, 0, 0, 18,		/* partition 0, 18 B */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6,	/* offset, size */
		0, 0, 0, 0, 1, 0 };			/* crc, magic 1 */

	ok(run(old_produce, sizeof(old_produce), &resp) == KB_H_DONE &&
	   resp.w.len == 4 + 4 + 4 + 2 + 4 + 4 + 4 + 2 + 8 + 8 + 4 &&
	   (resp.w.buf[26] << 8 | resp.w.buf[27]) ==
		   KB_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
	   "Produce v2 with message format v1: UNSUPPORTED_FOR_MESSAGE_FORMAT");
	kb_resp_free(&resp);
}
static void test_produce_fetch(void)
{
	struct kb_resp resp;
	struct kb_rd rd;

	/* produce_v7 targets topic cap2 partition 2: have it exist. */
	kb_store_topic_create(br.store, "cap2", 3);
	ok(run(produce_v7, sizeof(produce_v7), &resp) == KB_H_DONE,
	   "captured Produce v7 is handled");
	kb_rd_init(&rd, resp.w.buf + 4, resp.w.len - 4);
	kb_rd_i32(&rd);
	ok(kb_rd_array(&rd) == 1, "one topic in the Produce response");
	kb_rd_str(&rd);
	ok(kb_rd_array(&rd) == 1, "one partition");
	kb_rd_i32(&rd);
	ok(kb_rd_i16(&rd) == 0, "appended without error");
	kb_resp_free(&resp);
}

/* The record batch of produce_v7 (one record), appended again and again. */
#define BATCH (produce_v7 + 47)
#define BATCH_LEN 70

static void produce_req(struct kb_wr *w, int16_t v, bool fl)
{
	if (v >= 3)
		kb_wr_vnstr(w, fl, NULL);	/* transactional_id */
	kb_wr_i16(w, -1);		/* acks */
	kb_wr_i32(w, 5000);
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "cap2");
	kb_wr_varray(w, fl, 1);
	kb_wr_i32(w, 1);
	kb_wr_vbytes(w, fl, BATCH, BATCH_LEN);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
}

static void produce_resp(struct kb_rd *rd, int16_t v, bool fl,
			 const struct kb_resp *resp)
{
	(void)resp;
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "cap2"));
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i32(rd) == 1);
	/* v0-2 are served only to be listed: their formats are not stored. */
	EXPECT(kb_rd_i16(rd) ==
	       (v < 3 ? KB_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT : 0));
	EXPECT(v < 3 ? kb_rd_i64(rd) == -1 : kb_rd_i64(rd) >= 0);
	if (v >= 2)
		EXPECT(kb_rd_i64(rd) == -1);	/* log_append_time */
	if (v >= 5)
		EXPECT(kb_rd_i64(rd) == 0);	/* log_start_offset */
	if (v >= 8) {
		EXPECT(kb_rd_varray(rd, fl) == 0);
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
	}
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);	/* throttle_time_ms */
	kb_rd_vtags(rd, fl);
}

static void fetch_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_i32(w, -1);		/* replica_id */
	kb_wr_i32(w, 0);		/* max_wait_ms */
	kb_wr_i32(w, 1);		/* min_bytes */
	kb_wr_i32(w, 1 << 20);		/* max_bytes */
	kb_wr_i8(w, 0);			/* isolation_level */
	if (v >= 7) {
		kb_wr_i32(w, 0);	/* session_id */
		kb_wr_i32(w, -1);	/* session_epoch */
	}
	kb_wr_varray(w, fl, 1);
	if (v >= 13)
		kb_wr_uuid(w, kb_store_topic_find(br.store, "cap2")->id);
	else
		kb_wr_vstr(w, fl, "cap2");
	kb_wr_varray(w, fl, 1);
	kb_wr_i32(w, 1);
	if (v >= 9)
		kb_wr_i32(w, -1);	/* current_leader_epoch */
	kb_wr_i64(w, 0);		/* fetch_offset */
	if (v >= 12)
		kb_wr_i32(w, -1);	/* last_fetched_epoch */
	if (v >= 5)
		kb_wr_i64(w, -1);	/* log_start_offset */
	kb_wr_i32(w, 1 << 20);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	if (v >= 7)
		kb_wr_varray(w, fl, 0);	/* forgotten_topics_data */
	if (v >= 11)
		kb_wr_vstr(w, fl, "");	/* rack_id */
	kb_wr_tags(w, fl);
}

static void fetch_resp(struct kb_rd *rd, int16_t v, bool fl,
		       const struct kb_resp *resp)
{
	int64_t hw, len;

	EXPECT(kb_rd_i32(rd) == 0);
	if (v >= 7) {
		EXPECT(kb_rd_i16(rd) == 0);
		EXPECT(kb_rd_i32(rd) == 0);	/* sessionless */
	}
	EXPECT(kb_rd_varray(rd, fl) == 1);
	if (v >= 13) {
		uint8_t id[16];

		kb_rd_uuid(rd, id);
		EXPECT(!memcmp(id, kb_store_topic_find(br.store, "cap2")->id,
			       16));
	} else {
		EXPECT(str_is(kb_rd_vstr(rd, fl), "cap2"));
	}
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i32(rd) == 1);
	EXPECT(kb_rd_i16(rd) == 0);
	hw = kb_rd_i64(rd);
	EXPECT(hw >= 1);
	EXPECT(kb_rd_i64(rd) == hw);		/* last_stable_offset */
	if (v >= 5)
		EXPECT(kb_rd_i64(rd) == 0);	/* log_start_offset */
	EXPECT(kb_rd_varray(rd, fl) == 0);	/* aborted_transactions */
	if (v >= 11)
		EXPECT(kb_rd_i32(rd) == -1);	/* preferred_read_replica */
	len = fl ? (int64_t)kb_rd_uvarint(rd) - 1 : kb_rd_i32(rd);
	/* The record bytes follow as a file slice, not in the buffer. */
	EXPECT(len >= BATCH_LEN && (size_t)len == resp->slice_bytes);
	EXPECT(resp->n_slices == 1 &&
	       resp->slices[0].at == (size_t)(rd->p - resp->w.buf));
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
}

static void list_offsets_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_i32(w, -1);		/* replica_id */
	if (v >= 2)
		kb_wr_i8(w, 0);		/* isolation_level */
	kb_wr_varray(w, fl, 2);
	kb_wr_vstr(w, fl, "cap2");
	kb_wr_varray(w, fl, 1);
	kb_wr_i32(w, 1);
	if (v >= 4)
		kb_wr_i32(w, -1);	/* current_leader_epoch */
	kb_wr_i64(w, -1);		/* latest */
	if (v == 0)
		kb_wr_i32(w, 1);	/* max_num_offsets */
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_vstr(w, fl, "no-such-topic");
	kb_wr_varray(w, fl, 1);
	kb_wr_i32(w, 0);
	if (v >= 4)
		kb_wr_i32(w, -1);
	kb_wr_i64(w, -2);		/* earliest */
	if (v == 0)
		kb_wr_i32(w, 1);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
}

static void list_offsets_resp(struct kb_rd *rd, int16_t v, bool fl,
			      const struct kb_resp *resp)
{
	int i;

	(void)resp;
	if (v >= 2)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2; i++) {
		EXPECT(str_is(kb_rd_vstr(rd, fl), i ? "no-such-topic" : "cap2"));
		EXPECT(kb_rd_varray(rd, fl) == 1);
		EXPECT(kb_rd_i32(rd) == (i ? 0 : 1));
		EXPECT(kb_rd_i16(rd) ==
		       (i ? KB_ERR_UNKNOWN_TOPIC_OR_PARTITION : 0));
		if (v == 0) {
			EXPECT(kb_rd_array(rd) == (i ? 0 : 1));
			if (!i)
				EXPECT(kb_rd_i64(rd) >= 1);
		} else {
			EXPECT(kb_rd_i64(rd) == -1);	/* timestamp */
			EXPECT(i ? kb_rd_i64(rd) == -1 : kb_rd_i64(rd) >= 1);
			if (v >= 4)
				EXPECT(kb_rd_i32(rd) == (i ? -1 : 0));
		}
		kb_rd_vtags(rd, fl);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

static void metadata_req(struct kb_wr *w, int16_t v, bool fl)
{
	static const uint8_t zero[16];

	kb_wr_varray(w, fl, 1);
	if (v >= 10) {
		kb_wr_uuid(w, zero);
		kb_wr_cnstr(w, "cap2", -1);
	} else {
		kb_wr_vstr(w, fl, "cap2");
	}
	kb_wr_tags(w, fl);
	if (v >= 4)
		kb_wr_bool(w, false);	/* allow_auto_topic_creation */
	if (v >= 8 && v <= 10)
		kb_wr_bool(w, false);	/* include_cluster_authorized_ops */
	if (v >= 8)
		kb_wr_bool(w, false);	/* include_topic_authorized_ops */
	kb_wr_tags(w, fl);
}

static void metadata_resp(struct kb_rd *rd, int16_t v, bool fl,
			  const struct kb_resp *resp)
{
	const struct kb_topic *t = kb_store_topic_find(br.store, "cap2");
	int32_t me = cfg.broker_id, i, np;
	uint8_t id[16];

	(void)resp;
	if (v >= 3)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i32(rd) == me);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "localhost"));
	EXPECT(kb_rd_i32(rd) == 9092);
	if (v >= 1)
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);	/* rack */
	kb_rd_vtags(rd, fl);
	if (v >= 2)
		EXPECT(str_is(kb_rd_vnstr(rd, fl), "test-cluster"));
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == me);		/* controller */
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(str_is(kb_rd_vnstr(rd, fl), "cap2"));
	if (v >= 10) {
		kb_rd_uuid(rd, id);
		EXPECT(t && !memcmp(id, t->id, 16));
	}
	if (v >= 1)
		EXPECT(!kb_rd_bool(rd));		/* is_internal */
	np = kb_rd_varray(rd, fl);
	EXPECT(t && np == t->n_partitions);
	for (i = 0; i < np && !rd->err; i++) {
		EXPECT(kb_rd_i16(rd) == 0);
		EXPECT(kb_rd_i32(rd) == i);
		EXPECT(kb_rd_i32(rd) == me);		/* leader */
		if (v >= 7)
			kb_rd_i32(rd);			/* leader_epoch */
		expect_me(rd, fl, me);			/* replicas */
		expect_me(rd, fl, me);			/* isr */
		if (v >= 5)
			EXPECT(kb_rd_varray(rd, fl) == 0);
		kb_rd_vtags(rd, fl);
	}
	if (v >= 8)
		kb_rd_i32(rd);			/* topic_authorized_operations */
	kb_rd_vtags(rd, fl);
	if (v >= 8 && v <= 10)
		kb_rd_i32(rd);			/* cluster_authorized_operations */
	kb_rd_vtags(rd, fl);
}

static void create_topics_req(struct kb_wr *w, int16_t v, bool fl)
{
	char name[16];

	snprintf(name, sizeof(name), "ct-v%d", v);
	kb_wr_varray(w, fl, 2);
	kb_wr_vstr(w, fl, name);
	kb_wr_i32(w, 2);		/* num_partitions */
	kb_wr_i16(w, 1);		/* replication_factor */
	kb_wr_varray(w, fl, 0);		/* assignments */
	kb_wr_varray(w, fl, 1);		/* configs */
	kb_wr_vstr(w, fl, "retention.ms");
	kb_wr_vnstr(w, fl, "3600000");
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_vstr(w, fl, "cap2");	/* exists already */
	kb_wr_i32(w, -1);
	kb_wr_i16(w, -1);
	kb_wr_varray(w, fl, 0);
	kb_wr_varray(w, fl, 0);
	kb_wr_tags(w, fl);
	kb_wr_i32(w, 5000);		/* timeout_ms */
	if (v >= 1)
		kb_wr_bool(w, false);	/* validate_only */
	kb_wr_tags(w, fl);
}

static void create_topics_resp(struct kb_rd *rd, int16_t v, bool fl,
			       const struct kb_resp *resp)
{
	static const uint8_t zero[16];
	const struct kb_topic *t;
	char name[16];
	uint8_t id[16];
	int32_t i, k, nc;
	bool retention = false;

	(void)resp;
	snprintf(name, sizeof(name), "ct-v%d", v);
	t = kb_store_topic_find(br.store, name);
	EXPECT(t && t->n_partitions == 2);
	if (v >= 2)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2 && !rd->err; i++) {
		EXPECT(str_is(kb_rd_vstr(rd, fl), i ? "cap2" : name));
		if (v >= 7) {
			kb_rd_uuid(rd, id);
			EXPECT(!memcmp(id, i ? zero : t ? t->id : zero, 16));
		}
		EXPECT(kb_rd_i16(rd) == (i ? KB_ERR_TOPIC_ALREADY_EXISTS : 0));
		if (v >= 1)
			EXPECT(!kb_rd_vnstr(rd, fl).ptr == !i);
		if (v >= 5) {
			EXPECT(kb_rd_i32(rd) == (i ? -1 : 2));
			EXPECT(kb_rd_i16(rd) == (i ? -1 : 1));
			nc = kb_rd_carray(rd);
			EXPECT(i ? nc == -1 : nc > 0);
			for (k = 0; k < nc && !rd->err; k++) {
				bool ours = str_is(kb_rd_cstr(rd),
						   "retention.ms");
				struct kb_str val = kb_rd_cnstr(rd);

				kb_rd_bool(rd);		/* read_only */
				if (ours) {
					retention = true;
					EXPECT(str_is(val, "3600000"));
					EXPECT(kb_rd_i8(rd) == 1);
				} else {
					kb_rd_i8(rd);	/* config_source */
				}
				EXPECT(!kb_rd_bool(rd));	/* is_sensitive */
				kb_rd_tags(rd);
			}
		}
		kb_rd_vtags(rd, fl);
	}
	if (v >= 5)
		EXPECT(retention);
	kb_rd_vtags(rd, fl);
}

/* DeleteTopics vN deletes dt-vN (by id from v6), made here first. */
static void delete_topics_req(struct kb_wr *w, int16_t v, bool fl)
{
	const struct kb_topic *t;
	char name[16];

	snprintf(name, sizeof(name), "dt-v%d", v);
	kb_store_topic_create(br.store, name, 1);
	t = kb_store_topic_find(br.store, name);
	kb_wr_varray(w, fl, 2);
	if (v >= 6) {
		kb_wr_cnstr(w, NULL, -1);
		kb_wr_uuid(w, t ? t->id : NULL);
		kb_wr_tags(w, fl);
		kb_wr_cnstr(w, "no-such-topic", -1);
		kb_wr_uuid(w, (const uint8_t[16]){ 0 });
		kb_wr_tags(w, fl);
	} else {
		kb_wr_vstr(w, fl, name);
		kb_wr_vstr(w, fl, "no-such-topic");
	}
	kb_wr_i32(w, 5000);
	kb_wr_tags(w, fl);
}

static void delete_topics_resp(struct kb_rd *rd, int16_t v, bool fl,
			       const struct kb_resp *resp)
{
	char name[16];
	uint8_t id[16];
	int i;

	(void)resp;
	snprintf(name, sizeof(name), "dt-v%d", v);
	EXPECT(!kb_store_topic_find(br.store, name));
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2 && !rd->err; i++) {
		EXPECT(str_is(kb_rd_vnstr(rd, fl), i ? "no-such-topic" : name));
		if (v >= 6) {
			kb_rd_uuid(rd, id);
			EXPECT(i || memcmp(id, (uint8_t[16]){ 0 }, 16));
		}
		EXPECT(kb_rd_i16(rd) ==
		       (i ? KB_ERR_UNKNOWN_TOPIC_OR_PARTITION : 0));
		if (v >= 5)
			EXPECT(!kb_rd_vnstr(rd, fl).ptr == !i);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

/* CreatePartitions vN grows cp-vN from 1 to 3 partitions. */
static void create_partitions_req(struct kb_wr *w, int16_t v, bool fl)
{
	char name[16];
	int i;

	snprintf(name, sizeof(name), "cp-v%d", v);
	kb_store_topic_create(br.store, name, 1);
	kb_wr_varray(w, fl, 2);
	kb_wr_vstr(w, fl, name);
	kb_wr_i32(w, 3);		/* count */
	kb_wr_varray(w, fl, 2);		/* assignments */
	for (i = 0; i < 2; i++) {
		kb_wr_varray(w, fl, 1);
		kb_wr_i32(w, cfg.broker_id);
		kb_wr_tags(w, fl);
	}
	kb_wr_tags(w, fl);
	kb_wr_vstr(w, fl, "no-such-topic");
	kb_wr_i32(w, 2);
	kb_wr_varray(w, fl, -1);
	kb_wr_tags(w, fl);
	kb_wr_i32(w, 5000);		/* timeout_ms */
	kb_wr_bool(w, false);		/* validate_only */
	kb_wr_tags(w, fl);
}

static void create_partitions_resp(struct kb_rd *rd, int16_t v, bool fl,
				   const struct kb_resp *resp)
{
	const struct kb_topic *t;
	char name[16];
	int i;

	(void)resp;
	snprintf(name, sizeof(name), "cp-v%d", v);
	t = kb_store_topic_find(br.store, name);
	EXPECT(t && t->n_partitions == 3);
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2 && !rd->err; i++) {
		EXPECT(str_is(kb_rd_vstr(rd, fl), i ? "no-such-topic" : name));
		EXPECT(kb_rd_i16(rd) ==
		       (i ? KB_ERR_UNKNOWN_TOPIC_OR_PARTITION : 0));
		EXPECT(!kb_rd_vnstr(rd, fl).ptr == !i);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

static void describe_configs_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_varray(w, fl, 2);
	kb_wr_i8(w, 2);			/* TOPIC */
	kb_wr_vstr(w, fl, "cap2");
	kb_wr_varray(w, fl, -1);	/* all keys */
	kb_wr_tags(w, fl);
	kb_wr_i8(w, 4);			/* BROKER, this one */
	kb_wr_vstr(w, fl, "");
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "log.dirs");
	kb_wr_tags(w, fl);
	if (v >= 1)
		kb_wr_bool(w, true);	/* include_synonyms */
	if (v >= 3)
		kb_wr_bool(w, true);	/* include_documentation */
	kb_wr_tags(w, fl);
}

static void describe_configs_resp(struct kb_rd *rd, int16_t v, bool fl,
				  const struct kb_resp *resp)
{
	int32_t i, k, n, s, ns;
	bool retention = false;

	(void)resp;
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2 && !rd->err; i++) {
		EXPECT(kb_rd_i16(rd) == 0);
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
		EXPECT(kb_rd_i8(rd) == (i ? 4 : 2));
		EXPECT(str_is(kb_rd_vstr(rd, fl), i ? "" : "cap2"));
		n = kb_rd_varray(rd, fl);
		EXPECT(i ? n == 1 : n > 1);
		for (k = 0; k < n && !rd->err; k++) {
			struct kb_str name = kb_rd_vstr(rd, fl);

			kb_rd_vnstr(rd, fl);		/* value */
			if (i)
				EXPECT(str_is(name, "log.dirs"));
			retention |= str_is(name, "retention.ms");
			kb_rd_bool(rd);			/* read_only */
			kb_rd_i8(rd);		/* is_default / source */
			EXPECT(!kb_rd_bool(rd));	/* is_sensitive */
			ns = v >= 1 ? kb_rd_varray(rd, fl) : 0;
			for (s = 0; s < ns && !rd->err; s++) {
				kb_rd_vstr(rd, fl);
				kb_rd_vnstr(rd, fl);
				kb_rd_i8(rd);
				kb_rd_vtags(rd, fl);
			}
			if (v >= 3) {
				kb_rd_i8(rd);		/* config_type */
				kb_rd_vnstr(rd, fl);	/* documentation */
			}
			kb_rd_vtags(rd, fl);
		}
		kb_rd_vtags(rd, fl);
	}
	EXPECT(retention);
	kb_rd_vtags(rd, fl);
}

static void init_producer_id_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vnstr(w, fl, NULL);	/* transactional_id */
	kb_wr_i32(w, 60000);		/* transaction_timeout_ms */
	if (v >= 3) {
		kb_wr_i64(w, -1);	/* producer_id */
		kb_wr_i16(w, -1);	/* producer_epoch */
	}
	kb_wr_tags(w, fl);
}

static void init_producer_id_resp(struct kb_rd *rd, int16_t v, bool fl,
				  const struct kb_resp *resp)
{
	(void)v;
	(void)resp;
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(kb_rd_i64(rd) >= 0);
	EXPECT(kb_rd_i16(rd) == 0);
	kb_rd_vtags(rd, fl);
}

static void describe_cluster_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_bool(w, false);	/* include_cluster_authorized_operations */
	if (v >= 1)
		kb_wr_i8(w, 1);	/* endpoint_type: brokers */
	kb_wr_tags(w, fl);
}

static void describe_cluster_resp(struct kb_rd *rd, int16_t v, bool fl,
				  const struct kb_resp *resp)
{
	(void)resp;
	EXPECT(fl);
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(!kb_rd_cnstr(rd).ptr);
	if (v >= 1)
		EXPECT(kb_rd_i8(rd) == 1);
	EXPECT(str_is(kb_rd_cstr(rd), "test-cluster"));
	EXPECT(kb_rd_i32(rd) == cfg.broker_id);	/* controller */
	EXPECT(kb_rd_carray(rd) == 1);
	EXPECT(kb_rd_i32(rd) == cfg.broker_id);
	EXPECT(str_is(kb_rd_cstr(rd), "localhost"));
	EXPECT(kb_rd_i32(rd) == 9092);
	EXPECT(!kb_rd_cnstr(rd).ptr);		/* rack */
	kb_rd_tags(rd);
	kb_rd_i32(rd);			/* cluster_authorized_operations */
	kb_rd_tags(rd);
}

static void test_round_trips(void)
{
	api_cases(KB_API_PRODUCE, produce_req, produce_resp);
	api_cases(KB_API_FETCH, fetch_req, fetch_resp);
	api_cases(KB_API_LIST_OFFSETS, list_offsets_req, list_offsets_resp);
	api_cases(KB_API_METADATA, metadata_req, metadata_resp);
	api_cases(KB_API_CREATE_TOPICS, create_topics_req, create_topics_resp);
	api_cases(KB_API_DELETE_TOPICS, delete_topics_req, delete_topics_resp);
	api_cases(KB_API_CREATE_PARTITIONS, create_partitions_req,
		  create_partitions_resp);
	api_cases(KB_API_DESCRIBE_CONFIGS, describe_configs_req,
		  describe_configs_resp);
	api_cases(KB_API_INIT_PRODUCER_ID, init_producer_id_req,
		  init_producer_id_resp);
	api_cases(KB_API_DESCRIBE_CLUSTER, describe_cluster_req,
		  describe_cluster_resp);
}

int main(void)
{
	if (api_setup())
		return 1;
	test_api_versions();
	test_produce_fetch();
	truncations("Produce v7", produce_v7, sizeof(produce_v7));
	truncations("Metadata v4", metadata_v4, sizeof(metadata_v4));
	truncations("Fetch v11", fetch_v11, sizeof(fetch_v11));
	test_round_trips();
	api_teardown();
	return tap_done();
}
