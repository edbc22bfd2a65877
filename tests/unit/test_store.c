// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of daemon/store/: append/read, validation, indexes, roll,
 * retention, crash recovery, idempotent producers, topics.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "store/internal.h"
#include "store/store.h"
#include "tap.h"

static char root[64];
static char dir0[96], dir1[96];

static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
	}
	return ~c;
}

/* ---- building batches ---- */

struct bopt {
	int n;			/* records */
	int vlen;		/* value bytes per record */
	int64_t ts;		/* timestamp of every record */
	int64_t pid;
	int16_t epoch;
	int32_t seq;
	int16_t attr;
	int64_t ts_step;	/* record i's timestamp is ts + i * ts_step */
};

static size_t put_varint(uint8_t *p, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 0;

	while (u >= 0x80) {
		p[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (uint8_t)u;
	return n;
}

static void fix_crc(uint8_t *b)
{
	size_t len = KB_B_LOG_OVERHEAD + kb_get_be32(b + KB_B_LENGTH);

	kb_put_be32(b + KB_B_CRC, kb_crc32c(0, b + KB_B_ATTR,
					    len - KB_B_ATTR));
}

/* Compresses @raw into @out as Kafka's codec @codec; returns the size. */
static size_t compress_as(int codec, const uint8_t *raw, size_t n,
			  uint8_t *out, size_t cap)
{
	size_t len = cap;
	z_stream z = { 0 };

	switch (codec) {
	case 1:
		deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
			     Z_DEFAULT_STRATEGY);
		z.next_in = (Bytef *)raw;
		z.avail_in = (uInt)n;
		z.next_out = out;
		z.avail_out = (uInt)cap;
		deflate(&z, Z_FINISH);
		len = cap - z.avail_out;
		deflateEnd(&z);
		return len;
	case 2:
		snappy_compress((const char *)raw, n, (char *)out, &len);
		return len;
	case 3:
		return LZ4F_compressFrame(out, cap, raw, n, NULL);
	default:
		return ZSTD_compress(out, cap, raw, n, 1);
	}
}

static size_t make_batch(uint8_t *buf, const struct bopt *o)
{
	uint8_t *p = buf + KB_B_HDR, *raw = malloc(1 << 20), *r0 = raw;
	size_t len;

	memset(buf, 0, KB_B_HDR);
	buf[KB_B_MAGIC] = 2;
	kb_put_be16(buf + KB_B_ATTR, (uint16_t)o->attr);
	kb_put_be32(buf + KB_B_LAST_DELTA, (uint32_t)(o->n - 1));
	kb_put_be64(buf + KB_B_BASE_TS, (uint64_t)o->ts);
	kb_put_be64(buf + KB_B_MAX_TS,
		    (uint64_t)(o->ts + (int64_t)(o->n - 1) * o->ts_step));
	kb_put_be64(buf + KB_B_PID, (uint64_t)o->pid);
	kb_put_be16(buf + KB_B_PEPOCH, (uint16_t)o->epoch);
	kb_put_be32(buf + KB_B_BASE_SEQ, (uint32_t)o->seq);
	kb_put_be32(buf + KB_B_COUNT, (uint32_t)o->n);
	for (int i = 0; i < o->n; i++) {
		uint8_t rec[256], *r = rec;

		*r++ = 0;
		r += put_varint(r, (int64_t)i * o->ts_step);
		r += put_varint(r, i);
		r += put_varint(r, -1);
		r += put_varint(r, o->vlen);
		for (int k = 0; k < o->vlen; k++)
			*r++ = (uint8_t)('a' + (i + k) % 26);
		r += put_varint(r, 0);
		raw += put_varint(raw, r - rec);
		memcpy(raw, rec, (size_t)(r - rec));
		raw += r - rec;
	}
	if (o->attr & 7) {
		p += compress_as(o->attr & 7, r0, (size_t)(raw - r0), p, 65536);
	} else {
		memcpy(p, r0, (size_t)(raw - r0));
		p += raw - r0;
	}
	free(r0);
	len = (size_t)(p - buf);
	kb_put_be32(buf + KB_B_LENGTH, (uint32_t)(len - KB_B_LOG_OVERHEAD));
	fix_crc(buf);
	return len;
}

static struct bopt plain(int n)
{
	return (struct bopt){ .n = n, .vlen = 8, .ts = 1000, .pid = -1,
			      .epoch = -1, .seq = -1 };
}

/* ---- store set-up ---- */

static struct kb_store_opts opts(void)
{
	static const char *dirs[2];

	dirs[0] = dir0;
	dirs[1] = dir1;
	return (struct kb_store_opts){
		.log_dirs = dirs,
		.n_log_dirs = 1,
		.segment_bytes = 1 << 30,
		.roll_ms = 1000000000000000LL,
		.retention_ms = -1,
		.retention_bytes = -1,
		.flush_messages = INT64_MAX,
		.flush_ms = -1,
		.index_interval_bytes = 4096,
		.max_message_bytes = 1 << 20,
	};
}

static void rm_rf(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd))
		fprintf(stderr, "rm -rf %s failed\n", path);
}

static void fresh(void)
{
	rm_rf(dir0);
	rm_rf(dir1);
}

static struct kb_store *open_store(const struct kb_store_opts *o)
{
	struct kb_store *s = NULL;
	int err = kb_store_open(o, &s);

	if (err)
		printf("# kb_store_open: %s\n", strerror(-err));
	return s;
}

static int64_t append(struct kb_partition *p, const uint8_t *b, size_t len,
		      int16_t *error)
{
	struct kb_append_result r;
	int err = kb_partition_append(p, b, len, &r);

	if (err)
		printf("# append: %s\n", strerror(-err));
	if (error)
		*error = r.error;
	return r.error ? -1 - r.error : r.base_offset;
}

static int count_files(const char *dir, const char *ext)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), e = strlen(ext);

		if (l > e && !strcmp(de->d_name + l - e, ext))
			n++;
	}
	closedir(d);
	return n;
}

/* Reads the slice at @off and returns the first batch header in @b. */
static bool read_at(struct kb_partition *p, int64_t off, size_t max,
		    struct kb_batch *b, struct kb_read_result *res,
		    uint8_t *copy, size_t copy_cap)
{
	uint8_t h[KB_B_HDR];
	bool good;

	if (kb_partition_read(p, off, max, true, res) || res->error ||
	    res->slice.fd < 0)
		return false;
	good = pread(res->slice.fd, h, sizeof(h), res->slice.pos) ==
	       (ssize_t)sizeof(h);
	if (good && copy) {
		size_t n = res->slice.len < copy_cap ? res->slice.len :
						       copy_cap;

		good = pread(res->slice.fd, copy, n, res->slice.pos) ==
		       (ssize_t)n;
	}
	close(res->slice.fd);
	if (good)
		kb_batch_parse(h, b);
	return good;
}

/* ---- tests ---- */

static void test_append_read(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	struct kb_read_result rr;
	struct kb_batch b;
	uint8_t b1[4096], b2[4096], got[8192];
	struct bopt bo = plain(3);
	size_t l1, l2;
	int16_t e;

	fresh();
	s = open_store(&o);
	ok(s, "store opens on a fresh dir");
	ok(kb_store_topic_create(s, "t", 1) == KB_ERR_NONE, "create topic");
	p = kb_store_partition(s, "t", 0);
	ok(p && !kb_store_partition(s, "t", 1) &&
	   !kb_store_partition(s, "u", 0), "partition lookup");
	l1 = make_batch(b1, &bo);
	bo.n = 5;
	l2 = make_batch(b2, &bo);
	ok(append(p, b1, l1, &e) == 0, "first batch gets offset 0");
	ok(append(p, b2, l2, &e) == 3, "second batch gets offset 3");
	ok(kb_partition_log_end(p) == 8 && kb_partition_high_watermark(p) == 8,
	   "log end and high watermark 8");
	ok(kb_partition_size(p) == l1 + l2, "size is the sum of batches");
	ok(read_at(p, 0, 1 << 20, &b, &rr, got, sizeof(got)) &&
	   rr.slice.len == l1 + l2, "read from 0 returns both batches");
	ok(!memcmp(got + 8, b1 + 8, l1 - 8) &&
	   !memcmp(got + l1 + 8, b2 + 8, l2 - 8) &&
	   kb_get_be64(got + l1) == 3 && kb_get_be64(got) == 0,
	   "bytes identical except the base offset");
	ok(read_at(p, 4, 1 << 20, &b, &rr, NULL, 0) && b.base == 3 &&
	   rr.slice.len == l2, "read inside batch 2 starts at batch 2");
	ok(read_at(p, 0, 10, &b, &rr, NULL, 0) && rr.slice.len == l1,
	   "min_one returns the first batch whole");
	ok(!kb_partition_read(p, 0, 10, false, &rr) && rr.slice.len == 0 &&
	   rr.slice.fd == -1, "without min_one a too-big batch gives nothing");
	ok(!kb_partition_read(p, 8, 100, true, &rr) && !rr.error &&
	   rr.slice.len == 0 && rr.high_watermark == 8, "read at hw is empty");
	ok(!kb_partition_read(p, 9, 100, true, &rr) &&
	   rr.error == KB_ERR_OFFSET_OUT_OF_RANGE, "read past hw: out of range");
	ok(!kb_partition_read(p, -1, 100, true, &rr) &&
	   rr.error == KB_ERR_OFFSET_OUT_OF_RANGE, "negative offset");

	/* LogAppendTime: max timestamp set and the CRC still right. */
	bo.attr = KB_ATTR_LOG_APPEND_TIME;
	l1 = make_batch(b1, &bo);
	{
		struct kb_append_result r;

		ok(!kb_partition_append(p, b1, l1, &r) && !r.error &&
		   r.base_offset == 8 && r.log_append_time > 1600000000000LL,
		   "LogAppendTime batch appended with a log append time");
		ok(read_at(p, 8, 1 << 20, &b, &rr, got, sizeof(got)) &&
		   b.max_ts == r.log_append_time &&
		   kb_batch_check(got, rr.slice.len, 0, &b, &(const char *){
			   NULL }) == KB_ERR_NONE,
		   "stored LogAppendTime batch has a valid CRC");
	}
	/* Compressed batches are stored as they came. */
	bo = plain(4);
	bo.attr = 2;
	l1 = make_batch(b1, &bo);
	ok(append(p, b1, l1, &e) == 13, "compressed batch accepted");
	ok(read_at(p, 13, 1 << 20, &b, &rr, got, sizeof(got)) &&
	   rr.slice.len == l1 && !memcmp(got + 8, b1 + 8, l1 - 8),
	   "compressed batch read back unchanged");
	kb_store_close(s);
	s = open_store(&o);
	p = s ? kb_store_partition(s, "t", 0) : NULL;
	ok(p && kb_partition_log_end(p) == 17, "log end survives reopen");
	ok(p && read_at(p, 3, 1 << 20, &b, &rr, got, sizeof(got)) &&
	   b.base == 3 && b.count == 5, "data readable after reopen");
	kb_store_close(s);
	/* Store-wide LogAppendTime: CreateTime batches are stamped. */
	o.log_append_time = true;
	s = open_store(&o);
	p = kb_store_partition(s, "t", 0);
	bo = plain(2);
	l1 = make_batch(b1, &bo);
	{
		struct kb_append_result r;
		const char *why = NULL;

		ok(!kb_partition_append(p, b1, l1, &r) && !r.error &&
		   r.base_offset == 17 && r.log_append_time > 0,
		   "log_append_time option stamps CreateTime batches");
		ok(read_at(p, 17, 1 << 20, &b, &rr, got, sizeof(got)) &&
		   (b.attr & KB_ATTR_LOG_APPEND_TIME) &&
		   b.max_ts == r.log_append_time &&
		   !kb_batch_check(got, rr.slice.len, 0, &b, &why),
		   "stamped batch: attribute, max timestamp, CRC");
	}
	kb_store_close(s);
}

