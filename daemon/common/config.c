// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing kbroker.properties: each line checked against the key table
 * (config_keys.c); a bad value names its key and line.
 */
#include <ctype.h>
#include <float.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/config_keys.h"
#include "common/log.h"

/* Per-listener keys: listener.name.<name>.<key>. */
struct pending_lkey {
	char *name;		/* listener name */
	char *key;
	char *value;
	int line;
};

struct parse {
	const char *file;
	struct kb_config *cfg;
	int line[K_COUNT];	/* line each key was set on, 0 = unset */
	struct pending_lkey *lkeys;
	size_t n_lkeys;
};

static int bad(const struct parse *ps, int line, const char *key,
	       const char *why)
{
	kb_err("%s:%d: %s: %s", ps->file, line, key, why);
	return -1;
}

static int parse_int(const char *v, int64_t *out)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return -1;
	*out = x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false")) {
		*out = false;
		return 0;
	}
	return -1;
}

static void store_int(struct kb_config *cfg, const struct key_def *k,
		      int64_t v)
{
	char *f = (char *)cfg + k->off;

	if (k->size == 4) {
		int32_t x = (int32_t)v;

		memcpy(f, &x, 4);
	} else {
		memcpy(f, &v, 8);
	}
}

/* Checks and stores a scalar value; strings are validated later. */
static int apply(struct parse *ps, int ki, const char *v, int line)
{
	const struct key_def *k = &kb_config_keys[ki];
	struct kb_config *cfg = ps->cfg;
	int64_t x;
	bool b;

	switch (k->type) {
	case T_INT:
		if (parse_int(v, &x))
			return bad(ps, line, k->name, "not an integer");
		if (x < k->min || x > k->max) {
			char why[96];

			snprintf(why, sizeof(why),
				 "%" PRId64 " out of range [%" PRId64
				 ", %" PRId64 "]", x, k->min, k->max);
			return bad(ps, line, k->name, why);
		}
		if (k->scale != 1 && x > 0) {
			if (x > INT64_MAX / k->scale)
				return bad(ps, line, k->name, "too large");
			x *= k->scale;
		}
		store_int(cfg, k, x);
		break;
	case T_BOOL:
		if (parse_bool(v, &b))
			return bad(ps, line, k->name,
				   "expected true or false");
		*(bool *)((char *)cfg + k->off) = b;
		break;
	case T_ONOFF:
		if (!strcasecmp(v, "on"))
			b = true;
		else if (!strcasecmp(v, "off"))
			b = false;
		else
			return bad(ps, line, k->name, "expected on or off");
		*(bool *)((char *)cfg + k->off) = b;
		break;
	case T_STR:
		break;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Splits "host:port" (host may be empty or [v6]). */
static int split_hostport(char *hp, char *host, int *port)
{
	char *colon = strrchr(hp, ':');
	int64_t p;
	size_t hl;

	if (!colon || parse_int(colon + 1, &p) || p < 0 || p > 65535)
		return -1;
	*colon = '\0';
	if (hp[0] == '[') {
		hl = strlen(hp);
		if (hl < 2 || hp[hl - 1] != ']')
			return -1;
		hp[hl - 1] = '\0';
		hp++;
	}
	if (strlen(hp) >= KB_HOST_MAX)
		return -1;
	strcpy(host, hp);
	*port = (int)p;
	return 0;
}

/* Calls @fn on each trimmed, non-empty element of a comma list. */
static int for_each_item(const char *list, int (*fn)(char *item, void *arg),
			 void *arg)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int ret = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok && !ret;
	     tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (*tok)
			ret = fn(tok, arg);
	}
	free(copy);
	return ret;
}

static int parse_listener(char *item, struct kb_listener_cfg *l)
{
	char *sep = strstr(item, "://");

	if (!sep || sep == item || sep - item >= KB_NAME_MAX)
		return -1;
	*sep = '\0';
	strcpy(l->name, item);
	return split_hostport(sep + 3, l->host, &l->port);
}

static int add_listener(char *item, void *arg)
{
	struct kb_config *cfg = arg;
	struct kb_listener_cfg *l;
	int i;

	if (cfg->n_listeners >= KB_MAX_LISTENERS)
		return -1;
	l = &cfg->listeners[cfg->n_listeners];
	memset(l, 0, sizeof(*l));
	if (parse_listener(item, l))
		return -1;
	for (i = 0; i < cfg->n_listeners; i++)
		if (!strcasecmp(cfg->listeners[i].name, l->name))
			return -1;	/* duplicate name */
	l->policy = KB_POLICY_TLS;
	cfg->n_listeners++;
	return 0;
}

