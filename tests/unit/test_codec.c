// SPDX-License-Identifier: GPL-2.0
/* Wire codec, request header and dispatcher tests. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/api.h"
#include "proto/codec.h"
#include "common/config.h"
#include "proto/errors.h"
#include "group/group.h"
#include "store/store.h"
#include "tap.h"

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

static void test_ints(void)
{
	static const int64_t vals[] = { 0, 1, -1, 63, -64, 64, 127, 128, 300,
		-300, 16383, 16384, INT32_MAX, INT32_MIN, INT64_MAX,
		INT64_MIN, 0x123456789aLL };
	struct kb_wr w;
	struct kb_rd rd;
	bool good = true;
	size_t i;
	uint8_t id[16], id2[16];

	for (i = 0; i < 16; i++)
		id[i] = (uint8_t)(i * 17);
	kb_wr_init(&w, 0);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		kb_wr_i8(&w, (int8_t)vals[i]);
		kb_wr_i16(&w, (int16_t)vals[i]);
		kb_wr_i32(&w, (int32_t)vals[i]);
		kb_wr_i64(&w, vals[i]);
		kb_wr_varint(&w, (int32_t)vals[i]);
		kb_wr_varlong(&w, vals[i]);
		kb_wr_uvarint(&w, (uint32_t)vals[i]);
		kb_wr_bool(&w, vals[i] != 0);
	}
	kb_wr_uuid(&w, id);
	kb_rd_init(&rd, w.buf, w.len);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		good &= kb_rd_i8(&rd) == (int8_t)vals[i];
		good &= kb_rd_i16(&rd) == (int16_t)vals[i];
		good &= kb_rd_i32(&rd) == (int32_t)vals[i];
		good &= kb_rd_i64(&rd) == vals[i];
		good &= kb_rd_varint(&rd) == (int32_t)vals[i];
		good &= kb_rd_varlong(&rd) == vals[i];
		good &= kb_rd_uvarint(&rd) == (uint32_t)vals[i];
		good &= kb_rd_bool(&rd) == (vals[i] != 0);
	}
	kb_rd_uuid(&rd, id2);
	ok(good && !rd.err, "integers and varints round-trip");
	ok(!memcmp(id, id2, 16), "uuid round-trips");
	ok(kb_rd_left(&rd) == 0, "reader consumed everything");
	kb_rd_i8(&rd);
	ok(rd.err, "reading past the end sets the error flag");
	ok(kb_rd_i64(&rd) == 0, "reads after an error return 0");
	kb_wr_free(&w);

	/* Known encodings from the protocol guide. */
	kb_wr_init(&w, 0);
	kb_wr_varint(&w, -1);
	kb_wr_varint(&w, 150);
	ok(w.len == 3 && w.buf[0] == 0x01 && w.buf[1] == 0xac &&
	   w.buf[2] == 0x02, "zigzag varint encodings");
	kb_wr_free(&w);

	static const uint8_t long_var[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };

	kb_rd_init(&rd, long_var, sizeof(long_var));
	kb_rd_uvarint(&rd);
	ok(rd.err, "over-long unsigned varint is an error");
}