static void test_validation(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	uint8_t b[8192], two[8192];
	struct bopt bo = plain(3);
	size_t l, l2;
	int16_t e;

	fresh();
	o.max_message_bytes = 2000;
	s = open_store(&o);
	kb_store_topic_create(s, "v", 1);
	p = kb_store_partition(s, "v", 0);

	l = make_batch(b, &bo);
	b[l - 3] ^= 1;
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_CORRUPT_MESSAGE,
	   "CRC mismatch: CORRUPT_MESSAGE");
	ok(kb_partition_log_end(p) == 0 && kb_partition_size(p) == 0,
	   "nothing appended after a bad CRC");

	l = make_batch(b, &bo);
	kb_put_be32(b + KB_B_COUNT, 4);
	fix_crc(b);
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_INVALID_RECORD,
	   "count != lastOffsetDelta + 1: INVALID_RECORD");

	l = make_batch(b, &bo);
	kb_put_be32(b + KB_B_LAST_DELTA, 3);
	kb_put_be32(b + KB_B_COUNT, 4);
	fix_crc(b);
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_INVALID_RECORD,
	   "count larger than the records present: INVALID_RECORD");

	l = make_batch(b, &bo);
	kb_put_be32(b + KB_B_LENGTH, kb_get_be32(b + KB_B_LENGTH) + 1);
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_CORRUPT_MESSAGE,
	   "batchLength beyond the data: CORRUPT_MESSAGE");

	l = make_batch(b, &bo);
	b[l] = 0;
	kb_put_be32(b + KB_B_LENGTH, kb_get_be32(b + KB_B_LENGTH) + 1);
	fix_crc(b);
	ok(append(p, b, l + 1, &e) < 0 && e == KB_ERR_INVALID_RECORD,
	   "records not filling the batch: INVALID_RECORD");

	l = make_batch(b, &bo);
	kb_put_be32(b + KB_B_LENGTH, 20);
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_CORRUPT_MESSAGE,
	   "batchLength too small: CORRUPT_MESSAGE");

	l = make_batch(b, &bo);
	b[KB_B_MAGIC] = 1;
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_CORRUPT_MESSAGE,
	   "magic 1 refused");

	ok(append(p, b, 30, &e) < 0 && e == KB_ERR_CORRUPT_MESSAGE,
	   "truncated header refused");

	bo.attr = KB_ATTR_TRANSACTIONAL;
	l = make_batch(b, &bo);
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_INVALID_RECORD,
	   "transactional batch: INVALID_RECORD");
	bo.attr = KB_ATTR_CONTROL;
	l = make_batch(b, &bo);
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_INVALID_RECORD,
	   "control batch: INVALID_RECORD");

	bo = plain(30);
	bo.vlen = 100;
	l = make_batch(b, &bo);
	ok(append(p, b, l, &e) < 0 && e == KB_ERR_MESSAGE_TOO_LARGE,
	   "batch over message.max.bytes: MESSAGE_TOO_LARGE");

	/* A good batch followed by a bad one: all or nothing. */
	bo = plain(2);
	l = make_batch(two, &bo);
	l2 = make_batch(two + l, &bo);
	two[l + l2 - 1] ^= 0x55;
	ok(append(p, two, l + l2, &e) < 0 && e == KB_ERR_CORRUPT_MESSAGE &&
	   kb_partition_log_end(p) == 0, "bad second batch: nothing appended");
	two[l + l2 - 1] ^= 0x55;
	ok(append(p, two, l + l2, &e) == 0 && kb_partition_log_end(p) == 4,
	   "two good batches in one request");
	ok(append(p, two, 0, &e) < 0, "empty records refused");
	kb_store_close(s);
}

/* A bounded read returns whole batches, starting at the one with @off. */
static bool slice_ok(struct kb_partition *p, int64_t off, size_t max)
{
	struct kb_read_result rr;
	uint64_t q, e;
	bool good = true;
	int n = 0;

	if (kb_partition_read(p, off, max, true, &rr) || rr.error ||
	    rr.slice.fd < 0)
		return false;
	q = (uint64_t)rr.slice.pos;
	e = q + rr.slice.len;
	while (q < e) {
		uint8_t h[KB_B_HDR];
		struct kb_batch x;

		if (pread(rr.slice.fd, h, KB_B_HDR, (off_t)q) != KB_B_HDR) {
			good = false;
			break;
		}
		kb_batch_parse(h, &x);
		if (!n && (x.base > off || kb_batch_last(&x) < off))
			good = false;
		q += kb_batch_size(&x);
		n++;
	}
	if (q != e || (rr.slice.len > max && n != 1))
		good = false;
	close(rr.slice.fd);
	return good;
}

static void test_index_segments(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	struct kb_read_result rr;
	struct kb_batch b;
	uint8_t buf[4096];
	char pdir[160];
	int64_t end = 0;
	int bad = 0, nseg, pass;

	fresh();
	o.segment_bytes = 2000;
	o.index_interval_bytes = 150;
	s = open_store(&o);
	kb_store_topic_create(s, "idx", 1);
	p = kb_store_partition(s, "idx", 0);
	for (int i = 0; i < 300; i++) {
		struct bopt bo = plain(1 + i % 5);
		size_t l = make_batch(buf, &bo);

		if (append(p, buf, l, NULL) != end)
			bad++;
		end += bo.n;
	}
	ok(!bad && kb_partition_log_end(p) == end, "300 batches appended");
	snprintf(pdir, sizeof(pdir), "%s/idx-0", dir0);
	nseg = count_files(pdir, ".log");
	ok(nseg > 10, "rolled by size into %d segments", nseg);
	ok(count_files(pdir, ".index") == nseg - 1 &&
	   count_files(pdir, ".timeindex") == nseg - 1,
	   "inactive segments have index files");
	for (pass = 0; pass < 2; pass++) {
		bad = 0;
		for (int64_t off = 0; off < end; off++) {
			if (!read_at(p, off, 1, &b, &rr, NULL, 0) ||
			    b.base > off || kb_batch_last(&b) < off)
				bad++;
		}
		ok(!bad, "%s: every offset found via the index (%d bad)",
		   pass ? "after reopen" : "live", bad);
		/* Max-bytes reads end on batch boundaries. */
		bad = 0;
		for (int64_t off = 0; off < end; off += 3)
			if (!slice_ok(p, off, 700))
				bad++;
		ok(!bad, "bounded reads end on whole batches");
		kb_store_close(s);
		s = open_store(&o);
		p = kb_store_partition(s, "idx", 0);
		ok(p && kb_partition_log_end(p) == end, "reopen keeps log end");
	}
	/* Damaged index files of an old segment are rebuilt. */
	kb_store_close(s);
	{
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "%s/%020d.index", pdir, 0);
		fd = open(path, O_WRONLY | O_TRUNC);
		ok(fd >= 0 && write(fd, "garbage", 7) == 7,
		   "damage an index file");
		close(fd);
	}
	s = open_store(&o);
	p = kb_store_partition(s, "idx", 0);
	bad = 0;
	for (int64_t off = 0; off < end; off++)
		if (!read_at(p, off, 1, &b, &rr, NULL, 0) || b.base > off ||
		    kb_batch_last(&b) < off)
			bad++;
	ok(!bad, "reads right after a damaged index is rebuilt");
	kb_store_close(s);
}

