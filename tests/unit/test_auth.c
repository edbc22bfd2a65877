// SPDX-License-Identifier: GPL-2.0
/*
 * The authorizer: Kafka's decision rules, principal mapping rules, the
 * text form and file store of bindings, certificate subjects with odd
 * characters, and the table of what every served API asks.
 */
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "common/config.h"
#include "handlers/api.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "tap.h"

static char dir[] = "/tmp/kbauth.XXXXXX";

static int setup(const char *extra)
{
	struct kb_config cfg;
	char text[4096];
	int ret;

	snprintf(text, sizeof(text),
		 "log.dirs=%s/logs\nat.rest.encryption=off\nat.rest.state.dir=%s\n"
		 "authorizer=acl\n%s", dir, dir, extra);
	if (kb_config_parse(text, "test", &cfg))
		return -1;
	ret = kb_auth_init(&cfg, NULL);
	kb_config_free(&cfg);
	return ret;
}

static void add(const char *line)
{
	struct kb_acl a;
	const char *why;
	int16_t err = -2;

	if (kb_acl_parse(line, &a)) {
		ok(0, "parse %s", line);
		return;
	}
	kb_acl_create(&a, 1, &err, &why);
	kb_acl_clear(&a);
	if (err)
		ok(0, "create %s: %s", line, why);
}

static bool may(const char *who, const char *host, int8_t op, int8_t res,
		const char *name)
{
	struct kb_auth_who w = { who, host };

	return kb_authorize(&w, op, res, name, true);
}

static void test_decisions(void)
{
	ok(setup("super.users=User:admin;User:CN=ops,O=corp\n") == 0,
	   "authorizer starts with two super users");
	ok(kb_auth_enabled(), "and is on");
	ok(!may("User:alice", "1.2.3.4", KB_OP_READ, KB_RES_TOPIC, "t"),
	   "no ACL on a resource: denied (allow.everyone.if.no.acl.found=false)");
	ok(may("User:admin", "1.2.3.4", KB_OP_DELETE, KB_RES_TOPIC, "t"),
	   "a super user may do anything");
	ok(may("User:CN=ops,O=corp", NULL, KB_OP_ALTER, KB_RES_CLUSTER, NULL),
	   "a super user DN with a comma (semicolon list)");

	add("TOPIC LITERAL orders User:alice * WRITE ALLOW");
	add("TOPIC PREFIXED logs- User:bob * READ ALLOW");
	add("TOPIC LITERAL * User:carol * DESCRIBE ALLOW");
	add("GROUP LITERAL billing User:bob 10.0.0.1 READ ALLOW");
	add("TOPIC LITERAL orders User:* * ALTER_CONFIGS ALLOW");
	add("TOPIC LITERAL secret User:* * ALL ALLOW");
	add("TOPIC LITERAL secret User:mallory * READ DENY");
	add("TOPIC PREFIXED logs-private User:bob * ALL DENY");

	ok(may("User:alice", "h", KB_OP_WRITE, KB_RES_TOPIC, "orders"),
	   "literal ALLOW WRITE");
	ok(!may("User:alice", "h", KB_OP_READ, KB_RES_TOPIC, "orders"),
	   "WRITE does not give READ");
	ok(may("User:alice", "h", KB_OP_DESCRIBE, KB_RES_TOPIC, "orders"),
	   "WRITE implies DESCRIBE");
	ok(!may("User:alice", "h", KB_OP_WRITE, KB_RES_TOPIC, "orders2"),
	   "literal is not a prefix");
	ok(may("User:bob", "h", KB_OP_READ, KB_RES_TOPIC, "logs-app"),
	   "prefixed ALLOW");
	ok(!may("User:bob", "h", KB_OP_READ, KB_RES_TOPIC, "logs"),
	   "a shorter name does not match the prefix");
	ok(!may("User:bob", "h", KB_OP_READ, KB_RES_TOPIC, "logs-private-x"),
	   "a prefixed DENY ALL wins over a prefixed ALLOW");
	ok(may("User:carol", "h", KB_OP_DESCRIBE, KB_RES_TOPIC, "anything"),
	   "the wildcard resource * matches any name");
	ok(!may("User:carol", "h", KB_OP_READ, KB_RES_TOPIC, "anything"),
	   "but only for its operation");
	ok(may("User:bob", "10.0.0.1", KB_OP_READ, KB_RES_GROUP, "billing"),
	   "host-bound ALLOW from that host");
	ok(!may("User:bob", "10.0.0.2", KB_OP_READ, KB_RES_GROUP, "billing"),
	   "not from another host");
	ok(may("User:zed", "h", KB_OP_DESCRIBE_CONFIGS, KB_RES_TOPIC, "orders"),
	   "User:* ALTER_CONFIGS implies DESCRIBE_CONFIGS");
	ok(may("User:zed", "h", KB_OP_READ, KB_RES_TOPIC, "secret"),
	   "ALL allows READ");
	ok(!may("User:mallory", "h", KB_OP_READ, KB_RES_TOPIC, "secret"),
	   "a DENY for the principal wins over User:* ALL");
	ok(may("User:mallory", "h", KB_OP_DESCRIBE, KB_RES_TOPIC, "secret"),
	   "a DENY READ does not deny DESCRIBE (implication is for ALLOW)");
	ok(!may("User:alice", "h", KB_OP_READ, KB_RES_GROUP, "orders"),
	   "a topic ACL says nothing about a group of the same name");
	ok(!may(NULL, NULL, KB_OP_READ, KB_RES_TOPIC, "orders"),
	   "no principal: ANONYMOUS, denied");
	{
		struct kb_auth_who w = { "User:alice", "h" };

		ok(kb_authorize_any(&w, KB_OP_WRITE, KB_RES_TOPIC),
		   "alice may WRITE some topic (idempotent producer id)");
		ok(!kb_authorize_any(&w, KB_OP_READ, KB_RES_GROUP),
		   "but READ no group");
	}
	kb_auth_fini();
}