static void test_strings(void)
{
	struct kb_wr w;
	struct kb_rd rd;
	struct kb_str s;
	struct kb_bytes b;
	int32_t n;

	kb_wr_init(&w, 4);
	kb_wr_str(&w, "topic", -1);
	kb_wr_nstr(&w, NULL, -1);
	kb_wr_cstr(&w, "compact", -1);
	kb_wr_cnstr(&w, NULL, -1);
	kb_wr_cstr(&w, "", 0);
	kb_wr_bytes(&w, "abc", 3);
	kb_wr_bytes(&w, NULL, 0);
	kb_wr_cbytes(&w, "xy", 2);
	kb_wr_cbytes(&w, NULL, 0);
	kb_wr_array(&w, 2);
	kb_wr_array(&w, -1);
	kb_wr_carray(&w, 3);
	kb_wr_carray(&w, -1);
	kb_wr_tags(&w, true);
	kb_wr_vstr(&w, true, "v");
	kb_wr_vnstr(&w, false, NULL);

	kb_rd_init(&rd, w.buf, w.len);
	s = kb_rd_str(&rd);
	ok(s.len == 5 && !memcmp(s.ptr, "topic", 5), "string");
	s = kb_rd_nstr(&rd);
	ok(!s.ptr && s.len == -1, "null string");
	s = kb_rd_cstr(&rd);
	ok(s.len == 7 && !memcmp(s.ptr, "compact", 7), "compact string");
	s = kb_rd_cnstr(&rd);
	ok(!s.ptr, "null compact string");
	s = kb_rd_cstr(&rd);
	ok(s.ptr && s.len == 0, "empty compact string");
	b = kb_rd_bytes(&rd);
	ok(b.len == 3 && !memcmp(b.ptr, "abc", 3), "bytes");
	b = kb_rd_nbytes(&rd);
	ok(!b.ptr && b.len == -1, "null bytes");
	b = kb_rd_cbytes(&rd);
	ok(b.len == 2 && !memcmp(b.ptr, "xy", 2), "compact bytes");
	b = kb_rd_cnbytes(&rd);
	ok(!b.ptr, "null compact bytes");
	ok(!rd.err, "no error so far");
	kb_wr_free(&w);

	/* Array counts are checked against the bytes left. */
	static const uint8_t big_array[] = { 0, 0, 0, 100, 1, 2 };

	kb_rd_init(&rd, big_array, sizeof(big_array));
	n = kb_rd_array(&rd);
	ok(rd.err && n == 0, "array count larger than the input is an error");

	kb_wr_init(&w, 0);
	kb_wr_array(&w, 2);
	kb_wr_i8(&w, 1);
	kb_wr_i8(&w, 2);
	kb_wr_array(&w, -1);
	kb_wr_carray(&w, 1);
	kb_wr_i8(&w, 1);
	kb_wr_carray(&w, -1);
	/* tagged fields: 2 fields (tag 0 len 2, tag 5 len 0) */
	kb_wr_uvarint(&w, 2);
	kb_wr_uvarint(&w, 0);
	kb_wr_uvarint(&w, 2);
	kb_wr_i16(&w, 7);
	kb_wr_uvarint(&w, 5);
	kb_wr_uvarint(&w, 0);
	kb_wr_i8(&w, 42);
	kb_rd_init(&rd, w.buf, w.len);
	ok(kb_rd_array(&rd) == 2 && kb_rd_i8(&rd) == 1 && kb_rd_i8(&rd) == 2,
	   "array");
	ok(kb_rd_array(&rd) == -1, "null array");
	ok(kb_rd_carray(&rd) == 1 && kb_rd_i8(&rd) == 1, "compact array");
	ok(kb_rd_carray(&rd) == -1, "null compact array");
	kb_rd_tags(&rd);
	ok(kb_rd_i8(&rd) == 42 && !rd.err, "unknown tagged fields skipped");
	kb_wr_free(&w);

	static const uint8_t neg_str[] = { 0xff, 0xfe };

	kb_rd_init(&rd, neg_str, sizeof(neg_str));
	kb_rd_nstr(&rd);
	ok(rd.err, "string length -2 is an error");
	static const uint8_t null_str[] = { 0xff, 0xff };

	kb_rd_init(&rd, null_str, sizeof(null_str));
	kb_rd_str(&rd);
	ok(rd.err, "null for a non-nullable string is an error");
	static const uint8_t short_str[] = { 0x00, 0x05, 'a', 'b' };

	kb_rd_init(&rd, short_str, sizeof(short_str));
	s = kb_rd_str(&rd);
	ok(rd.err && !s.ptr, "string longer than the input is an error");
}

