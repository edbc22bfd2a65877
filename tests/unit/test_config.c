// SPDX-License-Identifier: GPL-2.0
/*
 * Config parsing (common/config.c): a good file parses, and every key
 * given a bad value stops the parse with one line that names the key and
 * the line it is on, as kbrokerd's start-up promises.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "tap.h"

static char errbuf[4096];

/* Parses @text with stderr (the log) captured into errbuf. */
static int parse_capture(const char *text, struct kb_config *cfg)
{
	char path[] = "/tmp/kb-test-config-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), ret;
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	ret = kb_config_parse(text, "test.properties", cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, errbuf, sizeof(errbuf) - 1, 0);
	errbuf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return ret;
}

/* Values tried, in turn, until one is refused. */
static const char *const bad_long[] = { "x1", "12abc", "-99999999999999999999" };
static const char *const bad_bool[] = { "perhaps", "2" };
static const char *const bad_str[] = { "bogus", "", "::", "a:b:c" };

static void one_key(const char *key, int8_t type)
{
	const char *const *vals = type == 5 ? bad_long :
				  type == 1 ? bad_bool : bad_str;
	size_t nv = type == 5 ? 3 : type == 1 ? 2 : 4;
	char text[512], want[300];

	for (size_t i = 0; i < nv; i++) {
		struct kb_config cfg;

		/*
		 * Two lines before it, so the key is on line 3.  A cluster
		 * broker also needs its inter-broker listener on TLS unless
		 * in-cluster encryption is off, which this file's is not.
		 */
		snprintf(text, sizeof(text),
			 "# a test file\nbroker.id=1\n%s=%s\nlog.dirs=/tmp/kb-test-config-logs\n%s",
			 key, vals[i], strcmp(key, "zookeeper.connect") ? "" :
			 "encryption.in.cluster=false\n");
		if (parse_capture(text, &cfg) == 0) {
			kb_config_free(&cfg);
			continue;
		}
		snprintf(want, sizeof(want), "test.properties:3: %s:", key);
		ok(strstr(errbuf, want) != NULL,
		   "%s=%s refused, naming key and line", key, vals[i]);
		if (!strstr(errbuf, want))
			printf("#   said: %s", errbuf);
		return;
	}
	/* Free text (paths, commands, names): nothing to refuse. */
	printf("# %s takes any text\n", key);
}

int main(void)
{
	struct kb_config cfg;
	size_t i, n = kb_config_key_count();

	ok(parse_capture("broker.id=7\nlog.dirs=/tmp/a,/tmp/b\nnum.partitions=3\n",
			 &cfg) == 0, "a good file parses");
	ok(cfg.broker_id == 7 && cfg.n_log_dirs == 2 &&
	   cfg.num_partitions == 3, "its values are read");
	kb_config_free(&cfg);

	ok(parse_capture("log.dirs=/tmp/a\nlog.cleanup.policy=delete, compact\n"
			 "log.cleaner.io.max.bytes.per.second=1048576\n"
			 "log.cleaner.min.cleanable.ratio=0.25\n"
			 "log.cleaner.enable=false\n", &cfg) == 0 &&
	   !strcmp(cfg.cleanup_policy, "compact,delete") &&
	   cfg.cleaner_io_max_bps == 1048576.0 &&
	   cfg.cleaner_min_ratio == 0.25 && !cfg.cleaner_enable,
	   "the cleaner's keys are read, the policy list kept canonical");
	kb_config_free(&cfg);
	ok(parse_capture("log.dirs=/tmp/a\nlog.cleaner.min.cleanable.ratio=1.5\n",
			 &cfg) != 0 &&
	   parse_capture("log.dirs=/tmp/a\nlog.cleaner.min.compaction.lag.ms=10\n"
			 "log.cleaner.max.compaction.lag.ms=5\n", &cfg) != 0 &&
	   parse_capture("log.dirs=/tmp/a\nlog.cleanup.policy=\n", &cfg) != 0,
	   "a ratio above 1, min lag above max lag, an empty policy: refused");
	ok(parse_capture("log.dirs=/tmp/a\n", &cfg) == 0 &&
	   !strcmp(cfg.cleanup_policy, "delete") && cfg.cleaner_enable &&
	   cfg.cleaner_threads == 1 && cfg.cleaner_min_ratio == 0.5 &&
	   cfg.cleaner_delete_retention_ms == 86400000 &&
	   cfg.cleaner_dedupe_buffer == 134217728,
	   "the cleaner's defaults are Kafka's");
	kb_config_free(&cfg);

	ok(parse_capture("broker.id=1\nno.such.key=1\n", &cfg) != 0 &&
	   strstr(errbuf, "test.properties:2: no.such.key:"),
	   "an unknown key is refused, naming key and line");
	ok(parse_capture("broker.id=1\nlog.dirs\n", &cfg) != 0 &&
	   strstr(errbuf, "test.properties:2"),
	   "a line without '=' is refused, naming the line");

	for (i = 0; i < n; i++) {
		const char *key = kb_config_key_name(i);

		if (!strcmp(key, "broker.id") || !strcmp(key, "log.dirs"))
			continue;
		one_key(key, kb_config_key_kafka_type(i));
	}
	ok(parse_capture("broker.id=1\nlog.dirs=/tmp/x\nlistener.name.nope.ssl.keystore.location=/x\n",
			 &cfg) != 0 && strstr(errbuf, ":3: "),
	   "a per-listener key of an unknown listener names its line");
	return tap_done();
}