static void count_one(const struct kb_acl *a, void *arg)
{
	(void)a;
	(*(int *)arg)++;
}

static void test_store(void)
{
	struct kb_acl_filter all = { KB_RES_ANY, KB_PAT_ANY, KB_OP_ANY,
				     KB_PERM_ANY, NULL, NULL, NULL };
	struct kb_acl_filter f = all;
	struct kb_acl bad = { KB_RES_CLUSTER, KB_PAT_LITERAL, KB_OP_ALTER,
			      KB_PERM_ALLOW, "other", "User:x", "*" };
	const char *why;
	int16_t err;
	int n = 0;

	ok(setup("") == 0, "authorizer restarts on the same state dir");
	ok(kb_acl_describe(&all, NULL, NULL) == 8,
	   "the 8 bindings were stored and reloaded");
	add("TOPIC LITERAL orders User:alice * WRITE ALLOW");
	ok(kb_acl_describe(&all, NULL, NULL) == 8, "a duplicate is not stored twice");
	kb_acl_create(&bad, 1, &err, &why);
	ok(err == KB_ERR_INVALID_REQUEST && why && strstr(why, "kafka-cluster"),
	   "CLUSTER named other than kafka-cluster: INVALID_REQUEST");
	ok(kb_acl_describe(&all, NULL, NULL) == 8, "nothing stored");

	f.pat = KB_PAT_MATCH;
	f.res = KB_RES_TOPIC;
	f.name = "logs-private-1";
	kb_acl_describe(&f, count_one, &n);
	ok(n == 3, "MATCH finds the bindings that apply to a name (2 prefixed, 0 literal, 1 wildcard: %d)", n);
	f = all;
	f.principal = "User:bob";
	ok(kb_acl_delete(&f, 1, NULL, NULL) == 0, "delete bob's bindings");
	ok(kb_acl_describe(&all, NULL, NULL) == 5, "three are gone");
	kb_auth_fini();
	ok(setup("") == 0 && kb_acl_describe(&all, NULL, NULL) == 5,
	   "the removal survives a restart");
	kb_auth_fini();
	{
		char p[600];
		FILE *fp;

		snprintf(p, sizeof(p), "%s/acls", dir);
		fp = fopen(p, "a");
		fputs("TOPIC LITERAL x User:y * NOT_AN_OP ALLOW\n", fp);
		fclose(fp);
		ok(setup("") == -1,
		   "a store with a line that does not parse stops the start");
		kb_auth_fini();
	}
}

static void test_text(void)
{
	struct kb_acl a = { KB_RES_TXN_ID, KB_PAT_PREFIXED, KB_OP_WRITE,
			    KB_PERM_DENY, "tx id%\t\n", "User:CN=a b,O=\"x\"",
			    "::1" }, b;
	char line[512];

	ok(kb_acl_format(&a, line, sizeof(line)) == 0 && !strchr(line, '\n') &&
	   !strchr(line, '\t'), "text form: one line (%s)", line);
	ok(kb_acl_parse(line, &b) == 0 && !strcmp(b.name, a.name) &&
	   !strcmp(b.principal, a.principal) && b.res == a.res &&
	   b.pat == a.pat && b.op == a.op && b.perm == a.perm,
	   "and back, spaces, %% and control characters kept");
	kb_acl_clear(&b);
	ok(kb_acl_parse("TOPIC LITERAL a%00b User:x * READ ALLOW", &b) == -1,
	   "an encoded NUL is refused");
	ok(kb_acl_parse("TOPIC LITERAL a User:x * READ", &b) == -1,
	   "six fields are refused");
	ok(kb_acl_parse("TOPIC LITERAL a User:x * READ ALLOW extra", &b) == -1,
	   "eight fields are refused");
	ok(kb_acl_parse("TOPIC ANY a User:x * READ ALLOW", &b) == -1,
	   "a pattern type ANY cannot be stored");
	ok(kb_acl_parse("topic prefixed a User:x * describe-configs allow", &b) == 0 &&
	   b.op == KB_OP_DESCRIBE_CONFIGS, "names in any case, - for _");
	kb_acl_clear(&b);
}