static void test_headers(void)
{
	struct kb_wr w;
	struct kb_rd rd;
	struct kb_req_hdr h;

	kb_wr_init(&w, 0);
	kb_wr_i16(&w, 3);
	kb_wr_i16(&w, 4);
	kb_wr_i32(&w, 77);
	kb_wr_str(&w, "cli", -1);
	kb_wr_i8(&w, 9);
	kb_rd_init(&rd, w.buf, w.len);
	kb_rd_req_hdr_start(&rd, &h);
	kb_rd_req_hdr_rest(&rd, &h, false);
	ok(h.api_key == 3 && h.api_version == 4 && h.correlation_id == 77 &&
	   h.client_id.len == 3 && !memcmp(h.client_id.ptr, "cli", 3) &&
	   kb_rd_i8(&rd) == 9, "request header v1");
	kb_wr_free(&w);

	kb_wr_init(&w, 0);
	kb_wr_i16(&w, 3);
	kb_wr_i16(&w, 12);
	kb_wr_i32(&w, -5);
	kb_wr_nstr(&w, NULL, -1);	/* client_id stays classic in v2 */
	kb_wr_uvarint(&w, 1);
	kb_wr_uvarint(&w, 3);
	kb_wr_uvarint(&w, 1);
	kb_wr_i8(&w, 0);
	kb_wr_i8(&w, 9);
	kb_rd_init(&rd, w.buf, w.len);
	kb_rd_req_hdr_start(&rd, &h);
	kb_rd_req_hdr_rest(&rd, &h, true);
	ok(h.correlation_id == -5 && !h.client_id.ptr && kb_rd_i8(&rd) == 9 &&
	   !rd.err, "request header v2 with a tagged field");
	kb_wr_free(&w);

	kb_wr_init(&w, 0);
	kb_wr_resp_hdr(&w, 0x01020304, false);
	ok(w.len == 4 && w.buf[3] == 4, "response header v0");
	kb_wr_resp_hdr(&w, 1, true);
	ok(w.len == 9 && w.buf[8] == 0, "response header v1 ends in tags");
	kb_wr_free(&w);
}

static struct kb_broker br;
static struct kb_config cfg;

static int run(const uint8_t *frame, size_t len, struct kb_resp *resp)
{
	struct kb_req req = { .adv_host = "localhost", .adv_port = 9092 };

	kb_resp_init(resp);
	return kb_api_handle(&br, &req, frame, len, resp);
}

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

static void truncations(const char *what, const uint8_t *frame, size_t len)
{
	struct kb_resp resp;
	bool all_closed = true;
	size_t cut;
	int ret;

	for (cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);

		memcpy(copy, frame, cut);
		ret = run(copy, cut, &resp);
		if (ret != KB_H_CLOSE) {
			if (all_closed)
				printf("#   %s: %zu of %zu bytes: %d\n", what,
				       cut, len, ret);
			all_closed = false;
		}
		kb_resp_free(&resp);
		free(copy);
	}
	ok(all_closed, "%s: each of %zu truncations closes, no crash", what,
	   len);
	ret = run(frame, len, &resp);
	ok(ret == KB_H_DONE || ret == KB_H_PARK, "%s: whole frame handled",
	   what);
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

/*
 * Round trips: each served API at its lowest, first flexible and highest
 * version.  A request is encoded field by field from Kafka's message
 * schema, dispatched, and its response decoded field by field to the last
 * byte; then every prefix of the request must close the connection.
 */
typedef void (*build_fn)(struct kb_wr *w, int16_t v, bool fl);
typedef void (*check_fn)(struct kb_rd *rd, int16_t v, bool fl,
			 const struct kb_resp *resp);

/* First line of a check that did not hold in the current case. */
static int bad_line;
#define EXPECT(c)						\
	do {							\
		if (!(c) && !bad_line)				\
			bad_line = __LINE__;			\
	} while (0)

static bool str_is(struct kb_str s, const char *want)
{
	return s.ptr && (size_t)s.len == strlen(want) &&
	       !memcmp(s.ptr, want, s.len);
}

