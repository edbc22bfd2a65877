/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Request dispatch: the API table (versions, flexible versions, handler
 * per ApiKey) and the request handlers, one file per family (h_*.c).
 * Requests and responses themselves are proto/api.h's.
 */
#ifndef KB_HANDLERS_API_H
#define KB_HANDLERS_API_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/auth.h"
#include "common/broker.h"
#include "proto/api.h"
#include "proto/codec.h"

typedef int (*kb_handler_fn)(struct kb_req *req, struct kb_resp *resp);

struct kb_api {
	const char *name;
	int16_t min_ver, max_ver;
	int16_t flex_ver;		/* first flexible version, -1 none */
	kb_handler_fn handler;		/* NULL = not advertised */
};

extern const struct kb_api kb_apis[KB_API_COUNT];

/*
 * Parses the header of one request frame (without its size prefix), writes
 * the response header and runs the handler.  Returns KB_H_*.  The frame
 * must outlive the call only (handlers that park copy what they keep).
 */
int kb_api_handle(struct kb_broker *b, struct kb_req *req, const uint8_t *frame,
		  size_t len, struct kb_resp *resp);

/* Handlers, one file per family (h_*.c). */
int kb_h_api_versions(struct kb_req *req, struct kb_resp *resp);
int kb_h_metadata(struct kb_req *req, struct kb_resp *resp);
int kb_h_describe_cluster(struct kb_req *req, struct kb_resp *resp);
int kb_h_produce(struct kb_req *req, struct kb_resp *resp);
int kb_h_fetch(struct kb_req *req, struct kb_resp *resp);
int kb_h_list_offsets(struct kb_req *req, struct kb_resp *resp);
int kb_h_create_topics(struct kb_req *req, struct kb_resp *resp);
int kb_h_delete_topics(struct kb_req *req, struct kb_resp *resp);
int kb_h_delete_records(struct kb_req *req, struct kb_resp *resp);
int kb_h_create_partitions(struct kb_req *req, struct kb_resp *resp);
int kb_h_describe_configs(struct kb_req *req, struct kb_resp *resp);
int kb_h_alter_configs(struct kb_req *req, struct kb_resp *resp);
int kb_h_incremental_alter_configs(struct kb_req *req, struct kb_resp *resp);
int kb_h_init_producer_id(struct kb_req *req, struct kb_resp *resp);
int kb_h_offset_for_leader_epoch(struct kb_req *req, struct kb_resp *resp);
int kb_h_txn_unsupported(struct kb_req *req, struct kb_resp *resp);
int kb_h_describe_acls(struct kb_req *req, struct kb_resp *resp);
int kb_h_create_acls(struct kb_req *req, struct kb_resp *resp);
int kb_h_delete_acls(struct kb_req *req, struct kb_resp *resp);

/* Writes the ApiVersions v0 body used for unsupported versions. */
void kb_api_versions_body(struct kb_wr *w, int16_t ver, int16_t error);

/* Partitions of a topic that Metadata or Produce may auto-create, 0 when
 * auto.create.topics.enable is off, or in a cluster, whose topics are
 * made through ZooKeeper (h_meta.c). */
static inline int32_t kb_auto_partitions(const struct kb_broker *b)
{
	return b->cfg->auto_create_topics && !b->cluster ?
	       b->cfg->num_partitions : 0;
}

/* Produce, Fetch, ListOffsets: 0 when this broker may serve @partition
 * (always standalone), else the Kafka error to answer (leader.c). */
int16_t kb_leader_check(struct kb_broker *b, const char *topic,
			int32_t partition, int32_t leader_epoch);


/* Config entries of a topic as DescribeConfigs reports them. */
struct kb_topic_config {
	const char *name;
	char value[32];
	int8_t source;		/* 1 topic, 4 static broker, 5 default */
	int8_t type;		/* Kafka ConfigType */
	bool read_only;		/* not a per-topic key of the store */
	const char *synonym;	/* broker key it derives from, or NULL */
	char dflt[32];		/* the broker's value */
	int8_t dflt_source;
	const char *doc;	/* Kafka's documentation, in short */
};
/* @st and @topic NULL: the broker's values only. */
size_t kb_topic_configs(const struct kb_config *cfg, struct kb_store *st,
			const char *topic, struct kb_topic_config *out,
			size_t cap);

#endif
