// SPDX-License-Identifier: GPL-2.0
/*
 * Principals from client certificates, as Kafka's default SSL principal
 * builder makes them: the subject DN in RFC 2253 form, rewritten by the
 * first of ssl.principal.mapping.rules that matches the whole DN:
 *
 *   RULE:pattern/replacement/[L|U]   regex (PCRE2, the syntax Kafka's Java
 *                                    patterns use), $1.. in replacement,
 *                                    L or U to lower- or upper-case
 *   DEFAULT                          the DN unchanged
 *
 * Rules are separated by commas or newlines; a comma inside a pattern
 * belongs to the pattern (as in Kafka).  No rule matching is an
 * authentication failure.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <openssl/x509.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/internal.h"
#include "common/log.h"

struct rule {
	bool is_default;
	pcre2_code *re;
	char *repl;
	char cas;		/* 0, 'L' or 'U' */
};

struct kb_pmap {
	struct rule *r;
	size_t n;
};

static struct kb_pmap *rules;

void kb_pmap_free(struct kb_pmap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++) {
		pcre2_code_free(m->r[i].re);
		free(m->r[i].repl);
	}
	free(m->r);
	free(m);
}

/* Up to an unescaped '/', escapes kept (the regex engine reads them). */
static char *take_part(const char **s)
{
	const char *p = *s;
	char *out;

	while (*p && *p != '/') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	if (*p != '/')
		return NULL;
	out = strndup(*s, (size_t)(p - *s));
	*s = p + 1;
	return out;
}

static bool add_rule(struct kb_pmap *m, const struct rule *r)
{
	struct rule *p = realloc(m->r, (m->n + 1) * sizeof(*p));

	if (!p)
		return false;
	m->r = p;
	m->r[m->n++] = *r;
	return true;
}

struct kb_pmap *kb_pmap_parse(const char *text, char *why, size_t len)
{
	struct kb_pmap *m = calloc(1, sizeof(*m));
	const char *s = text;

	if (!m) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	for (;;) {
		struct rule r = { 0 };
		char *pat;
		PCRE2_SIZE off;
		int err;

		while (isspace((unsigned char)*s) || *s == ',')
			s++;
		if (!*s)
			break;
		if (!strncmp(s, "DEFAULT", 7)) {
			r.is_default = true;
			s += 7;
		} else if (!strncmp(s, "RULE:", 5)) {
			s += 5;
			pat = take_part(&s);
			r.repl = pat ? take_part(&s) : NULL;
			if (!pat || !r.repl) {
				free(pat);
				free(r.repl);
				snprintf(why, len,
					 "a RULE needs RULE:pattern/replacement/[L|U]");
				goto bad;
			}
			r.re = pcre2_compile((PCRE2_SPTR)pat,
					     PCRE2_ZERO_TERMINATED,
					     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
					     &err, &off, NULL);
			free(pat);
			if (!r.re) {
				char msg[120];

				pcre2_get_error_message(err, (PCRE2_UCHAR *)msg,
							sizeof(msg));
				snprintf(why, len, "bad pattern at %zu: %s",
					 (size_t)off, msg);
				free(r.repl);
				goto bad;
			}
			if (*s == 'L' || *s == 'U')
				r.cas = *s++;
		} else {
			snprintf(why, len,
				 "expected DEFAULT or RULE:pattern/replacement/[L|U] at \"%.20s\"",
				 s);
			goto bad;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s && *s != ',' && *s != '\n') {
			snprintf(why, len, "unexpected \"%.20s\" after a rule", s);
			pcre2_code_free(r.re);
			free(r.repl);
			goto bad;
		}
		if (!add_rule(m, &r)) {
			pcre2_code_free(r.re);
			free(r.repl);
			snprintf(why, len, "out of memory");
			goto bad;
		}
	}
	return m;
bad:
	kb_pmap_free(m);
	return NULL;
}

