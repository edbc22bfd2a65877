/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KB_ADMIN_ACL_CTL_H
#define KB_ADMIN_ACL_CTL_H

/* Runs "acl ARG" from the control socket; answers through @reply. */
void kb_ctl_acl(int fd, char *arg, void (*reply)(int fd, const char *text));

#endif
