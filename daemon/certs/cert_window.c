// SPDX-License-Identifier: GPL-2.0
/*
 * The maintenance window.  A worker thread does the slow parts (key
 * generation, the renew command, the self-check handshake) so the event
 * loop keeps serving Produce and Fetch; only the swap of a listener's
 * SSL_CTX happens on the loop thread, asked for through an eventfd.
 * Established connections keep their SSL objects (and thus the old
 * context, which SSL_new() holds a reference to); kTLS sockets are never
 * touched.
 *
 *   1. state MAINTENANCE (module SET_STATE when loaded; daemon flag)
 *   2. new key + chain (renewal or a PEM file), checked against the CA
 *   3. into the keyring (keyctl_update on the same key ids)
 *   4. new SSL_CTX installed for new accepts (loop thread)
 *   5. self-check: a handshake to the listener presents the new leaf
 *   6. state ACTIVE.  Any failure puts back the old context and keyring
 *      payloads and schedules a retry with backoff.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certs/cert.h"
#include "net/loop.h"
#include "tls/tls.h"
#include "keys/kbnl.h"
#include "common/file.h"
#include "common/log.h"

#define MAX_WAITERS 16
#define BACKOFF_MAX_MS (3600 * 1000LL)
#define CHECK_EVERY_MS 1000

struct cert_info {
	char subject[256], issuer[256], fp[100];
	time_t not_after;
};

static struct {
	int efd;
	int ev_kind;
	pthread_t thr;
	bool running;
	volatile bool stop;
	atomic_bool maint;
	atomic_bool module_maint;	/* the module's state, from its events */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Swap asked by the worker, done by the loop. */
	bool swap_pending;
	SSL_CTX *swap[KB_MAX_LISTENERS];
	unsigned int swap_mask;
	bool done;		/* the worker has finished */
	/* The window's job. */
	unsigned int mask;
	char pem_file[KB_PATH_MAX];
	char reason[128];
	/* Its outcome. */
	bool ok;
	char msg[512];
	time_t last_time;
	bool last_ok, have_last;
	uint64_t n_ok, n_failed;
	char last_msg[512];
	int waiters[MAX_WAITERS];
	int n_waiters;
	int64_t retry_at, backoff, next_check;
	struct cert_info info[KB_MAX_LISTENERS];
	char dyn_loc[KB_MAX_LISTENERS][KB_PATH_MAX];
} cw = {
	.efd = -1,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

bool kb_cert_in_maintenance(void)
{
	return atomic_load(&cw.maint) || atomic_load(&cw.module_maint);
}

void kb_cert_module_state(bool maintenance)
{
	if (atomic_exchange(&cw.module_maint, maintenance) != maintenance &&
	    !atomic_load(&cw.maint))
		kb_notice("state %s (kbroker module): configuration updates %s",
			  maintenance ? "MAINTENANCE" : "ACTIVE",
			  maintenance ? "refused" : "accepted again");
}

void kb_cert_rotations(struct kb_cert_rotations *out)
{
	out->ok = cw.n_ok;
	out->failed = cw.n_failed;
	out->last_time = cw.have_last ? cw.last_time : 0;
	out->last_ok = cw.last_ok;
}

const char *kb_cert_dynamic_location(int listener)
{
	return *cw.dyn_loc[listener] ? cw.dyn_loc[listener] : NULL;
}

static void refresh_info(struct kb_loop *l, int i)
{
	struct cert_info *ci = &cw.info[i];
	X509 *x = l->ls[i].tls_ctx ?
		  SSL_CTX_get0_certificate(l->ls[i].tls_ctx) : NULL;

	memset(ci, 0, sizeof(*ci));
	if (!x)
		return;
	kb_cert_name(X509_get_subject_name(x), ci->subject,
		     sizeof(ci->subject));
	kb_cert_name(X509_get_issuer_name(x), ci->issuer, sizeof(ci->issuer));
	kb_cert_fingerprint(x, ci->fp, sizeof(ci->fp));
	ci->not_after = kb_cert_not_after(x);
}

static void set_module_state(uint32_t st)
{
	struct kbnl *nl;
	int ret;

	/* A socket of its own: libnl handles are not shared across threads. */
	if (kbnl_open(&nl))
		return;
	ret = kbnl_set_state(nl, st);
	if (ret)
		kb_warn("kbroker module SET_STATE %s: %s", kbnl_state_name(st),
			strerror(-ret));
	kbnl_close(nl);
}

static void kick(void)
{
	uint64_t one = 1;

	if (write(cw.efd, &one, sizeof(one)) < 0)
		kb_warn("certificate window eventfd: %m");
}

/* Worker: has the loop install swap[] for @mask; swap[] gets the old. */
static int loop_swap(unsigned int mask)
{
	int ret;

	pthread_mutex_lock(&cw.mu);
	cw.swap_mask = mask;
	cw.swap_pending = true;
	kick();
	while (cw.swap_pending && !cw.stop)
		pthread_cond_wait(&cw.cv, &cw.mu);
	ret = cw.swap_pending ? -1 : 0;
	cw.swap_pending = false;
	pthread_mutex_unlock(&cw.mu);
	return ret;
}

static void do_swap(struct kb_loop *l)
{
	int i;

	for (i = 0; i < l->n_ls; i++) {
		SSL_CTX *old;

		if (!(cw.swap_mask & (1u << i)))
			continue;
		old = l->ls[i].tls_ctx;
		l->ls[i].tls_ctx = cw.swap[i];
		cw.swap[i] = old;
		refresh_info(l, i);
	}
	cw.swap_pending = false;
	pthread_cond_broadcast(&cw.cv);
}

static X509 *seen_leaf;

static int capture_cb(int ok, X509_STORE_CTX *sc)
{
	if (X509_STORE_CTX_get_error_depth(sc) == 0 && !seen_leaf) {
		seen_leaf = X509_STORE_CTX_get_current_cert(sc);
		X509_up_ref(seen_leaf);
	}
	(void)ok;
	return 1;	/* verified below, against the CA, by kb_cert_check */
}

/* A handshake to our own listener: the leaf it shows and whether its
 * chain verifies.  Client auth may make the server end the handshake;
 * the certificate was seen by then, which is all this needs. */
static int self_check(struct kb_loop *l, int i, EVP_PKEY *key,
		      const char *ca, char *why, size_t wlen)
{
	const struct kb_listener_cfg *lc = &l->b->cfg->listeners[i];
	const char *host = *lc->host && strcmp(lc->host, "0.0.0.0") &&
			   strcmp(lc->host, "::") ? lc->host : "127.0.0.1";
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { .tv_sec = 5 };
	STACK_OF(X509) *chain = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char port[8], fp1[100], fp2[100];
	int fd = -1, ret = -1;

	seen_leaf = NULL;
	snprintf(port, sizeof(port), "%d", l->ls[i].port);
	if (getaddrinfo(host, port, &hints, &ai)) {
		snprintf(why, wlen, "self-check: cannot resolve %s", host);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		snprintf(why, wlen, "self-check: connecting to %s:%s: %m", host,
			 port);
		goto out;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = ctx ? SSL_new(ctx) : NULL;
	if (!ssl)
		goto out;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, capture_cb);
	SSL_set_fd(ssl, fd);
	SSL_connect(ssl);
	ERR_clear_error();
	chain = SSL_get_peer_cert_chain(ssl);
	if (!seen_leaf) {
		snprintf(why, wlen, "self-check: no certificate from %s:%s",
			 host, port);
		goto out;
	}
	kb_cert_fingerprint(seen_leaf, fp1, sizeof(fp1));
	kb_cert_fingerprint(SSL_CTX_get0_certificate(l->ls[i].tls_ctx), fp2,
			    sizeof(fp2));
	if (strcmp(fp1, fp2)) {
		snprintf(why, wlen, "self-check: the listener still presents %s",
			 fp1);
		goto out;
	}
	if (chain && sk_X509_num(chain) > 0 &&
	    kb_cert_check(key, chain, ca, why, wlen)) {
		char w2[384];

		snprintf(w2, sizeof(w2), "self-check: %s", why);
		snprintf(why, wlen, "%s", w2);
		goto out;
	}
	ret = 0;
out:
	if (ssl)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	X509_free(seen_leaf);
	seen_leaf = NULL;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ret;
}

/* PEM file with key and chain (Kafka's ssl.keystore.location). */
static int load_file(const char *path, EVP_PKEY **key, STACK_OF(X509) **chain,
		     char *why, size_t wlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;
	char tmp[4096];
	FILE *m;

	if (!f) {
		snprintf(why, wlen, "%.400s: %m", path);
		return -1;
	}
	m = open_memstream(&buf, &len);
	while (m && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, n, m);
	fclose(f);
	if (m)
		fclose(m);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	*key = buf ? kb_cert_key_from_pem(buf, len) : NULL;
	*chain = buf ? kb_cert_chain_from_pem(buf, len) : NULL;
	kb_cert_wipe(buf, len);
	if (!*key || !*chain) {
		snprintf(why, wlen, "%.400s: no PEM private key and certificate",
			 path);
		EVP_PKEY_free(*key);
		sk_X509_pop_free(*chain, X509_free);
		return -1;
	}
	return 0;
}

struct lstate {
	EVP_PKEY *key;
	STACK_OF(X509) *chain;
	char *old_key, *old_chain;	/* keyring payloads, for rollback */
	size_t old_key_len, old_chain_len;
	bool stored;
};

static const char *ca_of(const struct kb_config *cfg,
			 const struct kb_listener_cfg *lc)
{
	return *cfg->cert_ca ? cfg->cert_ca : lc->tls.truststore;
}

/* Steps 2-3 for one listener. */
static int prepare(struct kb_loop *l, int i, struct lstate *s, char *why,
		   size_t wlen)
{
	const struct kb_config *cfg = l->b->cfg;
	const struct kb_listener_cfg *lc = &cfg->listeners[i];
	char *kp = NULL, *cp = NULL;
	size_t kl = 0, cl = 0;
	int ret;

	if (*cw.pem_file) {
		if (load_file(cw.pem_file, &s->key, &s->chain, why, wlen) ||
		    kb_cert_check(s->key, s->chain, ca_of(cfg, lc), why, wlen))
			return -1;
	} else if (kb_cert_issue(lc, SSL_CTX_get0_certificate(l->ls[i].tls_ctx),
				 &cw.stop, &s->key, &s->chain, why, wlen)) {
		return -1;
	}
	cw.swap[i] = kb_tls_ctx_new_with(lc, s->key, s->chain);
	if (!cw.swap[i]) {
		snprintf(why, wlen, "cannot build a TLS context with the new certificate");
		return -1;
	}
	if (lc->tls.ks_type != KB_KS_KEYRING)
		return 0;
	if (kb_keyring_read(lc->tls.keyring_key, &s->old_key,
			    &s->old_key_len) ||
	    kb_keyring_read(lc->tls.keyring_chain, &s->old_chain,
			    &s->old_chain_len)) {
		snprintf(why, wlen, "reading the current keyring keys failed");
		return -1;
	}
	if (kb_cert_key_pem(s->key, &kp, &kl) ||
	    kb_cert_chain_pem(s->chain, &cp, &cl)) {
		snprintf(why, wlen, "out of memory");
		ret = -1;
		goto out;
	}
	s->stored = true;
	ret = kb_keyring_store(lc->tls.keyring_key, kp, kl);
	if (!ret)
		ret = kb_keyring_store(lc->tls.keyring_chain, cp, cl);
	if (ret)
		snprintf(why, wlen, "storing in the keyring: %s",
			 strerror(-ret));
out:
	kb_cert_wipe(kp, kl);
	free(cp);
	return ret ? -1 : 0;
}

static void restore(struct kb_loop *l, int i, struct lstate *s)
{
	const struct kb_listener_cfg *lc = &l->b->cfg->listeners[i];

	if (s->stored && s->old_key && s->old_chain &&
	    (kb_keyring_store(lc->tls.keyring_key, s->old_key,
			      s->old_key_len) ||
	     kb_keyring_store(lc->tls.keyring_chain, s->old_chain,
			      s->old_chain_len)))
		kb_err("listener %s: putting the old key back into the keyring failed",
		       lc->name);
}

static void *worker(void *arg)
{
	struct kb_loop *l = arg;
	const struct kb_config *cfg = l->b->cfg;
	struct lstate st[KB_MAX_LISTENERS] = { 0 };
	unsigned int mask = cw.mask, swapped = 0;
	char why[512] = "";
	int i, failed = -1;

	set_module_state(KBROKER_STATE_MAINTENANCE);
	kb_notice("state MAINTENANCE: certificate update (%s)", cw.reason);
	for (i = 0; i < l->n_ls && failed < 0; i++)
		if ((mask & (1u << i)) && prepare(l, i, &st[i], why, sizeof(why)))
			failed = i;
	if (failed < 0 && loop_swap(mask) == 0) {
		swapped = mask;
		for (i = 0; i < l->n_ls && failed < 0; i++)
			if ((mask & (1u << i)) &&
			    self_check(l, i, st[i].key,
				       ca_of(cfg, &cfg->listeners[i]), why,
				       sizeof(why)))
				failed = i;
	} else if (failed < 0) {
		snprintf(why, sizeof(why), "stopped");
		failed = 0;
	}
	if (failed >= 0) {
		/* Rollback: old contexts back in place, keyring as it was. */
		if (swapped && loop_swap(swapped))
			kb_err("certificate rollback: the loop stopped first");
		for (i = 0; i < l->n_ls; i++)
			if (mask & (1u << i))
				restore(l, i, &st[i]);
		snprintf(cw.msg, sizeof(cw.msg), "listener %s: %s",
			 cfg->listeners[failed].name, why);
		kb_err("certificate update failed, old certificate kept: %s",
		       cw.msg);
	} else {
		for (i = 0; i < l->n_ls; i++) {
			char fp[100];

			if (!(mask & (1u << i)))
				continue;
			kb_cert_fingerprint(sk_X509_value(st[i].chain, 0), fp,
					    sizeof(fp));
			snprintf(cw.msg, sizeof(cw.msg),
				 "listener %s: new certificate sha256 %s",
				 cfg->listeners[i].name, fp);
			kb_notice("certificate updated: %s", cw.msg);
		}
	}
	cw.ok = failed < 0;
	for (i = 0; i < l->n_ls; i++) {
		/* After a swap swap[] holds the contexts no longer used. */
		SSL_CTX_free(cw.swap[i]);
		cw.swap[i] = NULL;
		EVP_PKEY_free(st[i].key);
		sk_X509_pop_free(st[i].chain, X509_free);
		kb_cert_wipe(st[i].old_key, st[i].old_key_len);
		free(st[i].old_chain);
	}
	set_module_state(KBROKER_STATE_ACTIVE);
	kb_notice("state ACTIVE: certificate update %s",
		  cw.ok ? "done" : "rolled back");
	/* Our own MAINTENANCE event is over: no need to log its end. */
	atomic_store(&cw.module_maint, false);
	atomic_store(&cw.maint, false);
	pthread_mutex_lock(&cw.mu);
	cw.done = true;
	pthread_mutex_unlock(&cw.mu);
	kick();
	return NULL;
}

int kb_cert_rotate(struct kb_loop *l, unsigned int mask, const char *pem_file,
		   const char *reason, int waiter, char *why, size_t wlen)
{
	const struct kb_config *cfg = l->b->cfg;
	int i;

	if (cw.running || kb_cert_in_maintenance()) {
		snprintf(why, wlen, "%s; try again later", KB_MAINT_MSG);
		return -1;
	}
	if (!mask)
		for (i = 0; i < l->n_ls; i++)
			if (l->ls[i].tls_ctx)
				mask |= 1u << i;
	for (i = 0; i < l->n_ls; i++)
		if ((mask & (1u << i)) && !l->ls[i].tls_ctx)
			mask &= ~(1u << i);
	if (!mask) {
		snprintf(why, wlen, "no TLS listener to update");
		return -1;
	}
	if (!pem_file && !*cfg->cert_renew_command) {
		snprintf(why, wlen, "ssl.certificate.renew.command is not set");
		return -1;
	}
	cw.mask = mask;
	snprintf(cw.pem_file, sizeof(cw.pem_file), "%s", pem_file ?: "");
	snprintf(cw.reason, sizeof(cw.reason), "%s", reason);
	cw.done = false;
	cw.msg[0] = '\0';
	atomic_store(&cw.maint, true);
	if (pthread_create(&cw.thr, NULL, worker, l)) {
		atomic_store(&cw.maint, false);
		snprintf(why, wlen, "cannot start the update thread");
		return -1;
	}
	cw.running = true;
	if (waiter >= 0 && cw.n_waiters < MAX_WAITERS)
		cw.waiters[cw.n_waiters++] = waiter;
	else if (waiter >= 0)
		kb_fd_reply(waiter, "ok started\n");
	return 0;
}

static void finish(struct kb_loop *l)
{
	int64_t now = kb_now_mono_ms();
	char line[640];
	int i;

	pthread_join(cw.thr, NULL);
	cw.running = false;
	cw.last_time = time(NULL);
	cw.last_ok = cw.ok;
	cw.have_last = true;
	if (cw.ok)
		cw.n_ok++;
	else
		cw.n_failed++;
	snprintf(cw.last_msg, sizeof(cw.last_msg), "%s", cw.msg);
	if (cw.ok) {
		cw.backoff = 0;
		cw.retry_at = now + l->b->cfg->cert_renew_retry_ms;
		for (i = 0; i < l->n_ls; i++)
			if ((cw.mask & (1u << i)) && *cw.pem_file)
				snprintf(cw.dyn_loc[i], sizeof(cw.dyn_loc[i]),
					 "%s", cw.pem_file);
	} else {
		cw.backoff = cw.backoff ? cw.backoff * 2 :
			     l->b->cfg->cert_renew_retry_ms;
		if (cw.backoff > BACKOFF_MAX_MS)
			cw.backoff = BACKOFF_MAX_MS;
		cw.retry_at = now + cw.backoff;
		kb_notice("certificate renewal retried in %lld s if still due",
			  (long long)cw.backoff / 1000);
	}
	for (i = 0; i < l->n_ls; i++)
		refresh_info(l, i);
	snprintf(line, sizeof(line), "%s %s\n", cw.ok ? "ok" : "error:",
		 cw.msg);
	for (i = 0; i < cw.n_waiters; i++)
		kb_fd_reply(cw.waiters[i], line);
	cw.n_waiters = 0;
}

void kb_cert_on_event(struct kb_loop *l)
{
	uint64_t v;
	bool done;

	if (read(cw.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&cw.mu);
	if (cw.swap_pending)
		do_swap(l);
	done = cw.done;
	pthread_mutex_unlock(&cw.mu);
	if (done && cw.running)
		finish(l);
}

/* The renewal timer: a certificate within renew.before.days is renewed. */
void kb_cert_tick(struct kb_loop *l, int64_t now)
{
	const struct kb_config *cfg = l->b->cfg;
	time_t wall = time(NULL);
	unsigned int due = 0;
	char why[256], reason[128] = "";
	int i;

	/* An operator's window (module state) holds renewals back too. */
	if (now < cw.next_check || cw.running || now < cw.retry_at ||
	    kb_cert_in_maintenance())
		return;
	cw.next_check = now + CHECK_EVERY_MS;
	for (i = 0; i < l->n_ls; i++) {
		const struct cert_info *ci = &cw.info[i];
		long left;

		if (!l->ls[i].tls_ctx || !ci->not_after)
			continue;
		left = (long)(ci->not_after - wall);
		if (left >= cfg->cert_renew_before_days * 86400)
			continue;
		due |= 1u << i;
		snprintf(reason, sizeof(reason),
			 "listener %s certificate expires in %ld days",
			 cfg->listeners[i].name, left / 86400);
	}
	if (!due)
		return;
	if (!*cfg->cert_renew_command) {
		kb_log_once(KB_LOG_WARN,
			    "%s and ssl.certificate.renew.command is not set: it will not be renewed",
			    reason);
		return;
	}
	kb_notice("%s: renewing", reason);
	if (kb_cert_rotate(l, due, NULL, reason, -1, why, sizeof(why)))
		kb_warn("certificate renewal: %s", why);
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void kb_cert_status(struct kb_loop *l, FILE *f)
{
	time_t now = time(NULL);
	char t[32];
	int i;

	fprintf(f, "state: %s\n",
		kb_cert_in_maintenance() ? "MAINTENANCE" : "ACTIVE");
	for (i = 0; i < l->n_ls; i++) {
		const struct cert_info *ci = &cw.info[i];

		if (!l->ls[i].tls_ctx)
			continue;
		fmt_time(ci->not_after, t, sizeof(t));
		fprintf(f, "listener %s:\n  subject:   %s\n  issuer:    %s\n  expires:   %s (%ld days left)\n  sha256:    %s\n  keystore:  %s\n",
			l->b->cfg->listeners[i].name, ci->subject, ci->issuer,
			t, (long)(ci->not_after - now) / 86400, ci->fp,
			l->b->cfg->listeners[i].tls.ks_type == KB_KS_KEYRING ?
			l->b->cfg->listeners[i].tls.keyring_key :
			l->b->cfg->listeners[i].tls.keystore);
	}
	if (cw.have_last) {
		fmt_time(cw.last_time, t, sizeof(t));
		fprintf(f, "last rotation: %s %s: %s\n", t,
			cw.last_ok ? "ok" : "FAILED (rolled back)",
			cw.last_msg);
	} else {
		fprintf(f, "last rotation: none since start\n");
	}
}

int kb_cert_start(struct kb_loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int i;

	cw.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cw.efd < 0) {
		kb_err("eventfd: %m");
		return -1;
	}
	cw.ev_kind = KB_EV_CERT;
	ev.data.ptr = &cw.ev_kind;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, cw.efd, &ev)) {
		kb_err("epoll_ctl: %m");
		return -1;
	}
	for (i = 0; i < l->n_ls; i++)
		refresh_info(l, i);
	/*
	 * Check now, not a timer period later: a certificate found due at
	 * start is renewed before clients come to rely on it.  The window
	 * waits on the eventfd, which the loop serves once it runs.
	 */
	kb_cert_tick(l, kb_now_mono_ms());
	return 0;
}

void kb_cert_stop(struct kb_loop *l)
{
	int i;

	(void)l;
	if (cw.running) {
		pthread_mutex_lock(&cw.mu);
		cw.stop = true;
		pthread_cond_broadcast(&cw.cv);
		pthread_mutex_unlock(&cw.mu);
		pthread_join(cw.thr, NULL);
		cw.running = false;
	}
	for (i = 0; i < cw.n_waiters; i++)
		kb_fd_reply(cw.waiters[i], "error: kbrokerd is stopping\n");
	cw.n_waiters = 0;
	if (cw.efd >= 0)
		close(cw.efd);
	cw.efd = -1;
}
