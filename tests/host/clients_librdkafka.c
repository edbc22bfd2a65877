// SPDX-License-Identifier: GPL-2.0
/*
 * librdkafka end-to-end test against a running kbrokerd (started by
 * clients_librdkafka.sh, which passes its bootstrap address as argv[1]).
 *
 *  - CreateTopics through the admin API, auto-creation on produce;
 *  - an acks=all producer and an idempotent producer (enable.idempotence)
 *    whose delivery reports all succeed with dense offsets; acks=0 and
 *    acks=all interleaved on one connection;
 *  - keyed messages over several partitions, read back by a consumer
 *    assigned to every partition from the beginning: every message exactly
 *    once, at the offset its delivery report gave, per-key order kept;
 *  - ListOffsets: watermarks and rd_kafka_offsets_for_times();
 *  - gzip, snappy, lz4 and zstd batches produced and read back intact.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "tap.h"

#define TMO_MS 60000

static const char *bootstrap;

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One produced message and what its delivery report said. */
struct rec {
	int id;
	int key;
	int seq;
	rd_kafka_resp_err_t err;
	int32_t partition;
	int64_t offset;
	bool reported;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct rec *r = m->_private;

	(void)rk;
	(void)opaque;
	if (!r)
		return;
	r->reported = true;
	r->err = m->err;
	r->partition = m->partition;
	r->offset = m->offset;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
		   const char *buf)
{
	(void)rk;
	if (level <= 4)
		diag("rdkafka %d %s: %s", level, fac, buf);
}

/* Client with bootstrap.servers plus NULL-terminated key, value pairs. */
static rd_kafka_t *mk(rd_kafka_type_t type, const char *const *kv)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err,
			      sizeof(err)) != RD_KAFKA_CONF_OK)
		goto bad;
	for (; kv && kv[0]; kv += 2)
		if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)) !=
		    RD_KAFKA_CONF_OK)
			goto bad;
	rd_kafka_conf_set_log_cb(conf, log_cb);
	if (type == RD_KAFKA_PRODUCER)
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (!rk)
		diag("rd_kafka_new: %s", err);
	return rk;
bad:
	diag("config: %s", err);
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* CreateTopics through the admin API; returns the topic's error code. */
static rd_kafka_resp_err_t create_topic(const char *name, int partitions)
{
	char err[512];
	rd_kafka_t *rk = mk(RD_KAFKA_PRODUCER, NULL);
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	rd_kafka_resp_err_t ret = RD_KAFKA_RESP_ERR__FAIL;
	rd_kafka_AdminOptions_t *opts;

	if (!rk)
		return RD_KAFKA_RESP_ERR__FAIL;
	nt = rd_kafka_NewTopic_new(name, partitions, 1, err, sizeof(err));
	q = rd_kafka_queue_new(rk);
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_operation_timeout(opts, 30000, err,
						    sizeof(err));
	rd_kafka_AdminOptions_set_request_timeout(opts, 30000, err,
						  sizeof(err));
	rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
	ev = rd_kafka_queue_poll(q, TMO_MS);
	if (!ev) {
		diag("CreateTopics %s: no result", name);
	} else if (rd_kafka_event_error(ev)) {
		ret = rd_kafka_event_error(ev);
		diag("CreateTopics %s: %s", name,
		     rd_kafka_event_error_string(ev));
	} else {
		const rd_kafka_CreateTopics_result_t *res =
			rd_kafka_event_CreateTopics_result(ev);
		size_t n;
		const rd_kafka_topic_result_t **tr =
			rd_kafka_CreateTopics_result_topics(res, &n);

		if (n == 1) {
			ret = rd_kafka_topic_result_error(tr[0]);
			if (ret)
				diag("CreateTopics %s: %s: %s", name,
				     rd_kafka_err2name(ret),
				     rd_kafka_topic_result_error_string(tr[0]));
		}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return ret;
}

/* Partition count of a topic from Metadata, -1 if absent or on error. */
static int topic_partitions(rd_kafka_t *rk, const char *topic)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	int n = -1;

	if (rd_kafka_metadata(rk, 0, rkt, &md, TMO_MS) == 0) {
		if (md->topic_cnt == 1 && !md->topics[0].err)
			n = md->topics[0].partition_cnt;
		else if (md->topic_cnt == 1)
			diag("metadata %s: %s", topic,
			     rd_kafka_err2name(md->topics[0].err));
		rd_kafka_metadata_destroy(md);
	}
	rd_kafka_topic_destroy(rkt);
	return n;
}