static void test_roll_time(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	uint8_t buf[4096];
	struct bopt bo = plain(2);
	char pdir[160];
	int64_t now = kb_now_real_ms();
	size_t l;

	fresh();
	o.roll_ms = 60000;
	s = open_store(&o);
	kb_store_topic_create(s, "r", 1);
	p = kb_store_partition(s, "r", 0);
	snprintf(pdir, sizeof(pdir), "%s/r-0", dir0);
	bo.ts = now;
	l = make_batch(buf, &bo);
	append(p, buf, l, NULL);
	kb_store_tick(s, now + 1000);
	ok(count_files(pdir, ".log") == 1, "no roll before roll.ms");
	kb_store_tick(s, now + 61000);
	ok(count_files(pdir, ".log") == 2, "tick rolls after roll.ms");
	kb_store_tick(s, now + 200000);
	ok(count_files(pdir, ".log") == 2, "an empty segment does not roll");
	/* The segment's age counts from its first batch's timestamp. */
	bo.ts = now - 120000;
	l = make_batch(buf, &bo);
	ok(append(p, buf, l, NULL) == 2, "old-timestamp batch appended");
	bo.ts = now;
	l = make_batch(buf, &bo);
	ok(append(p, buf, l, NULL) == 4 && count_files(pdir, ".log") == 3,
	   "append rolls a segment older than roll.ms");
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "r", 0);
	ok(p && kb_partition_log_end(p) == 6, "reopen after rolls");
	kb_store_close(s);
}

static void test_retention(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	struct kb_read_result rr;
	struct bopt bo;
	char pdir[160];
	uint8_t buf[4096];
	int64_t now = kb_now_real_ms(), ls;
	size_t l;

	fresh();
	o.segment_bytes = 1000;
	o.retention_bytes = 3000;
	s = open_store(&o);
	kb_store_topic_create(s, "ret", 1);
	p = kb_store_partition(s, "ret", 0);
	for (int i = 0; i < 100; i++) {
		struct bopt bo = plain(2);

		bo.ts = now;
		l = make_batch(buf, &bo);
		append(p, buf, l, NULL);
	}
	ok(kb_partition_size(p) > 6000, "log bigger than retention.bytes");
	kb_store_tick(s, now);
	ls = kb_partition_log_start(p);
	ok(ls > 0, "retention.bytes moved the log start to %" PRId64, ls);
	ok(kb_partition_size(p) >= 3000 && kb_partition_size(p) < 4000,
	   "size within a segment of retention.bytes (%" PRIu64 ")",
	   kb_partition_size(p));
	ok(!kb_partition_read(p, 0, 100, true, &rr) &&
	   rr.error == KB_ERR_OFFSET_OUT_OF_RANGE && rr.log_start_offset == ls,
	   "offset below log start: out of range");
	ok(!kb_partition_read(p, ls, 100, true, &rr) && !rr.error &&
	   rr.slice.len > 0, "log start readable");
	if (rr.slice.fd >= 0)
		close(rr.slice.fd);
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "ret", 0);
	ok(p && kb_partition_log_start(p) == ls && kb_partition_log_end(p) ==
	   200, "log start persisted across reopen");
	kb_store_close(s);
	/* A crash after the log start was written, before the unlinks. */
	{
		char path[256], pdir[160];
		int n0, fd;

		snprintf(pdir, sizeof(pdir), "%s/ret-0", dir0);
		n0 = count_files(pdir, ".log");
		snprintf(path, sizeof(path), "%s/log-start-offset", pdir);
		fd = open(path, O_WRONLY | O_TRUNC);
		ok(fd >= 0 && dprintf(fd, "%" PRId64 "\n", ls + 30) > 0,
		   "log start checkpoint moved by hand");
		close(fd);
		s = open_store(&o);
		p = kb_store_partition(s, "ret", 0);
		ok(p && kb_partition_log_start(p) == ls + 30 &&
		   count_files(pdir, ".log") < n0,
		   "segments below the log start removed on open");
		ok(slice_ok(p, ls + 30, 1000), "reads from the new log start");
		kb_store_close(s);
	}

	/* By time: segments whose newest batch is too old go. */
	fresh();
	o = opts();
	o.segment_bytes = 1000;
	o.retention_ms = 3600 * 1000;
	s = open_store(&o);
	kb_store_topic_create(s, "rt", 1);
	p = kb_store_partition(s, "rt", 0);
	for (int i = 0; i < 60; i++) {
		struct bopt bo = plain(2);

		bo.ts = i < 30 ? now - 7200 * 1000 : now;
		l = make_batch(buf, &bo);
		append(p, buf, l, NULL);
	}
	kb_store_tick(s, now);
	ls = kb_partition_log_start(p);
	ok(ls > 30 && ls <= 60, "retention.ms deleted old segments (start %"
	   PRId64 ")", ls);
	/* All of it expired, the active segment too: rolled, then deleted. */
	kb_store_tick(s, now + 7200 * 1000);
	ok(kb_partition_log_end(p) == 120 && kb_partition_log_start(p) == 120 &&
	   kb_partition_size(p) == 0,
	   "an expired active segment goes as well (start %" PRId64 ")",
	   kb_partition_log_start(p));
	ok(!kb_partition_read(p, 120, 100, true, &rr) && !rr.error &&
	   rr.slice.len == 0, "the empty log reads nothing at its end");
	if (rr.slice.fd >= 0)
		close(rr.slice.fd);
	kb_store_tick(s, now + 7300 * 1000);
	snprintf(pdir, sizeof(pdir), "%s/rt-0", dir0);
	ok(count_files(pdir, ".log") == 1,
	   "an empty active segment is not rolled again");
	bo = plain(2);
	bo.ts = now + 7300 * 1000;
	l = make_batch(buf, &bo);
	append(p, buf, l, NULL);
	ok(kb_partition_log_end(p) == 122 && slice_ok(p, 120, 1000),
	   "appends carry on at the old end");
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "rt", 0);
	ok(p && kb_partition_log_start(p) == 120 && kb_partition_log_end(p) == 122,
	   "log start and end survive a reopen");
	kb_store_close(s);
}

/* Writes @len bytes of @data as the partition's only segment. */
static void put_segment(const char *pdir, const uint8_t *data, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%020d.log", pdir, 0);
	fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		fprintf(stderr, "put_segment failed\n");
	close(fd);
	snprintf(path, sizeof(path), "%s/%020d.index", pdir, 0);
	unlink(path);
}

