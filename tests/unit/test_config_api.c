// SPDX-License-Identifier: GPL-2.0
/*
 * The config APIs through the dispatcher at every version, encoded and
 * decoded field by field from Kafka's message schemas: DescribeConfigs
 * v0-4, AlterConfigs v0-2, IncrementalAlterConfigs v0-1.  Then the round
 * trip a client does: describe a topic, change one key, write the whole
 * described set back with each API and version, describe it again.
 */
#include "api_case.h"

enum { RES_TOPIC = 2, RES_BROKER = 4, SRC_TOPIC = 1, SRC_STATIC = 4,
       SRC_DEFAULT = 5, TYPE_STRING = 2, TYPE_INT = 3, TYPE_LONG = 5 };

#define TOPIC "cfgt"
#define MAX_E 64

/* What the last DescribeConfigs said about TOPIC. */
struct entry {
	char name[64];
	char value[64];
	bool null, read_only;
	int8_t source, type;
	int n_syn;
	char syn0[64], syn_last[64];
	int8_t syn_last_src;
	bool doc;
};
static struct entry ents[MAX_E];
static int n_ents;
static bool want_docs = true;

static void cpy(char *dst, size_t cap, struct kb_str s)
{
	size_t n = s.ptr && s.len > 0 ? (size_t)s.len : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, n ? s.ptr : "", n);
	dst[n] = '\0';
}

static const struct entry *ent(const char *name)
{
	for (int i = 0; i < n_ents; i++)
		if (!strcmp(ents[i].name, name))
			return &ents[i];
	return NULL;
}

/* ---- DescribeConfigs ---- */

static void describe_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_varray(w, fl, 2);
	kb_wr_i8(w, RES_TOPIC);
	kb_wr_vstr(w, fl, TOPIC);
	kb_wr_varray(w, fl, -1);	/* every key */
	kb_wr_tags(w, fl);
	kb_wr_i8(w, RES_BROKER);
	kb_wr_vstr(w, fl, "0");
	kb_wr_varray(w, fl, 2);
	kb_wr_vstr(w, fl, "log.retention.ms");
	kb_wr_vstr(w, fl, "compression.type");
	kb_wr_tags(w, fl);
	if (v >= 1)
		kb_wr_bool(w, true);		/* include_synonyms */
	if (v >= 3)
		kb_wr_bool(w, want_docs);	/* include_documentation */
	kb_wr_tags(w, fl);
}

static void describe_resp(struct kb_rd *rd, int16_t v, bool fl,
			  const struct kb_resp *resp)
{
	int32_t i, k, n, s, ns;

	(void)resp;
	n_ents = 0;
	EXPECT(kb_rd_i32(rd) == 0);		/* throttle_time_ms */
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2 && !rd->err; i++) {
		EXPECT(kb_rd_i16(rd) == 0);
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
		EXPECT(kb_rd_i8(rd) == (i ? RES_BROKER : RES_TOPIC));
		EXPECT(str_is(kb_rd_vstr(rd, fl), i ? "0" : TOPIC));
		n = kb_rd_varray(rd, fl);
		EXPECT(i ? n == 2 : n >= 12);
		for (k = 0; k < n && !rd->err; k++) {
			struct entry e = { 0 }, *o = &e;
			struct kb_str val;

			cpy(e.name, sizeof(e.name), kb_rd_vstr(rd, fl));
			val = kb_rd_vnstr(rd, fl);
			e.null = !val.ptr;
			cpy(e.value, sizeof(e.value), val);
			e.read_only = kb_rd_bool(rd);
			if (v == 0)
				e.source = kb_rd_bool(rd) ? SRC_DEFAULT : -1;
			else
				e.source = kb_rd_i8(rd);
			EXPECT(!kb_rd_bool(rd));	/* is_sensitive */
			ns = v >= 1 ? kb_rd_varray(rd, fl) : 0;
			e.n_syn = ns;
			for (s = 0; s < ns && !rd->err; s++) {
				struct kb_str sn = kb_rd_vstr(rd, fl);

				if (!s)
					cpy(e.syn0, sizeof(e.syn0), sn);
				cpy(e.syn_last, sizeof(e.syn_last), sn);
				kb_rd_vnstr(rd, fl);
				e.syn_last_src = kb_rd_i8(rd);
				kb_rd_vtags(rd, fl);
			}
			if (v >= 3) {
				e.type = kb_rd_i8(rd);
				e.doc = kb_rd_vnstr(rd, fl).ptr != NULL;
			}
			kb_rd_vtags(rd, fl);
			if (i) {
				EXPECT(e.read_only);
				EXPECT(!strcmp(e.name, "log.retention.ms") ||
				       !strcmp(e.name, "compression.type"));
				continue;
			}
			EXPECT(!e.read_only);	/* every topic key alters */
			EXPECT(!e.null);
			if (n_ents < MAX_E)
				ents[n_ents++] = *o;
		}
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

/* Kafka's answer for retention.ms and friends at version @v. */
static void describe_checks(int16_t v)
{
	const struct entry *r = ent("retention.ms"), *c = ent("compression.type");
	const struct entry *ts = ent("message.timestamp.type");

	ok(r && c && ts && ent("flush.ms") && ent("max.message.bytes"),
	   "DescribeConfigs v%d: the topic's keys are listed", v);
	if (!r || !c || !ts)
		return;
	ok(!strcmp(r->value, "604800000") &&
	   r->source == (v ? SRC_DEFAULT : SRC_DEFAULT),
	   "v%d: retention.ms 604800000 from DEFAULT_CONFIG", v);
	if (v >= 1)
		ok(r->n_syn == 1 && !strcmp(r->syn0, "log.retention.ms") &&
		   r->syn_last_src == SRC_DEFAULT &&
		   ts->n_syn == 1 && !strcmp(ts->syn0, "log.message.timestamp.type"),
		   "v%d: synonyms: retention.ms <- log.retention.ms, "
		   "message.timestamp.type <- log.message.timestamp.type", v);
	if (v >= 3)
		ok(r->type == TYPE_LONG && c->type == TYPE_STRING &&
		   ent("segment.bytes")->type == TYPE_INT &&
		   r->doc == want_docs && c->doc == want_docs,
		   "v%d: config_type LONG, STRING, INT; documentation %s", v,
		   want_docs ? "given" : "null when not asked for");
}

/* ---- AlterConfigs ---- */

static void alter_req(struct kb_wr *w, int16_t v, bool fl)
{
	(void)v;
	kb_wr_varray(w, fl, 2);
	kb_wr_i8(w, RES_TOPIC);
	kb_wr_vstr(w, fl, TOPIC);
	kb_wr_varray(w, fl, 2);
	kb_wr_vstr(w, fl, "retention.ms");
	kb_wr_vnstr(w, fl, "3600000");
	kb_wr_tags(w, fl);
	kb_wr_vstr(w, fl, "compression.type");
	kb_wr_vnstr(w, fl, "lz4");
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_i8(w, RES_TOPIC);
	kb_wr_vstr(w, fl, "no-such-topic");
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "retention.ms");
	kb_wr_vnstr(w, fl, "1");
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_bool(w, false);		/* validate_only */
	kb_wr_tags(w, fl);
}

