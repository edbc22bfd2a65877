/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbrokerd's control socket, shared with kbrokerctl: a unix stream socket
 * (config control.socket, kbrokerctl --socket or $KBROKER_SOCKET).  The
 * client sends one command line; the daemon answers with text lines and
 * closes.  The last line is "ok ..." or "error: ...".
 *
 *   status           state, certificates, last rotation
 *   rotate [NAME]    maintenance window now; answers when it is over
 *   acl list | add BINDING | remove BINDING
 *                    the ACLs (BINDING in the text form of auth/auth.h)
 */
#ifndef KB_COMMON_CTLSOCK_H
#define KB_COMMON_CTLSOCK_H

#define KB_CTL_SOCKET_DEFAULT "/run/kbroker/kbrokerd.sock"

#endif
