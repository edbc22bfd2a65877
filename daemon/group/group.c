// SPDX-License-Identifier: GPL-2.0
/*
 * Group registry and the classic group state machine, after Kafka's
 * GroupCoordinator: members join (PreparingRebalance) until all known
 * members rejoined or the rebalance timeout passed, then the generation
 * moves on (CompletingRebalance), the leader's SyncGroup hands out the
 * assignment (Stable).  Losing a member in Stable or CompletingRebalance
 * starts a new rebalance; losing the last one leaves the group Empty.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/errors.h"
#include "group/group.h"
#include "common/log.h"

static struct kb_groups *the_groups;

struct kb_groups *kb_groups_get(struct kb_broker *b)
{
	struct kb_groups *gs = the_groups;

	if (gs && gs->b == b)
		return gs;
	/* A new broker in this process (unit tests): start over. */
	gs = calloc(1, sizeof(*gs));
	if (!gs)
		return NULL;
	gs->b = b;
	gs->fd = gs->dfd = -1;
	if (kb_offsets_open(gs))
		kb_err("consumer offsets unavailable: commits will fail");
	the_groups = gs;
	return gs;
}

void kb_groups_close(void)
{
	struct kb_groups *gs = the_groups;

	if (!gs)
		return;
	if (gs->fd >= 0)
		close(gs->fd);
	if (gs->dfd >= 0)
		close(gs->dfd);
	gs->fd = gs->dfd = -1;
}

const char *kb_group_state_name(enum kb_group_state s)
{
	static const char *const names[] = {
		[KB_GS_EMPTY] = "Empty",
		[KB_GS_PREPARING] = "PreparingRebalance",
		[KB_GS_COMPLETING] = "CompletingRebalance",
		[KB_GS_STABLE] = "Stable",
		[KB_GS_DEAD] = "Dead",
	};

	return names[s];
}

struct kb_group *kb_group_find(struct kb_groups *gs, const char *id)
{
	struct kb_group *g;

	for (g = gs->head; g; g = g->next)
		if (!strcmp(g->id, id))
			return g;
	return NULL;
}

struct kb_group *kb_group_create(struct kb_groups *gs, const char *id)
{
	struct kb_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->id = strdup(id);
	if (!g->id) {
		free(g);
		return NULL;
	}
	g->state = KB_GS_EMPTY;
	g->next = gs->head;
	gs->head = g;
	return g;
}

void kb_member_free(struct kb_member *m)
{
	int i;

	for (i = 0; i < m->n_protos; i++) {
		free(m->protos[i].name);
		free(m->protos[i].meta);
	}
	free(m->protos);
	free(m->assign);
	free(m->id);
	free(m->instance_id);
	free(m->client_id);
	free(m->client_host);
	free(m);
}

