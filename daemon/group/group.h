/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Consumer group coordinator: the classic group protocol state machine
 * (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead) and the
 * committed offsets, kept durable in an append-only file of CRC'd records
 * on the first log dir (group_offsets.c), replayed and compacted on start.
 *
 * The event loop's 100 ms tick runs kb_groups_tick(), so session and
 * rebalance timeouts fire without another group request; every group
 * request also runs it first, and parked JoinGroup/SyncGroup requests set
 * their deadline to the next instant the group needs attention (rebalance
 * timeout, a member's session expiry).
 */
#ifndef KB_BROKER_GROUP_H
#define KB_BROKER_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/api.h"
#include "proto/codec.h"
#include "proto/errors.h"

/* Kafka's defaults for the broker-side group settings. */
#define KB_GROUP_MIN_SESSION_MS 6000
#define KB_GROUP_MAX_SESSION_MS 1800000
#define KB_GROUP_INITIAL_DELAY_MS 3000
#define KB_OFFSET_METADATA_MAX 4096	/* offset.metadata.max.bytes default */
#define KB_OFFSETS_RETENTION_MS (7LL * 24 * 3600 * 1000)

enum kb_group_state {
	KB_GS_EMPTY,
	KB_GS_PREPARING,
	KB_GS_COMPLETING,
	KB_GS_STABLE,
	KB_GS_DEAD,
};

struct kb_proto {
	char *name;
	uint8_t *meta;
	int32_t len;
};

/*
 * A parked JoinGroup or SyncGroup of one member (m->join or m->sync).  The
 * handler that parks it embeds this and sets answer(), which writes the
 * response when the state machine is done with the wait: the join phase
 * completes, the leader's assignment arrives, the member is fenced or
 * goes.  The wait is detached from its member after that.
 */
struct kb_group;
struct kb_member_wait {
	void (*answer)(struct kb_member_wait *w, struct kb_group *g,
		       int16_t err);
};

static inline void kb_member_wait_answer(struct kb_member_wait *w,
					 struct kb_group *g, int16_t err)
{
	w->answer(w, g, err);
}

struct kb_member {
	char *id;
	char *instance_id;		/* static membership, or NULL */
	char *client_id;
	char *client_host;
	int32_t session_ms;
	int32_t rebalance_ms;
	struct kb_proto *protos;
	int n_protos;
	uint8_t *assign;
	int32_t assign_len;
	int64_t last_hb;		/* mono ms */
	bool joined;			/* rejoined in this rebalance */
	struct kb_member_wait *join;	/* parked JoinGroup */
	struct kb_member_wait *sync;	/* parked SyncGroup */
	struct kb_member *next;
};

struct kb_pending {
	char *id;
	int64_t expire;			/* mono ms */
	struct kb_pending *next;
};

struct kb_offset {
	char *topic;
	int32_t partition;
	int32_t epoch;
	int64_t offset;
	char *meta;			/* NULL = null; may hold NULs */
	int32_t meta_len;
	int64_t commit_ms;		/* wall clock */
	int64_t expire_ms;		/* v2-4 retention_time, else -1 */
};

struct kb_group {
	char *id;
	enum kb_group_state state;
	int32_t generation;
	char *protocol_type;		/* NULL until a member joined */
	char *protocol;			/* selected, NULL when none */
	struct kb_member *leader;
	struct kb_member *members;
	int n_members;
	struct kb_pending *pending;
	int64_t rebalance_deadline;	/* mono, PreparingRebalance */
	int64_t delay_until;		/* initial rebalance delay end */
	int64_t empty_since_ms;		/* wall clock, 0 unknown */
	struct kb_offset *offs;
	size_t n_offs, cap_offs;
	struct kb_group *next;
};

struct kb_groups {
	struct kb_broker *b;
	struct kb_group *head;
	int64_t last_expire;		/* wall ms of the last retention pass */
	/* Offsets file. */
	int fd;
	int dfd;
	char dir[1024];
	uint64_t file_bytes;
	uint64_t live_bytes;
	bool broken;			/* writes failed: commits refused */
};

/* The coordinator of @b, loaded on first use. */
struct kb_groups *kb_groups_get(struct kb_broker *b);
/* Runs session expiry and rebalance completion on every group, offsets
 * retention about once a second, and forgets groups left with nothing.
 * Handlers call it before looking their group up. */
void kb_groups_tick(struct kb_groups *gs);
/* At shutdown: closes the offsets file and its log dir, which may be
 * unmounted next (at.rest.volumes). */
void kb_groups_close(void);
/* The same for one group (parked requests). */
void kb_group_tick(struct kb_groups *gs, struct kb_group *g);

struct kb_group *kb_group_find(struct kb_groups *gs, const char *id);
struct kb_group *kb_group_create(struct kb_groups *gs, const char *id);
/* Removes @g (no members) with its offsets from memory. */
void kb_group_destroy(struct kb_groups *gs, struct kb_group *g);
struct kb_member *kb_member_find(struct kb_group *g, const char *id);
struct kb_member *kb_member_by_instance(struct kb_group *g, const char *iid);
struct kb_pending *kb_pending_find(struct kb_group *g, const char *id);
void kb_pending_remove(struct kb_group *g, const char *id);
bool kb_static_fenced(struct kb_group *g, const char *iid, const char *mid);
/*
 * The member checks of SyncGroup, Heartbeat, LeaveGroup and OffsetCommit,
 * in Kafka's order: a fenced static instance (@inst, may be NULL), the
 * member, its generation (unless @gen is NULL).  *@mp is the member
 * found, or NULL.
 */
int16_t kb_member_check(struct kb_group *g, const char *member,
			const char *inst, const int32_t *gen,
			struct kb_member **mp);
const char *kb_group_state_name(enum kb_group_state s);
/* True when the consumer subscription of some member lists @topic. */
bool kb_group_subscribed(struct kb_group *g, const char *topic);

/* State machine steps. */
void kb_group_prepare_rebalance(struct kb_groups *gs, struct kb_group *g,
				const char *why);
void kb_group_remove_member(struct kb_groups *gs, struct kb_group *g,
			    struct kb_member *m, const char *why);
/* Completes the join phase if it can (or must); true when it did. */
bool kb_group_try_complete_join(struct kb_groups *gs, struct kb_group *g);
/* Selected protocol over the current members, or NULL. */
const char *kb_group_select_protocol(struct kb_group *g);
/* Whether a member offering @ptype/@protos may join @g. */
bool kb_group_supports(struct kb_group *g, const char *ptype,
		       struct kb_proto *protos, int n);
/* The member's metadata for protocol @name. */
const struct kb_proto *kb_member_proto(const struct kb_member *m,
				       const char *name);
void kb_member_free(struct kb_member *m);
/* Gives members that joined the group's leader and assignment. */
void kb_group_set_assignment(struct kb_groups *gs, struct kb_group *g);

/* Next instant a parked join of @g must look again. */
int64_t kb_group_join_deadline(struct kb_group *g, int64_t now);

/* Offsets (group_offsets.c). */
int kb_offsets_open(struct kb_groups *gs);
struct kb_offset *kb_offset_find(struct kb_group *g, const char *topic,
				 int32_t partition);
/* Stores a batch of commits durably (one write and fdatasync). */
struct kb_commit {
	const char *topic;
	int32_t partition;
	int32_t epoch;
	int64_t offset;
	const char *meta;
	int32_t meta_len;		/* -1 null */
	int64_t expire_ms;
};
int kb_offsets_commit(struct kb_groups *gs, struct kb_group *g,
		      const struct kb_commit *c, int n);
/* Deletes offsets (durably): one partition, or all when @topic NULL. */
int kb_offsets_delete(struct kb_groups *gs, struct kb_group *g,
		      const char *topic, int32_t partition);
/* Drops offsets past retention; true when anything went. */
bool kb_offsets_expire(struct kb_groups *gs, struct kb_group *g,
		       int64_t now_ms);
int64_t kb_offsets_retention_ms(const struct kb_broker *b);

/* Handlers. */
int kb_h_find_coordinator(struct kb_req *req, struct kb_resp *resp);
int kb_h_join_group(struct kb_req *req, struct kb_resp *resp);
int kb_h_sync_group(struct kb_req *req, struct kb_resp *resp);
int kb_h_heartbeat(struct kb_req *req, struct kb_resp *resp);
int kb_h_leave_group(struct kb_req *req, struct kb_resp *resp);
int kb_h_offset_commit(struct kb_req *req, struct kb_resp *resp);
int kb_h_offset_fetch(struct kb_req *req, struct kb_resp *resp);
int kb_h_offset_delete(struct kb_req *req, struct kb_resp *resp);
int kb_h_list_groups(struct kb_req *req, struct kb_resp *resp);
int kb_h_describe_groups(struct kb_req *req, struct kb_resp *resp);
int kb_h_delete_groups(struct kb_req *req, struct kb_resp *resp);

#endif
