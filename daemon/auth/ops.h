/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Authorized operations that Metadata, DescribeCluster and DescribeGroups
 * report when a client asks (include_*_authorized_operations): Kafka's
 * AclOperation codes as a bit field, bit (1 << code).
 */
#ifndef KB_AUTH_OPS_H
#define KB_AUTH_OPS_H

#include <stdint.h>

#include "auth/auth.h"
#include "proto/api.h"

/*
 * Operations the client of @req may perform on resource @res (KB_RES_*)
 * named @name, among those Kafka defines for that resource type: all of
 * them without an authorizer, else those the authorizer allows.
 */
int32_t kb_authorized_ops(const struct kb_req *req, int8_t res,
			  const char *name);

#endif
