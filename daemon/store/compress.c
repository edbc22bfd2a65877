// SPDX-License-Identifier: GPL-2.0
/*
 * Decompression of a record batch's records, so that compressed batches
 * are checked record by record as uncompressed ones are, and compression
 * for a topic whose compression.type asks for another codec than the
 * producer's (recompress.c, through deflate.c).
 *
 * Codecs as Kafka writes them: gzip (RFC 1952), snappy (raw, or in the
 * xerial framing the Java client uses), LZ4 frames and zstd frames.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "store/internal.h"

struct obuf {
	uint8_t *p;
	size_t len, cap, max;
	bool over;		/* would have passed max */
};

/* Room for @n more bytes; false past the caller's limit. */
static bool reserve(struct obuf *o, size_t n)
{
	size_t cap = o->cap ? o->cap : 64 * 1024;
	uint8_t *p;

	if (n > o->max - o->len) {
		o->over = true;
		return false;
	}
	if (o->len + n <= o->cap)
		return true;
	while (cap < o->len + n)
		cap *= 2;
	if (cap > o->max)
		cap = o->max;
	p = realloc(o->p, cap);
	if (!p)
		return false;
	o->p = p;
	o->cap = cap;
	return true;
}

/* Room to write into: at least 64 KiB, or what is left below the limit. */
static size_t grow(struct obuf *o)
{
	size_t want = 64 * 1024;

	if (want > o->max - o->len)
		want = o->max - o->len;
	if (!want) {
		o->over = true;
		return 0;
	}
	if (!reserve(o, want))
		return 0;
	return o->cap - o->len;
}

static bool gunzip(const uint8_t *in, size_t len, struct obuf *o)
{
	z_stream z = { 0 };
	int ret = Z_OK;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return false;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	for (;;) {
		size_t room = grow(o);

		if (!room)
			break;
		z.next_out = o->p + o->len;
		z.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
		ret = inflate(&z, Z_NO_FLUSH);
		o->len = o->cap - z.avail_out;
		if (ret == Z_STREAM_END && z.avail_in) {
			/* Concatenated members, as GZIPInputStream reads. */
			if (inflateReset(&z) != Z_OK)
				break;
			continue;
		}
		if (ret != Z_OK)
			break;
	}
	inflateEnd(&z);
	return ret == Z_STREAM_END && !z.avail_in;
}

static bool unsnappy_block(const uint8_t *in, size_t len, struct obuf *o)
{
	size_t n;

	if (snappy_uncompressed_length((const char *)in, len, &n) != SNAPPY_OK ||
	    !reserve(o, n) ||
	    snappy_uncompress((const char *)in, len, (char *)o->p + o->len,
			      &n) != SNAPPY_OK)
		return false;
	o->len += n;
	return true;
}

/* Raw snappy, or xerial's framing: magic, two versions, sized blocks. */
static bool unsnappy(const uint8_t *in, size_t len, struct obuf *o)
{
	static const uint8_t magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };
	size_t off = 16;

	if (len < 16 || memcmp(in, magic, sizeof(magic)))
		return unsnappy_block(in, len, o);
	while (off < len) {
		uint32_t n;

		if (len - off < 4)
			return false;
		n = kb_get_be32(in + off);
		off += 4;
		if (n > len - off || !unsnappy_block(in + off, n, o))
			return false;
		off += n;
	}
	return true;
}

static bool unlz4(const uint8_t *in, size_t len, struct obuf *o)
{
	LZ4F_dctx *d;
	size_t ret = 1;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return false;
	while (ret) {
		size_t room = grow(o), src = len;

		if (!room)
			break;
		ret = LZ4F_decompress(d, o->p + o->len, &room, in, &src, NULL);
		if (LZ4F_isError(ret))
			break;
		o->len += room;
		in += src;
		len -= src;
		if (!src && !room)
			break;		/* truncated frame */
	}
	LZ4F_freeDecompressionContext(d);
	/* 0: the frame ended, exactly where the records field does. */
	return !LZ4F_isError(ret) && !ret && !len;
}

static bool unzstd(const uint8_t *in, size_t len, struct obuf *o)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t ret = 1;

	if (!d)
		return false;
	while (ret) {
		size_t room = grow(o);
		ZSTD_outBuffer ob;

		if (!room)
			break;
		ob = (ZSTD_outBuffer){ o->p + o->len, room, 0 };
		ret = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(ret))
			break;
		o->len += ob.pos;
		if (ib.pos == ib.size && !ob.pos && ret)
			break;		/* truncated frame */
		if (!ret && ib.pos < ib.size)
			ret = 1;	/* another frame follows */
	}
	ZSTD_freeDStream(d);
	return !ZSTD_isError(ret) && !ret && ib.pos == ib.size;
}

int kb_records_inflate(int codec, const uint8_t *in, size_t len, size_t max,
		       uint8_t **out, size_t *out_len)
{
	struct obuf o = { .max = max };
	bool ok;

	switch (codec) {
	case 1:
		ok = gunzip(in, len, &o);
		break;
	case 2:
		ok = unsnappy(in, len, &o);
		break;
	case 3:
		ok = unlz4(in, len, &o);
		break;
	case 4:
		ok = unzstd(in, len, &o);
		break;
	default:
		ok = false;
	}
	if (!ok) {
		free(o.p);
		return o.over ? -E2BIG : -EINVAL;
	}
	*out = o.p;
	*out_len = o.len;
	return 0;
}