static void wr_vbytes(struct kb_wr *w, bool fl, const void *p, int32_t len)
{
	if (fl)
		kb_wr_cbytes(w, p, len);
	else
		kb_wr_bytes(w, p, len);
}

/* Reads a nullable array of int32 and checks it is [@want]. */
static void expect_me(struct kb_rd *rd, bool fl, int32_t want)
{
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i32(rd) == want);
}

static void api_case(int16_t key, int16_t v, build_fn build, check_fn check)
{
	bool fl = kb_apis[key].flex_ver >= 0 && v >= kb_apis[key].flex_ver;
	struct kb_resp resp;
	struct kb_rd rd;
	struct kb_wr w;
	char what[64];
	int ret;

	snprintf(what, sizeof(what), "%s v%d", kb_apis[key].name, v);
	kb_wr_init(&w, 64);
	kb_wr_i16(&w, key);
	kb_wr_i16(&w, v);
	kb_wr_i32(&w, 1000 + v);
	kb_wr_nstr(&w, "codec", -1);
	kb_wr_tags(&w, fl);
	build(&w, v, fl);

	bad_line = 0;
	ret = run(w.buf, w.len, &resp);
	/* No event loop here: a parked request is answered as expired. */
	if (ret == KB_H_PARK && resp.park->poll(resp.park, &resp, true))
		ret = KB_H_DONE;
	kb_rd_init(&rd, resp.w.buf + 4, resp.w.len - 4);
	EXPECT(ret == KB_H_DONE);
	EXPECT(kb_rd_i32(&rd) == 1000 + v);
	if (fl && key != KB_API_API_VERSIONS)
		kb_rd_tags(&rd);
	check(&rd, v, fl, &resp);
	EXPECT(!rd.err);
	EXPECT(kb_rd_left(&rd) == 0);
	if (!ok(!bad_line, "%s: response decodes as expected, all %zu bytes",
		what, resp.w.len - 4))
		printf("#   first failed check at line %d (ret %d, %zu left)\n",
		       bad_line, ret, kb_rd_left(&rd));
	kb_resp_free(&resp);
	truncations(what, w.buf, w.len);
	kb_wr_free(&w);
}

/* Every API at these versions: lowest, first flexible, highest. */
static void api_cases(int16_t key, build_fn build, check_fn check)
{
	const struct kb_api *api = &kb_apis[key];

	api_case(key, api->min_ver, build, check);
	if (api->flex_ver > api->min_ver && api->flex_ver < api->max_ver)
		api_case(key, api->flex_ver, build, check);
	if (api->max_ver > api->min_ver)
		api_case(key, api->max_ver, build, check);
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
	wr_vbytes(w, fl, BATCH, BATCH_LEN);
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
	EXPECT(str_is(kb_rd_vstr(rd, fl), "cap2"));
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

/*
 * Group APIs.  FindCoordinator, SyncGroup, Heartbeat and LeaveGroup ask
 * about groups nobody joined; JoinGroup joins jg-vN as a new member;
 * OffsetCommit commits cap2-1 for the standalone group "oc", which
 * OffsetFetch, DescribeGroups and ListGroups then see and OffsetDelete
 * removes; DeleteGroups deletes dg-vN, given an offset here first.
 */
static void find_coordinator_req(struct kb_wr *w, int16_t v, bool fl)
{
	if (v >= 4) {
		kb_wr_i8(w, 0);		/* key_type: group */
		kb_wr_varray(w, fl, 1);
		kb_wr_vstr(w, fl, "grp");
	} else {
		kb_wr_vstr(w, fl, "grp");
		if (v >= 1)
			kb_wr_i8(w, 0);
	}
	kb_wr_tags(w, fl);
}

static void find_coordinator_resp(struct kb_rd *rd, int16_t v, bool fl,
				  const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	if (v >= 4) {
		EXPECT(kb_rd_varray(rd, fl) == 1);
		EXPECT(str_is(kb_rd_vstr(rd, fl), "grp"));
	} else {
		EXPECT(kb_rd_i16(rd) == 0);
		if (v >= 1)
			EXPECT(!kb_rd_vnstr(rd, fl).ptr);
	}
	EXPECT(kb_rd_i32(rd) == cfg.broker_id);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "localhost"));
	EXPECT(kb_rd_i32(rd) == 9092);
	if (v >= 4) {
		EXPECT(kb_rd_i16(rd) == 0);
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

static void join_group_req(struct kb_wr *w, int16_t v, bool fl)
{
	char group[16];

	snprintf(group, sizeof(group), "jg-v%d", v);
	kb_wr_vstr(w, fl, group);
	kb_wr_i32(w, 10000);		/* session_timeout_ms */
	if (v >= 1)
		kb_wr_i32(w, 10000);	/* rebalance_timeout_ms */
	kb_wr_vstr(w, fl, "");		/* member_id: new member */
	if (v >= 5)
		kb_wr_vnstr(w, fl, NULL);	/* group_instance_id */
	kb_wr_vstr(w, fl, "consumer");
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "range");
	wr_vbytes(w, fl, "meta", 4);
	kb_wr_tags(w, fl);
	if (v >= 8)
		kb_wr_vnstr(w, fl, NULL);	/* reason */
	kb_wr_tags(w, fl);
}