static void test_mapping(void)
{
	struct {
		const char *rules, *dn, *want;
	} c[] = {
		{ "DEFAULT", "CN=alice,OU=eng,O=corp", "CN=alice,OU=eng,O=corp" },
		{ "RULE:^CN=([^,]+),OU=eng,O=corp$/$1/,DEFAULT",
		  "CN=alice,OU=eng,O=corp", "alice" },
		{ "RULE:^CN=([^,]+),OU=eng,O=corp$/$1/,DEFAULT",
		  "CN=alice,OU=ops,O=corp", "CN=alice,OU=ops,O=corp" },
		/* Kafka's documented example, with a lazy group. */
		{ "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT",
		  "CN=kafka1,OU=ServiceUsers,O=Org,C=US", "kafka1" },
		{ "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT",
		  "CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Santa Clara,ST=CA,C=US",
		  "duke@javasoft" },
		{ "RULE:^CN=(.*)$/$1/U", "CN=bob", "BOB" },
		{ "RULE:^CN=(a)(b)$/$2\\/$1/", "CN=ab", "b/a" },
	};
	static const char *const bad[] = {
		"RULE:^CN=(.*$/$1/", "RULE:abc", "RULE:a/b/X", "NOPE", "RULE:a/b",
	};
	char out[256], why[200];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct kb_pmap *m = kb_pmap_parse(c[i].rules, why, sizeof(why));
		int r = m ? kb_pmap_apply(m, c[i].dn, out, sizeof(out)) : -2;

		ok(r == 0 && !strcmp(out, c[i].want), "mapping %s -> %s (%s)",
		   c[i].dn, c[i].want, r ? why : out);
		kb_pmap_free(m);
	}
	{
		struct kb_pmap *m = kb_pmap_parse("RULE:^CN=x$/y/", why,
						  sizeof(why));

		ok(m && kb_pmap_apply(m, "CN=z", out, sizeof(out)) == -1,
		   "no rule matches: an error (Kafka fails the authentication)");
		kb_pmap_free(m);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kb_pmap *m = kb_pmap_parse(bad[i], why, sizeof(why));

		ok(!m, "bad rule %s refused: %s", bad[i], why);
		kb_pmap_free(m);
	}
}

static void test_cert_subjects(void)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	static const unsigned char odd[] = "a,b+c\"d\\e<f>g;h=i #j \x01k \xc3\xa9";
	char out[KB_PRINCIPAL_MAX];
	char big[64];

	ok(kb_principal_of_cert(NULL, out, sizeof(out)) == 0 &&
	   !strcmp(out, "User:ANONYMOUS"), "no certificate: User:ANONYMOUS");
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
				   (const unsigned char *)"corp", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, odd, -1, -1, 0);
	ok(kb_principal_of_cert(x, out, sizeof(out)) == 0 &&
	   !strcmp(out, "User:CN=a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h=i #j \\01k \xc3\xa9,O=corp"),
	   "odd characters are escaped as RFC 2253 says, most specific first (%s)",
	   out);
	X509_free(x);

	x = X509_new();
	memset(big, 'x', 60);
	big[60] = '\0';
	for (int i = 0; i < 30; i++)
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "OU",
					   MBSTRING_UTF8, (unsigned char *)big,
					   -1, -1, 0);
	ok(kb_principal_of_cert(x, out, sizeof(out)) == -1,
	   "a subject too long for a principal is refused (%s)", out);
	X509_free(x);
}

/* No served API acts without an authorization decision on record. */
static void test_api_table(void)
{
	int k, served = 0, missing = 0;

	for (k = 0; k < KB_API_COUNT; k++) {
		if (!kb_apis[k].handler)
			continue;
		served++;
		if (!kb_api_authz[k] || !*kb_api_authz[k]) {
			missing++;
			ok(0, "%s (%d) has an authorization decision",
			   kb_apis[k].name, k);
		}
	}
	ok(!missing, "all %d served APIs have an authorization decision",
	   served);
	for (k = 0; k < KB_API_COUNT; k++)
		if (kb_api_authz[k] && !kb_apis[k].handler)
			ok(0, "api %d listed but not served", k);
	ok(!strncmp(kb_api_authz[KB_API_API_VERSIONS], "none", 4) &&
	   !strncmp(kb_api_authz[KB_API_DESCRIBE_CLUSTER], "none", 4),
	   "only APIs that touch no resource say none");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_decisions();
	test_store();
	test_text();
	test_mapping();
	test_cert_subjects();
	test_api_table();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return 1;
	}
	return tap_done();
}
