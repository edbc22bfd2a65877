// SPDX-License-Identifier: GPL-2.0
/*
 * librdkafka benchmark: kbrokerd against librdkafka's in-process mock
 * cluster, side by side in one run.
 *
 *   rdk_bench [KBROKERD_BOOTSTRAP]
 *
 * For 100 B and 1 KiB messages and acks=1 / acks=all:
 *  - produce throughput (msgs/s, MB/s): as many messages as fit in a few
 *    seconds, pipelined, time from the first produce() to the last report;
 *  - produce latency p50/p99: one message in flight at a time, latency from
 *    the delivery report (rd_kafka_message_latency()), measured for every
 *    row before any throughput run (see run_one());
 *  - consume throughput: an assign()ed consumer reading the acks=1 topic
 *    from the beginning, for at most CONSUME_SECS (the mock cluster
 *    serves Fetch slowly and would not finish).
 * Prints a table with kbrokerd/mock ratios, all higher-is-better (for
 * latency the ratio is mock/kbrokerd).  Without a bootstrap only the mock
 * column is measured.  For profiling one case: RDK_BENCH_SIZE=1024 runs
 * only that message size, RDK_BENCH_KB_ONLY=1 skips the mock.
 * Every configuration runs RDK_BENCH_ROUNDS times (default 3), the two
 * targets back to back, kbrokerd first in even rounds and the mock first
 * in odd ones (RDK_BENCH_MOCK_FIRST=1: always the mock first).  The table
 * shows each target's median over the rounds, the ratio of the medians,
 * and the lowest and highest of the per-round ratios: on a shared machine
 * one round can be hit by another tenant, and the spread says how much.
 * RDK_BENCH_PROPS="k=v,k=v" sets librdkafka properties on kbrokerd's
 * clients only (the mock has no TLS), e.g. security.protocol=ssl and
 * ssl.ca.location=FILE for the TLS benchmark.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define PRODUCE_SECS 4.0
#define LAT_MSGS 5000
#define CONSUME_SECS 5.0
#define CONSUME_MSGS 1200000
#define CONSUME_SIZE 100
#define CONSUME_MANY_SECS 30.0
#define CONSUME_STALL_SECS 3.0
#define TMO_MS 60000

enum { T_KB, T_MOCK, NT };
static const char *tname[NT] = { "kbrokerd", "mock" };

/* rows[row].v[target][round] */
#define MAXROWS 32
#define MAXROUNDS 9
static struct row {
	char name[64];
	const char *unit;
	bool lower_better;
	bool cost;		/* CPU cost: explains, is not a target */
	double v[NT][MAXROUNDS];
	bool have[NT][MAXROUNDS];
} rows[MAXROWS];
static int nrows;
static int round_no, rounds = 3;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void vput(int t, const char *unit, bool lower_better, bool cost,
		 double v, const char *fmt, va_list ap)
{
	char name[64];
	int i;

	vsnprintf(name, sizeof(name), fmt, ap);
	for (i = 0; i < nrows; i++)
		if (!strcmp(rows[i].name, name))
			break;
	if (i == nrows) {
		if (nrows == MAXROWS)
			return;
		nrows++;
		snprintf(rows[i].name, sizeof(rows[i].name), "%s", name);
		rows[i].unit = unit;
		rows[i].lower_better = lower_better;
		rows[i].cost = cost;
	}
	rows[i].v[t][round_no] = v;
	rows[i].have[t][round_no] = true;
}

