// SPDX-License-Identifier: GPL-2.0
/*
 * Record batch (magic 2) parsing and validation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

void kb_batch_parse(const uint8_t *p, struct kb_batch *b)
{
	b->base = (int64_t)kb_get_be64(p + KB_B_BASE_OFFSET);
	b->length = (int32_t)kb_get_be32(p + KB_B_LENGTH);
	b->magic = (int8_t)p[KB_B_MAGIC];
	b->crc = kb_get_be32(p + KB_B_CRC);
	b->attr = (int16_t)kb_get_be16(p + KB_B_ATTR);
	b->last_delta = (int32_t)kb_get_be32(p + KB_B_LAST_DELTA);
	b->base_ts = (int64_t)kb_get_be64(p + KB_B_BASE_TS);
	b->max_ts = (int64_t)kb_get_be64(p + KB_B_MAX_TS);
	b->pid = (int64_t)kb_get_be64(p + KB_B_PID);
	b->pepoch = (int16_t)kb_get_be16(p + KB_B_PEPOCH);
	b->base_seq = (int32_t)kb_get_be32(p + KB_B_BASE_SEQ);
	b->count = (int32_t)kb_get_be32(p + KB_B_COUNT);
}

bool kb_batch_hdr_sane(const struct kb_batch *b)
{
	return b->magic == 2 && b->length >= KB_B_MIN_LENGTH &&
	       b->last_delta >= 0 && b->base >= 0;
}

/* Zigzag varint of at most @max bytes; returns bytes used or 0. */
static inline size_t varint(const uint8_t *p, const uint8_t *end, int max,
			    int64_t *v)
{
	uint64_t u = 0;
	int i;

	/*
	 * Lengths, deltas and counts of records fit one or two bytes: this
	 * walk is most of the cost of checking a batch of small records, so
	 * those two cases skip the loop.
	 */
	if (p < end && !(p[0] & 0x80)) {
		u = p[0];
		i = 0;
		goto done;
	}
	if (end - p >= 2 && !(p[1] & 0x80)) {
		u = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		i = 1;
		goto done;
	}
	for (i = 0; i < max && p + i < end; i++) {
		u |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			goto done;
	}
	return 0;
done:
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return i + 1;
}

#define VARINT(p, end, max, v)                          \
	({                                              \
		size_t n_ = varint(p, end, max, v);     \
		if (!n_)                                \
			return false;                   \
		(p) += n_;                              \
	})

/* Length-prefixed field: -1 (null) allowed when @nullable. */
static inline bool skip_bytes(const uint8_t **pp, const uint8_t *end, bool nullable)
{
	const uint8_t *p = *pp;
	int64_t len;

	VARINT(p, end, 5, &len);
	if (len < -1 || (len == -1 && !nullable) || len > end - p)
		return false;
	if (len > 0)
		p += len;
	*pp = p;
	return true;
}

/* One record of an uncompressed batch, which must end exactly at @end. */
static inline bool record_ok(const uint8_t *p, const uint8_t *end, int32_t i)
{
	int64_t v, n;

	if (p >= end)
		return false;
	p++;				/* attributes */
	VARINT(p, end, 10, &v);		/* timestampDelta */
	VARINT(p, end, 5, &v);		/* offsetDelta */
	if (v != i)
		return false;
	if (!skip_bytes(&p, end, true) || !skip_bytes(&p, end, true))
		return false;
	VARINT(p, end, 5, &n);		/* headers */
	if (n < 0)
		return false;
	for (int64_t h = 0; h < n; h++)
		if (!skip_bytes(&p, end, false) || !skip_bytes(&p, end, true))
			return false;
	return p == end;
}

static bool records_ok(const uint8_t *p, const uint8_t *end, int32_t count)
{
	for (int32_t i = 0; i < count; i++) {
		int64_t len;

		VARINT(p, end, 5, &len);
		if (len <= 0 || len > end - p || !record_ok(p, p + len, i))
			return false;
		p += len;
	}
	return p == end;
}

/* Whether every record of an uncompressed records field has a key. */
static bool records_keyed(const uint8_t *p, const uint8_t *end,
			  int32_t count)
{
	for (int32_t i = 0; i < count; i++) {
		const uint8_t *r;
		int64_t len, v;

		VARINT(p, end, 5, &len);
		if (len <= 0 || len > end - p)
			return false;
		r = p + 1;		/* attributes */
		VARINT(r, p + len, 10, &v);	/* timestampDelta */
		VARINT(r, p + len, 5, &v);	/* offsetDelta */
		VARINT(r, p + len, 5, &v);	/* keyLength */
		if (v < 0)
			return false;
		p += len;
	}
	return true;
}

bool kb_batch_keyed(const uint8_t *p, const struct kb_batch *b)
{
	uint64_t size = kb_batch_size(b);
	uint8_t *raw;
	size_t n;
	bool ok;

	if (!(b->attr & KB_ATTR_COMPRESSION))
		return records_keyed(p + KB_B_HDR, p + size, b->count);
	if (kb_records_inflate(b->attr & KB_ATTR_COMPRESSION, p + KB_B_HDR,
			       size - KB_B_HDR, kb_inflate_cap(0), &raw, &n))
		return false;
	ok = records_keyed(raw, raw + n, b->count);
	free(raw);
	return ok;
}

