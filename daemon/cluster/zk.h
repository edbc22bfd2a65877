/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ZooKeeper client for the event loop.  libzookeeper-mt runs its own I/O
 * and completion threads; here those threads only copy each result (or
 * watch event) into a queue and wake an eventfd.  The loop thread drains
 * the queue in kb_zk_dispatch() and runs the callbacks, so nothing that
 * touches broker state ever runs on a library thread.
 *
 * Paths are given without the chroot of zookeeper.connect; this layer adds
 * it, creates it when missing, and strips it from watch events.  A session
 * that expires is replaced by a new one; results of the old session are
 * dropped, and the owner hears KB_ZK_EXPIRED then KB_ZK_CONNECTED again.
 */
#ifndef KB_CLUSTER_ZK_H
#define KB_CLUSTER_ZK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kb_zk;

/* What a completed operation gives back (valid during the callback). */
struct kb_zk_res {
	int rc;				/* ZOK, ZNONODE, ZNODEEXISTS, ... */
	char *data;			/* get: node data, NUL-terminated */
	int len;			/* its length, -1 for a null value */
	bool has_stat;
	int32_t version;		/* stat: data version */
	int64_t ephemeral_owner;	/* stat: session id, 0 = persistent */
	int64_t czxid;
	char **children;		/* get_children: names */
	int n_children;
};

typedef void (*kb_zk_done)(struct kb_zk *zk, const struct kb_zk_res *res,
			   void *arg);

enum kb_zk_session { KB_ZK_CONNECTING, KB_ZK_CONNECTED, KB_ZK_EXPIRED };
enum kb_zk_watch { KB_ZK_W_CREATED, KB_ZK_W_DELETED, KB_ZK_W_CHANGED,
		   KB_ZK_W_CHILD };

struct kb_zk_hooks {
	/* Session state changes, in the loop thread. */
	void (*session)(struct kb_zk *zk, enum kb_zk_session s, void *arg);
	/* A node watch fired (path without the chroot). */
	void (*watch)(struct kb_zk *zk, enum kb_zk_watch w, const char *path,
		      void *arg);
	void *arg;
};

/* @connect is zookeeper.connect ("h:p,h:p/chroot"). */
int kb_zk_open(const char *connect, int session_timeout_ms,
	       const struct kb_zk_hooks *hooks, struct kb_zk **out);
void kb_zk_close(struct kb_zk *zk);
/* The eventfd to poll for readability; then call kb_zk_dispatch(). */
int kb_zk_fd(const struct kb_zk *zk);
void kb_zk_dispatch(struct kb_zk *zk);
enum kb_zk_session kb_zk_state(const struct kb_zk *zk);
int64_t kb_zk_session_id(const struct kb_zk *zk);
const char *kb_zk_hosts(const struct kb_zk *zk);
/* The hooks' arg: the owner, for operation callbacks. */
void *kb_zk_owner(const struct kb_zk *zk);
const char *kb_zk_chroot(const struct kb_zk *zk);
/* zerror() text for @rc. */
const char *kb_zk_strerror(int rc);

/* Asynchronous operations: @done runs in the loop thread, always exactly
 * once (with an error rc when the request could not even be sent), unless
 * the session expires first. */
void kb_zk_create(struct kb_zk *zk, const char *path, const char *data,
		  int len, bool ephemeral, kb_zk_done done, void *arg);
void kb_zk_get(struct kb_zk *zk, const char *path, bool watch,
	       kb_zk_done done, void *arg);
void kb_zk_exists(struct kb_zk *zk, const char *path, bool watch,
		  kb_zk_done done, void *arg);
void kb_zk_children(struct kb_zk *zk, const char *path, bool watch,
		    kb_zk_done done, void *arg);
void kb_zk_set(struct kb_zk *zk, const char *path, const char *data, int len,
	       int32_t version, kb_zk_done done, void *arg);
void kb_zk_delete(struct kb_zk *zk, const char *path, int32_t version,
		  kb_zk_done done, void *arg);

/* Synchronous helpers for start-up, before the loop runs: they block the
 * caller (never a library thread) for one round trip. */
int kb_zk_sync_create(struct kb_zk *zk, const char *path, const char *data,
		      int len, bool ephemeral);
/* Creates @path and its parents (persistent, empty); existing is fine. */
int kb_zk_sync_mkpath(struct kb_zk *zk, const char *path);
/* Reads @path into @buf (NUL-terminated, truncated to @size - 1). */
int kb_zk_sync_get(struct kb_zk *zk, const char *path, char *buf,
		   size_t size);

#endif
