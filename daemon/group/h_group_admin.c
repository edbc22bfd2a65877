// SPDX-License-Identifier: GPL-2.0
/*
 * ListGroups, DescribeGroups and DeleteGroups.  Like Kafka, an unknown
 * group describes as Dead without an error, member metadata and
 * assignments are shown only for a Stable group, and only an Empty group
 * can be deleted.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/req.h"
#include "auth/ops.h"
#include "proto/errors.h"
#include "group/group.h"
#include "common/log.h"

int kb_h_list_groups(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	struct kb_groups *gs = kb_groups_get(req->b);
	struct kb_str states[8];
	struct kb_group *g;
	int32_t nf = 0, i, n = 0;

	if (ver >= 4) {
		nf = kb_rd_varray(rd, flex);
		for (i = 0; i < nf && !rd->err; i++) {
			struct kb_str s = kb_rd_vstr(rd, flex);

			if (i < 8)
				states[i] = s;
		}
		if (nf > 8)
			nf = 8;
	}
	kb_rd_vtags(rd, flex);
	if (rd->err)
		return KB_H_CLOSE;
	if (ver >= 1)
		kb_wr_i32(w, 0);
	kb_wr_i16(w, gs ? 0 : KB_ERR_COORDINATOR_NOT_AVAILABLE);
	if (gs)
		kb_groups_tick(gs);
	/* Two passes: count, then write. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			kb_wr_varray(w, flex, n);
		for (g = gs ? gs->head : NULL; g; g = g->next) {
			const char *st = kb_group_state_name(g->state);
			/* Without DESCRIBE on the cluster, the groups the
			 * principal may describe (Kafka's ListGroups). */
			bool sees = kb_list_group_sees(req, g->id);
			bool match = nf <= 0 && sees;

			for (i = 0; i < nf && !match && sees; i++)
				match = (size_t)states[i].len == strlen(st) &&
					!strncasecmp(states[i].ptr, st,
						     states[i].len);
			if (!match)
				continue;
			if (!pass) {
				n++;
				continue;
			}
			kb_wr_vstr(w, flex, g->id);
			kb_wr_vstr(w, flex, g->protocol_type ?
				   g->protocol_type : "");
			if (ver >= 4)
				kb_wr_vstr(w, flex, st);
			kb_wr_tags(w, flex);
		}
	}
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}

static void describe_one(struct kb_req *req, struct kb_wr *w, int16_t ver,
			 bool flex, bool ops, const char *id,
			 struct kb_group *g, int16_t err)
{
	bool stable = g && g->state == KB_GS_STABLE;
	struct kb_member *m;

	kb_wr_i16(w, err);
	kb_wr_vstr(w, flex, id);
	kb_wr_vstr(w, flex, err ? "" : g ? kb_group_state_name(g->state) :
		   "Dead");
	kb_wr_vstr(w, flex, g && g->protocol_type ? g->protocol_type : "");
	kb_wr_vstr(w, flex, stable && g->protocol ? g->protocol : "");
	kb_wr_varray(w, flex, g ? g->n_members : 0);
	for (m = g ? g->members : NULL; m; m = m->next) {
		const struct kb_proto *p = stable ?
			kb_member_proto(m, g->protocol) : NULL;

		kb_wr_vstr(w, flex, m->id);
		if (ver >= 4)
			kb_wr_vnstr(w, flex, m->instance_id);
		kb_wr_vstr(w, flex, m->client_id);
		kb_wr_vstr(w, flex, m->client_host);
		kb_wr_vbytes(w, flex, p ? p->meta : NULL, p ? p->len : 0);
		kb_wr_vbytes(w, flex, stable ? m->assign : NULL,
			  stable ? m->assign_len : 0);
		kb_wr_tags(w, flex);
	}
	if (ver >= 3)
		kb_wr_i32(w, ops && !err ?
			  kb_authorized_ops(req, KB_RES_GROUP, id) :
			  INT32_MIN);	/* INT32_MIN: not asked */
	kb_wr_tags(w, flex);
}