static void join_group_resp(struct kb_rd *rd, int16_t v, bool fl,
			    const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 2)
		EXPECT(kb_rd_i32(rd) == 0);
	/* From v4 a new member gets its id first; before, it joins and
	 * (parked, then expired here) is told to rejoin. */
	EXPECT(kb_rd_i16(rd) == (v >= 4 ? KB_ERR_MEMBER_ID_REQUIRED :
				 KB_ERR_REBALANCE_IN_PROGRESS));
	EXPECT(kb_rd_i32(rd) == -1);		/* generation_id */
	if (v >= 7) {
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);	/* protocol_type */
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);	/* protocol_name */
	} else {
		EXPECT(str_is(kb_rd_vstr(rd, fl), ""));
	}
	EXPECT(str_is(kb_rd_vstr(rd, fl), ""));	/* leader */
	if (v >= 9)
		EXPECT(!kb_rd_bool(rd));		/* skip_assignment */
	EXPECT(kb_rd_vstr(rd, fl).len > 0);		/* member_id */
	EXPECT(kb_rd_varray(rd, fl) == 0);
	kb_rd_vtags(rd, fl);
}

static void sync_group_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vstr(w, fl, "grp");
	kb_wr_i32(w, 1);		/* generation_id */
	kb_wr_vstr(w, fl, "m1");
	if (v >= 3)
		kb_wr_vnstr(w, fl, NULL);	/* group_instance_id */
	if (v >= 5) {
		kb_wr_vnstr(w, fl, "consumer");
		kb_wr_vnstr(w, fl, "range");
	}
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "m1");
	wr_vbytes(w, fl, "assign", 6);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
}

static void sync_group_resp(struct kb_rd *rd, int16_t v, bool fl,
			    const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_MEMBER_ID);
	if (v >= 5) {
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
	}
	/* Non-nullable bytes: an error answers empty, never null (the Java
	 * client rejects a null there). */
	{
		struct kb_bytes a = kb_rd_vnbytes(rd, fl);

		EXPECT(a.ptr && a.len == 0);
	}
	kb_rd_vtags(rd, fl);
}

static void heartbeat_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vstr(w, fl, "grp");
	kb_wr_i32(w, 1);
	kb_wr_vstr(w, fl, "m1");
	if (v >= 3)
		kb_wr_vnstr(w, fl, NULL);
	kb_wr_tags(w, fl);
}

static void heartbeat_resp(struct kb_rd *rd, int16_t v, bool fl,
			   const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_MEMBER_ID);
	kb_rd_vtags(rd, fl);
}