static int flush_all(rd_kafka_t *rk)
{
	rd_kafka_resp_err_t e = rd_kafka_flush(rk, TMO_MS);

	if (e)
		diag("flush: %s, %d still queued", rd_kafka_err2name(e),
		     rd_kafka_outq_len(rk));
	return e;
}

/* Checks that every record has a successful report and that the offsets
 * reported per partition are exactly 0..count-1 (dense, no duplicate). */
static bool check_reports(struct rec *r, int n, int nparts, const char *what)
{
	int failed = 0, unreported = 0;
	bool dense = true;

	for (int i = 0; i < n; i++) {
		if (!r[i].reported)
			unreported++;
		else if (r[i].err) {
			if (failed++ < 3)
				diag("%s: message %d: %s", what, i,
				     rd_kafka_err2str(r[i].err));
		}
	}
	for (int p = 0; p < nparts; p++) {
		int cnt = 0;
		char *seen;

		for (int i = 0; i < n; i++)
			cnt += r[i].partition == p;
		seen = calloc(cnt + 1, 1);
		for (int i = 0; i < n; i++) {
			if (r[i].partition != p || r[i].err)
				continue;
			if (r[i].offset < 0 || r[i].offset >= cnt ||
			    seen[r[i].offset]) {
				if (dense)
					diag("%s: partition %d: offset %" PRId64
					     " out of 0..%d or repeated",
					     what, p, r[i].offset, cnt - 1);
				dense = false;
			} else {
				seen[r[i].offset] = 1;
			}
		}
		free(seen);
	}
	ok(!failed && !unreported,
	   "%s: %d delivery reports, all succeeded (%d failed, %d missing)",
	   what, n, failed, unreported);
	return ok(!failed && !unreported && dense,
		  "%s: reported offsets are dense from 0 in each partition",
		  what);
}

/* A message read back. */
struct got {
	int32_t partition;
	int64_t offset;
	int64_t ts;
	rd_kafka_timestamp_type_t tstype;
	char *key;
	size_t key_len;
	char *val;
	size_t len;
};

/*
 * Reads every partition of topic from the beginning with an assign()ed
 * consumer until each partition reported EOF and at least want messages
 * arrived (or TMO_MS passed).  Returns the count; messages in *out.
 */
static int consume_all(const char *topic, int nparts, int want,
		       struct got **out)
{
	char gid[64];
	const char *kv[] = { "group.id", gid,
			     "enable.auto.commit", "false",
			     "enable.auto.offset.store", "false",
			     "enable.partition.eof", "true",
			     "auto.offset.reset", "earliest",
			     "fetch.wait.max.ms", "100",
			     NULL };
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *tl;
	struct got *g = NULL;
	int n = 0, cap = 0, neof = 0;
	bool *eof = calloc(nparts, sizeof(*eof));
	int64_t end = mono_ms() + TMO_MS;

	snprintf(gid, sizeof(gid), "rdk-e2e-%d-%s", getpid(), topic);
	rk = mk(RD_KAFKA_CONSUMER, kv);
	if (!rk) {
		free(eof);
		*out = NULL;
		return -1;
	}
	tl = rd_kafka_topic_partition_list_new(nparts);
	for (int p = 0; p < nparts; p++)
		rd_kafka_topic_partition_list_add(tl, topic, p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	if (rd_kafka_assign(rk, tl))
		diag("assign failed");
	rd_kafka_topic_partition_list_destroy(tl);

	while (mono_ms() < end && (neof < nparts || n < want)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);

		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (m->partition >= 0 && m->partition < nparts &&
			    !eof[m->partition]) {
				eof[m->partition] = true;
				neof++;
			}
		} else if (m->err) {
			diag("consume %s [%d]: %s", topic, m->partition,
			     rd_kafka_message_errstr(m));
		} else {
			struct got *x;

			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				g = realloc(g, cap * sizeof(*g));
			}
			x = &g[n++];
			x->partition = m->partition;
			x->offset = m->offset;
			x->ts = rd_kafka_message_timestamp(m, &x->tstype);
			x->key_len = m->key_len;
			x->key = malloc(m->key_len + 1);
			memcpy(x->key, m->key ? m->key : "", m->key_len);
			x->key[m->key_len] = 0;
			x->len = m->len;
			x->val = malloc(m->len + 1);
			memcpy(x->val, m->payload ? m->payload : "", m->len);
			x->val[m->len] = 0;
			if (m->partition >= 0 && m->partition < nparts &&
			    eof[m->partition]) {
				eof[m->partition] = false;
				neof--;
			}
		}
		rd_kafka_message_destroy(m);
	}
	if (neof < nparts || n < want)
		diag("consume %s: timed out with %d/%d messages, %d/%d EOFs",
		     topic, n, want, neof, nparts);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	free(eof);
	*out = g;
	return n;
}

