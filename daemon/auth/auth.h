/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Authorization: principals from client certificates and Kafka's ACL
 * model (Documentation/kbroker/acl.rst).
 *
 * The ACLs live in one in-memory list owned by the event loop; a backend
 * loads and saves it (a file in the state dir today; ZooKeeper when a
 * cluster is configured is not built yet).  The codes below are Kafka's
 * wire values, so requests and responses carry them unchanged.
 */
#ifndef KB_AUTH_AUTH_H
#define KB_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "proto/api.h"

/* Room for "User:" + an RFC 2253 subject and for ACL names. */
#define KB_PRINCIPAL_MAX 1024
#define KB_ACL_NAME_MAX 1024
#define KB_ACL_HOST_MAX 256
/* A request may carry at most this many creations or filters. */
#define KB_ACL_REQ_MAX 1000
/* The whole store: a bound against a flood of CreateAcls. */
#define KB_ACL_STORE_MAX 100000

#define KB_PRINCIPAL_ANONYMOUS "User:ANONYMOUS"
#define KB_CLUSTER_NAME "kafka-cluster"

enum kb_acl_res {
	KB_RES_UNKNOWN = 0, KB_RES_ANY = 1, KB_RES_TOPIC = 2, KB_RES_GROUP = 3,
	KB_RES_CLUSTER = 4, KB_RES_TXN_ID = 5, KB_RES_DELEGATION_TOKEN = 6,
	KB_RES_USER = 7,
};

enum kb_acl_pat {
	KB_PAT_UNKNOWN = 0, KB_PAT_ANY = 1, KB_PAT_MATCH = 2,
	KB_PAT_LITERAL = 3, KB_PAT_PREFIXED = 4,
};

enum kb_acl_op {
	KB_OP_UNKNOWN = 0, KB_OP_ANY = 1, KB_OP_ALL = 2, KB_OP_READ = 3,
	KB_OP_WRITE = 4, KB_OP_CREATE = 5, KB_OP_DELETE = 6, KB_OP_ALTER = 7,
	KB_OP_DESCRIBE = 8, KB_OP_CLUSTER_ACTION = 9,
	KB_OP_DESCRIBE_CONFIGS = 10, KB_OP_ALTER_CONFIGS = 11,
	KB_OP_IDEMPOTENT_WRITE = 12, KB_OP_CREATE_TOKENS = 13,
	KB_OP_DESCRIBE_TOKENS = 14,
	KB_OP_COUNT
};

enum kb_acl_perm {
	KB_PERM_UNKNOWN = 0, KB_PERM_ANY = 1, KB_PERM_DENY = 2,
	KB_PERM_ALLOW = 3,
};

/* One binding: a resource pattern and an access control entry. */
struct kb_acl {
	int8_t res, pat, op, perm;
	char *name;
	char *principal;
	char *host;
};

/* A filter as DescribeAcls and DeleteAcls carry it; NULL strings match
 * anything, *_ANY codes too, KB_PAT_MATCH what would apply to name. */
struct kb_acl_filter {
	int8_t res, pat, op, perm;
	const char *name;
	const char *principal;
	const char *host;
};

/* Where the ACL list is kept between restarts. */
struct kb_acl_backend {
	const char *name;
	/* Replaces *@out (caller frees with kb_acls_free); 0 or -errno. */
	int (*load)(struct kb_acl_backend *be, struct kb_acl **out,
		    size_t *n);
	/* Durable before it returns; 0 or -errno. */
	int (*save)(struct kb_acl_backend *be, const struct kb_acl *acls,
		    size_t n);
	void (*free)(struct kb_acl_backend *be);
	void *priv;
};

/* ACLs in <dir>/acls, replaced atomically (rename) and fsynced. */
struct kb_acl_backend *kb_acl_file_backend(const char *dir);

/* Counters for the metrics endpoint. */
struct kb_auth_stats {
	uint64_t checks;
	uint64_t denied;
	uint64_t denied_logged;		/* the rest were rate-limited */
	uint64_t acl_changes;
};
extern struct kb_auth_stats kb_auth_stats;

/*
 * Reads authorizer, super.users, allow.everyone.if.no.acl.found and
 * ssl.principal.mapping.rules from @cfg and, when the authorizer is on,
 * loads the ACLs through @be (taken over; NULL = the file backend in the
 * state dir).  Logs and returns -1 on a bad setting or unreadable store.
 */
