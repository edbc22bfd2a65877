/* SPDX-License-Identifier: GPL-2.0 */
/* The control socket kbrokerctl talks to (control.socket). */
#ifndef KB_ADMIN_CONTROL_H
#define KB_ADMIN_CONTROL_H

struct kb_loop;

/* Binds control.socket and serves it from @l's epoll; logged, and the
 * daemon goes on without it on failure. */
int kb_ctl_open(struct kb_loop *l);
void kb_ctl_close(struct kb_loop *l);

#endif
