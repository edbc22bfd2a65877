// SPDX-License-Identifier: GPL-2.0
/*
 * ssl.certificate.renew.command: a program given a CSR on stdin that
 * prints the signed chain (leaf first) on stdout, e.g.
 * "kbrokerctl ca sign /etc/kbroker/ca".  Only the CSR crosses the pipe;
 * the private key stays in this process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/broker.h"
#include "certs/cert.h"
#include "common/log.h"

static const struct kb_config *cert_cfg;

void kb_cert_setup(const struct kb_config *cfg)
{
	cert_cfg = cfg;
}

const struct kb_config *kb_cert_cfg(void)
{
	return cert_cfg;
}

#define OUT_MAX (256 * 1024)

extern char **environ;

static int spawn(const char *cmd, const char *listener, int64_t days,
		 int *in, int *out, pid_t *pid)
{
	int pin[2], pout[2], ret;
	posix_spawn_file_actions_t fa;
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char ev_days[64], ev_l[128];
	char **envp;
	size_t n = 0, i;

	if (pipe2(pin, O_CLOEXEC))
		return -errno;
	if (pipe2(pout, O_CLOEXEC)) {
		ret = -errno;
		close(pin[0]);
		close(pin[1]);
		return ret;
	}
	while (environ[n])
		n++;
	envp = calloc(n + 3, sizeof(*envp));
	snprintf(ev_days, sizeof(ev_days), "KBROKER_CERT_DAYS=%lld",
		 (long long)days);
	snprintf(ev_l, sizeof(ev_l), "KBROKER_LISTENER=%s", listener);
	for (i = 0; envp && i < n; i++)
		envp[i] = environ[i];
	if (envp) {
		envp[n] = ev_days;
		envp[n + 1] = ev_l;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	ret = envp ? -posix_spawn(pid, "/bin/sh", &fa, NULL, argv, envp) :
		     -ENOMEM;
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(pin[0]);
	close(pout[1]);
	if (ret) {
		close(pin[1]);
		close(pout[0]);
		return ret;
	}
	*in = pin[1];
	*out = pout[0];
	fcntl(*in, F_SETFL, O_NONBLOCK);
	return 0;
}

int kb_cert_run_renew(const char *cmd, const char *csr, size_t csr_len,
		      const char *listener, int64_t days, int timeout_ms,
		      volatile bool *stop, char **out, size_t *olen,
		      char *why, size_t wlen)
{
	int64_t end = kb_now_mono_ms() + timeout_ms;
	size_t sent = 0, got = 0;
	int in = -1, rd = -1, st = 0, ret;
	char *buf = malloc(OUT_MAX + 1);
	pid_t pid;

	*out = NULL;
	*why = '\0';
	if (!buf) {
		snprintf(why, wlen, "out of memory");
		return -1;
	}
	ret = spawn(cmd, listener, days, &in, &rd, &pid);
	if (ret) {
		snprintf(why, wlen, "cannot run the renew command: %s",
			 strerror(-ret));
		free(buf);
		return -1;
	}
	while (rd >= 0) {
		struct pollfd p[2] = { { rd, POLLIN, 0 }, { in, POLLOUT, 0 } };
		int64_t left = end - kb_now_mono_ms();

		if (left <= 0 || (stop && *stop)) {
			snprintf(why, wlen, "the renew command %s",
				 left <= 0 ? "timed out" : "was stopped");
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, in >= 0 ? 2 : 1, left > 100 ? 100 : (int)left) < 0)
			continue;
		if (in >= 0 && p[1].revents) {
			ssize_t w = write(in, csr + sent, csr_len - sent);

			if (w > 0)
				sent += (size_t)w;
			if ((w < 0 && errno != EAGAIN) || sent == csr_len) {
				close(in);
				in = -1;
			}
		}
		if (p[0].revents) {
			ssize_t r = read(rd, buf + got, OUT_MAX - got);

			if (r <= 0 || (got += (size_t)r) == OUT_MAX) {
				close(rd);
				rd = -1;
			}
		}
	}
	if (in >= 0)
		close(in);
	if (rd >= 0)
		close(rd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (*why) {
		free(buf);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(why, wlen, "the renew command failed (%s %d)",
			 WIFEXITED(st) ? "exit status" : "signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	*out = buf;
	*olen = got;
	return 0;
}

int kb_cert_issue(const struct kb_listener_cfg *lc, X509 *tmpl,
		  volatile bool *stop, EVP_PKEY **key,
		  STACK_OF(X509) **chain, char *why, size_t wlen)
{
	const struct kb_config *cfg = kb_cert_cfg();
	char *csr = NULL, *out = NULL;
	size_t csr_len = 0, olen = 0;

	*chain = NULL;
	*key = kb_cert_keygen();
	if (!*key || kb_cert_csr(*key, tmpl, &csr, &csr_len)) {
		snprintf(why, wlen, "cannot make a key and CSR");
		goto err;
	}
	if (kb_cert_run_renew(cfg->cert_renew_command, csr, csr_len, lc->name,
			      cfg->cert_lifetime_days, 60000, stop, &out,
			      &olen, why, wlen))
		goto err;
	*chain = kb_cert_chain_from_pem(out, olen);
	if (!*chain) {
		snprintf(why, wlen, "the renew command printed no PEM certificate");
		goto err;
	}
	if (kb_cert_check(*key, *chain,
			  *cfg->cert_ca ? cfg->cert_ca : lc->tls.truststore,
			  why, wlen))
		goto err;
	free(csr);
	free(out);
	return 0;
err:
	free(csr);
	free(out);
	EVP_PKEY_free(*key);
	sk_X509_pop_free(*chain, X509_free);
	*key = NULL;
	*chain = NULL;
	return -1;
}
