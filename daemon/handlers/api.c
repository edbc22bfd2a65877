// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/api.h"
#include "proto/errors.h"
#include "group/group.h"
#include "common/log.h"
#include "store/store.h"

/*
 * Version ranges: Produce starts at 3 and Fetch at 4 because the logs hold
 * only magic-2 record batches (the same floor Kafka 4.x has).  The upper
 * ends are what the handlers implement; librdkafka 2.0.2, Kafka 4.x Java,
 * kafka-python and kafkajs all overlap them.
 *
 * Transaction rows have a handler answering UNSUPPORTED_VERSION but are
 * marked hidden so clients never pick them.
 */
#define API(n, lo, hi, fl, h) { n, lo, hi, fl, h }

const struct kb_api kb_apis[KB_API_COUNT] = {
	[KB_API_PRODUCE] = API("Produce", 0, 9, 9, kb_h_produce),
	[KB_API_FETCH] = API("Fetch", 4, 13, 12, kb_h_fetch),
	[KB_API_LIST_OFFSETS] = API("ListOffsets", 0, 7, 6,
				    kb_h_list_offsets),
	[KB_API_METADATA] = API("Metadata", 0, 12, 9, kb_h_metadata),
	[KB_API_OFFSET_COMMIT] = API("OffsetCommit", 1, 8, 8,
				      kb_h_offset_commit),
	[KB_API_OFFSET_FETCH] = API("OffsetFetch", 1, 8, 6,
				     kb_h_offset_fetch),
	[KB_API_FIND_COORDINATOR] = API("FindCoordinator", 0, 4, 3,
					 kb_h_find_coordinator),
	[KB_API_JOIN_GROUP] = API("JoinGroup", 0, 9, 6, kb_h_join_group),
	[KB_API_HEARTBEAT] = API("Heartbeat", 0, 4, 4, kb_h_heartbeat),
	[KB_API_LEAVE_GROUP] = API("LeaveGroup", 0, 5, 4,
				    kb_h_leave_group),
	[KB_API_SYNC_GROUP] = API("SyncGroup", 0, 5, 4, kb_h_sync_group),
	[KB_API_DESCRIBE_GROUPS] = API("DescribeGroups", 0, 5, 5,
					kb_h_describe_groups),
	[KB_API_LIST_GROUPS] = API("ListGroups", 0, 4, 3,
				    kb_h_list_groups),
	[KB_API_API_VERSIONS] = API("ApiVersions", 0, 3, 3,
				    kb_h_api_versions),
	[KB_API_CREATE_TOPICS] = API("CreateTopics", 0, 7, 5,
				     kb_h_create_topics),
	[KB_API_DELETE_TOPICS] = API("DeleteTopics", 0, 6, 4,
				     kb_h_delete_topics),
	[KB_API_DELETE_RECORDS] = API("DeleteRecords", 0, 2, 2,
				      kb_h_delete_records),
	[KB_API_INIT_PRODUCER_ID] = API("InitProducerId", 0, 4, 2,
					kb_h_init_producer_id),
	[KB_API_OFFSET_FOR_LEADER_EPOCH] = API("OffsetForLeaderEpoch", 0, 4,
					       4, kb_h_offset_for_leader_epoch),
	[KB_API_ADD_PARTITIONS_TO_TXN] = API("AddPartitionsToTxn", 0, 3, 3,
					     kb_h_txn_unsupported),
	[KB_API_ADD_OFFSETS_TO_TXN] = API("AddOffsetsToTxn", 0, 3, 3,
					  kb_h_txn_unsupported),
	[KB_API_END_TXN] = API("EndTxn", 0, 3, 3, kb_h_txn_unsupported),
	[KB_API_WRITE_TXN_MARKERS] = API("WriteTxnMarkers", 0, 1, 1,
					 kb_h_txn_unsupported),
	[KB_API_TXN_OFFSET_COMMIT] = API("TxnOffsetCommit", 0, 3, 3,
					 kb_h_txn_unsupported),
	[KB_API_DESCRIBE_ACLS] = API("DescribeAcls", 0, 3, 2,
				     kb_h_describe_acls),
	[KB_API_CREATE_ACLS] = API("CreateAcls", 0, 3, 2, kb_h_create_acls),
	[KB_API_DELETE_ACLS] = API("DeleteAcls", 0, 3, 2, kb_h_delete_acls),
	[KB_API_DESCRIBE_CONFIGS] = API("DescribeConfigs", 0, 4, 4,
					kb_h_describe_configs),
	[KB_API_ALTER_CONFIGS] = API("AlterConfigs", 0, 2, 2,
				     kb_h_alter_configs),
	[KB_API_CREATE_PARTITIONS] = API("CreatePartitions", 0, 3, 2,
					 kb_h_create_partitions),
	[KB_API_DELETE_GROUPS] = API("DeleteGroups", 0, 2, 2,
				      kb_h_delete_groups),
	[KB_API_INCREMENTAL_ALTER_CONFIGS] = API("IncrementalAlterConfigs",
						 0, 1, 1,
						 kb_h_incremental_alter_configs),
	[KB_API_OFFSET_DELETE] = API("OffsetDelete", 0, 0, -1,
				      kb_h_offset_delete),
	[KB_API_DESCRIBE_CLUSTER] = API("DescribeCluster", 0, 1, 0,
					kb_h_describe_cluster),
	[KB_API_DESCRIBE_TRANSACTIONS] = API("DescribeTransactions", 0, 0, 0,
					     kb_h_txn_unsupported),
	[KB_API_LIST_TRANSACTIONS] = API("ListTransactions", 0, 0, 0,
					 kb_h_txn_unsupported),
};

