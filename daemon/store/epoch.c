// SPDX-License-Identifier: GPL-2.0
/*
 * Leader epochs of a partition: which epoch each batch was written under
 * (the batch's partitionLeaderEpoch field), and where each epoch started.
 * The cache of (epoch, start offset) pairs lives in the partition dir as
 * leader-epoch-checkpoint, Kafka's format: a version line (0), a count
 * line, then one "epoch offset" line per entry.  A follower asks the
 * leader where its last epoch ended (OffsetForLeaderEpoch) and cuts its
 * log there: that is what keeps two replicas' logs from diverging.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/internal.h"

#define EPOCH_FILE "leader-epoch-checkpoint"

static int epoch_save(struct kb_partition *p)
{
	size_t cap = 32 + p->n_epochs * 40, n;
	char *buf = malloc(cap);
	int err;

	if (!buf)
		return -ENOMEM;
	n = (size_t)snprintf(buf, cap, "0\n%zu\n", p->n_epochs);
	for (size_t i = 0; i < p->n_epochs; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%d %" PRId64 "\n",
				      (int)p->epochs[i].epoch,
				      p->epochs[i].start);
	err = kb_write_atomic(p->dfd, p->path, EPOCH_FILE, buf, n);
	free(buf);
	return err;
}

static int epoch_push(struct kb_partition *p, int32_t epoch, int64_t start)
{
	if (p->n_epochs == p->cap_epochs) {
		size_t nc = p->cap_epochs ? p->cap_epochs * 2 : 4;
		struct kb_epoch_entry *e = realloc(p->epochs,
						   nc * sizeof(*e));

		if (!e)
			return -ENOMEM;
		p->epochs = e;
		p->cap_epochs = nc;
	}
	p->epochs[p->n_epochs++] = (struct kb_epoch_entry){ epoch, start };
	return 0;
}

void kb_epoch_load(struct kb_partition *p)
{
	char *buf, *s, *end;
	size_t len, n, i;
	bool bad = false;

	if (kb_read_small(p->dfd, EPOCH_FILE, &buf, &len))
		return;
	s = buf;
	if (strtol(s, &end, 10) != 0 || end == s) {
		bad = true;
		goto out;
	}
	s = end;
	n = strtoul(s, &end, 10);
	if (end == s) {
		bad = true;
		goto out;
	}
	for (i = 0; i < n; i++) {
		long e;
		long long o;

		s = end;
		e = strtol(s, &end, 10);
		if (end == s) {
			bad = true;
			break;
		}
		s = end;
		o = strtoll(s, &end, 10);
		if (end == s || e < 0 || o < 0 ||
		    (p->n_epochs &&
		     (e <= p->epochs[p->n_epochs - 1].epoch ||
		      o < p->epochs[p->n_epochs - 1].start))) {
			bad = true;
			break;
		}
		if (epoch_push(p, (int32_t)e, o))
			break;
	}
out:
	if (bad)
		kb_warn("%s/%s: malformed, keeping %zu entries", p->path,
			EPOCH_FILE, p->n_epochs);
	free(buf);
	/* Entries past a log end cut by recovery describe nothing. */
	kb_epoch_truncate(p, p->log_end);
}

void kb_epoch_free(struct kb_partition *p)
{
	free(p->epochs);
	p->epochs = NULL;
	p->n_epochs = p->cap_epochs = 0;
}

int32_t kb_epoch_latest(const struct kb_partition *p)
{
	return p->n_epochs ? p->epochs[p->n_epochs - 1].epoch : -1;
}

int kb_epoch_assign(struct kb_partition *p, int32_t epoch, int64_t start)
{
	int err;

	if (epoch < 0 || epoch <= kb_epoch_latest(p))
		return 0;
	err = epoch_push(p, epoch, start);
	if (!err)
		err = epoch_save(p);
	if (err)
		kb_warn("%s: cannot record leader epoch %d: %s", p->path,
			(int)epoch, strerror(-err));
	return err;
}

void kb_epoch_truncate(struct kb_partition *p, int64_t end)
{
	size_t n = p->n_epochs;

	while (n && p->epochs[n - 1].start >= end)
		n--;
	if (n == p->n_epochs)
		return;
	p->n_epochs = n;
	epoch_save(p);
}

void kb_epoch_clear(struct kb_partition *p)
{
	if (!p->n_epochs)
		return;
	p->n_epochs = 0;
	epoch_save(p);
}

void kb_partition_set_leader_epoch(struct kb_partition *p, int32_t epoch)
{
	p->leader_epoch = epoch;
}

int32_t kb_partition_leader_epoch(const struct kb_partition *p)
{
	return p->leader_epoch;
}

int32_t kb_partition_latest_epoch(const struct kb_partition *p)
{
	return kb_epoch_latest(p);
}

void kb_partition_end_for_epoch(const struct kb_partition *p, int32_t epoch,
				int32_t *end_epoch, int64_t *end_offset)
{
	size_t i;

	*end_epoch = -1;
	*end_offset = -1;
	if (epoch < 0)
		return;
	/* The epoch being written (also before its first batch). */
	if (epoch == kb_epoch_latest(p) ||
	    (epoch == p->leader_epoch && epoch >= kb_epoch_latest(p))) {
		*end_epoch = epoch;
		*end_offset = p->log_end;
		return;
	}
	/* The first epoch above the one asked for starts where it ended. */
	for (i = 0; i < p->n_epochs && p->epochs[i].epoch <= epoch; i++)
		;
	if (i == p->n_epochs)
		return;			/* newer than anything known */
	*end_offset = p->epochs[i].start;
	*end_epoch = i ? p->epochs[i - 1].epoch : epoch;
}
