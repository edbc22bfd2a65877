// SPDX-License-Identifier: GPL-2.0
/* ZooKeeper client: library threads hand results to the loop (zk.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
/* The synchronous calls of the multi-threaded library. */
#define THREADED
#include <zookeeper/zookeeper.h>

#include "cluster/zk.h"
#include "common/log.h"

#define ZK_PATH_MAX 1024

/* One handle's context: tells its results from a replaced handle's. */
struct zk_sess {
	struct kb_zk *zk;
	unsigned int gen;
};

/* An operation in flight, then its result on the queue. */
struct zk_item {
	struct zk_item *next;
	unsigned int gen;
	bool is_watch;
	int type, state;		/* watch event */
	char *path;			/* watch event, full path */
	struct zk_sess *sess;		/* operation: whose queue */
	kb_zk_done done;
	void *arg;
	struct kb_zk_res res;
};

struct kb_zk {
	char hosts[ZK_PATH_MAX];
	char root[ZK_PATH_MAX];		/* chroot, "" for none */
	int session_timeout_ms;
	struct kb_zk_hooks hooks;
	int efd;
	zhandle_t *zh;			/* loop thread only */
	struct zk_sess *sess;
	unsigned int gen;		/* loop thread's current generation */
	enum kb_zk_session state;
	pthread_mutex_t mu;		/* guards head/tail */
	struct zk_item *head, *tail;
};

