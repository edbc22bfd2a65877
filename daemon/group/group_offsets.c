// SPDX-License-Identifier: GPL-2.0
/*
 * Committed offsets, durable the way Kafka's __consumer_offsets is: every
 * change is a record appended to <first log dir>/__consumer_offsets.kbo and
 * fdatasync'ed before the commit is answered.  A record is
 *
 *   u32 body length, u32 CRC-32C of the body, body:
 *   u8 type (1 commit, 2 delete offset, 3 delete group),
 *   i64 commit time, i64 expire time (-1), str group, str topic,
 *   i32 partition, i64 offset, i32 leader epoch, nstr metadata
 *
 * (big-endian, strings with an i16 length).  On open the file is replayed
 * up to the first torn or corrupt record (the tail is cut: a commit whose
 * fdatasync did not return was never acknowledged), offsets past retention
 * are dropped, and the live state is rewritten to a new file that replaces
 * the old one with rename: that is the compaction, also run when the file
 * grows well past its live size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "group/group.h"
#include "common/log.h"
#include "common/crc32c.h"
#include "common/file.h"
#include "store/store.h"

#define OFFS_FILE "__consumer_offsets.kbo"
#define OFFS_TMP OFFS_FILE ".tmp"
#define COMPACT_SLACK (1u << 20)

enum { REC_COMMIT = 1, REC_DELETE = 2, REC_DELETE_GROUP = 3 };

int64_t kb_offsets_retention_ms(const struct kb_broker *b)
{
	if (!b->cfg || b->cfg->offsets_retention_min <= 0)
		return KB_OFFSETS_RETENTION_MS;
	return b->cfg->offsets_retention_min * 60000;
}

struct kb_offset *kb_offset_find(struct kb_group *g, const char *topic,
				 int32_t partition)
{
	size_t i;

	for (i = 0; i < g->n_offs; i++)
		if (g->offs[i].partition == partition &&
		    !strcmp(g->offs[i].topic, topic))
			return &g->offs[i];
	return NULL;
}

static void off_clear(struct kb_offset *o)
{
	free(o->topic);
	free(o->meta);
}

static void off_remove_at(struct kb_group *g, size_t i)
{
	off_clear(&g->offs[i]);
	g->offs[i] = g->offs[--g->n_offs];
}

/* In-memory upsert; false when out of memory. */
static bool off_set(struct kb_group *g, const char *topic, int32_t partition,
		    int64_t offset, int32_t epoch, const char *meta,
		    int32_t meta_len, int64_t commit_ms, int64_t expire_ms)
{
	struct kb_offset *o = kb_offset_find(g, topic, partition);
	char *m = NULL;

	if (meta_len >= 0) {
		m = malloc(meta_len ? meta_len : 1);
		if (!m)
			return false;
		memcpy(m, meta, meta_len);
	}
	if (!o) {
		if (g->n_offs == g->cap_offs) {
			size_t cap = g->cap_offs ? g->cap_offs * 2 : 16;
			struct kb_offset *n = realloc(g->offs,
						      cap * sizeof(*n));

			if (!n) {
				free(m);
				return false;
			}
			g->offs = n;
			g->cap_offs = cap;
		}
		o = &g->offs[g->n_offs];
		memset(o, 0, sizeof(*o));
		o->topic = strdup(topic);
		if (!o->topic) {
			free(m);
			return false;
		}
		o->partition = partition;
		g->n_offs++;
	}
	free(o->meta);
	o->meta = m;
	o->meta_len = m ? meta_len : -1;
	o->offset = offset;
	o->epoch = epoch;
	o->commit_ms = commit_ms;
	o->expire_ms = expire_ms;
	return true;
}

static void rec_put(struct kb_wr *w, int type, const char *group,
		    const char *topic, int32_t partition, int64_t offset,
		    int32_t epoch, const char *meta, int32_t meta_len,
		    int64_t commit_ms, int64_t expire_ms)
{
	size_t at = w->len;
	uint8_t *p;

	kb_wr_i32(w, 0);
	kb_wr_i32(w, 0);
	kb_wr_i8(w, (int8_t)type);
	kb_wr_i64(w, commit_ms);
	kb_wr_i64(w, expire_ms);
	kb_wr_str(w, group, (int32_t)strlen(group));
	kb_wr_str(w, topic ? topic : "", topic ? (int32_t)strlen(topic) : 0);
	kb_wr_i32(w, partition);
	kb_wr_i64(w, offset);
	kb_wr_i32(w, epoch);
	kb_wr_nstr(w, meta, meta ? meta_len : -1);
	if (w->err)
		return;
	p = w->buf + at;
	kb_wr_put_i32(w, at, (int32_t)(w->len - at - 8));
	kb_wr_put_i32(w, at + 4, (int32_t)kb_crc32c(0, p + 8,
						     w->len - at - 8));
}

