// SPDX-License-Identifier: GPL-2.0
/*
 * The ACL list and Kafka's authorization decision over it.  One list,
 * owned by the event loop; a check is a scan of it (a hundred bindings
 * cost well under a microsecond, measured by make bench).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "common/log.h"
#include "proto/errors.h"

struct kb_auth_stats kb_auth_stats;

static struct {
	bool on;
	bool allow_if_none;
	char **supers;
	size_t n_supers;
	struct kb_acl *acls;
	size_t n, cap;
	struct kb_acl_backend *be;
} az;

bool kb_auth_enabled(void)
{
	return az.on;
}

static bool name_matches(const struct kb_acl *a, const char *name)
{
	if (a->pat == KB_PAT_PREFIXED)
		return !strncmp(name, a->name, strlen(a->name));
	return !strcmp(a->name, "*") || !strcmp(a->name, name);
}

/* Kafka's implied operations: READ, WRITE, DELETE and ALTER grant
 * DESCRIBE; ALTER_CONFIGS grants DESCRIBE_CONFIGS. */
static bool grants(int8_t acl_op, int8_t op)
{
	if (acl_op == KB_OP_ALL || acl_op == op)
		return true;
	if (op == KB_OP_DESCRIBE)
		return acl_op == KB_OP_READ || acl_op == KB_OP_WRITE ||
		       acl_op == KB_OP_DELETE || acl_op == KB_OP_ALTER;
	if (op == KB_OP_DESCRIBE_CONFIGS)
		return acl_op == KB_OP_ALTER_CONFIGS;
	return false;
}

static bool is_super(const char *principal)
{
	size_t i;

	for (i = 0; i < az.n_supers; i++)
		if (!strcmp(az.supers[i], principal))
			return true;
	return false;
}

static bool applies(const struct kb_acl *a, const struct kb_auth_who *who)
{
	return (!strcmp(a->principal, "User:*") ||
		!strcmp(a->principal, who->principal)) &&
	       (!strcmp(a->host, "*") || (who->host &&
					  !strcmp(a->host, who->host)));
}

static bool decide(const struct kb_auth_who *who, int8_t op, int8_t res,
		   const char *name)
{
	bool named = false, allow = false;
	size_t i;

	if (is_super(who->principal))
		return true;
	for (i = 0; i < az.n; i++) {
		const struct kb_acl *a = &az.acls[i];

		if (a->res != res || !name_matches(a, name))
			continue;
		named = true;
		if (!applies(a, who))
			continue;
		if (a->perm == KB_PERM_DENY &&
		    (a->op == op || a->op == KB_OP_ALL))
			return false;
		if (a->perm == KB_PERM_ALLOW && grants(a->op, op))
			allow = true;
	}
	return named ? allow : az.allow_if_none;
}

bool kb_authorize(const struct kb_auth_who *who, int8_t op, int8_t res,
		  const char *name, bool quiet)
{
	struct kb_auth_who anon = { KB_PRINCIPAL_ANONYMOUS, NULL };

	if (!az.on)
		return true;
	if (!who || !who->principal)
		who = &anon;
	kb_auth_stats.checks++;
	if (res == KB_RES_CLUSTER)
		name = KB_CLUSTER_NAME;
	if (decide(who, op, res, name))
		return true;
	kb_auth_stats.denied++;
	if (!quiet)
		kb_auth_audit(who, op, res, name);
	return false;
}

bool kb_authorize_any(const struct kb_auth_who *who, int8_t op, int8_t res)
{
	bool named = false, allow = false;
	size_t i;

	if (!az.on || is_super(who->principal))
		return true;
	kb_auth_stats.checks++;
	for (i = 0; i < az.n; i++) {
		const struct kb_acl *a = &az.acls[i];

		if (a->res != res)
			continue;
		named = true;
		if (!applies(a, who))
			continue;
		if (a->perm == KB_PERM_DENY &&
		    (a->op == op || a->op == KB_OP_ALL) &&
		    ((a->pat == KB_PAT_LITERAL && !strcmp(a->name, "*")) ||
		     (a->pat == KB_PAT_PREFIXED && !a->name[0])))
			return false;
		if (a->perm == KB_PERM_ALLOW && grants(a->op, op))
			allow = true;
	}
	return named ? allow : az.allow_if_none;
}