static void leave_group_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vstr(w, fl, "grp");
	if (v <= 2) {
		kb_wr_vstr(w, fl, "m1");
	} else {
		kb_wr_varray(w, fl, 1);
		kb_wr_vstr(w, fl, "m1");
		kb_wr_vnstr(w, fl, NULL);	/* group_instance_id */
		if (v >= 5)
			kb_wr_vnstr(w, fl, "done");	/* reason */
		kb_wr_tags(w, fl);
	}
	kb_wr_tags(w, fl);
}

static void leave_group_resp(struct kb_rd *rd, int16_t v, bool fl,
			     const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	if (v <= 2) {
		EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_MEMBER_ID);
	} else {
		EXPECT(kb_rd_i16(rd) == 0);
		EXPECT(kb_rd_varray(rd, fl) == 1);
		EXPECT(str_is(kb_rd_vstr(rd, fl), "m1"));
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
		EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_MEMBER_ID);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

static void offset_commit_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vstr(w, fl, "oc");
	kb_wr_i32(w, -1);		/* generation_id: standalone */
	kb_wr_vstr(w, fl, "");		/* member_id */
	if (v >= 7)
		kb_wr_vnstr(w, fl, NULL);	/* group_instance_id */
	if (v >= 2 && v <= 4)
		kb_wr_i64(w, -1);	/* retention_time_ms */
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "cap2");
	kb_wr_varray(w, fl, 1);
	kb_wr_i32(w, 1);
	kb_wr_i64(w, 1);		/* committed_offset */
	if (v >= 6)
		kb_wr_i32(w, -1);	/* committed_leader_epoch */
	if (v == 1)
		kb_wr_i64(w, -1);	/* commit_timestamp */
	kb_wr_vnstr(w, fl, "md");
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
}

static void offset_commit_resp(struct kb_rd *rd, int16_t v, bool fl,
			       const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 3)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "cap2"));
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i32(rd) == 1);
	EXPECT(kb_rd_i16(rd) == 0);
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
}

static void offset_fetch_req(struct kb_wr *w, int16_t v, bool fl)
{
	if (v >= 8) {
		kb_wr_varray(w, fl, 1);
		kb_wr_vstr(w, fl, "oc");
	} else {
		kb_wr_vstr(w, fl, "oc");
	}
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "cap2");
	kb_wr_varray(w, fl, 2);
	kb_wr_i32(w, 1);
	kb_wr_i32(w, 0);		/* never committed */
	kb_wr_tags(w, fl);
	if (v >= 8)
		kb_wr_tags(w, fl);
	if (v >= 7)
		kb_wr_bool(w, false);	/* require_stable */
	kb_wr_tags(w, fl);
}

static void offset_fetch_resp(struct kb_rd *rd, int16_t v, bool fl,
			      const struct kb_resp *resp)
{
	int i;

	(void)resp;
	if (v >= 3)
		EXPECT(kb_rd_i32(rd) == 0);
	if (v >= 8) {
		EXPECT(kb_rd_varray(rd, fl) == 1);
		EXPECT(str_is(kb_rd_vstr(rd, fl), "oc"));
	}
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "cap2"));
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2; i++) {
		struct kb_str md;

		EXPECT(kb_rd_i32(rd) == !i);
		EXPECT(kb_rd_i64(rd) == (i ? -1 : 1));
		if (v >= 5)
			EXPECT(kb_rd_i32(rd) == -1);
		md = kb_rd_vnstr(rd, fl);
		EXPECT(i || str_is(md, "md"));
		EXPECT(kb_rd_i16(rd) == 0);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
	if (v >= 2)
		EXPECT(kb_rd_i16(rd) == 0);
	if (v >= 8)
		kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
}

static void describe_groups_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "oc");
	if (v >= 3)
		kb_wr_bool(w, false);	/* include_authorized_operations */
	kb_wr_tags(w, fl);
}

