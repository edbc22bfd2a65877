// SPDX-License-Identifier: GPL-2.0
/*
 * The group APIs (group/h_group*.c) through the dispatcher, each at its
 * lowest, first flexible and highest version.
 */
#include "api_case.h"

/*
 * Group APIs.  FindCoordinator, SyncGroup, Heartbeat and LeaveGroup ask
 * about groups nobody joined; JoinGroup joins jg-vN as a new member;
 * OffsetCommit commits cap2-1 for the standalone group "oc", which
 * OffsetFetch, DescribeGroups and ListGroups then see and OffsetDelete
 * removes; DeleteGroups deletes dg-vN, given an offset here first.
 */
static void find_coordinator_req(struct kb_wr *w, int16_t v, bool fl)
{
	if (v >= 4) {
		kb_wr_i8(w, 0);		/* key_type: group */
		kb_wr_varray(w, fl, 1);
		kb_wr_vstr(w, fl, "grp");
	} else {
		kb_wr_vstr(w, fl, "grp");
		if (v >= 1)
			kb_wr_i8(w, 0);
	}
	kb_wr_tags(w, fl);
}

static void find_coordinator_resp(struct kb_rd *rd, int16_t v, bool fl,
				  const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	if (v >= 4) {
		EXPECT(kb_rd_varray(rd, fl) == 1);
		EXPECT(str_is(kb_rd_vstr(rd, fl), "grp"));
	} else {
		EXPECT(kb_rd_i16(rd) == 0);
		if (v >= 1)
			EXPECT(!kb_rd_vnstr(rd, fl).ptr);
	}
	EXPECT(kb_rd_i32(rd) == cfg.broker_id);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "localhost"));
	EXPECT(kb_rd_i32(rd) == 9092);
	if (v >= 4) {
		EXPECT(kb_rd_i16(rd) == 0);
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

static void join_group_req(struct kb_wr *w, int16_t v, bool fl)
{
	char group[16];

	snprintf(group, sizeof(group), "jg-v%d", v);
	kb_wr_vstr(w, fl, group);
	kb_wr_i32(w, 10000);		/* session_timeout_ms */
	if (v >= 1)
		kb_wr_i32(w, 10000);	/* rebalance_timeout_ms */
	kb_wr_vstr(w, fl, "");		/* member_id: new member */
	if (v >= 5)
		kb_wr_vnstr(w, fl, NULL);	/* group_instance_id */
	kb_wr_vstr(w, fl, "consumer");
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "range");
	kb_wr_vbytes(w, fl, "meta", 4);
	kb_wr_tags(w, fl);
	if (v >= 8)
		kb_wr_vnstr(w, fl, NULL);	/* reason */
	kb_wr_tags(w, fl);
}

static void join_group_resp(struct kb_rd *rd, int16_t v, bool fl,
			    const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 2)
		EXPECT(kb_rd_i32(rd) == 0);
	/* From v4 a new member gets its id first; before, it joins and,
	 * parked until the rebalance timeout (expired at once here), leads
	 * the generation alone: never REBALANCE_IN_PROGRESS. */
	if (v >= 4) {
		EXPECT(kb_rd_i16(rd) == KB_ERR_MEMBER_ID_REQUIRED);
		EXPECT(kb_rd_i32(rd) == -1);		/* generation_id */
		if (v >= 7) {
			EXPECT(!kb_rd_vnstr(rd, fl).ptr);	/* protocol_type */
			EXPECT(!kb_rd_vnstr(rd, fl).ptr);	/* protocol_name */
		} else {
			EXPECT(str_is(kb_rd_vstr(rd, fl), ""));
		}
		EXPECT(str_is(kb_rd_vstr(rd, fl), ""));	/* leader */
		if (v >= 9)
			EXPECT(!kb_rd_bool(rd));		/* skip_assignment */
		EXPECT(kb_rd_vstr(rd, fl).len > 0);		/* member_id */
		EXPECT(kb_rd_varray(rd, fl) == 0);
	} else {
		struct kb_str leader, mid, m;

		EXPECT(kb_rd_i16(rd) == KB_ERR_NONE);
		EXPECT(kb_rd_i32(rd) == 1);		/* generation_id */
		EXPECT(str_is(kb_rd_vstr(rd, fl), "range"));
		leader = kb_rd_vstr(rd, fl);
		mid = kb_rd_vstr(rd, fl);
		EXPECT(mid.len > 0 && leader.len == mid.len &&
		       !memcmp(leader.ptr, mid.ptr, mid.len));
		EXPECT(kb_rd_varray(rd, fl) == 1);	/* the leader's list */
		m = kb_rd_vstr(rd, fl);
		EXPECT(m.len == mid.len && !memcmp(m.ptr, mid.ptr, mid.len));
		EXPECT(kb_rd_vbytes(rd, fl).len == 4);	/* "meta" */
	}
	kb_rd_vtags(rd, fl);
}

