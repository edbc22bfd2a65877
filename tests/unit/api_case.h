/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Round trips through the dispatcher for test_api.c and test_group_api.c:
 * a broker with a store in a temporary log dir, and api_cases(), which
 * encodes a request, runs it and decodes its response to the last byte.
 */
#ifndef KB_TESTS_API_CASE_H
#define KB_TESTS_API_CASE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "group/group.h"
#include "handlers/api.h"
#include "proto/codec.h"
#include "proto/errors.h"
#include "store/store.h"
#include "tap.h"

static struct kb_broker br;
static struct kb_config cfg;

static inline int run(const uint8_t *frame, size_t len, struct kb_resp *resp)
{
	struct kb_req req = { .adv_host = "localhost", .adv_port = 9092 };

	kb_resp_init(resp);
	return kb_api_handle(&br, &req, frame, len, resp);
}



static inline void truncations(const char *what, const uint8_t *frame, size_t len)
{
	struct kb_resp resp;
	bool all_closed = true;
	size_t cut;
	int ret;

	for (cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);

		memcpy(copy, frame, cut);
		ret = run(copy, cut, &resp);
		if (ret != KB_H_CLOSE) {
			if (all_closed)
				printf("#   %s: %zu of %zu bytes: %d\n", what,
				       cut, len, ret);
			all_closed = false;
		}
		kb_resp_free(&resp);
		free(copy);
	}
	ok(all_closed, "%s: each of %zu truncations closes, no crash", what,
	   len);
	ret = run(frame, len, &resp);
	ok(ret == KB_H_DONE || ret == KB_H_PARK, "%s: whole frame handled",
	   what);
	kb_resp_free(&resp);
}


/*
 * Round trips: each served API at its lowest, first flexible and highest
 * version.  A request is encoded field by field from Kafka's message
 * schema, dispatched, and its response decoded field by field to the last
 * byte; then every prefix of the request must close the connection.
 */
typedef void (*build_fn)(struct kb_wr *w, int16_t v, bool fl);
typedef void (*check_fn)(struct kb_rd *rd, int16_t v, bool fl,
			 const struct kb_resp *resp);

/* First line of a check that did not hold in the current case. */
static int bad_line;
#define EXPECT(c)						\
	do {							\
		if (!(c) && !bad_line)				\
			bad_line = __LINE__;			\
	} while (0)

static inline bool str_is(struct kb_str s, const char *want)
{
	return s.ptr && (size_t)s.len == strlen(want) &&
	       !memcmp(s.ptr, want, s.len);
}

/* Reads a nullable array of int32 and checks it is [@want]. */
static inline void expect_me(struct kb_rd *rd, bool fl, int32_t want)
{
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i32(rd) == want);
}

static inline void api_case(int16_t key, int16_t v, build_fn build, check_fn check)
{
	bool fl = kb_apis[key].flex_ver >= 0 && v >= kb_apis[key].flex_ver;
	struct kb_resp resp;
	struct kb_rd rd;
	struct kb_wr w;
	char what[64];
	int ret;

	snprintf(what, sizeof(what), "%s v%d", kb_apis[key].name, v);
	kb_wr_init(&w, 64);
	kb_wr_i16(&w, key);
	kb_wr_i16(&w, v);
	kb_wr_i32(&w, 1000 + v);
	kb_wr_nstr(&w, "codec", -1);
	kb_wr_tags(&w, fl);
	build(&w, v, fl);

	bad_line = 0;
	ret = run(w.buf, w.len, &resp);
	/* No event loop here: a parked request is answered as expired. */
	if (ret == KB_H_PARK && resp.park->poll(resp.park, &resp, true))
		ret = KB_H_DONE;
	kb_rd_init(&rd, resp.w.buf + 4, resp.w.len - 4);
	EXPECT(ret == KB_H_DONE);
	EXPECT(kb_rd_i32(&rd) == 1000 + v);
	if (fl && key != KB_API_API_VERSIONS)
		kb_rd_tags(&rd);
	check(&rd, v, fl, &resp);
	EXPECT(!rd.err);
	EXPECT(kb_rd_left(&rd) == 0);
	if (!ok(!bad_line, "%s: response decodes as expected, all %zu bytes",
		what, resp.w.len - 4))
		printf("#   first failed check at line %d (ret %d, %zu left)\n",
		       bad_line, ret, kb_rd_left(&rd));
	kb_resp_free(&resp);
	truncations(what, w.buf, w.len);
	kb_wr_free(&w);
}

/* Every API at these versions: lowest, first flexible, highest. */
static inline void api_cases(int16_t key, build_fn build, check_fn check)
{
	const struct kb_api *api = &kb_apis[key];

	api_case(key, api->min_ver, build, check);
	if (api->flex_ver > api->min_ver && api->flex_ver < api->max_ver)
		api_case(key, api->flex_ver, build, check);
	if (api->max_ver > api->min_ver)
		api_case(key, api->max_ver, build, check);
}

static char api_dir[] = "/tmp/kb-test-api-XXXXXX";

/* A broker over a store in a fresh temporary directory. */
static inline int api_setup(void)
{
	const char *dirs[1];
	struct kb_store_opts so = { 0 };
	char text[256];

	if (!mkdtemp(api_dir))
		return -1;
	snprintf(text, sizeof(text), "log.dirs=%s\n", api_dir);
	ok(kb_config_parse(text, "test", &cfg) == 0, "config parses");
	dirs[0] = api_dir;
	so.log_dirs = dirs;
	so.n_log_dirs = 1;
	so.segment_bytes = 1 << 20;
	so.roll_ms = 1000000;
	so.retention_ms = -1;
	so.retention_bytes = -1;
	so.flush_messages = INT64_MAX;
	so.flush_ms = -1;
	so.index_interval_bytes = 4096;
	so.max_message_bytes = 1048588;
	ok(kb_store_open(&so, &br.store) == 0, "store opens in %s", api_dir);
	br.cfg = &cfg;
	strcpy(br.cluster_id, "test-cluster");
	return 0;
}

static inline void api_teardown(void)
{
	char cmd[300];

	kb_groups_close();
	kb_store_close(br.store);
	kb_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", api_dir);
	if (system(cmd))
		ok(0, "cleanup");
}

#endif