void kb_group_destroy(struct kb_groups *gs, struct kb_group *g)
{
	struct kb_group **pp;
	struct kb_pending *p;
	size_t i;

	for (pp = &gs->head; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	while (g->members) {
		struct kb_member *m = g->members;

		g->members = m->next;
		kb_member_free(m);
	}
	while ((p = g->pending)) {
		g->pending = p->next;
		free(p->id);
		free(p);
	}
	for (i = 0; i < g->n_offs; i++) {
		free(g->offs[i].topic);
		free(g->offs[i].meta);
	}
	free(g->offs);
	free(g->protocol_type);
	free(g->protocol);
	free(g->id);
	free(g);
}

struct kb_member *kb_member_find(struct kb_group *g, const char *id)
{
	struct kb_member *m;

	for (m = g->members; m; m = m->next)
		if (!strcmp(m->id, id))
			return m;
	return NULL;
}

struct kb_member *kb_member_by_instance(struct kb_group *g, const char *iid)
{
	struct kb_member *m;

	if (!iid)
		return NULL;
	for (m = g->members; m; m = m->next)
		if (m->instance_id && !strcmp(m->instance_id, iid))
			return m;
	return NULL;
}

struct kb_pending *kb_pending_find(struct kb_group *g, const char *id)
{
	struct kb_pending *p;

	for (p = g->pending; p; p = p->next)
		if (!strcmp(p->id, id))
			return p;
	return NULL;
}

void kb_pending_remove(struct kb_group *g, const char *id)
{
	struct kb_pending **pp, *p;

	for (pp = &g->pending; (p = *pp); pp = &p->next) {
		if (!strcmp(p->id, id)) {
			*pp = p->next;
			free(p->id);
			free(p);
			return;
		}
	}
}

/* A static member id that is no longer the one mapped to its instance. */
bool kb_static_fenced(struct kb_group *g, const char *iid, const char *mid)
{
	struct kb_member *m = kb_member_by_instance(g, iid);

	return m && strcmp(m->id, mid);
}

int16_t kb_member_check(struct kb_group *g, const char *member,
			const char *inst, const int32_t *gen,
			struct kb_member **mp)
{
	*mp = NULL;
	if (inst && kb_static_fenced(g, inst, member))
		return KB_ERR_FENCED_INSTANCE_ID;
	*mp = kb_member_find(g, member);
	if (!*mp)
		return KB_ERR_UNKNOWN_MEMBER_ID;
	if (gen && *gen != g->generation)
		return KB_ERR_ILLEGAL_GENERATION;
	return KB_ERR_NONE;
}

const struct kb_proto *kb_member_proto(const struct kb_member *m,
				       const char *name)
{
	int i;

	if (!name)
		return NULL;
	for (i = 0; i < m->n_protos; i++)
		if (!strcmp(m->protos[i].name, name))
			return &m->protos[i];
	return NULL;
}

static bool all_support(struct kb_group *g, const char *name)
{
	struct kb_member *m;

	for (m = g->members; m; m = m->next)
		if (!kb_member_proto(m, name))
			return false;
	return true;
}

bool kb_group_supports(struct kb_group *g, const char *ptype,
		       struct kb_proto *protos, int n)
{
	int i;

	if (!g->n_members)
		return ptype && *ptype && n > 0;
	if (!g->protocol_type || !ptype || strcmp(g->protocol_type, ptype))
		return false;
	for (i = 0; i < n; i++)
		if (all_support(g, protos[i].name))
			return true;
	return false;
}

/* Every member votes for its most preferred protocol that all members
 * support; the most votes wins, ties go to the first member's order. */
const char *kb_group_select_protocol(struct kb_group *g)
{
	struct kb_member *first = g->members, *m;
	const char *best = NULL;
	int i, j, best_votes = -1;

	if (!first)
		return NULL;
	for (i = 0; i < first->n_protos; i++) {
		const char *cand = first->protos[i].name;
		int votes = 0;

		if (!all_support(g, cand))
			continue;
		for (m = g->members; m; m = m->next) {
			for (j = 0; j < m->n_protos; j++)
				if (all_support(g, m->protos[j].name))
					break;
			if (j < m->n_protos && !strcmp(m->protos[j].name, cand))
				votes++;
		}
		if (votes > best_votes) {
			best = cand;
			best_votes = votes;
		}
	}
	return best;
}

/* ConsumerProtocolSubscription: version, topics, ... */
bool kb_group_subscribed(struct kb_group *g, const char *topic)
{
	struct kb_member *m;
	size_t tl = strlen(topic);

	if (!g->protocol_type || strcmp(g->protocol_type, "consumer"))
		return false;
	for (m = g->members; m; m = m->next) {
		const struct kb_proto *p = kb_member_proto(m, g->protocol);
		struct kb_rd rd;
		int32_t n, i;

		if (!p && m->n_protos)
			p = &m->protos[0];
		if (!p || !p->meta)
			continue;
		kb_rd_init(&rd, p->meta, p->len);
		kb_rd_i16(&rd);
		n = kb_rd_array(&rd);
		for (i = 0; i < n && !rd.err; i++) {
			struct kb_str s = kb_rd_str(&rd);

			if (!rd.err && (size_t)s.len == tl &&
			    !memcmp(s.ptr, topic, tl))
				return true;
		}
	}
	return false;
}

static void wake(struct kb_groups *gs)
{
	gs->b->wake = true;
}

void kb_group_prepare_rebalance(struct kb_groups *gs, struct kb_group *g,
				const char *why)
{
	int64_t now = kb_now_mono_ms();
	int32_t max_rb = 0;
	struct kb_member *m;

	if (g->state == KB_GS_PREPARING || g->state == KB_GS_DEAD)
		return;
	for (m = g->members; m; m = m->next) {
		/* Members waiting for an assignment must rejoin. */
		if (m->sync)
			kb_member_wait_answer(m->sync, g,
					      KB_ERR_REBALANCE_IN_PROGRESS);
		if (m->rebalance_ms > max_rb)
			max_rb = m->rebalance_ms;
	}
	g->delay_until = 0;
	if (g->state == KB_GS_EMPTY)
		g->delay_until = now + (max_rb < KB_GROUP_INITIAL_DELAY_MS ?
					max_rb : KB_GROUP_INITIAL_DELAY_MS);
	g->rebalance_deadline = now + max_rb;
	kb_info("group %s: preparing rebalance from %s, generation %d: %s",
		g->id, kb_group_state_name(g->state), g->generation, why);
	g->state = KB_GS_PREPARING;
	wake(gs);
}

static void unlink_member(struct kb_group *g, struct kb_member *m)
{
	struct kb_member **pp;

	for (pp = &g->members; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			g->n_members--;
			break;
		}
	}
	if (m->join)
		kb_member_wait_answer(m->join, g, KB_ERR_UNKNOWN_MEMBER_ID);
	if (m->sync)
		kb_member_wait_answer(m->sync, g, KB_ERR_UNKNOWN_MEMBER_ID);
	if (g->leader == m) {
		struct kb_member *n;

		g->leader = NULL;
		for (n = g->members; n && !g->leader; n = n->next)
			if (n->joined)
				g->leader = n;
		if (!g->leader)
			g->leader = g->members;
	}
	kb_member_free(m);
}

