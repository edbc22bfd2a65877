/* SPDX-License-Identifier: GPL-2.0 */
/* Between the files of auth/. */
#ifndef KB_AUTH_INTERNAL_H
#define KB_AUTH_INTERNAL_H

#include "auth/auth.h"

/* Logs a denial unless the same one was logged within the last minute. */
void kb_auth_audit(const struct kb_auth_who *who, int8_t op, int8_t res,
		   const char *name);
void kb_auth_audit_reset(void);
/* Installs the mapping rules (NULL: none, back to DEFAULT); -1 logged. */
int kb_principal_setup(const char *rules);

#endif
