// SPDX-License-Identifier: GPL-2.0
/*
 * AlterConfigs (ApiKey 33, v0-2) and IncrementalAlterConfigs (ApiKey 44,
 * v0-1): per-topic overrides held by the store.  AlterConfigs replaces a
 * topic's whole set of overrides; IncrementalAlterConfigs changes only the
 * keys it names.  Either way a resource's changes apply together or not at
 * all.  BROKER resources go to alter_broker(), kept apart so that dynamic
 * broker configs can be added there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "handlers/api.h"
#include "certs/cert.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "net/loop.h"
#include "common/log.h"
#include "store/store.h"

enum {
	RES_TOPIC = 2, RES_BROKER = 4,
	OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3,
	OP_REPLACE = -1,	/* AlterConfigs: every key given is set */
};

#define MAX_CONFIGS 64

/* One requested change, copied out of the request. */
struct alter_item {
	char key[64];
	char value[256];
	bool null;
	int8_t op;		/* OP_*; OP_REPLACE for AlterConfigs */
};

struct alter_res {
	int8_t type;
	struct kb_str name;
	struct alter_item *items;
	size_t n;
	int16_t err;		/* set while reading: the request's fault */
	const char *msg;
};

/*
 * BROKER resources: Kafka's dynamic keystore update.  Setting
 * listener.name.<l>.ssl.keystore.location (or ssl.keystore.location for
 * every TLS listener) to a PEM file with key and chain runs the same
 * maintenance window as a renewal; the answer comes once the file is
 * checked, the window finishes in the background (kbrokerctl status,
 * DescribeConfigs show the outcome).
 */
static int16_t alter_broker(struct kb_broker *b, const struct alter_res *r,
			    bool incremental, bool validate_only,
			    const char **msg)
{
	static char why[320];
	const struct kb_config *cfg = b->cfg;
	unsigned int mask = 0;
	const char *file = NULL;
	char me[16];
	size_t i;
	int k;

	(void)incremental;
	snprintf(me, sizeof(me), "%d", cfg->broker_id);
	if (r->name.len && ((size_t)r->name.len != strlen(me) ||
			    memcmp(r->name.ptr, me, r->name.len))) {
		*msg = "not this broker's id";
		return KB_ERR_INVALID_REQUEST;
	}
	for (i = 0; i < r->n; i++) {
		const struct alter_item *it = &r->items[i];
		const char *key = it->key;
		int one = -1;

		if (!strncmp(key, "listener.name.", 14)) {
			const char *dot = strchr(key + 14, '.');

			for (k = 0; dot && k < cfg->n_listeners; k++)
				if ((size_t)(dot - key - 14) ==
				    strlen(cfg->listeners[k].name) &&
				    !strncasecmp(key + 14,
						 cfg->listeners[k].name,
						 dot - key - 14))
					one = k;
			if (one < 0) {
				*msg = "no such listener";
				return KB_ERR_INVALID_CONFIG;
			}
			key = dot + 1;
		}
		if (strcmp(key, "ssl.keystore.location") ||
		    (it->op != OP_SET && it->op != OP_REPLACE) || it->null) {
			*msg = "not supported as a dynamic broker config (only ssl.keystore.location, SET)";
			return KB_ERR_INVALID_CONFIG;
		}
		if (file && strcmp(file, it->value)) {
			*msg = "one keystore file per request";
			return KB_ERR_INVALID_REQUEST;
		}
		file = it->value;
		for (k = 0; k < cfg->n_listeners; k++)
			if ((one < 0 || one == k) && b->loop &&
			    b->loop->ls[k].tls_ctx)
				mask |= 1u << k;
	}
	if (!file)
		return KB_ERR_NONE;
	if (!mask) {
		*msg = "no TLS listener to update";
		return KB_ERR_INVALID_CONFIG;
	}
	if (access(file, R_OK)) {
		*msg = "ssl.keystore.location: file not readable by kbrokerd";
		return KB_ERR_INVALID_CONFIG;
	}
	if (validate_only)
		return KB_ERR_NONE;
	if (kb_cert_rotate(b->loop, mask, file, "keystore update from a Kafka client",
			   -1, why, sizeof(why))) {
		*msg = why;
		return KB_ERR_INVALID_CONFIG;
	}
	kb_info("keystore update to %s started by a Kafka client", file);
	return KB_ERR_NONE;
}

