// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl status [--json]: what the module says about itself (netlink,
 * so the same CAP_NET_ADMIN rule as every command), its listeners and
 * volumes (sysfs), then what the daemon says over its control socket
 * (state, certificates).  Either side may be missing: the module on a
 * build host, the daemon when not running.
 * Exit: 0 when the module or the daemon answered, 1 when neither did,
 * 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/kbnl.h"
#include "ctl/ctl.h"

#define SYSFS		"/sys/kernel/kbroker"
#define MAX_ROWS	128
#define MAX_COLS	12
#define CELL		96

/* A table printed with every column as wide as its widest cell. */
struct table {
	int ncols, nrows;
	char cell[MAX_ROWS + 1][MAX_COLS][CELL];
};

static void table_row(struct table *t, const char *const *cells)
{
	int i;

	if (t->nrows > MAX_ROWS)
		return;
	for (i = 0; i < t->ncols; i++)
		snprintf(t->cell[t->nrows][i], CELL, "%s", cells[i] ? cells[i] : "-");
	t->nrows++;
}

static void table_print(const struct table *t)
{
	int w[MAX_COLS] = { 0 };
	int r, c, len;

	if (t->nrows < 2)
		return;
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			len = (int)strlen(t->cell[r][c]);
			if (len > w[c])
				w[c] = len;
		}
	printf("\n");
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			if (c == t->ncols - 1)
				printf("%s", t->cell[r][c]);
			else
				printf("%-*s  ", w[c], t->cell[r][c]);
		}
		printf("\n");
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void sysfs_read(const char *dir, const char *name, const char *file,
		       char *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), SYSFS "/%s/%s/%s", dir, name, file);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* Sorted entries of SYSFS/dir; returns how many (at most max). */
static int sysfs_list(const char *dir, char names[][CELL], int max)
{
	char path[256];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), SYSFS "/%s", dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		size_t len = strlen(de->d_name);

		/* Listener names and UUIDs are far shorter than a cell. */
		if (de->d_name[0] == '.' || len >= CELL)
			continue;
		memcpy(names[n++], de->d_name, len + 1);
	}
	closedir(d);
	qsort(names, (size_t)n, CELL, (int (*)(const void *, const void *))strcmp);
	return n;
}

static const char *const lcounters[] = { "connections", "tls", "plaintext",
	"ktls_tx", "ktls_rx", "userspace_tls", "rejected", "tracked" };
#define N_LCOUNTERS (sizeof(lcounters) / sizeof(lcounters[0]))

struct listener {
	char name[CELL], port[16], policy[32];
	unsigned long long c[N_LCOUNTERS];
};

/* The kTLS share: TLS connections whose records the kernel sends. */
static void ktls_share(const struct listener *l, char *buf, size_t len)
{
	if (!l->c[1])
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%llu%%", l->c[3] * 100 / l->c[1]);
}

static int read_listeners(struct listener *ls, int max)
{
	static char names[MAX_ROWS][CELL];
	char buf[64];
	int i, n;
	size_t c;

	n = sysfs_list("listeners", names, max);
	for (i = 0; i < n; i++) {
		memcpy(ls[i].name, names[i], CELL);
		sysfs_read("listeners", names[i], "port", ls[i].port,
			   sizeof(ls[i].port));
		sysfs_read("listeners", names[i], "policy", ls[i].policy,
			   sizeof(ls[i].policy));
		for (c = 0; c < N_LCOUNTERS; c++) {
			sysfs_read("listeners", names[i], lcounters[c], buf,
				   sizeof(buf));
			ls[i].c[c] = strtoull(buf, NULL, 10);
		}
	}
	return n;
}

static const char *const vfiles[] = { "label", "state", "cipher",
	"master_key" };
#define N_VFILES (sizeof(vfiles) / sizeof(vfiles[0]))

struct volume {
	char uuid[CELL], f[N_VFILES][CELL];
};

static int read_volumes(struct volume *vs, int max)
{
	static char names[MAX_ROWS][CELL];
	int i, n;
	size_t f;

	n = sysfs_list("volumes", names, max);
	for (i = 0; i < n; i++) {
		memcpy(vs[i].uuid, names[i], CELL);
		for (f = 0; f < N_VFILES; f++)
			sysfs_read("volumes", names[i], vfiles[f], vs[i].f[f],
				   CELL);
	}
	return n;
}

/* One certificate, from the daemon's "listener NAME:" block. */
struct cert {
	char listener[CELL], subject[CELL], issuer[CELL], expires[CELL];
	char sha256[CELL], keystore[CELL];
	long days;
};