static void put(int t, const char *unit, bool lower_better, double v,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void put(int t, const char *unit, bool lower_better, double v,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(t, unit, lower_better, false, v, fmt, ap);
	va_end(ap);
}

static void put_cost(int t, double v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void put_cost(int t, double v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(t, "s/GB", true, true, v, fmt, ap);
	va_end(ap);
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmpd);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Higher is better for kbrokerd, whichever way the metric runs. */
static double ratio(const struct row *r, double kb, double mock)
{
	return r->lower_better ? mock / kb : kb / mock;
}

/* One line: medians, their ratio, and the spread of per-round ratios. */
static void print_row(const struct row *r)
{
	double m[NT][MAXROUNDS], med[NT] = { 0 }, lo = 0, hi = 0;
	char a[32] = "-", b[32] = "-", c[32] = "-", d[32] = "-";
	int n[NT] = { 0 }, nr = 0;

	for (int k = 0; k < MAXROUNDS; k++) {
		for (int t = 0; t < NT; t++)
			if (r->have[t][k])
				m[t][n[t]++] = r->v[t][k];
		if (r->have[T_KB][k] && r->have[T_MOCK][k] &&
		    r->v[T_KB][k] > 0 && r->v[T_MOCK][k] > 0) {
			double q = ratio(r, r->v[T_KB][k], r->v[T_MOCK][k]);

			lo = nr && lo < q ? lo : q;
			hi = nr && hi > q ? hi : q;
			nr++;
		}
	}
	for (int t = 0; t < NT; t++)
		if (n[t])
			med[t] = median(m[t], n[t]);
	if (n[T_KB])
		snprintf(a, sizeof(a), r->cost ? "%.3f" : "%.1f", med[T_KB]);
	if (n[T_MOCK])
		snprintf(b, sizeof(b), r->cost ? "%.3f" : "%.1f", med[T_MOCK]);
	if (med[T_KB] > 0 && med[T_MOCK] > 0)
		snprintf(c, sizeof(c), "%.2f", ratio(r, med[T_KB], med[T_MOCK]));
	if (nr > 1)
		snprintf(d, sizeof(d), "%.2f-%.2f", lo, hi);
	printf("%-34s %12s %12s %8s %12s\n", r->name, a, b, c, d);
}

/* utime + stime in seconds from a /proc stat file (-1 if unreadable). */
static double stat_cpu(const char *path)
{
	char buf[1024], *p;
	unsigned long ut, st;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The name in parentheses may hold spaces; fields 14-15 follow. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* CPU seconds of this process's mock cluster threads ("rdk:mock"). */
static double mock_cpu(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	double sum = 0, cpu;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strncmp(comm, "rdk:mock", 8))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
			 e->d_name);
		cpu = stat_cpu(path);
		if (cpu > 0)
			sum += cpu;
	}
	closedir(d);
	return sum;
}

/*
 * Broker and client CPU seconds so far: kbrokerd's from RDK_BENCH_KB_PID,
 * the mock's from its threads here; the client is this process less them.
 */
static void cpu_now(int t, double *broker, double *client)
{
	const char *pid = getenv("RDK_BENCH_KB_PID");
	double self = stat_cpu("/proc/self/stat"), mock = mock_cpu();
	char path[64];

	*client = self - (mock > 0 ? mock : 0);
	*broker = -1;
	if (t == T_MOCK) {
		*broker = mock;
	} else if (pid && *pid) {
		snprintf(path, sizeof(path), "/proc/%s/stat", pid);
		*broker = stat_cpu(path);
	}
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
		   const char *buf)
{
	(void)rk;
	if (level <= 3)
		fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

struct dr_state {
	long delivered, failed;
	double last;
	int64_t *lat;		/* µs, one per message when collecting */
	long nlat, caplat;
	rd_kafka_resp_err_t first_err;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct dr_state *st = opaque;

	(void)rk;
	if (m->err) {
		if (!st->failed++)
			st->first_err = m->err;
		return;
	}
	st->delivered++;
	st->last = mono();
	if (st->lat && st->nlat < st->caplat)
		st->lat[st->nlat++] = rd_kafka_message_latency(m);
}

static const char *kb_boot;	/* kbrokerd's bootstrap, for RDK_BENCH_PROPS */

/* RDK_BENCH_PROPS: comma-separated k=v, applied to kbrokerd's clients. */
static int set_props(rd_kafka_conf_t *conf, char *err, size_t errsz)
{
	const char *env = getenv("RDK_BENCH_PROPS");
	char *dup, *tok, *save = NULL;
	int ret = 0;

	if (!env || !*env)
		return 0;
	dup = strdup(env);
	for (tok = strtok_r(dup, ",", &save); tok && !ret;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, errsz, "RDK_BENCH_PROPS: %s: no '='", tok);
			ret = -1;
			break;
		}
		*eq = 0;
		if (rd_kafka_conf_set(conf, tok, eq + 1, err, errsz))
			ret = -1;
	}
	free(dup);
	return ret;
}

