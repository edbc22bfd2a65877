// SPDX-License-Identifier: GPL-2.0
/*
 * The group state machine (group/group.c) driven directly, as the
 * membership handlers drive it: Empty -> PreparingRebalance ->
 * CompletingRebalance with a generation, leader and protocol; parked
 * joins answered; member checks in Kafka's order; a member leaving and a
 * session expiring send the group back to a rebalance, and the last one
 * to Empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/broker.h"
#include "common/config.h"
#include "group/group.h"
#include "tap.h"

/* A parked request as the state machine sees it; records its answer. */
struct test_wait {
	struct kb_member_wait base;
	struct kb_member *m;
	int answers;
	int16_t err;
};

static void answer(struct kb_member_wait *w, struct kb_group *g, int16_t err)
{
	struct test_wait *tw = (struct test_wait *)w;

	(void)g;
	tw->answers++;
	tw->err = err;
	/* As the handler does: the wait leaves its member. */
	if (tw->m->join == w)
		tw->m->join = NULL;
	if (tw->m->sync == w)
		tw->m->sync = NULL;
}

static struct kb_member *member(struct kb_group *g, const char *id,
				const char *proto, const char *inst)
{
	struct kb_member *m = calloc(1, sizeof(*m)), **pp;

	m->id = strdup(id);
	m->instance_id = inst ? strdup(inst) : NULL;
	m->client_id = strdup("test");
	m->client_host = strdup("/127.0.0.1");
	m->session_ms = 10000;
	m->rebalance_ms = 10000;
	m->protos = calloc(1, sizeof(*m->protos));
	m->protos[0].name = strdup(proto);
	m->protos[0].meta = calloc(1, 1);
	m->n_protos = 1;
	m->last_hb = kb_now_mono_ms();
	for (pp = &g->members; *pp; pp = &(*pp)->next)
		;
	*pp = m;
	g->n_members++;
	if (!g->leader)
		g->leader = m;
	if (!g->protocol_type)
		g->protocol_type = strdup("consumer");
	return m;
}

static void park_join(struct kb_member *m, struct test_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->base.answer = answer;
	w->m = m;
	m->join = &w->base;
	m->joined = true;
}

