// SPDX-License-Identifier: GPL-2.0
/*
 * Broker-side compression.type: a batch whose codec is not the one its
 * topic asks for is rebuilt at append around the records
 * kb_batch_check_raw() already decompressed and checked, so the records
 * are walked once.  Everything in the header but the codec bits, the
 * length and the CRC is kept: offsets are assigned afterwards as for any
 * batch, and producer id, epoch and sequence still describe the same
 * records, so idempotence is unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/errors.h"
#include "store/internal.h"

int kb_batch_recompress(const uint8_t *src, struct kb_batch *b,
			const uint8_t *raw, size_t raw_len, int codec,
			uint32_t max_bytes, uint8_t **out, const char **why)
{
	uint8_t *z = NULL, *nb;
	const uint8_t *body = raw;
	size_t zlen = raw_len, size;
	uint16_t attr;

	if (codec && kb_records_deflate(codec, raw, raw_len, &z, &zlen)) {
		*why = "out of memory recompressing a batch";
		return KB_ERR_UNKNOWN_SERVER_ERROR;
	}
	if (z)
		body = z;
	size = KB_B_HDR + zlen;
	if ((max_bytes && size > max_bytes) ||
	    size - KB_B_LOG_OVERHEAD > INT32_MAX) {
		free(z);
		*why = "record batch larger than max.message.bytes once recompressed to the topic's compression.type";
		return KB_ERR_MESSAGE_TOO_LARGE;
	}
	nb = malloc(size);
	if (!nb) {
		free(z);
		*why = "out of memory recompressing a batch";
		return KB_ERR_UNKNOWN_SERVER_ERROR;
	}
	memcpy(nb, src, KB_B_HDR);
	memcpy(nb + KB_B_HDR, body, zlen);
	free(z);
	attr = (uint16_t)((b->attr & ~KB_ATTR_COMPRESSION) | codec);
	kb_put_be16(nb + KB_B_ATTR, attr);
	kb_put_be32(nb + KB_B_LENGTH, (uint32_t)(size - KB_B_LOG_OVERHEAD));
	kb_put_be32(nb + KB_B_CRC,
		    kb_crc32c(0, nb + KB_B_ATTR, size - KB_B_ATTR));
	kb_batch_parse(nb, b);
	*out = nb;
	return KB_ERR_NONE;
}
