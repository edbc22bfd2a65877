// SPDX-License-Identifier: GPL-2.0
/* Which partitions this broker serves: all standalone, its own in a cluster. */
#include "cluster/cluster.h"
#include "common/broker.h"
#include "handlers/api.h"

int16_t kb_leader_check(struct kb_broker *b, const char *topic,
			int32_t partition, int32_t leader_epoch)
{
	if (!b->cluster)
		return 0;
	return kb_cluster_check_leader(b->cluster, topic, partition,
				       leader_epoch);
}
