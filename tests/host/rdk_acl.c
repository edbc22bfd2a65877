// SPDX-License-Identifier: GPL-2.0
/*
 * The ACL half of the admin client (librdkafka's AdminClient, which
 * confluent-kafka wraps; Debian's python3-confluent-kafka 1.7 predates its
 * ACL calls), for tests/host/py_acl.py:
 *
 *   rdk_acl -b HOST:PORT [-X key=value]... create|describe|delete \
 *           RES NAME PATTERN PRINCIPAL HOST OPERATION PERMISSION
 *
 * Codes by Kafka name (TOPIC, LITERAL, READ, ALLOW; ANY in filters, "-"
 * for a null string).  Prints one line per binding created, described or
 * deleted, or "error CODE_NAME: message"; exits 0 only without errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static int code(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcasecmp(s, names[i]))
			return i;
	return atoi(s);		/* numbers pass through (bad-input tests) */
}

static const char *const res_n[] = { "UNKNOWN", "ANY", "TOPIC", "GROUP",
				     "CLUSTER", "TRANSACTIONAL_ID" };
static const char *const pat_n[] = { "UNKNOWN", "ANY", "MATCH", "LITERAL",
				     "PREFIXED" };
static const char *const op_n[] = { "UNKNOWN", "ANY", "ALL", "READ", "WRITE",
				    "CREATE", "DELETE", "ALTER", "DESCRIBE",
				    "CLUSTER_ACTION", "DESCRIBE_CONFIGS",
				    "ALTER_CONFIGS", "IDEMPOTENT_WRITE" };
static const char *const perm_n[] = { "UNKNOWN", "ANY", "DENY", "ALLOW" };
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *nm(const char *const *t, int n, int v)
{
	return v >= 0 && v < n ? t[v] : "?";
}

static void print_acl(const rd_kafka_AclBinding_t *a)
{
	printf("%s %s %s %s %s %s %s\n",
	       nm(res_n, N(res_n), rd_kafka_AclBinding_restype(a)),
	       nm(pat_n, N(pat_n), rd_kafka_AclBinding_resource_pattern_type(a)),
	       rd_kafka_AclBinding_name(a), rd_kafka_AclBinding_principal(a),
	       rd_kafka_AclBinding_host(a),
	       nm(op_n, N(op_n), rd_kafka_AclBinding_operation(a)),
	       nm(perm_n, N(perm_n), rd_kafka_AclBinding_permission_type(a)));
}

static int error_out(const rd_kafka_error_t *e)
{
	if (!e)
		return 0;
	printf("error %s: %s\n", rd_kafka_err2name(rd_kafka_error_code(e)),
	       rd_kafka_error_string(e));
	return 1;
}

int main(int argc, char **argv)
{
	char errstr[512], *arg[7];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	rd_kafka_AclBinding_t *b;
	rd_kafka_t *rk;
	size_t i, n;
	int c, bad = 0;

	while ((c = getopt(argc, argv, "b:X:")) != -1) {
		char *eq = optarg ? strchr(optarg, '=') : NULL;

		if (c == 'b')
			rd_kafka_conf_set(conf, "bootstrap.servers", optarg,
					  errstr, sizeof(errstr));
		else if (c == 'X' && eq) {
			*eq = '\0';
			if (rd_kafka_conf_set(conf, optarg, eq + 1, errstr,
					      sizeof(errstr))) {
				fprintf(stderr, "%s\n", errstr);
				return 2;
			}
		} else {
			return 2;
		}
	}
	if (argc - optind != 8) {
		fprintf(stderr, "usage: rdk_acl -b BROKERS [-X k=v]... create|describe|delete RES NAME PATTERN PRINCIPAL HOST OP PERM\n");
		return 2;
	}
	for (i = 0; i < 7; i++)
		arg[i] = strcmp(argv[optind + 1 + i], "-") ?
			 argv[optind + 1 + i] : NULL;
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "%s\n", errstr);
		return 2;
	}
	q = rd_kafka_queue_new(rk);
	if (!strcmp(argv[optind], "create"))
		b = rd_kafka_AclBinding_new(
			code(arg[0], res_n, N(res_n)), arg[1],
			code(arg[2], pat_n, N(pat_n)), arg[3], arg[4],
			code(arg[5], op_n, N(op_n)),
			code(arg[6], perm_n, N(perm_n)), errstr, sizeof(errstr));
	else
		b = rd_kafka_AclBindingFilter_new(
			code(arg[0], res_n, N(res_n)), arg[1],
			code(arg[2], pat_n, N(pat_n)), arg[3], arg[4],
			code(arg[5], op_n, N(op_n)),
			code(arg[6], perm_n, N(perm_n)), errstr, sizeof(errstr));
	if (!b) {
		printf("error local: %s\n", errstr);
		return 1;
	}
	if (!strcmp(argv[optind], "create"))
		rd_kafka_CreateAcls(rk, &b, 1, NULL, q);
	else if (!strcmp(argv[optind], "describe"))
		rd_kafka_DescribeAcls(rk, b, NULL, q);
	else
		rd_kafka_DeleteAcls(rk, &b, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	if (!ev) {
		printf("error timeout\n");
		return 1;
	}
	if (rd_kafka_event_error(ev)) {
		printf("error %s: %s\n", rd_kafka_err2name(rd_kafka_event_error(ev)),
		       rd_kafka_event_error_string(ev));
		bad = 1;
	} else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_CREATEACLS_RESULT) {
		const rd_kafka_acl_result_t **r = rd_kafka_CreateAcls_result_acls(
			rd_kafka_event_CreateAcls_result(ev), &n);

		for (i = 0; i < n; i++)
			bad |= error_out(rd_kafka_acl_result_error(r[i]));
		if (!bad)
			printf("created\n");
	} else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DESCRIBEACLS_RESULT) {
		const rd_kafka_AclBinding_t **a = rd_kafka_DescribeAcls_result_acls(
			rd_kafka_event_DescribeAcls_result(ev), &n);

		for (i = 0; i < n; i++)
			print_acl(a[i]);
	} else {
		const rd_kafka_DeleteAcls_result_response_t **r =
			rd_kafka_DeleteAcls_result_responses(
				rd_kafka_event_DeleteAcls_result(ev), &n);

		for (i = 0; i < n; i++) {
			const rd_kafka_AclBinding_t **a;
			size_t k, m;

			bad |= error_out(rd_kafka_DeleteAcls_result_response_error(r[i]));
			a = rd_kafka_DeleteAcls_result_response_matching_acls(r[i], &m);
			for (k = 0; k < m; k++) {
				printf("deleted ");
				print_acl(a[k]);
			}
		}
	}
	rd_kafka_event_destroy(ev);
	rd_kafka_AclBinding_destroy(b);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return bad;
}
