// SPDX-License-Identifier: GPL-2.0
/*
 * Topics: names, partitions across the log dirs, per-topic configs.  The
 * metadata file that makes them durable is topics_meta.c's.
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

bool kb_topic_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > KB_TOPIC_NAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

void kb_tstate_free(struct kb_tstate *ts)
{
	if (!ts)
		return;
	for (int32_t i = 0; ts->parts && i < ts->t.n_partitions; i++)
		kb_part_close(ts->parts[i]);
	for (int i = 0; i < KB_TCFG_N; i++)
		free(ts->cfg[i]);
	free(ts->parts);
	free(ts->dir_of);
	free(ts);
}

void kb_topics_free(struct kb_store *s)
{
	for (size_t i = 0; i < s->n_topics; i++)
		kb_tstate_free(s->topics[i]);
	free(s->topics);
	free(s->by_name);
	s->topics = NULL;
	s->by_name = NULL;
	s->n_topics = s->cap_topics = s->n_by_name = 0;
}

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*name)
		h = (h ^ (uint8_t)*name++) * 16777619u;
	return h;
}

/* Every Produce and Fetch looks topics up by name: keep that O(1). */
static void index_names(struct kb_store *s)
{
	size_t n = 16;

	while (n < 2 * s->n_topics)
		n *= 2;
	if (n != s->n_by_name) {
		uint32_t *t = malloc(n * sizeof(*t));

		free(s->by_name);
		s->by_name = t;
		s->n_by_name = t ? n : 0;
	}
	if (!s->by_name)
		return;
	memset(s->by_name, 0, n * sizeof(*s->by_name));
	for (size_t i = 0; i < s->n_topics; i++) {
		size_t k = name_hash(s->topics[i]->t.name) & (n - 1);

		while (s->by_name[k])
			k = (k + 1) & (n - 1);
		s->by_name[k] = (uint32_t)i + 1;
	}
}

ssize_t kb_topic_idx(struct kb_store *s, const char *name)
{
	if (s->n_by_name) {
		size_t m = s->n_by_name - 1, k = name_hash(name) & m;

		for (; s->by_name[k]; k = (k + 1) & m) {
			size_t i = s->by_name[k] - 1;

			if (i < s->n_topics &&
			    !strcmp(s->topics[i]->t.name, name))
				return (ssize_t)i;
		}
		return -1;
	}
	for (size_t i = 0; i < s->n_topics; i++)
		if (!strcmp(s->topics[i]->t.name, name))
			return (ssize_t)i;
	return -1;
}