/* Kafka's replacement text: $N is group N, \x is x. */
static int expand(const struct rule *r, const char *dn, PCRE2_SIZE *ov,
		  int ngroups, char *out, size_t len)
{
	const char *p = r->repl;
	size_t o = 0;

	for (; *p; p++) {
		const char *src = p;
		size_t n = 1;

		if (*p == '\\' && p[1]) {
			src = ++p;
		} else if (*p == '$' && isdigit((unsigned char)p[1])) {
			int g = p[1] - '0';

			p++;
			if (g >= ngroups || ov[2 * g] == PCRE2_UNSET) {
				n = 0;
			} else {
				src = dn + ov[2 * g];
				n = ov[2 * g + 1] - ov[2 * g];
			}
		}
		if (o + n >= len)
			return -1;
		memcpy(out + o, src, n);
		o += n;
	}
	out[o] = '\0';
	for (o = 0; r->cas && out[o]; o++)
		out[o] = (char)(r->cas == 'L' ? tolower((unsigned char)out[o]) :
					       toupper((unsigned char)out[o]));
	return 0;
}

int kb_pmap_apply(const struct kb_pmap *m, const char *dn, char *out,
		  size_t len)
{
	size_t i, dlen = strlen(dn);

	for (i = 0; m && i < m->n; i++) {
		const struct rule *r = &m->r[i];
		pcre2_match_data *md;
		int rc;

		if (r->is_default) {
			if (dlen >= len)
				return -1;
			memcpy(out, dn, dlen + 1);
			return 0;
		}
		md = pcre2_match_data_create_from_pattern(r->re, NULL);
		if (!md)
			return -1;
		/* The whole DN, as Java's Matcher.matches(). */
		rc = pcre2_match(r->re, (PCRE2_SPTR)dn, dlen, 0,
				 PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL);
		if (rc > 0) {
			rc = expand(r, dn, pcre2_get_ovector_pointer(md), rc,
				    out, len);
			pcre2_match_data_free(md);
			return rc ? -1 : 0;
		}
		pcre2_match_data_free(md);
	}
	if (!m || !m->n) {
		if (dlen >= len)
			return -1;
		memcpy(out, dn, dlen + 1);
		return 0;
	}
	return -1;
}

int kb_principal_setup(const char *text)
{
	struct kb_pmap *m = NULL;
	char why[200];

	if (text && *text) {
		m = kb_pmap_parse(text, why, sizeof(why));
		if (!m) {
			kb_err("ssl.principal.mapping.rules: %s", why);
			return -1;
		}
	}
	kb_pmap_free(rules);
	rules = m;
	return 0;
}

int kb_principal_of_cert(const void *cert, char *out, size_t len)
{
	/* RFC 2253 with UTF-8 kept as is (Java's X500Principal does not
	 * escape it); control characters and specials are escaped. */
	unsigned long fl = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	char dn[KB_PRINCIPAL_MAX], name[KB_PRINCIPAL_MAX];
	BIO *b;
	int n;

	if (!cert) {
		snprintf(out, len, "%s", KB_PRINCIPAL_ANONYMOUS);
		return 0;
	}
	b = BIO_new(BIO_s_mem());
	if (!b) {
		snprintf(out, len, "out of memory");
		return -1;
	}
	X509_NAME_print_ex(b, X509_get_subject_name((X509 *)cert), 0, fl);
	n = BIO_read(b, dn, sizeof(dn));
	BIO_free(b);
	if (n < 0)
		n = 0;
	if (n >= (int)sizeof(dn) || memchr(dn, '\0', (size_t)n)) {
		snprintf(out, len, "client certificate subject too long");
		return -1;
	}
	dn[n] = '\0';
	if (kb_pmap_apply(rules, dn, name, sizeof(name))) {
		snprintf(out, len,
			 "no ssl.principal.mapping.rules rule matches the client certificate subject %.200s",
			 dn);
		return -1;
	}
	if ((size_t)snprintf(out, len, "User:%s", name) >= len) {
		snprintf(out, len, "principal too long");
		return -1;
	}
	return 0;
}
