/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Requests and responses as every layer above the codec sees them.
 *
 * A handler reads its request body field by field from req->rd and writes
 * its response body to resp->w (the header is already written).  Record
 * data from the logs is not copied: kb_resp_add_slice() records a file
 * slice that the connection sends with sendfile() at that point of the
 * response.  A handler that must wait (delayed Fetch, JoinGroup, SyncGroup)
 * parks: it sets resp->park and returns KB_H_PARK; the connection then
 * calls park->poll() whenever b->wake was set or the deadline passed.
 */
#ifndef KB_PROTO_API_H
#define KB_PROTO_API_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/broker.h"
#include "proto/codec.h"

enum kb_api_key {
	KB_API_PRODUCE = 0,
	KB_API_FETCH = 1,
	KB_API_LIST_OFFSETS = 2,
	KB_API_METADATA = 3,
	KB_API_OFFSET_COMMIT = 8,
	KB_API_OFFSET_FETCH = 9,
	KB_API_FIND_COORDINATOR = 10,
	KB_API_JOIN_GROUP = 11,
	KB_API_HEARTBEAT = 12,
	KB_API_LEAVE_GROUP = 13,
	KB_API_SYNC_GROUP = 14,
	KB_API_DESCRIBE_GROUPS = 15,
	KB_API_LIST_GROUPS = 16,
	KB_API_API_VERSIONS = 18,
	KB_API_CREATE_TOPICS = 19,
	KB_API_DELETE_TOPICS = 20,
	KB_API_DELETE_RECORDS = 21,
	KB_API_INIT_PRODUCER_ID = 22,
	KB_API_OFFSET_FOR_LEADER_EPOCH = 23,
	KB_API_ADD_PARTITIONS_TO_TXN = 24,
	KB_API_ADD_OFFSETS_TO_TXN = 25,
	KB_API_END_TXN = 26,
	KB_API_WRITE_TXN_MARKERS = 27,
	KB_API_TXN_OFFSET_COMMIT = 28,
	KB_API_DESCRIBE_ACLS = 29,
	KB_API_CREATE_ACLS = 30,
	KB_API_DELETE_ACLS = 31,
	KB_API_DESCRIBE_CONFIGS = 32,
	KB_API_ALTER_CONFIGS = 33,
	KB_API_CREATE_PARTITIONS = 37,
	KB_API_DELETE_GROUPS = 42,
	KB_API_INCREMENTAL_ALTER_CONFIGS = 44,
	KB_API_OFFSET_DELETE = 47,
	KB_API_DESCRIBE_CLUSTER = 60,
	KB_API_DESCRIBE_TRANSACTIONS = 65,
	KB_API_LIST_TRANSACTIONS = 66,
	KB_API_COUNT = 67,
};

struct kb_slice_at {
	size_t at;		/* offset in resp->w where the slice goes */
	int fd;			/* owned by the response */
	off_t pos;
	size_t len;
};

struct kb_resp;

struct kb_park {
	int64_t deadline_ms;	/* kb_now_mono_ms() based */
	/* Writes the body and returns true when done (always when
	 * @expired); false to keep waiting. */
	bool (*poll)(struct kb_park *pk, struct kb_resp *resp, bool expired);
	void (*free)(struct kb_park *pk);
};

struct kb_resp {
	struct kb_wr w;			/* 4-byte size, header, body */
	struct kb_slice_at *slices;
	int n_slices, cap_slices;
	size_t slice_bytes;
	bool none;			/* send nothing (acks=0) */
	const char *close_why;		/* KB_H_CLOSE of a well-formed request */
	struct kb_park *park;
};

/* Who sends a request, for the authorizer (auth/auth.h). */
struct kb_auth_who {
	const char *principal;		/* "User:...", NULL = ANONYMOUS */
	const char *host;		/* client IP address as text */
};

struct kb_req {
	struct kb_broker *b;
	int listener;			/* index in cfg->listeners, -1 none */
	/* Host and port to advertise to this connection's client. */
	const char *adv_host;
	int adv_port;
	struct kb_req_hdr hdr;
	bool flex;			/* body uses the flexible encoding */
	struct kb_rd rd;		/* the body */
	uint64_t conn_id;
	struct kb_auth_who who;		/* principal and client address */
};

enum { KB_H_DONE = 0, KB_H_CLOSE = 1, KB_H_PARK = 2 };

void kb_resp_init(struct kb_resp *resp);
void kb_resp_free(struct kb_resp *resp);
/* Records a file slice to be sent here; takes ownership of @fd. */
void kb_resp_add_slice(struct kb_resp *resp, int fd, off_t pos, size_t len);
/* Fills in the size prefix once the body is complete. */
void kb_resp_finish(struct kb_resp *resp);

#endif
