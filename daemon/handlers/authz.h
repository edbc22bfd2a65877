/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What handlers ask the authorizer (auth/auth.h), one call per resource,
 * with the operation Kafka's broker asks for the same request.  Which
 * check each API makes is listed in kb_api_authz[] (h_acl.c), so a table
 * test can see that no served API acts without asking.
 */
#ifndef KB_HANDLERS_AUTHZ_H
#define KB_HANDLERS_AUTHZ_H

#include "auth/req.h"
#include "handlers/api.h"

/* Auto-creating @topic: CREATE on the cluster or on the topic. */
bool kb_req_may_create_topic(struct kb_req *req, const char *topic);

/* Partitions to auto-create @topic with (kb_auto_partitions()), 0 when
 * it exists, auto-creation is off or the principal may not create it. */
int32_t kb_req_auto_partitions(struct kb_req *req, const char *topic);

/* Fetch: a consumer (@replica < 0) needs READ on @topic, a follower
 * CLUSTER_ACTION on the cluster.  Kafka's error, or 0. */
int16_t kb_fetch_denied(struct kb_req *req, int32_t replica,
			const char *topic);

/* Describe or alter the configs of a ConfigResource (type 2 topic, 4
 * broker, which is the cluster to the authorizer): Kafka's error or 0. */
int16_t kb_config_denied(struct kb_req *req, int8_t type, struct kb_str name,
			 int8_t op);

/* An idempotent producer id: IDEMPOTENT_WRITE on the cluster, or WRITE
 * on some topic (Kafka 3.0 and later). */
bool kb_req_may_idempotent(struct kb_req *req);

/* Per API key: the checks its handler makes, in words; NULL = not
 * served.  For the table test and the documentation. */
extern const char *const kb_api_authz[KB_API_COUNT];

#endif
