/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus metrics: kbrokerd serves GET /metrics on metrics.listener
 * (default http://127.0.0.1:9644, empty = off) from a libmicrohttpd
 * thread of its own.  The broker's state is read only on the event loop:
 * a scrape asks the loop (eventfd) for a snapshot, the loop renders it
 * and publishes it under a mutex held for a pointer swap, and the HTTP
 * thread serves that text, adding what it can read without the loop
 * (process, module sysfs, volumes, disk space).  Scrapes arriving within
 * KB_METRICS_MAX_AGE_MS of a snapshot share it.
 * See Documentation/kbroker/metrics.rst for every metric.
 */
#ifndef KB_METRICS_METRICS_H
#define KB_METRICS_METRICS_H

#include "common/config.h"

struct kb_loop;

#define KB_METRICS_MAX_AGE_MS 100

/* Checks metrics.listener (http://HOST:PORT); logs and returns -1. */
int kb_metrics_check(const struct kb_config *cfg);
/*
 * Starts the endpoint once the loop's listeners are up.  A listener that
 * cannot be bound stops the daemon when the file set metrics.listener,
 * and is only logged when it is the default (another broker on the host
 * may hold the port).
 */
int kb_metrics_start(struct kb_loop *l, const char *version);
/* Stops the HTTP thread; before the loop is torn down. */
void kb_metrics_stop(void);

#endif