struct daemon_status {
	char state[32], last_rotation[256];
	int ncerts;
	struct cert certs[MAX_ROWS];
	/* Lines not understood, shown as they came. */
	char *other;
	size_t other_len;
};

static void field(char *dst, const char *line, const char *key)
{
	size_t k = strlen(key);

	if (!strncmp(line, key, k)) {
		line += k;
		while (*line == ' ')
			line++;
		snprintf(dst, CELL, "%s", line);
	}
}

static void parse_daemon(char *r, struct daemon_status *d)
{
	struct cert *c = NULL;
	FILE *o = open_memstream(&d->other, &d->other_len);
	char *line, *save = NULL;

	for (line = strtok_r(r, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "ok"))
			continue;
		if (!strncmp(line, "state: ", 7)) {
			snprintf(d->state, sizeof(d->state), "%s", line + 7);
		} else if (!strncmp(line, "last rotation: ", 15)) {
			snprintf(d->last_rotation, sizeof(d->last_rotation),
				 "%s", line + 15);
		} else if (!strncmp(line, "listener ", 9) &&
			   d->ncerts < MAX_ROWS) {
			c = &d->certs[d->ncerts++];
			snprintf(c->listener, CELL, "%s", line + 9);
			c->listener[strcspn(c->listener, ":")] = 0;
			c->days = 0;
		} else if (c && !strncmp(line, "  ", 2)) {
			line += 2;
			field(c->subject, line, "subject:");
			field(c->issuer, line, "issuer:");
			field(c->sha256, line, "sha256:");
			field(c->keystore, line, "keystore:");
			if (!strncmp(line, "expires:", 8)) {
				char *p;

				field(c->expires, line, "expires:");
				p = strstr(c->expires, " (");
				if (p) {
					c->days = strtol(p + 2, NULL, 10);
					*p = 0;
				}
			}
		} else if (o) {
			fprintf(o, "%s\n", line);
		}
	}
	if (o)
		fclose(o);
}

static void print_json(const struct kbnl_status *st, int mod_ok,
		       const struct listener *ls, int nl,
		       const struct volume *vs, int nv,
		       const struct daemon_status *d, int daemon_ok)
{
	size_t c;
	int i;

	printf("{\n  \"module\": {\"loaded\": %s", mod_ok ? "true" : "false");
	if (mod_ok) {
		printf(", \"version\": ");
		json_str(st->version);
		printf(", \"state\": ");
		json_str(kbnl_state_name(st->state));
	}
	printf("},\n  \"listeners\": [");
	for (i = 0; i < nl; i++) {
		printf("%s\n    {\"name\": ", i ? "," : "");
		json_str(ls[i].name);
		printf(", \"port\": %s, \"policy\": ",
		       *ls[i].port ? ls[i].port : "null");
		json_str(ls[i].policy);
		for (c = 0; c < N_LCOUNTERS; c++)
			printf(", \"%s\": %llu", lcounters[c], ls[i].c[c]);
		if (ls[i].c[1])
			printf(", \"ktls_share\": %.4f",
			       (double)ls[i].c[3] / (double)ls[i].c[1]);
		else
			printf(", \"ktls_share\": null");
		printf("}");
	}
	printf("%s],\n  \"volumes\": [", nl ? "\n  " : "");
	for (i = 0; i < nv; i++) {
		printf("%s\n    {\"uuid\": ", i ? "," : "");
		json_str(vs[i].uuid);
		for (c = 0; c < N_VFILES; c++) {
			printf(", \"%s\": ", vfiles[c]);
			json_str(vs[i].f[c]);
		}
		printf("}");
	}
	printf("%s],\n  \"daemon\": {\"reachable\": %s, \"socket\": ",
	       nv ? "\n  " : "", daemon_ok ? "true" : "false");
	json_str(kbctl_socket_path());
	if (daemon_ok) {
		printf(", \"state\": ");
		json_str(d->state);
		printf(", \"last_rotation\": ");
		json_str(d->last_rotation);
		printf(", \"certificates\": [");
		for (i = 0; i < d->ncerts; i++) {
			const struct cert *ce = &d->certs[i];

			printf("%s\n    {\"listener\": ", i ? "," : "");
			json_str(ce->listener);
			printf(", \"subject\": ");
			json_str(ce->subject);
			printf(", \"issuer\": ");
			json_str(ce->issuer);
			printf(", \"expires\": ");
			json_str(ce->expires);
			printf(", \"days_left\": %ld, \"sha256\": ", ce->days);
			json_str(ce->sha256);
			printf(", \"keystore\": ");
			json_str(ce->keystore);
			printf("}");
		}
		printf("%s]", d->ncerts ? "\n  " : "");
	}
	printf("}\n}\n");
}