static void sync_group_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vstr(w, fl, "grp");
	kb_wr_i32(w, 1);		/* generation_id */
	kb_wr_vstr(w, fl, "m1");
	if (v >= 3)
		kb_wr_vnstr(w, fl, NULL);	/* group_instance_id */
	if (v >= 5) {
		kb_wr_vnstr(w, fl, "consumer");
		kb_wr_vnstr(w, fl, "range");
	}
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "m1");
	kb_wr_vbytes(w, fl, "assign", 6);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
}

static void sync_group_resp(struct kb_rd *rd, int16_t v, bool fl,
			    const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_MEMBER_ID);
	if (v >= 5) {
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
	}
	/* Non-nullable bytes: an error answers empty, never null (the Java
	 * client rejects a null there). */
	{
		struct kb_bytes a = kb_rd_vnbytes(rd, fl);

		EXPECT(a.ptr && a.len == 0);
	}
	kb_rd_vtags(rd, fl);
}

static void heartbeat_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vstr(w, fl, "grp");
	kb_wr_i32(w, 1);
	kb_wr_vstr(w, fl, "m1");
	if (v >= 3)
		kb_wr_vnstr(w, fl, NULL);
	kb_wr_tags(w, fl);
}

static void heartbeat_resp(struct kb_rd *rd, int16_t v, bool fl,
			   const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_MEMBER_ID);
	kb_rd_vtags(rd, fl);
}

static void leave_group_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vstr(w, fl, "grp");
	if (v <= 2) {
		kb_wr_vstr(w, fl, "m1");
	} else {
		kb_wr_varray(w, fl, 1);
		kb_wr_vstr(w, fl, "m1");
		kb_wr_vnstr(w, fl, NULL);	/* group_instance_id */
		if (v >= 5)
			kb_wr_vnstr(w, fl, "done");	/* reason */
		kb_wr_tags(w, fl);
	}
	kb_wr_tags(w, fl);
}

static void leave_group_resp(struct kb_rd *rd, int16_t v, bool fl,
			     const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	if (v <= 2) {
		EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_MEMBER_ID);
	} else {
		EXPECT(kb_rd_i16(rd) == 0);
		EXPECT(kb_rd_varray(rd, fl) == 1);
		EXPECT(str_is(kb_rd_vstr(rd, fl), "m1"));
		EXPECT(!kb_rd_vnstr(rd, fl).ptr);
		EXPECT(kb_rd_i16(rd) == KB_ERR_UNKNOWN_MEMBER_ID);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

static void offset_commit_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_vstr(w, fl, "oc");
	kb_wr_i32(w, -1);		/* generation_id: standalone */
	kb_wr_vstr(w, fl, "");		/* member_id */
	if (v >= 7)
		kb_wr_vnstr(w, fl, NULL);	/* group_instance_id */
	if (v >= 2 && v <= 4)
		kb_wr_i64(w, -1);	/* retention_time_ms */
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "cap2");
	kb_wr_varray(w, fl, 1);
	kb_wr_i32(w, 1);
	kb_wr_i64(w, 1);		/* committed_offset */
	if (v >= 6)
		kb_wr_i32(w, -1);	/* committed_leader_epoch */
	if (v == 1)
		kb_wr_i64(w, -1);	/* commit_timestamp */
	kb_wr_vnstr(w, fl, "md");
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
	kb_wr_tags(w, fl);
}

static void offset_commit_resp(struct kb_rd *rd, int16_t v, bool fl,
			       const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 3)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "cap2"));
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i32(rd) == 1);
	EXPECT(kb_rd_i16(rd) == 0);
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
}

static void offset_fetch_req(struct kb_wr *w, int16_t v, bool fl)
{
	if (v >= 8) {
		kb_wr_varray(w, fl, 1);
		kb_wr_vstr(w, fl, "oc");
	} else {
		kb_wr_vstr(w, fl, "oc");
	}
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "cap2");
	kb_wr_varray(w, fl, 2);
	kb_wr_i32(w, 1);
	kb_wr_i32(w, 0);		/* never committed */
	kb_wr_tags(w, fl);
	if (v >= 8)
		kb_wr_tags(w, fl);
	if (v >= 7)
		kb_wr_bool(w, false);	/* require_stable */
	kb_wr_tags(w, fl);
}

