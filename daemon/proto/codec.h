/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kafka wire codec: a bounds-checked reader and a growing writer.
 *
 * The reader never reads past its end: a short or invalid field sets
 * rd->err and every later read returns zero values, so a decoder can read
 * field by field and check the flag once per loop.  The writer grows its
 * buffer; an allocation failure sets w->err and later writes are dropped.
 */
#ifndef KB_BROKER_CODEC_H
#define KB_BROKER_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kb_rd {
	const uint8_t *p;
	const uint8_t *end;
	bool err;
};

/* A string or bytes view into the request; ptr NULL when null. */
struct kb_str {
	const char *ptr;
	int32_t len;
};

struct kb_bytes {
	const uint8_t *ptr;
	int32_t len;		/* -1 when null */
};

static inline void kb_rd_init(struct kb_rd *rd, const void *buf, size_t len)
{
	rd->p = buf;
	rd->end = rd->p + len;
	rd->err = false;
}

static inline size_t kb_rd_left(const struct kb_rd *rd)
{
	return rd->err ? 0 : (size_t)(rd->end - rd->p);
}

int8_t kb_rd_i8(struct kb_rd *rd);
int16_t kb_rd_i16(struct kb_rd *rd);
int32_t kb_rd_i32(struct kb_rd *rd);
int64_t kb_rd_i64(struct kb_rd *rd);
bool kb_rd_bool(struct kb_rd *rd);
uint32_t kb_rd_uvarint(struct kb_rd *rd);
int32_t kb_rd_varint(struct kb_rd *rd);
int64_t kb_rd_varlong(struct kb_rd *rd);
void kb_rd_uuid(struct kb_rd *rd, uint8_t out[16]);
/* Strings: nullable forms give ptr NULL/len -1 for null; the non-nullable
 * forms flag null as an error. */
struct kb_str kb_rd_str(struct kb_rd *rd);
struct kb_str kb_rd_nstr(struct kb_rd *rd);
struct kb_str kb_rd_cstr(struct kb_rd *rd);
struct kb_str kb_rd_cnstr(struct kb_rd *rd);
/* String in the flexible (compact) or classic encoding. */
struct kb_str kb_rd_vstr(struct kb_rd *rd, bool flex);
struct kb_str kb_rd_vnstr(struct kb_rd *rd, bool flex);
struct kb_bytes kb_rd_bytes(struct kb_rd *rd);
struct kb_bytes kb_rd_nbytes(struct kb_rd *rd);
struct kb_bytes kb_rd_cbytes(struct kb_rd *rd);
struct kb_bytes kb_rd_cnbytes(struct kb_rd *rd);
struct kb_bytes kb_rd_vnbytes(struct kb_rd *rd, bool flex);
struct kb_bytes kb_rd_vbytes(struct kb_rd *rd, bool flex);
/* Array length: -1 for null; an impossible count (more elements than
 * bytes left) is an error, so callers may size allocations from it. */
int32_t kb_rd_array(struct kb_rd *rd);
int32_t kb_rd_carray(struct kb_rd *rd);
int32_t kb_rd_varray(struct kb_rd *rd, bool flex);
/* Skips a tagged field section (all tags are unknown to us). */
void kb_rd_tags(struct kb_rd *rd);
/* Tagged fields only in flexible versions. */
static inline void kb_rd_vtags(struct kb_rd *rd, bool flex)
{
	if (flex)
		kb_rd_tags(rd);
}
void kb_rd_skip(struct kb_rd *rd, size_t n);
/* Copies a request string into a NUL-terminated buffer; false when it
 * does not fit or contains NUL. */
bool kb_str_copy(char *dst, size_t cap, struct kb_str s);

struct kb_wr {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool err;
};

void kb_wr_init(struct kb_wr *w, size_t cap);
void kb_wr_free(struct kb_wr *w);
/* Makes room for @n more bytes; returns the write position or NULL. */
uint8_t *kb_wr_reserve(struct kb_wr *w, size_t n);
void kb_wr_raw(struct kb_wr *w, const void *p, size_t n);
void kb_wr_i8(struct kb_wr *w, int8_t v);
void kb_wr_i16(struct kb_wr *w, int16_t v);
void kb_wr_i32(struct kb_wr *w, int32_t v);
void kb_wr_i64(struct kb_wr *w, int64_t v);
void kb_wr_bool(struct kb_wr *w, bool v);
void kb_wr_uvarint(struct kb_wr *w, uint32_t v);
void kb_wr_varint(struct kb_wr *w, int32_t v);
void kb_wr_varlong(struct kb_wr *w, int64_t v);
void kb_wr_uuid(struct kb_wr *w, const uint8_t id[16]);
void kb_wr_str(struct kb_wr *w, const char *s, int32_t len);
void kb_wr_nstr(struct kb_wr *w, const char *s, int32_t len);
void kb_wr_cstr(struct kb_wr *w, const char *s, int32_t len);
void kb_wr_cnstr(struct kb_wr *w, const char *s, int32_t len);
/* Classic or compact; @s NULL writes null; @len < 0 means strlen. */
void kb_wr_vstr(struct kb_wr *w, bool flex, const char *s);
void kb_wr_vnstr(struct kb_wr *w, bool flex, const char *s);
void kb_wr_bytes(struct kb_wr *w, const void *p, int32_t len);
void kb_wr_cbytes(struct kb_wr *w, const void *p, int32_t len);
void kb_wr_vbytes(struct kb_wr *w, bool flex, const void *p, int32_t len);
void kb_wr_array(struct kb_wr *w, int32_t n);
void kb_wr_carray(struct kb_wr *w, int32_t n);
void kb_wr_varray(struct kb_wr *w, bool flex, int32_t n);
/* An empty tagged field section (only in flexible versions). */
void kb_wr_tags(struct kb_wr *w, bool flex);
/* Patches a big-endian int32 written earlier at @at. */
void kb_wr_put_i32(struct kb_wr *w, size_t at, int32_t v);

/* Request header v1 (classic) or v2 (flexible). */
struct kb_req_hdr {
	int16_t api_key;
	int16_t api_version;
	int32_t correlation_id;
	struct kb_str client_id;
};

/* Reads api key and version first so the caller can tell whether the
 * header is v1 or v2; @flex selects v2. */
void kb_rd_req_hdr_start(struct kb_rd *rd, struct kb_req_hdr *h);
void kb_rd_req_hdr_rest(struct kb_rd *rd, struct kb_req_hdr *h, bool flex);
/* Response header v0 (correlation id) or v1 (plus tagged fields). */
void kb_wr_resp_hdr(struct kb_wr *w, int32_t correlation_id, bool v1);

#endif