static void describe_groups_resp(struct kb_rd *rd, int16_t v, bool fl,
				 const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "oc"));
	EXPECT(str_is(kb_rd_vstr(rd, fl), "Empty"));
	EXPECT(str_is(kb_rd_vstr(rd, fl), ""));	/* protocol_type */
	EXPECT(str_is(kb_rd_vstr(rd, fl), ""));	/* protocol_data */
	EXPECT(kb_rd_varray(rd, fl) == 0);		/* members */
	if (v >= 3)
		kb_rd_i32(rd);			/* authorized_operations */
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
}

static void list_groups_req(struct kb_wr *w, int16_t v, bool fl)
{
	if (v >= 4) {
		kb_wr_varray(w, fl, 1);		/* states_filter */
		kb_wr_vstr(w, fl, "Empty");
	}
	kb_wr_tags(w, fl);
}

static void list_groups_resp(struct kb_rd *rd, int16_t v, bool fl,
			     const struct kb_resp *resp)
{
	int32_t i, n;
	bool oc = false;

	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_i16(rd) == 0);
	n = kb_rd_varray(rd, fl);
	EXPECT(n >= 1);
	for (i = 0; i < n && !rd->err; i++) {
		bool this = str_is(kb_rd_vstr(rd, fl), "oc");

		kb_rd_vstr(rd, fl);			/* protocol_type */
		if (v >= 4)
			EXPECT(str_is(kb_rd_vstr(rd, fl), "Empty"));
		kb_rd_vtags(rd, fl);
		oc |= this;
	}
	EXPECT(oc);
	kb_rd_vtags(rd, fl);
}

static void offset_delete_req(struct kb_wr *w, int16_t v, bool fl)
{
	(void)v;
	(void)fl;
	kb_wr_str(w, "oc", -1);
	kb_wr_array(w, 1);
	kb_wr_str(w, "cap2", -1);
	kb_wr_array(w, 1);
	kb_wr_i32(w, 1);
}

static void offset_delete_resp(struct kb_rd *rd, int16_t v, bool fl,
			       const struct kb_resp *resp)
{
	struct kb_groups *gs = kb_groups_get(&br);
	struct kb_group *g = gs ? kb_group_find(gs, "oc") : NULL;

	(void)v;
	(void)fl;
	(void)resp;
	EXPECT(!g || !kb_offset_find(g, "cap2", 1));
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_array(rd) == 1);
	EXPECT(str_is(kb_rd_str(rd), "cap2"));
	EXPECT(kb_rd_array(rd) == 1);
	EXPECT(kb_rd_i32(rd) == 1);
	EXPECT(kb_rd_i16(rd) == 0);
}

static void delete_groups_req(struct kb_wr *w, int16_t v, bool fl)
{
	struct kb_groups *gs = kb_groups_get(&br);
	struct kb_commit c = { .topic = "cap2", .partition = 0, .epoch = -1,
			       .offset = 0, .meta_len = -1, .expire_ms = -1 };
	struct kb_group *g;
	char group[16];

	snprintf(group, sizeof(group), "dg-v%d", v);
	g = gs ? kb_group_create(gs, group) : NULL;
	if (g)
		kb_offsets_commit(gs, g, &c, 1);
	kb_wr_varray(w, fl, 2);
	kb_wr_vstr(w, fl, group);
	kb_wr_vstr(w, fl, "no-such-group");
	kb_wr_tags(w, fl);
}

