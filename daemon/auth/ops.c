// SPDX-License-Identifier: GPL-2.0
/* Authorized operations for the include_*_authorized_operations answers. */
#include "auth/ops.h"

#define OP(o) (1 << KB_OP_##o)

/* What Kafka's AclEntry.supportedOperations lists per resource type. */
static int32_t supported_ops(int8_t res)
{
	switch (res) {
	case KB_RES_TOPIC:
		return OP(READ) | OP(WRITE) | OP(CREATE) | OP(DESCRIBE) |
		       OP(DELETE) | OP(ALTER) | OP(DESCRIBE_CONFIGS) |
		       OP(ALTER_CONFIGS);
	case KB_RES_GROUP:
		return OP(READ) | OP(DESCRIBE) | OP(DELETE);
	case KB_RES_CLUSTER:
		return OP(CREATE) | OP(CLUSTER_ACTION) |
		       OP(DESCRIBE_CONFIGS) | OP(ALTER_CONFIGS) |
		       OP(IDEMPOTENT_WRITE) | OP(ALTER) | OP(DESCRIBE);
	}
	return 0;
}

int32_t kb_authorized_ops(const struct kb_req *req, int8_t res,
			  const char *name)
{
	int32_t all = supported_ops(res), ops = 0;

	if (!kb_auth_enabled())
		return all;
	/* Asked quietly: listing what is allowed is no denied attempt. */
	for (int op = KB_OP_READ; op < KB_OP_COUNT; op++)
		if ((all & (1 << op)) &&
		    kb_authorize(&req->who, (int8_t)op, res, name, true))
			ops |= 1 << op;
	return ops;
}
