// SPDX-License-Identifier: GPL-2.0
/*
 * JoinGroup and SyncGroup responses, and the requests parked until the
 * state machine answers them (group/wait.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "group/group.h"
#include "group/wait.h"

#define container_of(p, type, field) \
	((type *)((char *)(p) - offsetof(type, field)))

static void join_body(struct kb_wr *w, int16_t ver, bool flex, int16_t err,
		      int32_t gen, const char *ptype, const char *pname,
		      const char *leader, const char *mid,
		      struct kb_group *members)
{
	struct kb_member *m;
	int n = 0;

	if (ver >= 2)
		kb_wr_i32(w, 0);
	kb_wr_i16(w, err);
	kb_wr_i32(w, gen);
	if (ver >= 7) {
		kb_wr_vnstr(w, flex, ptype);
		kb_wr_vnstr(w, flex, pname);
	} else {
		kb_wr_vstr(w, flex, pname ? pname : "");
	}
	kb_wr_vstr(w, flex, leader ? leader : "");
	if (ver >= 9)
		kb_wr_bool(w, false);	/* skip_assignment */
	kb_wr_vstr(w, flex, mid ? mid : "");
	if (members)
		n = members->n_members;
	kb_wr_varray(w, flex, n);
	for (m = members ? members->members : NULL; m; m = m->next) {
		const struct kb_proto *p = kb_member_proto(m,
							   members->protocol);

		kb_wr_vstr(w, flex, m->id);
		if (ver >= 5)
			kb_wr_vnstr(w, flex, m->instance_id);
		/* Not nullable; every member has the chosen protocol anyway. */
		kb_wr_vbytes(w, flex, p ? p->meta : (const uint8_t *)"",
			  p ? p->len : 0);
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
}

void kb_join_err(struct kb_wr *w, int16_t ver, bool flex, int16_t err,
		 const char *mid)
{
	join_body(w, ver, flex, err, -1, NULL, NULL, "", mid, NULL);
}

/* The current generation as this member sees it. */
void kb_join_current(struct kb_wr *w, int16_t ver, bool flex,
		     struct kb_group *g, struct kb_member *m,
		     const char *leader)
{
	join_body(w, ver, flex, KB_ERR_NONE, g->generation, g->protocol_type,
		  g->protocol, leader, m->id,
		  g->leader == m && !strcmp(leader, m->id) ? g : NULL);
}

void kb_sync_body(struct kb_wr *w, int16_t ver, bool flex, int16_t err,
		  const char *ptype, const char *pname,
		  const uint8_t *assign, int32_t len)
{
	if (ver >= 1)
		kb_wr_i32(w, 0);
	kb_wr_i16(w, err);
	if (ver >= 5) {
		kb_wr_vnstr(w, flex, ptype);
		kb_wr_vnstr(w, flex, pname);
	}
	/* Not nullable: an error or no assignment is empty bytes. */
	kb_wr_vbytes(w, flex, assign ? assign : (const uint8_t *)"",
		  assign ? len : 0);
	kb_wr_tags(w, flex);
}

/* Writes @w's answer and detaches it from its member. */
static void wait_answer(struct kb_group_wait *w, struct kb_group *g,
			int16_t err)
{
	struct kb_member *m = w->m;

	if (!m)
		return;
	if (w->sync) {
		if (err)
			kb_sync_body(&w->out, w->ver, w->flex, err, NULL, NULL,
				  NULL, 0);
		else
			kb_sync_body(&w->out, w->ver, w->flex, 0,
				  g->protocol_type, g->protocol, m->assign,
				  m->assign_len);
		m->last_hb = kb_now_mono_ms();
		m->sync = NULL;
	} else {
		if (err)
			kb_join_err(&w->out, w->ver, w->flex, err, m->id);
		else
			kb_join_current(&w->out, w->ver, w->flex, g, m,
				     g->leader ? g->leader->id : "");
		m->join = NULL;
	}
	w->m = NULL;
	w->g = NULL;
	w->ready = true;
	w->gs->b->wake = true;
}

static void answer(struct kb_member_wait *b, struct kb_group *g,
		   int16_t err)
{
	wait_answer(container_of(b, struct kb_group_wait, base), g, err);
}

void kb_wait_free(struct kb_park *pk)
{
	struct kb_group_wait *w = (struct kb_group_wait *)pk;

	if (w->m) {
		/* The client went away: its session runs from now. */
		*(w->sync ? &w->m->sync : &w->m->join) = NULL;
		w->m->last_hb = kb_now_mono_ms();
	}
	kb_wr_free(&w->out);
	free(w);
}

static bool wait_poll(struct kb_park *pk, struct kb_resp *resp, bool expired)
{
	struct kb_group_wait *w = (struct kb_group_wait *)pk;

	if (!w->ready && w->g && expired)
		kb_group_tick(w->gs, w->g);
	if (!w->ready && expired && !w->sync && w->g &&
	    w->g->state == KB_GS_PREPARING) {
		/* The rebalance timeout passed: the phase ends now with the
		 * members that rejoined, this one among them. */
		w->g->rebalance_deadline = kb_now_mono_ms();
		kb_group_try_complete_join(w->gs, w->g);
	}
	if (!w->ready) {
		if (!expired)
			return false;
		/* A SyncGroup whose leader is alive but has not assigned
		 * within its session: the member rejoins, as Kafka's
		 * pending-sync timeout makes it. */
		if (!w->sync) {
			w->m->joined = false;
			w->m->last_hb = kb_now_mono_ms();
		}
		wait_answer(w, w->g, KB_ERR_REBALANCE_IN_PROGRESS);
	}
	kb_wr_raw(&resp->w, w->out.buf, w->out.len);
	return true;
}

struct kb_group_wait *kb_wait_new(struct kb_groups *gs, struct kb_req *req,
				  bool sync)
{
	struct kb_group_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->gs = gs;
	w->sync = sync;
	w->ver = req->hdr.api_version;
	w->flex = req->flex;
	w->park.poll = wait_poll;
	w->park.free = kb_wait_free;
	w->base.answer = answer;
	kb_wr_init(&w->out, 256);
	return w;
}

/* Parks @w on @m, answering the request it replaces. */
void kb_wait_attach(struct kb_group_wait *w, struct kb_group *g,
		    struct kb_member *m)
{
	struct kb_member_wait **slot = w->sync ? &m->sync : &m->join;

	if (*slot)
		kb_member_wait_answer(*slot, g, KB_ERR_REBALANCE_IN_PROGRESS);
	*slot = &w->base;
	if (!w->sync)
		m->joined = true;
	w->m = m;
	w->g = g;
}

/* Answers at once when @w is already answered, else parks it until @dl. */
int kb_wait_park(struct kb_group_wait *w, struct kb_resp *resp, int64_t dl)
{
	if (w->ready) {
		kb_wr_raw(&resp->w, w->out.buf, w->out.len);
		kb_wait_free(&w->park);
		return KB_H_DONE;
	}
	w->park.deadline_ms = dl;
	resp->park = &w->park;
	return KB_H_PARK;
}