void kb_group_remove_member(struct kb_groups *gs, struct kb_group *g,
			    struct kb_member *m, const char *why)
{
	kb_info("group %s: member %s leaves (%s)", g->id, m->id, why);
	unlink_member(g, m);
	switch (g->state) {
	case KB_GS_STABLE:
	case KB_GS_COMPLETING:
		kb_group_prepare_rebalance(gs, g, "member removed");
		/* With nobody left the join completes at once. */
		kb_group_try_complete_join(gs, g);
		break;
	case KB_GS_PREPARING:
		kb_group_try_complete_join(gs, g);
		break;
	default:
		break;
	}
	wake(gs);
}

bool kb_group_try_complete_join(struct kb_groups *gs, struct kb_group *g)
{
	int64_t now = kb_now_mono_ms();
	struct kb_member *m, *next;
	bool all = !g->pending;
	const char *proto;

	if (g->state != KB_GS_PREPARING)
		return false;
	for (m = g->members; m; m = m->next)
		if (!m->joined)
			all = false;
	if (!((all && now >= g->delay_until) || now >= g->rebalance_deadline))
		return false;
	/* Dynamic members that did not rejoin in time are out; static ones
	 * keep their place until their session expires. */
	for (m = g->members; m; m = next) {
		next = m->next;
		if (!m->joined && !m->instance_id) {
			kb_info("group %s: member %s did not rejoin in time",
				g->id, m->id);
			unlink_member(g, m);
		}
	}
	while (g->pending)
		kb_pending_remove(g, g->pending->id);
	if (!g->leader || !g->leader->joined) {
		g->leader = NULL;
		for (m = g->members; m && !g->leader; m = m->next)
			if (m->joined)
				g->leader = m;
		if (!g->leader && g->members) {
			/* Only absent static members: wait for them. */
			g->rebalance_deadline = now + g->members->rebalance_ms;
			return false;
		}
	}
	g->generation++;
	free(g->protocol);
	g->protocol = NULL;
	if (!g->n_members) {
		g->state = KB_GS_EMPTY;
		g->leader = NULL;
		g->empty_since_ms = kb_now_real_ms();
		kb_info("group %s: generation %d is empty", g->id,
			g->generation);
		wake(gs);
		return true;
	}
	proto = kb_group_select_protocol(g);
	g->protocol = proto ? strdup(proto) : NULL;
	g->state = KB_GS_COMPLETING;
	kb_info("group %s: generation %d with %d member(s), protocol %s, leader %s",
		g->id, g->generation, g->n_members,
		g->protocol ? g->protocol : "(none)", g->leader->id);
	for (m = g->members; m; m = m->next) {
		m->last_hb = now;
		if (m->join)
			kb_member_wait_answer(m->join, g, KB_ERR_NONE);
		m->joined = false;
	}
	wake(gs);
	return true;
}

int64_t kb_group_join_deadline(struct kb_group *g, int64_t now)
{
	/*
	 * Only the rebalance timeout ends a join phase that is still
	 * waiting for members: session expiries, the initial delay and
	 * members rejoining are seen by the 100 ms tick and by other
	 * requests, which complete the join and wake the parked ones.  An
	 * earlier deadline would have to answer before the phase is over,
	 * and no JoinGroup answer fits there: Kafka has none, and
	 * librdkafka hands REBALANCE_IN_PROGRESS to the application.
	 */
	int64_t dl = g->rebalance_deadline;

	return dl < now + 20 ? now + 20 : dl;
}

void kb_group_tick(struct kb_groups *gs, struct kb_group *g)
{
	int64_t now = kb_now_mono_ms();
	struct kb_member *m;
	struct kb_pending *p, *pn;

	for (p = g->pending; p; p = pn) {
		pn = p->next;
		if (now >= p->expire) {
			kb_dbg("group %s: pending member %s expired", g->id,
			       p->id);
			kb_pending_remove(g, p->id);
		}
	}
again:
	for (m = g->members; m; m = m->next) {
		bool alive = m->join || m->sync ||
			     (g->state == KB_GS_PREPARING && m->joined);

		if (!alive && now >= m->last_hb + m->session_ms) {
			/* Removal can take others along: rescan. */
			kb_group_remove_member(gs, g, m, "session timeout");
			goto again;
		}
	}
	kb_group_try_complete_join(gs, g);
}

void kb_groups_tick(struct kb_groups *gs)
{
	int64_t wall = kb_now_real_ms();
	bool expire = wall - gs->last_expire >= 1000;
	struct kb_group *g, *next;

	if (expire)
		gs->last_expire = wall;
	for (g = gs->head; g; g = next) {
		next = g->next;
		kb_group_tick(gs, g);
		if (expire)
			kb_offsets_expire(gs, g, wall);
		if (g->state == KB_GS_EMPTY && !g->n_members && !g->n_offs &&
		    !g->pending)
			kb_group_destroy(gs, g);
	}
}
