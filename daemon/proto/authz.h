/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Authorized operations that Metadata, DescribeCluster and DescribeGroups
 * report when a client asks (include_*_authorized_operations): Kafka's
 * AclOperation codes as a bit field, bit (1 << code).
 */
#ifndef KB_PROTO_AUTHZ_H
#define KB_PROTO_AUTHZ_H

#include <stdint.h>

#include "proto/api.h"

/* Kafka's ResourceType codes. */
enum kb_acl_resource {
	KB_ACL_RES_TOPIC = 2,
	KB_ACL_RES_GROUP = 3,
	KB_ACL_RES_CLUSTER = 4,
};

/* Kafka's AclOperation codes. */
enum kb_acl_op {
	KB_ACL_OP_READ = 3,
	KB_ACL_OP_WRITE = 4,
	KB_ACL_OP_CREATE = 5,
	KB_ACL_OP_DELETE = 6,
	KB_ACL_OP_ALTER = 7,
	KB_ACL_OP_DESCRIBE = 8,
	KB_ACL_OP_CLUSTER_ACTION = 9,
	KB_ACL_OP_DESCRIBE_CONFIGS = 10,
	KB_ACL_OP_ALTER_CONFIGS = 11,
	KB_ACL_OP_IDEMPOTENT_WRITE = 12,
};

/*
 * Operations the client of @req may perform on resource @type named
 * @name, among those Kafka defines for that resource type.  With no
 * authorizer configured that is all of them; an authorizer decides here.
 */
int32_t kb_authorized_ops(const struct kb_req *req, enum kb_acl_resource type,
			  const char *name);

#endif
