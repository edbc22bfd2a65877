// SPDX-License-Identifier: GPL-2.0
/*
 * The log cleaner on real segment files: duplicates, tombstones and their
 * delete horizon, idempotent producers' batches, compressed batches of
 * every codec, and the swap cut short after each of its steps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"
#include "tap.h"

static char root[64], dir0[96];

/* ---- batches of keyed records ---- */

struct krec {
	int key;		/* "k<key>" */
	int val;		/* "v<val>"; -1 = tombstone */
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

static size_t make_batch(uint8_t *buf, const struct krec *r, int n,
			 int codec, int64_t pid, int32_t seq, int64_t ts)
{
	uint8_t raw[16384], *q = raw;
	size_t len, clen;
	uint8_t *c = NULL;

	memset(buf, 0, KB_B_HDR);
	buf[KB_B_MAGIC] = 2;
	kb_put_be32(buf + KB_B_EPOCH, 0);
	kb_put_be16(buf + KB_B_ATTR, (uint16_t)codec);
	kb_put_be32(buf + KB_B_LAST_DELTA, (uint32_t)(n - 1));
	kb_put_be64(buf + KB_B_BASE_TS, (uint64_t)ts);
	kb_put_be64(buf + KB_B_MAX_TS, (uint64_t)(ts + n - 1));
	kb_put_be64(buf + KB_B_PID, (uint64_t)pid);
	kb_put_be16(buf + KB_B_PEPOCH, pid >= 0 ? 0 : 0xffff);
	kb_put_be32(buf + KB_B_BASE_SEQ, (uint32_t)seq);
	kb_put_be32(buf + KB_B_COUNT, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t rec[64], *w = rec;
		char k[16], v[16];
		int kl = snprintf(k, sizeof(k), "k%d", r[i].key);
		int vl = snprintf(v, sizeof(v), "v%d", r[i].val);

		*w++ = 0;
		w += put_varint(w, i);		/* timestampDelta */
		w += put_varint(w, i);		/* offsetDelta */
		w += put_varint(w, kl);
		memcpy(w, k, (size_t)kl);
		w += kl;
		if (r[i].val < 0) {
			w += put_varint(w, -1);
		} else {
			w += put_varint(w, vl);
			memcpy(w, v, (size_t)vl);
			w += vl;
		}
		w += put_varint(w, 0);
		q += put_varint(q, w - rec);
		memcpy(q, rec, (size_t)(w - rec));
		q += w - rec;
	}
	len = (size_t)(q - raw);
	if (codec) {
		if (kb_records_deflate(codec, raw, len, &c, &clen))
			return 0;
		memcpy(buf + KB_B_HDR, c, clen);
		free(c);
		len = clen;
	} else {
		memcpy(buf + KB_B_HDR, raw, len);
	}
	len += KB_B_HDR;
	kb_put_be32(buf + KB_B_LENGTH, (uint32_t)(len - KB_B_LOG_OVERHEAD));
	kb_put_be32(buf + KB_B_CRC, kb_crc32c(0, buf + KB_B_ATTR,
					      len - KB_B_ATTR));
	return len;
}

/* ---- reading a partition back ---- */

struct seen {
	int64_t off;
	int key, val;		/* val -1: tombstone */
};

struct dump {
	struct seen r[4096];
	int n;
	int batches, bad_crc, empty, codec_mismatch, horizon;
	int64_t pids[64];
	int32_t seqs[64];
	int n_pid;
};

static int64_t rvarint(const uint8_t **p)
{
	uint64_t u = 0;
	int s = 0;

	while (**p & 0x80) {
		u |= (uint64_t)(**p & 0x7f) << s;
		s += 7;
		(*p)++;
	}
	u |= (uint64_t)**p << s;
	(*p)++;
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Every batch of every segment of @p; @codec: the one each must have. */
static void dump(struct kb_partition *p, struct dump *d, int codec)
{
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < p->n_segs; i++) {
		struct kb_segment *seg = &p->segs[i];
		uint64_t pos = 0;

		while (pos < seg->size) {
			uint8_t h[KB_B_HDR], *buf, *raw;
			const uint8_t *q, *end;
			struct kb_batch b;
			size_t sz, rl;

			if (pread(seg->fd, h, KB_B_HDR, (off_t)pos) != KB_B_HDR)
				break;
			kb_batch_parse(h, &b);
			sz = kb_batch_size(&b);
			buf = malloc(sz);
			if (pread(seg->fd, buf, sz, (off_t)pos) != (ssize_t)sz)
				break;
			d->batches++;
			if (kb_crc32c(0, buf + KB_B_ATTR, sz - KB_B_ATTR) !=
			    b.crc)
				d->bad_crc++;
			if (b.attr & KB_ATTR_DELETE_HORIZON)
				d->horizon++;
			if (!b.count)
				d->empty++;
			else if ((b.attr & 7) != codec)
				d->codec_mismatch++;
			if (b.pid >= 0 && d->n_pid < 64) {
				d->pids[d->n_pid] = b.pid;
				d->seqs[d->n_pid++] = b.base_seq;
			}
			raw = NULL;
			if (b.attr & 7) {
				if (b.count && kb_records_inflate(b.attr & 7,
						buf + KB_B_HDR, sz - KB_B_HDR,
						1 << 24, &raw, &rl))
					d->bad_crc++;
				q = raw;
				end = raw ? raw + rl : raw;
			} else {
				q = buf + KB_B_HDR;
				end = buf + sz;
			}
			for (int k = 0; q && q < end && k < b.count; k++) {
				const uint8_t *r0;
				int64_t len, od, kl, vl;
				struct seen *s = &d->r[d->n < 4095 ? d->n++ :
						       4095];

				len = rvarint(&q);
				r0 = q;
				q++;
				rvarint(&q);
				od = rvarint(&q);
				kl = rvarint(&q);
				s->off = b.base + od;
				s->key = atoi((const char *)q + 1);
				q += kl;
				vl = rvarint(&q);
				s->val = vl < 0 ? -1 : atoi((const char *)q + 1);
				q = r0 + len;
			}
			free(raw);
			free(buf);
			pos += sz;
		}
	}
}

/* ---- set-up ---- */

static struct kb_store_opts opts(void)
{
	static const char *dirs[1];