int main(void)
{
	static char dir[] = "/tmp/kb-test-group-XXXXXX";
	static char *dirs[1];
	struct kb_config cfg = { 0 };
	struct kb_broker b = { 0 };
	struct test_wait w1, w2;
	struct kb_groups *gs;
	struct kb_group *g;
	struct kb_member *m1, *m2, *found;
	int32_t gen;

	if (!mkdtemp(dir))
		return 1;
	dirs[0] = dir;
	cfg.log_dirs = dirs;
	cfg.n_log_dirs = 1;
	b.cfg = &cfg;
	gs = kb_groups_get(&b);
	ok(gs != NULL, "coordinator opened");
	g = kb_group_create(gs, "g1");
	ok(g && g->state == KB_GS_EMPTY && kb_group_find(gs, "g1") == g,
	   "a new group is Empty and found by id");

	m1 = member(g, "m1", "range", NULL);
	park_join(m1, &w1);
	kb_group_prepare_rebalance(gs, g, "new member");
	ok(g->state == KB_GS_PREPARING && b.wake,
	   "first member: PreparingRebalance, parked requests woken");
	ok(g->delay_until > kb_now_mono_ms(),
	   "from Empty the join waits the initial rebalance delay");
	ok(!kb_group_try_complete_join(gs, g) && w1.answers == 0,
	   "the join does not complete inside the delay");
	g->delay_until = 0;
	ok(kb_group_try_complete_join(gs, g), "after it, the join completes");
	ok(g->state == KB_GS_COMPLETING && g->generation == 1 &&
	   g->leader == m1 && g->protocol && !strcmp(g->protocol, "range"),
	   "CompletingRebalance, generation 1, leader m1, protocol range");
	ok(w1.answers == 1 && w1.err == KB_ERR_NONE && !m1->join,
	   "the parked join is answered once, without error");

	gen = 1;
	ok(kb_member_check(g, "m1", NULL, &gen, &found) == KB_ERR_NONE &&
	   found == m1, "member check: m1 at generation 1");
	gen = 0;
	ok(kb_member_check(g, "m1", NULL, &gen, &found) ==
	   KB_ERR_ILLEGAL_GENERATION, "a stale generation is ILLEGAL_GENERATION");
	ok(kb_member_check(g, "nobody", NULL, NULL, &found) ==
	   KB_ERR_UNKNOWN_MEMBER_ID && !found, "an unknown member is UNKNOWN_MEMBER_ID");
	g->state = KB_GS_STABLE;

	/* A second, static member: the group rebalances without delay. */
	m2 = member(g, "m2", "range", "inst-2");
	park_join(m2, &w2);
	ok(kb_member_check(g, "m2-old", "inst-2", NULL, &found) ==
	   KB_ERR_FENCED_INSTANCE_ID,
	   "another member id for a static instance is FENCED_INSTANCE_ID");
	kb_group_prepare_rebalance(gs, g, "new member");
	ok(g->state == KB_GS_PREPARING && g->delay_until == 0,
	   "Stable -> PreparingRebalance, no initial delay");
	ok(!kb_group_try_complete_join(gs, g),
	   "the join waits while m1 has not rejoined");
	park_join(m1, &w1);
	ok(kb_group_try_complete_join(gs, g) && g->generation == 2 &&
	   g->n_members == 2 && w1.answers == 1 && w2.answers == 1,
	   "both rejoined: generation 2 with two members, both answered");

	/*
	 * A member that keeps heartbeating but does not rejoin (a consumer
	 * between two slow polls): the others' joins wait for the whole
	 * rebalance timeout, never answered early, and it is removed then.
	 */
	g->state = KB_GS_STABLE;
	kb_group_prepare_rebalance(gs, g, "member metadata changed");
	park_join(m1, &w1);
	m2->last_hb = kb_now_mono_ms() - 9000;	/* session ends in ~1 s */
	ok(kb_group_join_deadline(g, kb_now_mono_ms()) == g->rebalance_deadline,
	   "a parked join waits until the rebalance timeout, not a session end");
	m2->last_hb = kb_now_mono_ms();		/* it heartbeats */
	kb_group_tick(gs, g);
	ok(g->state == KB_GS_PREPARING && w1.answers == 0 && g->n_members == 2,
	   "while m2 heartbeats without rejoining, m1's join stays parked");
	g->rebalance_deadline = kb_now_mono_ms() - 1;
	kb_group_tick(gs, g);
	ok(g->state == KB_GS_COMPLETING && g->generation == 3 &&
	   w1.answers == 1 && w1.err == KB_ERR_NONE && g->n_members == 2,
	   "at the rebalance timeout the join completes without error");
	ok(kb_member_find(g, "m2") == m2,
	   "a static member that missed the join keeps its place");

	m2->last_hb = kb_now_mono_ms();
	m1->last_hb = kb_now_mono_ms();
	g->state = KB_GS_STABLE;
	found = member(g, "m3", "range", NULL);
	kb_group_prepare_rebalance(gs, g, "new member");
	park_join(m1, &w1);
	park_join(m2, &w2);
	g->rebalance_deadline = kb_now_mono_ms() - 1;
	kb_group_tick(gs, g);
	ok(g->generation == 4 && g->n_members == 2 && !kb_member_find(g, "m3") &&
	   w1.answers == 1 && w1.err == KB_ERR_NONE && w2.err == KB_ERR_NONE,
	   "a dynamic member that missed the join is removed, the others answered");
	gen = 4;
	ok(kb_member_check(g, "m3", NULL, &gen, &found) ==
	   KB_ERR_UNKNOWN_MEMBER_ID, "its next request: UNKNOWN_MEMBER_ID");

	/* A parked join of a member that leaves is answered as unknown. */
	g->state = KB_GS_STABLE;
	park_join(m2, &w2);
	kb_group_remove_member(gs, g, m2, "left the group");
	ok(w2.answers == 1 && w2.err == KB_ERR_UNKNOWN_MEMBER_ID,
	   "a leaving member's parked join: UNKNOWN_MEMBER_ID");
	ok(g->n_members == 1 && g->state == KB_GS_PREPARING,
	   "the group rebalances without it");

	/* m1's session runs out: the last member gone, the group is Empty. */
	m1->last_hb = kb_now_mono_ms() - 20000;
	m1->joined = false;
	kb_group_tick(gs, g);
	ok(g->n_members == 0 && g->state == KB_GS_EMPTY && g->generation == 5,
	   "session timeout of the last member: Empty at generation 5");
	ok(!strcmp(kb_group_state_name(g->state), "Empty"),
	   "state names are Kafka's");
	kb_groups_tick(gs);
	ok(!kb_group_find(gs, "g1"),
	   "an Empty group with no offsets is forgotten on the next tick");

	kb_groups_close();
	return tap_done();
}
