// SPDX-License-Identifier: GPL-2.0
/*
 * Topic metadata: <log dir>/topics.meta, one copy per log dir, each
 * replaced atomically; the copy with the highest generation wins.  Text:
 *
 *   kbroker-topics 2 <generation>
 *   topic <name> <uuid hex> <partitions> <log dir index of each partition>
 *   config <name> <key> <value>	(per-topic overrides, after the topic)
 *   crc <crc32c of the lines above, hex>
 *
 * Version 1 (no config lines) is still read; version 2 is written.  The
 * configs are in the same file as the topics so that a topic and its
 * settings change together, atomically.
 *
 * A topic exists once its metadata is written: partition dirs are made
 * before, and removed after.  Dirs not in the metadata are leftovers of an
 * interrupted create or delete and are removed on open.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

#define META_FILE "topics.meta"

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));	/* no __printf in userspace */

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
			      b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *np = realloc(b->p, nc);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

/* Writes every copy with the next generation, leaving out @skip. */
int kb_topics_meta_write(struct kb_store *s, const struct kb_tstate *skip)
{
	struct sbuf b = { 0 };
	int err = 0, ok = 0;

	sb_printf(&b, "kbroker-topics 2 %" PRIu64 "\n", s->meta_gen + 1);
	for (size_t i = 0; i < s->n_topics; i++) {
		const struct kb_tstate *ts = s->topics[i];

		if (ts == skip)
			continue;
		sb_printf(&b, "topic %s ", ts->t.name);
		for (int k = 0; k < 16; k++)
			sb_printf(&b, "%02x", ts->t.id[k]);
		sb_printf(&b, " %d", ts->t.n_partitions);
		for (int32_t k = 0; k < ts->t.n_partitions; k++)
			sb_printf(&b, " %d", ts->dir_of[k]);
		sb_printf(&b, "\n");
		for (int k = 0; k < KB_TCFG_N; k++)
			if (ts->cfg[k])
				sb_printf(&b, "config %s %s %s\n", ts->t.name,
					  kb_topic_cfg_key_name((size_t)k),
					  ts->cfg[k]);
	}
	if (!b.oom)
		sb_printf(&b, "crc %08x\n", kb_crc32c(0, b.p, b.len));
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->o.n_log_dirs; i++) {
		int e = kb_write_atomic(s->dfds[i], s->dirs[i], META_FILE, b.p,
					b.len);

		if (e)
			err = e;
		else
			ok++;
	}
	free(b.p);
	if (!ok)
		return err;
	s->meta_gen++;
	return 0;
}

static int parse_hex16(const char *h, uint8_t id[16])
{
	if (strlen(h) != 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		unsigned int v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		id[i] = (uint8_t)v;
	}
	return 0;
}

static int parse_config(struct kb_store *s, const char *line)
{
	char name[KB_TOPIC_NAME_MAX + 1], key[64], val[KB_TCFG_VALUE_MAX];
	char norm[KB_TCFG_VALUE_MAX];
	const char *why;
	ssize_t ti;
	int idx;

	if (sscanf(line, "config %249s %63s %31s", name, key, val) != 3)
		return -EBADMSG;
	ti = kb_topic_idx(s, name);
	if (ti < 0)
		return -EBADMSG;
	idx = kb_tcfg_index(key);
	if (idx < 0 || kb_tcfg_normalize(idx, val, norm, sizeof(norm), &why)) {
		/* A key or value this build no longer takes: keep the topic. */
		kb_warn("topics.meta: ignoring config %s=%s of topic %s",
			key, val, name);
		return 0;
	}
	free(s->topics[ti]->cfg[idx]);
	s->topics[ti]->cfg[idx] = strdup(norm);
	return s->topics[ti]->cfg[idx] ? 0 : -ENOMEM;
}

