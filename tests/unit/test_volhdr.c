// SPDX-License-Identifier: GPL-2.0
/*
 * The volume header codec: round trip, CRC and field checks, and the
 * choice between the two copies (newest valid wins, torn copies lose).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "keys/volhdr.h"
#include "tap.h"

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void sample(struct volhdr *h, uint64_t gen, const char *master)
{
	int i;

	memset(h, 0, sizeof(*h));
	h->generation = gen;
	for (i = 0; i < KBROKER_VOLUME_UUID_LEN; i++)
		h->uuid[i] = (uint8_t)(0xa0 + i);
	strcpy(h->label, "data-1");
	strcpy(h->cipher, KBROKER_VOLUME_CIPHER_NAME);
	strcpy(h->master, master);
	h->key_bytes = KBROKER_VOLUME_KEY_LEN;
	h->wrap_alg = KBROKER_VOLUME_WRAP_GCM_AES256;
	h->data_offset = VOLHDR_DATA_OFFSET;
	h->wrapped_len = KBROKER_VOLUME_WRAPPED_LEN;
	for (i = 0; i < KBROKER_VOLUME_WRAPPED_LEN; i++)
		h->wrapped[i] = (uint8_t)i;
}

/* The file system record, and headers written before it existed. */
static void fs_cases(int fd)
{
	uint8_t buf[VOLHDR_SIZE];
	struct volhdr h, g;
	uint32_t crc;
	int which = -1, i;

	sample(&h, 5, "kbroker:master:a");
	h.fs = VOLHDR_FS_EXT4;
	for (i = 0; i < VOLHDR_FS_UUID_LEN; i++)
		h.fs_uuid[i] = (uint8_t)(0x10 + i);
	volhdr_encode(&h, buf);
	ok(volhdr_decode(buf, &g) == 0 && g.fs == VOLHDR_FS_EXT4 &&
	   !memcmp(g.fs_uuid, h.fs_uuid, VOLHDR_FS_UUID_LEN),
	   "fs state and fs UUID round-trip");
	ok(get_le32(buf + 412) == VOLHDR_FS_EXT4 && buf[416] == 0x10,
	   "fs state at 412, fs UUID at 416");

	/* Written before: reserved bytes 412..507 zero, version 1. */
	memset(buf + 412, 0, 508 - 412);
	crc = (uint32_t)crc32(0, buf, 508);
	for (i = 0; i < 4; i++)
		buf[508 + i] = (uint8_t)(crc >> (8 * i));
	ok(volhdr_decode(buf, &g) == 0 && g.fs == VOLHDR_FS_UNKNOWN &&
	   g.generation == 5 && !strcmp(g.label, "data-1"),
	   "a header from before the fs record reads, fs state unknown");

	h.fs = 3;
	volhdr_encode(&h, buf);
	ok(volhdr_decode(buf, &g) == -EPROTO, "an unknown fs state is refused");

	/* An update: B then A, each a generation higher. */
	h.fs = VOLHDR_FS_NONE;
	ok(!volhdr_write(fd, &h, 1) && !volhdr_write(fd, &h, 0), "fs none, both");
	h.fs = VOLHDR_FS_EXT4;
	ok(!volhdr_update(fd, &h) && h.generation == 7, "update: generation + 2");
	ok(!volhdr_read(fd, &g, &which) && which == 0 && g.generation == 7 &&
	   g.fs == VOLHDR_FS_EXT4, "update: A newest, fs recorded");
	ok(pread(fd, buf, VOLHDR_SIZE, VOLHDR_COPY_B) == VOLHDR_SIZE &&
	   !volhdr_decode(buf, &g) && g.generation == 6 &&
	   g.fs == VOLHDR_FS_EXT4, "update: B written first, generation + 1");
}

/* Writes @len bytes of @c at @off. */
static int scribble(int fd, off_t off, int c, size_t len)
{
	uint8_t b[VOLHDR_SIZE];

	memset(b, c, len);
	return pwrite(fd, b, len, off) == (ssize_t)len ? 0 : -1;
}