static void free_got(struct got *g, int n)
{
	for (int i = 0; i < n; i++) {
		free(g[i].key);
		free(g[i].val);
	}
	free(g);
}

#define NKEYS 10

/*
 * Keyed messages "k<key>" / "id=<id> key=<key> seq=<seq>" through a producer
 * with the given extra config; checks delivery, then reads everything back.
 */
static void keyed_round(const char *what, const char *topic, int nparts,
			int n, const char *const *kv)
{
	struct rec *r = calloc(n, sizeof(*r));
	rd_kafka_t *rk = mk(RD_KAFKA_PRODUCER, kv);
	struct got *g;
	int got, bad = 0, dup = 0, missing = 0, order = 0, keyparts = 0;
	int keypart[NKEYS], lastseq[NKEYS];
	int *seen;
	char key[16], val[128];

	if (!rk) {
		ok(0, "%s: producer created", what);
		free(r);
		return;
	}
	for (int i = 0; i < n; i++) {
		rd_kafka_resp_err_t e;

		r[i].id = i;
		r[i].key = i % NKEYS;
		r[i].seq = i / NKEYS;
		r[i].partition = -1;
		snprintf(key, sizeof(key), "k%d", r[i].key);
		snprintf(val, sizeof(val), "id=%d key=%d seq=%d", i, r[i].key,
			 r[i].seq);
		do {
			e = rd_kafka_producev(
				rk, RD_KAFKA_V_TOPIC(topic),
				RD_KAFKA_V_KEY(key, strlen(key)),
				RD_KAFKA_V_VALUE(val, strlen(val)),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_OPAQUE(&r[i]), RD_KAFKA_V_END);
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(rk, 100);
		} while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
		if (e) {
			diag("%s: producev %d: %s", what, i,
			     rd_kafka_err2name(e));
			r[i].reported = true;
			r[i].err = e;
		}
		rd_kafka_poll(rk, 0);
	}
	flush_all(rk);
	{
		char errstr[256];
		rd_kafka_resp_err_t fe =
			rd_kafka_fatal_error(rk, errstr, sizeof(errstr));

		ok(!fe, "%s: no fatal producer error%s%s", what,
		   fe ? ": " : "", fe ? errstr : "");
	}
	rd_kafka_destroy(rk);
	check_reports(r, n, nparts, what);

	got = consume_all(topic, nparts, n, &g);
	seen = calloc(n, sizeof(*seen));
	for (int k = 0; k < NKEYS; k++) {
		keypart[k] = -1;
		lastseq[k] = -1;
	}
	/* Messages of one partition arrive in offset order. */
	for (int i = 0; i < got; i++) {
		int id, k, s;

		if (sscanf(g[i].val, "id=%d key=%d seq=%d", &id, &k, &s) != 3 ||
		    id < 0 || id >= n || k != id % NKEYS || s != id / NKEYS ||
		    g[i].key_len < 2 || atoi(g[i].key + 1) != k) {
			if (bad++ < 3)
				diag("%s: bad message at [%d]@%" PRId64 ": %s",
				     what, g[i].partition, g[i].offset,
				     g[i].val);
			continue;
		}
		if (seen[id]++) {
			if (dup++ < 3)
				diag("%s: id %d read twice", what, id);
			continue;
		}
		if (!r[id].err && (r[id].partition != g[i].partition ||
				   r[id].offset != g[i].offset)) {
			if (bad++ < 3)
				diag("%s: id %d at [%d]@%" PRId64
				     ", reported [%d]@%" PRId64,
				     what, id, g[i].partition, g[i].offset,
				     r[id].partition, r[id].offset);
		}
		if (keypart[k] == -1)
			keypart[k] = g[i].partition;
		else if (keypart[k] != g[i].partition)
			keyparts++;
		if (s <= lastseq[k]) {
			if (order++ < 3)
				diag("%s: key %d seq %d after seq %d", what, k,
				     s, lastseq[k]);
		}
		lastseq[k] = s;
	}
	for (int i = 0; i < n; i++)
		missing += !seen[i];
	ok(got == n && !missing && !dup,
	   "%s: consumer assigned to all %d partitions read each of %d messages exactly once (read %d, %d missing, %d twice)",
	   what, nparts, n, got, missing, dup);
	ok(got > 0 && !bad,
	   "%s: every message intact and at the offset its report gave", what);
	ok(got > 0 && !order && !keyparts,
	   "%s: per-key order kept, each key in one partition", what);
	{
		int used = 0;

		for (int p = 0; p < nparts; p++) {
			bool u = false;

			for (int k = 0; k < NKEYS; k++)
				u |= keypart[k] == p;
			used += u;
		}
		ok(used >= 2, "%s: keys spread over %d of %d partitions", what,
		   used, nparts);
	}
	free(seen);
	free_got(g, got);
	free(r);
}