static size_t group_live(struct kb_wr *w, struct kb_group *g)
{
	size_t i, start = w->len;

	for (i = 0; i < g->n_offs; i++) {
		struct kb_offset *o = &g->offs[i];

		rec_put(w, REC_COMMIT, g->id, o->topic, o->partition,
			o->offset, o->epoch, o->meta, o->meta_len, o->commit_ms,
			o->expire_ms);
	}
	return w->len - start;
}

/* Rewrites the file with only the live offsets. */
static int compact(struct kb_groups *gs)
{
	struct kb_wr w;
	struct kb_group *g;
	int fd, ret;

	kb_wr_init(&w, 4096);
	for (g = gs->head; g; g = g->next)
		group_live(&w, g);
	if (w.err) {
		kb_wr_free(&w);
		return -ENOMEM;
	}
	fd = openat(gs->dfd, OFFS_TMP, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = kb_write_all(fd, w.buf, w.len);
	if (!ret && fdatasync(fd))
		ret = -errno;
	close(fd);
	if (!ret && renameat(gs->dfd, OFFS_TMP, gs->dfd, OFFS_FILE))
		ret = -errno;
	if (!ret && fsync(gs->dfd))
		ret = -errno;
	if (ret) {
		unlinkat(gs->dfd, OFFS_TMP, 0);
		goto out;
	}
	if (gs->fd >= 0)
		close(gs->fd);
	gs->fd = openat(gs->dfd, OFFS_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (gs->fd < 0) {
		ret = -errno;
		gs->broken = true;
		goto out;
	}
	gs->file_bytes = gs->live_bytes = w.len;
	kb_dbg("consumer offsets compacted to %zu bytes", w.len);
out:
	if (ret)
		kb_err("%s/%s: compaction failed: %s", gs->dir, OFFS_FILE,
		       strerror(-ret));
	kb_wr_free(&w);
	return ret;
}

static int append(struct kb_groups *gs, const struct kb_wr *w)
{
	int ret;

	if (gs->broken || gs->fd < 0)
		return -EIO;
	ret = kb_write_all(gs->fd, w->buf, w->len);
	if (!ret && fdatasync(gs->fd))
		ret = -errno;
	if (ret) {
		/* Cut what may have gone in so later records stay
		 * readable; if even that fails stop writing. */
		kb_err("%s/%s: write failed: %s", gs->dir, OFFS_FILE,
		       strerror(-ret));
		if (ftruncate(gs->fd, (off_t)gs->file_bytes))
			gs->broken = true;
		return ret;
	}
	gs->file_bytes += w->len;
	gs->live_bytes += w->len / 2;	/* rough: half are overwrites */
	if (gs->file_bytes > 2 * gs->live_bytes + COMPACT_SLACK)
		compact(gs);
	return 0;
}

static void apply(struct kb_groups *gs, struct kb_rd *rd)
{
	char group[1024], topic[KB_TOPIC_NAME_MAX + 1];
	int type = kb_rd_i8(rd);
	int64_t commit_ms = kb_rd_i64(rd), expire_ms = kb_rd_i64(rd);
	struct kb_str gstr = kb_rd_str(rd), tstr = kb_rd_str(rd);
	int32_t partition = kb_rd_i32(rd);
	int64_t offset = kb_rd_i64(rd);
	int32_t epoch = kb_rd_i32(rd);
	struct kb_str meta = kb_rd_nstr(rd);
	struct kb_group *g;
	struct kb_offset *o;

	if (rd->err || !kb_str_copy(group, sizeof(group), gstr) ||
	    !kb_str_copy(topic, sizeof(topic), tstr))
		return;
	g = kb_group_find(gs, group);
	switch (type) {
	case REC_COMMIT:
		if (!g)
			g = kb_group_create(gs, group);
		if (g)
			off_set(g, topic, partition, offset, epoch, meta.ptr,
				meta.ptr ? meta.len : -1, commit_ms,
				expire_ms);
		break;
	case REC_DELETE:
		o = g ? kb_offset_find(g, topic, partition) : NULL;
		if (o)
			off_remove_at(g, o - g->offs);
		break;
	case REC_DELETE_GROUP:
		if (g)
			kb_group_destroy(gs, g);
		break;
	}
}

/* Replays the file; returns the length of its good prefix. */
static off_t replay(struct kb_groups *gs, const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	long n = 0;

	while (len - pos >= 8) {
		uint32_t blen = (uint32_t)buf[pos] << 24 | buf[pos + 1] << 16 |
				buf[pos + 2] << 8 | buf[pos + 3];
		uint32_t crc = (uint32_t)buf[pos + 4] << 24 |
			       buf[pos + 5] << 16 | buf[pos + 6] << 8 |
			       buf[pos + 7];
		struct kb_rd rd;

		if (blen > len - pos - 8 ||
		    kb_crc32c(0, buf + pos + 8, blen) != crc)
			break;
		kb_rd_init(&rd, buf + pos + 8, blen);
		apply(gs, &rd);
		pos += 8 + blen;
		n++;
	}
	kb_dbg("consumer offsets: replayed %ld record(s)", n);
	return (off_t)pos;
}

int kb_offsets_open(struct kb_groups *gs)
{
	const struct kb_config *cfg = gs->b->cfg;
	struct kb_group *g;
	struct stat st;
	uint8_t *buf = NULL;
	off_t good;
	size_t got = 0;
	int fd, ret = 0;

	if (!cfg || !cfg->n_log_dirs)
		return -EINVAL;
	snprintf(gs->dir, sizeof(gs->dir), "%s", cfg->log_dirs[0]);
	gs->dfd = open(gs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (gs->dfd < 0) {
		kb_err("%s: %m", gs->dir);
		return -errno;
	}
	fd = openat(gs->dfd, OFFS_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		kb_err("%s/%s: %m", gs->dir, OFFS_FILE);
		goto out;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, st.st_size - got, got);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		got += n;
	}
	good = replay(gs, buf, got);
	if (good < st.st_size)
		kb_warn("%s/%s: cut a torn or corrupt tail of %lld byte(s)",
			gs->dir, OFFS_FILE, (long long)(st.st_size - good));
	for (g = gs->head; g; g = g->next)
		kb_offsets_expire(gs, g, kb_now_real_ms());
	gs->last_expire = kb_now_real_ms();
	ret = compact(gs);
	if (!ret) {
		size_t n = 0;

		for (g = gs->head; g; g = g->next)
			n += g->n_offs;
		kb_info("consumer offsets: %zu committed offset(s) loaded from %s/%s",
			n, gs->dir, OFFS_FILE);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	if (ret)
		gs->broken = true;
	return ret;
}

int kb_offsets_commit(struct kb_groups *gs, struct kb_group *g,
		      const struct kb_commit *c, int n)
{
	int64_t now = kb_now_real_ms();
	struct kb_wr w;
	int i, ret;

	kb_wr_init(&w, 256);
	for (i = 0; i < n; i++)
		rec_put(&w, REC_COMMIT, g->id, c[i].topic, c[i].partition,
			c[i].offset, c[i].epoch, c[i].meta, c[i].meta_len, now,
			c[i].expire_ms);
	ret = w.err ? -ENOMEM : append(gs, &w);
	kb_wr_free(&w);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (!off_set(g, c[i].topic, c[i].partition, c[i].offset,
			     c[i].epoch, c[i].meta, c[i].meta_len, now,
			     c[i].expire_ms))
			return -ENOMEM;
	return 0;
}

int kb_offsets_delete(struct kb_groups *gs, struct kb_group *g,
		      const char *topic, int32_t partition)
{
	struct kb_offset *o = NULL;
	struct kb_wr w;
	int ret;

	if (topic) {
		o = kb_offset_find(g, topic, partition);
		if (!o)
			return 0;
	}
	kb_wr_init(&w, 128);
	rec_put(&w, topic ? REC_DELETE : REC_DELETE_GROUP, g->id, topic,
		partition, -1, -1, NULL, -1, kb_now_real_ms(), -1);
	ret = w.err ? -ENOMEM : append(gs, &w);
	kb_wr_free(&w);
	if (ret)
		return ret;
	if (o) {
		off_remove_at(g, o - g->offs);
	} else {
		while (g->n_offs)
			off_remove_at(g, g->n_offs - 1);
	}
	return 0;
}

/* Kafka's rules: offsets of an empty group expire retention after the
 * later of their commit and the group becoming empty; in a stable
 * consumer group only offsets of topics nobody subscribes to expire; an
 * explicit expire time (OffsetCommit v2-4) always applies.  Expired
 * offsets leave memory only; compaction drops them from the file. */
bool kb_offsets_expire(struct kb_groups *gs, struct kb_group *g,
		       int64_t now_ms)
{
	int64_t ret_ms = kb_offsets_retention_ms(gs->b);
	bool any = false;
	size_t i = 0;

	while (i < g->n_offs) {
		struct kb_offset *o = &g->offs[i];
		bool exp = false;

		if (o->expire_ms >= 0) {
			exp = now_ms >= o->expire_ms;
		} else if (!g->n_members) {
			int64_t base = o->commit_ms > g->empty_since_ms ?
				       o->commit_ms : g->empty_since_ms;

			exp = now_ms - base >= ret_ms;
		} else if (g->state == KB_GS_STABLE && g->protocol_type &&
			   !strcmp(g->protocol_type, "consumer") &&
			   !kb_group_subscribed(g, o->topic)) {
			exp = now_ms - o->commit_ms >= ret_ms;
		}
		if (exp) {
			kb_dbg("group %s: offset of %s-%d expired", g->id,
			       o->topic, o->partition);
			off_remove_at(g, i);
			any = true;
			continue;
		}
		i++;
	}
	return any;
}
