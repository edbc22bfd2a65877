// SPDX-License-Identifier: GPL-2.0
/*
 * The certificate maintenance window (certs/cert_window.c) up to its
 * swap: refusals before any window opens, MAINTENANCE while the worker
 * runs (a second rotation and configuration updates refused), a keystore
 * that cannot be used rolled back with the old context still served, the
 * module's MAINTENANCE honoured, and the status the control socket shows.
 * A window that swaps needs a listener to check against and is driven end
 * to end by tests/host/certs_rotation.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "certs/cert.h"
#include "common/broker.h"
#include "common/config.h"
#include "net/loop.h"
#include "tls/tls.h"
#include "tap.h"

static char dir[] = "/tmp/kb-test-cert-XXXXXX";

/* kbrokerctl cert status, as text. */
static char *status(struct kb_loop *l)
{
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);

	kb_cert_status(l, f);
	fclose(f);
	return out;
}

/* Runs the loop's side until the window has finished and is reported. */
static bool wait_window(struct kb_loop *l)
{
	for (int i = 0; i < 100; i++) {
		struct epoll_event ev;
		char *st;
		bool done;

		if (epoll_wait(l->epfd, &ev, 1, 100) == 1)
			kb_cert_on_event(l);
		st = status(l);
		done = st && strstr(st, "last rotation") &&
		       !strstr(st, "none since start");
		free(st);
		if (done && !kb_cert_in_maintenance())
			return true;
	}
	return false;
}

int main(void)
{
	struct kb_config cfg;
	struct kb_broker b = { 0 };
	struct kb_loop l = { 0 };
	char text[1024], cmd[1024], pem[300], why[256], *out;
	void *before;

	if (!mkdtemp(dir))
		return 1;
	snprintf(pem, sizeof(pem), "%s/server.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 400 -subj /CN=window-test -keyout k.pem -out c.pem 2>/dev/null && cat k.pem c.pem > server.pem",
		 dir);
	ok(system(cmd) == 0, "a self-signed PEM keystore");
	snprintf(text, sizeof(text),
		 "listeners=SSL://127.0.0.1:1\nlog.dirs=%s\nssl.keystore.location=%s\n",
		 dir, pem);
	ok(kb_config_parse(text, "test", &cfg) == 0, "config parses");
	kb_cert_setup(&cfg);
	b.cfg = &cfg;
	l.b = &b;
	l.epfd = epoll_create1(0);
	l.n_ls = 1;
	l.ls[0].port = 1;
	l.ls[0].tls_ctx = kb_cert_ctx_new(&cfg.listeners[0]);
	ok(l.ls[0].tls_ctx != NULL, "the listener's SSL_CTX from the keystore");
	ok(kb_cert_start(&l) == 0 && !kb_cert_in_maintenance(),
	   "the window starts ACTIVE");

	ok(kb_cert_rotate(&l, 0, NULL, "test", -1, why, sizeof(why)) != 0 &&
	   strstr(why, "renew.command"),
	   "a renewal without ssl.certificate.renew.command is refused: %s",
	   why);
	before = l.ls[0].tls_ctx;
	l.ls[0].tls_ctx = NULL;
	ok(kb_cert_rotate(&l, 0, pem, "test", -1, why, sizeof(why)) != 0 &&
	   strstr(why, "no TLS listener"),
	   "with no TLS listener there is nothing to update: %s", why);
	l.ls[0].tls_ctx = before;

	/* A keystore that does not exist: MAINTENANCE, then rolled back. */
	snprintf(cmd, sizeof(cmd), "%s/missing.pem", dir);
	ok(kb_cert_rotate(&l, 0, cmd, "test", -1, why, sizeof(why)) == 0,
	   "a window opens for a new keystore file");
	ok(kb_cert_rotate(&l, 0, pem, "test", -1, why, sizeof(why)) != 0 &&
	   strstr(why, KB_MAINT_MSG),
	   "until the loop has finished it, a second rotation is refused with the MAINTENANCE message");
	ok(wait_window(&l), "the window ends, ACTIVE again");
	ok(l.ls[0].tls_ctx == before,
	   "the unusable keystore was rolled back: the old context is served");

	out = status(&l);
	ok(out && strstr(out, "CN=window-test") && strstr(out, "missing.pem"),
	   "status names the certificate and why the last update failed");
	if (out && !(strstr(out, "CN=window-test") && strstr(out, "missing.pem")))
		printf("# %s", out);
	free(out);

	kb_cert_module_state(true);
	ok(kb_cert_in_maintenance() &&
	   kb_cert_rotate(&l, 0, pem, "test", -1, why, sizeof(why)) != 0,
	   "the module's MAINTENANCE refuses a rotation too");
	kb_cert_module_state(false);
	ok(!kb_cert_in_maintenance(), "and its ACTIVE accepts again");

	kb_cert_stop(&l);
	kb_tls_ctx_free(l.ls[0].tls_ctx);
	close(l.epfd);
	kb_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		ok(0, "cleanup");
	return tap_done();
}