int kbctl_status(int argc, char **argv)
{
	static struct listener ls[MAX_ROWS];
	static struct volume vs[MAX_ROWS];
	static struct daemon_status d;
	static struct table t;
	struct kbnl_status st;
	struct kbnl *nl;
	char *r = NULL, buf[CELL], share[16];
	int ret, dret, json = 0, nls = 0, nvs = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			fprintf(stderr, "usage: kbrokerctl status [--json]\n");
			return 2;
		}
	}
	ret = kbnl_open(&nl);
	if (!ret) {
		ret = kbnl_get_status(nl, &st);
		kbnl_close(nl);
	}
	dret = kbctl_daemon("status\n", &r);
	if (dret || !r) {
		dret = dret ? dret : -EIO;
		free(r);
		r = NULL;
	}
	if (ret && (ret != -ENOENT || dret)) {
		kbctl_nl_error(ret);
		if (dret)
			return 1;
	}
	memset(&d, 0, sizeof(d));
	if (r)
		parse_daemon(r, &d);
	if (!ret) {
		nls = read_listeners(ls, MAX_ROWS);
		nvs = read_volumes(vs, MAX_ROWS);
	}
	if (json) {
		print_json(&st, !ret, ls, nls, vs, nvs, &d, !dret);
		goto out;
	}

	if (!ret) {
		printf("module:  kbroker %s\n", st.version);
		printf("state:   %s\n", kbnl_state_name(st.state));
	} else if (!dret) {
		printf("state:   %s (kept by kbrokerd: no module)\n", d.state);
	}
	if (dret && ret != -ENOENT)
		printf("daemon:  not reachable at %s\n", kbctl_socket_path());
	else if (!dret)
		printf("daemon:  kbrokerd at %s\n", kbctl_socket_path());

	t.ncols = 11;
	t.nrows = 0;
	table_row(&t, (const char *const[]){ "LISTENER", "PORT", "POLICY",
		  "CONNS", "TLS", "PLAIN", "KTLS_TX", "KTLS_RX", "KTLS_SHARE",
		  "REJECTED", "TRACKED" });
	for (i = 0; i < nls; i++) {
		char c[8][24];
		int k;

		for (k = 0; k < 8; k++)
			snprintf(c[k], sizeof(c[k]), "%llu", ls[i].c[k]);
		ktls_share(&ls[i], share, sizeof(share));
		table_row(&t, (const char *const[]){ ls[i].name, ls[i].port,
			  ls[i].policy, c[0], c[1], c[2], c[3], c[4], share,
			  c[6], c[7] });
	}
	table_print(&t);

	t.ncols = 5;
	t.nrows = 0;
	table_row(&t, (const char *const[]){ "VOLUME", "STATE", "CIPHER",
		  "MASTER_KEY", "UUID" });
	for (i = 0; i < nvs; i++)
		table_row(&t, (const char *const[]){ vs[i].f[0], vs[i].f[1],
			  vs[i].f[2], vs[i].f[3], vs[i].uuid });
	table_print(&t);

	t.ncols = 5;
	t.nrows = 0;
	table_row(&t, (const char *const[]){ "CERTIFICATE", "EXPIRES",
		  "DAYS_LEFT", "SUBJECT", "ISSUER" });
	for (i = 0; i < d.ncerts; i++) {
		snprintf(buf, sizeof(buf), "%ld", d.certs[i].days);
		table_row(&t, (const char *const[]){ d.certs[i].listener,
			  d.certs[i].expires, buf, d.certs[i].subject,
			  d.certs[i].issuer });
	}
	table_print(&t);

	/* Details only the daemon knows, in its own words. */
	if (d.ncerts || *d.last_rotation)
		printf("\n");
	for (i = 0; i < d.ncerts; i++)
		printf("listener %s:\n  subject:   %s\n  issuer:    %s\n  expires:   %s (%ld days left)\n  sha256:    %s\n  keystore:  %s\n",
		       d.certs[i].listener, d.certs[i].subject,
		       d.certs[i].issuer, d.certs[i].expires, d.certs[i].days,
		       d.certs[i].sha256, d.certs[i].keystore);
	if (*d.last_rotation)
		printf("last rotation: %s\n", d.last_rotation);
	if (d.other && *d.other)
		printf("%s", d.other);
out:
	free(d.other);
	free(r);
	return ret && dret ? 1 : 0;
}
