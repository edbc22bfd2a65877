// SPDX-License-Identifier: GPL-2.0
/* Cluster identity (meta.properties). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/broker.h"
#include "common/log.h"

/* Kafka cluster ids are 16 random bytes in URL-safe base64, unpadded. */
static void new_cluster_id(char out[23])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t r[18] = { 0 };
	int i, o = 0;

	if (getrandom(r, 16, 0) != 16) {
		srand((unsigned int)(time(NULL) ^ getpid()));
		for (i = 0; i < 16; i++)
			r[i] = (uint8_t)rand();
	}
	for (i = 0; i < 18 && o < 22; i += 3) {
		uint32_t v = (uint32_t)r[i] << 16 | r[i + 1] << 8 | r[i + 2];

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		if (o < 22)
			out[o++] = b64[v >> 6 & 63];
		if (o < 22)
			out[o++] = b64[v & 63];
	}
	out[22] = '\0';
}

static int write_meta(const struct kb_broker *b, const char *path)
{
	char tmp[4112];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		kb_err("%s: %m", tmp);
		return -1;
	}
	fprintf(f, "#\n#Written by kbrokerd\nversion=0\ncluster.id=%s\nbroker.id=%d\n",
		b->cluster_id, b->cfg->broker_id);
	if (fflush(f) || fsync(fileno(f))) {
		kb_err("%s: %m", tmp);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path)) {
		kb_err("%s: %m", path);
		return -1;
	}
	return 0;
}

int kb_cluster_meta_load(struct kb_broker *b)
{
	const struct kb_config *cfg = b->cfg;
	char path[4096], line[512];
	bool have_id = false;
	long stored_broker = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/meta.properties", cfg->log_dirs[0]);
	f = fopen(path, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (!strncmp(line, "cluster.id=", 11) &&
			    strlen(line + 11) < sizeof(b->cluster_id) &&
			    line[11]) {
				strcpy(b->cluster_id, line + 11);
				have_id = true;
			} else if (!strncmp(line, "broker.id=", 10)) {
				stored_broker = strtol(line + 10, NULL, 10);
			}
		}
		fclose(f);
		if (have_id && stored_broker != cfg->broker_id) {
			kb_err("%s: broker.id %ld does not match configured broker.id %d",
			       path, stored_broker, cfg->broker_id);
			return -1;
		}
		if (have_id)
			return 0;
	} else if (errno != ENOENT) {
		kb_err("%s: %m", path);
		return -1;
	}
	new_cluster_id(b->cluster_id);
	if (write_meta(b, path))
		return -1;
	b->cluster_id_fresh = true;
	kb_info("new cluster id %s written to %s", b->cluster_id, path);
	return 0;
}

int kb_cluster_meta_adopt(struct kb_broker *b, const char *id)
{
	char path[4096];

	if (!strcmp(b->cluster_id, id))
		return 0;
	snprintf(path, sizeof(path), "%s/meta.properties", b->cfg->log_dirs[0]);
	/* Log dirs of another cluster hold that cluster's data: never mix. */
	if (!b->cluster_id_fresh) {
		kb_err("%s: the log dirs belong to cluster %s, but ZooKeeper's cluster is %s: refusing to mix them (point zookeeper.connect at the right cluster, or use empty log dirs)",
		       path, b->cluster_id, id);
		return -1;
	}
	snprintf(b->cluster_id, sizeof(b->cluster_id), "%s", id);
	if (write_meta(b, path))
		return -1;
	kb_info("joined cluster %s: written to %s", id, path);
	return 0;
}
