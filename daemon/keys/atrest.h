/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KB_BROKER_ATREST_H
#define KB_BROKER_ATREST_H

#include "common/config.h"

/*
 * With at.rest.encryption on (the default), every log dir must be on an
 * open kbroker volume: a filesystem mounted from a dm map named kbroker-*
 * whose dm uuid starts KBROKER- (made by kbrokerctl volume open).
 * Logs one clear error per offending dir; returns 0 or -1.
 */
int kb_atrest_check(const struct kb_config *cfg);

/*
 * Opens every at.rest.volumes entry (DEV:DIR) with at.rest.master.key, or
 * the default master key from the state dir: module unwrap, logon key in
 * this process's keyring, dm-crypt map kbroker-<label>, ext4 mounted on
 * DIR.  A volume already open is reused.  On any error logs one line
 * naming the device, closes what it opened, and returns -1.
 */
int kb_atrest_open(const struct kb_config *cfg);
/* Closes what kb_atrest_open() opened (unmount, map, key); 0 or -1. */
int kb_atrest_close(void);

#endif