int kb_h_describe_groups(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd, scan;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex, ops = false;
	struct kb_groups *gs = kb_groups_get(req->b);
	int32_t n, i;

	n = kb_rd_varray(rd, flex);
	if (rd->err || n < 0)
		return KB_H_CLOSE;
	/* include_authorized_operations follows the ids. */
	scan = *rd;
	for (i = 0; i < n && !scan.err; i++)
		kb_rd_vstr(&scan, flex);
	if (ver >= 3)
		ops = kb_rd_bool(&scan);
	if (gs)
		kb_groups_tick(gs);
	if (ver >= 1)
		kb_wr_i32(w, 0);
	kb_wr_varray(w, flex, n);
	for (i = 0; i < n; i++) {
		char id[1024];

		if (!kb_str_copy(id, sizeof(id), kb_rd_vstr(rd, flex)))
			return KB_H_CLOSE;
		if (!kb_req_may(req, KB_OP_DESCRIBE, KB_RES_GROUP, id))
			describe_one(req, w, ver, flex, ops, id, NULL,
				     KB_ERR_GROUP_AUTHORIZATION_FAILED);
		else if (!gs)
			describe_one(req, w, ver, flex, ops, id, NULL,
				     KB_ERR_COORDINATOR_NOT_AVAILABLE);
		else if (!*id)
			describe_one(req, w, ver, flex, ops, id, NULL,
				     KB_ERR_INVALID_GROUP_ID);
		else
			describe_one(req, w, ver, flex, ops, id, kb_group_find(gs, id),
				     0);
	}
	if (ver >= 3)
		kb_rd_bool(rd);
	kb_rd_vtags(rd, flex);
	kb_wr_tags(w, flex);
	return rd->err ? KB_H_CLOSE : KB_H_DONE;
}

/* Whether all @n group ids and the tags after them are there and fit. */
static bool group_ids_whole(struct kb_rd rd, bool flex, int32_t n)
{
	char id[1024];

	for (int32_t i = 0; i < n && !rd.err; i++)
		if (!kb_str_copy(id, sizeof(id), kb_rd_vstr(&rd, flex)))
			return false;
	kb_rd_vtags(&rd, flex);
	return !rd.err;
}

int kb_h_delete_groups(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	bool flex = req->flex;
	struct kb_groups *gs = kb_groups_get(req->b);
	int32_t n, i;

	n = kb_rd_varray(rd, flex);
	/* Nothing is deleted before the whole request is known good. */
	if (rd->err || n < 0 || !group_ids_whole(*rd, flex, n))
		return KB_H_CLOSE;
	if (gs)
		kb_groups_tick(gs);
	kb_wr_i32(w, 0);
	kb_wr_varray(w, flex, n);
	for (i = 0; i < n; i++) {
		struct kb_group *g;
		char id[1024];
		int16_t err = 0;

		if (!kb_str_copy(id, sizeof(id), kb_rd_vstr(rd, flex)))
			return KB_H_CLOSE;
		g = gs && *id ? kb_group_find(gs, id) : NULL;
		if (!kb_req_may(req, KB_OP_DELETE, KB_RES_GROUP, id))
			err = KB_ERR_GROUP_AUTHORIZATION_FAILED;
		else if (!gs)
			err = KB_ERR_COORDINATOR_NOT_AVAILABLE;
		else if (!*id)
			err = KB_ERR_INVALID_GROUP_ID;
		else if (!g || g->state == KB_GS_DEAD)
			err = KB_ERR_GROUP_ID_NOT_FOUND;
		else if (g->state != KB_GS_EMPTY || g->n_members)
			err = KB_ERR_NON_EMPTY_GROUP;
		else if (kb_offsets_delete(gs, g, NULL, -1))
			err = KB_ERR_COORDINATOR_NOT_AVAILABLE;
		else {
			kb_info("group %s deleted", id);
			kb_group_destroy(gs, g);
		}
		kb_wr_vstr(w, flex, id);
		kb_wr_i16(w, err);
		kb_wr_tags(w, flex);
	}
	kb_rd_vtags(rd, flex);
	kb_wr_tags(w, flex);
	return rd->err ? KB_H_CLOSE : KB_H_DONE;
}
