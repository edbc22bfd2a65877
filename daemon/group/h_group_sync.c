// SPDX-License-Identifier: GPL-2.0
/*
 * SyncGroup, Heartbeat and LeaveGroup.  SyncGroup parks until the
 * leader's assignment arrives; every check follows Kafka's
 * GroupCoordinator order.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/req.h"
#include "common/log.h"
#include "group/group.h"
#include "group/wait.h"
#include "proto/errors.h"

/* ---- SyncGroup ---- */

/* Whether the @n assignments and the tags after them are all there. */
static bool assignments_whole(struct kb_rd rd, bool flex, int32_t n)
{
	for (int32_t i = 0; i < n && !rd.err; i++) {
		kb_rd_vstr(&rd, flex);
		kb_rd_vbytes(&rd, flex);
		kb_rd_vtags(&rd, flex);
	}
	kb_rd_vtags(&rd, flex);
	return !rd.err;
}

/* Stores the leader's assignment; members it left out get none. */
static void take_assignment(struct kb_group *g, struct kb_rd *rd, bool flex,
			    int32_t n)
{
	struct kb_member *m;
	int32_t i;

	for (m = g->members; m; m = m->next) {
		free(m->assign);
		m->assign = NULL;
		m->assign_len = 0;
	}
	for (i = 0; i < n && !rd->err; i++) {
		struct kb_str id = kb_rd_vstr(rd, flex);
		struct kb_bytes a = kb_rd_vbytes(rd, flex);

		kb_rd_vtags(rd, flex);
		if (rd->err)
			return;
		for (m = g->members; m; m = m->next) {
			if ((size_t)id.len != strlen(m->id) ||
			    memcmp(id.ptr, m->id, id.len) || a.len <= 0)
				continue;
			free(m->assign);
			m->assign = malloc(a.len);
			if (m->assign) {
				memcpy(m->assign, a.ptr, a.len);
				m->assign_len = a.len;
			}
		}
	}
}

/*
 * What SyncGroup and Heartbeat both check first, in Kafka's order: READ
 * on the group, the coordinator, the group id, the group, a fenced static member, the
 * member, its generation.  Sets *gp and *mp as far as it got.
 */
static int16_t member_check(struct kb_req *req, struct kb_groups *gs,
			    const char *group, const char *member,
			    const char *inst, int32_t gen,
			    struct kb_group **gp, struct kb_member **mp)
{
	struct kb_group *g;

	*gp = NULL;
	*mp = NULL;
	if (!kb_req_may(req, KB_OP_READ, KB_RES_GROUP, group))
		return KB_ERR_GROUP_AUTHORIZATION_FAILED;
	if (!gs)
		return KB_ERR_COORDINATOR_NOT_AVAILABLE;
	kb_groups_tick(gs);
	g = *group ? kb_group_find(gs, group) : NULL;
	*gp = g;
	if (!*group)
		return KB_ERR_INVALID_GROUP_ID;
	if (!g)
		return KB_ERR_UNKNOWN_MEMBER_ID;
	if (g->state == KB_GS_DEAD)
		return KB_ERR_COORDINATOR_NOT_AVAILABLE;
	return kb_member_check(g, member, inst, &gen, mp);
}