/* Parses one copy into s->topics; -EBADMSG when damaged. */
static int meta_parse(struct kb_store *s, char *text, size_t len,
		      uint64_t *gen)
{
	char *crc_line = NULL, *save, *line;
	unsigned int crc;
	int err = -EBADMSG, ver;

	for (char *q = text + len; q > text; q--) {
		if (q[-1] == '\n' && !strncmp(q, "crc ", 4)) {
			crc_line = q;
			break;
		}
	}
	if (!crc_line || sscanf(crc_line, "crc %x", &crc) != 1 ||
	    crc != kb_crc32c(0, text, (size_t)(crc_line - text)))
		return -EBADMSG;
	*crc_line = 0;
	line = strtok_r(text, "\n", &save);
	if (!line || sscanf(line, "kbroker-topics %d %" SCNu64, &ver,
			    gen) != 2 || ver < 1 || ver > 2)
		return -EBADMSG;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char name[KB_TOPIC_NAME_MAX + 1], hex[33], *p;
		struct kb_tstate *ts;
		int n, used;

		if (ver >= 2 && !strncmp(line, "config ", 7)) {
			int e = parse_config(s, line);

			if (e) {
				err = e;
				goto bad;
			}
			continue;
		}
		if (sscanf(line, "topic %249s %32s %d%n", name, hex, &n,
			   &used) != 3 || !kb_topic_name_valid(name) || n < 1 ||
		    kb_topic_idx(s, name) >= 0)
			goto bad;
		ts = kb_tstate_new(name, n);
		if (!ts) {
			err = -ENOMEM;
			goto bad;
		}
		ts->t.n_partitions = n;
		if (parse_hex16(hex, ts->t.id) || kb_topic_add(s, ts)) {
			kb_tstate_free(ts);
			goto bad;
		}
		p = line + used;
		for (int32_t k = 0; k < n; k++) {
			long d = strtol(p, &p, 10);

			ts->dir_of[k] = d >= 0 && (size_t)d < s->o.n_log_dirs ?
					(int32_t)d : -1;
		}
	}
	return 0;
bad:
	kb_topics_free(s);
	return err;
}

/*
 * Loads the newest valid copy; fails when copies exist but none is valid,
 * rather than treat every partition dir as a leftover.
 */
int kb_topics_meta_load(struct kb_store *s, bool *found, bool *stale)
{
	uint64_t best = 0;
	ssize_t best_dir = -1;
	size_t n_copies = 0;

	for (size_t i = 0; i < s->o.n_log_dirs; i++) {
		uint64_t gen;
		char *text;
		size_t len;
		int err = kb_read_small(s->dfds[i], META_FILE, &text, &len);

		if (err == -ENOENT)
			continue;
		n_copies++;
		if (!err) {
			err = meta_parse(s, text, len, &gen);
			kb_topics_free(s);
			free(text);
		}
		if (err) {
			kb_warn("%s/%s: topic metadata is damaged (%s)",
				s->dirs[i], META_FILE, strerror(-err));
			continue;
		}
		if (best_dir < 0 || gen > best) {
			best = gen;
			best_dir = (ssize_t)i;
		}
	}
	*found = best_dir >= 0;
	*stale = n_copies != s->o.n_log_dirs;
	if (best_dir < 0) {
		if (!n_copies)
			return 0;
		kb_err("no valid topics.meta in any log dir; refusing to guess");
		return -EBADMSG;
	}
	for (size_t i = 0; i < s->o.n_log_dirs; i++) {
		char *text;
		size_t len;
		uint64_t gen;

		if (kb_read_small(s->dfds[i], META_FILE, &text, &len))
			continue;
		if (meta_parse(s, text, len, &gen) || gen != best)
			*stale = true;
		kb_topics_free(s);
		free(text);
	}
	{
		char *text;
		size_t len;
		int err = kb_read_small(s->dfds[best_dir], META_FILE, &text,
					&len);

		if (err)
			return err;
		err = meta_parse(s, text, len, &s->meta_gen);
		free(text);
		return err;
	}
}