#define NTP 3
static const char *const times_layout[NTP] = {
	"batch per message", "one batch", "one gzip batch",
};

static void test_offsets_for_times(void)
{
	const char *topic = "rdk-times";
	const int n = 10;
	const char *kv[] = { "acks", "all", "linger.ms", "200", NULL };
	const char *kvz[] = { "acks", "all", "linger.ms", "200",
			      "compression.codec", "gzip", NULL };
	int64_t base = (now_ms() - 3600 * 1000) / 1000 * 1000;
	rd_kafka_t *rk;
	struct rec r[NTP][10];
	int64_t lo, hi;
	struct got *g;
	int got;

	ok(create_topic(topic, NTP) == 0, "CreateTopics %s (%d partitions)",
	   topic, NTP);
	memset(r, 0, sizeof(r));
	/* Partition p holds its messages as times_layout[p] says. */
	for (int p = 0; p < NTP; p++) {
		rk = mk(RD_KAFKA_PRODUCER, p == 2 ? kvz : kv);
		if (!rk)
			return;
		for (int i = 0; i < n; i++) {
			char val[32];

			snprintf(val, sizeof(val), "t%d-%d", p, i);
			r[p][i].partition = -1;
			if (rd_kafka_producev(
				    rk, RD_KAFKA_V_TOPIC(topic),
				    RD_KAFKA_V_PARTITION(p),
				    RD_KAFKA_V_VALUE(val, strlen(val)),
				    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				    RD_KAFKA_V_TIMESTAMP(base + i * 1000),
				    RD_KAFKA_V_OPAQUE(&r[p][i]),
				    RD_KAFKA_V_END))
				diag("producev failed");
			if (p == 0)
				flush_all(rk);
		}
		flush_all(rk);
		rd_kafka_destroy(rk);
	}
	check_reports(&r[0][0], NTP * n, NTP, "timestamped producer");

	rk = mk(RD_KAFKA_CONSUMER,
		(const char *[]){ "group.id", "rdk-e2e-times", NULL });
	if (!rk)
		return;
	for (int p = 0; p < NTP; p++) {
		rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
			rk, topic, p, &lo, &hi, TMO_MS);

		ok(!e && lo == 0 && hi == n,
		   "ListOffsets earliest/latest of [%d] = 0/%d (got %s %" PRId64
		   "/%" PRId64 ")",
		   p, n, rd_kafka_err2name(e), lo, hi);
	}
	{
		static const struct {
			int64_t dt;
			int64_t want;
		} q[] = {
			{ -100000, 0 }, { 0, 0 }, { 1, 1 }, { 3000, 3 },
			{ 3500, 4 }, { 9000, 9 }, { 9001, -1 },
		};
		const int nq = sizeof(q) / sizeof(q[0]);

		for (int p = 0; p < NTP; p++) {
			for (int i = 0; i < nq; i++) {
				rd_kafka_topic_partition_list_t *tl =
					rd_kafka_topic_partition_list_new(1);
				rd_kafka_resp_err_t e;
				int64_t off;

				rd_kafka_topic_partition_list_add(tl, topic, p)
					->offset = base + q[i].dt;
				e = rd_kafka_offsets_for_times(rk, tl, TMO_MS);
				if (!e)
					e = tl->elems[0].err;
				off = tl->elems[0].offset;
				ok(!e && off == q[i].want,
				   "offsets_for_times [%d] (%s) at base%+" PRId64
				   " ms = %" PRId64 " (got %s %" PRId64 ")",
				   p, times_layout[p],
				   q[i].dt, q[i].want, rd_kafka_err2name(e),
				   off);
				rd_kafka_topic_partition_list_destroy(tl);
			}
		}
	}
	rd_kafka_destroy(rk);

	got = consume_all(topic, NTP, NTP * n, &g);
	{
		int bad = 0;

		for (int i = 0; i < got; i++) {
			if (g[i].tstype != RD_KAFKA_TIMESTAMP_CREATE_TIME ||
			    g[i].ts != base + g[i].offset * 1000) {
				if (bad++ < 3)
					diag("[%d]@%" PRId64 " ts %" PRId64
					     " type %d, want %" PRId64,
					     g[i].partition, g[i].offset,
					     g[i].ts, g[i].tstype,
					     base + g[i].offset * 1000);
			}
		}
		ok(got == NTP * n && !bad,
		   "consumed %d/%d messages carry their CreateTime timestamps",
		   got, NTP * n);
	}
	free_got(g, got);
}