static struct kb_listener_cfg *find_listener(struct kb_config *cfg,
					     const char *name)
{
	int i;

	for (i = 0; i < cfg->n_listeners; i++)
		if (!strcasecmp(cfg->listeners[i].name, name))
			return &cfg->listeners[i];
	return NULL;
}

static int add_advertised(char *item, void *arg)
{
	struct kb_config *cfg = arg;
	struct kb_listener_cfg tmp, *l;

	memset(&tmp, 0, sizeof(tmp));
	if (parse_listener(item, &tmp))
		return -1;
	l = find_listener(cfg, tmp.name);
	if (!l || l->adv_port)
		return -1;
	strcpy(l->adv_host, tmp.host);
	l->adv_port = tmp.port;
	return 0;
}

static int map_proto(char *item, void *arg)
{
	struct kb_config *cfg = arg;
	struct kb_listener_cfg *l;
	char *colon = strchr(item, ':');
	enum kb_security_proto p;

	if (!colon)
		return -1;
	*colon = '\0';
	if (!strcasecmp(colon + 1, "PLAINTEXT"))
		p = KB_SEC_PLAINTEXT;
	else if (!strcasecmp(colon + 1, "SSL"))
		p = KB_SEC_SSL;
	else
		return -1;
	l = find_listener(cfg, trim(item));
	if (l)
		l->proto = p + 1;	/* +1 marks "mapped" until fixed up */
	return 0;
}

static int add_dir(char *item, void *arg)
{
	struct kb_config *cfg = arg;
	char **nd = realloc(cfg->log_dirs,
			    (cfg->n_log_dirs + 1) * sizeof(*nd));

	if (!nd)
		return -1;
	cfg->log_dirs = nd;
	nd[cfg->n_log_dirs] = strdup(item);
	if (!nd[cfg->n_log_dirs])
		return -1;
	cfg->n_log_dirs++;
	return 0;
}

static int copy_str(char *dst, size_t len, const char *v)
{
	if (strlen(v) >= len)
		return -1;
	strcpy(dst, v);
	return 0;
}

/* DEV:DIR; DIR is absolute, so the first ":/" splits (by-path names
 * hold colons but no ":/"). */
