// SPDX-License-Identifier: GPL-2.0
/* Request counters of the loop, read by daemon/metrics. */
#include "net/loop.h"
#include "proto/api.h"

/* 100 us to 10 s: Kafka requests from a cached Metadata to a long poll. */
const uint64_t kb_req_bucket_ns[KB_REQ_BUCKETS] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
	2500000000ULL, 5000000000ULL, 10000000000ULL,
};

void kb_loop_req_done(struct kb_loop *l, int api, int ver, uint64_t ns)
{
	struct kb_req_stats *st;
	int i;

	if (!l->req_stats || api < 0 || api >= KB_API_COUNT || ver < 0)
		return;
	st = &l->req_stats[api];
	st->count[ver < KB_REQ_VERSIONS ? ver : KB_REQ_VERSIONS - 1]++;
	for (i = 0; i < KB_REQ_BUCKETS && ns > kb_req_bucket_ns[i]; i++)
		;
	st->bucket[i]++;
	st->sum_ns += ns;
}