static void alter_resp(struct kb_rd *rd, int16_t v, bool fl,
		       const struct kb_resp *resp)
{
	(void)v;
	(void)resp;
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(!kb_rd_vnstr(rd, fl).ptr);
	EXPECT(kb_rd_i8(rd) == RES_TOPIC);
	EXPECT(str_is(kb_rd_vstr(rd, fl), TOPIC));
	kb_rd_vtags(rd, fl);
	EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_TOPIC_OR_PARTITION);
	EXPECT(kb_rd_vnstr(rd, fl).ptr);	/* says why */
	EXPECT(kb_rd_i8(rd) == RES_TOPIC);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "no-such-topic"));
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
	EXPECT(!strcmp(kb_store_topic_config(br.store, TOPIC, "retention.ms") ?: "",
		       "3600000"));
	EXPECT(!strcmp(kb_store_topic_config(br.store, TOPIC,
					     "compression.type") ?: "", "lz4"));
}

/* ---- IncrementalAlterConfigs ---- */

static void incr_req(struct kb_wr *w, int16_t v, bool fl)
{
	(void)v;
	kb_wr_varray(w, fl, 2);
	kb_wr_i8(w, RES_TOPIC);
	kb_wr_vstr(w, fl, TOPIC);
	kb_wr_varray(w, fl, 2);
	kb_wr_vstr(w, fl, "retention.ms");
	kb_wr_i8(w, 1);			/* DELETE */
	kb_wr_vnstr(w, fl, NULL);
	kb_wr_tags(w, fl);
	kb_wr_vstr(w, fl, "flush.messages");
	kb_wr_i8(w, 0);			/* SET */
	kb_wr_vnstr(w, fl, "1000");
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_i8(w, RES_TOPIC);
	kb_wr_vstr(w, fl, TOPIC);
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "compression.type");
	kb_wr_i8(w, 0);
	kb_wr_vnstr(w, fl, "brotli");
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_bool(w, false);
	kb_wr_tags(w, fl);
}

static void incr_resp(struct kb_rd *rd, int16_t v, bool fl,
		      const struct kb_resp *resp)
{
	struct kb_str m;

	(void)v;
	(void)resp;
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(!kb_rd_vnstr(rd, fl).ptr);
	EXPECT(kb_rd_i8(rd) == RES_TOPIC);
	EXPECT(str_is(kb_rd_vstr(rd, fl), TOPIC));
	kb_rd_vtags(rd, fl);
	EXPECT(kb_rd_i16(rd) == KB_ERR_INVALID_CONFIG);
	m = kb_rd_vnstr(rd, fl);
	EXPECT(m.ptr && memmem(m.ptr, m.len, "compression.type", 16));
	EXPECT(kb_rd_i8(rd) == RES_TOPIC);
	EXPECT(str_is(kb_rd_vstr(rd, fl), TOPIC));
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
	EXPECT(!kb_store_topic_config(br.store, TOPIC, "retention.ms"));
	EXPECT(!strcmp(kb_store_topic_config(br.store, TOPIC,
					     "flush.messages") ?: "", "1000"));
	EXPECT(!strcmp(kb_store_topic_config(br.store, TOPIC,
					     "compression.type") ?: "", "lz4"));
}

