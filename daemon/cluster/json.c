// SPDX-License-Identifier: GPL-2.0
/* Minimal JSON reading and quoting for znode contents (json.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/json.h"

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Past a string starting at its opening quote, or NULL. */
static const char *skip_str(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return NULL;
			p++;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* Past any value, nested ones included (bounded depth), or NULL. */
static const char *skip_val(const char *p, int depth)
{
	p = ws(p);
	if (depth > 16)
		return NULL;
	if (*p == '"')
		return skip_str(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (*p != '"')
					return NULL;
				p = skip_str(p);
				if (!p)
					return NULL;
				p = ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = skip_val(p, depth + 1);
			if (!p)
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
			p = ws(p);
		}
	}
	/* number, true, false, null */
	if (!*p || strchr(",}] \t\r\n", *p))
		return NULL;
	while (*p && !strchr(",}] \t\r\n", *p))
		p++;
	return p;
}

const char *kb_json_find(const char *js, const char *key)
{
	size_t kl = strlen(key);
	const char *p = ws(js);

	if (*p++ != '{')
		return NULL;
	for (;;) {
		const char *k, *e;

		p = ws(p);
		if (*p != '"')
			return NULL;
		k = p + 1;
		e = skip_str(p);
		if (!e)
			return NULL;
		p = ws(e);
		if (*p++ != ':')
			return NULL;
		p = ws(p);
		if ((size_t)(e - 1 - k) == kl && !memcmp(k, key, kl))
			return p;
		p = skip_val(p, 0);
		if (!p)
			return NULL;
		p = ws(p);
		if (*p++ != ',')
			return NULL;
	}
}

/* Copies a scalar at @p (string unescaped, else raw text) into @buf. */
static const char *scalar(const char *p, char *buf, size_t size)
{
	size_t n = 0;

	p = ws(p);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			char c = *p;

			if (c == '\\') {
				p++;
				if (!*p)
					return NULL;
				c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
			}
			if (n + 1 >= size)
				return NULL;
			buf[n++] = c;
		}
		if (*p != '"')
			return NULL;
		buf[n] = '\0';
		return p + 1;
	}
	if (*p == '{' || *p == '[' || !*p)
		return NULL;
	while (*p && !strchr(",}] \t\r\n", *p)) {
		if (n + 1 >= size)
			return NULL;
		buf[n++] = *p++;
	}
	buf[n] = '\0';
	return n ? p : NULL;
}

bool kb_json_str(const char *js, const char *key, char *buf, size_t size)
{
	const char *v = kb_json_find(js, key);

	if (!v || *v != '"')
		return false;
	return scalar(v, buf, size) != NULL;
}

bool kb_json_int(const char *js, const char *key, int64_t *out)
{
	const char *v = kb_json_find(js, key);
	char buf[32], *end;

	if (!v || !scalar(v, buf, sizeof(buf)))
		return false;
	*out = strtoll(buf, &end, 10);
	return end != buf && !*end;
}

bool kb_json_bool(const char *js, const char *key, bool *out)
{
	const char *v = kb_json_find(js, key);
	char buf[8];

	if (!v || !scalar(v, buf, sizeof(buf)))
		return false;
	if (!strcmp(buf, "true"))
		*out = true;
	else if (!strcmp(buf, "false"))
		*out = false;
	else
		return false;
	return true;
}

const char *kb_json_next(const char *v, char *buf, size_t size)
{
	v = ws(v);
	if (*v == '[') {
		v = ws(v + 1);
		if (*v == ']')
			return NULL;
	} else if (*v == ',') {
		v = ws(v + 1);
	} else {
		return NULL;
	}
	v = scalar(v, buf, size);
	if (!v)
		return NULL;
	v = ws(v);
	return *v == ',' || *v == ']' ? v : NULL;
}

int kb_json_quote(char *buf, size_t size, const char *s)
{
	size_t n = 0;

	if (size < 3)
		return -1;
	buf[n++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t el;

		if (c == '"' || c == '\\')
			el = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20)
			el = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		else
			el = (size_t)snprintf(esc, sizeof(esc), "%c", c);
		if (n + el + 2 > size)
			return -1;
		memcpy(buf + n, esc, el);
		n += el;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return (int)n;
}
