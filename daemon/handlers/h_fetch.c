// SPDX-License-Identifier: GPL-2.0
/*
 * Fetch: record bytes go from the segment files to the socket as file
 * slices (sendfile), never through userspace.  A fetch that finds fewer
 * than min_bytes parks until an append wakes it or max_wait_ms passes.
 * Fetch sessions (v7+, KIP-227, fetch_session.c): a full fetch with epoch
 * 0 opens one; incremental fetches name only the partitions whose fetch
 * data changed and are answered with only the partitions that have
 * records, an error or new bounds.  v13+ names topics by id.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handlers/api.h"
#include "handlers/authz.h"
#include "handlers/fetch_session.h"
#include "proto/errors.h"
#include "store/store.h"

struct fetch_part {
	int32_t topic;		/* index in fetch->topics */
	int32_t partition;
	int32_t leader_epoch;		/* -1 unknown */
	int64_t offset;
	int32_t max_bytes;
	int16_t error;
	bool send;		/* in the response */
	struct kb_read_result res;
	struct kb_part_stats *stats;	/* of the partition read */
};

struct fetch_topic {
	char name[KB_TOPIC_NAME_MAX + 1];
	uint8_t id[16];
	bool bad_name;
	bool unknown_id;	/* v13+: no topic has this id */
	int16_t denied;		/* authorization error, 0 when allowed */
	int32_t n_parts;
};

struct fetch_forget {
	int32_t topic;		/* index in fetch->topics */
	int32_t partition;
};

struct kb_fetch {
	struct kb_park park;
	struct kb_broker *b;
	int16_t ver;
	bool flex;
	int32_t min_bytes;
	int32_t max_bytes;
	int32_t replica;
	struct fetch_topic *topics;
	int32_t n_topics;
	struct fetch_part *parts;
	int32_t n_parts;
	struct fetch_forget *forget;
	int32_t n_forget;
	/* Session: the request's, then the one answered with. */
	int32_t req_session, req_epoch;
	int32_t session_id;		/* 0 = sessionless */
	int32_t session_epoch;		/* the session's after this request */
	bool incremental;		/* only changed partitions are sent */
	int16_t error;			/* top level: a session error */
};

static void fetch_free(struct kb_park *pk)
{
	struct kb_fetch *f = (struct kb_fetch *)pk;

	free(f->topics);
	free(f->parts);
	free(f->forget);
	free(f);
}

static void drop_slices(struct kb_fetch *f)
{
	int32_t i;

	for (i = 0; i < f->n_parts; i++) {
		if (f->parts[i].res.slice.fd >= 0)
			close(f->parts[i].res.slice.fd);
		f->parts[i].res.slice.fd = -1;
	}
}

/* Reads every partition; returns the record bytes found, or -1 when a
 * partition has an error (Kafka answers at once then). */
static int64_t fetch_read(struct kb_fetch *f)
{
	struct kb_store *s = f->b->store;
	int64_t total = 0;
	bool any_err = false;
	int32_t i;

	for (i = 0; i < f->n_parts; i++) {
		struct fetch_part *fp = &f->parts[i];
		struct fetch_topic *ft = &f->topics[fp->topic];
		struct kb_read_result *r = &fp->res;
		struct kb_partition *p;
		int64_t room = (int64_t)f->max_bytes - total;
		size_t lim;
		int ret;

		memset(r, 0, sizeof(*r));
		r->slice.fd = -1;
		r->high_watermark = r->last_stable_offset = -1;
		r->log_start_offset = -1;
		fp->error = 0;
		if (ft->bad_name || ft->denied || ft->unknown_id) {
			fp->error = ft->denied ?:
				    ft->unknown_id ? KB_ERR_UNKNOWN_TOPIC_ID :
				    KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			any_err = true;
			continue;
		}
		fp->error = kb_leader_check(f->b, ft->name, fp->partition,
					    fp->leader_epoch);
		if (fp->error) {
			any_err = true;
			continue;
		}
		p = kb_store_partition(s, ft->name, fp->partition);
		if (!p) {
			fp->error = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			any_err = true;
			continue;
		}
		lim = fp->max_bytes > 0 ? (size_t)fp->max_bytes : 0;
		if (room < 0)
			room = 0;
		if ((size_t)room < lim)
			lim = (size_t)room;
		/* First data in the response may exceed the limits. */
		fp->stats = kb_partition_stats(p);
		ret = kb_partition_read(p, fp->offset, lim, total == 0, r);
		if (ret < 0) {
			r->slice.fd = -1;
			r->slice.len = 0;
			fp->error = KB_ERR_KAFKA_STORAGE_ERROR;
			any_err = true;
			continue;
		}
		fp->error = r->error;
		if (r->error)
			any_err = true;
		if (r->slice.fd < 0)
			r->slice.len = 0;
		total += r->slice.len;
	}
	return any_err ? -1 : total;
}

