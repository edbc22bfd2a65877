// SPDX-License-Identifier: GPL-2.0
/*
 * The ACL APIs (DescribeAcls, CreateAcls, DeleteAcls: v0-3, flexible from
 * v2, pattern types from v1) and what the other handlers ask the
 * authorizer.  Every request is read whole before anything is stored;
 * a binding or filter that is not valid gets INVALID_REQUEST and changes
 * nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers/authz.h"
#include "proto/errors.h"
#include "store/store.h"

const char *const kb_api_authz[KB_API_COUNT] = {
	[KB_API_PRODUCE] = "WRITE topic (CREATE cluster or topic to auto-create)",
	[KB_API_FETCH] = "READ topic; followers CLUSTER_ACTION cluster",
	[KB_API_LIST_OFFSETS] = "DESCRIBE topic",
	[KB_API_METADATA] = "DESCRIBE topic, hidden when listing all; CREATE cluster or topic to auto-create",
	[KB_API_OFFSET_COMMIT] = "READ group, READ topic",
	[KB_API_OFFSET_FETCH] = "DESCRIBE group",
	[KB_API_FIND_COORDINATOR] = "DESCRIBE group or transactional id",
	[KB_API_JOIN_GROUP] = "READ group",
	[KB_API_HEARTBEAT] = "READ group",
	[KB_API_LEAVE_GROUP] = "READ group",
	[KB_API_SYNC_GROUP] = "READ group",
	[KB_API_DESCRIBE_GROUPS] = "DESCRIBE group",
	[KB_API_LIST_GROUPS] = "DESCRIBE cluster, else DESCRIBE group to list it",
	[KB_API_API_VERSIONS] = "none: no resource (Kafka asks nothing)",
	[KB_API_CREATE_TOPICS] = "CREATE cluster or topic",
	[KB_API_DELETE_TOPICS] = "DELETE topic",
	[KB_API_DELETE_RECORDS] = "DELETE topic",
	[KB_API_INIT_PRODUCER_ID] = "IDEMPOTENT_WRITE cluster or WRITE on some topic; transactional ids refused",
	[KB_API_OFFSET_FOR_LEADER_EPOCH] = "CLUSTER_ACTION cluster, else DESCRIBE topic",
	[KB_API_ADD_PARTITIONS_TO_TXN] = "none: transactions not served, acts on nothing",
	[KB_API_ADD_OFFSETS_TO_TXN] = "none: transactions not served, acts on nothing",
	[KB_API_END_TXN] = "none: transactions not served, acts on nothing",
	[KB_API_WRITE_TXN_MARKERS] = "none: transactions not served, acts on nothing",
	[KB_API_TXN_OFFSET_COMMIT] = "none: transactions not served, acts on nothing",
	[KB_API_DESCRIBE_ACLS] = "DESCRIBE cluster",
	[KB_API_CREATE_ACLS] = "ALTER cluster",
	[KB_API_DELETE_ACLS] = "ALTER cluster",
	[KB_API_DESCRIBE_CONFIGS] = "DESCRIBE_CONFIGS topic or cluster",
	[KB_API_ALTER_CONFIGS] = "ALTER_CONFIGS topic or cluster",
	[KB_API_CREATE_PARTITIONS] = "ALTER topic",
	[KB_API_DELETE_GROUPS] = "DELETE group",
	[KB_API_INCREMENTAL_ALTER_CONFIGS] = "ALTER_CONFIGS topic or cluster",
	[KB_API_OFFSET_DELETE] = "DELETE group, READ topic",
	[KB_API_DESCRIBE_CLUSTER] = "none: brokers and cluster id only (Kafka asks nothing)",
	[KB_API_DESCRIBE_TRANSACTIONS] = "none: transactions not served, acts on nothing",
	[KB_API_LIST_TRANSACTIONS] = "none: transactions not served, acts on nothing",
};

bool kb_req_may_create_topic(struct kb_req *req, const char *topic)
{
	return kb_req_sees(req, KB_OP_CREATE, KB_RES_CLUSTER, NULL) ||
	       kb_req_may(req, KB_OP_CREATE, KB_RES_TOPIC, topic);
}

int32_t kb_req_auto_partitions(struct kb_req *req, const char *topic)
{
	int32_t n = kb_auto_partitions(req->b);

	if (!n || kb_store_topic_find(req->b->store, topic))
		return 0;
	return kb_req_may_create_topic(req, topic) ? n : 0;
}

int16_t kb_fetch_denied(struct kb_req *req, int32_t replica,
			const char *topic)
{
	if (replica >= 0)
		return kb_req_may(req, KB_OP_CLUSTER_ACTION, KB_RES_CLUSTER,
				  NULL) ? 0 :
		       KB_ERR_CLUSTER_AUTHORIZATION_FAILED;
	return kb_req_may(req, KB_OP_READ, KB_RES_TOPIC, topic) ? 0 :
	       KB_ERR_TOPIC_AUTHORIZATION_FAILED;
}

int16_t kb_config_denied(struct kb_req *req, int8_t type, struct kb_str name,
			 int8_t op)
{
	char buf[KB_TOPIC_NAME_MAX + 1];

	if (!kb_auth_enabled())
		return 0;
	if (type == 4)		/* BROKER */
		return kb_req_may(req, op, KB_RES_CLUSTER, NULL) ? 0 :
		       KB_ERR_CLUSTER_AUTHORIZATION_FAILED;
	if (type == 2)		/* TOPIC */
		return kb_str_copy(buf, sizeof(buf), name) &&
		       kb_req_may(req, op, KB_RES_TOPIC, buf) ? 0 :
		       KB_ERR_TOPIC_AUTHORIZATION_FAILED;
	return 0;		/* refused as unserved by the handler */
}