int kb_h_sync_group(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	struct kb_groups *gs = kb_groups_get(req->b);
	struct kb_str gid, mid, iid = { 0 }, ptype = { 0 }, pname = { 0 };
	char group[1024], member[512], inst[512], pt[256], pn[256];
	struct kb_group_wait *sw;
	struct kb_group *g;
	struct kb_member *m, *l;
	int64_t now, dl;
	int32_t gen, n;
	int16_t err = 0;

	gid = kb_rd_vstr(rd, flex);
	gen = kb_rd_i32(rd);
	mid = kb_rd_vstr(rd, flex);
	if (ver >= 3)
		iid = kb_rd_vnstr(rd, flex);
	if (ver >= 5) {
		ptype = kb_rd_vnstr(rd, flex);
		pname = kb_rd_vnstr(rd, flex);
	}
	n = kb_rd_varray(rd, flex);
	/* The whole request is read before anything is acted on. */
	if (rd->err || !assignments_whole(*rd, flex, n) ||
	    !kb_str_copy(group, sizeof(group), gid) ||
	    !kb_str_copy(member, sizeof(member), mid) ||
	    (iid.ptr && !kb_str_copy(inst, sizeof(inst), iid)) ||
	    (ptype.ptr && !kb_str_copy(pt, sizeof(pt), ptype)) ||
	    (pname.ptr && !kb_str_copy(pn, sizeof(pn), pname)))
		return KB_H_CLOSE;
	err = member_check(req, gs, group, member, iid.ptr ? inst : NULL,
			   gen, &g, &m);
	if (err)
		goto out;
	if ((ptype.ptr && !kb_streq(pt, g->protocol_type)) ||
	    (pname.ptr && !kb_streq(pn, g->protocol)))
		err = KB_ERR_INCONSISTENT_GROUP_PROTOCOL;
	else if (g->state == KB_GS_EMPTY)
		err = KB_ERR_UNKNOWN_MEMBER_ID;
	else if (g->state == KB_GS_PREPARING)
		err = KB_ERR_REBALANCE_IN_PROGRESS;
	if (err)
		goto out;
	m->last_hb = kb_now_mono_ms();
	if (g->state == KB_GS_STABLE) {
		kb_sync_body(&resp->w, ver, flex, 0, g->protocol_type,
			     g->protocol, m->assign, m->assign_len);
		return KB_H_DONE;
	}
	/* CompletingRebalance. */
	sw = kb_wait_new(gs, req, true);
	if (!sw) {
		err = KB_ERR_UNKNOWN_SERVER_ERROR;
		goto out;
	}
	kb_wait_attach(sw, g, m);
	if (g->leader == m) {
		struct kb_member *o;

		take_assignment(g, rd, flex, n);
		g->state = KB_GS_STABLE;
		kb_info("group %s: generation %d is stable", g->id,
			g->generation);
		for (o = g->members; o; o = o->next)
			if (o->sync)
				kb_member_wait_answer(o->sync, g, KB_ERR_NONE);
	}
	/* Until the leader's session would expire. */
	l = g->leader;
	now = kb_now_mono_ms();
	dl = l ? l->last_hb + l->session_ms : now + m->session_ms;
	return kb_wait_park(sw, resp, dl < now + 20 ? now + 20 : dl);
out:
	kb_sync_body(&resp->w, ver, flex, err, NULL, NULL, NULL, 0);
	return KB_H_DONE;
}

/* ---- Heartbeat ---- */

int kb_h_heartbeat(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	struct kb_groups *gs = kb_groups_get(req->b);
	struct kb_str gid, mid, iid = { 0 };
	char group[1024], member[512], inst[512];
	struct kb_group *g;
	struct kb_member *m;
	int16_t err = 0;
	int32_t gen;

	gid = kb_rd_vstr(rd, flex);
	gen = kb_rd_i32(rd);
	mid = kb_rd_vstr(rd, flex);
	if (ver >= 3)
		iid = kb_rd_vnstr(rd, flex);
	kb_rd_vtags(rd, flex);
	if (rd->err || !kb_str_copy(group, sizeof(group), gid) ||
	    !kb_str_copy(member, sizeof(member), mid) ||
	    (iid.ptr && !kb_str_copy(inst, sizeof(inst), iid)))
		return KB_H_CLOSE;
	err = member_check(req, gs, group, member, iid.ptr ? inst : NULL,
			   gen, &g, &m);
	if (!err && g->state == KB_GS_EMPTY)
		err = KB_ERR_UNKNOWN_MEMBER_ID;
	if (err)
		goto out;
	m->last_hb = kb_now_mono_ms();
	if (g->state == KB_GS_PREPARING)
		err = KB_ERR_REBALANCE_IN_PROGRESS;
out:
	if (ver >= 1)
		kb_wr_i32(&resp->w, 0);
	kb_wr_i16(&resp->w, err);
	kb_wr_tags(&resp->w, flex);
	return KB_H_DONE;
}

/* ---- LeaveGroup ---- */