int kb_auth_init(const struct kb_config *cfg, struct kb_acl_backend *be);
void kb_auth_fini(void);
bool kb_auth_enabled(void);

/*
 * Kafka's decision: super users may do anything; a DENY matching the
 * principal (or User:*), host (or *) and operation (or ALL) wins; then an
 * ALLOW for the operation, an operation implying it, or ALL; a resource
 * no ACL names at all follows allow.everyone.if.no.acl.found.  With the
 * authorizer off everything is allowed.  A denial is logged at most once a
 * minute per principal, resource and operation, unless @quiet (filtering,
 * as Metadata does when listing all topics).
 */
bool kb_authorize(const struct kb_auth_who *who, int8_t op, int8_t res,
		  const char *name, bool quiet);

/* Whether some resource of type @res allows @op (Kafka's
 * authorizeByResourceType): an ALLOW for the principal on any name, and
 * no DENY on all names (the literal * or the empty prefix). */
bool kb_authorize_any(const struct kb_auth_who *who, int8_t op, int8_t res);

/* The ACL list, for the ACL APIs and kbrokerctl. */
typedef void (*kb_acl_fn)(const struct kb_acl *a, void *arg);
/* Calls @fn for each binding @f matches; returns how many. */
size_t kb_acl_describe(const struct kb_acl_filter *f, kb_acl_fn fn,
		       void *arg);
/*
 * Adds @n bindings (copied); errs[i] gets each one's Kafka error (0 when
 * stored, or already present) and why[i] a reason.  Saved through the
 * backend before it returns; when saving fails nothing is added and every
 * err is UNKNOWN_SERVER_ERROR.
 */
void kb_acl_create(const struct kb_acl *acls, size_t n, int16_t *errs,
		   const char **why);
/* Removes every binding one of @n filters matches (each filter's matches
 * reported through @fn with the filter's index in *(size_t *)arg first).
 * Returns 0, or a Kafka error when saving failed (nothing removed). */
int16_t kb_acl_delete(const struct kb_acl_filter *f, size_t n,
		      void (*fn)(size_t fi, const struct kb_acl *a, void *arg),
		      void *arg);

/* Checks one binding to create; NULL when valid, else why not. */
const char *kb_acl_check(const struct kb_acl *a);
/* Checks a filter; NULL when valid. */
const char *kb_acl_filter_check(const struct kb_acl_filter *f);

/* Names of codes, Kafka's spelling (TOPIC, PREFIXED, WRITE, ALLOW). */
const char *kb_acl_res_name(int8_t v);
const char *kb_acl_pat_name(int8_t v);
const char *kb_acl_op_name(int8_t v);
const char *kb_acl_perm_name(int8_t v);
/* Case-insensitive, '-' and '_' ignored; -1 when unknown. */
int kb_acl_res_parse(const char *s);
int kb_acl_pat_parse(const char *s);
int kb_acl_op_parse(const char *s);
int kb_acl_perm_parse(const char *s);

/*
 * Text form of a binding, one line without '\n': seven space-separated
 * fields "TOPIC LITERAL orders User:alice * WRITE ALLOW", bytes outside
 * '!'..'~' and '%' written as %XX.  The file backend and the control
 * socket use it.  Parse returns 0, or -1 (a->* untouched on failure;
 * strings malloc'd on success).
 */
int kb_acl_format(const struct kb_acl *a, char *buf, size_t len);
int kb_acl_parse(const char *line, struct kb_acl *a);
void kb_acl_clear(struct kb_acl *a);
void kb_acls_free(struct kb_acl *acls, size_t n);

/* Principal mapping rules (ssl.principal.mapping.rules). */
struct kb_pmap;
/* NULL with @why filled on a bad rule. */
struct kb_pmap *kb_pmap_parse(const char *rules, char *why, size_t len);
void kb_pmap_free(struct kb_pmap *m);
/* Maps an RFC 2253 DN to a name: 0, or -1 when no rule matches. */
int kb_pmap_apply(const struct kb_pmap *m, const char *dn, char *out,
		  size_t len);

/*
 * The principal of a TLS peer: "User:" + its certificate's subject (RFC
 * 2253) mapped by the rules, or User:ANONYMOUS when @cert is NULL.  -1
 * (and @out names why) when the subject is too long or no rule matches:
 * the connection must not go on, as in Kafka.  @cert is an X509 *.
 */
int kb_principal_of_cert(const void *cert, char *out, size_t len);

#endif