int kb_topic_add(struct kb_store *s, struct kb_tstate *ts)
{
	if (s->n_topics == s->cap_topics) {
		size_t nc = s->cap_topics ? s->cap_topics * 2 : 16;
		struct kb_tstate **nv = realloc(s->topics, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->topics = nv;
		s->cap_topics = nc;
	}
	s->topics[s->n_topics++] = ts;
	if (s->n_by_name && 2 * s->n_topics <= s->n_by_name) {
		size_t m = s->n_by_name - 1, k = name_hash(ts->t.name) & m;

		while (s->by_name[k])
			k = (k + 1) & m;
		s->by_name[k] = (uint32_t)s->n_topics;
	} else {
		index_names(s);
	}
	return 0;
}

struct kb_tstate *kb_tstate_new(const char *name, int32_t n)
{
	struct kb_tstate *ts = calloc(1, sizeof(*ts));

	if (!ts)
		return NULL;
	snprintf(ts->t.name, sizeof(ts->t.name), "%s", name);
	ts->dir_of = calloc((size_t)n, sizeof(*ts->dir_of));
	ts->parts = calloc((size_t)n, sizeof(*ts->parts));
	if (!ts->dir_of || !ts->parts) {
		kb_tstate_free(ts);
		return NULL;
	}
	return ts;
}

/* "config <topic> <key> <value>": an override of a topic already read. */
static bool dir_exists(int dfd, const char *name)
{
	struct stat st;

	return !fstatat(dfd, name, &st, 0) && S_ISDIR(st.st_mode);
}

/* True when every file in the dir is empty: nothing to lose. */
static bool dir_empty_data(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	bool empty = true;
	DIR *d;

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while (empty && (de = readdir(d))) {
		struct stat st;

		if (!fstatat(dirfd(d), de->d_name, &st, 0) &&
		    S_ISREG(st.st_mode) && st.st_size > 0 &&
		    strcmp(de->d_name, "log-start-offset"))
			empty = false;
	}
	closedir(d);
	return empty;
}

/* "<topic>-<n>" of a known topic placed in log dir @d? */
static bool owned(struct kb_store *s, size_t d, const char *name)
{
	const char *dash = strrchr(name, '-');
	char topic[KB_TOPIC_NAME_MAX + 1];
	ssize_t ti;
	char *end;
	long n;

	if (!dash || dash == name || (size_t)(dash - name) > KB_TOPIC_NAME_MAX)
		return false;
	n = strtol(dash + 1, &end, 10);
	if (*end || end == dash + 1 || n < 0)
		return false;
	memcpy(topic, name, (size_t)(dash - name));
	topic[dash - name] = 0;
	ti = kb_topic_idx(s, topic);
	return ti >= 0 && n < s->topics[ti]->t.n_partitions &&
	       s->topics[ti]->dir_of[n] == (int32_t)d;
}

static bool partition_like(const char *name)
{
	const char *dash = strrchr(name, '-');
	char topic[KB_TOPIC_NAME_MAX + 1];

	if (!dash || dash == name || !dash[1] ||
	    (size_t)(dash - name) > KB_TOPIC_NAME_MAX ||
	    strspn(dash + 1, "0123456789") != strlen(dash + 1))
		return false;
	memcpy(topic, name, (size_t)(dash - name));
	topic[dash - name] = 0;
	return kb_topic_name_valid(topic);
}

static void remove_leftovers(struct kb_store *s, bool have_meta)
{
	for (size_t i = 0; i < s->o.n_log_dirs; i++) {
		int fd = openat(s->dfds[i], ".",
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct dirent *de;
		DIR *d;

		if (fd < 0)
			continue;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			continue;
		}
		while ((de = readdir(d))) {
			const char *n = de->d_name;

			if (!partition_like(n) || owned(s, i, n) ||
			    !dir_exists(s->dfds[i], n))
				continue;
			if (!have_meta && !dir_empty_data(s->dfds[i], n)) {
				kb_warn("%s/%s: partition dir with data but no topic metadata; leaving it alone",
					s->dirs[i], n);
				continue;
			}
			kb_warn("%s/%s: removing partition dir of no topic (interrupted create or delete)",
				s->dirs[i], n);
			kb_rm_dir(s->dfds[i], s->dirs[i], n);
		}
		closedir(d);
	}
}

/* Finds each partition's dir, even if log.dirs was reordered. */
static bool locate(struct kb_store *s, struct kb_tstate *ts, int32_t k,
		   bool *moved)
{
	char name[KB_TOPIC_NAME_MAX + 16];
	int32_t d = ts->dir_of[k];

	snprintf(name, sizeof(name), "%s-%d", ts->t.name, k);
	if (d >= 0 && dir_exists(s->dfds[d], name))
		return true;
	for (size_t i = 0; i < s->o.n_log_dirs; i++) {
		if (dir_exists(s->dfds[i], name)) {
			ts->dir_of[k] = (int32_t)i;
			*moved = true;
			return true;
		}
	}
	return false;
}

static int least_loaded(struct kb_store *s)
{
	size_t best = 0;

	for (size_t i = 1; i < s->o.n_log_dirs; i++)
		if (s->dir_load[i] < s->dir_load[best])
			best = i;
	return (int)best;
}

int kb_topics_load(struct kb_store *s)
{
	bool found, stale, moved = false;
	int err = kb_topics_meta_load(s, &found, &stale);

	if (err)
		return err;
	for (size_t i = 0; i < s->n_topics; i++) {
		struct kb_tstate *ts = s->topics[i];

		for (int32_t k = 0; k < ts->t.n_partitions; k++) {
			/* Never recreate it empty: an unmounted volume
			 * must not turn into silently lost data. */
			if (!locate(s, ts, k, &moved)) {
				kb_err("%s-%d: partition dir missing in every log dir; is a log dir not mounted?",
				       ts->t.name, k);
				return -ENOENT;
			}
			s->dir_load[ts->dir_of[k]]++;
		}
	}
	remove_leftovers(s, found);
	for (size_t i = 0; i < s->n_topics; i++) {
		struct kb_tstate *ts = s->topics[i];

		kb_tcfg_effective(s, ts);
		for (int32_t k = 0; k < ts->t.n_partitions; k++) {
			err = kb_part_open(s, ts->dir_of[k], ts->t.name, k,
					   true, &ts->parts[k]);
			if (err)
				return err;
			ts->parts[k]->cfg = &ts->eff;
		}
	}
	if (found && (stale || moved))
		return kb_topics_meta_write(s, NULL);
	return 0;
}

/* Makes partitions [from, to) of @ts. */
static int make_parts(struct kb_store *s, struct kb_tstate *ts, int32_t from,
		      int32_t to)
{
	char name[KB_TOPIC_NAME_MAX + 16];

	for (int32_t k = from; k < to; k++) {
		int d = least_loaded(s);
		int err;

		snprintf(name, sizeof(name), "%s-%d", ts->t.name, k);
		/* Leftover of an interrupted operation: not a live topic. */
		for (size_t i = 0; i < s->o.n_log_dirs; i++)
			kb_rm_dir(s->dfds[i], s->dirs[i], name);
		err = kb_part_open(s, d, ts->t.name, k, true, &ts->parts[k]);
		if (err)
			return err;
		ts->parts[k]->cfg = &ts->eff;
		ts->dir_of[k] = d;
		s->dir_load[d]++;
	}
	return 0;
}

/* Undoes make_parts() after a failure. */
static void unmake_parts(struct kb_store *s, struct kb_tstate *ts,
			 int32_t from, int32_t to)
{
	char name[KB_TOPIC_NAME_MAX + 16];

	for (int32_t k = from; k < to; k++) {
		int d = ts->dir_of[k];

		if (!ts->parts[k])
			continue;
		kb_part_close(ts->parts[k]);
		ts->parts[k] = NULL;
		snprintf(name, sizeof(name), "%s-%d", ts->t.name, k);
		kb_rm_dir(s->dfds[d], s->dirs[d], name);
		s->dir_load[d]--;
	}
}

/* ---- per-topic configs ---- */

static void cfg_free(char *cfg[KB_TCFG_N])
{
	for (int i = 0; i < KB_TCFG_N; i++) {
		free(cfg[i]);
		cfg[i] = NULL;
	}
}

/*
 * Builds in @out the overrides @cur (NULL = none) changed by @ops.  Every
 * op is checked; on a Kafka error *@why says which key and nothing is
 * left in @out.
 */
static int cfg_build(char *const cur[KB_TCFG_N], const struct kb_cfg_op *ops,
		     size_t n, char *out[KB_TCFG_N], const char **why)
{
	char norm[KB_TCFG_VALUE_MAX];

	for (int i = 0; i < KB_TCFG_N; i++) {
		out[i] = cur && cur[i] ? strdup(cur[i]) : NULL;
		if (cur && cur[i] && !out[i])
			goto oom;
	}
	for (size_t i = 0; i < n; i++) {
		int idx = kb_tcfg_index(ops[i].key), e;

		if (idx < 0) {
			e = kb_topic_cfg_check(ops[i].key, "", why);
			cfg_free(out);
			return e;
		}
		free(out[idx]);
		out[idx] = NULL;
		if (!ops[i].value)
			continue;
		e = kb_tcfg_normalize(idx, ops[i].value, norm, sizeof(norm),
				      why);
		if (e) {
			cfg_free(out);
			return e;
		}
		out[idx] = strdup(norm);
		if (!out[idx])
			goto oom;
	}
	/* Kafka's one cross-key rule of the cleaner's settings. */
	if (out[KB_TCFG_MIN_COMPACTION_LAG_MS] &&
	    out[KB_TCFG_MAX_COMPACTION_LAG_MS] &&
	    strtoll(out[KB_TCFG_MIN_COMPACTION_LAG_MS], NULL, 10) >
	    strtoll(out[KB_TCFG_MAX_COMPACTION_LAG_MS], NULL, 10)) {
		*why = "conflict: min.compaction.lag.ms is larger than max.compaction.lag.ms";
		cfg_free(out);
		return KB_ERR_INVALID_CONFIG;
	}
	return KB_ERR_NONE;
oom:
	cfg_free(out);
	return -ENOMEM;
}

/* Partitions follow a new config at once: roll, retention, flush. */
static void cfg_apply_now(struct kb_tstate *ts)
{
	int64_t now = kb_now_real_ms();

	for (int32_t k = 0; k < ts->t.n_partitions; k++)
		if (ts->parts[k])
			kb_part_tick(ts->parts[k], now);
}

int kb_store_topic_alter_config(struct kb_store *s, const char *name,
				const struct kb_cfg_op *ops, size_t n,
				bool replace, bool validate_only,
				const char **why)
{
	ssize_t i = kb_topic_idx(s, name);
	char *next[KB_TCFG_N], *old[KB_TCFG_N];
	struct kb_tstate *ts;
	int err;

	*why = NULL;
	if (i < 0) {
		*why = "unknown topic";
		return KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	ts = s->topics[i];
	err = cfg_build(replace ? NULL : ts->cfg, ops, n, next, why);
	if (err || validate_only) {
		if (!err)
			cfg_free(next);
		return err;
	}
	memcpy(old, ts->cfg, sizeof(old));
	memcpy(ts->cfg, next, sizeof(next));
	err = kb_topics_meta_write(s, NULL);
	if (err) {
		memcpy(ts->cfg, old, sizeof(old));
		cfg_free(next);
		*why = "cannot write topic metadata";
		return err;
	}
	cfg_free(old);
	kb_tcfg_effective(s, ts);
	cfg_apply_now(ts);
	kb_info("topic %s: %zu config change(s)%s", name, n,
		replace ? " (replacing all overrides)" : "");
	return KB_ERR_NONE;
}

int kb_store_topic_set_config(struct kb_store *s, const char *name,
			      const char *key, const char *value,
			      bool validate_only, const char **why)
{
	struct kb_cfg_op op = { key, value };

	return kb_store_topic_alter_config(s, name, &op, 1, false,
					   validate_only, why);
}

const char *kb_store_topic_config(struct kb_store *s, const char *name,
				  const char *key)
{
	ssize_t i = kb_topic_idx(s, name);
	int idx = kb_tcfg_index(key);

	return i < 0 || idx < 0 ? NULL : s->topics[i]->cfg[idx];
}

bool kb_store_topic_config_at(struct kb_store *s, const char *name, size_t i,
			      const char **key, const char **value)
{
	ssize_t ti = kb_topic_idx(s, name);

	if (ti < 0)
		return false;
	for (int k = 0; k < KB_TCFG_N; k++) {
		if (!s->topics[ti]->cfg[k])
			continue;
		if (!i--) {
			*key = kb_topic_cfg_key_name((size_t)k);
			*value = s->topics[ti]->cfg[k];
			return true;
		}
	}
	return false;
}

int kb_store_topic_create(struct kb_store *s, const char *name,
			  int32_t n_partitions)
{
	const char *why;

	return kb_store_topic_create_cfg(s, name, n_partitions, NULL, 0,
					 false, &why);
}

int kb_store_topic_create_cfg(struct kb_store *s, const char *name,
			      int32_t n_partitions,
			      const struct kb_cfg_op *cfg, size_t n_cfg,
			      bool validate_only, const char **why)
{
	char *ovr[KB_TCFG_N];
	struct kb_tstate *ts;
	int err;

	*why = NULL;
	if (!kb_topic_name_valid(name))
		return KB_ERR_INVALID_TOPIC_EXCEPTION;
	if (n_partitions < 1 || n_partitions > 1000000)
		return KB_ERR_INVALID_PARTITIONS;
	if (kb_topic_idx(s, name) >= 0)
		return KB_ERR_TOPIC_ALREADY_EXISTS;
	err = cfg_build(NULL, cfg, n_cfg, ovr, why);
	if (err || validate_only) {
		if (!err)
			cfg_free(ovr);
		return err;
	}
	ts = kb_tstate_new(name, n_partitions);
	if (!ts) {
		cfg_free(ovr);
		return -ENOMEM;
	}
	memcpy(ts->cfg, ovr, sizeof(ovr));
	kb_tcfg_effective(s, ts);
	do {
		if (getrandom(ts->t.id, sizeof(ts->t.id), 0) !=
		    (ssize_t)sizeof(ts->t.id)) {
			err = -errno;
			kb_err("getrandom for a topic id failed: %m");
			kb_tstate_free(ts);
			return err;
		}
		/* RFC 4122 version 4, as Kafka's Uuid.randomUuid(). */
		ts->t.id[6] = (ts->t.id[6] & 0x0f) | 0x40;
		ts->t.id[8] = (ts->t.id[8] & 0x3f) | 0x80;
	} while (kb_store_topic_find_id(s, ts->t.id));
	err = make_parts(s, ts, 0, n_partitions);
	ts->t.n_partitions = n_partitions;
	if (!err)
		err = kb_topic_add(s, ts);
	if (!err) {
		err = kb_topics_meta_write(s, NULL);
		if (err) {
			s->n_topics--;
			index_names(s);
		}
	}
	if (err) {
		unmake_parts(s, ts, 0, n_partitions);
		kb_tstate_free(ts);
		return err;
	}
	kb_info("created topic %s with %d partition(s)", name, n_partitions);
	return KB_ERR_NONE;
}

int kb_store_topic_set_id(struct kb_store *s, const char *name,
			  const uint8_t id[16])
{
	ssize_t i = kb_topic_idx(s, name);
	const struct kb_topic *other = kb_store_topic_find_id(s, id);
	uint8_t old[16];
	int err;

	if (i < 0)
		return KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (other && other != &s->topics[i]->t)
		return -EEXIST;
	if (!memcmp(s->topics[i]->t.id, id, 16))
		return 0;
	memcpy(old, s->topics[i]->t.id, 16);
	memcpy(s->topics[i]->t.id, id, 16);
	err = kb_topics_meta_write(s, NULL);
	if (err)
		memcpy(s->topics[i]->t.id, old, 16);
	return err;
}

int kb_store_topic_delete(struct kb_store *s, const char *name)
{
	ssize_t i = kb_topic_idx(s, name);
	struct kb_tstate *ts;
	int err;

	if (i < 0)
		return KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	ts = s->topics[i];
	err = kb_topics_meta_write(s, ts);
	if (err)
		return err;
	memmove(&s->topics[i], &s->topics[i + 1],
		(s->n_topics - (size_t)i - 1) * sizeof(*s->topics));
	s->n_topics--;
	index_names(s);
	unmake_parts(s, ts, 0, ts->t.n_partitions);
	for (size_t d = 0; d < s->o.n_log_dirs; d++)
		kb_fsync_dir(s->dfds[d], s->dirs[d]);
	kb_tstate_free(ts);
	kb_info("deleted topic %s", name);
	return KB_ERR_NONE;
}

int kb_store_topic_grow(struct kb_store *s, const char *name,
			int32_t new_total)
{
	ssize_t i = kb_topic_idx(s, name);
	struct kb_tstate *ts;
	int32_t old;
	void *a;
	int err;

	if (i < 0)
		return KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	ts = s->topics[i];
	old = ts->t.n_partitions;
	if (new_total <= old || new_total > 1000000)
		return KB_ERR_INVALID_PARTITIONS;
	a = realloc(ts->dir_of, (size_t)new_total * sizeof(*ts->dir_of));
	if (!a)
		return -ENOMEM;
	ts->dir_of = a;
	a = realloc(ts->parts, (size_t)new_total * sizeof(*ts->parts));
	if (!a)
		return -ENOMEM;
	ts->parts = a;
	memset(&ts->parts[old], 0, (size_t)(new_total - old) *
	       sizeof(*ts->parts));
	err = make_parts(s, ts, old, new_total);
	if (!err) {
		ts->t.n_partitions = new_total;
		err = kb_topics_meta_write(s, NULL);
		ts->t.n_partitions = old;
	}
	if (err) {
		unmake_parts(s, ts, old, new_total);
		return err;
	}
	ts->t.n_partitions = new_total;
	kb_info("topic %s grown to %d partition(s)", name, new_total);
	return KB_ERR_NONE;
}

const struct kb_topic *kb_store_topic_find(struct kb_store *s,
					   const char *name)
{
	ssize_t i = kb_topic_idx(s, name);

	return i < 0 ? NULL : &s->topics[i]->t;
}

const struct kb_topic *kb_store_topic_find_id(struct kb_store *s,
					      const uint8_t id[16])
{
	for (size_t i = 0; i < s->n_topics; i++)
		if (!memcmp(s->topics[i]->t.id, id, 16))
			return &s->topics[i]->t;
	return NULL;
}

size_t kb_store_topic_count(struct kb_store *s)
{
	return s->n_topics;
}

const struct kb_topic *kb_store_topic_at(struct kb_store *s, size_t i)
{
	return i < s->n_topics ? &s->topics[i]->t : NULL;
}

struct kb_partition *kb_store_partition(struct kb_store *s, const char *topic,
					int32_t partition)
{
	ssize_t i = kb_topic_idx(s, topic);

	if (i < 0 || partition < 0 ||
	    partition >= s->topics[i]->t.n_partitions)
		return NULL;
	return s->topics[i]->parts[partition];
}

const struct kb_topic *kb_store_topic_get_or_create(struct kb_store *s,
						    const char *name,
						    int32_t auto_partitions,
						    int16_t *err)
{
	const struct kb_topic *t = kb_store_topic_find(s, name);
	int ret;

	*err = KB_ERR_NONE;
	if (t)
		return t;
	if (auto_partitions <= 0) {
		*err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		return NULL;
	}
	if (!kb_topic_name_valid(name)) {
		*err = KB_ERR_INVALID_TOPIC_EXCEPTION;
		return NULL;
	}
	ret = kb_store_topic_create(s, name, auto_partitions);
	if (ret < 0) {
		kb_err("auto-creating topic %s: %s", name, strerror(-ret));
		*err = KB_ERR_KAFKA_STORAGE_ERROR;
		return NULL;
	}
	if (ret != KB_ERR_NONE && ret != KB_ERR_TOPIC_ALREADY_EXISTS) {
		*err = (int16_t)ret;
		return NULL;
	}
	kb_dbg("auto-created topic %s with %d partition(s)", name,
	       auto_partitions);
	t = kb_store_topic_find(s, name);
	if (!t)
		*err = KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	return t;
}
