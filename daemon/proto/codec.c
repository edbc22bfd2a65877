// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"

static inline const uint8_t *take(struct kb_rd *rd, size_t n)
{
	const uint8_t *p = rd->p;

	if (rd->err || (size_t)(rd->end - rd->p) < n) {
		rd->err = true;
		return NULL;
	}
	rd->p += n;
	return p;
}

int8_t kb_rd_i8(struct kb_rd *rd)
{
	const uint8_t *p = take(rd, 1);

	return p ? (int8_t)p[0] : 0;
}

int16_t kb_rd_i16(struct kb_rd *rd)
{
	const uint8_t *p = take(rd, 2);

	return p ? (int16_t)((uint16_t)p[0] << 8 | p[1]) : 0;
}

int32_t kb_rd_i32(struct kb_rd *rd)
{
	const uint8_t *p = take(rd, 4);

	if (!p)
		return 0;
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			 (uint32_t)p[2] << 8 | p[3]);
}

int64_t kb_rd_i64(struct kb_rd *rd)
{
	uint64_t hi = (uint32_t)kb_rd_i32(rd);
	uint64_t lo = (uint32_t)kb_rd_i32(rd);

	return (int64_t)(hi << 32 | lo);
}

bool kb_rd_bool(struct kb_rd *rd)
{
	return kb_rd_i8(rd) != 0;
}

static uint64_t rd_uvar(struct kb_rd *rd, int max_bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < max_bytes; i++) {
		const uint8_t *p = take(rd, 1);

		if (!p)
			return 0;
		v |= (uint64_t)(p[0] & 0x7f) << (7 * i);
		if (!(p[0] & 0x80))
			return v;
	}
	rd->err = true;		/* too long */
	return 0;
}

uint32_t kb_rd_uvarint(struct kb_rd *rd)
{
	uint64_t v = rd_uvar(rd, 5);

	if (v > UINT32_MAX) {
		rd->err = true;
		return 0;
	}
	return (uint32_t)v;
}

int32_t kb_rd_varint(struct kb_rd *rd)
{
	uint32_t v = kb_rd_uvarint(rd);

	return (int32_t)((v >> 1) ^ -(v & 1));
}

int64_t kb_rd_varlong(struct kb_rd *rd)
{
	uint64_t v = rd_uvar(rd, 10);

	return (int64_t)((v >> 1) ^ -(v & 1));
}

void kb_rd_uuid(struct kb_rd *rd, uint8_t out[16])
{
	const uint8_t *p = take(rd, 16);

	if (p)
		memcpy(out, p, 16);
	else
		memset(out, 0, 16);
}

static struct kb_str str_of(struct kb_rd *rd, int64_t len, bool nullable)
{
	struct kb_str s = { NULL, -1 };
	const uint8_t *p;

	if (len < 0) {
		if (!nullable || len != -1)
			rd->err = true;
		return s;
	}
	p = take(rd, (size_t)len);
	if (p) {
		s.ptr = (const char *)p;
		s.len = (int32_t)len;
	}
	return s;
}

struct kb_str kb_rd_str(struct kb_rd *rd)
{
	return str_of(rd, kb_rd_i16(rd), false);
}

struct kb_str kb_rd_nstr(struct kb_rd *rd)
{
	return str_of(rd, kb_rd_i16(rd), true);
}

struct kb_str kb_rd_cstr(struct kb_rd *rd)
{
	return str_of(rd, (int64_t)kb_rd_uvarint(rd) - 1, false);
}

struct kb_str kb_rd_cnstr(struct kb_rd *rd)
{
	return str_of(rd, (int64_t)kb_rd_uvarint(rd) - 1, true);
}

struct kb_str kb_rd_vstr(struct kb_rd *rd, bool flex)
{
	return flex ? kb_rd_cstr(rd) : kb_rd_str(rd);
}

struct kb_str kb_rd_vnstr(struct kb_rd *rd, bool flex)
{
	return flex ? kb_rd_cnstr(rd) : kb_rd_nstr(rd);
}

static struct kb_bytes bytes_of(struct kb_rd *rd, int64_t len, bool nullable)
{
	struct kb_str s = str_of(rd, len, nullable);
	struct kb_bytes b = { (const uint8_t *)s.ptr, s.len };

	return b;
}

struct kb_bytes kb_rd_bytes(struct kb_rd *rd)
{
	return bytes_of(rd, kb_rd_i32(rd), false);
}