static rd_kafka_t *mk(rd_kafka_type_t type, const char *bootstrap,
		      struct dr_state *st, const char *const *kv)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err,
			      sizeof(err)))
		goto bad;
	if (kb_boot && !strcmp(bootstrap, kb_boot) &&
	    set_props(conf, err, sizeof(err)))
		goto bad;
	for (; kv && kv[0]; kv += 2)
		if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)))
			goto bad;
	rd_kafka_conf_set_log_cb(conf, log_cb);
	if (st) {
		rd_kafka_conf_set_opaque(conf, st);
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	}
	rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (!rk)
		fprintf(stderr, "rd_kafka_new: %s\n", err);
	return rk;
bad:
	fprintf(stderr, "config: %s\n", err);
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static int create_topic_n(const char *bootstrap, const char *name, int parts)
{
	char err[512];
	rd_kafka_t *rk = mk(RD_KAFKA_PRODUCER, bootstrap, NULL, NULL);
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	int ret = -1;

	if (!rk)
		return -1;
	nt = rd_kafka_NewTopic_new(name, parts, 1, err, sizeof(err));
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, TMO_MS);
	if (ev && !rd_kafka_event_error(ev)) {
		size_t n;
		const rd_kafka_topic_result_t **tr =
			rd_kafka_CreateTopics_result_topics(
				rd_kafka_event_CreateTopics_result(ev), &n);

		if (n == 1 && !rd_kafka_topic_result_error(tr[0]))
			ret = 0;
		else if (n == 1)
			fprintf(stderr, "CreateTopics %s: %s\n", name,
				rd_kafka_topic_result_error_string(tr[0]));
	} else {
		fprintf(stderr, "CreateTopics %s: %s\n", name,
			ev ? rd_kafka_event_error_string(ev) : "timed out");
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return ret;
}

static int create_topic(const char *bootstrap, const char *name)
{
	return create_topic_n(bootstrap, name, 1);
}

/* A place to produce to: kbrokerd or a fresh mock cluster. */
struct target {
	int t;
	const char *bootstrap;
	rd_kafka_t *mock_owner;
	rd_kafka_mock_cluster_t *mock;
};

static int target_open(struct target *tg, int t, const char *kb_bootstrap,
		       const char *topic, const char *topic2)
{
	tg->t = t;
	tg->mock = NULL;
	tg->mock_owner = NULL;
	if (t == T_KB) {
		tg->bootstrap = kb_bootstrap;
		if (create_topic(kb_bootstrap, topic) ||
		    create_topic(kb_bootstrap, topic2))
			return -1;
		return 0;
	}
	tg->mock_owner = mk(RD_KAFKA_PRODUCER, "", NULL, NULL);
	if (!tg->mock_owner)
		return -1;
	tg->mock = rd_kafka_mock_cluster_new(tg->mock_owner, 1);
	if (!tg->mock)
		return -1;
	rd_kafka_mock_topic_create(tg->mock, topic, 1, 1);
	rd_kafka_mock_topic_create(tg->mock, topic2, 1, 1);
	tg->bootstrap = rd_kafka_mock_cluster_bootstraps(tg->mock);
	return 0;
}