/* cleanup.policy is the only list-valued key the store has. */
static bool list_key(const char *key)
{
	return !strcmp(key, "cleanup.policy");
}

/* Adds (@on) or removes the items of policy list @v to/from the set. */
static bool policy_items(const char *v, bool on, bool *del, bool *compact)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && e[-1] == ' ';)
			*--e = '\0';
		if (!strcmp(tok, "delete"))
			*del = on;
		else if (!strcmp(tok, "compact"))
			*compact = on;
		else if (on)
			return false;
	}
	return true;
}

/*
 * APPEND or SUBTRACT on cleanup.policy: the topic's list (its override or
 * the broker's log.cleanup.policy) with @it's items added or removed,
 * into @out.
 */
static int16_t policy_op(struct kb_broker *b, const char *topic,
			 const struct alter_item *it, char *out, size_t len,
			 const char **msg)
{
	const char *cur = kb_store_topic_config(b->store, topic, it->key);
	bool del = false, compact = false;

	if (!cur)
		cur = b->cfg->cleanup_policy[0] ? b->cfg->cleanup_policy :
		      "delete";
	policy_items(cur, true, &del, &compact);
	if (!policy_items(it->value, it->op == OP_APPEND, &del, &compact)) {
		*msg = "Invalid value for cleanup.policy: String must be one of: compact, delete";
		return KB_ERR_INVALID_CONFIG;
	}
	if (!del && !compact) {
		*msg = "cleanup.policy cannot be empty: it takes delete, compact or both";
		return KB_ERR_INVALID_CONFIG;
	}
	snprintf(out, len, "%s", del && compact ? "compact,delete" :
		 del ? "delete" : "compact");
	return KB_ERR_NONE;
}

/* Maps the items of a TOPIC resource to store ops; list results of
 * APPEND and SUBTRACT go to @lists. */
static int16_t topic_ops(struct kb_broker *b, const char *topic,
			 const struct alter_res *r, struct kb_cfg_op *ops,
			 char (*lists)[32], size_t *n, const char **msg)
{
	*n = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct alter_item *it = &r->items[i];
		struct kb_cfg_op *op = &ops[*n];
		int16_t err;

		op->key = it->key;
		op->value = it->value;
		switch (it->op) {
		case OP_REPLACE:
		case OP_SET:
			if (it->null) {
				*msg = "null config values are not supported; use DELETE";
				return KB_ERR_INVALID_CONFIG;
			}
			break;
		case OP_DELETE:
			op->value = NULL;
			break;
		case OP_APPEND:
		case OP_SUBTRACT:
			if (!list_key(it->key)) {
				*msg = "APPEND and SUBTRACT apply to list configs only";
				return KB_ERR_INVALID_REQUEST;
			}
			if (it->null) {
				*msg = "null config values are not supported";
				return KB_ERR_INVALID_CONFIG;
			}
			err = policy_op(b, topic, it, lists[i], sizeof(lists[i]),
					msg);
			if (err)
				return err;
			op->value = lists[i];
			break;
		default:
			*msg = "unknown config operation";
			return KB_ERR_INVALID_REQUEST;
		}
		(*n)++;
	}
	return KB_ERR_NONE;
}