static void test_recovery(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	uint8_t buf[4096], golden[65536];
	char pdir[160], path[256];
	size_t glen = 0, last_pos = 0, l;
	int bad = 0, fd;
	int64_t last_base = 0;

	fresh();
	s = open_store(&o);
	kb_store_topic_create(s, "rec", 1);
	p = kb_store_partition(s, "rec", 0);
	for (int i = 0; i < 5; i++) {
		struct bopt bo = plain(3 + i);

		bo.pid = 77;
		bo.epoch = 0;
		bo.seq = (int32_t)kb_partition_log_end(p);
		l = make_batch(buf, &bo);
		last_base = kb_partition_log_end(p);
		append(p, buf, l, NULL);
	}
	kb_store_close(s);
	snprintf(pdir, sizeof(pdir), "%s/rec-0", dir0);
	snprintf(path, sizeof(path), "%s/%020d.log", pdir, 0);
	fd = open(path, O_RDONLY);
	glen = (size_t)read(fd, golden, sizeof(golden));
	close(fd);
	/* Position of the last batch. */
	for (size_t q = 0; q < glen;) {
		last_pos = q;
		q += KB_B_LOG_OVERHEAD + kb_get_be32(golden + q + KB_B_LENGTH);
	}
	ok(glen > 0 && last_pos > 0, "golden log of %zu bytes", glen);
	for (size_t cut = last_pos; cut < glen; cut++) {
		int16_t e;

		put_segment(pdir, golden, cut);
		s = open_store(&o);
		p = s ? kb_store_partition(s, "rec", 0) : NULL;
		if (!p || kb_partition_log_end(p) != last_base ||
		    kb_partition_size(p) != last_pos) {
			bad++;
		} else {
			/* The producer's retry of the lost batch is new. */
			struct bopt bo = plain(7);

			bo.pid = 77;
			bo.epoch = 0;
			bo.seq = (int32_t)last_base;
			l = make_batch(buf, &bo);
			if (append(p, buf, l, &e) != last_base)
				bad++;
		}
		kb_store_close(s);
	}
	ok(!bad, "cut at every byte of the last batch: tail dropped (%d bad)",
	   bad);
	/* Garbage after a whole log. */
	memcpy(buf, golden, glen);
	for (int g = 1; g < 80; g += 13) {
		uint8_t tmp[65536];

		memcpy(tmp, golden, glen);
		for (int k = 0; k < g; k++)
			tmp[glen + k] = (uint8_t)(k * 37 + g);
		put_segment(pdir, tmp, glen + g);
		s = open_store(&o);
		p = s ? kb_store_partition(s, "rec", 0) : NULL;
		if (!p || kb_partition_log_end(p) != last_base + 7 ||
		    kb_partition_size(p) != glen)
			bad++;
		kb_store_close(s);
	}
	ok(!bad, "garbage after the last batch is cut");
	/* A flipped bit inside the last batch. */
	{
		uint8_t tmp[65536];

		memcpy(tmp, golden, glen);
		tmp[glen - 2] ^= 4;
		put_segment(pdir, tmp, glen);
		s = open_store(&o);
		p = s ? kb_store_partition(s, "rec", 0) : NULL;
		ok(p && kb_partition_log_end(p) == last_base &&
		   kb_partition_size(p) == last_pos,
		   "CRC-failing last batch is cut");
		kb_store_close(s);
	}
	/* Leftovers: temp files and a half-made partition dir. */
	put_segment(pdir, golden, glen);
	snprintf(path, sizeof(path), "%s/00000000000000000005.snapshot.tmp",
		 pdir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	snprintf(path, sizeof(path), "%s/topics.meta.tmp", dir0);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	snprintf(path, sizeof(path), "%s/half-0", dir0);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/half-0/%020d.log", dir0, 0);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	s = open_store(&o);
	p = s ? kb_store_partition(s, "rec", 0) : NULL;
	ok(p && kb_partition_log_end(p) == last_base + 7, "log intact");
	snprintf(path, sizeof(path), "%s/half-0", dir0);
	ok(access(path, F_OK) && count_files(pdir, ".tmp") == 0 &&
	   count_files(dir0, ".tmp") == 0,
	   "temp files and the half-created dir are removed");
	kb_store_close(s);
}

static int64_t idem(struct kb_partition *p, int64_t pid, int16_t epoch,
		    int32_t seq, int n, int16_t *e)
{
	uint8_t buf[4096];
	struct bopt bo = plain(n);

	bo.pid = pid;
	bo.epoch = epoch;
	bo.seq = seq;
	return append(p, buf, make_batch(buf, &bo), e);
}

static void test_idempotence(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	int64_t pid, pid2, pids[5];
	int16_t e;
	bool uniq = true;

	fresh();
	o.segment_bytes = 600;
	s = open_store(&o);
	kb_store_topic_create(s, "id", 1);
	p = kb_store_partition(s, "id", 0);
	ok(!kb_store_next_producer_id(s, &pid), "producer id");
	ok(idem(p, pid, 0, 0, 3, &e) == 0, "seq 0 accepted");
	ok(idem(p, pid, 0, 3, 2, &e) == 3, "seq 3 accepted");
	ok(idem(p, pid, 0, 0, 3, &e) == 0 && kb_partition_log_end(p) == 5,
	   "retry of seq 0: original offset, nothing appended");
	ok(idem(p, pid, 0, 3, 2, &e) == 3 && kb_partition_log_end(p) == 5,
	   "retry of seq 3: original offset");
	ok(idem(p, pid, 0, 9, 1, &e) < 0 &&
	   e == KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "gap: OUT_OF_ORDER");
	ok(idem(p, pid, 0, 4, 1, &e) < 0 &&
	   e == KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "overlap: OUT_OF_ORDER");
	ok(idem(p, pid, 1, 5, 1, &e) < 0 &&
	   e == KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
	   "new epoch not at seq 0: OUT_OF_ORDER");
	ok(idem(p, pid, 1, 0, 2, &e) == 5, "new epoch at seq 0 accepted");
	ok(idem(p, pid, 0, 5, 1, &e) < 0 &&
	   e == KB_ERR_INVALID_PRODUCER_EPOCH, "old epoch: INVALID_EPOCH");
	ok(!kb_store_next_producer_id(s, &pid2) && pid2 != pid, "second id");
	ok(idem(p, pid2, 0, 4, 1, &e) < 0 &&
	   e == KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
	   "unknown producer not at seq 0: OUT_OF_ORDER");
	for (int i = 0; i < 40; i++)
		idem(p, pid2, 0, i * 2, 2, &e);
	ok(kb_partition_log_end(p) == 87, "80 more records");
	ok(idem(p, pid2, 0, 78, 2, &e) == 85, "recent duplicate detected");
	ok(idem(p, pid2, 0, 68, 2, &e) < 0, "duplicate older than 5 batches "
	   "is not taken as new");
	ok(kb_partition_log_end(p) == 87, "nothing appended by them");
	/* Survives restart (snapshot at roll + active segment replay). */
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "id", 0);
	ok(p && idem(p, pid2, 0, 78, 2, &e) == 85 &&
	   kb_partition_log_end(p) == 87, "duplicate detected after reopen");
	ok(idem(p, pid, 1, 2, 1, &e) == 87, "epoch 1 continues after reopen");
	ok(idem(p, pid, 0, 7, 1, &e) < 0 && e == KB_ERR_INVALID_PRODUCER_EPOCH,
	   "epoch fenced after reopen");
	ok(idem(p, pid2, 0, 81, 1, &e) < 0 &&
	   e == KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "gap after reopen");
	/* Without the snapshots: rebuilt from every segment. */
	kb_store_close(s);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -f %s/id-0/*.snapshot", dir0);
		ok(!system(cmd), "snapshots removed");
	}
	s = open_store(&o);
	p = kb_store_partition(s, "id", 0);
	ok(p && idem(p, pid2, 0, 78, 2, &e) == 85 &&
	   idem(p, pid, 1, 2, 1, &e) == 87 && kb_partition_log_end(p) == 88,
	   "state rebuilt from the log without snapshots");
	/* Producer ids never repeat across restarts. */
	for (int i = 0; i < 5; i++) {
		kb_store_close(s);
		s = open_store(&o);
		kb_store_next_producer_id(s, &pids[i]);
		if (pids[i] <= pid2 || (i && pids[i] <= pids[i - 1]))
			uniq = false;
	}
	for (int i = 0; i < 2500; i++) {
		int64_t x;

		kb_store_next_producer_id(s, &x);
		if (x <= pids[4])
			uniq = false;
		pids[4] = x;
	}
	kb_store_close(s);
	s = open_store(&o);
	kb_store_next_producer_id(s, &pid);
	ok(uniq && pid > pids[4], "producer ids unique across reopen");
	kb_store_close(s);
}

static int dirs_with(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static void test_topics(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	const struct kb_topic *t;
	uint8_t ida[16], idb[16];
	char longname[300];

	fresh();
	o.n_log_dirs = 2;
	s = open_store(&o);
	ok(kb_store_topic_create(s, "a", 3) == KB_ERR_NONE, "create a/3");
	ok(kb_store_topic_create(s, "b.x_y-z", 2) == KB_ERR_NONE,
	   "create b.x_y-z/2");
	ok(kb_store_topic_create(s, "a", 1) == KB_ERR_TOPIC_ALREADY_EXISTS,
	   "duplicate name");
	ok(kb_store_topic_create(s, "bad/name", 1) ==
	   KB_ERR_INVALID_TOPIC_EXCEPTION &&
	   kb_store_topic_create(s, "..", 1) ==
	   KB_ERR_INVALID_TOPIC_EXCEPTION &&
	   kb_store_topic_create(s, "", 1) == KB_ERR_INVALID_TOPIC_EXCEPTION,
	   "bad names refused");
	memset(longname, 'x', 250);
	longname[250] = 0;
	ok(kb_store_topic_create(s, longname, 1) ==
	   KB_ERR_INVALID_TOPIC_EXCEPTION, "250-char name refused");
	ok(kb_store_topic_create(s, "c", 0) == KB_ERR_INVALID_PARTITIONS,
	   "zero partitions refused");
	ok(dirs_with(dir0, "a-") + dirs_with(dir1, "a-") == 3 &&
	   dirs_with(dir0, "b.x_y-z-") + dirs_with(dir1, "b.x_y-z-") == 2,
	   "partition dirs made");
	ok(dirs_with(dir0, "a-") + dirs_with(dir0, "b.") == 3 &&
	   dirs_with(dir1, "a-") + dirs_with(dir1, "b.") == 2,
	   "partitions spread over both log dirs");
	t = kb_store_topic_find(s, "a");
	memcpy(ida, t->id, 16);
	memcpy(idb, kb_store_topic_find(s, "b.x_y-z")->id, 16);
	ok(memcmp(ida, idb, 16) && (ida[6] >> 4) == 4, "random v4 ids");
	ok(kb_store_topic_find_id(s, idb) == kb_store_topic_find(s, "b.x_y-z"),
	   "find by id");
	ok(kb_store_topic_grow(s, "b.x_y-z", 4) == KB_ERR_NONE, "grow b to 4");
	ok(kb_store_topic_grow(s, "b.x_y-z", 4) == KB_ERR_INVALID_PARTITIONS,
	   "grow to the same count refused");
	ok(kb_store_partition(s, "b.x_y-z", 3), "new partition usable");
	ok(kb_store_topic_delete(s, "a") == KB_ERR_NONE, "delete a");
	ok(kb_store_topic_delete(s, "a") == KB_ERR_UNKNOWN_TOPIC_OR_PARTITION,
	   "delete twice");
	ok(dirs_with(dir0, "a-") + dirs_with(dir1, "a-") == 0,
	   "a's dirs removed");
	{
		uint8_t buf[4096];
		struct bopt bo = plain(2);

		append(kb_store_partition(s, "b.x_y-z", 3), buf,
		       make_batch(buf, &bo), NULL);
	}
	kb_store_close(s);
	s = open_store(&o);
	ok(s && kb_store_topic_count(s) == 1, "one topic after reopen");
	t = s ? kb_store_topic_at(s, 0) : NULL;
	ok(t && !strcmp(t->name, "b.x_y-z") && t->n_partitions == 4 &&
	   !memcmp(t->id, idb, 16), "name, partitions and id persisted");
	ok(kb_partition_log_end(kb_store_partition(s, "b.x_y-z", 3)) == 2,
	   "data of a grown partition persisted");
	kb_store_close(s);
	/* Many topics: lookups by name stay right as the table grows. */
	{
		char nm[32];
		int bad = 0;

		s = open_store(&o);
		for (int i = 0; i < 100; i++) {
			snprintf(nm, sizeof(nm), "many.%d", i);
			if (kb_store_topic_create(s, nm, 1))
				bad++;
		}
		for (int i = 0; i < 100; i += 2) {
			snprintf(nm, sizeof(nm), "many.%d", i);
			if (kb_store_topic_delete(s, nm))
				bad++;
		}
		for (int i = 0; i < 100; i++) {
			snprintf(nm, sizeof(nm), "many.%d", i);
			if (!kb_store_partition(s, nm, 0) != !(i & 1) ||
			    (kb_store_topic_find(s, nm) &&
			     strcmp(kb_store_topic_find(s, nm)->name, nm)))
				bad++;
		}
		kb_store_close(s);
		s = open_store(&o);
		for (int i = 0; i < 100; i++) {
			snprintf(nm, sizeof(nm), "many.%d", i);
			if (!kb_store_partition(s, nm, 0) != !(i & 1))
				bad++;
			if ((i & 1) && kb_store_topic_delete(s, nm))
				bad++;
		}
		ok(!bad && kb_store_topic_count(s) == 1,
		   "100 topics made, half deleted, found by name");
		kb_store_close(s);
	}
	/* Reordered log dirs: partitions are found where they are. */
	{
		const char *rev[2] = { dir1, dir0 };

		o.log_dirs = rev;
		s = open_store(&o);
		ok(s && kb_store_topic_count(s) == 1 &&
		   kb_partition_log_end(kb_store_partition(s, "b.x_y-z", 3)) ==
		   2, "log dirs in another order");
		kb_store_close(s);
	}
	/* A partition dir gone: refuse to start rather than lose it. */
	{
		char from[256], to[256];
		const char *home = dir0;

		o = opts();
		o.n_log_dirs = 2;
		snprintf(from, sizeof(from), "%s/b.x_y-z-3", dir0);
		if (access(from, F_OK)) {
			home = dir1;
			snprintf(from, sizeof(from), "%s/b.x_y-z-3", dir1);
		}
		snprintf(to, sizeof(to), "%s/moved", root);
		ok(!rename(from, to), "partition dir moved away from %s",
		   home);
		s = NULL;
		ok(kb_store_open(&o, &s) == -ENOENT && !s,
		   "missing partition dir: open refused");
		ok(!rename(to, from), "partition dir put back");
		s = open_store(&o);
		ok(s && kb_partition_log_end(kb_store_partition(s, "b.x_y-z",
								3)) == 2,
		   "and the store opens again");
		kb_store_close(s);
	}
	/* A damaged copy of the metadata: the other one is used. */
	{
		char path[256];
		int fd;

		o = opts();
		o.n_log_dirs = 2;
		snprintf(path, sizeof(path), "%s/topics.meta", dir0);
		fd = open(path, O_WRONLY);
		ok(fd >= 0 && pwrite(fd, "X", 1, 20) == 1, "damage one copy");
		close(fd);
		s = open_store(&o);
		ok(s && kb_store_topic_count(s) == 1, "other copy used");
		kb_store_close(s);
	}
}

static void test_offset_for_time(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	uint8_t buf[4096];
	int64_t off, ts;
	int bad = 0;

	fresh();
	o.segment_bytes = 700;
	o.index_interval_bytes = 100;
	s = open_store(&o);
	kb_store_topic_create(s, "ts", 1);
	p = kb_store_partition(s, "ts", 0);
	ok(!kb_partition_offset_for_time(p, 5, &off, &ts) && off == -1,
	   "empty log: no offset for a time");
	/* Batch i (2 records, offsets 2i, 2i+1) has timestamp 1000 * (i+1),
	 * except batch 20 which is the newest of all. */
	for (int i = 0; i < 40; i++) {
		struct bopt bo = plain(2);

		bo.ts = i == 20 ? 100000 : 1000 * (i + 1);
		append(p, buf, make_batch(buf, &bo), NULL);
	}
	for (int i = 0; i < 40; i++) {
		int64_t want = i < 20 ? 2 * i : 40;

		/* Just above batch i-1's timestamp: batch i (or batch 10). */
		if (kb_partition_offset_for_time(p, 1000 * i + 1, &off, &ts) ||
		    off != want)
			bad++;
	}
	ok(!bad, "first batch with max timestamp >= ts (%d bad)", bad);
	ok(!kb_partition_offset_for_time(p, 0, &off, &ts) && off == 0 &&
	   ts == 1000, "ts 0: first batch");
	ok(!kb_partition_offset_for_time(p, 100000, &off, &ts) && off == 40 &&
	   ts == 100000, "exact max timestamp");
	ok(!kb_partition_offset_for_time(p, 100001, &off, &ts) && off == -1,
	   "after every timestamp: -1");
	ok(!kb_partition_offset_for_time(p, -1, &off, &ts) && off == 80,
	   "-1: high watermark");
	ok(!kb_partition_offset_for_time(p, -2, &off, &ts) && off == 0,
	   "-2: log start");
	ok(!kb_partition_offset_for_time(p, -3, &off, &ts) && off == 40 &&
	   ts == 100000, "-3: batch with the max timestamp");
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "ts", 0);
	ok(!kb_partition_offset_for_time(p, 15001, &off, &ts) && off == 30 &&
	   ts == 16000, "time lookup after reopen (loaded time indexes)");
	ok(!kb_partition_offset_for_time(p, 30001, &off, &ts) && off == 40 &&
	   ts == 100000, "later time after reopen");
	ok(!kb_partition_offset_for_time(p, -3, &off, &ts) && off == 40,
	   "-3 after reopen");
	/* Inside a batch, compressed or not: the record, not the batch. */
	kb_store_topic_create(s, "tsc", 1);
	p = kb_store_partition(s, "tsc", 0);
	for (int c = 0; c <= 4; c++) {
		struct bopt bo = plain(10);
		int64_t base = 200000 + 10000 * c;

		bo.ts = base;
		bo.ts_step = 100;
		bo.attr = (int16_t)c;
		append(p, buf, make_batch(buf, &bo), NULL);
		ok(!kb_partition_offset_for_time(p, base + 450, &off, &ts) &&
		   off == 10 * c + 5 && ts == base + 500,
		   "codec %d: time inside a batch finds its record (%" PRId64
		   " at %" PRId64 ")", c, off, ts);
		ok(!kb_partition_offset_for_time(p, -3, &off, &ts) &&
		   off == 10 * c + 9 && ts == base + 900,
		   "codec %d: -3 names the record with the max timestamp "
		   "(%" PRId64 " at %" PRId64 ")", c, off, ts);
	}
	kb_store_close(s);
}

