/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KB_BROKER_ATREST_H
#define KB_BROKER_ATREST_H

#include "broker/config.h"

/*
 * With at.rest.encryption on (the default), every log dir must be on an
 * open kbroker volume: a filesystem mounted from a dm map named kbroker-*
 * whose dm uuid starts KBROKER- (made by kbrokerctl volume open).
 * Logs one clear error per offending dir; returns 0 or -1.
 */
int kb_atrest_check(const struct kb_config *cfg);

#endif
