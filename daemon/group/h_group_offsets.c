// SPDX-License-Identifier: GPL-2.0
/*
 * OffsetCommit, OffsetFetch and OffsetDelete.  A commit is checked against
 * the group the way Kafka's validateOffsetCommit does (generation, member,
 * static instance, state), then all its partitions are written as one
 * batch and fdatasync'ed before the answer.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/req.h"
#include "proto/errors.h"
#include "proto/tplist.h"
#include "group/group.h"
#include "common/log.h"
#include "store/store.h"

struct oc_name {
	char name[KB_TOPIC_NAME_MAX + 1];
	bool ok;
};

struct oc_part {
	int32_t partition;
	int64_t offset;
	int32_t epoch;
	struct kb_str meta;
	int16_t err;
};

/* A whole OffsetCommit request, decoded before anything is committed. */
struct oc_req {
	char group[1024], member[512], inst[512];
	bool have_inst;
	int32_t gen;
	int64_t retention;		/* v2-4 retention_time, else -1 */
	struct kb_tp_list topics;	/* of struct oc_part */
	int32_t total;			/* partitions in all topics */
};

static void oc_read_part(struct kb_rd *rd, bool flex, int16_t ver, void *part)
{
	struct oc_part *p = part;

	p->partition = kb_rd_i32(rd);
	p->offset = kb_rd_i64(rd);
	/*
	 * v1's commit timestamp only ever set when the offset expires;
	 * offsets.retention.minutes decides that here, as for v5+.
	 */
	if (ver == 1)
		kb_rd_i64(rd);
	p->epoch = ver >= 6 ? kb_rd_i32(rd) : -1;
	p->meta = kb_rd_vnstr(rd, flex);
	kb_rd_vtags(rd, flex);
}

static bool oc_decode(struct kb_req *req, struct oc_req *o)
{
	struct kb_rd *rd = &req->rd;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	struct kb_str iid = { 0 };

	o->retention = -1;
	if (!kb_str_copy(o->group, sizeof(o->group), kb_rd_vstr(rd, flex)))
		return false;
	o->gen = kb_rd_i32(rd);
	if (!kb_str_copy(o->member, sizeof(o->member), kb_rd_vstr(rd, flex)))
		return false;
	if (ver >= 7)
		iid = kb_rd_vnstr(rd, flex);
	o->have_inst = iid.ptr;
	if (iid.ptr && !kb_str_copy(o->inst, sizeof(o->inst), iid))
		return false;
	if (ver >= 2 && ver <= 4)
		o->retention = kb_rd_i64(rd);
	if (!kb_tp_decode(rd, flex, ver, &o->topics, sizeof(struct oc_part),
			  oc_read_part))
		return false;
	kb_rd_vtags(rd, flex);
	for (int32_t t = 0; t < o->topics.n; t++)
		o->total += o->topics.topics[t].n > 0 ?
			    o->topics.topics[t].n : 0;
	return !rd->err;
}

/* Checks a commit against the group (created for simple commits). */
static int16_t commit_check(struct kb_groups *gs, struct kb_group **gp,
			    const char *group, int32_t gen, const char *member,
			    const char *inst)
{
	struct kb_group *g = kb_group_find(gs, group);
	struct kb_member *m;
	int16_t err;

	if (!g) {
		if (gen >= 0)
			return KB_ERR_ILLEGAL_GENERATION;
		g = kb_group_create(gs, group);
		if (!g)
			return KB_ERR_COORDINATOR_NOT_AVAILABLE;
	}
	*gp = g;
	if (g->state == KB_GS_DEAD)
		return KB_ERR_COORDINATOR_NOT_AVAILABLE;
	if (gen >= 0 || *member || inst) {
		err = kb_member_check(g, member, inst, &gen, &m);
		if (err)
			return err;
		if (g->state == KB_GS_COMPLETING)
			return KB_ERR_REBALANCE_IN_PROGRESS;
		m->last_hb = kb_now_mono_ms();
		return KB_ERR_NONE;
	}
	if (g->state != KB_GS_EMPTY)
		return KB_ERR_UNKNOWN_MEMBER_ID;
	return KB_ERR_NONE;
}

