// SPDX-License-Identifier: GPL-2.0
/*
 * Fetch: record bytes go from the segment files to the socket as file
 * slices (sendfile), never through userspace.  A fetch that finds fewer
 * than min_bytes parks until an append wakes it or max_wait_ms passes.
 * Fetch sessions (v7+) are answered sessionless (session_id 0): every
 * request is a full fetch, which clients accept.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handlers/api.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "store/store.h"

struct fetch_part {
	int32_t topic;		/* index in fetch->topics */
	int32_t partition;
	int32_t leader_epoch;		/* -1 unknown */
	int64_t offset;
	int32_t max_bytes;
	int16_t error;
	struct kb_read_result res;
	struct kb_part_stats *stats;	/* of the partition read */
};

struct fetch_topic {
	char name[KB_TOPIC_NAME_MAX + 1];
	bool bad_name;
	int16_t denied;		/* authorization error, 0 when allowed */
	int32_t n_parts;
};

struct kb_fetch {
	struct kb_park park;
	struct kb_broker *b;
	int16_t ver;
	bool flex;
	int32_t min_bytes;
	int32_t max_bytes;
	struct fetch_topic *topics;
	int32_t n_topics;
	struct fetch_part *parts;
	int32_t n_parts;
};

static void fetch_free(struct kb_park *pk)
{
	struct kb_fetch *f = (struct kb_fetch *)pk;

	free(f->topics);
	free(f->parts);
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
		if (ft->bad_name || ft->denied) {
			fp->error = ft->denied ?:
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

static void fetch_write(struct kb_fetch *f, struct kb_resp *resp)
{
	struct kb_wr *w = &resp->w;
	bool flex = f->flex;
	int16_t ver = f->ver;
	int32_t t, i = 0, k;

	if (ver >= 1)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
	if (ver >= 7) {
		kb_wr_i16(w, 0);
		kb_wr_i32(w, 0);	/* session_id: sessionless */
	}
	kb_wr_varray(w, flex, f->n_topics);
	for (t = 0; t < f->n_topics; t++) {
		struct fetch_topic *ft = &f->topics[t];

		kb_wr_vstr(w, flex, ft->name);
		kb_wr_varray(w, flex, ft->n_parts);
		for (k = 0; k < ft->n_parts; k++, i++) {
			struct fetch_part *fp = &f->parts[i];
			struct kb_read_result *r = &fp->res;
			size_t len = r->slice.len;

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
	int64_t got = fetch_read(f);

	if (!expired && got >= 0 && got < f->min_bytes) {
		drop_slices(f);
		return false;
	}
	fetch_write(f, resp);
	drop_slices(f);
	return true;
}

/* Parses the request into @f; false on malformed input. */
static bool fetch_parse(struct kb_req *req, struct kb_fetch *f,
			int32_t *max_wait)
{
	struct kb_rd *rd = &req->rd, scan;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;
	int32_t nt, np, t, j, total = 0, replica = -1;

	if (ver <= 14)
		replica = kb_rd_i32(rd);	/* consumers send -1 */
	*max_wait = kb_rd_i32(rd);
	f->min_bytes = kb_rd_i32(rd);
	f->max_bytes = ver >= 3 ? kb_rd_i32(rd) : INT32_MAX;
	if (ver >= 4)
		kb_rd_i8(rd);	/* isolation: no transactions, LSO == HW */
	if (ver >= 7) {
		kb_rd_i32(rd);	/* session_id */
		kb_rd_i32(rd);	/* session_epoch */
	}
	nt = kb_rd_varray(rd, flex);
	if (rd->err || nt < 0)
		return false;
	/* First pass counts partitions so both arrays are allocated once. */
	scan = *rd;
	for (t = 0; t < nt && !scan.err; t++) {
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
	if (scan.err)
		return false;
	f->topics = calloc(nt ? nt : 1, sizeof(*f->topics));
	f->parts = calloc(total ? total : 1, sizeof(*f->parts));
	if (!f->topics || !f->parts)
		return false;
	f->n_topics = nt;
	f->n_parts = total;
	total = 0;
	for (t = 0; t < nt; t++) {
		struct fetch_topic *ft = &f->topics[t];
		struct kb_str s = kb_rd_vstr(rd, flex);

		if (!kb_str_copy(ft->name, sizeof(ft->name), s)) {
			ft->bad_name = true;
			snprintf(ft->name, sizeof(ft->name), "%.*s",
				 s.len > KB_TOPIC_NAME_MAX ?
				 KB_TOPIC_NAME_MAX : s.len, s.ptr);
		}
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
		nt = kb_rd_varray(rd, flex);	/* forgotten topics */
		for (t = 0; t < nt && !rd->err; t++) {
			kb_rd_vstr(rd, flex);
			np = kb_rd_varray(rd, flex);
			kb_rd_skip(rd, np > 0 ? (size_t)np * 4 : 0);
			kb_rd_vtags(rd, flex);
		}
	}
	if (ver >= 11)
		kb_rd_vstr(rd, flex);	/* rack_id */
	kb_rd_vtags(rd, flex);
	return !rd->err;
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
	if (!fetch_parse(req, f, &max_wait)) {
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
