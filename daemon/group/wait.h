/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The group membership handlers' shared part: JoinGroup and SyncGroup
 * response bodies and the parked requests the state machine answers
 * (struct kb_member_wait in group.h).  Private to group/.
 */
#ifndef KB_GROUP_WAIT_H
#define KB_GROUP_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "group/group.h"

/* A parked JoinGroup or SyncGroup of one member: m->join or m->sync. */
struct kb_group_wait {
	struct kb_park park;
	struct kb_member_wait base;	/* what the state machine sees */
	struct kb_groups *gs;
	struct kb_group *g;		/* valid while m is set */
	struct kb_member *m;
	bool sync;			/* SyncGroup, else JoinGroup */
	int16_t ver;
	bool flex;
	bool ready;
	struct kb_wr out;		/* response body once ready */
};

static inline bool kb_streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

void kb_join_err(struct kb_wr *w, int16_t ver, bool flex, int16_t err,
		 const char *mid);
/* The current generation as @m sees it, @leader the leader id it gets. */
void kb_join_current(struct kb_wr *w, int16_t ver, bool flex,
		     struct kb_group *g, struct kb_member *m,
		     const char *leader);
void kb_sync_body(struct kb_wr *w, int16_t ver, bool flex, int16_t err,
		  const char *ptype, const char *pname,
		  const uint8_t *assign, int32_t len);
struct kb_group_wait *kb_wait_new(struct kb_groups *gs, struct kb_req *req,
				  bool sync);
void kb_wait_free(struct kb_park *pk);
/* Parks @w on @m, answering the request it replaces. */
void kb_wait_attach(struct kb_group_wait *w, struct kb_group *g,
		    struct kb_member *m);
/* Answers at once when @w is already answered, else parks it until @dl. */
int kb_wait_park(struct kb_group_wait *w, struct kb_resp *resp, int64_t dl);

#endif
