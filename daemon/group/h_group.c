// SPDX-License-Identifier: GPL-2.0
/*
 * Group membership APIs, FindCoordinator and JoinGroup (SyncGroup,
 * Heartbeat and LeaveGroup are h_group_sync.c's).  Error precedence
 * follows Kafka's GroupCoordinator so clients see the same codes at the
 * same points.  JoinGroup parks until the join phase completes: every
 * known member rejoined (after the initial delay of a group that was
 * Empty) or the rebalance timeout passed, when the members that did not
 * rejoin are removed.  It is never answered REBALANCE_IN_PROGRESS:
 * librdkafka treats that answer to a JoinGroup as fatal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth/req.h"
#include "common/log.h"
#include "group/group.h"
#include "group/wait.h"
#include "proto/errors.h"

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

/* ---- FindCoordinator ---- */

static void coord_entry(struct kb_req *req, struct kb_wr *w, bool flex,
			int16_t ver, int8_t type, struct kb_str key)
{
	/*
	 * No transaction coordinator: the error both librdkafka and the Java
	 * client treat as fatal, as InitProducerId answers, so that
	 * init_transactions() fails at once instead of retrying until its
	 * timeout (COORDINATOR_NOT_AVAILABLE) or, in librdkafka, for ever
	 * (UNSUPPORTED_VERSION).
	 */
	int16_t err = kb_coord_denied(req, type, key) ?:
		      type == 0 ? KB_ERR_NONE :
		      type == 1 ? KB_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED :
				  KB_ERR_INVALID_REQUEST;

	const char *msg = err == KB_ERR_GROUP_AUTHORIZATION_FAILED ?
			  "not authorized" :
			  type == 1 ? "transactions are not supported" :
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
		struct kb_str key = kb_rd_vstr(rd, flex);

		if (ver >= 1)
			type = kb_rd_i8(rd);
		kb_rd_vtags(rd, flex);
		if (rd->err)
			return KB_H_CLOSE;
		if (ver >= 1)
			kb_wr_i32(w, 0);
		coord_entry(req, w, flex, ver, type, key);
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
		coord_entry(req, w, flex, ver, type, key);
		kb_wr_tags(w, flex);
	}
	kb_rd_vtags(rd, flex);
	kb_wr_tags(w, flex);
	return rd->err ? KB_H_CLOSE : KB_H_DONE;
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
		struct kb_bytes meta = kb_rd_vbytes(rd, flex);
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
				    struct kb_group_wait *jw)
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
	kb_wait_attach(jw, g, m);
	kb_info("group %s: member %s joins%s%s", g->id, m->id,
		m->instance_id ? " as static " : "",
		m->instance_id ? m->instance_id : "");
	maybe_prepare(gs, g, "new member");
	return m;
}

/* A known static instance joins with a new member id. */
static int16_t replace_static(struct kb_groups *gs, struct kb_group *g,
			      struct kb_member *m, const char *new_id,
			      struct join_req *j, struct kb_group_wait *jw,
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
		if (kb_streq(sel, g->protocol)) {
			/* Same protocol: keep the assignment, no rebalance;
			 * the old leader id keeps this one from assigning. */
			kb_join_current(w, ver, flex, g, m,
					leader ? leader : "");
			break;
		}
		kb_wait_attach(jw, g, m);
		kb_group_prepare_rebalance(gs, g,
					   "static member protocol change");
		break;
	case KB_GS_COMPLETING:
		kb_wait_attach(jw, g, m);
		kb_group_prepare_rebalance(gs, g, "static member rejoined");
		break;
	default:
		kb_wait_attach(jw, g, m);
		break;
	}
	free(leader);
	return KB_ERR_NONE;
}

static int16_t join(struct kb_req *req, struct kb_groups *gs,
		    struct join_req *j, struct kb_group_wait *jw,
		    struct kb_wr *w, struct kb_group **gout)
{
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	bool unknown = !*j->member_id;
	struct kb_group *g;
	struct kb_member *m;
	char id[320];

	if (!kb_req_may(req, KB_OP_READ, KB_RES_GROUP, j->group))
		return KB_ERR_GROUP_AUTHORIZATION_FAILED;
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
			kb_join_err(w, ver, flex, KB_ERR_MEMBER_ID_REQUIRED, id);
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
		kb_wait_attach(jw, g, m);
		break;
	case KB_GS_COMPLETING:
		if (protos_match(m, j)) {
			/* Lost the first response: same answer again. */
			kb_join_current(w, ver, flex, g, m,
					g->leader ? g->leader->id : "");
			break;
		}
		member_set_protos(m, j);
		kb_wait_attach(jw, g, m);
		kb_group_prepare_rebalance(gs, g, "member metadata changed");
		break;
	case KB_GS_STABLE:
		if (g->leader != m && protos_match(m, j)) {
			kb_join_current(w, ver, flex, g, m,
					g->leader ? g->leader->id : "");
			m->last_hb = kb_now_mono_ms();
			break;
		}
		member_set_protos(m, j);
		kb_wait_attach(jw, g, m);
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
	struct kb_group_wait *jw;
	struct kb_group *g = NULL;
	int16_t err;

	if (!join_parse(req, &j)) {
		join_req_free(&j);
		return KB_H_CLOSE;
	}
	gs = kb_groups_get(req->b);
	jw = gs ? kb_wait_new(gs, req, false) : NULL;
	if (!jw) {
		kb_join_err(&resp->w, ver, req->flex,
			    KB_ERR_COORDINATOR_NOT_AVAILABLE, j.member_id);
		join_req_free(&j);
		return KB_H_DONE;
	}
	kb_groups_tick(gs);
	err = join(req, gs, &j, jw, &resp->w, &g);
	join_req_free(&j);
	if (err) {
		kb_join_err(&resp->w, ver, req->flex, err, "");
		kb_wait_free(&jw->park);
		return KB_H_DONE;
	}
	if (!jw->m && !jw->ready) {
		/* Answered at once (MEMBER_ID_REQUIRED, current generation). */
		kb_wait_free(&jw->park);
		return KB_H_DONE;
	}
	kb_group_try_complete_join(gs, g);
	return kb_wait_park(jw, resp,
			    kb_group_join_deadline(g, kb_now_mono_ms()));
}