static int add_volume(char *item, void *arg)
{
	struct kb_config *cfg = arg;
	struct kb_volume_cfg *nv, *v;
	char *sep = strstr(item, ":/");
	size_t i;

	if (!sep || sep == item)
		return -1;
	*sep = '\0';
	nv = realloc(cfg->volumes, (cfg->n_volumes + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	cfg->volumes = nv;
	v = &nv[cfg->n_volumes];
	if (copy_str(v->dev, sizeof(v->dev), item) ||
	    copy_str(v->dir, sizeof(v->dir), sep + 1))
		return -1;
	for (i = 0; i < cfg->n_volumes; i++)
		if (!strcmp(nv[i].dev, v->dev) || !strcmp(nv[i].dir, v->dir))
			return -1;
	cfg->n_volumes++;
	return 0;
}

static const char *raw_or_def(const struct kb_config *cfg, int ki)
{
	return cfg->raw[ki] ? cfg->raw[ki] : kb_config_keys[ki].def;
}

static int check_protocol(char *item, void *arg)
{
	(void)arg;
	return strcmp(item, "TLSv1.2") && strcmp(item, "TLSv1.3") ? -1 : 0;
}

/* Sets one ssl.* key on @t; returns NULL or why the value is bad. */
static const char *set_tls_key(struct kb_tls_cfg *t, int ki, const char *v)
{
	switch (ki) {
	case K_SSL_KS_TYPE:
		if (!strcasecmp(v, "KEYRING"))
			t->ks_type = KB_KS_KEYRING;
		else if (!strcasecmp(v, "PEM"))
			t->ks_type = KB_KS_PEM;
		else
			return "expected PEM or KEYRING";
		return NULL;
	case K_SSL_KR_KEY:
		return copy_str(t->keyring_key, sizeof(t->keyring_key), v) ?
		       "too long" : NULL;
	case K_SSL_KR_CHAIN:
		return copy_str(t->keyring_chain, sizeof(t->keyring_chain), v) ?
		       "too long" : NULL;
	case K_SSL_TS_TYPE:
		return strcasecmp(v, "PEM") ? "only PEM is supported" : NULL;
	case K_SSL_KS_LOC:
		return copy_str(t->keystore, sizeof(t->keystore), v) ?
		       "path too long" : NULL;
	case K_SSL_KEY_PW:
		return copy_str(t->key_password, sizeof(t->key_password), v) ?
		       "too long" : NULL;
	case K_SSL_TS_LOC:
		return copy_str(t->truststore, sizeof(t->truststore), v) ?
		       "path too long" : NULL;
	case K_SSL_CLIENT_AUTH:
		if (!strcasecmp(v, "none"))
			t->client_auth = KB_AUTH_NONE;
		else if (!strcasecmp(v, "requested"))
			t->client_auth = KB_AUTH_REQUESTED;
		else if (!strcasecmp(v, "required"))
			t->client_auth = KB_AUTH_REQUIRED;
		else
			return "expected none, requested or required";
		return NULL;
	case K_SSL_PROTOCOLS:
		if (!*v || for_each_item(v, check_protocol, NULL))
			return "expected TLSv1.2 and/or TLSv1.3";
		return copy_str(t->protocols, sizeof(t->protocols), v) ?
		       "too long" : NULL;
	case K_SSL_CIPHERS:
		return copy_str(t->ciphers, sizeof(t->ciphers), v) ?
		       "too long" : NULL;
	}
	return "unknown key";
}

/* Global ssl.* keys first, then each listener's own; checks that every
 * listener that may serve TLS has what it needs. */
static int finish_tls(struct parse *ps)
{
	struct kb_config *cfg = ps->cfg;
	size_t i, j;
	int k;

	for (k = 0; k < cfg->n_listeners; k++) {
		for (j = 0; j < KB_N_TLS_KEYS; j++) {
			int ki = kb_config_tls_keys[j];
			const char *v = raw_or_def(cfg, ki), *why;

			if (!v)
				continue;
			why = set_tls_key(&cfg->listeners[k].tls, ki, v);
			if (why)
				return bad(ps, ps->line[ki],
					   kb_config_keys[ki].name, why);
		}
	}
	for (i = 0; i < ps->n_lkeys; i++) {
		struct pending_lkey *lk = &ps->lkeys[i];
		struct kb_listener_cfg *l = find_listener(cfg, lk->name);
		const char *why;
		char full[256];

		if (!l || strncmp(lk->key, "ssl.", 4))
			continue;
		snprintf(full, sizeof(full), "listener.name.%s.%s", lk->name,
			 lk->key);
		for (j = 0; j < KB_N_TLS_KEYS; j++)
			if (!strcmp(lk->key,
				    kb_config_keys[kb_config_tls_keys[j]].name))
				break;
		if (j == KB_N_TLS_KEYS)
			return bad(ps, lk->line, full, "unknown key");
		why = set_tls_key(&l->tls, kb_config_tls_keys[j], lk->value);
		if (why)
			return bad(ps, lk->line, full, why);
	}
	for (k = 0; k < cfg->n_listeners; k++) {
		struct kb_listener_cfg *l = &cfg->listeners[k];
		char why[200];

		if (l->proto != KB_SEC_SSL && l->policy == KB_POLICY_PLAINTEXT)
			continue;
		if (!*l->tls.keyring_key)
			snprintf(l->tls.keyring_key, sizeof(l->tls.keyring_key),
				 "kbroker:tls:key:%s", l->name);
		if (!*l->tls.keyring_chain)
			snprintf(l->tls.keyring_chain,
				 sizeof(l->tls.keyring_chain),
				 "kbroker:tls:chain:%s", l->name);
		if (l->tls.ks_type == KB_KS_PEM && !*l->tls.keystore) {
			snprintf(why, sizeof(why),
				 "listener %s serves TLS (policy %s) but has no ssl.keystore.location",
				 l->name, kb_policy_name(l->policy));
			return bad(ps, ps->line[K_LISTENERS], "listeners", why);
		}
		if (l->tls.client_auth != KB_AUTH_NONE && !*l->tls.truststore) {
			snprintf(why, sizeof(why),
				 "listener %s: ssl.client.auth needs ssl.truststore.location",
				 l->name);
			return bad(ps, ps->line[K_SSL_CLIENT_AUTH],
				   "ssl.client.auth", why);
		}
	}
	return 0;
}

/*
 * zookeeper.connect makes this broker one of a cluster; the inter-broker
 * listener is then the named one, else the first SSL listener, else the
 * first.  With encryption.in.cluster it must serve TLS only.
 */
static int finish_cluster(struct parse *ps)
{
	struct kb_config *cfg = ps->cfg;
	const struct kb_listener_cfg *l;
	const char *v = cfg->raw[K_IBL];
	char why[300];
	int i;

	if (copy_str(cfg->zk_connect, sizeof(cfg->zk_connect),
		     raw_or_def(cfg, K_ZK_CONNECT) ?: ""))
		return bad(ps, ps->line[K_ZK_CONNECT], "zookeeper.connect",
			   "too long");
	if (copy_str(cfg->broker_rack, sizeof(cfg->broker_rack),
		     raw_or_def(cfg, K_RACK) ?: ""))
		return bad(ps, ps->line[K_RACK], "broker.rack",
			   "too long (at most 63 characters)");
	cfg->inter_broker_listener = -1;
	if (v) {
		l = find_listener(cfg, v);
		if (!l)
			return bad(ps, ps->line[K_IBL],
				   "inter.broker.listener.name",
				   "no such listener in listeners");
		cfg->inter_broker_listener = (int)(l - cfg->listeners);
	} else {
		for (i = 0; i < cfg->n_listeners; i++)
			if (cfg->listeners[i].proto == KB_SEC_SSL)
				break;
		cfg->inter_broker_listener = i < cfg->n_listeners ? i : 0;
	}
	if (!cfg->zk_connect[0] || !cfg->encryption_in_cluster)
		return 0;
	l = &cfg->listeners[cfg->inter_broker_listener];
	if (l->proto != KB_SEC_SSL || l->policy != KB_POLICY_TLS) {
		snprintf(why, sizeof(why),
			 "encryption.in.cluster=true needs the inter-broker listener %s to serve TLS only (security protocol SSL, policy tls); it is %s with policy %s",
			 l->name, l->proto == KB_SEC_SSL ? "SSL" : "PLAINTEXT",
			 kb_policy_name(l->policy));
		return bad(ps, ps->line[K_ENC_IN_CLUSTER] ?
			   ps->line[K_ENC_IN_CLUSTER] : ps->line[K_LISTENERS],
			   "encryption.in.cluster", why);
	}
	return 0;
}

/* Cross-key checks once the whole file is read. */
/* A double in [@lo, @hi] (Kafka's DOUBLE keys). */
static bool parse_double(const char *v, double lo, double hi, double *out)
{
	char *end;
	double x;

	if (!*v)
		return false;
	errno = 0;
	x = strtod(v, &end);
	if (errno || *end || !(x >= lo && x <= hi))
		return false;
	*out = x;
	return true;
}

/* log.cleanup.policy: a list of delete and compact, kept canonical. */
static int finish_cleaner(struct parse *ps)
{
	struct kb_config *cfg = ps->cfg;
	const char *v = raw_or_def(cfg, K_CLEANUP_POLICY);
	bool del = false, compact = false, ok = *v != '\0';
	char *copy = strdup(v), *save = NULL, *tok;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok && ok;
	     tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (!strcmp(tok, "delete"))
			del = true;
		else if (!strcmp(tok, "compact"))
			compact = true;
		else
			ok = false;
	}
	free(copy);
	if (!ok || (!del && !compact))
		return bad(ps, ps->line[K_CLEANUP_POLICY], "log.cleanup.policy",
			   "expected delete, compact or compact,delete");
	snprintf(cfg->cleanup_policy, sizeof(cfg->cleanup_policy), "%s",
		 del && compact ? "compact,delete" : del ? "delete" :
		 "compact");
	if (!parse_double(raw_or_def(cfg, K_CLEANER_IO_MAX), 1.0, DBL_MAX,
			  &cfg->cleaner_io_max_bps))
		return bad(ps, ps->line[K_CLEANER_IO_MAX],
			   "log.cleaner.io.max.bytes.per.second",
			   "expected a number of bytes per second, at least 1");
	if (!parse_double(raw_or_def(cfg, K_CLEANER_MIN_RATIO), 0.0, 1.0,
			  &cfg->cleaner_min_ratio))
		return bad(ps, ps->line[K_CLEANER_MIN_RATIO],
			   "log.cleaner.min.cleanable.ratio",
			   "expected a number in [0, 1]");
	if (cfg->cleaner_min_lag_ms > cfg->cleaner_max_lag_ms)
		return bad(ps, ps->line[K_CLEANER_MIN_LAG],
			   "log.cleaner.min.compaction.lag.ms",
			   "larger than log.cleaner.max.compaction.lag.ms");
	return 0;
}

static int finish(struct parse *ps)
{
	struct kb_config *cfg = ps->cfg;
	const char *v;
	size_t i;
	int k;

	v = raw_or_def(cfg, K_LISTENERS);
	if (for_each_item(v, add_listener, cfg) || !cfg->n_listeners)
		return bad(ps, ps->line[K_LISTENERS], "listeners",
			   "expected NAME://host:port[,...] with unique names");
	v = raw_or_def(cfg, K_PROTO_MAP);
	if (for_each_item(v, map_proto, cfg))
		return bad(ps, ps->line[K_PROTO_MAP],
			   "listener.security.protocol.map",
			   "expected NAME:PLAINTEXT|SSL[,...]");
	for (k = 0; k < cfg->n_listeners; k++) {
		struct kb_listener_cfg *l = &cfg->listeners[k];
		char why[160];

		if (!l->proto) {
			snprintf(why, sizeof(why),
				 "listener %s has no security protocol in listener.security.protocol.map",
				 l->name);
			return bad(ps, ps->line[K_LISTENERS], "listeners",
				   why);
		}
		l->proto--;
		/* Default policy follows the security protocol. */
		l->policy = l->proto == KB_SEC_SSL ? KB_POLICY_TLS :
			    KB_POLICY_PLAINTEXT;
	}
	v = cfg->raw[K_ADV_LISTENERS];
	if (v && for_each_item(v, add_advertised, cfg))
		return bad(ps, ps->line[K_ADV_LISTENERS],
			   "advertised.listeners",
			   "expected NAME://host:port[,...] naming listeners");
	for (i = 0; i < ps->n_lkeys; i++) {
		struct pending_lkey *lk = &ps->lkeys[i];
		struct kb_listener_cfg *l = find_listener(cfg, lk->name);
		char full[256];
		size_t p;

		snprintf(full, sizeof(full), "listener.name.%s.%s", lk->name,
			 lk->key);
		if (!l)
			return bad(ps, lk->line, full,
				   "no such listener in listeners");
		if (!strncmp(lk->key, "ssl.", 4))
			continue;	/* finish_tls() */
		if (strcmp(lk->key, "policy"))
			return bad(ps, lk->line, full, "unknown key");
		for (p = 0; p < 3; p++)
			if (!strcasecmp(lk->value, kb_policy_name(p)))
				break;
		if (p == 3)
			return bad(ps, lk->line, full,
				   "expected tls, tls_plaintext or plaintext");
		l->policy = p;
		l->policy_set = true;
	}
	if (finish_tls(ps))
		return -1;
	if (copy_str(cfg->cert_renew_command, sizeof(cfg->cert_renew_command),
		     raw_or_def(cfg, K_CERT_CMD) ?: "") ||
	    copy_str(cfg->cert_ca, sizeof(cfg->cert_ca),
		     raw_or_def(cfg, K_CERT_CA) ?: "") ||
	    copy_str(cfg->control_socket, sizeof(cfg->control_socket),
		     raw_or_def(cfg, K_CTL_SOCK)))
		return bad(ps, 0, "ssl.certificate.*", "value too long");
	v = cfg->raw[K_LOG_DIRS];
	if (copy_str(cfg->metrics_listener, sizeof(cfg->metrics_listener),
		     raw_or_def(cfg, K_METRICS)))
		return bad(ps, ps->line[K_METRICS], "metrics.listener",
			   "value too long");
	cfg->metrics_listener_set = cfg->raw[K_METRICS];
	if (!v)
		return bad(ps, 0, "log.dirs", "required (or log.dir)");
	if (for_each_item(v, add_dir, cfg) || !cfg->n_log_dirs)
		return bad(ps, ps->line[K_LOG_DIRS], "log.dirs",
			   "expected a comma-separated list of directories");
	v = cfg->raw[K_AT_REST_VOLUMES];
	if (v && (for_each_item(v, add_volume, cfg) || !cfg->n_volumes))
		return bad(ps, ps->line[K_AT_REST_VOLUMES], "at.rest.volumes",
			   "expected DEV:/DIR[,DEV:/DIR...], each device and directory once");
	if (copy_str(cfg->at_rest_master_key, sizeof(cfg->at_rest_master_key),
		     raw_or_def(cfg, K_AT_REST_MASTER) ?: "") ||
	    strlen(cfg->at_rest_master_key) >= 128)
		return bad(ps, ps->line[K_AT_REST_MASTER], "at.rest.master.key",
			   "too long (at most 127 characters)");
	if (copy_str(cfg->at_rest_state_dir, sizeof(cfg->at_rest_state_dir),
		     raw_or_def(cfg, K_AT_REST_STATE) ?: "") ||
	    (cfg->at_rest_state_dir[0] && cfg->at_rest_state_dir[0] != '/'))
		return bad(ps, ps->line[K_AT_REST_STATE], "at.rest.state.dir",
			   "expected an absolute path");
	if (finish_cluster(ps) || finish_cleaner(ps))
		return -1;
	v = raw_or_def(cfg, K_AUTHORIZER);
	if (strcasecmp(v, "acl") && strcasecmp(v, "none"))
		return bad(ps, ps->line[K_AUTHORIZER], "authorizer",
			   "expected acl or none");
	cfg->authorizer_acl = !strcasecmp(v, "acl");
	if (copy_str(cfg->super_users, sizeof(cfg->super_users),
		     raw_or_def(cfg, K_SUPER_USERS) ?: ""))
		return bad(ps, ps->line[K_SUPER_USERS], "super.users",
			   "too long");
	if (copy_str(cfg->ssl_principal_mapping_rules,
		     sizeof(cfg->ssl_principal_mapping_rules),
		     raw_or_def(cfg, K_PRINCIPAL_RULES)))
		return bad(ps, ps->line[K_PRINCIPAL_RULES],
			   "ssl.principal.mapping.rules", "too long");
	v = cfg->raw[K_MODULE_REQUIRED];
	cfg->module_required = -1;
	if (v) {
		bool req;

		if (parse_bool(v, &req))
			return bad(ps, ps->line[K_MODULE_REQUIRED],
				   "module.required", "expected true or false");
		cfg->module_required = req;
	}
	v = raw_or_def(cfg, K_COMPRESSION);
	k = kb_compression_parse(v);
	if (k < KB_COMPRESSION_PRODUCER)
		return bad(ps, ps->line[K_COMPRESSION], "compression.type",
			   "expected producer, uncompressed, gzip, snappy, lz4 or zstd");
	cfg->compression_type = (int8_t)k;
	if (!cfg->at_rest_encryption)
		kb_warn("at.rest.encryption=off: log dirs %s are NOT encrypted at rest",
			cfg->raw[K_LOG_DIRS]);
	return 0;
}

/* Precedence among aliases, as in Kafka: ms over minutes over hours, and
 * log.dirs over log.dir. */
static bool overridden(const struct parse *ps, int ki)
{
	switch (ki) {
	case K_ROLL_HOURS:
		return ps->line[K_ROLL_MS];
	case K_RET_HOURS:
		return ps->line[K_RET_MS] || ps->line[K_RET_MIN];
	case K_RET_MIN:
		return ps->line[K_RET_MS];
	case K_LOG_DIR:
		return ps->line[K_LOG_DIRS];
	}
	return false;
}

static void set_defaults(struct kb_config *cfg)
{
	int i;

	for (i = 0; i < K_COUNT; i++) {
		const struct key_def *k = &kb_config_keys[i];
		int64_t x;

		if (!k->def || k->alias_of >= 0)
			continue;
		if (k->type == T_INT && !parse_int(k->def, &x))
			store_int(cfg, k, x);
		else if (k->type == T_BOOL)
			parse_bool(k->def, (bool *)((char *)cfg + k->off));
		else if (k->type == T_ONOFF)
			*(bool *)((char *)cfg + k->off) = !strcmp(k->def, "on");
	}
}

int kb_config_parse(const char *text, const char *name, struct kb_config *cfg)
{
	struct parse ps = { .file = name, .cfg = cfg };
	char *copy, *line;
	int lineno = 0, ret = 0, i, ki;
	const char *p;

	memset(cfg, 0, sizeof(*cfg));
	cfg->raw = calloc(K_COUNT, sizeof(char *));
	copy = strdup(text);
	if (!cfg->raw || !copy) {
		free(copy);
		return -1;
	}
	set_defaults(cfg);

	/* Walk lines by hand: strtok would merge empty lines and shift the
	 * line numbers in messages. */
	for (p = copy, line = copy; !ret && p && *p; line = (char *)p) {
		char *nl = strchr(line, '\n'), *eq, *key, *val;

		p = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		line = trim(line);
		if (!*line || *line == '#' || *line == '!')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			ret = bad(&ps, lineno, line, "expected key=value");
			break;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (!strncmp(key, "listener.name.", 14)) {
			char *nm = key + 14, *dot = strchr(nm, '.');
			struct pending_lkey *nl2;

			if (!dot || dot == nm || !dot[1]) {
				ret = bad(&ps, lineno, key, "unknown key");
				break;
			}
			nl2 = realloc(ps.lkeys, (ps.n_lkeys + 1) * sizeof(*nl2));
			if (!nl2) {
				ret = -1;
				break;
			}
			ps.lkeys = nl2;
			nl2 += ps.n_lkeys++;
			nl2->name = strndup(nm, dot - nm);
			nl2->key = strdup(dot + 1);
			nl2->value = strdup(val);
			nl2->line = lineno;
			continue;
		}
		for (ki = 0; ki < K_COUNT; ki++)
			if (!strcmp(key, kb_config_keys[ki].name))
				break;
		if (ki == K_COUNT) {
			ret = bad(&ps, lineno, key, "unknown key");
			break;
		}
		/* An empty metrics.listener turns metrics off. */
		if (kb_config_keys[ki].type == T_STR && !*val &&
		    ki != K_ADV_LISTENERS && ki != K_METRICS) {
			ret = bad(&ps, lineno, key, "empty value");
			break;
		}
		/* Validate now for the line number; apply after precedence. */
		ret = apply(&ps, ki, val, lineno);
		if (ret)
			break;
		free(cfg->raw[ki]);
		cfg->raw[ki] = strdup(val);
		ps.line[ki] = lineno;
	}
	if (!ret) {
		/* Re-apply aliases first, then the keys that win over them. */
		set_defaults(cfg);
		for (i = 0; i < K_COUNT && !ret; i++) {
			if (kb_config_keys[i].alias_of < 0 || !cfg->raw[i] ||
			    overridden(&ps, i))
				continue;
			if (i == K_LOG_DIR) {
				cfg->raw[K_LOG_DIRS] = strdup(cfg->raw[i]);
				ps.line[K_LOG_DIRS] = ps.line[i];
			} else {
				ret = apply(&ps, i, cfg->raw[i], ps.line[i]);
			}
		}
		for (i = 0; i < K_COUNT && !ret; i++)
			if (kb_config_keys[i].alias_of < 0 && cfg->raw[i] &&
			    kb_config_keys[i].type != T_STR)
				ret = apply(&ps, i, cfg->raw[i], ps.line[i]);
	}
	if (!ret)
		ret = finish(&ps);
	for (i = 0; i < (int)ps.n_lkeys; i++) {
		free(ps.lkeys[i].name);
		free(ps.lkeys[i].key);
		free(ps.lkeys[i].value);
	}
	free(ps.lkeys);
	free(copy);
	if (ret)
		kb_config_free(cfg);
	return ret;
}

int kb_config_load(const char *path, struct kb_config *cfg)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (!f) {
		kb_err("%s: cannot open config: %m", path);
		return -1;
	}
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;

	if (!mem) {
		fclose(f);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(f);
	fclose(mem);
	if (memchr(text, '\0', len)) {
		kb_err("%s: binary data in config", path);
		free(text);
		return -1;
	}
	ret = kb_config_parse(text, path, cfg);
	free(text);
	return ret;
}

void kb_config_free(struct kb_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_log_dirs; i++)
		free(cfg->log_dirs[i]);
	free(cfg->log_dirs);
	free(cfg->volumes);
	cfg->volumes = NULL;
	cfg->n_volumes = 0;
	if (cfg->raw)
		for (i = 0; i < K_COUNT; i++)
			free(cfg->raw[i]);
	free(cfg->raw);
	cfg->raw = NULL;
	cfg->log_dirs = NULL;
	cfg->n_log_dirs = 0;
}