bool kb_batch_find_ts(const uint8_t *p, const uint8_t *end, int32_t count,
		      int64_t base_ts, int64_t ts, int32_t *delta,
		      int64_t *rec_ts)
{
	for (int32_t i = 0; i < count; i++) {
		const uint8_t *r;
		int64_t len, tsd, od;

		VARINT(p, end, 5, &len);
		if (len <= 0 || len > end - p)
			return false;
		r = p + 1;		/* attributes */
		VARINT(r, p + len, 10, &tsd);
		VARINT(r, p + len, 5, &od);
		if (base_ts + tsd >= ts) {
			*delta = (int32_t)od;
			*rec_ts = base_ts + tsd;
			return true;
		}
		p += len;
	}
	return false;
}

/*
 * Decompressed records may take this much: a bound for a batch that
 * decompresses to far more than any producer builds (Kafka's own clients
 * cap a batch before compression at max.request.size).
 */
#define INFLATE_MIN_CAP (64u << 20)
#define INFLATE_RATIO 16

size_t kb_inflate_cap(uint32_t max_bytes)
{
	size_t cap = (size_t)max_bytes * INFLATE_RATIO;

	return cap < INFLATE_MIN_CAP ? INFLATE_MIN_CAP : cap;
}

static int compressed_ok(const uint8_t *p, uint64_t size, uint32_t max_bytes,
			 const struct kb_batch *b, const char **why,
			 uint8_t **keep, size_t *keep_len)
{
	uint8_t *raw;
	size_t n;
	bool ok;
	int e;

	e = kb_records_inflate(b->attr & KB_ATTR_COMPRESSION, p + KB_B_HDR,
			       size - KB_B_HDR, kb_inflate_cap(max_bytes), &raw,
			       &n);
	if (e == -E2BIG) {
		*why = "records decompress to more than 16 x message.max.bytes";
		return KB_ERR_MESSAGE_TOO_LARGE;
	}
	if (e) {
		*why = "compressed records do not decompress with the batch's codec";
		return KB_ERR_CORRUPT_MESSAGE;
	}
	ok = records_ok(raw, raw + n, b->count);
	if (!ok) {
		free(raw);
		*why = "decompressed records do not match the batch's count";
		return KB_ERR_INVALID_RECORD;
	}
	if (keep) {
		*keep = raw;
		*keep_len = n;
	} else {
		free(raw);
	}
	return KB_ERR_NONE;
}

int kb_batch_check(const uint8_t *p, size_t avail, uint32_t max_bytes,
		   struct kb_batch *b, const char **why)
{
	return kb_batch_check_raw(p, avail, max_bytes, b, why, NULL, NULL);
}

int kb_batch_check_raw(const uint8_t *p, size_t avail, uint32_t max_bytes,
		       struct kb_batch *b, const char **why, uint8_t **raw,
		       size_t *raw_len)
{
	uint64_t size;

	if (avail < KB_B_HDR) {
		*why = "record batch shorter than its header";
		return KB_ERR_CORRUPT_MESSAGE;
	}
	kb_batch_parse(p, b);
	if (b->magic != 2) {
		*why = "record batch magic is not 2";
		return KB_ERR_CORRUPT_MESSAGE;
	}
	if (b->length < KB_B_MIN_LENGTH) {
		*why = "record batch length too small";
		return KB_ERR_CORRUPT_MESSAGE;
	}
	size = kb_batch_size(b);
	if (size > avail) {
		*why = "record batch length beyond the records field";
		return KB_ERR_CORRUPT_MESSAGE;
	}
	if (max_bytes && size > max_bytes) {
		*why = "record batch larger than message.max.bytes";
		return KB_ERR_MESSAGE_TOO_LARGE;
	}
	if (kb_crc32c(0, p + KB_B_ATTR, size - KB_B_ATTR) != b->crc) {
		*why = "record batch CRC-32C mismatch";
		return KB_ERR_CORRUPT_MESSAGE;
	}
	if (b->attr & (KB_ATTR_TRANSACTIONAL | KB_ATTR_CONTROL)) {
		*why = "transactional and control batches are not supported";
		return KB_ERR_INVALID_RECORD;
	}
	if ((b->attr & KB_ATTR_COMPRESSION) > 4) {
		*why = "unknown compression codec";
		return KB_ERR_INVALID_RECORD;
	}
	if (b->last_delta < 0 || b->count <= 0 ||
	    (int64_t)b->count != (int64_t)b->last_delta + 1) {
		*why = "records count does not match lastOffsetDelta";
		return KB_ERR_INVALID_RECORD;
	}
	if (b->attr & KB_ATTR_COMPRESSION)
		return compressed_ok(p, size, max_bytes, b, why, raw, raw_len);
	if (!records_ok(p + KB_B_HDR, p + size, b->count)) {
		*why = "records do not match the batch's count and length";
		return KB_ERR_INVALID_RECORD;
	}
	return KB_ERR_NONE;
}