static void scan_cases(int fd)
{
	struct volhdr_scan s;
	struct volhdr h;

	ok(!scribble(fd, VOLHDR_COPY_A, 0, VOLHDR_SIZE) &&
	   !scribble(fd, VOLHDR_COPY_B, 0, VOLHDR_SIZE), "slots zeroed");
	ok(!volhdr_scan(fd, &s) && !volhdr_scan_found(&s) &&
	   s.state[0] == VOLHDR_BLANK && s.state[1] == VOLHDR_BLANK,
	   "scan: zeroed slots are blank");

	sample(&h, 4, "kbroker:master:a");
	ok(!volhdr_write(fd, &h, 1) && !volhdr_write(fd, &h, 0), "both copies");
	ok(!volhdr_scan(fd, &s) && volhdr_scan_found(&s) &&
	   s.state[0] == VOLHDR_VALID && s.state[1] == VOLHDR_VALID &&
	   s.h[0].generation == 4, "scan: both valid");

	/* Both copies torn past the magic: no valid header is left. */
	ok(!scribble(fd, VOLHDR_COPY_A + 100, 0x5a, 16) &&
	   !scribble(fd, VOLHDR_COPY_B + 500, 0x5a, 8), "both copies torn");
	ok(volhdr_read(fd, &h, NULL) == -ENODATA, "torn: no valid copy to read");
	ok(!volhdr_scan(fd, &s) && volhdr_scan_found(&s) &&
	   s.state[0] == VOLHDR_TORN && s.state[1] == VOLHDR_TORN &&
	   s.err[0] == -EBADMSG, "scan: both torn, found");
	ok(s.label_ok[1] && !strcmp(s.h[1].label, "data-1") &&
	   s.h[1].generation == 4 && !strcmp(s.h[1].master, "kbroker:master:a"),
	   "scan: a torn copy still names its label, generation, master key");

	/* Magic gone in both, a wrapped key left in one. */
	ok(!scribble(fd, VOLHDR_COPY_A, 0, 8) &&
	   !scribble(fd, VOLHDR_COPY_B, 0, VOLHDR_SIZE), "magic wiped");
	ok(!volhdr_scan(fd, &s) && volhdr_scan_found(&s) &&
	   s.state[0] == VOLHDR_KEYSLOT && s.state[1] == VOLHDR_BLANK,
	   "scan: no magic but a key slot that is not zero, found");
	ok(!strcmp(volhdr_copy_state_name(VOLHDR_TORN), "torn"), "state names");
}

int main(void)
{
	uint8_t buf[VOLHDR_SIZE], torn[VOLHDR_SIZE];
	struct volhdr h, g;
	char path[] = "/tmp/kb-volhdr.XXXXXX", uuid[37];
	int fd, which = -1;

	sample(&h, 7, "kbroker:master:a");
	volhdr_encode(&h, buf);
	ok(!memcmp(buf, "KBRKVOL", 8), "magic at offset 0");
	ok(volhdr_decode(buf, &g) == 0, "decodes what it encodes");
	ok(g.generation == 7 && !strcmp(g.label, "data-1") &&
	   !strcmp(g.master, "kbroker:master:a") &&
	   !memcmp(g.wrapped, h.wrapped, KBROKER_VOLUME_WRAPPED_LEN) &&
	   g.data_offset == VOLHDR_DATA_OFFSET, "every field round-trips");
	volhdr_uuid_str(h.uuid, uuid);
	ok(!strcmp(uuid, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf"), "uuid string");

	buf[300] ^= 1;
	ok(volhdr_decode(buf, &g) == -EBADMSG, "a flipped bit fails the CRC");
	buf[300] ^= 1;
	buf[0] = 'X';
	ok(volhdr_decode(buf, &g) == -EINVAL, "no magic: not a volume");

	strcpy(h.label, "a/b");
	volhdr_encode(&h, buf);
	ok(volhdr_decode(buf, &g) == -EPROTO, "a label with '/' is refused");
	ok(!volhdr_label_ok("") && volhdr_label_ok("x.y_z-1"), "label alphabet");

	fd = mkstemp(path);
	ok(fd >= 0, "temp file");
	if (fd < 0)
		return tap_done();
	unlink(path);
	ok(ftruncate(fd, 2 << 20) == 0, "2 MiB device");
	ok(volhdr_read(fd, &g, NULL) == -ENODATA, "blank device: no header");

	sample(&h, 1, "kbroker:master:a");
	ok(!volhdr_write(fd, &h, 1) && !volhdr_write(fd, &h, 0), "both copies");
	ok(!volhdr_read(fd, &g, &which) && which == 0 && g.generation == 1,
	   "equal generations: copy A");

	/* Rewrap, step by step. */
	sample(&h, 2, "kbroker:master:b");
	volhdr_encode(&h, torn);
	ok(pwrite(fd, torn, 256, VOLHDR_COPY_B) == 256, "torn write of B");
	ok(!volhdr_read(fd, &g, &which) && which == 0 &&
	   !strcmp(g.master, "kbroker:master:a"), "torn B: A, old key");
	ok(!volhdr_write(fd, &h, 1), "B written");
	ok(!volhdr_read(fd, &g, &which) && which == 1 &&
	   !strcmp(g.master, "kbroker:master:b"), "newer B wins: new key");
	sample(&h, 3, "kbroker:master:b");
	volhdr_encode(&h, torn);
	ok(pwrite(fd, torn, 256, VOLHDR_COPY_A) == 256, "torn write of A");
	ok(!volhdr_read(fd, &g, &which) && which == 1 && g.generation == 2,
	   "torn A: B, new key");
	ok(!volhdr_write(fd, &h, 0), "A written");
	ok(!volhdr_read(fd, &g, &which) && which == 0 && g.generation == 3,
	   "both new: A, generation 3");

	fs_cases(fd);
	/* What format must not take for a blank device. */
	scan_cases(fd);
	close(fd);
	return tap_done();
}
