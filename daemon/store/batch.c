// SPDX-License-Identifier: GPL-2.0
/*
 * Record batch (magic 2) parsing and validation, and CRC-32C.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

/* ---- CRC-32C (Castagnoli, reflected poly 0x82f63b78) ---- */

static uint32_t crc_tab[8][256];
static bool crc_ready;
static bool crc_hw;

/* Slice-by-8: eight table lookups per 8 input bytes. */
static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w ^= c;		/* little-endian hosts only, as x86/arm64 */
		c = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^
		    crc_tab[5][(w >> 16) & 0xff] ^
		    crc_tab[4][(w >> 24) & 0xff] ^
		    crc_tab[3][(w >> 32) & 0xff] ^
		    crc_tab[2][(w >> 40) & 0xff] ^
		    crc_tab[1][(w >> 48) & 0xff] ^ crc_tab[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__)
/*
 * crc32q has a latency of 3 cycles but a throughput of one per cycle, so one
 * dependency chain runs at a third of the speed the unit allows.  Three
 * streams over adjacent thirds of a block run in parallel and are combined
 * by shifting the first two CRCs over the bytes that follow them, a linear
 * operator on the CRC register applied with four table lookups (Mark
 * Adler's crc32c.c does the same).
 */
#define CRC_LONG 8192
#define CRC_SHORT 256

static uint32_t crc_long[4][256], crc_short[4][256];

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(uint32_t *sq, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		sq[n] = gf2_times(mat, mat[n]);
}

/* Tables applying @len (a power of two) zero bytes to a CRC register. */
static void crc_zeros_init(uint32_t zeros[4][256], size_t len)
{
	uint32_t a[32], b[32], *even = a, *odd = b, *t;

	odd[0] = 0x82f63b78;		/* one zero bit */
	for (int n = 1; n < 32; n++)
		odd[n] = 1u << (n - 1);
	gf2_square(even, odd);		/* two bits */
	gf2_square(odd, even);		/* four bits */
	for (;;) {
		gf2_square(even, odd);	/* 8, 32, 128... bits */
		len >>= 1;
		if (!len)
			break;
		gf2_square(odd, even);
		len >>= 1;
		if (!len) {
			t = even;
			even = odd;
			odd = t;
			break;
		}
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 0; k < 4; k++)
			zeros[k][n] = gf2_times(even, n << (8 * k));
}

static inline uint32_t crc_shift(const uint32_t zeros[4][256], uint32_t c)
{
	return zeros[0][c & 0xff] ^ zeros[1][(c >> 8) & 0xff] ^
	       zeros[2][(c >> 16) & 0xff] ^ zeros[3][c >> 24];
}

/* Three interleaved chains over blocks of 3 * @n bytes. */
__attribute__((target("sse4.2"))) static inline uint64_t
crc_sse42_3way(uint64_t c0, const uint8_t **pp, size_t *lenp, size_t n,
	       const uint32_t zeros[4][256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;

	while (len >= 3 * n) {
		uint64_t c1 = 0, c2 = 0;

		for (const uint8_t *end = p + n; p < end; p += 8) {
			uint64_t w0, w1, w2;

			memcpy(&w0, p, 8);
			memcpy(&w1, p + n, 8);
			memcpy(&w2, p + 2 * n, 8);
			c0 = __builtin_ia32_crc32di(c0, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
		}
		c0 = crc_shift(zeros, (uint32_t)c0) ^ (uint32_t)c1;
		c0 = crc_shift(zeros, (uint32_t)c0) ^ (uint32_t)c2;
		p += 2 * n;
		len -= 3 * n;
	}
	*pp = p;
	*lenp = len;
	return c0;
}

__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t len)
{
	uint64_t c64 = c;

	while (len && ((uintptr_t)p & 7)) {
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
		len--;
	}
	c64 = crc_sse42_3way(c64, &p, &len, CRC_LONG, crc_long);
	c64 = crc_sse42_3way(c64, &p, &len, CRC_SHORT, crc_short);
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
		p += 8;
		len -= 8;
	}
	c = (uint32_t)c64;
	while (len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^
					crc_tab[0][crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
	crc_zeros_init(crc_long, CRC_LONG);
	crc_zeros_init(crc_short, CRC_SHORT);
#endif
	crc_ready = true;
}

uint32_t kb_crc32c(uint32_t crc, const void *buf, size_t len)
{
	uint32_t c = ~crc;

	if (!crc_ready)
		crc_init();
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_sse42(c, buf, len);
#endif
	return ~crc_sw(c, buf, len);
}

/* ---- batches ---- */

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
			 const struct kb_batch *b, const char **why)
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
	free(raw);
	if (!ok) {
		*why = "decompressed records do not match the batch's count";
		return KB_ERR_INVALID_RECORD;
	}
	return KB_ERR_NONE;
}

int kb_batch_check(const uint8_t *p, size_t avail, uint32_t max_bytes,
		   struct kb_batch *b, const char **why)
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
		return compressed_ok(p, size, max_bytes, b, why);
	if (!records_ok(p + KB_B_HDR, p + size, b->count)) {
		*why = "records do not match the batch's count and length";
		return KB_ERR_INVALID_RECORD;
	}
	return KB_ERR_NONE;
}