/*
 * Which partitions the response carries: all of a full fetch; of an
 * incremental one those with records, an error, or bounds other than the
 * session last sent.  Updates the bounds the session remembers and moves
 * the partitions that returned records to its end, so the next fetch
 * starts with the others (Kafka's fairness under max_bytes).
 */
static void fetch_select(struct kb_fetch *f)
{
	struct kb_fetch_session *s = NULL;
	bool *sent = NULL;
	int32_t i;

	if (f->session_id) {
		s = kb_fetch_session_get(f->session_id);
		/* A later request of the session moved it on: leave it. */
		if (s && s->epoch != f->session_epoch)
			s = NULL;
	}
	if (s && f->incremental && s->n_parts)
		sent = calloc((size_t)s->n_parts, sizeof(*sent));
	for (i = 0; i < f->n_parts; i++) {
		struct fetch_part *fp = &f->parts[i];
		struct fetch_topic *ft = &f->topics[fp->topic];
		struct kb_read_result *r = &fp->res;
		struct kb_fs_part *sp = NULL;

		if (s && !ft->bad_name && !ft->unknown_id)
			sp = kb_fs_part_get(s, ft->name, NULL, fp->partition,
					    false);
		fp->send = !f->incremental || fp->error || r->slice.len ||
			   !sp || sp->hw != r->high_watermark ||
			   (f->ver >= 4 && sp->lso != r->last_stable_offset) ||
			   (f->ver >= 5 && sp->log_start != r->log_start_offset);
		if (sp && fp->send) {
			sp->hw = r->high_watermark;
			sp->lso = r->last_stable_offset;
			sp->log_start = r->log_start_offset;
		}
		if (sp && sent && r->slice.len)
			sent[sp - s->parts] = true;
	}
	if (sent)
		kb_fs_rotate(s, sent);
	free(sent);
}