	dirs[0] = dir0;
	return (struct kb_store_opts){
		.log_dirs = dirs,
		.n_log_dirs = 1,
		.segment_bytes = 1 << 30,
		.roll_ms = 1000000000000000LL,
		.retention_ms = -1,
		.retention_bytes = -1,
		.flush_messages = INT64_MAX,
		.flush_ms = -1,
		.index_interval_bytes = 256,
		.max_message_bytes = 1 << 20,
		.cleanup_policy = "compact",
		.delete_retention_ms = 1000,
		.cleaner_dedupe_bytes = 1 << 20,
	};
}

static void fresh(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir0);
	if (system(cmd))
		fprintf(stderr, "rm failed\n");
}

static struct kb_store *open_store(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s = NULL;
	int err = kb_store_open(&o, &s);

	if (err)
		printf("# kb_store_open: %s\n", strerror(-err));
	return s;
}

static int64_t now;

/*
 * Topic @t: @rounds rounds over keys 0..@keys-1 (value = round), one
 * batch of @per records at a time, @codec, idempotent when @pid >= 0;
 * keys in @tomb get a tombstone in the last round.  Segments of about
 * 1 KiB; the active one rolled at the end so everything is closed.
 */
static struct kb_partition *fill(struct kb_store *s, const char *t,
				 int keys, int rounds, int per, int codec,
				 int64_t pid, const int *tomb, int n_tomb)
{
	struct kb_cfg_op op = { "segment.bytes", "1024" };
	struct kb_partition *p;
	const char *why;
	int32_t seq = 0;

	if (kb_store_topic_create_cfg(s, t, 1, &op, 1, false, &why))
		return NULL;
	p = kb_store_partition(s, t, 0);
	for (int r = 0; r < rounds; r++) {
		for (int k0 = 0; k0 < keys; k0 += per) {
			struct krec rec[64];
			struct kb_append_result res;
			uint8_t buf[32768];
			size_t len;
			int n = 0;

			for (int k = k0; k < k0 + per && k < keys; k++) {
				rec[n].key = k;
				rec[n].val = r;
				for (int x = 0; x < n_tomb && r == rounds - 1;
				     x++)
					if (tomb[x] == k)
						rec[n].val = -1;
				n++;
			}
			len = make_batch(buf, rec, n, codec, pid,
					 pid >= 0 ? seq : -1, now);
			seq += n;
			kb_partition_append(p, buf, len, &res);
			if (res.error)
				printf("# append: error %d %s\n", res.error,
				       res.error_message ?: "");
		}
	}
	kb_part_roll(p, now);
	return p;
}

/* Whether @d holds exactly one record per key 0..@keys-1 with value
 * @val, except keys in @tomb (tombstones when @tombs_kept, absent else). */