/* Per partition: its error, or a commit into @cs; returns how many. */
static int32_t oc_collect(struct kb_req *req, struct oc_req *o,
			  struct oc_name *names, int16_t top,
			  struct kb_commit *cs)
{
	int64_t meta_max = req->b->cfg ? req->b->cfg->offset_metadata_max :
			   KB_OFFSET_METADATA_MAX;
	int32_t nc = 0;

	for (int32_t t = 0; t < o->topics.n; t++) {
		const struct kb_tp_topic *tp = &o->topics.topics[t];

		for (int32_t j = 0; j < tp->n; j++) {
			struct oc_part *p = kb_tp_part(tp, sizeof(*p), j);

			if (top)
				p->err = top;
			else if (names[t].ok &&
				 !kb_req_may(req, KB_OP_READ, KB_RES_TOPIC,
					     names[t].name))
				p->err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
			else if (!names[t].ok ||
				 !kb_store_partition(req->b->store,
						     names[t].name,
						     p->partition))
				p->err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (p->meta.len > meta_max)
				p->err = KB_ERR_OFFSET_METADATA_TOO_LARGE;
			if (p->err)
				continue;
			cs[nc].topic = names[t].name;
			cs[nc].partition = p->partition;
			cs[nc].offset = p->offset;
			cs[nc].epoch = p->epoch;
			cs[nc].meta = p->meta.ptr;
			cs[nc].meta_len = p->meta.ptr ? p->meta.len : -1;
			cs[nc].expire_ms = o->retention >= 0 ?
					   kb_now_real_ms() + o->retention : -1;
			nc++;
		}
	}
	return nc;
}

static void oc_write(struct kb_req *req, struct kb_wr *w, struct oc_req *o,
		     struct oc_name *names, bool failed)
{
	bool flex = req->flex;

	if (req->hdr.api_version >= 3)
		kb_wr_i32(w, 0);
	kb_wr_varray(w, flex, o->topics.n);
	for (int32_t t = 0; t < o->topics.n; t++) {
		const struct kb_tp_topic *tp = &o->topics.topics[t];
		int32_t n = tp->n > 0 ? tp->n : 0;

		kb_wr_vstr(w, flex, names[t].name);
		kb_wr_varray(w, flex, n);
		for (int32_t j = 0; j < n; j++) {
			struct oc_part *p = kb_tp_part(tp, sizeof(*p), j);

			kb_wr_i32(w, p->partition);
			/* A commit that did not reach the disk. */
			kb_wr_i16(w, p->err ? p->err : failed ?
				  KB_ERR_COORDINATOR_NOT_AVAILABLE : 0);
			kb_wr_tags(w, flex);
		}
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
}

int kb_h_offset_commit(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_groups *gs = kb_groups_get(req->b);
	struct oc_req *o = calloc(1, sizeof(*o));
	struct oc_name *names = NULL;
	struct kb_commit *cs = NULL;
	struct kb_group *g = NULL;
	int ret = KB_H_CLOSE;
	bool failed = false;
	int16_t top = 0;
	int32_t nc;

	if (!o || !oc_decode(req, o))
		goto out;
	names = calloc(o->topics.n ? o->topics.n : 1, sizeof(*names));
	cs = calloc(o->total ? o->total : 1, sizeof(*cs));
	if (!names || !cs)
		goto out;
	for (int32_t t = 0; t < o->topics.n; t++)
		names[t].ok = kb_str_copy(names[t].name, sizeof(names[t].name),
					  o->topics.topics[t].name);
	if (!kb_req_may(req, KB_OP_READ, KB_RES_GROUP, o->group)) {
		top = KB_ERR_GROUP_AUTHORIZATION_FAILED;
	} else if (!gs || gs->broken) {
		top = KB_ERR_COORDINATOR_NOT_AVAILABLE;
	} else {
		kb_groups_tick(gs);
		top = commit_check(gs, &g, o->group, o->gen, o->member,
				   o->have_inst ? o->inst : NULL);
	}
	nc = oc_collect(req, o, names, top, cs);
	if (nc && kb_offsets_commit(gs, g, cs, nc))
		failed = true;
	oc_write(req, &resp->w, o, names, failed);
	ret = KB_H_DONE;
out:
	if (o)
		kb_tp_free(&o->topics);
	free(o);
	free(names);
	free(cs);
	return ret;
}

static void fetch_part(struct kb_wr *w, int16_t ver, bool flex,
		       struct kb_group *g, const char *topic, int32_t part)
{
	struct kb_offset *o = g ? kb_offset_find(g, topic, part) : NULL;

