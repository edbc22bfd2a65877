/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough JSON for the znodes Kafka's ZooKeeper layout uses: flat
 * objects whose values are numbers, strings, null, arrays of strings or
 * numbers and one level of nested objects.  Lookups are by top-level key.
 */
#ifndef KB_CLUSTER_JSON_H
#define KB_CLUSTER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Start of the value of top-level @key in object @js, or NULL. */
const char *kb_json_find(const char *js, const char *key);
/* Integer value of @key (a number or a numeric string). */
bool kb_json_int(const char *js, const char *key, int64_t *out);
/* String value of @key into @buf; false for null, absent or too long. */
bool kb_json_str(const char *js, const char *key, char *buf, size_t size);
bool kb_json_bool(const char *js, const char *key, bool *out);
/*
 * Iterates array value @v (from kb_json_find): each call copies the next
 * string or number element as text into @buf and returns the position
 * after it, or NULL at the end or on malformed input.
 */
const char *kb_json_next(const char *v, char *buf, size_t size);
/* Appends "\"s\"" with JSON escapes; returns the bytes written or -1. */
int kb_json_quote(char *buf, size_t size, const char *s);

#endif