static int16_t leave_one(struct kb_groups *gs, struct kb_group *g,
			 const char *mid, const char *iid)
{
	struct kb_member *m;
	int16_t err;

	if (!g)
		return KB_ERR_UNKNOWN_MEMBER_ID;
	if (!*mid) {
		/* Administrative removal by instance id. */
		m = kb_member_by_instance(g, iid);
		if (!m)
			return KB_ERR_UNKNOWN_MEMBER_ID;
		kb_group_remove_member(gs, g, m, "removed by instance id");
		return KB_ERR_NONE;
	}
	if (kb_pending_find(g, mid)) {
		kb_pending_remove(g, mid);
		kb_group_try_complete_join(gs, g);
		return KB_ERR_NONE;
	}
	err = kb_member_check(g, mid, iid, NULL, &m);
	if (err)
		return err;
	kb_group_remove_member(gs, g, m, "left the group");
	return KB_ERR_NONE;
}

/*
 * Whether the @n members of a LeaveGroup v3+ and the tags after them are
 * all there and fit, so none leaves before a truncated request closes.
 */
static bool leavers_whole(struct kb_rd rd, bool flex, int16_t ver, int32_t n)
{
	char member[512], inst[512];

	for (int32_t i = 0; i < n && !rd.err; i++) {
		struct kb_str mid = kb_rd_vstr(&rd, flex);
		struct kb_str iid = kb_rd_vnstr(&rd, flex);

		if (ver >= 5)
			kb_rd_vnstr(&rd, flex);	/* reason */
		kb_rd_vtags(&rd, flex);
		if (!rd.err && (!kb_str_copy(member, sizeof(member), mid) ||
				(iid.ptr &&
				 !kb_str_copy(inst, sizeof(inst), iid))))
			return false;
	}
	kb_rd_vtags(&rd, flex);
	return !rd.err;
}

int kb_h_leave_group(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	struct kb_groups *gs = kb_groups_get(req->b);
	char group[1024], member[512], inst[512];
	struct kb_group *g = NULL;
	int16_t top = 0, err;
	int32_t n, i;

	if (!kb_str_copy(group, sizeof(group), kb_rd_vstr(rd, flex)))
		return KB_H_CLOSE;
	if (gs) {
		kb_groups_tick(gs);
		g = kb_group_find(gs, group);
	}
	if (!kb_req_may(req, KB_OP_READ, KB_RES_GROUP, group))
		top = KB_ERR_GROUP_AUTHORIZATION_FAILED;
	else if (!*group)
		top = KB_ERR_INVALID_GROUP_ID;
	else if (!gs || (g && g->state == KB_GS_DEAD))
		top = KB_ERR_COORDINATOR_NOT_AVAILABLE;
	if (ver <= 2) {
		if (!kb_str_copy(member, sizeof(member), kb_rd_vstr(rd, flex)))
			return KB_H_CLOSE;
		kb_rd_vtags(rd, flex);
		if (rd->err)
			return KB_H_CLOSE;
		err = top ? top : leave_one(gs, g, member, NULL);
		if (ver >= 1)
			kb_wr_i32(w, 0);
		kb_wr_i16(w, err);
		kb_wr_tags(w, flex);
		return KB_H_DONE;
	}
	n = kb_rd_varray(rd, flex);
	if (rd->err || n < 0 || !leavers_whole(*rd, flex, ver, n))
		return KB_H_CLOSE;
	kb_wr_i32(w, 0);
	kb_wr_i16(w, top);
	kb_wr_varray(w, flex, top ? 0 : n);
	for (i = 0; i < n; i++) {
		struct kb_str mid = kb_rd_vstr(rd, flex);
		struct kb_str iid = kb_rd_vnstr(rd, flex);

		if (ver >= 5)
			kb_rd_vnstr(rd, flex);	/* reason */
		kb_rd_vtags(rd, flex);
		if (rd->err || !kb_str_copy(member, sizeof(member), mid) ||
		    (iid.ptr && !kb_str_copy(inst, sizeof(inst), iid)))
			return KB_H_CLOSE;
		if (top)
			continue;
		err = leave_one(gs, g, member, iid.ptr ? inst : NULL);
		kb_wr_vstr(w, flex, member);
		kb_wr_vnstr(w, flex, iid.ptr ? inst : NULL);
		kb_wr_i16(w, err);
		kb_wr_tags(w, flex);
	}
	kb_rd_vtags(rd, flex);
	kb_wr_tags(w, flex);
	return rd->err ? KB_H_CLOSE : KB_H_DONE;
}
