/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exposition writer: metric families in the Prometheus text format
 * 0.0.4 and in OpenMetrics 1.0.0 at once.  The two differ only in the
 * family lines (OpenMetrics names a counter without _total and an info
 * metric without _info, and has an info type) and in the final # EOF, so
 * each sample line is formatted once and copied into both.
 */
#ifndef KB_METRICS_EXPO_H
#define KB_METRICS_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kb_expo_fmt { KB_FMT_TEXT, KB_FMT_OPENMETRICS, KB_FMT_N };

#define KB_FMT_ALL ((1u << KB_FMT_N) - 1)

enum kb_expo_type { KB_MT_COUNTER, KB_MT_GAUGE, KB_MT_HISTOGRAM, KB_MT_INFO };

struct kb_buf {
	char *p;
	size_t len, cap;
};

struct kb_expo {
	unsigned int fmts;		/* KB_FMT_* bits written */
	struct kb_buf out[KB_FMT_N];
	bool oom;			/* an append failed: output unusable */
};

/* A label set, key="value" pairs already escaped, without braces. */
struct kb_labels {
	char s[768];
	size_t n;
	bool trunc;
};

void kb_expo_init(struct kb_expo *e, unsigned int fmts);
void kb_expo_free(struct kb_expo *e);
/* Moves format @f's text out (caller frees); NULL when it failed. */
char *kb_expo_take(struct kb_expo *e, enum kb_expo_fmt f, size_t *len);

/* HELP and TYPE of a family.  @name is the sample name a Prometheus text
 * scraper sees: counters end in _total, info metrics in _info. */
void kb_expo_family(struct kb_expo *e, const char *name, enum kb_expo_type t,
		    const char *help);

void kb_labels_init(struct kb_labels *l);
void kb_labels_add(struct kb_labels *l, const char *key, const char *value);
void kb_labels_addu(struct kb_labels *l, const char *key, uint64_t value);

/* One sample; @l may be NULL. */
void kb_expo_u64(struct kb_expo *e, const char *name,
		 const struct kb_labels *l, uint64_t v);
void kb_expo_i64(struct kb_expo *e, const char *name,
		 const struct kb_labels *l, int64_t v);
void kb_expo_f64(struct kb_expo *e, const char *name,
		 const struct kb_labels *l, double v);
/* A family with one unlabelled sample. */
void kb_expo_one(struct kb_expo *e, const char *name, enum kb_expo_type t,
		 const char *help, double v);

/* Histogram samples of family @base (no suffix): @bucket[i] counts
 * observations in (bound[i-1], bound[i]], @bucket[n] those above. */
void kb_expo_histogram(struct kb_expo *e, const char *base,
		       const struct kb_labels *l, const double *bound,
		       const uint64_t *bucket, size_t n, double sum);

/* Appends raw text (already in the format) to every written format. */
void kb_expo_raw(struct kb_expo *e, const char *text, size_t len);

#endif