static bool advertised(int key)
{
	return kb_apis[key].handler &&
	       kb_apis[key].handler != kb_h_txn_unsupported;
}

void kb_api_versions_body(struct kb_wr *w, int16_t ver, int16_t error)
{
	bool flex = ver >= 3;
	int i, n = 0;

	for (i = 0; i < KB_API_COUNT; i++)
		n += advertised(i);
	kb_wr_i16(w, error);
	kb_wr_varray(w, flex, n);
	for (i = 0; i < KB_API_COUNT; i++) {
		if (!advertised(i))
			continue;
		kb_wr_i16(w, i);
		kb_wr_i16(w, kb_apis[i].min_ver);
		kb_wr_i16(w, kb_apis[i].max_ver);
		kb_wr_tags(w, flex);
	}
	if (ver >= 1)
		kb_wr_i32(w, 0);	/* throttle_time_ms */
	kb_wr_tags(w, flex);
}

int kb_h_api_versions(struct kb_req *req, struct kb_resp *resp)
{
	if (req->hdr.api_version >= 3) {
		kb_rd_cstr(&req->rd);	/* client_software_name */
		kb_rd_cstr(&req->rd);	/* client_software_version */
		kb_rd_tags(&req->rd);
		if (req->rd.err)
			return KB_H_CLOSE;
	}
	kb_api_versions_body(&resp->w, req->hdr.api_version, 0);
	return KB_H_DONE;
}

int kb_api_handle(struct kb_broker *b, struct kb_req *req, const uint8_t *frame,
		  size_t len, struct kb_resp *resp)
{
	const struct kb_api *api;
	struct kb_rd rd;
	int16_t key, ver;
	bool flex;

	kb_rd_init(&rd, frame, len);
	kb_rd_req_hdr_start(&rd, &req->hdr);
	if (rd.err)
		return KB_H_CLOSE;
	req->b = b;
	key = req->hdr.api_key;
	ver = req->hdr.api_version;
	if (key < 0 || key >= KB_API_COUNT || !kb_apis[key].handler) {
		kb_dbg("conn %llu: unknown or unserved api key %d, closing",
		       (unsigned long long)req->conn_id, key);
		return KB_H_CLOSE;
	}
	api = &kb_apis[key];
	if (ver < api->min_ver || ver > api->max_ver) {
		if (key == KB_API_API_VERSIONS) {
			/* KIP-511: answer v0 so any client can read it. */
			kb_wr_resp_hdr(&resp->w, req->hdr.correlation_id,
				       false);
			kb_api_versions_body(&resp->w, 0,
					     KB_ERR_UNSUPPORTED_VERSION);
			return KB_H_DONE;
		}
		kb_dbg("conn %llu: %s v%d not supported, closing",
		       (unsigned long long)req->conn_id, api->name, ver);
		return KB_H_CLOSE;
	}
	flex = api->flex_ver >= 0 && ver >= api->flex_ver;
	kb_rd_req_hdr_rest(&rd, &req->hdr, flex);
	if (rd.err)
		return KB_H_CLOSE;
	req->flex = flex;
	req->rd = rd;
	/* ApiVersions responses always use header v0. */
	kb_wr_resp_hdr(&resp->w, req->hdr.correlation_id,
		       flex && key != KB_API_API_VERSIONS);
	return api->handler(req, resp);
}
