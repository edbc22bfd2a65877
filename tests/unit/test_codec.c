// SPDX-License-Identifier: GPL-2.0
/* The wire codec (proto/): integers, varints, strings, headers. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/codec.h"
#include "tap.h"

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

int main(void)
{
	test_ints();
	test_strings();
	test_headers();
	return tap_done();
}