static void delete_groups_resp(struct kb_rd *rd, int16_t v, bool fl,
			       const struct kb_resp *resp)
{
	struct kb_groups *gs = kb_groups_get(&br);
	char group[16];
	int i;

	(void)resp;
	snprintf(group, sizeof(group), "dg-v%d", v);
	EXPECT(gs && !kb_group_find(gs, group));
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2; i++) {
		EXPECT(str_is(kb_rd_vstr(rd, fl), i ? "no-such-group" : group));
		EXPECT(kb_rd_i16(rd) == (i ? KB_ERR_GROUP_ID_NOT_FOUND : 0));
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

/* A DeleteGroups cut short deletes nothing, not even the ids before it. */
static void test_delete_groups_cut(void)
{
	struct kb_groups *gs = kb_groups_get(&br);
	struct kb_commit c = { .topic = "cap2", .partition = 0, .epoch = -1,
			       .offset = 0, .meta_len = -1, .expire_ms = -1 };
	struct kb_group *g = gs ? kb_group_create(gs, "dg-cut") : NULL;
	struct kb_resp resp;
	struct kb_wr w;
	int ret;

	if (g)
		kb_offsets_commit(gs, g, &c, 1);
	kb_wr_init(&w, 64);
	kb_wr_i16(&w, KB_API_DELETE_GROUPS);
	kb_wr_i16(&w, 1);
	kb_wr_i32(&w, 7);
	kb_wr_nstr(&w, "codec", -1);
	kb_wr_varray(&w, false, 2);
	kb_wr_vstr(&w, false, "dg-cut");
	kb_wr_vstr(&w, false, "another-group");
	ret = run(w.buf, w.len - 3, &resp);
	ok(g && ret == KB_H_CLOSE && kb_group_find(gs, "dg-cut") == g,
	   "DeleteGroups cut inside its second id: closed, first group kept");
	kb_resp_free(&resp);
	kb_wr_free(&w);
}

static void test_group_round_trips(void)
{
	api_cases(KB_API_FIND_COORDINATOR, find_coordinator_req,
		  find_coordinator_resp);
	api_cases(KB_API_JOIN_GROUP, join_group_req, join_group_resp);
	api_cases(KB_API_SYNC_GROUP, sync_group_req, sync_group_resp);
	api_cases(KB_API_HEARTBEAT, heartbeat_req, heartbeat_resp);
	api_cases(KB_API_LEAVE_GROUP, leave_group_req, leave_group_resp);
	api_cases(KB_API_OFFSET_COMMIT, offset_commit_req, offset_commit_resp);
	api_cases(KB_API_OFFSET_FETCH, offset_fetch_req, offset_fetch_resp);
	api_cases(KB_API_DESCRIBE_GROUPS, describe_groups_req,
		  describe_groups_resp);
	api_cases(KB_API_LIST_GROUPS, list_groups_req, list_groups_resp);
	api_cases(KB_API_OFFSET_DELETE, offset_delete_req, offset_delete_resp);
	api_cases(KB_API_DELETE_GROUPS, delete_groups_req, delete_groups_resp);
}

int main(void)
{
	char dir[] = "/tmp/kb-test-codec-XXXXXX", text[256];
	const char *dirs[1];
	struct kb_store_opts so = { 0 };

	test_ints();
	test_strings();
	test_headers();

	if (!mkdtemp(dir))
		return 1;
	snprintf(text, sizeof(text), "log.dirs=%s\n", dir);
	ok(kb_config_parse(text, "test", &cfg) == 0, "config parses");
	dirs[0] = dir;
	so.log_dirs = dirs;
	so.n_log_dirs = 1;
	so.segment_bytes = 1 << 20;
	so.roll_ms = 1000000;
	so.retention_ms = -1;
	so.retention_bytes = -1;
	so.flush_messages = INT64_MAX;
	so.flush_ms = -1;
	so.index_interval_bytes = 4096;
	so.max_message_bytes = 1048588;
	ok(kb_store_open(&so, &br.store) == 0, "store opens in %s", dir);
	br.cfg = &cfg;
	strcpy(br.cluster_id, "test-cluster");

	test_api_versions();
	test_produce_fetch();
	truncations("Produce v7", produce_v7, sizeof(produce_v7));
	truncations("Metadata v4", metadata_v4, sizeof(metadata_v4));
	truncations("Fetch v11", fetch_v11, sizeof(fetch_v11));
	test_round_trips();
	test_group_round_trips();
	test_delete_groups_cut();

	kb_groups_close();
	kb_store_close(br.store);
	kb_config_free(&cfg);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			ok(0, "cleanup");
	}
	return tap_done();
}