static void fetch_write(struct kb_fetch *f, struct kb_resp *resp)
{
	struct kb_wr *w = &resp->w;
	bool flex = f->flex;
	int16_t ver = f->ver;
	int32_t i, k, runs = 0, last = -1;

	if (ver >= 1)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
	if (ver >= 7) {
		kb_wr_i16(w, f->error);
		kb_wr_i32(w, f->error ? 0 : f->session_id);
	}
	if (f->error) {
		kb_wr_varray(w, flex, 0);
		kb_wr_tags(w, flex);
		return;
	}
	fetch_select(f);
	/* One topic entry per run of its partitions, as Kafka writes a
	 * session's partitions in the order it keeps them. */
	for (i = 0; i < f->n_parts; i++)
		if (f->parts[i].send) {
			if (f->parts[i].topic != last)
				runs++;
			last = f->parts[i].topic;
		}
	kb_wr_varray(w, flex, runs);
	for (i = 0; i < f->n_parts; i = k) {
		struct fetch_topic *ft;
		int32_t n = 0;

		if (!f->parts[i].send) {
			k = i + 1;
			continue;
		}
		ft = &f->topics[f->parts[i].topic];
		for (k = i; k < f->n_parts; k++) {
			if (!f->parts[k].send)
				continue;
			if (f->parts[k].topic != f->parts[i].topic)
				break;
			n++;
		}
		if (ver >= 13)
			kb_wr_uuid(w, ft->id);
		else
			kb_wr_vstr(w, flex, ft->name);
		kb_wr_varray(w, flex, n);
		for (int32_t j = i; j < k; j++) {
			struct fetch_part *fp = &f->parts[j];
			struct kb_read_result *r = &fp->res;
			size_t len = r->slice.len;

			if (!fp->send)
				continue;
			kb_wr_i32(w, fp->partition);
			kb_wr_i16(w, fp->error);
			kb_wr_i64(w, r->high_watermark);
			if (ver >= 4)
				kb_wr_i64(w, r->last_stable_offset);
			if (ver >= 5)
				kb_wr_i64(w, r->log_start_offset);
			if (ver >= 4)
				kb_wr_varray(w, flex, 0);  /* aborted txns */
			if (ver >= 11)
				kb_wr_i32(w, -1);  /* preferred_read_replica */
			if (flex)
				kb_wr_uvarint(w, (uint32_t)len + 1);
			else
				kb_wr_i32(w, (int32_t)len);
			if (len) {
				kb_resp_add_slice(resp, r->slice.fd,
						  r->slice.pos, len);
				r->slice.fd = -1;
				fp->stats->bytes_out += len;
				if (r->next_offset > fp->offset)
					fp->stats->msgs_out += (uint64_t)
						(r->next_offset - fp->offset);
			}
			kb_wr_tags(w, flex);
		}
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
}

static bool fetch_poll(struct kb_park *pk, struct kb_resp *resp, bool expired)
{
	struct kb_fetch *f = (struct kb_fetch *)pk;
	int64_t got;

	if (f->error) {
		fetch_write(f, resp);
		return true;
	}
	got = fetch_read(f);
	if (!expired && got >= 0 && got < f->min_bytes) {
		drop_slices(f);
		return false;
	}
	fetch_write(f, resp);
	drop_slices(f);
	return true;
}

/* A topic of the request: by name, or by id from v13 on. */
static void parse_topic(struct kb_req *req, struct kb_rd *rd,
			struct fetch_topic *ft)
{
	bool flex = req->flex;
	struct kb_str s;

	if (req->hdr.api_version >= 13) {
		const struct kb_topic *t;

		kb_rd_uuid(rd, ft->id);
		t = kb_store_topic_find_id(req->b->store, ft->id);
		if (t)
			snprintf(ft->name, sizeof(ft->name), "%s", t->name);
		else
			ft->unknown_id = true;
		return;
	}
	s = kb_rd_vstr(rd, flex);

	if (!kb_str_copy(ft->name, sizeof(ft->name), s)) {
		ft->bad_name = true;
		snprintf(ft->name, sizeof(ft->name), "%.*s",
			 s.len > KB_TOPIC_NAME_MAX ? KB_TOPIC_NAME_MAX : s.len,
			 s.ptr);
	}
}

/* Parses the request into @f; false on malformed input. */
static bool fetch_parse(struct kb_req *req, struct kb_fetch *f,
			int32_t *max_wait)
{
	struct kb_rd *rd = &req->rd, scan;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	int32_t nt, np, t, j, total = 0, nf = 0, replica = -1;

	if (ver <= 14)
		replica = kb_rd_i32(rd);	/* consumers send -1 */
	f->replica = replica;
	*max_wait = kb_rd_i32(rd);
	f->min_bytes = kb_rd_i32(rd);
	f->max_bytes = ver >= 3 ? kb_rd_i32(rd) : INT32_MAX;
	if (ver >= 4)
		kb_rd_i8(rd);	/* isolation: no transactions, LSO == HW */
	if (ver >= 7) {
		f->req_session = kb_rd_i32(rd);
		f->req_epoch = kb_rd_i32(rd);
	} else {
		f->req_epoch = KB_FS_FINAL_EPOCH;
	}
	nt = kb_rd_varray(rd, flex);
	if (rd->err || nt < 0)
		return false;
	/* First pass counts partitions so both arrays are allocated once. */
	scan = *rd;
	for (t = 0; t < nt && !scan.err; t++) {
		if (ver >= 13)
			kb_rd_skip(&scan, 16);
		else
			kb_rd_vstr(&scan, flex);
		np = kb_rd_varray(&scan, flex);
		if (np < 0)
			scan.err = true;
		for (j = 0; j < np && !scan.err; j++) {
			kb_rd_i32(&scan);
			if (ver >= 9)
				kb_rd_i32(&scan);
			kb_rd_i64(&scan);
			if (ver >= 12)
				kb_rd_i32(&scan);
			if (ver >= 5)
				kb_rd_i64(&scan);
			kb_rd_i32(&scan);
			kb_rd_vtags(&scan, flex);
		}
		total += np;
		kb_rd_vtags(&scan, flex);
	}
	if (ver >= 7 && !scan.err) {
		int32_t nft = kb_rd_varray(&scan, flex);

		for (t = 0; t < nft && !scan.err; t++) {
			kb_rd_skip(&scan, ver >= 13 ? 16 : 0);
			if (ver < 13)
				kb_rd_vstr(&scan, flex);
			np = kb_rd_varray(&scan, flex);
			if (np < 0)
				scan.err = true;
			else
				kb_rd_skip(&scan, (size_t)np * 4);
			nf += np > 0 ? np : 0;
			kb_rd_vtags(&scan, flex);
		}
	}
	if (scan.err)
		return false;
	f->topics = calloc(nt ? nt : 1, sizeof(*f->topics));
	f->parts = calloc(total ? total : 1, sizeof(*f->parts));
	f->forget = calloc(nf ? nf : 1, sizeof(*f->forget));
	if (!f->topics || !f->parts || !f->forget)
		return false;
	f->n_topics = nt;
	f->n_parts = total;
	total = 0;
	for (t = 0; t < nt; t++) {
		struct fetch_topic *ft = &f->topics[t];

		parse_topic(req, rd, ft);
		if (!ft->unknown_id)
			ft->denied = kb_fetch_denied(req, replica, ft->name);
		np = kb_rd_varray(rd, flex);
		ft->n_parts = np;
		for (j = 0; j < np; j++) {
			struct fetch_part *fp = &f->parts[total++];

			fp->topic = t;
			fp->partition = kb_rd_i32(rd);
			fp->leader_epoch = ver >= 9 ? kb_rd_i32(rd) : -1;
			fp->offset = kb_rd_i64(rd);
			if (ver >= 12)
				kb_rd_i32(rd);	/* last_fetched_epoch */
			if (ver >= 5)
				kb_rd_i64(rd);	/* follower log_start */
			fp->max_bytes = kb_rd_i32(rd);
			fp->res.slice.fd = -1;
			kb_rd_vtags(rd, flex);
		}
		kb_rd_vtags(rd, flex);
	}
	if (ver >= 7) {
		struct fetch_topic *old = f->topics;
		int32_t nft = kb_rd_varray(rd, flex);

		/* Forgotten topics get entries after the fetched ones. */
		f->topics = realloc(f->topics,
				    (size_t)(nt + (nft > 0 ? nft : 0) + 1) *
				    sizeof(*f->topics));
		if (!f->topics) {
			f->topics = old;
			return false;
		}
		for (t = 0; t < nft && !rd->err; t++) {
			struct fetch_topic *ft = &f->topics[nt + t];

			memset(ft, 0, sizeof(*ft));
			parse_topic(req, rd, ft);
			np = kb_rd_varray(rd, flex);
			for (j = 0; j < np && !rd->err; j++) {
				f->forget[f->n_forget].topic = nt + t;
				f->forget[f->n_forget++].partition =
					kb_rd_i32(rd);
			}
			kb_rd_vtags(rd, flex);
		}
	}
	if (ver >= 11)
		kb_rd_vstr(rd, flex);	/* rack_id */
	kb_rd_vtags(rd, flex);
	return !rd->err;
}

/* The session's partitions become the fetch's, followed by the request's
 * partitions the session cannot hold (unknown or invalid topics). */
static bool fetch_from_session(struct kb_req *req, struct kb_fetch *f,
			       struct kb_fetch_session *s)
{
	int32_t nt = 0, np = 0, i, *tmap;
	struct fetch_topic *topics;
	struct fetch_part *parts;

	for (i = 0; i < f->n_parts; i++) {
		struct fetch_topic *ft = &f->topics[f->parts[i].topic];

		if (ft->bad_name || ft->unknown_id)
			np++;
	}
	topics = calloc((size_t)(s->n_topics + np + 1), sizeof(*topics));
	parts = calloc((size_t)(s->n_parts + np + 1), sizeof(*parts));
	tmap = calloc((size_t)(s->n_topics + 1), sizeof(*tmap));
	if (!topics || !parts || !tmap) {
		free(topics);
		free(parts);
		free(tmap);
		return false;
	}
	for (i = 0; i < s->n_topics; i++) {
		tmap[i] = -1;
		if (!s->topics[i].refs)
			continue;
		tmap[i] = nt;
		memcpy(topics[nt].name, s->topics[i].name,
		       sizeof(topics[nt].name));
		memcpy(topics[nt].id, s->topics[i].id, 16);
		topics[nt].denied = kb_fetch_denied(req, f->replica,
						    s->topics[i].name);
		nt++;
	}
	np = 0;
	for (i = 0; i < s->n_parts; i++) {
		struct kb_fs_part *sp = &s->parts[i];
		struct fetch_part *fp = &parts[np++];

		fp->topic = tmap[sp->topic];
		fp->partition = sp->partition;
		fp->leader_epoch = sp->leader_epoch;
		fp->offset = sp->offset;
		fp->max_bytes = sp->max_bytes;
		fp->res.slice.fd = -1;
	}
	for (i = 0; i < f->n_parts; i++) {
		struct fetch_part *fp = &f->parts[i];
		struct fetch_topic *ft = &f->topics[fp->topic];

		if (!ft->bad_name && !ft->unknown_id)
			continue;
		topics[nt] = *ft;
		parts[np] = *fp;
		parts[np++].topic = nt++;
	}
	free(tmap);
	free(f->topics);
	free(f->parts);
	f->topics = topics;
	f->n_topics = nt;
	f->parts = parts;
	f->n_parts = np;
	return true;
}

static void session_put(struct kb_fs_part *sp, const struct fetch_part *fp)
{
	sp->offset = fp->offset;
	sp->max_bytes = fp->max_bytes;
	sp->leader_epoch = fp->leader_epoch;
}

/*
 * KIP-227 on the request: epoch -1 closes the session named (the fetch is
 * sessionless), epoch 0 closes it and opens a new one from this full
 * fetch when the cache has or can make room, a positive epoch continues
 * the session: the partitions named are added or updated, the forgotten
 * ones dropped, and the fetch covers all the session holds.  False when
 * out of memory.
 */
static bool fetch_session(struct kb_req *req, struct kb_fetch *f)
{
	int64_t now = kb_now_mono_ms();
	struct kb_fetch_session *s;
	int32_t i;

	if (f->ver < 7)
		return true;
	if (f->req_epoch == KB_FS_FINAL_EPOCH ||
	    f->req_epoch == KB_FS_INITIAL_EPOCH) {
		if (f->req_session)
			kb_fetch_session_remove(f->req_session);
		if (f->req_epoch == KB_FS_FINAL_EPOCH)
			return true;
		s = kb_fetch_session_create(f->replica >= 0, f->n_parts, now);
		if (!s)
			return true;	/* sessionless */
		s->uses_ids = f->ver >= 13;
		for (i = 0; i < f->n_parts; i++) {
			struct fetch_part *fp = &f->parts[i];
			struct fetch_topic *ft = &f->topics[fp->topic];
			struct kb_fs_part *sp;

			if (ft->bad_name || ft->unknown_id)
				continue;
			sp = kb_fs_part_get(s, ft->name, ft->id,
					    fp->partition, true);
			if (!sp) {
				kb_fetch_session_remove(s->id);
				return true;
			}
			session_put(sp, fp);
		}
		f->session_id = s->id;
		f->session_epoch = s->epoch;
		kb_fetch_session_touch(s, now);
		return true;
	}
	s = kb_fetch_session_get(f->req_session);
	if (!s) {
		f->error = KB_ERR_FETCH_SESSION_ID_NOT_FOUND;
		return true;
	}
	if (s->epoch != f->req_epoch) {
		f->error = KB_ERR_INVALID_FETCH_SESSION_EPOCH;
		return true;
	}
	if (s->uses_ids != (f->ver >= 13)) {
		f->error = KB_ERR_FETCH_SESSION_TOPIC_ID_ERROR;
		return true;
	}
	for (i = 0; i < f->n_parts; i++) {
		struct fetch_part *fp = &f->parts[i];
		struct fetch_topic *ft = &f->topics[fp->topic];
		struct kb_fs_part *sp;

		if (ft->bad_name || ft->unknown_id)
			continue;
		sp = kb_fs_part_get(s, ft->name, ft->id, fp->partition, true);
		if (!sp)
			return false;
		session_put(sp, fp);
	}
	for (i = 0; i < f->n_forget; i++) {
		struct fetch_topic *ft = &f->topics[f->forget[i].topic];

		if (!ft->bad_name && !ft->unknown_id)
			kb_fs_part_forget(s, ft->name, f->forget[i].partition);
	}
	s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
	kb_fetch_session_touch(s, now);
	f->session_id = s->id;
	f->session_epoch = s->epoch;
	f->incremental = true;
	return fetch_from_session(req, f, s);
}

int kb_h_fetch(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_fetch *f = calloc(1, sizeof(*f));
	int32_t max_wait = 0;

	if (!f)
		return KB_H_CLOSE;
	f->b = req->b;
	f->ver = req->hdr.api_version;
	f->flex = req->flex;
	f->park.poll = fetch_poll;
	f->park.free = fetch_free;
	if (!fetch_parse(req, f, &max_wait) || !fetch_session(req, f)) {
		fetch_free(&f->park);
		return KB_H_CLOSE;
	}
	if (f->max_bytes < 0)
		f->max_bytes = 0;
	if (fetch_poll(&f->park, resp, max_wait <= 0 || !req->b->loop)) {
		fetch_free(&f->park);
		return KB_H_DONE;
	}
	f->park.deadline_ms = kb_now_mono_ms() + max_wait;
	resp->park = &f->park;
	return KB_H_PARK;
}
