// SPDX-License-Identifier: GPL-2.0
/* Wire codec, request header and dispatcher tests. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/api.h"
#include "broker/codec.h"
#include "broker/config.h"
#include "broker/errors.h"
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

		if (key == KB_API_PRODUCE && lo == 3 && hi == 9)
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
	static const uint8_t old_produce[] = { 0, 0, 0, 2, 0, 0, 0, 1, 0xff,
					       0xff };

	ok(run(old_produce, sizeof(old_produce), &resp) == KB_H_CLOSE,
	   "Produce v2 (message format < 2) closes the connection");
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
		if (ret != KB_H_CLOSE)
			all_closed = false;
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
