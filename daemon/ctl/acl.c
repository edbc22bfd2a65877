// SPDX-License-Identifier: GPL-2.0
/*
 * kbrokerctl acl: the broker's ACLs over its control socket, for
 * operators on the broker host (root), next to the Kafka ACL APIs that
 * clients use.
 *   acl list
 *   acl add|remove (--allow|--deny) --principal P [--host H]
 *       --operation OP (--topic T|--group G|--cluster|--transactional-id X)
 *       [--prefixed]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: kbrokerctl acl list\n"
		"       kbrokerctl acl add|remove --allow|--deny --principal User:NAME [--host IP]\n"
		"                  --operation OP (--topic T | --group G | --cluster | --transactional-id X)\n"
		"                  [--prefixed]\n"
		"OP: all read write create delete alter describe cluster-action\n"
		"    describe-configs alter-configs idempotent-write\n");
}

/* The daemon's text form: one field, bytes outside '!'..'~' and '%' as
 * %XX (auth/auth.h, kb_acl_format). */
static void put(FILE *f, const char *s)
{
	fputc(' ', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > ' ' && c <= '~' && c != '%')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

static int run(const char *cmd)
{
	char *reply = NULL, *last;
	size_t n;
	int ret = kbctl_daemon(cmd, &reply);

	if (ret) {
		kbctl_daemon_error(ret);
		return 1;
	}
	fputs(reply ?: "", stdout);
	/* The last line says ok or error. */
	n = reply ? strlen(reply) : 0;
	while (n && reply[n - 1] == '\n')
		reply[--n] = '\0';
	last = reply ? strrchr(reply, '\n') : NULL;
	last = last ? last + 1 : reply;
	ret = last && !strncmp(last, "ok", 2) ? 0 : 1;
	free(reply);
	return ret;
}

int kbctl_acl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "allow", no_argument, NULL, 'a' },
		{ "deny", no_argument, NULL, 'd' },
		{ "principal", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "operation", required_argument, NULL, 'o' },
		{ "topic", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, 'g' },
		{ "cluster", no_argument, NULL, 'c' },
		{ "transactional-id", required_argument, NULL, 'x' },
		{ "prefixed", no_argument, NULL, 'P' },
		{ 0 }
	};
	const char *perm = NULL, *principal = NULL, *host = "*", *op = NULL;
	const char *res = NULL, *name = NULL, *pat = "LITERAL";
	char *cmd = NULL;
	size_t len = 0;
	FILE *f;
	int c, ret;

	if (argc < 2) {
		usage();
		return 2;
	}
	if (!strcmp(argv[1], "list") && argc == 2)
		return run("acl list\n");
	if (strcmp(argv[1], "add") && strcmp(argv[1], "remove")) {
		usage();
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			perm = "ALLOW";
			break;
		case 'd':
			perm = "DENY";
			break;
		case 'p':
			principal = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'o':
			op = optarg;
			break;
		case 't':
			res = "TOPIC";
			name = optarg;
			break;
		case 'g':
			res = "GROUP";
			name = optarg;
			break;
		case 'c':
			res = "CLUSTER";
			name = "kafka-cluster";
			break;
		case 'x':
			res = "TRANSACTIONAL_ID";
			name = optarg;
			break;
		case 'P':
			pat = "PREFIXED";
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc || !perm || !principal || !op || !res ||
	    !*principal || !*host || !*op || !*name) {
		usage();
		return 2;
	}
	f = open_memstream(&cmd, &len);
	if (!f)
		return 1;
	fprintf(f, "acl %s", argv[1]);
	put(f, res);
	put(f, pat);
	put(f, name);
	put(f, principal);
	put(f, host);
	put(f, op);
	put(f, perm);
	fputc('\n', f);
	fclose(f);
	ret = run(cmd);
	free(cmd);
	return ret;
}
