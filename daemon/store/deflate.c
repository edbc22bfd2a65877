// SPDX-License-Identifier: GPL-2.0
/*
 * Compression of a records field with one of Kafka's codecs, for the
 * cleaner: a compressed batch that loses records is written back with the
 * codec it came with.  The forms are the ones Kafka's Java client writes,
 * which every client reads: gzip (RFC 1952), snappy in xerial's framing,
 * LZ4 frames of independent 64 KiB blocks, zstd frames.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "store/internal.h"

#define SNAPPY_BLOCK (32 * 1024)	/* xerial's default block */

static int gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *n)
{
	z_stream z = { 0 };
	uLong cap;
	uint8_t *buf;
	int ret;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS,
			 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)len);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	ret = deflate(&z, Z_FINISH);
	*n = cap - z.avail_out;
	deflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

static int snappy(const uint8_t *in, size_t len, uint8_t **out, size_t *n)
{
	static const uint8_t hdr[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
					 0, 0, 0, 1, 0, 0, 0, 1 };
	size_t blocks = len / SNAPPY_BLOCK + 1, cap, off = sizeof(hdr);
	uint8_t *buf;

	cap = sizeof(hdr) + blocks * (4 + snappy_max_compressed_length(
						  SNAPPY_BLOCK));
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, hdr, sizeof(hdr));
	for (size_t pos = 0; pos < len; pos += SNAPPY_BLOCK) {
		size_t in_n = len - pos < SNAPPY_BLOCK ? len - pos : SNAPPY_BLOCK;
		size_t c = cap - off - 4;

		if (snappy_compress((const char *)in + pos, in_n,
				    (char *)buf + off + 4, &c) != SNAPPY_OK) {
			free(buf);
			return -EIO;
		}
		kb_put_be32(buf + off, (uint32_t)c);
		off += 4 + c;
	}
	*out = buf;
	*n = off;
	return 0;
}

static int lz4(const uint8_t *in, size_t len, uint8_t **out, size_t *n)
{
	LZ4F_preferences_t pr = { 0 };
	size_t cap, r;
	uint8_t *buf;

	pr.frameInfo.blockSizeID = LZ4F_max64KB;
	pr.frameInfo.blockMode = LZ4F_blockIndependent;
	cap = LZ4F_compressFrameBound(len, &pr);
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	r = LZ4F_compressFrame(buf, cap, in, len, &pr);
	if (LZ4F_isError(r)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*n = r;
	return 0;
}

static int zstd(const uint8_t *in, size_t len, uint8_t **out, size_t *n)
{
	size_t cap = ZSTD_compressBound(len), r;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	r = ZSTD_compress(buf, cap, in, len, ZSTD_CLEVEL_DEFAULT);
	if (ZSTD_isError(r)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*n = r;
	return 0;
}

int kb_records_deflate(int codec, const uint8_t *in, size_t len,
		       uint8_t **out, size_t *out_len)
{
	switch (codec) {
	case 1:
		return gzip(in, len, out, out_len);
	case 2:
		return snappy(in, len, out, out_len);
	case 3:
		return lz4(in, len, out, out_len);
	case 4:
		return zstd(in, len, out, out_len);
	}
	return -EINVAL;
}