struct kb_bytes kb_rd_nbytes(struct kb_rd *rd)
{
	return bytes_of(rd, kb_rd_i32(rd), true);
}

struct kb_bytes kb_rd_cbytes(struct kb_rd *rd)
{
	return bytes_of(rd, (int64_t)kb_rd_uvarint(rd) - 1, false);
}

struct kb_bytes kb_rd_cnbytes(struct kb_rd *rd)
{
	return bytes_of(rd, (int64_t)kb_rd_uvarint(rd) - 1, true);
}

struct kb_bytes kb_rd_vnbytes(struct kb_rd *rd, bool flex)
{
	return flex ? kb_rd_cnbytes(rd) : kb_rd_nbytes(rd);
}

static int32_t array_of(struct kb_rd *rd, int64_t n)
{
	if (rd->err)
		return 0;
	if (n == -1)
		return -1;
	/* Every element takes at least one byte on the wire. */
	if (n < -1 || n > (int64_t)(rd->end - rd->p)) {
		rd->err = true;
		return 0;
	}
	return (int32_t)n;
}

int32_t kb_rd_array(struct kb_rd *rd)
{
	return array_of(rd, kb_rd_i32(rd));
}

int32_t kb_rd_carray(struct kb_rd *rd)
{
	return array_of(rd, (int64_t)kb_rd_uvarint(rd) - 1);
}

int32_t kb_rd_varray(struct kb_rd *rd, bool flex)
{
	return flex ? kb_rd_carray(rd) : kb_rd_array(rd);
}

void kb_rd_skip(struct kb_rd *rd, size_t n)
{
	take(rd, n);
}

void kb_rd_tags(struct kb_rd *rd)
{
	uint32_t n = kb_rd_uvarint(rd), i;

	for (i = 0; i < n && !rd->err; i++) {
		kb_rd_uvarint(rd);			/* tag */
		kb_rd_skip(rd, kb_rd_uvarint(rd));	/* size + data */
	}
}

void kb_wr_init(struct kb_wr *w, size_t cap)
{
	w->len = 0;
	w->err = false;
	w->cap = cap ? cap : 256;
	w->buf = malloc(w->cap);
	if (!w->buf) {
		w->cap = 0;
		w->err = true;
	}
}

void kb_wr_free(struct kb_wr *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

uint8_t *kb_wr_reserve(struct kb_wr *w, size_t n)
{
	if (w->err)
		return NULL;
	if (w->cap - w->len < n) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *nb;

		while (cap - w->len < n)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->err = true;
			return NULL;
		}
		w->buf = nb;
		w->cap = cap;
	}
	return w->buf + w->len;
}

void kb_wr_raw(struct kb_wr *w, const void *p, size_t n)
{
	uint8_t *d = kb_wr_reserve(w, n);

	if (d) {
		if (n)
			memcpy(d, p, n);
		w->len += n;
	}
}

void kb_wr_i8(struct kb_wr *w, int8_t v)
{
	kb_wr_raw(w, &v, 1);
}

void kb_wr_i16(struct kb_wr *w, int16_t v)
{
	uint8_t b[2] = { (uint16_t)v >> 8, (uint8_t)v };

	kb_wr_raw(w, b, 2);
}

void kb_wr_put_i32(struct kb_wr *w, size_t at, int32_t v)
{
	uint32_t u = (uint32_t)v;

	if (w->err || at + 4 > w->len)
		return;
	w->buf[at] = u >> 24;
	w->buf[at + 1] = u >> 16;
	w->buf[at + 2] = u >> 8;
	w->buf[at + 3] = u;
}

void kb_wr_i32(struct kb_wr *w, int32_t v)
{
	uint32_t u = (uint32_t)v;
	uint8_t b[4] = { u >> 24, u >> 16, u >> 8, u };

	kb_wr_raw(w, b, 4);
}

void kb_wr_i64(struct kb_wr *w, int64_t v)
{
	kb_wr_i32(w, (int32_t)((uint64_t)v >> 32));
	kb_wr_i32(w, (int32_t)(uint32_t)v);
}

void kb_wr_bool(struct kb_wr *w, bool v)
{
	kb_wr_i8(w, v ? 1 : 0);
}

static void wr_uvar(struct kb_wr *w, uint64_t v)
{
	uint8_t b[10];
	int n = 0;

	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	kb_wr_raw(w, b, n);
}