/* DeleteRecords: the start moves durably, whole segments below it go. */
static void test_delete_records(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	struct kb_read_result rr;
	uint8_t buf[4096];
	int64_t low;

	fresh();
	o.segment_bytes = 400;
	s = open_store(&o);
	kb_store_topic_create(s, "dr", 1);
	p = kb_store_partition(s, "dr", 0);
	for (int i = 0; i < 20; i++) {
		struct bopt bo = plain(2);

		append(p, buf, make_batch(buf, &bo), NULL);
	}
	ok(kb_partition_delete_records(p, 41, &low) ==
	   KB_ERR_OFFSET_OUT_OF_RANGE && low == 0,
	   "past the high watermark: OFFSET_OUT_OF_RANGE, start kept");
	ok(!kb_partition_delete_records(p, 25, &low) && low == 25 &&
	   kb_partition_log_start(p) == 25, "start moves to 25, mid-batch");
	ok(!kb_partition_delete_records(p, 3, &low) && low == 25,
	   "a lower offset changes nothing");
	ok(!kb_partition_read(p, 24, 1 << 20, true, &rr) &&
	   rr.error == KB_ERR_OFFSET_OUT_OF_RANGE,
	   "read below the start: OFFSET_OUT_OF_RANGE");
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "dr", 0);
	ok(p && kb_partition_log_start(p) == 25 &&
	   kb_partition_log_end(p) == 40, "start 25 after reopen");
	ok(p && !kb_partition_delete_records(p, -1, &low) && low == 40,
	   "-1: up to the high watermark");
	kb_store_close(s);
}

/* Leader epochs: stamped into batches, the cache and its checkpoint,
 * OffsetForLeaderEpoch's answers, truncation. */
static void test_epochs(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	struct kb_read_result rr;
	struct bopt bo = plain(5);
	uint8_t *buf = malloc(1 << 16), hdr[KB_B_HDR];
	size_t len = make_batch(buf, &bo);
	int32_t ee;
	int64_t eo;

	fresh();
	s = open_store(&o);
	kb_store_topic_create(s, "ep", 1);
	p = kb_store_partition(s, "ep", 0);
	append(p, buf, len, NULL);		/* 0-4, epoch 0 */
	kb_partition_set_leader_epoch(p, 3);
	append(p, buf, len, NULL);		/* 5-9, epoch 3 */
	append(p, buf, len, NULL);		/* 10-14 */
	kb_partition_set_leader_epoch(p, 7);
	append(p, buf, len, NULL);		/* 15-19, epoch 7 */
	ok(!kb_partition_read(p, 5, 100, true, &rr) && rr.slice.fd >= 0 &&
	   pread(rr.slice.fd, hdr, KB_B_HDR, rr.slice.pos) == KB_B_HDR &&
	   kb_get_be32(hdr + KB_B_EPOCH) == 3, "batch stamped with epoch 3");
	if (rr.slice.fd >= 0)
		close(rr.slice.fd);
	ok(kb_partition_latest_epoch(p) == 7, "latest epoch 7");
	kb_partition_end_for_epoch(p, 3, &ee, &eo);
	ok(ee == 3 && eo == 15, "epoch 3 ends at 15 (%d %" PRId64 ")", ee, eo);
	kb_partition_end_for_epoch(p, 5, &ee, &eo);
	ok(ee == 3 && eo == 15, "epoch 5, never used: epoch 3's end");
	kb_partition_end_for_epoch(p, 7, &ee, &eo);
	ok(ee == 7 && eo == 20, "current epoch: the log end");
	kb_partition_end_for_epoch(p, 9, &ee, &eo);
	ok(ee == -1 && eo == -1, "a future epoch: undefined");
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "ep", 0);
	kb_partition_end_for_epoch(p, 0, &ee, &eo);
	ok(p && kb_partition_latest_epoch(p) == 7 && ee == 0 && eo == 5,
	   "checkpoint reloaded: epoch 0 ends at 5");
	ok(!kb_partition_truncate(p, 12) && kb_partition_latest_epoch(p) == 3,
	   "truncation drops epoch 7");
	kb_partition_set_leader_epoch(p, 8);
	kb_partition_end_for_epoch(p, 8, &ee, &eo);
	ok(ee == 8 && eo == 10, "the current epoch before its first batch");
	kb_store_close(s);
	free(buf);
}

