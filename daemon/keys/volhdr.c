// SPDX-License-Identifier: GPL-2.0
/*
 * Codec for the kbroker volume header.  Little-endian fields at fixed
 * offsets, a CRC-32 over the rest so a torn write is detected, and two
 * copies with a generation counter so a torn write never loses both.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "keys/volhdr.h"

enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 8,
	OFF_SIZE = 12,
	OFF_GENERATION = 16,
	OFF_UUID = 24,
	OFF_LABEL = 40,
	OFF_CIPHER = 104,
	OFF_KEY_BYTES = 136,
	OFF_WRAP_ALG = 140,
	OFF_DATA_OFFSET = 144,
	OFF_WRAPPED_LEN = 152,
	OFF_WRAPPED = 156,
	OFF_MASTER = 284,
	OFF_FS = 412,
	OFF_FS_UUID = 416,
	OFF_CRC = 508,
};

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* A string into a zeroed field of @size bytes, always NUL-terminated. */
static void put_str(uint8_t *p, const char *s, size_t size)
{
	size_t n = strnlen(s, size - 1);

	memcpy(p, s, n);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

void volhdr_encode(const struct volhdr *h, uint8_t out[VOLHDR_SIZE])
{
	memset(out, 0, VOLHDR_SIZE);
	memcpy(out + OFF_MAGIC, VOLHDR_MAGIC, sizeof(VOLHDR_MAGIC));
	put32(out + OFF_VERSION, VOLHDR_VERSION);
	put32(out + OFF_SIZE, VOLHDR_SIZE);
	put64(out + OFF_GENERATION, h->generation);
	memcpy(out + OFF_UUID, h->uuid, sizeof(h->uuid));
	put_str(out + OFF_LABEL, h->label, sizeof(h->label));
	put_str(out + OFF_CIPHER, h->cipher, sizeof(h->cipher));
	put32(out + OFF_KEY_BYTES, h->key_bytes);
	put32(out + OFF_WRAP_ALG, h->wrap_alg);
	put64(out + OFF_DATA_OFFSET, h->data_offset);
	put32(out + OFF_WRAPPED_LEN, h->wrapped_len);
	memcpy(out + OFF_WRAPPED, h->wrapped,
	       h->wrapped_len < VOLHDR_WRAPPED_MAX ? h->wrapped_len :
						     VOLHDR_WRAPPED_MAX);
	put_str(out + OFF_MASTER, h->master, sizeof(h->master));
	put32(out + OFF_FS, h->fs);
	memcpy(out + OFF_FS_UUID, h->fs_uuid, sizeof(h->fs_uuid));
	put32(out + OFF_CRC, crc32(0, out, OFF_CRC));
}

/* A NUL-terminated string field of @size bytes. */
static int get_str(const uint8_t *in, size_t size, char *out)
{
	if (!memchr(in, 0, size))
		return -EPROTO;
	memcpy(out, in, size);
	return 0;
}

int volhdr_decode(const uint8_t in[VOLHDR_SIZE], struct volhdr *h)
{
	memset(h, 0, sizeof(*h));
	if (memcmp(in + OFF_MAGIC, VOLHDR_MAGIC, sizeof(VOLHDR_MAGIC)))
		return -EINVAL;
	if (get32(in + OFF_CRC) != crc32(0, in, OFF_CRC))
		return -EBADMSG;
	if (get32(in + OFF_VERSION) != VOLHDR_VERSION ||
	    get32(in + OFF_SIZE) != VOLHDR_SIZE)
		return -EPROTO;
	h->generation = get64(in + OFF_GENERATION);
	memcpy(h->uuid, in + OFF_UUID, sizeof(h->uuid));
	if (get_str(in + OFF_LABEL, sizeof(h->label), h->label) ||
	    get_str(in + OFF_CIPHER, sizeof(h->cipher), h->cipher) ||
	    get_str(in + OFF_MASTER, sizeof(h->master), h->master))
		return -EPROTO;
	h->key_bytes = get32(in + OFF_KEY_BYTES);
	h->wrap_alg = get32(in + OFF_WRAP_ALG);
	h->data_offset = get64(in + OFF_DATA_OFFSET);
	h->wrapped_len = get32(in + OFF_WRAPPED_LEN);
	h->fs = get32(in + OFF_FS);
	memcpy(h->fs_uuid, in + OFF_FS_UUID, sizeof(h->fs_uuid));
	/* A file system state we do not know: never guess what it means. */
	if (h->fs > VOLHDR_FS_EXT4 ||
	    h->wrapped_len > VOLHDR_WRAPPED_MAX || !volhdr_label_ok(h->label) ||
	    h->data_offset < VOLHDR_COPY_B + VOLHDR_SIZE ||
	    h->data_offset % 512)
		return -EPROTO;
	memcpy(h->wrapped, in + OFF_WRAPPED, h->wrapped_len);
	return 0;
}

static const off_t copy_off[2] = { VOLHDR_COPY_A, VOLHDR_COPY_B };

int volhdr_read(int fd, struct volhdr *h, int *which)
{
	uint8_t buf[VOLHDR_SIZE];
	struct volhdr c[2];
	int ok[2], i;

	for (i = 0; i < 2; i++) {
		ssize_t n = pread(fd, buf, sizeof(buf), copy_off[i]);

		if (n < 0)
			return -errno;
		ok[i] = n == sizeof(buf) && !volhdr_decode(buf, &c[i]);
	}
	if (!ok[0] && !ok[1])
		return -ENODATA;
	i = !ok[0] || (ok[1] && c[1].generation > c[0].generation);
	*h = c[i];
	if (which)
		*which = i;
	return 0;
}

int volhdr_write(int fd, const struct volhdr *h, int which)
{
	uint8_t buf[VOLHDR_SIZE];
	ssize_t n;

	volhdr_encode(h, buf);
	n = pwrite(fd, buf, sizeof(buf), copy_off[which ? 1 : 0]);
	if (n != (ssize_t)sizeof(buf))
		return n < 0 ? -errno : -EIO;
	return fsync(fd) ? -errno : 0;
}

/* The bytes where a copy keeps its wrapped data key. */
static int keyslot_used(const uint8_t *in)
{
	int i;

	for (i = OFF_WRAPPED; i < OFF_WRAPPED + VOLHDR_WRAPPED_MAX; i++)
		if (in[i])
			return 1;
	return 0;
}

int volhdr_scan(int fd, struct volhdr_scan *s)
{
	uint8_t buf[VOLHDR_SIZE];
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 2; i++) {
		ssize_t n = pread(fd, buf, sizeof(buf), copy_off[i]);
		struct volhdr *h = &s->h[i];

		if (n < 0)
			return -errno;
		if (n < (ssize_t)sizeof(buf))
			memset(buf + n, 0, sizeof(buf) - n);
		s->err[i] = volhdr_decode(buf, h);
		if (!s->err[i]) {
			s->state[i] = VOLHDR_VALID;
			s->label_ok[i] = 1;
			continue;
		}
		if (s->err[i] != -EINVAL)
			s->state[i] = VOLHDR_TORN;
		else if (keyslot_used(buf))
			s->state[i] = VOLHDR_KEYSLOT;
		else
			s->state[i] = VOLHDR_BLANK;
		/* What a damaged copy still tells, for the operator. */
		h->generation = get64(buf + OFF_GENERATION);
		memcpy(h->uuid, buf + OFF_UUID, sizeof(h->uuid));
		s->label_ok[i] = !get_str(buf + OFF_LABEL, sizeof(h->label),
					  h->label) && volhdr_label_ok(h->label);
		if (get_str(buf + OFF_MASTER, sizeof(h->master), h->master))
			h->master[0] = 0;
	}
	return 0;
}

int volhdr_scan_found(const struct volhdr_scan *s)
{
	return s->state[0] != VOLHDR_BLANK || s->state[1] != VOLHDR_BLANK;
}

const char *volhdr_copy_state_name(enum volhdr_copy_state st)
{
	switch (st) {
	case VOLHDR_BLANK:
		return "blank";
	case VOLHDR_VALID:
		return "valid";
	case VOLHDR_TORN:
		return "torn";
	case VOLHDR_KEYSLOT:
		return "no magic, key slot not zero";
	}
	return "?";
}

int volhdr_update(int fd, struct volhdr *h)
{
	int ret;

	h->generation++;
	ret = volhdr_write(fd, h, 1);
	if (ret)
		return ret;
	h->generation++;
	return volhdr_write(fd, h, 0);
}

void volhdr_uuid_str(const uint8_t *u, char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

int volhdr_label_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}