static void test_codec(const char *codec)
{
	char topic[64];
	const int n = 300;
	const char *kv[] = { "compression.codec", codec, "linger.ms", "50",
			     "acks", "all", "batch.num.messages", "100",
			     NULL };
	struct rec *r = calloc(n, sizeof(*r));
	char **vals = calloc(n, sizeof(*vals));
	size_t *lens = calloc(n, sizeof(*lens));
	rd_kafka_t *rk;
	struct got *g;
	int got, bad = 0;

	snprintf(topic, sizeof(topic), "rdk-codec-%s", codec);
	rk = mk(RD_KAFKA_PRODUCER, kv);
	if (!ok(rk != NULL, "%s: producer with compression.codec=%s", codec,
		codec)) {
		free(r);
		free(vals);
		free(lens);
		return;
	}
	for (int i = 0; i < n; i++) {
		/* Compressible, varied; every 50th message is 100 KiB. */
		size_t len = i % 50 == 25 ? 100 * 1024 : 50 + (i * 37) % 2000;

		lens[i] = len;
		vals[i] = malloc(len + 1);
		for (size_t j = 0; j < len; j++)
			vals[i][j] = "compressible-text-"[(j + i) % 18] ^
				     (j % 251 == 0 ? (char)i : 0);
		vals[i][len] = 0;
		r[i].partition = -1;
		if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
				      RD_KAFKA_V_PARTITION(0),
				      RD_KAFKA_V_VALUE(vals[i], len),
				      RD_KAFKA_V_OPAQUE(&r[i]),
				      RD_KAFKA_V_END))
			diag("producev failed");
		rd_kafka_poll(rk, 0);
	}
	flush_all(rk);
	rd_kafka_destroy(rk);
	check_reports(r, n, 1, codec);

	got = consume_all(topic, 1, n, &g);
	for (int i = 0; i < got; i++) {
		int64_t o = g[i].offset;

		if (o != i || o >= n || g[i].len != lens[o] ||
		    memcmp(g[i].val, vals[o], g[i].len)) {
			if (bad++ < 3)
				diag("%s: message %d: offset %" PRId64
				     ", %zu bytes",
				     codec, i, o, g[i].len);
		}
	}
	ok(got == n && !bad,
	   "%s: %d compressed messages read back intact and in order (read %d, %d bad)",
	   codec, n, got, bad);
	free_got(g, got);
	for (int i = 0; i < n; i++)
		free(vals[i]);
	free(vals);
	free(lens);
	free(r);
}

/*
 * acks=0 and acks=all topics interleaved on one producer, hence on one
 * connection: the broker must not answer acks=0 requests (librdkafka
 * expects no response), and both topics must hold every message once.
 */