static bool latest_only(const struct dump *d, int keys, int val,
			const int *tomb, int n_tomb, bool tombs_kept)
{
	int want = 0;

	for (int k = 0; k < keys; k++) {
		bool t = false;
		int c = 0;

		for (int x = 0; x < n_tomb; x++)
			t |= tomb[x] == k;
		for (int i = 0; i < d->n; i++) {
			if (d->r[i].key != k)
				continue;
			c++;
			if (d->r[i].val != (t ? -1 : val))
				return false;
		}
		if (c != (t && !tombs_kept ? 0 : 1))
			return false;
		want += c;
	}
	for (int i = 1; i < d->n; i++)
		if (d->r[i].off <= d->r[i - 1].off)
			return false;
	return d->n == want;
}

static void test_duplicates(void)
{
	struct kb_store *s;
	struct kb_partition *p;
	struct dump *d = malloc(sizeof(*d));
	struct kb_read_result rr;
	int64_t end;

	fresh();
	s = open_store();
	p = fill(s, "dup", 20, 6, 5, 0, -1, NULL, 0);
	end = kb_partition_log_end(p);
	dump(p, d, 0);
	ok(p && d->n == 120 && p->n_segs > 3,
	   "120 records over %zu segments before cleaning", p->n_segs);
	/* A Fetch answer taken before the swap, sent after it. */
	kb_partition_read(p, 0, 1 << 20, true, &rr);
	{
		size_t n = rr.slice.len;
		uint8_t *before = malloc(n), *after = malloc(n);
		bool same;

		same = pread(rr.slice.fd, before, n, rr.slice.pos) ==
		       (ssize_t)n;
		ok(kb_store_clean_now(s, "dup", 0, now) == 0, "cleaned");
		same &= pread(rr.slice.fd, after, n, rr.slice.pos) ==
			(ssize_t)n && !memcmp(before, after, n);
		ok(rr.error == 0 && n > 0 && same,
		   "a Fetch slice taken before the swap still reads the old bytes after it");
		close(rr.slice.fd);
		free(before);
		free(after);
	}
	dump(p, d, 0);
	ok(latest_only(d, 20, 5, NULL, 0, true) && !d->bad_crc,
	   "only the latest record of each of 20 keys survives (%d), CRCs good",
	   d->n);
	ok(kb_partition_log_end(p) == end && p->first_dirty == p->segs[p->n_segs
	   - 1].base, "log end kept, checkpoint at the active segment");
	kb_partition_read(p, 0, 1 << 20, true, &rr);
	ok(rr.error == 0 && rr.slice.len > 0, "Fetch from offset 0 after it");
	if (rr.slice.fd >= 0)
		close(rr.slice.fd);
	kb_partition_read(p, 3, 1 << 20, true, &rr);
	ok(rr.error == 0 && rr.slice.len > 0,
	   "Fetch from an offset cleaned away finds the next batch");
	if (rr.slice.fd >= 0)
		close(rr.slice.fd);
	/* The cleaned log and its checkpoint survive a restart. */
	kb_store_close(s);
	s = open_store();
	p = kb_store_partition(s, "dup", 0);
	dump(p, d, 0);
	ok(p && latest_only(d, 20, 5, NULL, 0, true) &&
	   kb_partition_log_end(p) == end && p->first_dirty > 0,
	   "after a restart: same records, log end, checkpoint (%lld)",
	   p ? (long long)p->first_dirty : -1LL);
	kb_store_close(s);
	free(d);
}

static void test_tombstones(void)
{
	static const int tomb[] = { 3, 7 };
	struct kb_store *s;
	struct kb_partition *p;
	struct dump *d = malloc(sizeof(*d));

	fresh();
	s = open_store();
	p = fill(s, "tomb", 10, 4, 5, 0, -1, tomb, 2);
	ok(kb_store_clean_now(s, "tomb", 0, now) == 0, "cleaned");
	dump(p, d, 0);
	ok(latest_only(d, 10, 3, tomb, 2, true) && d->horizon > 0 &&
	   !d->bad_crc,
	   "tombstones kept with a delete horizon after the first cleaning");
	ok(kb_store_clean_now(s, "tomb", 0, now + 500) == 0, "cleaned again");
	dump(p, d, 0);
	ok(latest_only(d, 10, 3, tomb, 2, true),
	   "before delete.retention.ms passes they stay");
	ok(kb_store_clean_now(s, "tomb", 0, now + 1001) == 0,
	   "cleaned after delete.retention.ms");
	dump(p, d, 0);
	ok(latest_only(d, 10, 3, tomb, 2, false) && !d->bad_crc,
	   "then the tombstoned keys are gone");
	kb_store_close(s);
	free(d);
}