bool kb_req_may_idempotent(struct kb_req *req)
{
	return kb_req_sees(req, KB_OP_IDEMPOTENT_WRITE, KB_RES_CLUSTER, NULL) ||
	       kb_authorize_any(&req->who, KB_OP_WRITE, KB_RES_TOPIC) ||
	       kb_req_may(req, KB_OP_IDEMPOTENT_WRITE, KB_RES_CLUSTER, NULL);
}

/* ---- request reading ---- */

/* A malloc'd copy of @s, or NULL (and *@bad) when null where not
 * allowed, too long or holding NUL. */
static char *dup_str(struct kb_str s, size_t max, bool nullable, bool *bad)
{
	char *d;

	if (!s.ptr) {
		*bad |= !nullable;
		return NULL;
	}
	if (s.len < 0 || (size_t)s.len >= max || memchr(s.ptr, '\0', s.len)) {
		*bad = true;
		return NULL;
	}
	d = malloc((size_t)s.len + 1);
	if (!d) {
		*bad = true;
		return NULL;
	}
	memcpy(d, s.ptr, s.len);
	d[s.len] = '\0';
	return d;
}

struct filter_in {
	struct kb_acl_filter f;
	char *name, *principal, *host;
	bool bad;
};

static void read_filter(struct kb_req *req, struct filter_in *fi)
{
	struct kb_rd *rd = &req->rd;
	int16_t ver = req->hdr.api_version;
	bool flex = req->flex;

	fi->f.res = kb_rd_i8(rd);
	fi->name = dup_str(kb_rd_vnstr(rd, flex), KB_ACL_NAME_MAX, true,
			   &fi->bad);
	fi->f.pat = ver >= 1 ? kb_rd_i8(rd) : KB_PAT_LITERAL;
	fi->principal = dup_str(kb_rd_vnstr(rd, flex), KB_PRINCIPAL_MAX, true,
				&fi->bad);
	fi->host = dup_str(kb_rd_vnstr(rd, flex), KB_ACL_HOST_MAX, true,
			   &fi->bad);
	fi->f.op = kb_rd_i8(rd);
	fi->f.perm = kb_rd_i8(rd);
	kb_rd_vtags(rd, flex);
	fi->f.name = fi->name;
	fi->f.principal = fi->principal;
	fi->f.host = fi->host;
	fi->bad |= kb_acl_filter_check(&fi->f) != NULL;
}

