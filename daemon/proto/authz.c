// SPDX-License-Identifier: GPL-2.0
/* Authorized operations for the include_*_authorized_operations answers. */
#include "proto/authz.h"

#define OP(o) (1 << KB_ACL_OP_##o)

/* What Kafka's AclEntry.supportedOperations lists per resource type. */
static int32_t supported_ops(enum kb_acl_resource type)
{
	switch (type) {
	case KB_ACL_RES_TOPIC:
		return OP(READ) | OP(WRITE) | OP(CREATE) | OP(DESCRIBE) |
		       OP(DELETE) | OP(ALTER) | OP(DESCRIBE_CONFIGS) |
		       OP(ALTER_CONFIGS);
	case KB_ACL_RES_GROUP:
		return OP(READ) | OP(DESCRIBE) | OP(DELETE);
	case KB_ACL_RES_CLUSTER:
		return OP(CREATE) | OP(CLUSTER_ACTION) |
		       OP(DESCRIBE_CONFIGS) | OP(ALTER_CONFIGS) |
		       OP(IDEMPOTENT_WRITE) | OP(ALTER) | OP(DESCRIBE);
	}
	return 0;
}

int32_t kb_authorized_ops(const struct kb_req *req, enum kb_acl_resource type,
			  const char *name)
{
	(void)req;
	(void)name;
	/* No authorizer: every supported operation is allowed. */
	return supported_ops(type);
}