static void target_close(struct target *tg)
{
	if (tg->mock)
		rd_kafka_mock_cluster_destroy(tg->mock);
	if (tg->mock_owner)
		rd_kafka_destroy(tg->mock_owner);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Pipelined produce for PRODUCE_SECS; returns messages delivered. */
static long produce_tput(struct target *tg, const char *topic, int size,
			 const char *acks)
{
	const char *kv[] = { "acks", acks, "linger.ms", "5",
			     "queue.buffering.max.messages", "500000",
			     "queue.buffering.max.kbytes", "1048576",
			     "message.timeout.ms", "60000", NULL };
	struct dr_state st = { 0 };
	rd_kafka_t *rk = mk(RD_KAFKA_PRODUCER, tg->bootstrap, &st, kv);
	char *payload = malloc(size);
	double t0, t1, b0, c0, b1, c1;
	long sent = 0;

	if (!rk)
		return -1;
	memset(payload, 'b', size);
	/* Warm up: metadata and connection. */
	rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
			  RD_KAFKA_V_VALUE(payload, size),
			  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			  RD_KAFKA_V_END);
	rd_kafka_flush(rk, TMO_MS);
	st.delivered = 0;
	cpu_now(tg->t, &b0, &c0);
	t0 = mono();
	while (mono() - t0 < PRODUCE_SECS) {
		for (int i = 0; i < 1000; i++) {
			rd_kafka_resp_err_t e = rd_kafka_producev(
				rk, RD_KAFKA_V_TOPIC(topic),
				RD_KAFKA_V_PARTITION(0),
				RD_KAFKA_V_VALUE(payload, size),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_END);

			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				rd_kafka_poll(rk, 1);
				break;
			}
			sent++;
		}
		rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, TMO_MS);
	cpu_now(tg->t, &b1, &c1);
	t1 = st.last > t0 ? st.last : mono();
	if (st.failed || st.delivered != sent)
		fprintf(stderr, "%s: %ld sent, %ld delivered, %ld failed (%s)\n",
			tname[tg->t], sent, st.delivered, st.failed,
			rd_kafka_err2name(st.first_err));
	put(tg->t, "msgs/s", false, st.delivered / (t1 - t0),
	    "produce %4dB acks=%-3s msgs/s", size, acks);
	put(tg->t, "MB/s", false, st.delivered * (double)size / (t1 - t0) / 1e6,
	    "produce %4dB acks=%-3s MB/s", size, acks);
	if (st.delivered > 0) {
		double gb = st.delivered * (double)size / 1e9;

		if (b0 >= 0 && b1 >= b0)
			put_cost(tg->t, (b1 - b0) / gb,
				 "%4dB acks=%-3s broker CPU s/GB", size, acks);
		put_cost(tg->t, (c1 - c0) / gb,
			 "%4dB acks=%-3s client CPU s/GB", size, acks);
	}
	rd_kafka_destroy(rk);
	free(payload);
	return st.delivered + 1;
}

/* One message in flight at a time; p50/p99 of the delivery latency. */
static void produce_latency(struct target *tg, const char *topic, int size,
			    const char *acks)
{
	const char *kv[] = { "acks", acks, "linger.ms", "0",
			     "message.timeout.ms", "60000", NULL };
	struct dr_state st = { 0 };
	rd_kafka_t *rk;
	char *payload = malloc(size);

	st.lat = calloc(LAT_MSGS, sizeof(*st.lat));
	rk = mk(RD_KAFKA_PRODUCER, tg->bootstrap, &st, kv);
	if (!rk)
		goto out;
	memset(payload, 'l', size);
	rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
			  RD_KAFKA_V_VALUE(payload, size),
			  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			  RD_KAFKA_V_END);
	rd_kafka_flush(rk, TMO_MS);
	st.caplat = LAT_MSGS;
	for (int i = 0; i < LAT_MSGS; i++) {
		long before = st.delivered + st.failed;
		double t0 = mono();

		rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
				  RD_KAFKA_V_PARTITION(0),
				  RD_KAFKA_V_VALUE(payload, size),
				  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				  RD_KAFKA_V_END);
		while (st.delivered + st.failed == before &&
		       mono() - t0 < 30)
			rd_kafka_poll(rk, 1);
	}
	if (st.nlat > 0) {
		qsort(st.lat, st.nlat, sizeof(*st.lat), cmp64);
		put(tg->t, "us", true, st.lat[st.nlat / 2],
		    "latency %4dB acks=%-3s p50 us", size, acks);
		put(tg->t, "us", true, st.lat[st.nlat * 99 / 100],
		    "latency %4dB acks=%-3s p99 us", size, acks);
	}
	if (st.failed)
		fprintf(stderr, "%s: latency run: %ld failed (%s)\n",
			tname[tg->t], st.failed,
			rd_kafka_err2name(st.first_err));
	rd_kafka_destroy(rk);