static int16_t alter_topic(struct kb_broker *b, const struct alter_res *r,
			   bool incremental, bool validate_only,
			   const char **msg)
{
	struct kb_cfg_op ops[MAX_CONFIGS];
	char name[KB_TOPIC_NAME_MAX + 1], lists[MAX_CONFIGS][32];
	size_t n;
	int16_t err;
	int ret;

	if (!kb_str_copy(name, sizeof(name), r->name) ||
	    !kb_store_topic_find(b->store, name)) {
		*msg = "unknown topic";
		return KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	err = topic_ops(b, name, r, ops, lists, &n, msg);
	if (err)
		return err;
	ret = kb_store_topic_alter_config(b->store, name, ops, n, !incremental,
					  validate_only, msg);
	if (ret < 0) {
		kb_err("altering configs of topic %s: %s", name,
		       strerror(-ret));
		*msg = "storage error";
		return KB_ERR_KAFKA_STORAGE_ERROR;
	}
	if (!ret && !validate_only)
		kb_info("topic %s: configs altered by a client", name);
	return (int16_t)ret;
}

/* Reads one resource; items go to @items (MAX_CONFIGS of them). */
static void read_resource(struct kb_rd *rd, bool flex, bool incremental,
			  struct alter_item *items, struct alter_res *r)
{
	int32_t nc, k;

	*r = (struct alter_res){ .items = items };
	r->type = kb_rd_i8(rd);
	r->name = kb_rd_vstr(rd, flex);
	nc = kb_rd_varray(rd, flex);
	for (k = 0; k < nc && !rd->err; k++) {
		struct kb_str key = kb_rd_vstr(rd, flex), val;
		int8_t op = incremental ? kb_rd_i8(rd) : OP_REPLACE;
		struct alter_item *it = &items[r->n];

		val = kb_rd_vnstr(rd, flex);
		kb_rd_vtags(rd, flex);
		if (r->err)
			continue;
		if (r->n == MAX_CONFIGS) {
			r->err = KB_ERR_INVALID_REQUEST;
			r->msg = "too many configs";
		} else if (!kb_str_copy(it->key, sizeof(it->key), key)) {
			r->err = KB_ERR_INVALID_CONFIG;
			r->msg = "config name too long";
		} else if (val.ptr && !kb_str_copy(it->value,
						   sizeof(it->value), val)) {
			r->err = KB_ERR_INVALID_CONFIG;
			r->msg = "config value too long";
		} else {
			it->null = !val.ptr;
			if (it->null)
				it->value[0] = 0;
			it->op = op;
			for (size_t i = 0; i < r->n; i++) {
				if (!strcmp(items[i].key, it->key)) {
					r->err = KB_ERR_INVALID_REQUEST;
					r->msg = "a config appears twice";
				}
			}
			r->n++;
		}
	}
	kb_rd_vtags(rd, flex);
}

static int alter_configs(struct kb_req *req, struct kb_resp *resp,
			 bool incremental)
{
	static struct alter_item items[MAX_CONFIGS];
	struct kb_rd *rd = &req->rd, scan;
	struct kb_wr *w = &resp->w;
	bool flex = req->flex, validate_only;
	struct alter_res r;
	int32_t nr, i;

	/* validate_only follows the resources: read everything first. */
	scan = *rd;
	nr = kb_rd_varray(&scan, flex);
	for (i = 0; i < nr && !scan.err; i++)
		read_resource(&scan, flex, incremental, items, &r);
	validate_only = kb_rd_bool(&scan);
	kb_rd_vtags(&scan, flex);
	if (scan.err || nr < 0)
		return KB_H_CLOSE;

	kb_wr_i32(w, 0);			/* throttle_time_ms */
	nr = kb_rd_varray(rd, flex);
	kb_wr_varray(w, flex, nr);
	for (i = 0; i < nr; i++) {
		const char *msg = NULL;
		int16_t err;

		read_resource(rd, flex, incremental, items, &r);
		err = r.err;
		msg = r.msg;
		if (!err)
			err = kb_config_denied(req, r.type, r.name,
					       KB_OP_ALTER_CONFIGS);
		if (err && !msg)
			msg = "not authorized";
		/*
		 * No update in MAINTENANCE.  POLICY_VIOLATION: the request is
		 * well formed (not INVALID_REQUEST) but the broker's rule
		 * forbids it now; clients do not retry it blindly and show
		 * the message to the operator.
		 */
		if (!err && kb_cert_in_maintenance()) {
			err = KB_ERR_POLICY_VIOLATION;
			msg = KB_MAINT_MSG;
		}
		if (!err && r.type == RES_TOPIC) {
			err = alter_topic(req->b, &r, incremental,
					  validate_only, &msg);
		} else if (!err && r.type == RES_BROKER) {
			err = alter_broker(req->b, &r, incremental,
					   validate_only, &msg);
		} else if (!err) {
			err = KB_ERR_INVALID_REQUEST;
			msg = "only TOPIC and BROKER resources are served";
		}
		kb_wr_i16(w, err);
		kb_wr_vnstr(w, flex, err ? msg : NULL);
		kb_wr_i8(w, r.type);
		if (flex)
			kb_wr_cstr(w, r.name.ptr, r.name.len);
		else
			kb_wr_str(w, r.name.ptr, r.name.len);
		kb_wr_tags(w, flex);
	}
	kb_wr_tags(w, flex);
	return KB_H_DONE;
}

int kb_h_alter_configs(struct kb_req *req, struct kb_resp *resp)
{
	return alter_configs(req, resp, false);
}

int kb_h_incremental_alter_configs(struct kb_req *req, struct kb_resp *resp)
{
	return alter_configs(req, resp, true);
}
