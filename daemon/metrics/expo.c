// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/expo.h"

static void buf_add(struct kb_expo *e, struct kb_buf *b, const char *s,
		    size_t n)
{
	if (e->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			e->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void add_all(struct kb_expo *e, const char *s, size_t n)
{
	int f;

	for (f = 0; f < KB_FMT_N; f++)
		if (e->fmts & (1u << f))
			buf_add(e, &e->out[f], s, n);
}

void kb_expo_init(struct kb_expo *e, unsigned int fmts)
{
	memset(e, 0, sizeof(*e));
	e->fmts = fmts;
}

void kb_expo_free(struct kb_expo *e)
{
	int f;

	for (f = 0; f < KB_FMT_N; f++)
		free(e->out[f].p);
	memset(e->out, 0, sizeof(e->out));
}

char *kb_expo_take(struct kb_expo *e, enum kb_expo_fmt f, size_t *len)
{
	char *p = e->out[f].p;

	if (e->oom || !(e->fmts & (1u << f)))
		return NULL;
	*len = e->out[f].len;
	if (!p) {
		p = calloc(1, 1);
		*len = 0;
	}
	e->out[f].p = NULL;
	e->out[f].len = e->out[f].cap = 0;
	return p;
}

void kb_expo_raw(struct kb_expo *e, const char *text, size_t len)
{
	add_all(e, text, len);
}

static const char *const type_name[][KB_FMT_N] = {
	[KB_MT_COUNTER] = { "counter", "counter" },
	[KB_MT_GAUGE] = { "gauge", "gauge" },
	[KB_MT_HISTOGRAM] = { "histogram", "histogram" },
	[KB_MT_INFO] = { "gauge", "info" },
};

/* OpenMetrics names the family, not the sample. */
static size_t family_len(const char *name, enum kb_expo_type t)
{
	size_t n = strlen(name);
	const char *sfx = t == KB_MT_COUNTER ? "_total" :
			  t == KB_MT_INFO ? "_info" : NULL;

	if (sfx && n > strlen(sfx) && !strcmp(name + n - strlen(sfx), sfx))
		n -= strlen(sfx);
	return n;
}

void kb_expo_family(struct kb_expo *e, const char *name, enum kb_expo_type t,
		    const char *help)
{
	char line[512];
	int f, n;

	for (f = 0; f < KB_FMT_N; f++) {
		int nl = f == KB_FMT_OPENMETRICS ? (int)family_len(name, t) :
						   (int)strlen(name);

		if (!(e->fmts & (1u << f)))
			continue;
		n = snprintf(line, sizeof(line), "# HELP %.*s %s\n# TYPE %.*s %s\n",
			     nl, name, help, nl, name, type_name[t][f]);
		if (n > 0 && (size_t)n < sizeof(line))
			buf_add(e, &e->out[f], line, (size_t)n);
		else
			e->oom = true;
	}
}

void kb_labels_init(struct kb_labels *l)
{
	l->n = 0;
	l->s[0] = '\0';
	l->trunc = false;
}

void kb_labels_add(struct kb_labels *l, const char *key, const char *value)
{
	size_t room = sizeof(l->s) - l->n, n;
	const char *v;
	char *p;

	n = strlen(key) + 4;
	if (room < n + 1) {
		l->trunc = true;
		return;
	}
	p = l->s + l->n;
	p += sprintf(p, "%s%s=\"", l->n ? "," : "", key);
	room = sizeof(l->s) - (size_t)(p - l->s);
	for (v = value; *v && room > 3; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\\' || c == '"') {
			*p++ = '\\';
			*p++ = (char)c;
			room -= 2;
		} else if (c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
			room -= 2;
		} else {
			/* Keep the output valid UTF-8 whatever came in. */
			*p++ = c < 0x20 || c >= 0x7f ? '?' : (char)c;
			room--;
		}
	}
	if (*v)
		l->trunc = true;
	*p++ = '"';
	*p = '\0';
	l->n = (size_t)(p - l->s);
}

void kb_labels_addu(struct kb_labels *l, const char *key, uint64_t value)
{
	char v[24];

	snprintf(v, sizeof(v), "%" PRIu64, value);
	kb_labels_add(l, key, v);
}

static void sample(struct kb_expo *e, const char *name,
		   const struct kb_labels *l, const char *extra,
		   const char *value)
{
	char line[1400];
	int n;

	if (l && l->n)
		n = snprintf(line, sizeof(line), "%s{%s%s%s} %s\n", name, l->s,
			     extra ? "," : "", extra ? extra : "", value);
	else if (extra)
		n = snprintf(line, sizeof(line), "%s{%s} %s\n", name, extra,
			     value);
	else
		n = snprintf(line, sizeof(line), "%s %s\n", name, value);
	if (n > 0 && (size_t)n < sizeof(line))
		add_all(e, line, (size_t)n);
}

static void fmt_f64(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	else
		snprintf(buf, len, "%.15g", v);
}

void kb_expo_u64(struct kb_expo *e, const char *name,
		 const struct kb_labels *l, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	sample(e, name, l, NULL, buf);
}

void kb_expo_i64(struct kb_expo *e, const char *name,
		 const struct kb_labels *l, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	sample(e, name, l, NULL, buf);
}

void kb_expo_f64(struct kb_expo *e, const char *name,
		 const struct kb_labels *l, double v)
{
	char buf[40];

	fmt_f64(buf, sizeof(buf), v);
	sample(e, name, l, NULL, buf);
}

void kb_expo_one(struct kb_expo *e, const char *name, enum kb_expo_type t,
		 const char *help, double v)
{
	kb_expo_family(e, name, t, help);
	kb_expo_f64(e, name, NULL, v);
}

void kb_expo_histogram(struct kb_expo *e, const char *base,
		       const struct kb_labels *l, const double *bound,
		       const uint64_t *bucket, size_t n, double sum)
{
	char name[160], le[48], b[40], v[24];
	uint64_t cum = 0;
	size_t i;

	snprintf(name, sizeof(name), "%s_bucket", base);
	for (i = 0; i <= n; i++) {
		cum += bucket[i];
		if (i < n)
			fmt_f64(b, sizeof(b), bound[i]);
		snprintf(le, sizeof(le), "le=\"%s\"", i < n ? b : "+Inf");
		snprintf(v, sizeof(v), "%" PRIu64, cum);
		sample(e, name, l, le, v);
	}
	snprintf(name, sizeof(name), "%s_sum", base);
	kb_expo_f64(e, name, l, sum);
	snprintf(name, sizeof(name), "%s_count", base);
	kb_expo_u64(e, name, l, cum);
}