/* ---- the whole described set written back ---- */

static int16_t rt_api, rt_err;

static void whole_req(struct kb_wr *w, int16_t v, bool fl)
{
	(void)v;
	kb_wr_varray(w, fl, 1);
	kb_wr_i8(w, RES_TOPIC);
	kb_wr_vstr(w, fl, TOPIC);
	kb_wr_varray(w, fl, n_ents);
	for (int i = 0; i < n_ents; i++) {
		kb_wr_vstr(w, fl, ents[i].name);
		if (rt_api == KB_API_INCREMENTAL_ALTER_CONFIGS)
			kb_wr_i8(w, 0);
		/* One key changed, as a client editing the set does. */
		kb_wr_vnstr(w, fl, strcmp(ents[i].name, "segment.ms") ?
			    ents[i].value : "86400000");
		kb_wr_tags(w, fl);
	}
	kb_wr_tags(w, fl);
	kb_wr_bool(w, false);
	kb_wr_tags(w, fl);
}

static void whole_resp(struct kb_rd *rd, int16_t v, bool fl,
		       const struct kb_resp *resp)
{
	struct kb_str m;

	(void)v;
	(void)resp;
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 1);
	rt_err = kb_rd_i16(rd);
	m = kb_rd_vnstr(rd, fl);
	if (rt_err)
		printf("#   refused: %.*s\n", m.ptr ? m.len : 0,
		       m.ptr ? m.ptr : "");
	kb_rd_i8(rd);
	kb_rd_vstr(rd, fl);
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
}

static void round_trip(int16_t api, int16_t v)
{
	struct entry before[MAX_E];
	int n_before, same = 0;

	want_docs = true;
	api_case(KB_API_DESCRIBE_CONFIGS, 4, describe_req, describe_resp);
	memcpy(before, ents, sizeof(before));
	n_before = n_ents;
	rt_api = api;
	rt_err = -1;
	api_case(api, v, whole_req, whole_resp);
	ok(rt_err == 0, "%s v%d takes back all %d described values",
	   kb_apis[api].name, v, n_before);
	api_case(KB_API_DESCRIBE_CONFIGS, 4, describe_req, describe_resp);
	for (int i = 0; i < n_before; i++) {
		const struct entry *e = ent(before[i].name);

		if (e && e->source == SRC_TOPIC &&
		    !strcmp(e->value, strcmp(e->name, "segment.ms") ?
			    before[i].value : "86400000"))
			same++;
	}
	ok(same == n_before, "%s v%d: described again, %d of %d keys are the "
	   "topic's with the values written", kb_apis[api].name, v, same,
	   n_before);
}

int main(void)
{
	int16_t v;

	if (api_setup())
		return 1;
	ok(kb_store_topic_create(br.store, TOPIC, 1) == 0, "topic " TOPIC);
	for (v = 0; v <= kb_apis[KB_API_DESCRIBE_CONFIGS].max_ver; v++) {
		api_case(KB_API_DESCRIBE_CONFIGS, v, describe_req,
			 describe_resp);
		describe_checks(v);
	}
	want_docs = false;
	api_case(KB_API_DESCRIBE_CONFIGS, 3, describe_req, describe_resp);
	describe_checks(3);
	for (v = 0; v <= kb_apis[KB_API_ALTER_CONFIGS].max_ver; v++)
		api_case(KB_API_ALTER_CONFIGS, v, alter_req, alter_resp);
	want_docs = true;
	api_case(KB_API_DESCRIBE_CONFIGS, 4, describe_req, describe_resp);
	ok(ent("retention.ms") && ent("retention.ms")->source == SRC_TOPIC &&
	   ent("retention.ms")->n_syn == 2 &&
	   !strcmp(ent("retention.ms")->syn0, "retention.ms") &&
	   !strcmp(ent("retention.ms")->syn_last, "log.retention.ms"),
	   "an override: DYNAMIC_TOPIC_CONFIG, synonyms the topic's then "
	   "the broker's");
	for (v = 0; v <= kb_apis[KB_API_INCREMENTAL_ALTER_CONFIGS].max_ver; v++)
		api_case(KB_API_INCREMENTAL_ALTER_CONFIGS, v, incr_req,
			 incr_resp);
	for (v = 0; v <= kb_apis[KB_API_ALTER_CONFIGS].max_ver; v++)
		round_trip(KB_API_ALTER_CONFIGS, v);
	for (v = 0; v <= kb_apis[KB_API_INCREMENTAL_ALTER_CONFIGS].max_ver; v++)
		round_trip(KB_API_INCREMENTAL_ALTER_CONFIGS, v);
	api_teardown();
	return tap_done();
}