static void test_truncate(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	struct kb_read_result rr;
	struct kb_batch b;
	int16_t e;
	int64_t pid;

	fresh();
	o.segment_bytes = 400;
	s = open_store(&o);
	kb_store_topic_create(s, "tr", 1);
	p = kb_store_partition(s, "tr", 0);
	kb_store_next_producer_id(s, &pid);
	for (int i = 0; i < 20; i++)
		idem(p, pid, 0, 3 * i, 3, &e);
	ok(kb_partition_log_end(p) == 60, "60 records");
	ok(!kb_partition_truncate(p, 45) && kb_partition_log_end(p) == 45 &&
	   kb_partition_high_watermark(p) == 45, "truncate to a batch edge");
	ok(!kb_partition_truncate(p, 40) && kb_partition_log_end(p) == 39,
	   "truncate inside a batch drops the whole batch");
	ok(!kb_partition_read(p, 39, 100, true, &rr) && !rr.error &&
	   rr.slice.len == 0, "nothing at the new end");
	ok(read_at(p, 38, 1000, &b, &rr, NULL, 0) && b.base == 36 &&
	   kb_batch_last(&b) == 38, "last batch intact");
	ok(idem(p, pid, 0, 39, 3, &e) == 39,
	   "producer state follows the truncation");
	ok(idem(p, pid, 0, 39, 3, &e) == 39 && kb_partition_log_end(p) == 42,
	   "and detects duplicates again");
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "tr", 0);
	ok(p && kb_partition_log_end(p) == 42, "truncation persisted");
	ok(read_at(p, 20, 1000, &b, &rr, NULL, 0) && b.base == 18,
	   "reads after truncation and reopen");
	ok(!kb_partition_truncate(p, 0) && kb_partition_log_end(p) == 0 &&
	   kb_partition_log_start(p) == 0 && kb_partition_size(p) == 0,
	   "truncate to 0 empties the log");
	ok(idem(p, pid, 0, 0, 3, &e) == 0, "append after emptying");
	kb_store_close(s);
	s = open_store(&o);
	p = kb_store_partition(s, "tr", 0);
	ok(p && kb_partition_log_end(p) == 3, "reopen after emptying");
	kb_store_close(s);
}

static void test_flush_policy(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	uint8_t buf[4096];
	struct bopt bo = plain(2);

	fresh();
	o.flush_messages = 1;
	o.flush_ms = 10;
	s = open_store(&o);
	kb_store_topic_create(s, "f", 1);
	p = kb_store_partition(s, "f", 0);
	ok(append(p, buf, make_batch(buf, &bo), NULL) == 0 && !p->dirty,
	   "flush.messages=1: fsynced before append returns");
	kb_store_close(s);
	o.flush_messages = INT64_MAX;
	s = open_store(&o);
	p = kb_store_partition(s, "f", 0);
	append(p, buf, make_batch(buf, &bo), NULL);
	ok(p->dirty, "larger flush.messages: not yet");
	kb_store_tick(s, kb_now_real_ms() + 20);
	ok(!p->dirty, "flush.ms flushes in tick");
	ok(!kb_store_flush_all(s), "flush_all");
	kb_store_close(s);
}

/* Per-topic config overrides: checks, persistence, and their effect. */
static void test_topic_config(void)
{
	struct kb_store_opts o = opts();
	struct kb_cfg_op ops[3];
	struct kb_store *s;
	struct kb_append_result r;
	const char *why = NULL, *k, *v;
	uint8_t buf[8192];
	int64_t now = kb_now_real_ms();
	char pdir[160];
	size_t l, n;
	int e;

	fresh();
	s = open_store(&o);
	ops[0] = (struct kb_cfg_op){ "retention.ms", "3600000" };
	ops[1] = (struct kb_cfg_op){ "cleanup.policy", "delete" };
	ok(kb_store_topic_create_cfg(s, "c", 1, ops, 2, false, &why) == 0 &&
	   !strcmp(kb_store_topic_config(s, "c", "retention.ms") ?: "",
		   "3600000"), "create with retention.ms override");
	ok(!kb_store_topic_config(s, "c", "segment.bytes"),
	   "keys not given stay defaults");
	ops[0] = (struct kb_cfg_op){ "no.such.key", "1" };
	e = kb_store_topic_create_cfg(s, "c2", 1, ops, 1, false, &why);
	ok(e == KB_ERR_INVALID_CONFIG && why && strstr(why, "no.such.key") &&
	   !kb_store_topic_find(s, "c2"),
	   "unknown key: INVALID_CONFIG, no topic (%s)", why);
	ops[0] = (struct kb_cfg_op){ "segment.jitter.ms", "0" };
	e = kb_store_topic_create_cfg(s, "c2", 1, ops, 1, false, &why);
	ok(e == KB_ERR_INVALID_CONFIG && why &&
	   strstr(why, "segment.jitter.ms") && strstr(why, "not implement"),
	   "a Kafka key kbrokerd lacks: INVALID_CONFIG saying so (%s)", why);
	ops[0] = (struct kb_cfg_op){ "retention.ms", "soon" };
	e = kb_store_topic_set_config(s, "c", ops[0].key, ops[0].value,
				      false, &why);
	ok(e == KB_ERR_INVALID_CONFIG && strstr(why, "retention.ms"),
	   "bad value names the key (%s)", why);
	e = kb_store_topic_set_config(s, "c", "cleanup.policy", "shred",
				      false, &why);
	ok(e == KB_ERR_INVALID_CONFIG && strstr(why, "cleanup.policy"),
	   "cleanup.policy=shred refused (%s)", why);
	e = kb_store_topic_set_config(s, "c", "cleanup.policy",
				      "delete, compact", false, &why);
	ok(e == KB_ERR_NONE &&
	   !strcmp(kb_store_topic_config(s, "c", "cleanup.policy") ?: "",
		   "compact,delete"), "cleanup.policy list kept canonical");
	ok(kb_store_topic_set_config(s, "c", "min.cleanable.dirty.ratio",
				     "1.5", false, &why) ==
	   KB_ERR_INVALID_CONFIG &&
	   kb_store_topic_set_config(s, "c", "min.cleanable.dirty.ratio",
				     "0.25", false, &why) == KB_ERR_NONE,
	   "min.cleanable.dirty.ratio in [0, 1]");
	ops[0] = (struct kb_cfg_op){ "min.compaction.lag.ms", "5000" };
	ops[1] = (struct kb_cfg_op){ "max.compaction.lag.ms", "100" };
	ok(kb_store_topic_alter_config(s, "c", ops, 2, false, false, &why) ==
	   KB_ERR_INVALID_CONFIG && strstr(why, "min.compaction.lag.ms"),
	   "min.compaction.lag.ms above max.compaction.lag.ms refused");
	l = make_batch(buf, &(struct bopt){ .n = 2, .vlen = 4, .ts = now,
					    .pid = -1, .epoch = -1,
					    .seq = -1 });
	kb_partition_append(kb_store_partition(s, "c", 0), buf, l, &r);
	ok(r.error == KB_ERR_INVALID_RECORD && r.error_message &&
	   strstr(r.error_message, "without key"),
	   "compacted topic: a key-less record is INVALID_RECORD");
	ok(kb_store_topic_set_config(s, "c", "cleanup.policy", "delete", false,
				     &why) == KB_ERR_NONE &&
	   kb_store_topic_set_config(s, "c", "min.cleanable.dirty.ratio",
				     NULL, false, &why) == KB_ERR_NONE,
	   "back to delete");
	ok(kb_store_topic_set_config(s, "c", "segment.bytes", "13", false,
				     &why) == KB_ERR_INVALID_CONFIG &&
	   kb_store_topic_set_config(s, "c", "min.insync.replicas", "0",
				     false, &why) == KB_ERR_INVALID_CONFIG &&
	   kb_store_topic_set_config(s, "c", "message.timestamp.type",
				     "Now", false, &why) ==
	   KB_ERR_INVALID_CONFIG, "out of range values refused");
	ok(kb_store_topic_set_config(s, "c", "segment.bytes", "4096", true,
				     &why) == 0 &&
	   !kb_store_topic_config(s, "c", "segment.bytes"),
	   "validate_only changes nothing");
	ops[0] = (struct kb_cfg_op){ "segment.bytes", "4096" };
	ops[1] = (struct kb_cfg_op){ "flush.messages", "x" };
	ok(kb_store_topic_alter_config(s, "c", ops, 2, false, false, &why) ==
	   KB_ERR_INVALID_CONFIG && !kb_store_topic_config(s, "c",
							   "segment.bytes"),
	   "one bad op: none applied");
	ops[0] = (struct kb_cfg_op){ "min.insync.replicas", "2" };
	ops[1] = (struct kb_cfg_op){ "message.timestamp.type",
				     "LogAppendTime" };
	ok(!kb_store_topic_alter_config(s, "c", ops, 2, false, false, &why),
	   "incremental set of two keys");
	for (n = 0; kb_store_topic_config_at(s, "c", n, &k, &v); n++)
		;
	ok(n == 4, "four overrides listed (%zu)", n);
	ok(kb_store_topic_set_config(s, "nope", "retention.ms", "1", false,
				     &why) == KB_ERR_UNKNOWN_TOPIC_OR_PARTITION,
	   "unknown topic");
	kb_store_close(s);

	s = open_store(&o);
	ok(s && !strcmp(kb_store_topic_config(s, "c", "retention.ms") ?: "",
			"3600000") &&
	   !strcmp(kb_store_topic_config(s, "c", "min.insync.replicas") ?: "",
		   "2") &&
	   !kb_store_topic_config(s, "c", "segment.bytes"),
	   "overrides survive reopen");
	ops[0] = (struct kb_cfg_op){ "retention.bytes", "100000" };
	ok(!kb_store_topic_alter_config(s, "c", ops, 1, true, false, &why) &&
	   !kb_store_topic_config(s, "c", "retention.ms") &&
	   kb_store_topic_config(s, "c", "retention.bytes"),
	   "replace drops the overrides not given (AlterConfigs)");
	ok(!kb_store_topic_set_config(s, "c", "retention.bytes", NULL, false,
				      &why) &&
	   !kb_store_topic_config_at(s, "c", 0, &k, &v),
	   "delete an override");
	kb_store_close(s);

	/* An old (version 1) topics.meta still loads, without configs. */
	{
		char path[160], text[256];
		int fd, len;

		snprintf(path, sizeof(path), "%s/topics.meta", dir0);
		len = snprintf(text, sizeof(text),
			       "kbroker-topics 1 99\ntopic c 000102030405060708090a0b0c0d0e0f 1 0\n");
		len += snprintf(text + len, sizeof(text) - (size_t)len,
				"crc %08x\n", kb_crc32c(0, text, (size_t)len));
		fd = open(path, O_WRONLY | O_TRUNC);
		ok(fd >= 0 && write(fd, text, (size_t)len) == len,
		   "version 1 topics.meta written by hand");
		close(fd);
		s = open_store(&o);
		ok(s && kb_store_topic_find(s, "c") &&
		   !kb_store_topic_config_at(s, "c", 0, &k, &v),
		   "version 1 topics.meta loads");
		kb_store_close(s);
	}

	/* retention.ms: the broker keeps forever, the topic an hour. */
	fresh();
	o = opts();
	o.segment_bytes = 1000;
	s = open_store(&o);
	kb_store_topic_create(s, "keep", 1);
	ops[0] = (struct kb_cfg_op){ "retention.ms", "3600000" };
	kb_store_topic_create_cfg(s, "short", 1, ops, 1, false, &why);
	for (int i = 0; i < 60; i++) {
		struct bopt bo = plain(2);

		bo.ts = i < 30 ? now - 7200 * 1000 : now;
		l = make_batch(buf, &bo);
		append(kb_store_partition(s, "keep", 0), buf, l, NULL);
		append(kb_store_partition(s, "short", 0), buf, l, NULL);
	}
	kb_store_tick(s, now);
	ok(kb_partition_log_start(kb_store_partition(s, "keep", 0)) == 0,
	   "broker default keeps the old segments");
	ok(kb_partition_log_start(kb_store_partition(s, "short", 0)) > 30,
	   "retention.ms override deleted them");
	/* Set later, it applies at once. */
	ok(!kb_store_topic_set_config(s, "keep", "retention.ms", "3600000",
				      false, &why) &&
	   kb_partition_log_start(kb_store_partition(s, "keep", 0)) > 30,
	   "retention.ms set on a live topic applies at once");
	kb_store_close(s);

	/* segment.bytes: the topic rolls small, the broker does not. */
	fresh();
	o = opts();
	s = open_store(&o);
	kb_store_topic_create(s, "big", 1);
	ops[0] = (struct kb_cfg_op){ "segment.bytes", "1000" };
	kb_store_topic_create_cfg(s, "small", 1, ops, 1, false, &why);
	for (int i = 0; i < 40; i++) {
		struct bopt bo = plain(2);

		l = make_batch(buf, &bo);
		append(kb_store_partition(s, "big", 0), buf, l, NULL);
		append(kb_store_partition(s, "small", 0), buf, l, NULL);
	}
	snprintf(pdir, sizeof(pdir), "%s/big-0", dir0);
	ok(count_files(pdir, ".log") == 1, "default segment.bytes: one file");
	snprintf(pdir, sizeof(pdir), "%s/small-0", dir0);
	ok(count_files(pdir, ".log") > 2,
	   "segment.bytes override rolls (%d segments)",
	   count_files(pdir, ".log"));

	/* max.message.bytes: the topic refuses what the broker takes. */
	{
		struct bopt bo = plain(20);

		bo.vlen = 100;
		l = make_batch(buf, &bo);
		ok(l > 1000 && append(kb_store_partition(s, "big", 0), buf, l,
				      NULL) >= 0, "big batch fits the broker");
		ok(!kb_store_topic_set_config(s, "big", "max.message.bytes",
					      "1000", false, &why) &&
		   !kb_partition_append(kb_store_partition(s, "big", 0), buf,
					l, &r) &&
		   r.error == KB_ERR_MESSAGE_TOO_LARGE,
		   "max.message.bytes override refuses it");
	}

	/* message.timestamp.type=LogAppendTime: the broker's time wins. */
	{
		struct bopt bo = plain(1);

		bo.ts = 1000;
		l = make_batch(buf, &bo);
		ok(!kb_partition_append(kb_store_partition(s, "small", 0), buf,
					l, &r) && r.log_append_time == -1,
		   "CreateTime by default");
		ok(!kb_store_topic_set_config(s, "small",
					      "message.timestamp.type",
					      "LogAppendTime", false, &why) &&
		   !kb_partition_append(kb_store_partition(s, "small", 0), buf,
					l, &r) && r.log_append_time >= now,
		   "LogAppendTime override stamps the batch");
	}
	kb_store_close(s);
}