out:
	free(st.lat);
	free(payload);
}

/* Reads want messages of topic [0] from the beginning. */
static void consume_tput(struct target *tg, const char *topic, int size,
			 long want)
{
	char gid[64];
	const char *kv[] = { "group.id", gid, "enable.auto.commit", "false",
			     "fetch.wait.max.ms", "100",
			     "queued.max.messages.kbytes", "262144", NULL };
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *tl;
	long n = 0;
	double bytes = 0, t0, tlast = 0;

	snprintf(gid, sizeof(gid), "bench-%d", getpid());
	rk = mk(RD_KAFKA_CONSUMER, tg->bootstrap, NULL, kv);
	if (!rk)
		return;
	tl = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tl, topic, 0)->offset =
		RD_KAFKA_OFFSET_BEGINNING;
	t0 = mono();
	rd_kafka_assign(rk, tl);
	rd_kafka_topic_partition_list_destroy(tl);
	while (n < want && mono() - t0 < CONSUME_SECS) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (!m)
			continue;
		if (!m->err) {
			n++;
			bytes += m->len;
			tlast = mono();
		}
		rd_kafka_message_destroy(m);
	}
	if (n < want)
		fprintf(stderr, "%s: consumed %ld of %ld in %.0f s\n",
			tname[tg->t], n, want, CONSUME_SECS);
	if (n > 0 && tlast > t0) {
		put(tg->t, "msgs/s", false, n / (tlast - t0),
		    "consume %4dB msgs/s", size);
		put(tg->t, "MB/s", false, bytes / (tlast - t0) / 1e6,
		    "consume %4dB MB/s", size);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

/*
 * Consume over many partitions: CONSUME_MSGS messages of 100 B spread
 * round-robin over @parts partitions, written first (not timed), then read
 * back by one assign()ed consumer with librdkafka's default fetch settings,
 * timed from assign() to the last message.  Most consumers read many
 * partitions of one broker, where every Fetch carries all of them.
 */
static void consume_many(int t, const char *kb_bootstrap, int parts)
{
	const char *pkv[] = { "acks", "1", "linger.ms", "5",
			      "queue.buffering.max.messages", "2000000",
			      "queue.buffering.max.kbytes", "2097151",
			      "message.timeout.ms", "60000", NULL };
	char topic[64], gid[64];
	const char *ckv[] = { "group.id", gid, "enable.auto.commit", "false",
			      NULL };
	struct dr_state st = { 0 };
	struct target tg = { .t = t };
	rd_kafka_topic_partition_list_t *tl;
	rd_kafka_t *rk;
	double t0, tlast = 0, b0, c0, b1, c1;
	char payload[CONSUME_SIZE];
	long n = 0;

	snprintf(topic, sizeof(topic), "many-%d-%d-%ld", parts, getpid(),
		 (long)time(NULL));
	snprintf(gid, sizeof(gid), "bench-many-%d", getpid());
	if (t == T_KB) {
		tg.bootstrap = kb_bootstrap;
		if (create_topic_n(kb_bootstrap, topic, parts))
			return;
	} else {
		tg.mock_owner = mk(RD_KAFKA_PRODUCER, "", NULL, NULL);
		tg.mock = tg.mock_owner ?
			  rd_kafka_mock_cluster_new(tg.mock_owner, 1) : NULL;
		if (!tg.mock)
			goto out;
		rd_kafka_mock_topic_create(tg.mock, topic, parts, 1);
		tg.bootstrap = rd_kafka_mock_cluster_bootstraps(tg.mock);
	}
	fprintf(stderr, "%s: consume over %d partition(s)...\n", tname[t],
		parts);
	memset(payload, 'c', sizeof(payload));
	rk = mk(RD_KAFKA_PRODUCER, tg.bootstrap, &st, pkv);
	if (!rk)
		goto out;
	for (long i = 0; i < CONSUME_MSGS; i++)
		while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
					 RD_KAFKA_V_PARTITION(i % parts),
					 RD_KAFKA_V_VALUE(payload,
							  sizeof(payload)),
					 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					 RD_KAFKA_V_END) ==
		       RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
	rd_kafka_flush(rk, TMO_MS);
	rd_kafka_destroy(rk);
	if (st.delivered != CONSUME_MSGS) {
		fprintf(stderr, "%s: wrote %ld of %d for the consume run\n",
			tname[t], st.delivered, CONSUME_MSGS);
		goto out;
	}
	rk = mk(RD_KAFKA_CONSUMER, tg.bootstrap, NULL, ckv);
	if (!rk)
		goto out;
	tl = rd_kafka_topic_partition_list_new(parts);
	for (int p = 0; p < parts; p++)
		rd_kafka_topic_partition_list_add(tl, topic, p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	cpu_now(t, &b0, &c0);
	t0 = mono();
	rd_kafka_assign(rk, tl);
	rd_kafka_topic_partition_list_destroy(tl);
	while (n < CONSUME_MSGS && mono() - t0 < CONSUME_MANY_SECS) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		/* The mock stalls on some single-partition runs. */
		if (!m && n && mono() - tlast > CONSUME_STALL_SECS)
			break;
		if (!m)
			continue;
		if (!m->err) {
			n++;
			tlast = mono();
		}
		rd_kafka_message_destroy(m);
	}
	if (n < CONSUME_MSGS)
		fprintf(stderr, "%s: consumed %ld of %d in %.1f s\n", tname[t],
			n, CONSUME_MSGS, mono() - t0);
	cpu_now(t, &b1, &c1);
	if (n > 0 && tlast > t0) {
		double gb = n * (double)CONSUME_SIZE / 1e9;

		put(t, "msgs/s", false, n / (tlast - t0),
		    "consume %dB %2d part%s msgs/s", CONSUME_SIZE, parts,
		    parts > 1 ? "s" : " ");
		if (b0 >= 0 && b1 >= b0)
			put_cost(t, (b1 - b0) / gb,
				 "consume %2d part%s broker CPU s/GB", parts,
				 parts > 1 ? "s" : " ");
		put_cost(t, (c1 - c0) / gb,
			 "consume %2d part%s client CPU s/GB", parts,
			 parts > 1 ? "s" : " ");
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
out:
	target_close(&tg);
}

/*
 * One configuration against one target, in one of two phases.  Latency is
 * measured first, for every row, on a quiet machine: measured right after
 * a throughput run, kbrokerd's p99 was the kernel's aftermath of writing
 * gigabytes (1 KB socket reads preempted for up to 5 ms for seconds after),
 * which the in-memory mock never pays.
 */
enum phase { PH_LATENCY, PH_THROUGHPUT };

static void run_one(int t, const char *kb_bootstrap, int size,
		    const char *acks, enum phase ph, bool consume)
{
	char topic[64], ltopic[80];
	struct target tg;
	long n;

	snprintf(topic, sizeof(topic), "bench-%d-%s-%d-%ld", size, acks,
		 getpid(), (long)time(NULL));
	snprintf(ltopic, sizeof(ltopic), "%s-lat", topic);
	if (target_open(&tg, t, kb_bootstrap, topic, ltopic)) {
		fprintf(stderr, "%s: cannot set up %s\n", tname[t], topic);
		target_close(&tg);
		return;
	}
	fprintf(stderr, "%s: %dB acks=%s %s...\n", tname[t], size, acks,
		ph == PH_LATENCY ? "latency" : "throughput");
	if (ph == PH_LATENCY) {
		produce_latency(&tg, ltopic, size, acks);
	} else {
		n = produce_tput(&tg, topic, size, acks);
		if (consume && n > 0)
			consume_tput(&tg, topic, size, n);
	}
	target_close(&tg);
}

/* Configurations outermost, so both targets of a row run back to back
 * and drift in the machine's load hits both alike. */
static void run_phase(const char *kb_bootstrap, enum phase ph)
{
	static const int sizes[] = { 100, 1024 };
	static const char *const acks[] = { "1", "all" };

	const char *only = getenv("RDK_BENCH_SIZE");
	bool kb_only = getenv("RDK_BENCH_KB_ONLY");
	bool mock_first = getenv("RDK_BENCH_MOCK_FIRST") || round_no % 2;

	for (int s = 0; s < 2; s++)
		for (int a = 0; a < 2; a++) {
			if (only && atoi(only) != sizes[s])
				continue;
			if (kb_only && kb_bootstrap) {
				run_one(T_KB, kb_bootstrap, sizes[s], acks[a],
					ph, a == 0);
				continue;
			}
			if (mock_first)
				run_one(T_MOCK, NULL, sizes[s], acks[a], ph,
					a == 0);
			if (kb_bootstrap)
				run_one(T_KB, kb_bootstrap, sizes[s], acks[a],
					ph, a == 0);
			if (!mock_first)
				run_one(T_MOCK, NULL, sizes[s], acks[a], ph,
					a == 0);
		}
}

int main(int argc, char **argv)
{
	const char *kb = argc > 1 ? argv[1] : NULL;

	const char *env = getenv("RDK_BENCH_ROUNDS");

	const char *cenv = getenv("RDK_BENCH_CONSUME_ROUNDS");
	const char *only_parts = getenv("RDK_BENCH_CONSUME_PARTS");
	bool consume_only = getenv("RDK_BENCH_CONSUME_ONLY");
	int crounds = 5;

	kb_boot = kb;
	if (cenv)
		crounds = atoi(cenv) < MAXROUNDS ? atoi(cenv) : MAXROUNDS;
	if (env && atoi(env) >= 1)
		rounds = atoi(env) < MAXROUNDS ? atoi(env) : MAXROUNDS;
	printf("librdkafka %s; %d round(s); produce %.0f s per run, consume up to %.0f s, latency over %d messages one in flight\n",
	       rd_kafka_version_str(), rounds, PRODUCE_SECS, CONSUME_SECS,
	       LAT_MSGS);
	printf("consume over 1 and 32 partitions: %d x %d B read back, %d pair(s) alternating, default consumer settings\n",
	       CONSUME_MSGS, CONSUME_SIZE, crounds);
	/* Every round of latency first: see run_one(). */
	for (int ph = PH_LATENCY; ph <= PH_THROUGHPUT && !consume_only; ph++)
		for (round_no = 0; round_no < rounds; round_no++) {
			fprintf(stderr, "%s round %d of %d\n",
				ph == PH_LATENCY ? "latency" : "throughput",
				round_no + 1, rounds);
			run_phase(kb, ph);
		}
	/* Consume over 1 and 32 partitions: pairs of runs, alternating. */
	for (round_no = 0; round_no < crounds; round_no++)
		for (int i = 0; i < 2; i++) {
			static const int parts[] = { 1, 32 };
			bool mock_first = round_no % 2;

			if (only_parts && atoi(only_parts) != parts[i])
				continue;
			fprintf(stderr, "consume round %d of %d\n",
				round_no + 1, crounds);
			if (mock_first && !getenv("RDK_BENCH_KB_ONLY"))
				consume_many(T_MOCK, NULL, parts[i]);
			if (kb)
				consume_many(T_KB, kb, parts[i]);
			if (!mock_first && !getenv("RDK_BENCH_KB_ONLY"))
				consume_many(T_MOCK, NULL, parts[i]);
		}
	if (crounds > rounds)
		rounds = crounds;

	printf("\n%-34s %12s %12s %8s %12s\n", "metric (median of rounds)",
	       "kbrokerd", "mock", "ratio", "round ratios");
	for (int i = 0; i < nrows; i++)
		if (!rows[i].cost)
			print_row(&rows[i]);
	printf("\nratio: kbrokerd/mock for throughput, mock/kbrokerd for latency, of the medians; higher is better for kbrokerd\n");
	printf("\n%-34s %12s %12s %8s %12s\n",
	       "CPU per GB moved (not a target)", "kbrokerd", "mock",
	       "ratio", "round ratios");
	for (int i = 0; i < nrows; i++)
		if (rows[i].cost)
			print_row(&rows[i]);
	printf("\nbroker: kbrokerd's process (RDK_BENCH_KB_PID) or the mock's threads; client: the producer's or consumer's process less the mock; kernel work done in other tasks (softirq, writeback) is in neither; ratio mock/kbrokerd\n");
	return 0;
}