void kb_wr_uvarint(struct kb_wr *w, uint32_t v)
{
	wr_uvar(w, v);
}

void kb_wr_varint(struct kb_wr *w, int32_t v)
{
	wr_uvar(w, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

void kb_wr_varlong(struct kb_wr *w, int64_t v)
{
	wr_uvar(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void kb_wr_uuid(struct kb_wr *w, const uint8_t id[16])
{
	kb_wr_raw(w, id, 16);
}

void kb_wr_str(struct kb_wr *w, const char *s, int32_t len)
{
	if (len < 0)
		len = s ? (int32_t)strlen(s) : 0;
	if (len > INT16_MAX)
		len = INT16_MAX;
	kb_wr_i16(w, (int16_t)len);
	kb_wr_raw(w, s, len);
}

void kb_wr_nstr(struct kb_wr *w, const char *s, int32_t len)
{
	if (!s)
		kb_wr_i16(w, -1);
	else
		kb_wr_str(w, s, len);
}

void kb_wr_cstr(struct kb_wr *w, const char *s, int32_t len)
{
	if (len < 0)
		len = s ? (int32_t)strlen(s) : 0;
	kb_wr_uvarint(w, (uint32_t)len + 1);
	kb_wr_raw(w, s, len);
}

void kb_wr_cnstr(struct kb_wr *w, const char *s, int32_t len)
{
	if (!s)
		kb_wr_uvarint(w, 0);
	else
		kb_wr_cstr(w, s, len);
}

void kb_wr_vstr(struct kb_wr *w, bool flex, const char *s)
{
	if (flex)
		kb_wr_cstr(w, s ? s : "", -1);
	else
		kb_wr_str(w, s ? s : "", -1);
}

void kb_wr_vnstr(struct kb_wr *w, bool flex, const char *s)
{
	if (flex)
		kb_wr_cnstr(w, s, -1);
	else
		kb_wr_nstr(w, s, -1);
}

void kb_wr_bytes(struct kb_wr *w, const void *p, int32_t len)
{
	kb_wr_i32(w, p ? len : -1);
	if (p)
		kb_wr_raw(w, p, len);
}

void kb_wr_cbytes(struct kb_wr *w, const void *p, int32_t len)
{
	kb_wr_uvarint(w, p ? (uint32_t)len + 1 : 0);
	if (p)
		kb_wr_raw(w, p, len);
}

void kb_wr_array(struct kb_wr *w, int32_t n)
{
	kb_wr_i32(w, n);
}

void kb_wr_carray(struct kb_wr *w, int32_t n)
{
	kb_wr_uvarint(w, (uint32_t)(n + 1));
}

void kb_wr_varray(struct kb_wr *w, bool flex, int32_t n)
{
	if (flex)
		kb_wr_carray(w, n);
	else
		kb_wr_array(w, n);
}

void kb_wr_tags(struct kb_wr *w, bool flex)
{
	if (flex)
		kb_wr_uvarint(w, 0);
}

void kb_rd_req_hdr_start(struct kb_rd *rd, struct kb_req_hdr *h)
{
	h->api_key = kb_rd_i16(rd);
	h->api_version = kb_rd_i16(rd);
	h->correlation_id = kb_rd_i32(rd);
}

void kb_rd_req_hdr_rest(struct kb_rd *rd, struct kb_req_hdr *h, bool flex)
{
	/* client_id stays a classic nullable string even in header v2. */
	h->client_id = kb_rd_nstr(rd);
	if (flex)
		kb_rd_tags(rd);
}

void kb_wr_resp_hdr(struct kb_wr *w, int32_t correlation_id, bool v1)
{
	kb_wr_i32(w, correlation_id);
	kb_wr_tags(w, v1);
}

bool kb_str_copy(char *dst, size_t cap, struct kb_str s)
{
	if (!s.ptr || s.len < 0 || (size_t)s.len >= cap ||
	    memchr(s.ptr, '\0', s.len))
		return false;
	memcpy(dst, s.ptr, s.len);
	dst[s.len] = '\0';
	return true;
}

void kb_wr_vbytes(struct kb_wr *w, bool flex, const void *p, int32_t len)
{
	if (flex)
		kb_wr_cbytes(w, p, len);
	else
		kb_wr_bytes(w, p, len);
}

struct kb_bytes kb_rd_vbytes(struct kb_rd *rd, bool flex)
{
	return flex ? kb_rd_cbytes(rd) : kb_rd_bytes(rd);
}
