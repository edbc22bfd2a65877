/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a request handler asks the authorizer, one call per resource, with
 * the operation Kafka's broker asks for the same request.  Inline so that
 * the group handlers, below handlers/, ask the same way (handlers/authz.h
 * has the checks only handlers/ makes).
 */
#ifndef KB_AUTH_REQ_H
#define KB_AUTH_REQ_H

#include "auth/auth.h"
#include "proto/api.h"
#include "proto/codec.h"
#include "proto/errors.h"

/* May this request's principal do @op on resource @res @name?  Denials
 * are logged (rate-limited). */
static inline bool kb_req_may(struct kb_req *req, int8_t op, int8_t res,
			      const char *name)
{
	return kb_authorize(&req->who, op, res, name, false);
}

/* The same without logging a denial: for filtering what a list shows. */
static inline bool kb_req_sees(struct kb_req *req, int8_t op, int8_t res,
			       const char *name)
{
	return kb_authorize(&req->who, op, res, name, true);
}

/* FindCoordinator: DESCRIBE on the group (type 0) or transactional id
 * (type 1) named @key.  Kafka's error, or 0. */
static inline int16_t kb_coord_denied(struct kb_req *req, int8_t type,
				      struct kb_str key)
{
	char buf[KB_ACL_NAME_MAX];

	if (!kb_auth_enabled() || (type != 0 && type != 1))
		return 0;
	if (!kb_str_copy(buf, sizeof(buf), key))
		buf[0] = '\0';
	if (type == 0)
		return kb_req_may(req, KB_OP_DESCRIBE, KB_RES_GROUP, buf) ? 0 :
		       KB_ERR_GROUP_AUTHORIZATION_FAILED;
	return kb_req_may(req, KB_OP_DESCRIBE, KB_RES_TXN_ID, buf) ? 0 :
	       KB_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

/* OffsetFetch: DESCRIBE on the group.  Kafka's error, or 0. */
static inline int16_t kb_offset_fetch_denied(struct kb_req *req,
					     const char *group)
{
	return kb_req_may(req, KB_OP_DESCRIBE, KB_RES_GROUP, group) ? 0 :
	       KB_ERR_GROUP_AUTHORIZATION_FAILED;
}

/* ListGroups: every group with DESCRIBE on the cluster, else those the
 * principal may describe. */
static inline bool kb_list_group_sees(struct kb_req *req, const char *group)
{
	return kb_req_sees(req, KB_OP_DESCRIBE, KB_RES_CLUSTER, NULL) ||
	       kb_req_sees(req, KB_OP_DESCRIBE, KB_RES_GROUP, group);
}

#endif
