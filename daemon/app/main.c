// SPDX-License-Identifier: GPL-2.0
/* kbrokerd: a Kafka-protocol broker. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "admin/control.h"
#include "app/cluster_join.h"
#include "auth/auth.h"
#include "keys/atrest.h"
#include "common/broker.h"
#include "certs/cert.h"
#include "common/config.h"
#include "group/group.h"
#include "handlers/fetch_session.h"
#include "net/loop.h"
#include "common/log.h"
#include "common/notify.h"
#include "metrics/metrics.h"
#include "store/store.h"

#define KB_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: kbrokerd --config FILE\n"
		"Runs a Kafka-protocol broker in the foreground, logging to stderr.\n\n"
		"  -c, --config FILE  server.properties-style configuration\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n\n"
		"SIGTERM or SIGINT stop it cleanly. KBROKER_DEBUG=1 logs debug lines.\n");
}

/* Thousands of connections need more than the usual 1024 fds. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			kb_warn("cannot raise RLIMIT_NOFILE: %m");
	}
}

static int mkdir_p(const char *dir)
{
	char buf[4096];
	size_t i, n = strlen(dir);

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0750) && errno != EEXIST)
			return -1;
		buf[i] = dir[i];
	}
	return 0;
}

/*
 * A SIGTERM while volumes are being opened must not leave them open: hold
 * it until the loop's signalfd (same set) reads it and shuts down cleanly.
 */
static void defer_stop(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct kb_config cfg;
	struct kb_broker b = { 0 };
	struct kb_store_opts so = { 0 };
	struct kb_loop loop;
	const char *config = NULL;
	int c, ret = 1;
	size_t i;

	while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'V':
			printf("kbrokerd %s\n", KB_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (kb_config_load(config, &cfg))
		return 1;
	if (kb_metrics_check(&cfg)) {
		kb_config_free(&cfg);
		return 1;
	}
	raise_nofile();
	b.cfg = &cfg;
	if (kb_auth_init(&cfg, NULL))
		goto out_cfg;
	/* Volumes first: the log dirs live on them. */
	if (cfg.n_volumes)
		defer_stop();
	if (kb_atrest_open(&cfg))
		goto out_cfg;
	if (kb_atrest_check(&cfg))
		goto out_vol;
	kb_cert_setup(&cfg);
	for (i = 0; i < cfg.n_log_dirs; i++) {
		if (mkdir_p(cfg.log_dirs[i])) {
			kb_err("log dir %s: %m", cfg.log_dirs[i]);
			goto out_vol;
		}
	}
	if (kb_cluster_meta_load(&b))
		goto out_vol;

	so.log_dirs = (const char *const *)cfg.log_dirs;
	so.n_log_dirs = cfg.n_log_dirs;
	so.segment_bytes = (uint64_t)cfg.segment_bytes;
	so.roll_ms = cfg.roll_ms;
	so.retention_ms = cfg.retention_ms;
	so.retention_bytes = cfg.retention_bytes;
	so.flush_messages = cfg.flush_messages;
	so.flush_ms = cfg.flush_ms;
	so.index_interval_bytes = (uint32_t)cfg.index_interval_bytes;
	so.max_message_bytes = (uint32_t)cfg.message_max_bytes;
	so.cleanup_policy = cfg.cleanup_policy;
	so.delete_retention_ms = cfg.cleaner_delete_retention_ms;
	so.min_cleanable_ratio = cfg.cleaner_min_ratio;
	so.min_compaction_lag_ms = cfg.cleaner_min_lag_ms;
	so.max_compaction_lag_ms = cfg.cleaner_max_lag_ms;
	so.cleaner_threads = cfg.cleaner_enable ? cfg.cleaner_threads : 0;
	so.cleaner_io_max_bps = cfg.cleaner_io_max_bps;
	so.cleaner_dedupe_bytes = (uint64_t)cfg.cleaner_dedupe_buffer;
	so.cleaner_backoff_ms = cfg.cleaner_backoff_ms;
	so.compression_type = kb_compression_name(cfg.compression_type);
	c = kb_store_open(&so, &b.store);
	if (c < 0) {
		kb_err("opening the log store: %s", strerror(-c));
		goto out_vol;
	}
	kb_fetch_sessions_init((int32_t)cfg.fetch_session_slots,
			       cfg.fetch_session_eviction_ms);
	if (kb_loop_init(&loop, &b))
		goto out_loop;
	/* A cluster broker: ZooKeeper first, then listeners, then register. */
	c = kb_broker_cluster_join(&b, &loop);
	if (c > 0)
		ret = 0;
	if (c || kb_loop_listen(&loop))
		goto out_loop;
	c = kb_broker_cluster_register(&b, &loop);
	if (c > 0)
		ret = 0;
	if (c || kb_metrics_start(&loop, KB_VERSION))
		goto out_loop;
	kb_ctl_open(&loop);
	kb_info("kbrokerd %s started: broker.id %d, cluster %s", KB_VERSION,
		cfg.broker_id, b.cluster_id);
	/* Listeners are up (and volumes open): tell systemd. */
	kb_notify("READY=1");
	if (kb_loop_run(&loop) == 0)
		ret = 0;
	kb_notify("STOPPING=1");
out_loop:
	/* The HTTP thread reads the loop's snapshot: it goes first. */
	kb_metrics_stop();
	/* Stop accepting and drop connections before the final flush. */
	kb_ctl_close(&loop);
	kb_loop_fini(&loop);
	kb_broker_cluster_close(&b);
	c = kb_store_flush_all(b.store);
	if (c < 0) {
		kb_err("flushing the log store: %s", strerror(-c));
		ret = 1;
	}
	kb_store_close(b.store);
	kb_groups_close();
	kb_fetch_sessions_close();
out_vol:
	/* After the final flush: nothing of ours is open on them now. */
	if (kb_atrest_close())
		ret = 1;
	if (!ret)
		kb_info("clean shutdown");
out_cfg:
	kb_auth_fini();
	kb_config_free(&cfg);
	return ret;
}