static void filter_free(struct filter_in *fi)
{
	free(fi->name);
	free(fi->principal);
	free(fi->host);
}

/* Kafka's answers when the ACL APIs cannot be used at all. */
static int16_t acl_api_error(struct kb_req *req, int8_t op, const char **msg)
{
	if (!kb_auth_enabled()) {
		*msg = "no authorizer is configured (authorizer=acl)";
		return KB_ERR_SECURITY_DISABLED;
	}
	if (!kb_req_may(req, op, KB_RES_CLUSTER, NULL)) {
		*msg = "not authorized";
		return KB_ERR_CLUSTER_AUTHORIZATION_FAILED;
	}
	*msg = NULL;
	return 0;
}

/* ---- DescribeAcls ---- */

struct found {
	const struct kb_acl **v;
	size_t n, cap;
	bool oom;
};

static void collect(const struct kb_acl *a, void *arg)
{
	struct found *fd = arg;

	if (fd->n == fd->cap) {
		size_t cap = fd->cap ? fd->cap * 2 : 32;
		const struct kb_acl **p = realloc(fd->v, cap * sizeof(*p));

		if (!p) {
			fd->oom = true;
			return;
		}
		fd->v = p;
		fd->cap = cap;
	}
	fd->v[fd->n++] = a;
}

static bool same_resource(const struct kb_acl *a, const struct kb_acl *b)
{
	return a->res == b->res && a->pat == b->pat && !strcmp(a->name, b->name);
}