/* Names and codes. */
static const char *const res_names[] = {
	"UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID",
	"DELEGATION_TOKEN", "USER",
};
static const char *const pat_names[] = {
	"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED",
};
static const char *const op_names[] = {
	"UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER",
	"DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
	"IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS",
};
static const char *const perm_names[] = {
	"UNKNOWN", "ANY", "DENY", "ALLOW",
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *t, int n, int8_t v)
{
	return v >= 0 && v < n ? t[v] : "UNKNOWN";
}

const char *kb_acl_res_name(int8_t v) { return name_of(res_names, N(res_names), v); }
const char *kb_acl_pat_name(int8_t v) { return name_of(pat_names, N(pat_names), v); }
const char *kb_acl_op_name(int8_t v) { return name_of(op_names, N(op_names), v); }
const char *kb_acl_perm_name(int8_t v) { return name_of(perm_names, N(perm_names), v); }

/* "transactional-id", "TransactionalId" and "TRANSACTIONAL_ID" alike. */
static bool same_word(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-' || *a == '_')
			a++;
		while (*b == '-' || *b == '_')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if ((*a | 0x20) != (*b | 0x20))
			return false;
		a++;
		b++;
	}
}

static int code_of(const char *const *t, int n, const char *s)
{
	int i;

	for (i = 1; i < n; i++)
		if (same_word(t[i], s))
			return i;
	return -1;
}

int kb_acl_res_parse(const char *s) { return code_of(res_names, N(res_names), s); }
int kb_acl_pat_parse(const char *s) { return code_of(pat_names, N(pat_names), s); }
int kb_acl_op_parse(const char *s) { return code_of(op_names, N(op_names), s); }
int kb_acl_perm_parse(const char *s) { return code_of(perm_names, N(perm_names), s); }

/* "Type:name", both parts non-empty, as Kafka parses a principal. */
static bool principal_ok(const char *p)
{
	const char *c = strchr(p, ':');

	return c && c != p && c[1];
}

const char *kb_acl_check(const struct kb_acl *a)
{
	if (a->res != KB_RES_TOPIC && a->res != KB_RES_GROUP &&
	    a->res != KB_RES_CLUSTER && a->res != KB_RES_TXN_ID)
		return "resource type must be TOPIC, GROUP, CLUSTER or TRANSACTIONAL_ID";
	if (a->pat != KB_PAT_LITERAL && a->pat != KB_PAT_PREFIXED)
		return "pattern type must be LITERAL or PREFIXED";
	if (a->op <= KB_OP_ANY || a->op >= KB_OP_COUNT)
		return "unknown or ANY operation";
	if (a->perm != KB_PERM_ALLOW && a->perm != KB_PERM_DENY)
		return "permission must be ALLOW or DENY";
	if (!a->name || !a->name[0] || strlen(a->name) >= KB_ACL_NAME_MAX)
		return "resource name empty or too long";
	if (a->res == KB_RES_CLUSTER && strcmp(a->name, KB_CLUSTER_NAME))
		return "the only valid name for the CLUSTER resource is kafka-cluster";
	if (a->res == KB_RES_CLUSTER && a->pat != KB_PAT_LITERAL)
		return "the CLUSTER resource takes a LITERAL pattern";
	if (!a->principal || strlen(a->principal) >= KB_PRINCIPAL_MAX ||
	    !principal_ok(a->principal))
		return "principal must be Type:name (e.g. User:alice)";
	if (!a->host || !a->host[0] || strlen(a->host) >= KB_ACL_HOST_MAX)
		return "host empty or too long (* for any)";
	return NULL;
}

static bool code_ok(int8_t v, int8_t lo, int8_t hi)
{
	return v >= lo && v <= hi;
}

const char *kb_acl_filter_check(const struct kb_acl_filter *f)
{
	if (!code_ok(f->res, KB_RES_ANY, KB_RES_USER))
		return "unknown resource type";
	if (!code_ok(f->pat, KB_PAT_ANY, KB_PAT_PREFIXED))
		return "unknown pattern type";
	if (!code_ok(f->op, KB_OP_ANY, KB_OP_COUNT - 1))
		return "unknown operation";
	if (!code_ok(f->perm, KB_PERM_ANY, KB_PERM_ALLOW))
		return "unknown permission type";
	if ((f->name && strlen(f->name) >= KB_ACL_NAME_MAX) ||
	    (f->principal && strlen(f->principal) >= KB_PRINCIPAL_MAX) ||
	    (f->host && strlen(f->host) >= KB_ACL_HOST_MAX))
		return "filter string too long";
	return NULL;
}

