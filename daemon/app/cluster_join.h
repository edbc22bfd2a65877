/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cluster membership when zookeeper.connect is set (cluster_join.c): join
 * after kb_loop_init (0, -1 refused, 1 stopped by a signal), register
 * after kb_loop_listen, close after kb_loop_fini.  No-ops standalone.
 */
#ifndef KB_APP_CLUSTER_JOIN_H
#define KB_APP_CLUSTER_JOIN_H

struct kb_broker;
struct kb_loop;

int kb_broker_cluster_join(struct kb_broker *b, struct kb_loop *l);
int kb_broker_cluster_register(struct kb_broker *b, struct kb_loop *l);
void kb_broker_cluster_close(struct kb_broker *b);

#endif