int kb_h_describe_acls(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version, err;
	bool flex = req->flex;
	struct filter_in fi = { 0 };
	struct found fd = { 0 };
	const char *msg;
	size_t i, j, nres = 0;

	read_filter(req, &fi);
	kb_rd_vtags(&req->rd, flex);
	if (req->rd.err) {
		filter_free(&fi);
		return KB_H_CLOSE;
	}
	err = acl_api_error(req, KB_OP_DESCRIBE, &msg);
	if (!err && fi.bad) {
		err = KB_ERR_INVALID_REQUEST;
		msg = "invalid ACL filter";
	}
	if (!err)
		kb_acl_describe(&fi.f, collect, &fd);
	if (fd.oom) {
		err = KB_ERR_UNKNOWN_SERVER_ERROR;
		msg = "out of memory";
		fd.n = 0;
	}
	/* v0 cannot express a prefixed pattern. */
	for (i = 0; ver == 0 && i < fd.n; i++)
		if (fd.v[i]->pat != KB_PAT_LITERAL)
			fd.v[i--] = fd.v[--fd.n];
	for (i = 0; i < fd.n; i++) {
		for (j = 0; j < i && !same_resource(fd.v[j], fd.v[i]); j++)
			;
		nres += j == i;
	}
	kb_wr_i32(w, 0);
	kb_wr_i16(w, err);
	kb_wr_vnstr(w, flex, msg);
	kb_wr_varray(w, flex, (int32_t)nres);
	for (i = 0; i < fd.n; i++) {
		size_t cnt = 0;

		for (j = 0; j < i && !same_resource(fd.v[j], fd.v[i]); j++)
			;
		if (j < i)
			continue;
		kb_wr_i8(w, fd.v[i]->res);
		kb_wr_vstr(w, flex, fd.v[i]->name);
		if (ver >= 1)
			kb_wr_i8(w, fd.v[i]->pat);
		for (j = i; j < fd.n; j++)
			cnt += same_resource(fd.v[j], fd.v[i]);
		kb_wr_varray(w, flex, (int32_t)cnt);
		for (j = i; j < fd.n; j++) {
			if (!same_resource(fd.v[j], fd.v[i]))
				continue;
			kb_wr_vstr(w, flex, fd.v[j]->principal);
			kb_wr_vstr(w, flex, fd.v[j]->host);
			kb_wr_i8(w, fd.v[j]->op);
			kb_wr_i8(w, fd.v[j]->perm);
			kb_wr_tags(w, flex);
		}
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	free(fd.v);
	filter_free(&fi);
	return KB_H_DONE;
}

/* ---- CreateAcls ---- */

int kb_h_create_acls(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	int16_t ver = req->hdr.api_version, err;
	bool flex = req->flex, *bad = NULL;
	struct kb_acl *acls = NULL;
	const char **why = NULL, *msg;
	int16_t *errs = NULL;
	int32_t n, i, nv = 0;
	size_t *idx = NULL;
	int ret = KB_H_CLOSE;

	n = kb_rd_varray(rd, flex);
	if (rd->err || n < 0)
		return KB_H_CLOSE;
	/* Bounded by the frame: each creation is at least 7 bytes. */
	if ((size_t)n > kb_rd_left(rd) / 7 + 1)
		return KB_H_CLOSE;
	acls = calloc(n ? n : 1, sizeof(*acls));
	bad = calloc(n ? n : 1, sizeof(*bad));
	errs = calloc(n ? n : 1, sizeof(*errs));
	why = calloc(n ? n : 1, sizeof(*why));
	idx = calloc(n ? n : 1, sizeof(*idx));
	if (!acls || !bad || !errs || !why || !idx)
		goto out;
	for (i = 0; i < n && !rd->err; i++) {
		struct kb_acl *a = &acls[i];

		a->res = kb_rd_i8(rd);
		a->name = dup_str(kb_rd_vstr(rd, flex), KB_ACL_NAME_MAX, false,
				  &bad[i]);
		a->pat = ver >= 1 ? kb_rd_i8(rd) : KB_PAT_LITERAL;
		a->principal = dup_str(kb_rd_vstr(rd, flex), KB_PRINCIPAL_MAX,
				       false, &bad[i]);
		a->host = dup_str(kb_rd_vstr(rd, flex), KB_ACL_HOST_MAX, false,
				  &bad[i]);
		a->op = kb_rd_i8(rd);
		a->perm = kb_rd_i8(rd);
		kb_rd_vtags(rd, flex);
	}
	kb_rd_vtags(rd, flex);
	if (rd->err)
		goto out;
	err = acl_api_error(req, KB_OP_ALTER, &msg);
	if (!err && n > KB_ACL_REQ_MAX) {
		err = KB_ERR_INVALID_REQUEST;
		msg = "too many ACL creations in one request";
	}
	for (i = 0; i < n; i++) {
		errs[i] = err;
		why[i] = msg;
		if (err)
			continue;
		why[i] = bad[i] ? "invalid ACL binding" :
				  kb_acl_check(&acls[i]);
		if (why[i]) {
			errs[i] = KB_ERR_INVALID_REQUEST;
			continue;
		}
		/* Valid ones first, in order; what they replace is freed. */
		if (nv != i) {
			kb_acl_clear(&acls[nv]);
			acls[nv] = acls[i];
			memset(&acls[i], 0, sizeof(acls[i]));
		}
		idx[nv++] = (size_t)i;
	}
	if (nv) {
		int16_t *e = calloc(nv, sizeof(*e));
		const char **y = calloc(nv, sizeof(*y));

		if (e && y) {
			kb_acl_create(acls, nv, e, y);
			for (i = 0; i < nv; i++) {
				errs[idx[i]] = e[i];
				why[idx[i]] = y[i];
			}
		} else {
			for (i = 0; i < nv; i++) {
				errs[idx[i]] = KB_ERR_UNKNOWN_SERVER_ERROR;
				why[idx[i]] = "out of memory";
			}
		}
		free(e);
		free(y);
	}
	kb_wr_i32(w, 0);
	kb_wr_varray(w, flex, n);
	for (i = 0; i < n; i++) {
		kb_wr_i16(w, errs[i]);
		kb_wr_vnstr(w, flex, errs[i] ? why[i] : NULL);
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	ret = KB_H_DONE;
out:
	if (acls)
		kb_acls_free(acls, (size_t)n);
	free(bad);
	free(errs);
	free(why);
	free(idx);
	return ret;
}

/* ---- DeleteAcls ---- */

struct del_wr {
	struct kb_wr *w;
	int16_t ver;
	bool flex;
};

static void write_match(const struct kb_acl *a, void *arg)
{
	struct del_wr *d = arg;

	kb_wr_i16(d->w, 0);
	kb_wr_vnstr(d->w, d->flex, NULL);
	kb_wr_i8(d->w, a->res);
	kb_wr_vstr(d->w, d->flex, a->name);
	if (d->ver >= 1)
		kb_wr_i8(d->w, a->pat);
	kb_wr_vstr(d->w, d->flex, a->principal);
	kb_wr_vstr(d->w, d->flex, a->host);
	kb_wr_i8(d->w, a->op);
	kb_wr_i8(d->w, a->perm);
	kb_wr_tags(d->w, d->flex);
}

int kb_h_delete_acls(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	bool flex = req->flex;
	struct del_wr d = { w, req->hdr.api_version, flex };
	struct filter_in *fi = NULL;
	struct kb_acl_filter *valid = NULL;
	const char *msg;
	int16_t err;
	int32_t n, i, nv = 0;
	size_t mark;
	int ret = KB_H_CLOSE;

	n = kb_rd_varray(rd, flex);
	if (rd->err || n < 0 || (size_t)n > kb_rd_left(rd) / 7 + 1)
		return KB_H_CLOSE;
	fi = calloc(n ? n : 1, sizeof(*fi));
	valid = calloc(n ? n : 1, sizeof(*valid));
	if (!fi || !valid)
		goto out;
	for (i = 0; i < n && !rd->err; i++)
		read_filter(req, &fi[i]);
	kb_rd_vtags(rd, flex);
	if (rd->err)
		goto out;
	err = acl_api_error(req, KB_OP_ALTER, &msg);
	if (!err && n > KB_ACL_REQ_MAX) {
		err = KB_ERR_INVALID_REQUEST;
		msg = "too many ACL filters in one request";
	}
	kb_wr_i32(w, 0);
	mark = w->len;
	kb_wr_varray(w, flex, n);
	/* What each filter removes is what it matches now. */
	for (i = 0; i < n; i++) {
		int16_t e = err ?: fi[i].bad ? KB_ERR_INVALID_REQUEST : 0;

		kb_wr_i16(w, e);
		kb_wr_vnstr(w, flex, err ? msg : e ? "invalid ACL filter" : NULL);
		if (e) {
			kb_wr_varray(w, flex, 0);
		} else {
			kb_wr_varray(w, flex, (int32_t)kb_acl_describe(&fi[i].f,
								       NULL,
								       NULL));
			kb_acl_describe(&fi[i].f, write_match, &d);
			valid[nv++] = fi[i].f;
		}
		kb_wr_tags(w, flex);
	}
	if (nv && kb_acl_delete(valid, (size_t)nv, NULL, NULL)) {
		w->len = mark;
		kb_wr_varray(w, flex, n);
		for (i = 0; i < n; i++) {
			kb_wr_i16(w, KB_ERR_UNKNOWN_SERVER_ERROR);
			kb_wr_vnstr(w, flex, "the ACLs could not be stored");
			kb_wr_varray(w, flex, 0);
			kb_wr_tags(w, flex);
		}
	}
	kb_wr_tags(w, flex);
	ret = KB_H_DONE;
out:
	for (i = 0; fi && i < n; i++)
		filter_free(&fi[i]);
	free(fi);
	free(valid);
	return ret;
}