/* Kafka's ResourcePatternFilter and AccessControlEntryFilter. */
static bool filter_matches(const struct kb_acl_filter *f,
			   const struct kb_acl *a)
{
	if (f->res != KB_RES_ANY && f->res != a->res)
		return false;
	if (f->pat != KB_PAT_ANY && f->pat != KB_PAT_MATCH && f->pat != a->pat)
		return false;
	if (f->name) {
		if (f->pat == KB_PAT_ANY || f->pat == a->pat) {
			if (strcmp(f->name, a->name))
				return false;
		} else if (!name_matches(a, f->name)) {
			return false;
		}
	}
	if (f->principal && strcmp(f->principal, a->principal))
		return false;
	if (f->host && strcmp(f->host, a->host))
		return false;
	if (f->op != KB_OP_ANY && f->op != a->op)
		return false;
	return f->perm == KB_PERM_ANY || f->perm == a->perm;
}

size_t kb_acl_describe(const struct kb_acl_filter *f, kb_acl_fn fn,
		       void *arg)
{
	size_t i, n = 0;

	for (i = 0; i < az.n; i++) {
		if (!filter_matches(f, &az.acls[i]))
			continue;
		if (fn)
			fn(&az.acls[i], arg);
		n++;
	}
	return n;
}

static bool same_acl(const struct kb_acl *a, const struct kb_acl *b)
{
	return a->res == b->res && a->pat == b->pat && a->op == b->op &&
	       a->perm == b->perm && !strcmp(a->name, b->name) &&
	       !strcmp(a->principal, b->principal) && !strcmp(a->host, b->host);
}

void kb_acl_clear(struct kb_acl *a)
{
	free(a->name);
	free(a->principal);
	free(a->host);
	a->name = a->principal = a->host = NULL;
}

void kb_acls_free(struct kb_acl *acls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		kb_acl_clear(&acls[i]);
	free(acls);
}

static int acl_dup(struct kb_acl *dst, const struct kb_acl *src)
{
	*dst = *src;
	dst->name = strdup(src->name);
	dst->principal = strdup(src->principal);
	dst->host = strdup(src->host);
	if (!dst->name || !dst->principal || !dst->host) {
		kb_acl_clear(dst);
		return -1;
	}
	return 0;
}

static int save(void)
{
	int ret = az.be ? az.be->save(az.be, az.acls, az.n) : 0;

	if (ret < 0)
		kb_err("saving ACLs through the %s backend: %s", az.be->name,
		       strerror(-ret));
	return ret;
}

void kb_acl_create(const struct kb_acl *acls, size_t n, int16_t *errs,
		   const char **why)
{
	size_t i, j, old = az.n;

	for (i = 0; i < n; i++) {
		why[i] = kb_acl_check(&acls[i]);
		errs[i] = why[i] ? KB_ERR_INVALID_REQUEST : KB_ERR_NONE;
		if (why[i])
			continue;
		for (j = 0; j < az.n && !same_acl(&az.acls[j], &acls[i]); j++)
			;
		if (j < az.n)
			continue;	/* already there: Kafka answers success */
		if (az.n >= KB_ACL_STORE_MAX) {
			errs[i] = KB_ERR_INVALID_REQUEST;
			why[i] = "too many ACLs on this broker";
			continue;
		}
		if (az.n == az.cap) {
			size_t cap = az.cap ? az.cap * 2 : 16;
			struct kb_acl *p = realloc(az.acls, cap * sizeof(*p));

			if (!p)
				goto nomem;
			az.acls = p;
			az.cap = cap;
		}
		if (acl_dup(&az.acls[az.n], &acls[i]))
			goto nomem;
		az.n++;
	}
	if (az.n == old || !save()) {
		kb_auth_stats.acl_changes += az.n - old;
		for (i = old; i < az.n; i++) {
			char line[3 * KB_PRINCIPAL_MAX];

			kb_acl_format(&az.acls[i], line, sizeof(line));
			kb_notice("ACL added: %s", line);
		}
		return;
	}
nomem:
	while (az.n > old)
		kb_acl_clear(&az.acls[--az.n]);
	for (i = 0; i < n; i++) {
		errs[i] = KB_ERR_UNKNOWN_SERVER_ERROR;
		why[i] = "the ACLs could not be stored";
	}
}

