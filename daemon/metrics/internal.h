/* SPDX-License-Identifier: GPL-2.0 */
/* The metrics layer's collectors. */
#ifndef KB_METRICS_INTERNAL_H
#define KB_METRICS_INTERNAL_H

#include "common/config.h"
#include "metrics/expo.h"

struct kb_loop;

/* Bounds on label sets that grow with use (topics, groups, partitions):
 * past them series are dropped and counted, never the scrape. */
#define KB_METRICS_MAX_TOPICS 2000
#define KB_METRICS_MAX_LAG_SERIES 5000

/* On the loop thread: everything that lives in the loop's memory. */
void kb_mc_transit(struct kb_loop *l, struct kb_expo *e);
void kb_mc_certs(struct kb_loop *l, struct kb_expo *e);
void kb_mc_requests(struct kb_loop *l, struct kb_expo *e);
/* Returns the series dropped for the bounds above. */
uint64_t kb_mc_topics(struct kb_loop *l, struct kb_expo *e);
uint64_t kb_mc_groups(struct kb_loop *l, struct kb_expo *e);
void kb_mc_cluster(struct kb_loop *l, struct kb_expo *e);

/* On the HTTP thread, at every scrape: nothing of the loop's. */
void kb_mc_process(struct kb_expo *e, const char *version);
void kb_mc_module(struct kb_expo *e, const struct kb_config *cfg);
void kb_mc_storage(struct kb_expo *e, const struct kb_config *cfg);

#endif
