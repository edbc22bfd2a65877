// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: one input is one request frame (without its 4-byte
 * size), run through the header parser, the API table and the handlers
 * against a real store in a temporary directory.  No sockets: a parked
 * Fetch is completed as if its wait expired.  The authorizer is on with
 * the (anonymous) fuzzing principal a super user, so every check runs and
 * the ACL APIs store what inputs create, in the same directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "handlers/api.h"
#include "common/config.h"
#include "store/store.h"

static struct kb_broker br;
static struct kb_config cfg;
/* tmpfs: the store fsyncs, which would dominate each run on disk. */
static char dir[] = "/dev/shm/kb-fuzz-XXXXXX";
static const char *const fixed[] = { "t1", "cap1", "cap2", "cap3" };
static const struct kb_acl_filter any_acl = {
	KB_RES_ANY, KB_PAT_ANY, KB_OP_ANY, KB_PERM_ANY, NULL, NULL, NULL
};

static void reset_topics(void)
{
	size_t i;

	/* Keep the fixed topics; drop what inputs created. */
	for (i = kb_store_topic_count(br.store); i-- > 0;) {
		const struct kb_topic *t = kb_store_topic_at(br.store, i);
		char name[KB_TOPIC_NAME_MAX + 1];
		size_t k;
		bool keep = false;

		for (k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			keep |= !strcmp(t->name, fixed[k]) &&
				t->n_partitions <= 3;
		if (keep)
			continue;
		snprintf(name, sizeof(name), "%s", t->name);
		kb_store_topic_delete(br.store, name);
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!kb_store_topic_find(br.store, fixed[i]))
			kb_store_topic_create(br.store, fixed[i], 3);
}

/*
 * Each partition holds two descriptors; an input may create or grow a
 * topic to 10,000 partitions, and a few of those would use up the
 * process's descriptors, libFuzzer's own included.
 */
static bool too_many_partitions(void)
{
	size_t i, n = 0;

	for (i = 0; i < kb_store_topic_count(br.store); i++)
		n += (size_t)kb_store_topic_at(br.store, i)->n_partitions;
	return n > 2000;
}

static void cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct kb_store_opts so = { 0 };
	static const char *dirs[1];
	char text[512];

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(text, sizeof(text),
		 "log.dirs=%s\nlog.segment.bytes=65536\nlog.retention.bytes=262144\nat.rest.encryption=off\n"
		 "at.rest.state.dir=%s\nauthorizer=acl\nsuper.users=User:ANONYMOUS\n",
		 dir, dir);
	if (kb_config_parse(text, "fuzz", &cfg))
		abort();
	dirs[0] = dir;
	so.log_dirs = dirs;
	so.n_log_dirs = 1;
	so.segment_bytes = (uint64_t)cfg.segment_bytes;
	so.roll_ms = cfg.roll_ms;
	so.retention_ms = cfg.retention_ms;
	so.retention_bytes = cfg.retention_bytes;
	so.flush_messages = INT64_MAX;
	so.flush_ms = -1;
	so.index_interval_bytes = 4096;
	so.max_message_bytes = 1048588;
	if (kb_store_open(&so, &br.store))
		abort();
	if (kb_auth_init(&cfg, NULL))
		abort();
	br.cfg = &cfg;
	strcpy(br.cluster_id, "fuzz-cluster");
	reset_topics();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long runs;
	struct kb_req req = { .adv_host = "localhost", .adv_port = 9092 };
	struct kb_resp resp;
	uint8_t *frame = malloc(size ? size : 1);
	int ret;

	/* A copy of exactly @size bytes so ASan sees any over-read. */
	memcpy(frame, data, size);
	kb_resp_init(&resp);
	ret = kb_api_handle(&br, &req, frame, size, &resp);
	if (ret == KB_H_PARK) {
		struct kb_park *pk = resp.park;

		pk->poll(pk, &resp, true);
		resp.park = NULL;
		pk->free(pk);
	}
	if (ret != KB_H_CLOSE)
		kb_resp_finish(&resp);
	kb_resp_free(&resp);
	free(frame);
	/* Each ACL change rewrites the store: keep it small. */
	if (kb_acl_describe(&any_acl, NULL, NULL) > 64)
		kb_acl_delete(&any_acl, 1, NULL, NULL);
	if (++runs % 4096 == 0 || too_many_partitions()) {
		kb_store_tick(br.store, kb_now_real_ms());
		reset_topics();
	}
	return 0;
}