/*
 * kill -9 a writer at a random moment, many times: every acknowledged batch
 * must be in the recovered log exactly once, in sequence.
 */
struct ack {
	int64_t pid, base;
	int32_t seq;
	int32_t bad;
};

static void crash_child(const struct kb_store_opts *o, int fd)
{
	struct kb_store *s = open_store(o);
	struct kb_partition *p = s ? kb_store_partition(s, "k", 0) : NULL;
	uint8_t buf[4096];
	int64_t pid;
	int16_t e;

	if (!p || kb_store_next_producer_id(s, &pid))
		_exit(3);
	for (int32_t seq = 0;; seq += 3) {
		struct bopt bo = plain(3);
		struct ack a = { pid, 0, seq, 0 };
		size_t l;

		bo.pid = pid;
		bo.epoch = 0;
		bo.seq = seq;
		bo.vlen = 20 + seq % 50;
		l = make_batch(buf, &bo);
		a.base = append(p, buf, l, &e);
		if (a.base < 0)
			a.bad = 1;
		/* A retry of the same batch is acknowledged, not stored. */
		else if (seq % 9 == 0 && append(p, buf, l, &e) != a.base)
			a.bad = 2;
		if (write(fd, &a, sizeof(a)) != sizeof(a))
			_exit(4);
	}
}

static void test_crash(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s;
	struct kb_partition *p;
	int64_t seen_pids[8];
	int bad = 0, lost = 0, rounds = 8;

	fresh();
	o.segment_bytes = 3000;
	o.index_interval_bytes = 200;
	o.flush_messages = 1;
	s = open_store(&o);
	kb_store_topic_create(s, "k", 1);
	kb_store_close(s);
	srand((unsigned int)time(NULL));
	for (int r = 0; r < rounds; r++) {
		struct ack a, last = { -1, -1, -1, 0 };
		int fds[2], n = 0, want = 20 + rand() % 200, st;
		pid_t child;

		if (pipe(fds))
			return;
		child = fork();
		if (!child) {
			close(fds[0]);
			crash_child(&o, fds[1]);
		}
		close(fds[1]);
		while (read(fds[0], &a, sizeof(a)) == sizeof(a)) {
			if (a.bad)
				bad++;
			last = a;
			if (++n == want)
				kill(child, SIGKILL);
		}
		close(fds[0]);
		waitpid(child, &st, 0);
		seen_pids[r] = last.pid;
		/* Walk the whole log: this round's batches in sequence. */
		s = open_store(&o);
		p = s ? kb_store_partition(s, "k", 0) : NULL;
		if (!p) {
			bad++;
			continue;
		}
		{
			struct kb_read_result rr;
			int64_t off = kb_partition_log_start(p);
			int32_t next_seq = 0;
			bool found_last = false;

			while (off < kb_partition_log_end(p)) {
				uint64_t q, e;

				if (kb_partition_read(p, off, 1 << 16, true,
						      &rr) || rr.error ||
				    rr.slice.fd < 0) {
					bad++;
					break;
				}
				q = (uint64_t)rr.slice.pos;
				e = q + rr.slice.len;
				while (q < e) {
					uint8_t h[KB_B_HDR];
					struct kb_batch x;

					if (pread(rr.slice.fd, h, KB_B_HDR,
						  (off_t)q) != KB_B_HDR)
						break;
					kb_batch_parse(h, &x);
					if (x.base != off)
						bad++;
					if (x.pid == last.pid) {
						if (x.base_seq != next_seq)
							bad++;
						next_seq = x.base_seq + 3;
						if (x.base == last.base &&
						    x.base_seq == last.seq)
							found_last = true;
					}
					off = kb_batch_last(&x) + 1;
					q += kb_batch_size(&x);
				}
				close(rr.slice.fd);
			}
			if (!found_last && last.pid >= 0)
				lost++;
		}
		kb_store_close(s);
	}
	for (int r = 1; r < rounds; r++)
		if (seen_pids[r] <= seen_pids[r - 1])
			bad++;
	ok(!bad && !lost, "kill -9 x%d: acknowledged batches kept once and "
	   "in order, ids unique (%d bad, %d lost)", rounds, bad, lost);
}

