/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KB_CTL_CTL_H
#define KB_CTL_CTL_H

struct kbctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

void kbctl_nl_error(int err);

int kbctl_status(int argc, char **argv);
int kbctl_cert(int argc, char **argv);
int kbctl_ca(int argc, char **argv);

/* kbrokerd's control socket (ctl/cert.c). */
const char *kbctl_socket_path(void);
int kbctl_daemon(const char *cmd, char **reply);
void kbctl_daemon_error(int err);
/* Prints a reply; 0 when it ends in "ok", 1 (error shown) otherwise. */
int kbctl_show_reply(const char *r);
int kbctl_cluster(int argc, char **argv);
/* Changes call this first: 1 (reason printed) in MAINTENANCE. */
int kbctl_refuse_in_maintenance(void);
int kbctl_volume(int argc, char **argv);
int kbctl_listener(int argc, char **argv);
int kbctl_state(int argc, char **argv);
int kbctl_acl(int argc, char **argv);

#endif
