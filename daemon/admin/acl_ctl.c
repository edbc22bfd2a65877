// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket's "acl" command (kbrokerctl acl): list, add and
 * remove bindings in the text form of auth/auth.h, through the same
 * store, checks and audit lines as the Kafka ACL APIs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/acl_ctl.h"
#include "auth/auth.h"
#include "common/log.h"

static void list_one(const struct kb_acl *a, void *arg)
{
	char line[3 * KB_PRINCIPAL_MAX + 64];

	if (!kb_acl_format(a, line, sizeof(line)))
		fprintf(arg, "%s\n", line);
}

void kb_ctl_acl(int fd, char *arg, void (*reply)(int fd, const char *text))
{
	struct kb_acl_filter all = { KB_RES_ANY, KB_PAT_ANY, KB_OP_ANY,
				     KB_PERM_ANY, NULL, NULL, NULL };
	char *sub = arg, *rest = NULL, *text = NULL, out[300];
	struct kb_acl a;
	const char *why;
	int16_t err;
	size_t len = 0, n;
	FILE *f;

	if (!kb_auth_enabled()) {
		reply(fd, "error: the authorizer is off (authorizer=acl in the configuration)\n");
		return;
	}
	if (sub) {
		rest = strchr(sub, ' ');
		if (rest)
			*rest++ = '\0';
	}
	if (sub && !strcmp(sub, "list") && !rest) {
		f = open_memstream(&text, &len);
		if (!f) {
			reply(fd, "error: out of memory\n");
			return;
		}
		n = kb_acl_describe(&all, list_one, f);
		fprintf(f, "ok %zu ACL(s)\n", n);
		fclose(f);
		reply(fd, text);
		free(text);
		return;
	}
	if (!sub || !rest || (strcmp(sub, "add") && strcmp(sub, "remove"))) {
		reply(fd, "error: acl list | add BINDING | remove BINDING\n");
		return;
	}
	if (kb_acl_parse(rest, &a)) {
		reply(fd, "error: not a valid ACL binding (RES PATTERN NAME PRINCIPAL HOST OP PERM)\n");
		return;
	}
	if (!strcmp(sub, "add")) {
		kb_info("ACL add asked for by kbrokerctl");
		kb_acl_create(&a, 1, &err, &why);
		snprintf(out, sizeof(out), err ? "error: %s\n" : "ok added\n",
			 why);
	} else {
		struct kb_acl_filter fl = { a.res, a.pat, a.op, a.perm, a.name,
					    a.principal, a.host };

		n = kb_acl_describe(&fl, NULL, NULL);
		kb_info("ACL remove asked for by kbrokerctl");
		if (!n)
			snprintf(out, sizeof(out), "error: no such ACL\n");
		else if (kb_acl_delete(&fl, 1, NULL, NULL))
			snprintf(out, sizeof(out),
				 "error: the ACLs could not be stored\n");
		else
			snprintf(out, sizeof(out), "ok removed %zu\n", n);
	}
	kb_acl_clear(&a);
	reply(fd, out);
}