static void test_acks0(void)
{
	const int n = 400;
	char err[256];
	rd_kafka_t *rk = mk(RD_KAFKA_PRODUCER,
			    (const char *[]){ "acks", "all", "linger.ms", "1",
					      NULL });
	rd_kafka_topic_conf_t *tc;
	rd_kafka_topic_t *t0, *ta;
	struct rec *r = calloc(2 * n, sizeof(*r));
	struct got *g;
	int got, bad;

	if (!rk) {
		free(r);
		return;
	}
	tc = rd_kafka_topic_conf_new();
	rd_kafka_topic_conf_set(tc, "request.required.acks", "0", err,
				sizeof(err));
	t0 = rd_kafka_topic_new(rk, "rdk-acks0", tc);
	ta = rd_kafka_topic_new(rk, "rdk-acksall", NULL);
	for (int i = 0; i < n; i++) {
		char v[32];

		snprintf(v, sizeof(v), "a0-%d", i);
		r[i].partition = -1;
		rd_kafka_producev(rk, RD_KAFKA_V_RKT(t0),
				  RD_KAFKA_V_PARTITION(0),
				  RD_KAFKA_V_VALUE(v, strlen(v)),
				  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				  RD_KAFKA_V_OPAQUE(&r[i]), RD_KAFKA_V_END);
		snprintf(v, sizeof(v), "aall-%d", i);
		r[n + i].partition = -1;
		rd_kafka_producev(rk, RD_KAFKA_V_RKT(ta),
				  RD_KAFKA_V_PARTITION(0),
				  RD_KAFKA_V_VALUE(v, strlen(v)),
				  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				  RD_KAFKA_V_OPAQUE(&r[n + i]), RD_KAFKA_V_END);
		if (i % 50 == 0)
			rd_kafka_poll(rk, 10);
	}
	flush_all(rk);
	rd_kafka_topic_destroy(t0);
	rd_kafka_topic_destroy(ta);
	rd_kafka_destroy(rk);
	bad = 0;
	for (int i = 0; i < 2 * n; i++)
		bad += !r[i].reported || r[i].err;
	ok(!bad, "acks=0 and acks=all interleaved: %d delivery reports "
	   "succeeded (%d not)", 2 * n, bad);
	check_reports(r + n, n, 1, "acks=all beside acks=0");

	got = consume_all("rdk-acks0", 1, n, &g);
	bad = 0;
	for (int i = 0; i < got; i++) {
		char v[32];

		snprintf(v, sizeof(v), "a0-%d", i);
		bad += g[i].offset != i || strcmp(g[i].val, v);
	}
	ok(got == n && !bad,
	   "acks=0 topic holds all %d messages once, in order (read %d, %d bad)",
	   n, got, bad);
	free_got(g, got);
	got = consume_all("rdk-acksall", 1, n, &g);
	bad = 0;
	for (int i = 0; i < got; i++) {
		char v[32];

		snprintf(v, sizeof(v), "aall-%d", i);
		bad += g[i].offset != i || strcmp(g[i].val, v);
	}
	ok(got == n && !bad,
	   "acks=all topic beside it holds all %d messages once, in order (read %d, %d bad)",
	   n, got, bad);
	free_got(g, got);
	free(r);
}

static void test_auto_create(int want_parts)
{
	const char *topic = "rdk-auto";
	struct rec r = { .partition = -1 };
	rd_kafka_t *rk = mk(RD_KAFKA_PRODUCER, NULL);

	if (!rk)
		return;
	rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
			  RD_KAFKA_V_VALUE("hello", 5),
			  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			  RD_KAFKA_V_OPAQUE(&r), RD_KAFKA_V_END);
	flush_all(rk);
	ok(r.reported && !r.err && r.offset == 0,
	   "produce to a new topic auto-creates it (%s, offset %" PRId64 ")",
	   rd_kafka_err2name(r.err), r.offset);
	ok(topic_partitions(rk, topic) == want_parts,
	   "auto-created topic has num.partitions=%d partitions (got %d)",
	   want_parts, topic_partitions(rk, topic));
	rd_kafka_destroy(rk);
}

int main(int argc, char **argv)
{
	const char *acks_all[] = { "acks", "all", "linger.ms", "5",
				   "message.timeout.ms", "30000", NULL };
	const char *idem[] = { "enable.idempotence", "true", "linger.ms", "5",
			       "message.timeout.ms", "30000", NULL };

	if (argc < 2) {
		fprintf(stderr, "usage: %s BOOTSTRAP [NUM_PARTITIONS]\n",
			argv[0]);
		return 2;
	}
	bootstrap = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	diag("librdkafka %s against %s", rd_kafka_version_str(), bootstrap);

	ok(create_topic("rdk-keyed", 4) == 0,
	   "CreateTopics rdk-keyed (4 partitions)");
	ok(create_topic("rdk-keyed", 4) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
	   "CreateTopics rdk-keyed again: TOPIC_ALREADY_EXISTS");
	keyed_round("acks=all", "rdk-keyed", 4, 1000, acks_all);

	ok(create_topic("rdk-idem", 4) == 0,
	   "CreateTopics rdk-idem (4 partitions)");
	keyed_round("idempotent", "rdk-idem", 4, 1000, idem);

	test_auto_create(argc > 2 ? atoi(argv[2]) : 1);
	test_acks0();
	test_offsets_for_times();

	test_codec("gzip");
	test_codec("snappy");
	test_codec("lz4");
	test_codec("zstd");

	return tap_done();
}
