// SPDX-License-Identifier: GPL-2.0
/* kbrokerctl cluster status: this broker's view of the cluster. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cluster/internal.h"
#include "cluster/json.h"

#define LIST_MAX 20	/* partitions named in the human form */

static void jstr(FILE *f, const char *s)
{
	char q[600];

	if (kb_json_quote(q, sizeof(q), s) < 0)
		fputs("\"\"", f);
	else
		fputs(q, f);
}

static bool under_replicated(const struct kb_cl_part *pt)
{
	return pt->has_state && pt->leader >= 0 && pt->n_isr < pt->n_replicas;
}

static bool offline(const struct kb_cl_part *pt)
{
	return !pt->has_state || pt->leader < 0;
}

/* Calls @fn for every partition that @pick selects; returns the count. */
static size_t each_part(const struct kb_cluster *cl,
			bool (*pick)(const struct kb_cl_part *pt),
			void (*fn)(FILE *f, const char *t, int32_t p, size_t i),
			FILE *f)
{
	size_t i, n = 0;
	int32_t p;

	for (i = 0; i < cl->n_topics; i++) {
		const struct kb_cl_topic *t = cl->topics[i];

		for (p = 0; t->loaded && p < t->n_parts; p++) {
			if (!pick(&t->parts[p]))
				continue;
			if (fn)
				fn(f, t->name, p, n);
			n++;
		}
	}
	return n;
}

void kb_cluster_health(const struct kb_cluster *cl, size_t *n_offline,
		       size_t *n_under)
{
	*n_offline = each_part(cl, offline, NULL, NULL);
	*n_under = each_part(cl, under_replicated, NULL, NULL);
}

/* The lists stop at JSON_MAX names (the counts are whole) so the answer
 * fits the control socket's buffer. */
#define JSON_MAX 1000

static void json_part(FILE *f, const char *t, int32_t p, size_t i)
{
	if (i >= JSON_MAX)
		return;
	fprintf(f, "%s{\"topic\":", i ? "," : "");
	jstr(f, t);
	fprintf(f, ",\"partition\":%d}", p);
}

static void human_part(FILE *f, const char *t, int32_t p, size_t i)
{
	if (i < LIST_MAX)
		fprintf(f, " %s-%d", t, p);
	else if (i == LIST_MAX)
		fputs(" ...", f);
}

static void status_json(const struct kb_cluster *cl, FILE *f)
{
	size_t i, np = 0, nt = 0, n_off, n_under;
	int k;

	fputs("{\"cluster_id\":", f);
	jstr(f, cl->id);
	fprintf(f, ",\"broker_id\":%d,\"controller\":%d,\"is_controller\":%s,",
		cl->o.broker_id, cl->controller_id,
		cl->is_controller ? "true" : "false");
	if (cl->is_controller && cl->controller_epoch > 0)
		fprintf(f, "\"controller_epoch\":%d,", cl->controller_epoch);
	else
		fputs("\"controller_epoch\":null,", f);
	fputs("\"zookeeper\":{\"connect\":", f);
	jstr(f, kb_zk_hosts(cl->zk));
	fputs(",\"chroot\":", f);
	jstr(f, kb_zk_chroot(cl->zk));
	fprintf(f, ",\"connected\":%s,\"registered\":%s,\"session\":\"0x%" PRIx64 "\"},",
		kb_zk_state(cl->zk) == KB_ZK_CONNECTED ? "true" : "false",
		cl->registered ? "true" : "false", kb_zk_session_id(cl->zk));
	fprintf(f, "\"encryption_in_cluster\":%s,\"inter_broker_listener\":",
		cl->encrypted ? "true" : "false");
	jstr(f, cl->ibl);
	fputs(",\"brokers\":[", f);
	for (i = 0; i < cl->n_brokers; i++) {
		const struct kb_cluster_broker *br = &cl->brokers[i];

		fprintf(f, "%s{\"id\":%d,\"rack\":", i ? "," : "", br->id);
		if (br->rack[0])
			jstr(f, br->rack);
		else
			fputs("null", f);
		fputs(",\"endpoints\":[", f);
		for (k = 0; k < br->n_eps; k++) {
			char ep[400];

			snprintf(ep, sizeof(ep), "%s://%s:%d", br->eps[k].name,
				 br->eps[k].host, br->eps[k].port);
			if (k)
				fputc(',', f);
			jstr(f, ep);
		}
		fputs("]}", f);
	}
	for (i = 0; i < cl->n_topics; i++) {
		if (cl->topics[i]->loaded) {
			nt++;
			np += (size_t)cl->topics[i]->n_parts;
		}
	}
	fprintf(f, "],\"topics\":%zu,\"partitions\":%zu,\"offline_partitions\":[",
		nt, np);
	n_off = each_part(cl, offline, json_part, f);
	fputs("],\"under_replicated_partitions\":[", f);
	n_under = each_part(cl, under_replicated, json_part, f);
	fprintf(f, "],\"offline_count\":%zu,\"under_replicated_count\":%zu,\"replication\":false}\n",
		n_off, n_under);
}

static void status_human(const struct kb_cluster *cl, FILE *f)
{
	size_t i, np = 0, nt = 0, n_off, n_under;
	int k;

	fprintf(f, "cluster          %s\n", cl->id);
	fprintf(f, "this broker      %d%s\n", cl->o.broker_id,
		cl->is_controller ? " (controller)" : "");
	if (cl->controller_id < 0)
		fprintf(f, "controller       none elected yet\n");
	else if (cl->is_controller && cl->controller_epoch > 0)
		fprintf(f, "controller       %d (epoch %d)\n", cl->controller_id,
			cl->controller_epoch);
	else
		fprintf(f, "controller       %d\n", cl->controller_id);
	fprintf(f, "zookeeper        %s chroot %s: %s, session 0x%" PRIx64 "%s\n",
		kb_zk_hosts(cl->zk), kb_zk_chroot(cl->zk),
		kb_zk_state(cl->zk) == KB_ZK_CONNECTED ? "connected" :
		"NOT CONNECTED", kb_zk_session_id(cl->zk),
		cl->registered ? "" : ", NOT REGISTERED");
	fprintf(f, "encryption       in cluster %s (fixed at creation), inter-broker listener %s\n",
		cl->encrypted ? "on" : "OFF", cl->ibl);
	fprintf(f, "brokers          %zu live\n", cl->n_brokers);
	for (i = 0; i < cl->n_brokers; i++) {
		const struct kb_cluster_broker *br = &cl->brokers[i];

		fprintf(f, "  %-6d rack %-10s", br->id,
			br->rack[0] ? br->rack : "-");
		for (k = 0; k < br->n_eps; k++)
			fprintf(f, " %s://%s:%d", br->eps[k].name,
				br->eps[k].host, br->eps[k].port);
		fputc('\n', f);
	}
	for (i = 0; i < cl->n_topics; i++) {
		if (cl->topics[i]->loaded) {
			nt++;
			np += (size_t)cl->topics[i]->n_parts;
		}
	}
	n_off = each_part(cl, offline, NULL, f);
	n_under = each_part(cl, under_replicated, NULL, f);
	fprintf(f, "partitions       %zu in %zu topic(s): %zu offline, %zu under-replicated (no replication yet)\n",
		np, nt, n_off, n_under);
	if (n_off) {
		fputs("  offline:", f);
		each_part(cl, offline, human_part, f);
		fputc('\n', f);
	}
}

void kb_cluster_status(const struct kb_cluster *cl, FILE *f, bool json)
{
	if (json)
		status_json(cl, f);
	else
		status_human(cl, f);
}
