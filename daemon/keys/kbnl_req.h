/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The request machinery of kbnl.c, for the other clients of the "kbroker"
 * family in daemon/common (kbnl_volume.c): one socket, one way to send a
 * command and collect its replies, the kernel's own errno back.
 */
#ifndef KB_COMMON_KBNL_REQ_H
#define KB_COMMON_KBNL_REQ_H

#include <stdint.h>
#include <netlink/genl/genl.h>

struct kbnl;

/* One request, its replies (a dump has several) and the ack or error. */
struct kbnl_req {
	int done;
	int err;
	/* Called with each reply's attributes, parsed with @policy (NULL:
	 * the listener/socket/state reply policy). */
	void (*parse)(struct nlattr **tb, void *arg);
	void *arg;
	struct nla_policy *policy;
};

/* A message for @cmd with @flags (NLM_F_ACK, NLM_F_DUMP). */
struct nl_msg *kbnl_msg_new(struct kbnl *nl, uint8_t cmd, int flags);
/* Sends @msg (always freed) and waits for the end of the answer.
 * Returns 0 or the kernel's negative errno. */
int kbnl_request(struct kbnl *nl, struct nl_msg *msg, struct kbnl_req *r);

#endif