int16_t kb_acl_delete(const struct kb_acl_filter *f, size_t n,
		      void (*fn)(size_t fi, const struct kb_acl *a, void *arg),
		      void *arg)
{
	struct kb_acl *keep;
	size_t i, k, nk = 0;
	bool *gone;

	if (!az.n)
		return KB_ERR_NONE;
	keep = malloc(az.n * sizeof(*keep));
	gone = calloc(az.n, sizeof(*gone));
	if (!keep || !gone) {
		free(keep);
		free(gone);
		return KB_ERR_UNKNOWN_SERVER_ERROR;
	}
	for (i = 0; i < az.n; i++) {
		for (k = 0; k < n && !gone[i]; k++)
			gone[i] = filter_matches(&f[k], &az.acls[i]);
		if (!gone[i])
			keep[nk++] = az.acls[i];
	}
	if (nk == az.n) {
		free(keep);
		free(gone);
		return KB_ERR_NONE;
	}
	if (az.be && az.be->save(az.be, keep, nk) < 0) {
		kb_err("saving ACLs through the %s backend failed; none removed",
		       az.be->name);
		free(keep);
		free(gone);
		return KB_ERR_UNKNOWN_SERVER_ERROR;
	}
	/* Each removed binding is reported under every filter it matched,
	 * as Kafka does. */
	for (k = 0; k < n; k++)
		for (i = 0; i < az.n; i++)
			if (fn && gone[i] && filter_matches(&f[k], &az.acls[i]))
				fn(k, &az.acls[i], arg);
	for (i = 0; i < az.n; i++) {
		char line[3 * KB_PRINCIPAL_MAX];

		if (!gone[i])
			continue;
		kb_acl_format(&az.acls[i], line, sizeof(line));
		kb_notice("ACL removed: %s", line);
		kb_acl_clear(&az.acls[i]);
		kb_auth_stats.acl_changes++;
	}
	free(az.acls);
	free(gone);
	az.acls = keep;
	az.n = nk;
	az.cap = az.n;
	return KB_ERR_NONE;
}

/* Text form. */
static void put_field(char **p, char *end, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (*p < end)
		*(*p)++ = ' ';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > ' ' && c <= '~' && c != '%') {
			if (*p < end)
				*(*p)++ = (char)c;
			continue;
		}
		if (end - *p >= 3) {
			*(*p)++ = '%';
			*(*p)++ = hex[c >> 4];
			*(*p)++ = hex[c & 15];
		} else {
			*p = end;
		}
	}
}

