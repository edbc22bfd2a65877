// SPDX-License-Identifier: GPL-2.0
/*
 * kb_cluster_isr_update() against a real ZooKeeper: three cluster members
 * (brokers 1, 2, 3) in one process, each with its own session and log
 * dir, driven like the event loop drives them.  Needs KB_TEST_ZK
 * (host:port of a running server; tests/host/cluster_isr.sh starts one);
 * skipped without it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include "cluster/cluster.h"
#include "cluster/internal.h"
#include "common/log.h"
#include "store/store.h"
#include "tap.h"

#define N 3

static struct kb_cluster *cl[N];
static struct kb_store *st[N];
static char dirs[N][128];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the members' event handling (only @only if >= 0) until @cond. */
static bool pump(int only, bool (*cond)(void *), void *arg, int ms)
{
	int64_t end = now_ms() + ms;

	while (!cond || !cond(arg)) {
		struct pollfd p[N];
		int i, n = 0, map[N];

		if (now_ms() >= end)
			return !cond;
		for (i = 0; i < N; i++) {
			if (!cl[i] || (only >= 0 && i != only))
				continue;
			p[n].fd = kb_cluster_fd(cl[i]);
			p[n].events = POLLIN;
			map[n++] = i;
		}
		if (poll(p, (nfds_t)n, 50) < 0 && errno != EINTR)
			return false;
		for (i = 0; i < n; i++) {
			if (p[i].revents)
				kb_cluster_on_event(cl[map[i]]);
			kb_cluster_tick(cl[map[i]], now_ms());
		}
	}
	return true;
}

struct result {
	bool done;
	int16_t err;
	int32_t n_isr, isr[KB_CL_MAX_RF], leader, epoch;
};

static void on_done(void *arg, int16_t err,
		    const struct kb_cluster_partition *now)
{
	struct result *r = arg;

	r->done = true;
	r->err = err;
	r->n_isr = now ? now->n_isr : -1;
	if (now) {
		memcpy(r->isr, now->isr, (size_t)now->n_isr * sizeof(int32_t));
		r->leader = now->leader;
		r->epoch = now->leader_epoch;
	}
}

static bool is_done(void *arg)
{
	return ((struct result *)arg)->done;
}

static bool all_see_leader(void *arg)
{
	struct kb_cluster_partition v;
	int i;

	(void)arg;
	for (i = 0; i < N; i++)
		if (cl[i] && (!kb_cluster_partition(cl[i], "isr", 0, &v) ||
			      v.leader < 0))
			return false;
	return true;
}

/* Every open member sees t-0 with the ISR of size *@arg. */
static bool all_see_isr(void *arg)
{
	struct kb_cluster_partition v;
	int i;

	for (i = 0; i < N; i++)
		if (cl[i] && (!kb_cluster_partition(cl[i], "isr", 0, &v) ||
			      v.n_isr != *(int *)arg))
			return false;
	return true;
}

static bool all_registered(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < N; i++)
		if (kb_cluster_broker_count(cl[i]) != N)
			return false;
	return true;
}

struct newleader {
	int32_t old;
	int32_t epoch;
};

static bool leader_moved(void *arg)
{
	struct newleader *nl = arg;
	struct kb_cluster_partition v;
	int i;

	for (i = 0; i < N; i++)
		if (cl[i] && (!kb_cluster_partition(cl[i], "isr", 0, &v) ||
			      v.leader < 0 || v.leader == nl->old ||
			      v.leader_epoch <= nl->epoch))
			return false;
	return true;
}

static int shut_who;

static bool shut_done(void *arg)
{
	(void)arg;
	return kb_cluster_shutdown(cl[shut_who], now_ms(), 5, 2000) == 0;
}

static bool set_done_flag;

static void raw_done(struct kb_zk *zk, const struct kb_zk_res *r, void *arg)
{
	(void)zk;
	*(int *)arg = r->rc;
	set_done_flag = true;
}

static bool raw_is_done(void *arg)
{
	(void)arg;
	return set_done_flag;
}

/* Writes the state node through member @via, unconditionally. */
static int raw_set(int via, const char *data)
{
	int rc = -1;

	set_done_flag = false;
	kb_zk_set(cl[via]->zk, "/brokers/topics/isr/partitions/0/state", data,
		  (int)strlen(data), -1, raw_done, &rc);
	pump(via, raw_is_done, NULL, 10000);
	return rc;
}

