// SPDX-License-Identifier: GPL-2.0
/*
 * Group membership APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat
 * and LeaveGroup.  Error precedence follows Kafka's GroupCoordinator so
 * clients see the same codes at the same points.  JoinGroup parks until
 * the join phase completes; SyncGroup parks until the leader's assignment
 * arrives.  A parked request whose deadline passes without the group
 * having moved on is answered REBALANCE_IN_PROGRESS: both librdkafka and
 * the Java client simply rejoin, which re-arms the wait.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "proto/errors.h"
#include "group/group.h"
#include "common/log.h"

#define container_of(p, type, field) \
	((type *)((char *)(p) - offsetof(type, field)))

/* A parked JoinGroup or SyncGroup of one member: m->join or m->sync. */
struct member_wait {
	struct kb_park park;
	struct kb_member_wait base;	/* what the state machine sees */
	struct kb_groups *gs;
	struct kb_group *g;		/* valid while m is set */
	struct kb_member *m;
	bool sync;			/* SyncGroup, else JoinGroup */
	int16_t ver;
	bool flex;
	bool ready;
	struct kb_wr out;		/* response body once ready */
};

static char *dupstr(struct kb_str s)
{
	char *p;

	if (!s.ptr || s.len < 0)
		return NULL;
	p = malloc(s.len + 1);
	if (p) {
		memcpy(p, s.ptr, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static struct kb_bytes rd_vbytes(struct kb_rd *rd, bool flex)
{
	return flex ? kb_rd_cbytes(rd) : kb_rd_bytes(rd);
}

/* ---- FindCoordinator ---- */

static void coord_entry(struct kb_req *req, struct kb_wr *w, bool flex,
			int16_t ver, int8_t type)
{
	/*
	 * No transaction coordinator: the error both librdkafka and the Java
	 * client treat as fatal, as InitProducerId answers, so that
	 * init_transactions() fails at once instead of retrying until its
	 * timeout (COORDINATOR_NOT_AVAILABLE) or, in librdkafka, for ever
	 * (UNSUPPORTED_VERSION).
	 */
	int16_t err = type == 0 ? KB_ERR_NONE :
		      type == 1 ? KB_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED :
				  KB_ERR_INVALID_REQUEST;

	const char *msg = type == 1 ? "transactions are not supported" :
			  err ? "unknown coordinator type" : NULL;

	if (ver <= 3)
		kb_wr_i16(w, err);
	if (ver >= 1 && ver <= 3)
		kb_wr_vnstr(w, flex, msg);
	kb_wr_i32(w, err ? -1 : req->b->cfg->broker_id);
	kb_wr_vstr(w, flex, err ? "" : req->adv_host);
	kb_wr_i32(w, err ? -1 : req->adv_port);
	if (ver >= 4) {
		kb_wr_i16(w, err);
		kb_wr_vnstr(w, flex, msg);
	}
}

int kb_h_find_coordinator(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	int8_t type = 0;
	int32_t n, i;

	if (ver <= 3) {
		kb_rd_vstr(rd, flex);
		if (ver >= 1)
			type = kb_rd_i8(rd);
		kb_rd_vtags(rd, flex);
		if (rd->err)
			return KB_H_CLOSE;
		if (ver >= 1)
			kb_wr_i32(w, 0);
		coord_entry(req, w, flex, ver, type);
		kb_wr_tags(w, flex);
		return KB_H_DONE;
	}
	type = kb_rd_i8(rd);
	n = kb_rd_varray(rd, flex);
	if (rd->err || n < 0)
		return KB_H_CLOSE;
	kb_wr_i32(w, 0);
	kb_wr_varray(w, flex, n);
	for (i = 0; i < n; i++) {
		struct kb_str key = kb_rd_vstr(rd, flex);

		if (rd->err)
			return KB_H_CLOSE;
		kb_wr_cstr(w, key.ptr, key.len);
		coord_entry(req, w, flex, ver, type);
		kb_wr_tags(w, flex);
	}
	kb_rd_vtags(rd, flex);
	kb_wr_tags(w, flex);
	return rd->err ? KB_H_CLOSE : KB_H_DONE;
}

/* ---- JoinGroup and SyncGroup responses, parked requests ---- */

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

static void join_err(struct kb_wr *w, int16_t ver, bool flex, int16_t err,
		     const char *mid)
{
	join_body(w, ver, flex, err, -1, NULL, NULL, "", mid, NULL);
}

/* The current generation as this member sees it. */
static void join_current(struct kb_wr *w, int16_t ver, bool flex,
			 struct kb_group *g, struct kb_member *m,
			 const char *leader)
{
	join_body(w, ver, flex, KB_ERR_NONE, g->generation, g->protocol_type,
		  g->protocol, leader, m->id,
		  g->leader == m && !strcmp(leader, m->id) ? g : NULL);
}

static void sync_body(struct kb_wr *w, int16_t ver, bool flex, int16_t err,
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
static void wait_answer(struct member_wait *w, struct kb_group *g,
			int16_t err)
{
	struct kb_member *m = w->m;

	if (!m)
		return;
	if (w->sync) {
		if (err)
			sync_body(&w->out, w->ver, w->flex, err, NULL, NULL,
				  NULL, 0);
		else
			sync_body(&w->out, w->ver, w->flex, 0,
				  g->protocol_type, g->protocol, m->assign,
				  m->assign_len);
		m->last_hb = kb_now_mono_ms();
		m->sync = NULL;
	} else {
		if (err)
			join_err(&w->out, w->ver, w->flex, err, m->id);
		else
			join_current(&w->out, w->ver, w->flex, g, m,
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
	wait_answer(container_of(b, struct member_wait, base), g, err);
}

static void wait_free(struct kb_park *pk)
{
	struct member_wait *w = (struct member_wait *)pk;

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
	struct member_wait *w = (struct member_wait *)pk;

	if (!w->ready && w->g && expired)
		kb_group_tick(w->gs, w->g);
	if (!w->ready) {
		if (!expired)
			return false;
		/* Join not complete at an early deadline, or the leader is
		 * alive but has not assigned: the member rejoins. */
		if (!w->sync) {
			w->m->joined = false;
			w->m->last_hb = kb_now_mono_ms();
		}
		wait_answer(w, w->g, KB_ERR_REBALANCE_IN_PROGRESS);
	}
	kb_wr_raw(&resp->w, w->out.buf, w->out.len);
	return true;
}

static struct member_wait *wait_new(struct kb_groups *gs,
				    struct kb_req *req, bool sync)
{
	struct member_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->gs = gs;
	w->sync = sync;
	w->ver = req->hdr.api_version;
	w->flex = req->flex;
	w->park.poll = wait_poll;
	w->park.free = wait_free;
	w->base.answer = answer;
	kb_wr_init(&w->out, 256);
	return w;
}

/* Parks @w on @m, answering the request it replaces. */
static void wait_attach(struct member_wait *w, struct kb_group *g,
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
static int wait_park(struct member_wait *w, struct kb_resp *resp,
		     int64_t dl)
{
	if (w->ready) {
		kb_wr_raw(&resp->w, w->out.buf, w->out.len);
		wait_free(&w->park);
		return KB_H_DONE;
	}
	w->park.deadline_ms = dl;
	resp->park = &w->park;
	return KB_H_PARK;
}

/* ---- JoinGroup ---- */

static void new_member_id(char *buf, size_t len, const char *prefix)
{
	uint8_t r[16];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
		uint64_t t = (uint64_t)kb_now_mono_ms() ^ (uintptr_t)buf;

		for (i = 0; i < sizeof(r); i++)
			r[i] = (uint8_t)(t >> (i % 8 * 8)) ^ (uint8_t)rand();
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, len,
		 "%.180s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 prefix, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
		 r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

struct join_req {
	char *group;
	int32_t session_ms, rebalance_ms;
	char *member_id;
	char *instance_id;
	char *ptype;
	char *client_id;
	struct kb_proto *protos;
	int n_protos;
};

static void join_req_free(struct join_req *j)
{
	int i;

	for (i = 0; i < j->n_protos; i++) {
		free(j->protos[i].name);
		free(j->protos[i].meta);
	}
	free(j->protos);
	free(j->group);
	free(j->member_id);
	free(j->instance_id);
	free(j->ptype);
	free(j->client_id);
}

static bool join_parse(struct kb_req *req, struct join_req *j)
{
	struct kb_rd *rd = &req->rd;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	int32_t n, i;

	j->group = dupstr(kb_rd_vstr(rd, flex));
	j->session_ms = kb_rd_i32(rd);
	j->rebalance_ms = ver >= 1 ? kb_rd_i32(rd) : j->session_ms;
	j->member_id = dupstr(kb_rd_vstr(rd, flex));
	if (ver >= 5)
		j->instance_id = dupstr(kb_rd_vnstr(rd, flex));
	j->ptype = dupstr(kb_rd_vstr(rd, flex));
	n = kb_rd_varray(rd, flex);
	if (rd->err || n < 0 || !j->group || !j->member_id || !j->ptype)
		return false;
	j->protos = calloc(n ? n : 1, sizeof(*j->protos));
	if (!j->protos)
		return false;
	for (i = 0; i < n; i++) {
		struct kb_str name = kb_rd_vstr(rd, flex);
		struct kb_bytes meta = rd_vbytes(rd, flex);
		struct kb_proto *p = &j->protos[j->n_protos];

		kb_rd_vtags(rd, flex);
		if (rd->err)
			return false;
		p->name = dupstr(name);
		p->len = meta.len > 0 ? meta.len : 0;
		p->meta = malloc(p->len ? p->len : 1);
		if (!p->name || !p->meta) {
			free(p->name);
			free(p->meta);
			return false;
		}
		memcpy(p->meta, meta.ptr, p->len);
		j->n_protos++;
	}
	if (ver >= 8)
		kb_rd_vnstr(rd, flex);	/* reason */
	kb_rd_vtags(rd, flex);
	j->client_id = req->hdr.client_id.ptr ?
		       dupstr(req->hdr.client_id) : strdup("");
	return !rd->err && j->client_id;
}

/* Takes the request's protocols into @m. */
static void member_set_protos(struct kb_member *m, struct join_req *j)
{
	int i;

	for (i = 0; i < m->n_protos; i++) {
		free(m->protos[i].name);
		free(m->protos[i].meta);
	}
	free(m->protos);
	m->protos = j->protos;
	m->n_protos = j->n_protos;
	j->protos = NULL;
	j->n_protos = 0;
	m->session_ms = j->session_ms;
	m->rebalance_ms = j->rebalance_ms;
}

static bool protos_match(struct kb_member *m, struct join_req *j)
{
	int i;

	if (m->n_protos != j->n_protos)
		return false;
	for (i = 0; i < j->n_protos; i++)
		if (strcmp(m->protos[i].name, j->protos[i].name) ||
		    m->protos[i].len != j->protos[i].len ||
		    memcmp(m->protos[i].meta, j->protos[i].meta,
			   j->protos[i].len))
			return false;
	return true;
}

static void maybe_prepare(struct kb_groups *gs, struct kb_group *g,
			  const char *why)
{
	if (g->state == KB_GS_STABLE || g->state == KB_GS_COMPLETING ||
	    g->state == KB_GS_EMPTY)
		kb_group_prepare_rebalance(gs, g, why);
}

static struct kb_member *add_member(struct kb_groups *gs, struct kb_group *g,
				    const char *id, struct join_req *j,
				    struct member_wait *jw)
{
	struct kb_member *m = calloc(1, sizeof(*m)), **pp;

	if (!m)
		return NULL;
	m->id = strdup(id);
	m->instance_id = j->instance_id ? strdup(j->instance_id) : NULL;
	m->client_id = strdup(j->client_id);
	m->client_host = strdup("/127.0.0.1");
	if (!m->id || !m->client_id || !m->client_host ||
	    (j->instance_id && !m->instance_id)) {
		kb_member_free(m);
		return NULL;
	}
	member_set_protos(m, j);
	m->last_hb = kb_now_mono_ms();
	for (pp = &g->members; *pp; pp = &(*pp)->next)
		;
	*pp = m;
	g->n_members++;
	if (!g->leader)
		g->leader = m;
	if (!g->protocol_type || g->n_members == 1) {
		free(g->protocol_type);
		g->protocol_type = strdup(j->ptype);
	}
	wait_attach(jw, g, m);
	kb_info("group %s: member %s joins%s%s", g->id, m->id,
		m->instance_id ? " as static " : "",
		m->instance_id ? m->instance_id : "");
	maybe_prepare(gs, g, "new member");
	return m;
}

/* A known static instance joins with a new member id. */
static int16_t replace_static(struct kb_groups *gs, struct kb_group *g,
			      struct kb_member *m, const char *new_id,
			      struct join_req *j, struct member_wait *jw,
			      struct kb_wr *w, int16_t ver, bool flex)
{
	char *id = strdup(new_id);
	char *leader;
	const char *sel;

	if (!id)
		return KB_ERR_UNKNOWN_SERVER_ERROR;
	if (m->join)
		kb_member_wait_answer(m->join, g, KB_ERR_FENCED_INSTANCE_ID);
	if (m->sync)
		kb_member_wait_answer(m->sync, g, KB_ERR_FENCED_INSTANCE_ID);
	leader = strdup(g->leader ? g->leader->id : "");
	kb_info("group %s: static member %s replaces %s", g->id,
		m->instance_id, m->id);
	free(m->id);
	m->id = id;
	member_set_protos(m, j);
	m->last_hb = kb_now_mono_ms();
	switch (g->state) {
	case KB_GS_STABLE:
		sel = kb_group_select_protocol(g);
		if (streq(sel, g->protocol)) {
			/* Same protocol: keep the assignment, no rebalance;
			 * the old leader id keeps this one from assigning. */
			join_current(w, ver, flex, g, m, leader ? leader : "");
			break;
		}
		wait_attach(jw, g, m);
		kb_group_prepare_rebalance(gs, g, "static member protocol change");
		break;
	case KB_GS_COMPLETING:
		wait_attach(jw, g, m);
		kb_group_prepare_rebalance(gs, g, "static member rejoined");
		break;
	default:
		wait_attach(jw, g, m);
		break;
	}
	free(leader);
	return KB_ERR_NONE;
}

static int16_t join(struct kb_req *req, struct kb_groups *gs,
		    struct join_req *j, struct member_wait *jw,
		    struct kb_wr *w, struct kb_group **gout)
{
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	bool unknown = !*j->member_id;
	struct kb_group *g;
	struct kb_member *m;
	char id[320];

	if (!*j->group)
		return KB_ERR_INVALID_GROUP_ID;
	if (j->session_ms < KB_GROUP_MIN_SESSION_MS ||
	    j->session_ms > KB_GROUP_MAX_SESSION_MS)
		return KB_ERR_INVALID_SESSION_TIMEOUT;
	if (j->rebalance_ms <= 0)
		j->rebalance_ms = j->session_ms;
	g = kb_group_find(gs, j->group);
	if (!g) {
		if (!unknown)
			return KB_ERR_UNKNOWN_MEMBER_ID;
		g = kb_group_create(gs, j->group);
		if (!g)
			return KB_ERR_UNKNOWN_SERVER_ERROR;
	}
	*gout = g;
	if (g->state == KB_GS_DEAD)
		return KB_ERR_COORDINATOR_NOT_AVAILABLE;
	if (!kb_group_supports(g, j->ptype, j->protos, j->n_protos))
		return KB_ERR_INCONSISTENT_GROUP_PROTOCOL;
	if (unknown) {
		new_member_id(id, sizeof(id), j->instance_id ?
			      j->instance_id : j->client_id);
		if (j->instance_id) {
			m = kb_member_by_instance(g, j->instance_id);
			if (m)
				return replace_static(gs, g, m, id, j, jw, w,
						      ver, flex);
		} else if (ver >= 4) {
			struct kb_pending *p = calloc(1, sizeof(*p));

			if (!p || !(p->id = strdup(id))) {
				free(p);
				return KB_ERR_UNKNOWN_SERVER_ERROR;
			}
			p->expire = kb_now_mono_ms() + j->session_ms;
			p->next = g->pending;
			g->pending = p;
			join_err(w, ver, flex, KB_ERR_MEMBER_ID_REQUIRED, id);
			return KB_ERR_NONE;
		}
		if (!add_member(gs, g, id, j, jw))
			return KB_ERR_UNKNOWN_SERVER_ERROR;
		return KB_ERR_NONE;
	}
	if (kb_pending_find(g, j->member_id)) {
		kb_pending_remove(g, j->member_id);
		if (j->instance_id)
			return KB_ERR_UNKNOWN_MEMBER_ID;
		if (!add_member(gs, g, j->member_id, j, jw))
			return KB_ERR_UNKNOWN_SERVER_ERROR;
		return KB_ERR_NONE;
	}
	if (kb_static_fenced(g, j->instance_id, j->member_id))
		return KB_ERR_FENCED_INSTANCE_ID;
	m = kb_member_find(g, j->member_id);
	if (!m || (j->instance_id && !kb_member_by_instance(g, j->instance_id)))
		return KB_ERR_UNKNOWN_MEMBER_ID;
	switch (g->state) {
	case KB_GS_PREPARING:
		member_set_protos(m, j);
		wait_attach(jw, g, m);
		break;
	case KB_GS_COMPLETING:
		if (protos_match(m, j)) {
			/* Lost the first response: same answer again. */
			join_current(w, ver, flex, g, m,
				     g->leader ? g->leader->id : "");
			break;
		}
		member_set_protos(m, j);
		wait_attach(jw, g, m);
		kb_group_prepare_rebalance(gs, g, "member metadata changed");
		break;
	case KB_GS_STABLE:
		if (g->leader != m && protos_match(m, j)) {
			join_current(w, ver, flex, g, m,
				     g->leader ? g->leader->id : "");
			m->last_hb = kb_now_mono_ms();
			break;
		}
		member_set_protos(m, j);
		wait_attach(jw, g, m);
		kb_group_prepare_rebalance(gs, g, g->leader == m ?
					   "leader rejoined" :
					   "member metadata changed");
		break;
	default:
		return KB_ERR_UNKNOWN_MEMBER_ID;
	}
	return KB_ERR_NONE;
}

int kb_h_join_group(struct kb_req *req, struct kb_resp *resp)
{
	int16_t ver = req->hdr.api_version;
	struct join_req j = { 0 };
	struct kb_groups *gs;
	struct member_wait *jw;
	struct kb_group *g = NULL;
	int16_t err;

	if (!join_parse(req, &j)) {
		join_req_free(&j);
		return KB_H_CLOSE;
	}
	gs = kb_groups_get(req->b);
	jw = gs ? wait_new(gs, req, false) : NULL;
	if (!jw) {
		join_err(&resp->w, ver, req->flex,
			 KB_ERR_COORDINATOR_NOT_AVAILABLE, j.member_id);
		join_req_free(&j);
		return KB_H_DONE;
	}
	kb_groups_tick(gs);
	err = join(req, gs, &j, jw, &resp->w, &g);
	join_req_free(&j);
	if (err) {
		join_err(&resp->w, ver, req->flex, err, "");
		wait_free(&jw->park);
		return KB_H_DONE;
	}
	if (!jw->m && !jw->ready) {
		/* Answered at once (MEMBER_ID_REQUIRED, current generation). */
		wait_free(&jw->park);
		return KB_H_DONE;
	}
	kb_group_try_complete_join(gs, g);
	return wait_park(jw, resp, kb_group_join_deadline(g, kb_now_mono_ms()));
}

/* ---- SyncGroup ---- */

/* Whether the @n assignments and the tags after them are all there. */
static bool assignments_whole(struct kb_rd rd, bool flex, int32_t n)
{
	for (int32_t i = 0; i < n && !rd.err; i++) {
		kb_rd_vstr(&rd, flex);
		rd_vbytes(&rd, flex);
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
		struct kb_bytes a = rd_vbytes(rd, flex);

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
 * What SyncGroup and Heartbeat both check first, in Kafka's order: the
 * group id, the group, a fenced static member, the member, its
 * generation.  Sets *gp and *mp as far as it got.
 */
static int16_t member_check(struct kb_groups *gs, const char *group,
			    const char *member, const char *inst, int32_t gen,
			    struct kb_group **gp, struct kb_member **mp)
{
	struct kb_group *g = *group ? kb_group_find(gs, group) : NULL;

	*gp = g;
	*mp = NULL;
	if (!*group)
		return KB_ERR_INVALID_GROUP_ID;
	if (!g)
		return KB_ERR_UNKNOWN_MEMBER_ID;
	if (g->state == KB_GS_DEAD)
		return KB_ERR_COORDINATOR_NOT_AVAILABLE;
	if (inst && kb_static_fenced(g, inst, member))
		return KB_ERR_FENCED_INSTANCE_ID;
	*mp = kb_member_find(g, member);
	if (!*mp)
		return KB_ERR_UNKNOWN_MEMBER_ID;
	if (gen != g->generation)
		return KB_ERR_ILLEGAL_GENERATION;
	return KB_ERR_NONE;
}

int kb_h_sync_group(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	struct kb_groups *gs = kb_groups_get(req->b);
	struct kb_str gid, mid, iid = { 0 }, ptype = { 0 }, pname = { 0 };
	char group[1024], member[512], inst[512], pt[256], pn[256];
	struct member_wait *sw;
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
	if (!gs) {
		err = KB_ERR_COORDINATOR_NOT_AVAILABLE;
		goto out;
	}
	kb_groups_tick(gs);
	err = member_check(gs, group, member, iid.ptr ? inst : NULL, gen, &g,
			   &m);
	if (err)
		goto out;
	if ((ptype.ptr && !streq(pt, g->protocol_type)) ||
	    (pname.ptr && !streq(pn, g->protocol)))
		err = KB_ERR_INCONSISTENT_GROUP_PROTOCOL;
	else if (g->state == KB_GS_EMPTY)
		err = KB_ERR_UNKNOWN_MEMBER_ID;
	else if (g->state == KB_GS_PREPARING)
		err = KB_ERR_REBALANCE_IN_PROGRESS;
	if (err)
		goto out;
	m->last_hb = kb_now_mono_ms();
	if (g->state == KB_GS_STABLE) {
		sync_body(&resp->w, ver, flex, 0, g->protocol_type,
			  g->protocol, m->assign, m->assign_len);
		return KB_H_DONE;
	}
	/* CompletingRebalance. */
	sw = wait_new(gs, req, true);
	if (!sw) {
		err = KB_ERR_UNKNOWN_SERVER_ERROR;
		goto out;
	}
	wait_attach(sw, g, m);
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
	return wait_park(sw, resp, dl < now + 20 ? now + 20 : dl);
out:
	sync_body(&resp->w, ver, flex, err, NULL, NULL, NULL, 0);
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
	if (!gs) {
		err = KB_ERR_COORDINATOR_NOT_AVAILABLE;
		goto out;
	}
	kb_groups_tick(gs);
	err = member_check(gs, group, member, iid.ptr ? inst : NULL, gen, &g,
			   &m);
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
	if (iid && kb_static_fenced(g, iid, mid))
		return KB_ERR_FENCED_INSTANCE_ID;
	m = kb_member_find(g, mid);
	if (!m)
		return KB_ERR_UNKNOWN_MEMBER_ID;
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
	if (!*group)
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