/* Compressed batches are decompressed and their records checked. */
static void test_compressed(void)
{
	static const char *const names[] = { "", "gzip", "snappy", "lz4",
					     "zstd" };
	static uint8_t buf[1 << 17], raw[1 << 16];
	struct kb_batch b;
	const char *why;
	struct bopt bo;
	size_t l, n;
	int e;

	for (int c = 1; c <= 4; c++) {
		bo = plain(50);
		bo.vlen = 40;
		bo.attr = (int16_t)c;
		l = make_batch(buf, &bo);
		e = kb_batch_check(buf, l, 0, &b, &why);
		ok(!e, "%s batch of 50 records (%zu bytes) accepted", names[c],
		   l);
		/* Cut inside the compressed data. */
		kb_put_be32(buf + KB_B_LENGTH,
			    (uint32_t)(l - 6 - KB_B_LOG_OVERHEAD));
		fix_crc(buf);
		e = kb_batch_check(buf, l - 6, 0, &b, &why);
		ok(e == KB_ERR_CORRUPT_MESSAGE,
		   "%s data cut short: CORRUPT_MESSAGE (%d: %s)", names[c], e,
		   e ? why : "");
		/* Well-formed data holding fewer records than the header. */
		bo.n = 49;
		l = make_batch(buf, &bo);
		kb_put_be32(buf + KB_B_COUNT, 50);
		kb_put_be32(buf + KB_B_LAST_DELTA, 49);
		fix_crc(buf);
		e = kb_batch_check(buf, l, 0, &b, &why);
		ok(e == KB_ERR_INVALID_RECORD,
		   "%s with 49 records under a count of 50: INVALID_RECORD (%d)",
		   names[c], e);
	}

	/* Not compressed data at all, under each codec's flag. */
	for (int c = 1; c <= 4; c++) {
		bo = plain(3);
		l = make_batch(buf, &bo);
		kb_put_be16(buf + KB_B_ATTR, (uint16_t)c);
		fix_crc(buf);
		e = kb_batch_check(buf, l, 0, &b, &why);
		ok(e == KB_ERR_CORRUPT_MESSAGE,
		   "uncompressed records flagged %s: CORRUPT_MESSAGE (%d)",
		   names[c], e);
	}

	/* Snappy in xerial's framing, as the Java client writes it. */
	bo = plain(20);
	bo.vlen = 30;
	l = make_batch(buf, &bo);
	n = l - KB_B_HDR;
	memcpy(raw, buf + KB_B_HDR, n);
	{
		static const uint8_t hdr[16] = { 0x82, 'S', 'N', 'A', 'P', 'P',
						 'Y', 0, 0, 0, 0, 1, 0, 0, 0,
						 1 };
		uint8_t *p = buf + KB_B_HDR;
		size_t half = n / 2, m;

		memcpy(p, hdr, sizeof(hdr));
		p += sizeof(hdr);
		for (int k = 0; k < 2; k++) {
			m = 8192;
			snappy_compress((const char *)raw + (k ? half : 0),
					k ? n - half : half, (char *)p + 4, &m);
			kb_put_be32(p, (uint32_t)m);
			p += 4 + m;
		}
		l = (size_t)(p - buf);
	}
	kb_put_be16(buf + KB_B_ATTR, 2);
	kb_put_be32(buf + KB_B_LENGTH, (uint32_t)(l - KB_B_LOG_OVERHEAD));
	fix_crc(buf);
	e = kb_batch_check(buf, l, 0, &b, &why);
	ok(!e, "snappy in xerial framing, two blocks, accepted (%d)", e);

	/* A batch that decompresses to far more than any producer builds. */
	{
		size_t big = (64u << 20) + 4096;
		uint8_t *zeros = calloc(1, big);

		bo = plain(1);
		l = make_batch(buf, &bo);
		l = KB_B_HDR + ZSTD_compress(buf + KB_B_HDR,
					     sizeof(buf) - KB_B_HDR, zeros,
					     big, 1);
		free(zeros);
		kb_put_be16(buf + KB_B_ATTR, 4);
		kb_put_be32(buf + KB_B_LENGTH,
			    (uint32_t)(l - KB_B_LOG_OVERHEAD));
		fix_crc(buf);
		e = kb_batch_check(buf, l, 1 << 20, &b, &why);
		ok(e == KB_ERR_MESSAGE_TOO_LARGE,
		   "%zu bytes of zstd decompressing past 64 MiB: "
		   "MESSAGE_TOO_LARGE (%d)", l, e);
	}
}

/* Broker-side compression.type: batches rebuilt with the topic's codec. */
static void test_recompress(void)
{
	static uint8_t src[1 << 17], plainb[1 << 17], buf[1 << 17];
	struct kb_store_opts o = opts();
	struct kb_cfg_op op;
	struct kb_read_result rr;
	struct kb_partition *p;
	struct kb_store *s;
	struct kb_batch b, rb;
	const char *why = NULL;
	struct bopt bo;
	int bad = 0, n = 0;
	int64_t off;
	int16_t err;
	size_t l, pl, rl;

	bo = plain(50);
	bo.vlen = 40;
	bo.pid = 7;
	bo.epoch = 2;
	bo.seq = 100;
	pl = make_batch(plainb, &bo);
	for (int from = 0; from <= 4; from++) {
		for (int to = 0; to <= 4; to++) {
			uint8_t *raw = NULL, *out = NULL, *back = NULL;
			size_t raw_len = 0, back_len = 0;
			const uint8_t *recs;
			size_t recs_len;
			int e;

			if (from == to)
				continue;
			n++;
			bo.attr = (int16_t)from;
			l = make_batch(src, &bo);
			e = kb_batch_check_raw(src, l, 0, &b, &why, &raw,
					       &raw_len);
			recs = raw ? raw : src + KB_B_HDR;
			recs_len = raw ? raw_len : l - KB_B_HDR;
			if (!e)
				e = kb_batch_recompress(src, &b, recs, recs_len,
							to, 0, &out, &why);
			if (e || kb_batch_check(out, kb_batch_size(&b), 0, &rb,
						&why) ||
			    (rb.attr & 7) != to || rb.count != 50 ||
			    rb.pid != 7 || rb.pepoch != 2 ||
			    rb.base_seq != 100 || rb.base_ts != b.base_ts ||
			    rb.max_ts != b.max_ts) {
				printf("# %d -> %d: %s\n", from, to,
				       e ? why : "header");
				bad++;
			} else {
				const uint8_t *got = out + KB_B_HDR;
				size_t got_len = kb_batch_size(&rb) - KB_B_HDR;

				if (to && kb_records_inflate(to, got, got_len,
							     1 << 20, &back,
							     &back_len) == 0) {
					got = back;
					got_len = back_len;
				}
				if (got_len != pl - KB_B_HDR ||
				    memcmp(got, plainb + KB_B_HDR, got_len)) {
					printf("# %d -> %d: records differ\n",
					       from, to);
					bad++;
				}
			}
			free(raw);
			free(out);
			free(back);
		}
	}
	ok(!bad, "every codec to every other (%d pairs): valid batch, CRC, "
	   "producer fields and timestamps kept, same records", n);

	fresh();
	s = open_store(&o);
	op = (struct kb_cfg_op){ "compression.type", "zstd" };
	ok(kb_store_topic_create_cfg(s, "rz", 1, &op, 1, false, &why) == 0,
	   "topic with compression.type=zstd");
	p = kb_store_partition(s, "rz", 0);
	bo = plain(30);
	bo.attr = 1;
	bo.pid = 9;
	bo.epoch = 0;
	bo.seq = 0;
	l = make_batch(buf, &bo);
	bo.seq = 30;
	l += make_batch(buf + l, &bo);
	off = append(p, buf, l, &err);
	ok(off == 0, "two gzip batches of an idempotent producer appended");
	ok(read_at(p, 0, 1 << 20, &rb, &rr, src, sizeof(src)) &&
	   (rb.attr & 7) == 4 && rb.base == 0 && rb.count == 30 &&
	   !kb_batch_check(src, rr.slice.len, 0, &b, &why),
	   "read back: a zstd batch at offset 0 with a good CRC");
	rl = kb_batch_size(&b);
	ok(rr.slice.len > rl && !kb_batch_check(src + rl, rr.slice.len - rl, 0,
						&b, &why) &&
	   (b.attr & 7) == 4 && b.base == 30 && b.base_seq == 30,
	   "the second batch: zstd, offset 30, its sequence kept");
	bo.seq = 30;
	rl = make_batch(buf, &bo);
	off = append(p, buf, rl, &err);
	ok(off == 30 && err == 0,
	   "a retry of the second gzip batch is a duplicate at offset 30");
	ok(kb_store_topic_set_config(s, "rz", "compression.type",
				     "uncompressed", false, &why) == 0 &&
	   kb_store_topic_set_config(s, "rz", "max.message.bytes", "1000",
				     false, &why) == 0, "switch to uncompressed, "
	   "max.message.bytes=1000");
	bo = plain(40);
	bo.vlen = 60;
	bo.attr = 4;
	l = make_batch(buf, &bo);
	off = append(p, buf, l, &err);
	ok(l < 1000 && err == KB_ERR_MESSAGE_TOO_LARGE &&
	   kb_partition_log_end(p) == 60,
	   "a %zu-byte zstd batch that is larger uncompressed: "
	   "MESSAGE_TOO_LARGE, nothing written", l);
	kb_store_close(s);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/kb-test-store.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir0, sizeof(dir0), "%s/d0", root);
	snprintf(dir1, sizeof(dir1), "%s/d1", root);
	{
		uint8_t v[] = "123456789";

		ok(kb_crc32c(0, v, 9) == 0xe3069283, "CRC-32C check value");
		ok(kb_crc32c(kb_crc32c(0, v, 4), v + 4, 5) == 0xe3069283,
		   "CRC-32C continues across buffers");
	}
	{
		static uint8_t data[1100];
		int bad = 0;

		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)(i * 131 + 7);
		for (size_t a = 0; a < 9; a++)
			for (size_t n = 0; n < 1090; n += 1 + n / 16)
				if (kb_crc32c(0, data + a, n) !=
				    crc_bitwise(data + a, n))
					bad++;
		ok(!bad, "CRC-32C matches a bitwise one at every alignment");
	}
	{
		/* Long enough for the interleaved blocks and their tails. */
		size_t sz = 3 * 8192 * 2 + 3 * 256 * 2 + 64;
		uint8_t *data = malloc(sz);
		size_t lens[] = { 767, 768, 769, 1543, 24575, 24576, 24577,
				  24576 + 768 + 13, 49151, sz - 9 };
		int bad = 0;

		for (size_t i = 0; i < sz; i++)
			data[i] = (uint8_t)(i * 131 + 7 + (i >> 9));
		for (size_t a = 0; a < 9; a++)
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
				if (kb_crc32c(0, data + a, lens[k]) !=
				    crc_bitwise(data + a, lens[k]) ||
				    kb_crc32c(kb_crc32c(0, data + a, 5),
					      data + a + 5, lens[k] - 5) !=
				    crc_bitwise(data + a, lens[k]))
					bad++;
		ok(!bad, "CRC-32C matches a bitwise one over long buffers");
		free(data);
	}
	test_append_read();
	test_validation();
	test_compressed();
	test_recompress();
	test_index_segments();
	test_roll_time();
	test_retention();
	test_recovery();
	test_idempotence();
	test_topics();
	test_offset_for_time();
	test_delete_records();
	test_truncate();
	test_epochs();
	test_flush_policy();
	test_topic_config();
	test_crash();
	rm_rf(root);
	return tap_done();
}