static void offset_fetch_resp(struct kb_rd *rd, int16_t v, bool fl,
			      const struct kb_resp *resp)
{
	int i;

	(void)resp;
	if (v >= 3)
		EXPECT(kb_rd_i32(rd) == 0);
	if (v >= 8) {
		EXPECT(kb_rd_varray(rd, fl) == 1);
		EXPECT(str_is(kb_rd_vstr(rd, fl), "oc"));
	}
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "cap2"));
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2; i++) {
		struct kb_str md;

		EXPECT(kb_rd_i32(rd) == !i);
		EXPECT(kb_rd_i64(rd) == (i ? -1 : 1));
		if (v >= 5)
			EXPECT(kb_rd_i32(rd) == -1);
		md = kb_rd_vnstr(rd, fl);
		EXPECT(i || str_is(md, "md"));
		EXPECT(kb_rd_i16(rd) == 0);
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
	if (v >= 2)
		EXPECT(kb_rd_i16(rd) == 0);
	if (v >= 8)
		kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
}

static void describe_groups_req(struct kb_wr *w, int16_t v, bool fl)
{
	kb_wr_varray(w, fl, 1);
	kb_wr_vstr(w, fl, "oc");
	if (v >= 3)
		kb_wr_bool(w, false);	/* include_authorized_operations */
	kb_wr_tags(w, fl);
}

static void describe_groups_resp(struct kb_rd *rd, int16_t v, bool fl,
				 const struct kb_resp *resp)
{
	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 1);
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(str_is(kb_rd_vstr(rd, fl), "oc"));
	EXPECT(str_is(kb_rd_vstr(rd, fl), "Empty"));
	EXPECT(str_is(kb_rd_vstr(rd, fl), ""));	/* protocol_type */
	EXPECT(str_is(kb_rd_vstr(rd, fl), ""));	/* protocol_data */
	EXPECT(kb_rd_varray(rd, fl) == 0);		/* members */
	if (v >= 3)
		kb_rd_i32(rd);			/* authorized_operations */
	kb_rd_vtags(rd, fl);
	kb_rd_vtags(rd, fl);
}

static void list_groups_req(struct kb_wr *w, int16_t v, bool fl)
{
	if (v >= 4) {
		kb_wr_varray(w, fl, 1);		/* states_filter */
		kb_wr_vstr(w, fl, "Empty");
	}
	kb_wr_tags(w, fl);
}

static void list_groups_resp(struct kb_rd *rd, int16_t v, bool fl,
			     const struct kb_resp *resp)
{
	int32_t i, n;
	bool oc = false;

	(void)resp;
	if (v >= 1)
		EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_i16(rd) == 0);
	n = kb_rd_varray(rd, fl);
	EXPECT(n >= 1);
	for (i = 0; i < n && !rd->err; i++) {
		bool this = str_is(kb_rd_vstr(rd, fl), "oc");

		kb_rd_vstr(rd, fl);			/* protocol_type */
		if (v >= 4)
			EXPECT(str_is(kb_rd_vstr(rd, fl), "Empty"));
		kb_rd_vtags(rd, fl);
		oc |= this;
	}
	EXPECT(oc);
	kb_rd_vtags(rd, fl);
}

static void offset_delete_req(struct kb_wr *w, int16_t v, bool fl)
{
	(void)v;
	(void)fl;
	kb_wr_str(w, "oc", -1);
	kb_wr_array(w, 1);
	kb_wr_str(w, "cap2", -1);
	kb_wr_array(w, 1);
	kb_wr_i32(w, 1);
}

static void offset_delete_resp(struct kb_rd *rd, int16_t v, bool fl,
			       const struct kb_resp *resp)
{
	struct kb_groups *gs = kb_groups_get(&br);
	struct kb_group *g = gs ? kb_group_find(gs, "oc") : NULL;

	(void)v;
	(void)fl;
	(void)resp;
	EXPECT(!g || !kb_offset_find(g, "cap2", 1));
	EXPECT(kb_rd_i16(rd) == 0);
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_array(rd) == 1);
	EXPECT(str_is(kb_rd_str(rd), "cap2"));
	EXPECT(kb_rd_array(rd) == 1);
	EXPECT(kb_rd_i32(rd) == 1);
	EXPECT(kb_rd_i16(rd) == 0);
}