int kb_acl_format(const struct kb_acl *a, char *buf, size_t len)
{
	char *p = buf, *end = buf + len - 1;

	if (!len)
		return -1;
	put_field(&p, end, kb_acl_res_name(a->res));
	put_field(&p, end, kb_acl_pat_name(a->pat));
	put_field(&p, end, a->name);
	put_field(&p, end, a->principal);
	put_field(&p, end, a->host);
	put_field(&p, end, kb_acl_op_name(a->op));
	put_field(&p, end, kb_acl_perm_name(a->perm));
	*p = '\0';
	memmove(buf, buf + 1, (size_t)(p - buf));	/* the first space */
	return p >= end ? -1 : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Next field of *@s, decoded into a malloc'd string; NULL on error. */
static char *get_field(const char **s)
{
	const char *p = *s, *q;
	char *out, *o;

	while (*p == ' ' || *p == '\t')
		p++;
	for (q = p; *q && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r';)
		q++;
	if (q == p || q - p >= 3 * KB_PRINCIPAL_MAX)
		return NULL;
	out = o = malloc((size_t)(q - p) + 1);
	if (!out)
		return NULL;
	for (; p < q; p++) {
		int hi, lo;

		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		hi = q - p < 3 ? -1 : hexval(p[1]);
		lo = q - p < 3 ? -1 : hexval(p[2]);
		if (hi < 0 || lo < 0 || (!hi && !lo)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*o = '\0';
	*s = q;
	return out;
}

int kb_acl_parse(const char *line, struct kb_acl *a)
{
	char *f[7] = { 0 };
	struct kb_acl t;
	int i, v[4];

	for (i = 0; i < 7; i++) {
		f[i] = get_field(&line);
		if (!f[i])
			goto bad;
	}
	while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\n')
		line++;
	if (*line)
		goto bad;
	v[0] = kb_acl_res_parse(f[0]);
	v[1] = kb_acl_pat_parse(f[1]);
	v[2] = kb_acl_op_parse(f[5]);
	v[3] = kb_acl_perm_parse(f[6]);
	if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
		goto bad;
	t = (struct kb_acl){ .res = (int8_t)v[0], .pat = (int8_t)v[1],
			     .op = (int8_t)v[2], .perm = (int8_t)v[3],
			     .name = f[2], .principal = f[3], .host = f[4] };
	if (kb_acl_check(&t))
		goto bad;
	free(f[0]);
	free(f[1]);
	free(f[5]);
	free(f[6]);
	*a = t;
	return 0;
bad:
	for (i = 0; i < 7; i++)
		free(f[i]);
	return -1;
}

/* Set-up. */
static int add_super(const char *s, size_t n)
{
	char **p, *d;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n)
		return 0;
	d = strndup(s, n);
	p = realloc(az.supers, (az.n_supers + 1) * sizeof(*p));
	if (!d || !p) {
		free(d);
		if (p)
			az.supers = p;
		return -1;
	}
	az.supers = p;
	az.supers[az.n_supers++] = d;
	if (!principal_ok(d)) {
		kb_err("super.users: %s is not a principal (Type:name, e.g. User:admin)",
		       d);
		return -1;
	}
	return 0;
}

/* Where the volume tools keep the master key: at.rest.state.dir, else
 * $KBROKER_STATE_DIR, else /var/lib/kbroker. */
static const char *state_dir(const struct kb_config *cfg)
{
	const char *d = getenv("KBROKER_STATE_DIR");

	if (cfg->at_rest_state_dir[0])
		return cfg->at_rest_state_dir;
	return d && *d ? d : "/var/lib/kbroker";
}

int kb_auth_init(const struct kb_config *cfg, struct kb_acl_backend *be)
{
	const char *s = cfg->super_users, *e;
	int ret;

	kb_auth_fini();
	if (kb_principal_setup(cfg->ssl_principal_mapping_rules))
		goto fail;
	/* Kafka's list is semicolon-separated (DNs hold commas). */
	for (; *s; s = *e ? e + 1 : e) {
		e = strchrnul(s, ';');
		if (add_super(s, (size_t)(e - s)))
			goto fail;
	}
	az.allow_if_none = cfg->allow_everyone_if_no_acl;
	if (!cfg->authorizer_acl) {
		if (be && be->free)
			be->free(be);
		return 0;
	}
	if (!be)
		be = kb_acl_file_backend(state_dir(cfg));
	if (!be) {
		kb_err("authorizer=acl: no ACL store");
		goto fail;
	}
	az.be = be;
	ret = be->load(be, &az.acls, &az.n);
	if (ret < 0) {
		kb_err("authorizer=acl: loading ACLs (%s): %s; not starting without them",
		       be->name, strerror(-ret));
		goto fail;
	}
	az.cap = az.n;
	az.on = true;
	kb_info("authorizer acl: %zu ACL(s) from %s, %zu super user(s), allow.everyone.if.no.acl.found=%s",
		az.n, be->name, az.n_supers,
		az.allow_if_none ? "true" : "false");
	return 0;
fail:
	kb_auth_fini();
	return -1;
}

void kb_auth_fini(void)
{
	size_t i;

	for (i = 0; i < az.n_supers; i++)
		free(az.supers[i]);
	free(az.supers);
	kb_acls_free(az.acls, az.n);
	if (az.be && az.be->free)
		az.be->free(az.be);
	memset(&az, 0, sizeof(az));
	kb_principal_setup(NULL);
	kb_auth_audit_reset();
}
