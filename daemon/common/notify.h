/* SPDX-License-Identifier: GPL-2.0 */
/*
 * systemd's readiness protocol (sd_notify) without libsystemd: one
 * datagram to $NOTIFY_SOCKET.  A no-op when not started by systemd.
 */
#ifndef KB_COMMON_NOTIFY_H
#define KB_COMMON_NOTIFY_H

/* Sends @state (e.g. "READY=1", "STOPPING=1"); returns 0 or -errno. */
int kb_notify(const char *state);

#endif