static void delete_groups_req(struct kb_wr *w, int16_t v, bool fl)
{
	struct kb_groups *gs = kb_groups_get(&br);
	struct kb_commit c = { .topic = "cap2", .partition = 0, .epoch = -1,
			       .offset = 0, .meta_len = -1, .expire_ms = -1 };
	struct kb_group *g;
	char group[16];

	snprintf(group, sizeof(group), "dg-v%d", v);
	g = gs ? kb_group_create(gs, group) : NULL;
	if (g)
		kb_offsets_commit(gs, g, &c, 1);
	kb_wr_varray(w, fl, 2);
	kb_wr_vstr(w, fl, group);
	kb_wr_vstr(w, fl, "no-such-group");
	kb_wr_tags(w, fl);
}

static void delete_groups_resp(struct kb_rd *rd, int16_t v, bool fl,
			       const struct kb_resp *resp)
{
	struct kb_groups *gs = kb_groups_get(&br);
	char group[16];
	int i;

	(void)resp;
	snprintf(group, sizeof(group), "dg-v%d", v);
	EXPECT(gs && !kb_group_find(gs, group));
	EXPECT(kb_rd_i32(rd) == 0);
	EXPECT(kb_rd_varray(rd, fl) == 2);
	for (i = 0; i < 2; i++) {
		EXPECT(str_is(kb_rd_vstr(rd, fl), i ? "no-such-group" : group));
		EXPECT(kb_rd_i16(rd) == (i ? KB_ERR_GROUP_ID_NOT_FOUND : 0));
		kb_rd_vtags(rd, fl);
	}
	kb_rd_vtags(rd, fl);
}

/* A DeleteGroups cut short deletes nothing, not even the ids before it. */
static void test_delete_groups_cut(void)
{
	struct kb_groups *gs = kb_groups_get(&br);
	struct kb_commit c = { .topic = "cap2", .partition = 0, .epoch = -1,
			       .offset = 0, .meta_len = -1, .expire_ms = -1 };
	struct kb_group *g = gs ? kb_group_create(gs, "dg-cut") : NULL;
	struct kb_resp resp;
	struct kb_wr w;
	int ret;

	if (g)
		kb_offsets_commit(gs, g, &c, 1);
	kb_wr_init(&w, 64);
	kb_wr_i16(&w, KB_API_DELETE_GROUPS);
	kb_wr_i16(&w, 1);
	kb_wr_i32(&w, 7);
	kb_wr_nstr(&w, "codec", -1);
	kb_wr_varray(&w, false, 2);
	kb_wr_vstr(&w, false, "dg-cut");
	kb_wr_vstr(&w, false, "another-group");
	ret = run(w.buf, w.len - 3, &resp);
	ok(g && ret == KB_H_CLOSE && kb_group_find(gs, "dg-cut") == g,
	   "DeleteGroups cut inside its second id: closed, first group kept");
	kb_resp_free(&resp);
	kb_wr_free(&w);
}

static void test_group_round_trips(void)
{
	api_cases(KB_API_FIND_COORDINATOR, find_coordinator_req,
		  find_coordinator_resp);
	api_cases(KB_API_JOIN_GROUP, join_group_req, join_group_resp);
	api_cases(KB_API_SYNC_GROUP, sync_group_req, sync_group_resp);
	api_cases(KB_API_HEARTBEAT, heartbeat_req, heartbeat_resp);
	api_cases(KB_API_LEAVE_GROUP, leave_group_req, leave_group_resp);
	api_cases(KB_API_OFFSET_COMMIT, offset_commit_req, offset_commit_resp);
	api_cases(KB_API_OFFSET_FETCH, offset_fetch_req, offset_fetch_resp);
	api_cases(KB_API_DESCRIBE_GROUPS, describe_groups_req,
		  describe_groups_resp);
	api_cases(KB_API_LIST_GROUPS, list_groups_req, list_groups_resp);
	api_cases(KB_API_OFFSET_DELETE, offset_delete_req, offset_delete_resp);
	api_cases(KB_API_DELETE_GROUPS, delete_groups_req, delete_groups_resp);
}

int main(void)
{
	if (api_setup())
		return 1;
	/* The topic the offset APIs commit to. */
	ok(kb_store_topic_create(br.store, "cap2", 3) == KB_ERR_NONE,
	   "topic cap2 with 3 partitions");
	test_group_round_trips();
	test_delete_groups_cut();
	api_teardown();
	return tap_done();
}