static void test_idempotent(void)
{
	struct kb_store *s;
	struct kb_partition *p;
	struct dump *d = malloc(sizeof(*d));
	struct kb_append_result res;
	struct krec r = { 0, 99 };
	uint8_t buf[1024];
	size_t len;
	bool pid_ok = true;

	fresh();
	s = open_store();
	p = fill(s, "idem", 10, 3, 5, 0, 4242, NULL, 0);
	ok(kb_store_clean_now(s, "idem", 0, now) == 0, "cleaned");
	dump(p, d, 0);
	for (int i = 0; i < d->n_pid; i++)
		pid_ok &= d->pids[i] == 4242 && d->seqs[i] % 5 == 0;
	ok(latest_only(d, 10, 2, NULL, 0, true) && pid_ok && d->n_pid > 0 &&
	   !d->bad_crc,
	   "idempotent batches: latest records, producer id and base sequences kept");
	/* The producer's next sequence is still accepted, a retry is not. */
	len = make_batch(buf, &r, 1, 0, 4242, 30, now);
	kb_partition_append(p, buf, len, &res);
	ok(res.error == 0, "the producer continues at sequence 30");
	len = make_batch(buf, &r, 1, 0, 4242, 35, now);
	kb_partition_append(p, buf, len, &res);
	ok(res.error == KB_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
	   "a gap is still refused (%d)", res.error);
	kb_store_close(s);

	/* A producer's last batch emptied by a later writer stays, empty. */
	fresh();
	s = open_store();
	p = fill(s, "idem2", 5, 1, 5, 0, 77, NULL, 0);
	{
		struct krec rr[5] = { { 0, 9 }, { 1, 9 }, { 2, 9 }, { 3, 9 },
				      { 4, 9 } };

		len = make_batch(buf, rr, 5, 0, -1, -1, now);
		kb_partition_append(p, buf, len, &res);
		kb_part_roll(p, now);
	}
	ok(kb_store_clean_now(s, "idem2", 0, now) == 0, "cleaned");
	dump(p, d, 0);
	ok(d->n == 5 && d->empty == 1 && d->n_pid == 1 && d->pids[0] == 77 &&
	   !d->bad_crc,
	   "an idempotent batch whose records all went is kept empty (%d empty)",
	   d->empty);
	kb_store_close(s);
	free(d);
}

static void test_compressed(void)
{
	static const int tomb[] = { 2 };
	static const char *const names[] = { "", "gzip", "snappy", "lz4",
					     "zstd" };

	for (int codec = 1; codec <= 4; codec++) {
		struct dump *d = malloc(sizeof(*d));
		struct kb_store *s;
		struct kb_partition *p;
		char t[16];

		fresh();
		s = open_store();
		snprintf(t, sizeof(t), "z%d", codec);
		p = fill(s, t, 12, 4, 4, codec, -1, tomb, 1);
		ok(kb_store_clean_now(s, t, 0, now) == 0, "%s: cleaned",
		   names[codec]);
		dump(p, d, codec);
		ok(latest_only(d, 12, 3, tomb, 1, true) && !d->bad_crc &&
		   !d->codec_mismatch,
		   "%s batches: latest records, recompressed with %s, CRCs good",
		   names[codec], names[codec]);
		kb_store_close(s);
		free(d);
	}
}

/* The swap stopped after step 0 (cleaned file written) to 3, then a
 * restart: either every old record or exactly the cleaned set. */