static void push(struct kb_zk *zk, struct zk_item *it)
{
	uint64_t one = 1;

	it->next = NULL;
	pthread_mutex_lock(&zk->mu);
	if (zk->tail)
		zk->tail->next = it;
	else
		zk->head = it;
	zk->tail = it;
	pthread_mutex_unlock(&zk->mu);
	/* A full counter cannot happen (2^64 - 1); EAGAIN is harmless. */
	if (write(zk->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		kb_log_once(KB_LOG_WARN, "zookeeper: eventfd write: %m");
}

/* Library threads from here to the next marker: copy and queue only. */
static void on_watch(zhandle_t *zh, int type, int state, const char *path,
		     void *ctx)
{
	struct zk_sess *s = ctx;
	struct zk_item *it = calloc(1, sizeof(*it));

	(void)zh;
	if (!it)
		return;
	it->gen = s->gen;
	it->is_watch = true;
	it->type = type;
	it->state = state;
	it->path = strdup(path ? path : "");
	push(s->zk, it);
}

static void copy_stat(struct zk_item *it, const struct Stat *st)
{
	if (!st)
		return;
	it->res.has_stat = true;
	it->res.version = st->version;
	it->res.ephemeral_owner = st->ephemeralOwner;
	it->res.czxid = st->czxid;
}

static void done_data(int rc, const char *v, int len, const struct Stat *st,
		      const void *data)
{
	struct zk_item *it = (struct zk_item *)data;

	it->res.rc = rc;
	it->res.len = v ? len : -1;
	if (rc == ZOK && v && len >= 0) {
		it->res.data = malloc((size_t)len + 1);
		if (it->res.data) {
			memcpy(it->res.data, v, (size_t)len);
			it->res.data[len] = '\0';
		} else {
			it->res.rc = ZSYSTEMERROR;
		}
	}
	copy_stat(it, st);
	push(it->sess->zk, it);
}

static void done_stat(int rc, const struct Stat *st, const void *data)
{
	struct zk_item *it = (struct zk_item *)data;

	it->res.rc = rc;
	copy_stat(it, st);
	push(it->sess->zk, it);
}

static void done_string(int rc, const char *v, const void *data)
{
	struct zk_item *it = (struct zk_item *)data;

	(void)v;
	it->res.rc = rc;
	push(it->sess->zk, it);
}

static void done_void(int rc, const void *data)
{
	struct zk_item *it = (struct zk_item *)data;

	it->res.rc = rc;
	push(it->sess->zk, it);
}

static void done_strings(int rc, const struct String_vector *sv,
			 const void *data)
{
	struct zk_item *it = (struct zk_item *)data;
	int i;

	it->res.rc = rc;
	if (rc == ZOK && sv && sv->count > 0) {
		it->res.children = calloc((size_t)sv->count, sizeof(char *));
		if (!it->res.children) {
			it->res.rc = ZSYSTEMERROR;
		} else {
			for (i = 0; i < sv->count; i++) {
				it->res.children[i] = strdup(sv->data[i]);
				if (!it->res.children[i]) {
					it->res.rc = ZSYSTEMERROR;
					break;
				}
			}
			it->res.n_children = i;
		}
	}
	push(it->sess->zk, it);
}

/* The library's own log lines are debug detail for us. */
static void zk_log(const char *msg)
{
	kb_dbg("zookeeper client: %s", msg);
}

/* Back in the loop thread. */

static void item_free(struct zk_item *it)
{
	int i;

	free(it->res.data);
	for (i = 0; i < it->res.n_children; i++)
		free(it->res.children[i]);
	free(it->res.children);
	if (it->is_watch)
		free(it->path);
	free(it);
}

static int sess_start(struct kb_zk *zk)
{
	struct zk_sess *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	s->zk = zk;
	s->gen = ++zk->gen;
	zk->sess = s;
	zk->state = KB_ZK_CONNECTING;
	zk->zh = zookeeper_init2(zk->hosts, on_watch, zk->session_timeout_ms,
				 NULL, s, 0, zk_log);
	if (!zk->zh) {
		kb_err("zookeeper: cannot start a client for %s: %m", zk->hosts);
		zk->sess = NULL;
		free(s);
		return -1;
	}
	return 0;
}

static void sess_stop(struct kb_zk *zk)
{
	if (zk->zh) {
		/* Joins the library threads: nothing calls on_* after this. */
		zookeeper_close(zk->zh);
		zk->zh = NULL;
	}
	free(zk->sess);
	zk->sess = NULL;
}

int kb_zk_open(const char *connect, int session_timeout_ms,
	       const struct kb_zk_hooks *hooks, struct kb_zk **out)
{
	struct kb_zk *zk = calloc(1, sizeof(*zk));
	const char *slash = strchr(connect, '/');
	size_t hl = slash ? (size_t)(slash - connect) : strlen(connect);

	if (!zk)
		return -1;
	if (hl >= sizeof(zk->hosts) || !hl ||
	    (slash && strlen(slash) >= sizeof(zk->root))) {
		kb_err("zookeeper.connect: bad value '%s'", connect);
		free(zk);
		return -1;
	}
	memcpy(zk->hosts, connect, hl);
	if (slash) {
		strcpy(zk->root, slash);
		/* "/kbroker/" and "/" name the same thing as "/kbroker", "". */
		hl = strlen(zk->root);
		while (hl && zk->root[hl - 1] == '/')
			zk->root[--hl] = '\0';
	}
	zk->session_timeout_ms = session_timeout_ms;
	zk->hooks = *hooks;
	pthread_mutex_init(&zk->mu, NULL);
	zk->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (zk->efd < 0) {
		kb_err("zookeeper: eventfd: %m");
		free(zk);
		return -1;
	}
	zoo_set_debug_level(kb_log_max >= KB_LOG_DEBUG ? ZOO_LOG_LEVEL_INFO :
			    ZOO_LOG_LEVEL_WARN);
	if (sess_start(zk)) {
		close(zk->efd);
		free(zk);
		return -1;
	}
	*out = zk;
	return 0;
}

void kb_zk_close(struct kb_zk *zk)
{
	struct zk_item *it, *next;

	if (!zk)
		return;
	sess_stop(zk);
	for (it = zk->head; it; it = next) {
		next = it->next;
		item_free(it);
	}
	close(zk->efd);
	pthread_mutex_destroy(&zk->mu);
	free(zk);
}

int kb_zk_fd(const struct kb_zk *zk)
{
	return zk->efd;
}

enum kb_zk_session kb_zk_state(const struct kb_zk *zk)
{
	return zk->state;
}

int64_t kb_zk_session_id(const struct kb_zk *zk)
{
	const clientid_t *id = zk->zh ? zoo_client_id(zk->zh) : NULL;

	return id ? id->client_id : 0;
}

const char *kb_zk_hosts(const struct kb_zk *zk)
{
	return zk->hosts;
}

void *kb_zk_owner(const struct kb_zk *zk)
{
	return zk->hooks.arg;
}

const char *kb_zk_chroot(const struct kb_zk *zk)
{
	return *zk->root ? zk->root : "/";
}

const char *kb_zk_strerror(int rc)
{
	return zerror(rc);
}

static void on_session(struct kb_zk *zk, int state)
{
	enum kb_zk_session s;

	if (state == ZOO_CONNECTED_STATE || state == ZOO_READONLY_STATE) {
		s = KB_ZK_CONNECTED;
	} else if (state == ZOO_EXPIRED_SESSION_STATE ||
		   state == ZOO_AUTH_FAILED_STATE) {
		s = KB_ZK_EXPIRED;
	} else {
		s = KB_ZK_CONNECTING;
	}
	if (s == zk->state)
		return;
	zk->state = s;
	if (zk->hooks.session)
		zk->hooks.session(zk, s, zk->hooks.arg);
	if (s == KB_ZK_EXPIRED) {
		/* A new session; the owner registers again when it is up. */
		sess_stop(zk);
		if (sess_start(zk))
			kb_err("zookeeper: no new session after expiry");
	}
}

static void on_node_watch(struct kb_zk *zk, struct zk_item *it)
{
	size_t rl = strlen(zk->root);
	const char *p = it->path;
	enum kb_zk_watch w;

	if (it->type == ZOO_CREATED_EVENT)
		w = KB_ZK_W_CREATED;
	else if (it->type == ZOO_DELETED_EVENT)
		w = KB_ZK_W_DELETED;
	else if (it->type == ZOO_CHANGED_EVENT)
		w = KB_ZK_W_CHANGED;
	else if (it->type == ZOO_CHILD_EVENT)
		w = KB_ZK_W_CHILD;
	else
		return;
	if (rl) {
		if (strncmp(p, zk->root, rl))
			return;
		p += rl;
		if (!*p)
			p = "/";
	}
	if (zk->hooks.watch)
		zk->hooks.watch(zk, w, p, zk->hooks.arg);
}

void kb_zk_dispatch(struct kb_zk *zk)
{
	struct zk_item *it, *next;
	uint64_t v;

	if (read(zk->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		kb_log_once(KB_LOG_WARN, "zookeeper: eventfd read: %m");
	pthread_mutex_lock(&zk->mu);
	it = zk->head;
	zk->head = zk->tail = NULL;
	pthread_mutex_unlock(&zk->mu);
	for (; it; it = next) {
		next = it->next;
		if (it->gen != zk->gen) {
			/* From a session already replaced. */
		} else if (it->is_watch && it->type == ZOO_SESSION_EVENT) {
			on_session(zk, it->state);
		} else if (it->is_watch) {
			on_node_watch(zk, it);
		} else if (it->done) {
			it->done(zk, &it->res, it->arg);
		}
		item_free(it);
	}
}

/* Submitting: the item carries the callback and its session's queue. */
static struct zk_item *op_new(struct kb_zk *zk, kb_zk_done done, void *arg)
{
	struct zk_item *it = calloc(1, sizeof(*it));

	if (!it) {
		kb_err("zookeeper: out of memory for a request");
		return NULL;
	}
	it->gen = zk->gen;
	it->done = done;
	it->arg = arg;
	it->sess = zk->sess;
	return it;
}

/* A request the library refused is answered through the queue too. */
static void op_sent(struct kb_zk *zk, struct zk_item *it, int rc)
{
	if (rc == ZOK)
		return;
	it->res.rc = rc;
	push(zk, it);
}

static int full_path(const struct kb_zk *zk, const char *path, char *buf)
{
	int n;

	if (*zk->root && !strcmp(path, "/"))
		n = snprintf(buf, ZK_PATH_MAX, "%s", zk->root);
	else
		n = snprintf(buf, ZK_PATH_MAX, "%s%s", zk->root, path);
	return n >= ZK_PATH_MAX ? ZBADARGUMENTS : ZOK;
}

#define SUBMIT(zk, path, done, arg, call)                               \
	do {                                                           \
		char fp_[ZK_PATH_MAX];                                 \
		struct zk_item *it_ = op_new(zk, done, arg);           \
		int rc_;                                               \
		if (!it_)                                              \
			return;                                        \
		rc_ = full_path(zk, path, fp_);                        \
		if (rc_ == ZOK && !zk->zh)                             \
			rc_ = ZINVALIDSTATE;                           \
		if (rc_ == ZOK)                                        \
			rc_ = call;                                    \
		op_sent(zk, it_, rc_);                                 \
	} while (0)

void kb_zk_create(struct kb_zk *zk, const char *path, const char *data,
		  int len, bool ephemeral, kb_zk_done done, void *arg)
{
	SUBMIT(zk, path, done, arg,
	       zoo_acreate(zk->zh, fp_, data, len, &ZOO_OPEN_ACL_UNSAFE,
			   ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT,
			   done_string, it_));
}

void kb_zk_get(struct kb_zk *zk, const char *path, bool watch,
	       kb_zk_done done, void *arg)
{
	SUBMIT(zk, path, done, arg,
	       zoo_aget(zk->zh, fp_, watch, done_data, it_));
}

void kb_zk_exists(struct kb_zk *zk, const char *path, bool watch,
		  kb_zk_done done, void *arg)
{
	SUBMIT(zk, path, done, arg,
	       zoo_aexists(zk->zh, fp_, watch, done_stat, it_));
}

void kb_zk_children(struct kb_zk *zk, const char *path, bool watch,
		    kb_zk_done done, void *arg)
{
	SUBMIT(zk, path, done, arg,
	       zoo_aget_children(zk->zh, fp_, watch, done_strings, it_));
}

void kb_zk_set(struct kb_zk *zk, const char *path, const char *data, int len,
	       int32_t version, kb_zk_done done, void *arg)
{
	SUBMIT(zk, path, done, arg,
	       zoo_aset(zk->zh, fp_, data, len, version, done_stat, it_));
}

void kb_zk_delete(struct kb_zk *zk, const char *path, int32_t version,
		  kb_zk_done done, void *arg)
{
	SUBMIT(zk, path, done, arg,
	       zoo_adelete(zk->zh, fp_, version, done_void, it_));
}

int kb_zk_sync_create(struct kb_zk *zk, const char *path, const char *data,
		      int len, bool ephemeral)
{
	char fp[ZK_PATH_MAX];
	int rc = full_path(zk, path, fp);

	if (rc != ZOK)
		return rc;
	if (!zk->zh)
		return ZINVALIDSTATE;
	return zoo_create(zk->zh, fp, data, len, &ZOO_OPEN_ACL_UNSAFE,
			  ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT, NULL, 0);
}

int kb_zk_sync_mkpath(struct kb_zk *zk, const char *path)
{
	char fp[ZK_PATH_MAX], *p;
	int rc;

	rc = full_path(zk, path, fp);
	if (rc != ZOK)
		return rc;
	if (!zk->zh)
		return ZINVALIDSTATE;
	/* Every prefix, the chroot's own components included. */
	for (p = fp + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		rc = zoo_create(zk->zh, fp, NULL, -1, &ZOO_OPEN_ACL_UNSAFE,
				ZOO_PERSISTENT, NULL, 0);
		*p = c;
		if (rc != ZOK && rc != ZNODEEXISTS)
			return rc;
		if (!c)
			return ZOK;
	}
}

int kb_zk_sync_get(struct kb_zk *zk, const char *path, char *buf,
		   size_t size)
{
	char fp[ZK_PATH_MAX];
	int len = (int)size - 1, rc = full_path(zk, path, fp);

	if (rc != ZOK)
		return rc;
	if (!zk->zh)
		return ZINVALIDSTATE;
	rc = zoo_get(zk->zh, fp, 0, buf, &len, NULL);
	if (rc == ZOK)
		buf[len > 0 ? len : 0] = '\0';
	return rc;
}