int main(void)
{
	const char *zk = getenv("KB_TEST_ZK");
	char connect[256], id[32] = "kbIsrTestClusterId0001";
	struct kb_cluster_partition v;
	int i, L = -1, F = -1, two = 2;
	int32_t isr[4], epoch;
	struct result r;

	if (!zk || !*zk) {
		ok(1, "# SKIP KB_TEST_ZK unset (tests/host/cluster_isr.sh runs this with a ZooKeeper)");
		return tap_done();
	}
	kb_log_max = getenv("KB_TEST_DEBUG") ? KB_LOG_DEBUG : KB_LOG_WARN;
	snprintf(connect, sizeof(connect), "%s/kbroker/isr-%d", zk,
		 (int)getpid());
	for (i = 0; i < N; i++) {
		const char *ld[1] = { dirs[i] };
		struct kb_store_opts so = {
			.log_dirs = ld, .n_log_dirs = 1,
			.segment_bytes = 1 << 20, .roll_ms = -1,
			.retention_ms = -1, .retention_bytes = -1,
			.flush_messages = INT64_MAX, .flush_ms = -1,
			.index_interval_bytes = 4096,
			.max_message_bytes = 1 << 20,
		};
		struct kb_cluster_opts o = {
			.connect = connect, .session_timeout_ms = 6000,
			.connection_timeout_ms = 1000, .broker_id = i + 1,
			.rack = "", .encryption_in_cluster = true,
			.inter_broker_listener = "BROKER",
		};
		struct kb_cluster_endpoint ep = {
			.name = "BROKER", .proto = "SSL", .host = "127.0.0.1",
			.port = 9000 + i,
		};

		snprintf(dirs[i], sizeof(dirs[i]), "/tmp/kb-isr-%d-%d",
			 (int)getpid(), i);
		if (!ok(kb_store_open(&so, &st[i]) == 0 &&
			kb_cluster_open(&o, st[i], &cl[i]) == 0 &&
			kb_cluster_join(cl[i], -1, id) == 0,
			"broker %d joins the cluster on %s", i + 1, connect))
			return tap_done();
		kb_cluster_set_endpoints(cl[i], &ep, 1);
		if (!ok(kb_cluster_register(cl[i], -1) == 0,
			"broker %d registers", i + 1))
			return tap_done();
	}
	ok(pump(-1, all_registered, NULL, 15000), "each member sees three brokers");

	struct kb_cluster_new_topic nt = {
		.name = "isr", .n_parts = 1, .rf = 3,
	};
	const char *why = NULL;
	struct kb_cluster_op *op = NULL;
	int16_t err = kb_cluster_create_topic(cl[0], &nt, &why, false, NULL,
					      NULL, &op);

	ok(err == 0 && op, "topic isr, replication factor 3, being created (%d %s)",
	   err, why ? why : "");
	ok(pump(-1, all_see_leader, NULL, 15000),
	   "the controller elects a leader, every member sees it");
	kb_cluster_partition(cl[0], "isr", 0, &v);
	L = v.leader - 1;
	F = L == 0 ? 1 : 0;
	epoch = v.leader_epoch;
	ok(v.n_isr == 1 && v.isr[0] == v.leader && epoch == 0,
	   "the new partition's ISR is its leader %d alone, epoch %d",
	   v.leader, epoch);

	/* Refused at once, nothing written. */
	isr[0] = L + 1;
	isr[1] = F + 1;
	ok(kb_cluster_isr_update(cl[F], "isr", 0, epoch, isr, 2, on_done, &r) == 6,
	   "a non-leader's ISR change: NOT_LEADER_OR_FOLLOWER");
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch + 1, isr, 2, on_done, &r) == 76,
	   "a future leader epoch: UNKNOWN_LEADER_EPOCH");
	ok(kb_cluster_isr_update(cl[L], "nope", 0, epoch, isr, 2, on_done, &r) == 3 &&
	   kb_cluster_isr_update(cl[L], "isr", 1, epoch, isr, 2, on_done, &r) == 3,
	   "an unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION");
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr + 1, 1, on_done, &r) == 42,
	   "an ISR without the leader: INVALID_REQUEST");
	isr[2] = 9;
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 3, on_done, &r) == 42,
	   "an ISR naming a broker that is no replica: INVALID_REQUEST");
	isr[2] = L + 1;
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 3, on_done, &r) == 42 &&
	   kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 0, on_done, &r) == 42,
	   "an ISR naming a broker twice, or empty: INVALID_REQUEST");

	/* Expand to two. */
	memset(&r, 0, sizeof(r));
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 2, on_done, &r) == 0,
	   "the leader's ISR change to [%d,%d] is sent", L + 1, F + 1);
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 1, on_done, &r) == 55,
	   "a second change while one is in flight: OPERATION_NOT_ATTEMPTED");
	ok(pump(L, is_done, &r, 10000) && r.err == 0 && r.n_isr == 2,
	   "completes from the event loop: error %d, ISR of %d", r.err, r.n_isr);
	ok(pump(-1, all_see_isr, &two, 10000),
	   "every member sees the ISR of two through its watch");
	{
		char buf[512], want[64];

		kb_zk_sync_get(cl[F]->zk, "/brokers/topics/isr/partitions/0/state",
			       buf, sizeof(buf));
		snprintf(want, sizeof(want), "\"leader\":%d,", L + 1);
		ok(strstr(buf, "\"isr\":[") && strstr(buf, want) &&
		   strstr(buf, "\"leader_epoch\":0") &&
		   strstr(buf, "\"controller_epoch\":"),
		   "the node is Kafka's leader-and-isr JSON: %s", buf);
	}

	/* Conflict: another write the leader has not seen yet. */
	{
		char data[256];
		snprintf(data, sizeof(data),
			 "{\"controller_epoch\":1,\"leader\":%d,\"version\":1,\"leader_epoch\":%d,\"isr\":[%d,%d,%d]}",
			 L + 1, epoch, L + 1, F + 1, 6 - (L + 1) - (F + 1));
		ok(raw_set(F, data) == ZOK, "another writer sets the ISR to all three");
	}
	memset(&r, 0, sizeof(r));
	isr[0] = L + 1;
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 1, on_done, &r) == 0 &&
	   pump(L, is_done, &r, 10000) && r.err == 95 && r.n_isr == 3,
	   "the leader's write from a stale version: INVALID_UPDATE_VERSION, the ISR re-read (%d, %d members)",
	   r.err, r.n_isr);
	memset(&r, 0, sizeof(r));
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 2, on_done, &r) == 0 &&
	   pump(L, is_done, &r, 10000) && r.err == 0 && r.n_isr == 2,
	   "retried from the re-read version: written (%d)", r.err);
	ok(pump(-1, all_see_isr, &two, 10000), "every member sees it");

	/* Fenced: a newer leader epoch written meanwhile. */
	{
		char data[256];

		snprintf(data, sizeof(data),
			 "{\"controller_epoch\":1,\"leader\":%d,\"version\":1,\"leader_epoch\":%d,\"isr\":[%d,%d]}",
			 L + 1, epoch + 1, L + 1, F + 1);
		ok(raw_set(F, data) == ZOK, "another writer bumps the leader epoch to %d",
		   epoch + 1);
	}
	memset(&r, 0, sizeof(r));
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 1, on_done, &r) == 0 &&
	   pump(L, is_done, &r, 10000) && r.err == 74 && r.epoch == epoch + 1,
	   "the leader's write at the old epoch: FENCED_LEADER_EPOCH, the new epoch re-read (%d, epoch %d)",
	   r.err, r.epoch);
	ok(kb_cluster_isr_update(cl[L], "isr", 0, epoch, isr, 1, on_done, &r) == 74,
	   "then refused at once: FENCED_LEADER_EPOCH");
	epoch++;
	ok(pump(-1, all_see_isr, &two, 10000), "every member has the two-member ISR");

	/* The controller elects the next leader from the ISR written here. */
	struct newleader nl = { L + 1, epoch };

	kb_cluster_close(cl[L]);
	cl[L] = NULL;
	ok(pump(-1, leader_moved, &nl, 20000),
	   "the leader leaves: the controller elects broker %d of the ISR, epoch bumped",
	   F + 1);
	kb_cluster_partition(cl[F], "isr", 0, &v);
	ok(v.leader == F + 1 && v.leader_epoch == epoch + 1,
	   "leader %d, epoch %d", v.leader, v.leader_epoch);
	epoch++;

	/* Controlled shutdown: leadership moves to the other ISR member. */
	int X = 3 - L - F;

	isr[0] = F + 1;
	isr[1] = X + 1;
	memset(&r, 0, sizeof(r));
	ok(kb_cluster_isr_update(cl[F], "isr", 0, epoch, isr, 2, on_done, &r) == 0 &&
	   pump(F, is_done, &r, 10000) && r.err == 0,
	   "leader %d expands the ISR to [%d,%d]", F + 1, F + 1, X + 1);
	ok(pump(-1, all_see_isr, &two, 10000), "every member sees it");
	shut_who = F;
	ok(kb_cluster_shutdown(cl[F], now_ms(), 5, 2000) == 1,
	   "broker %d's controlled shutdown waits for the controller", F + 1);
	ok(pump(-1, shut_done, NULL, 15000),
	   "... and ends once its leadership moved");
	nl = (struct newleader){ F + 1, epoch };
	pump(-1, leader_moved, &nl, 10000);
	kb_cluster_partition(cl[X], "isr", 0, &v);
	ok(v.leader == X + 1 && v.leader_epoch == epoch + 1 && v.n_isr == 1 &&
	   v.isr[0] == X + 1,
	   "broker %d leads at epoch %d, ISR [%d] without the leaving broker (leader %d, epoch %d, %d in ISR)",
	   X + 1, epoch + 1, X + 1, v.leader, v.leader_epoch, v.n_isr);
	kb_cluster_close(cl[F]);
	cl[F] = NULL;
	ok(kb_cluster_shutdown(cl[X], now_ms(), 5, 2000) == 0,
	   "a leader with no other in-sync replica leaves at once");

	for (i = 0; i < N; i++) {
		char cmd[400];

		if (cl[i])
			kb_cluster_close(cl[i]);
		kb_store_close(st[i]);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dirs[i]);
		if (system(cmd))
			printf("# %s failed\n", cmd);
	}
	return tap_done();
}