static void test_swap_crash(void)
{
	for (int stop = 0; stop <= 3; stop++) {
		struct dump *d = malloc(sizeof(*d));
		struct kb_store *s;
		struct kb_partition *p;
		struct kb_clean_job *j;
		double ratio;
		int err = 0;

		fresh();
		s = open_store();
		p = fill(s, "sw", 20, 6, 5, 0, -1, NULL, 0);
		j = kb_clean_plan(p, now, true, &ratio);
		kb_clean_run(j, NULL, NULL);
		for (size_t g = 0; stop > 0 && g < j->n_outs; g++) {
			struct kb_clean_out *o = &j->outs[g];
			int64_t old[64];

			if (o->seg.fd < 0)
				continue;
			for (size_t k = 0; k < o->n; k++)
				old[k] = j->segs[o->first + k].base;
			err |= kb_clean_swap(p->dfd, p->path, o->base, o->end,
					     old, o->n, stop == 3 ? -1 : stop);
		}
		/* A crash: nothing of the job is tidied. */
		for (size_t g = 0; g < j->n_outs; g++) {
			if (j->outs[g].seg.fd >= 0)
				kb_seg_close(&j->outs[g].seg);
			j->outs[g].seg.fd = -1;
		}
		kb_clean_job_free(j);
		kb_store_close(s);
		s = open_store();
		p = s ? kb_store_partition(s, "sw", 0) : NULL;
		if (p)
			dump(p, d, 0);
		ok(!err && p && (stop == 0 ? d->n == 120 :
				 latest_only(d, 20, 5, NULL, 0, true)) &&
		   !d->bad_crc && kb_partition_log_end(p) == 120,
		   "swap stopped after step %d, then recovery: %s set (%d records)",
		   stop, stop ? "the new" : "the old", p ? d->n : -1);
		kb_store_close(s);
		free(d);
	}
}

/* max.compaction.lag.ms rolls a quiet compacted log's active segment. */
static void test_max_lag(void)
{
	struct kb_cfg_op op = { "max.compaction.lag.ms", "1000" };
	struct kb_append_result res;
	struct krec r = { 1, 1 };
	struct kb_partition *p;
	struct kb_store *s;
	const char *why;
	uint8_t buf[1024];
	size_t len, n;

	fresh();
	s = open_store();
	kb_store_topic_create_cfg(s, "lag", 1, &op, 1, false, &why);
	p = kb_store_partition(s, "lag", 0);
	len = make_batch(buf, &r, 1, 0, -1, -1, kb_now_real_ms());
	kb_partition_append(p, buf, len, &res);
	n = p->n_segs;
	kb_store_tick(s, kb_now_real_ms() + 500);
	ok(p->n_segs == n, "active segment kept before max.compaction.lag.ms");
	kb_store_tick(s, kb_now_real_ms() + 1500);
	ok(p->n_segs == n + 1,
	   "rolled once its first record passes max.compaction.lag.ms");
	kb_store_close(s);
}

/* The cleaner threads: a compacted log gets cleaned by kb_store_tick. */
static void test_threads(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s = NULL;
	struct kb_partition *p;
	struct dump *d = malloc(sizeof(*d));
	int i;

	fresh();
	o.cleaner_threads = 2;
	o.min_cleanable_ratio = 0.5;
	o.cleaner_io_max_bps = 1e6;
	ok(kb_store_open(&o, &s) == 0, "store with 2 cleaner threads");
	p = fill(s, "thr", 20, 6, 5, 0, -1, NULL, 0);
	for (i = 0; i < 100 && p->first_dirty == 0; i++) {
		kb_store_tick(s, kb_now_real_ms());
		usleep(20000);
	}
	dump(p, d, 0);
	ok(latest_only(d, 20, 5, NULL, 0, true),
	   "cleaned by a thread, swapped in on a tick (%d ticks)", i);
	kb_store_close(s);
	free(d);
}

/* log.cleaner.io.max.bytes.per.second holds a cleaning back. */
static void test_throttle(void)
{
	struct kb_store_opts o = opts();
	struct kb_store *s = NULL;
	struct kb_partition *p;
	int64_t t0, t1;

	fresh();
	o.cleaner_threads = 1;
	o.cleaner_io_max_bps = 10000;
	if (kb_store_open(&o, &s))
		return;
	p = fill(s, "io", 20, 6, 5, 0, -1, NULL, 0);
	t0 = kb_now_real_ms();
	for (int i = 0; i < 500 && p->first_dirty == 0; i++) {
		kb_store_tick(s, kb_now_real_ms());
		usleep(10000);
	}
	t1 = kb_now_real_ms();
	/* Some 10 KB read and written; unlimited, it takes a tick or two. */
	ok(p->first_dirty > 0 && t1 - t0 >= 400,
	   "at 10000 bytes/s the cleaning took %lld ms",
	   (long long)(t1 - t0));
	kb_store_close(s);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/kb-test-cleaner.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir0, sizeof(dir0), "%s/d0", root);
	now = kb_now_real_ms();
	test_duplicates();
	test_tombstones();
	test_idempotent();
	test_compressed();
	test_swap_crash();
	test_max_lag();
	test_threads();
	test_throttle();
	fresh();
	rmdir(root);
	return tap_done();
}