	kb_wr_i32(w, part);
	kb_wr_i64(w, o ? o->offset : -1);
	if (ver >= 5)
		kb_wr_i32(w, o ? o->epoch : -1);
	/* Kafka answers a null commit metadata as "" too. */
	if (flex)
		kb_wr_cnstr(w, o && o->meta ? o->meta : "",
			    o && o->meta ? o->meta_len : 0);
	else
		kb_wr_nstr(w, o && o->meta ? o->meta : "",
			   o && o->meta ? o->meta_len : 0);
	kb_wr_i16(w, 0);
	kb_wr_tags(w, flex);
}

/* Topics of one group: the listed ones, or every committed one. */
static bool fetch_topics(struct kb_rd *rd, struct kb_wr *w, int16_t ver,
			 bool flex, struct kb_group *g)
{
	int32_t nt = kb_rd_varray(rd, flex), t, np, j;
	size_t i, k;

	if (rd->err)
		return false;
	if (nt < 0) {
		size_t n = 0;

		for (i = 0; g && i < g->n_offs; i++) {
			for (k = 0; k < i; k++)
				if (!strcmp(g->offs[k].topic, g->offs[i].topic))
					break;
			n += k == i;
		}
		kb_wr_varray(w, flex, (int32_t)n);
		for (i = 0; g && i < g->n_offs; i++) {
			const char *topic = g->offs[i].topic;

			for (k = 0; k < i; k++)
				if (!strcmp(g->offs[k].topic, topic))
					break;
			if (k < i)
				continue;
			for (n = 0, k = i; k < g->n_offs; k++)
				n += !strcmp(g->offs[k].topic, topic);
			kb_wr_vstr(w, flex, topic);
			kb_wr_varray(w, flex, (int32_t)n);
			for (k = i; k < g->n_offs; k++)
				if (!strcmp(g->offs[k].topic, topic))
					fetch_part(w, ver, flex, g, topic,
						   g->offs[k].partition);
			kb_wr_tags(w, flex);
		}
		return true;
	}
	kb_wr_varray(w, flex, nt);
	for (t = 0; t < nt; t++) {
		char topic[KB_TOPIC_NAME_MAX + 1];
		struct kb_str name = kb_rd_vstr(rd, flex);
		bool ok = kb_str_copy(topic, sizeof(topic), name);

		np = kb_rd_varray(rd, flex);
		if (rd->err || np < 0)
			return false;
		kb_wr_vstr(w, flex, ok ? topic : "");
		kb_wr_varray(w, flex, np);
		for (j = 0; j < np; j++)
			fetch_part(w, ver, flex, ok ? g : NULL, topic,
				   kb_rd_i32(rd));
		kb_rd_vtags(rd, flex);
		kb_wr_tags(w, flex);
	}
	return !rd->err;
}

int kb_h_offset_fetch(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	struct kb_groups *gs = kb_groups_get(req->b);
	char group[1024];
	int16_t err = gs ? 0 : KB_ERR_COORDINATOR_NOT_AVAILABLE, denied;
	int32_t n, i;

	if (gs)
		kb_groups_tick(gs);
	if (ver >= 3)
		kb_wr_i32(w, 0);
	if (ver <= 7) {
		if (!kb_str_copy(group, sizeof(group), kb_rd_vstr(rd, flex)))
			return KB_H_CLOSE;
		if (!err)
			err = kb_offset_fetch_denied(req, group);
		if (err)
			gs = NULL;	/* nothing of the group shown */
		if (!fetch_topics(rd, w, ver, flex,
				  gs ? kb_group_find(gs, group) : NULL))
			return KB_H_CLOSE;
		if (ver >= 7)
			kb_rd_bool(rd);	/* require_stable: no txns */
		kb_rd_vtags(rd, flex);
		if (ver >= 2)
			kb_wr_i16(w, err);
		kb_wr_tags(w, flex);
		return rd->err ? KB_H_CLOSE : KB_H_DONE;
	}
	n = kb_rd_varray(rd, flex);
	if (rd->err || n < 0)
		return KB_H_CLOSE;
	kb_wr_varray(w, flex, n);
	for (i = 0; i < n; i++) {
		if (!kb_str_copy(group, sizeof(group), kb_rd_vstr(rd, flex)))
			return KB_H_CLOSE;
		kb_wr_vstr(w, flex, group);
		denied = kb_offset_fetch_denied(req, group);
		if (!fetch_topics(rd, w, ver, flex, gs && !denied ?
				  kb_group_find(gs, group) : NULL))
			return KB_H_CLOSE;
		kb_rd_vtags(rd, flex);
		kb_wr_i16(w, err ?: denied);
		kb_wr_tags(w, flex);
	}
	kb_rd_bool(rd);
	kb_rd_vtags(rd, flex);
	kb_wr_tags(w, flex);
	return rd->err ? KB_H_CLOSE : KB_H_DONE;
}

int kb_h_offset_delete(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	struct kb_groups *gs = kb_groups_get(req->b);
	char group[1024];
	struct kb_group *g = NULL;
	int16_t top = 0;
	int32_t nt, np, t, j;

	if (!kb_str_copy(group, sizeof(group), kb_rd_str(rd)))
		return KB_H_CLOSE;
	nt = kb_rd_array(rd);
	if (rd->err || nt < 0)
		return KB_H_CLOSE;
	if (!kb_req_may(req, KB_OP_DELETE, KB_RES_GROUP, group)) {
		top = KB_ERR_GROUP_AUTHORIZATION_FAILED;
	} else if (!gs) {
		top = KB_ERR_COORDINATOR_NOT_AVAILABLE;
	} else {
		kb_groups_tick(gs);
		g = kb_group_find(gs, group);
		if (!g || g->state == KB_GS_DEAD)
			top = KB_ERR_GROUP_ID_NOT_FOUND;
		else if (g->state != KB_GS_EMPTY &&
			 (!g->protocol_type ||
			  strcmp(g->protocol_type, "consumer")))
			top = KB_ERR_NON_EMPTY_GROUP;
	}
	kb_wr_i16(w, top);
	kb_wr_i32(w, 0);
	kb_wr_array(w, top ? 0 : nt);
	for (t = 0; t < nt; t++) {
		char topic[KB_TOPIC_NAME_MAX + 1];
		bool ok = kb_str_copy(topic, sizeof(topic), kb_rd_str(rd));
		bool subscribed;

		np = kb_rd_array(rd);
		if (rd->err || np < 0)
			return KB_H_CLOSE;
		subscribed = !top && ok && g->state != KB_GS_EMPTY &&
			     kb_group_subscribed(g, topic);
		if (!top) {
			kb_wr_str(w, ok ? topic : "", ok ? -1 : 0);
			kb_wr_array(w, np);
		}
		for (j = 0; j < np; j++) {
			int32_t p = kb_rd_i32(rd);
			int16_t err = 0;

			if (top)
				continue;
			if (ok && !kb_req_may(req, KB_OP_READ, KB_RES_TOPIC,
					      topic))
				err = KB_ERR_TOPIC_AUTHORIZATION_FAILED;
			else if (!ok ||
				 !kb_store_partition(req->b->store, topic, p))
				err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (subscribed)
				err = KB_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
			else if (kb_offsets_delete(gs, g, topic, p))
				err = KB_ERR_COORDINATOR_NOT_AVAILABLE;
			kb_wr_i32(w, p);
			kb_wr_i16(w, err);
		}
	}
	return rd->err ? KB_H_CLOSE : KB_H_DONE;
}
