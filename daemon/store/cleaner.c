// SPDX-License-Identifier: GPL-2.0
/*
 * The log cleaner: log.cleaner.threads threads that clean one partition
 * each at a time, off the event loop, at a combined rate of at most
 * log.cleaner.io.max.bytes.per.second (bytes read plus bytes written).
 *
 * The loop and the threads share two queues under one mutex, held only to
 * push or pop a job: the loop's tick plans jobs for the dirtiest eligible
 * logs (clean_job.c) and queues them; a thread takes one, cleans, and
 * queues it back as done; the next tick (every 100 ms) swaps the result in
 * on the loop, so the segment list only ever changes on the loop.  Fetch
 * keeps serving from the old segments meanwhile, and readers holding an
 * old segment's fd keep reading it after the swap.
 *
 * <log dir>/cleaner-offset-checkpoint holds each compacted partition's
 * first dirty offset, in Kafka's format (version 0, a count, then
 * "topic partition offset" lines).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "store/internal.h"

#define CKPT_FILE "cleaner-offset-checkpoint"

struct kb_throttle {
	pthread_mutex_t mu;
	double rate;		/* bytes per second; <= 0 = none */
	int64_t start_us;
	uint64_t bytes;
};

struct kb_cleaner {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t *th;
	int n_th;
	struct kb_clean_job *todo, *done;
	int busy;		/* jobs queued or running (loop only) */
	volatile bool stop;
	struct kb_throttle thr;
	int64_t next_scan;
};

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void kb_throttle(struct kb_throttle *t, uint64_t bytes)
{
	int64_t now, due;

	if (t->rate <= 0)
		return;
	pthread_mutex_lock(&t->mu);
	now = mono_us();
	/* A one-second window: a pause does not bank credit for a burst. */
	if (now - t->start_us > 1000000 || !t->bytes) {
		t->start_us = now;
		t->bytes = 0;
	}
	t->bytes += bytes;
	due = t->start_us + (int64_t)((double)t->bytes / t->rate * 1e6);
	pthread_mutex_unlock(&t->mu);
	/* At most a second at a time: shutdown waits for no longer. */
	if (due > now + 1000000)
		due = now + 1000000;
	if (due > now) {
		struct timespec ts = { (due - now) / 1000000,
				       (due - now) % 1000000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

static void *worker(void *arg)
{
	struct kb_cleaner *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct kb_clean_job *j;

		while (!c->stop && !c->todo)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		j = c->todo;
		c->todo = j->next;
		pthread_mutex_unlock(&c->mu);
		kb_clean_run(j, &c->thr, &c->stop);
		pthread_mutex_lock(&c->mu);
		j->next = c->done;
		c->done = j;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int kb_cleaner_start(struct kb_store *s)
{
	struct kb_cleaner *c;
	int n = s->o.cleaner_threads, err = 0;
	sigset_t all, old;

	if (n <= 0)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->th = calloc((size_t)n, sizeof(*c->th));
	if (!c->th) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_mutex_init(&c->thr.mu, NULL);
	/* Kafka's default is Double.MAX_VALUE: no limit. */
	c->thr.rate = s->o.cleaner_io_max_bps < 1e18 ?
		      s->o.cleaner_io_max_bps : 0;
	c->thr.start_us = mono_us();
	/* Signals are the loop's (signalfd): the threads never take one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < n; i++) {
		err = pthread_create(&c->th[i], NULL, worker, c);
		if (err) {
			kb_err("cannot start log cleaner thread: %s",
			       strerror(err));
			break;
		}
		c->n_th++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->cl = c;
	if (!c->n_th) {
		kb_cleaner_stop(s);
		return -err;
	}
	kb_info("log cleaner: %d thread(s), %s", c->n_th,
		c->thr.rate > 0 ? "I/O limited" : "no I/O limit");
	return 0;
}

static void free_list(struct kb_clean_job *j)
{
	while (j) {
		struct kb_clean_job *n = j->next;

		kb_clean_job_free(j);
		j = n;
	}
}

void kb_cleaner_stop(struct kb_store *s)
{
	struct kb_cleaner *c = s->cl;

	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->n_th; i++)
		pthread_join(c->th[i], NULL);
	/* Work not swapped in is dropped: the old segments are intact. */
	free_list(c->todo);
	free_list(c->done);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->thr.mu);
	free(c->th);
	free(c);
	s->cl = NULL;
}

/* The eligible partition with the highest dirty ratio, or NULL. */
static struct kb_partition *dirtiest(struct kb_store *s, int64_t now_ms)
{
	struct kb_partition *best = NULL;
	double best_r = -1, r;

	for (size_t i = 0; i < s->n_topics; i++) {
		struct kb_tstate *ts = s->topics[i];

		if (!ts->eff.policy_compact)
			continue;
		for (int32_t k = 0; k < ts->t.n_partitions; k++) {
			struct kb_partition *p = ts->parts[k];

			if (p && kb_clean_eligible(p, now_ms, &r) &&
			    r > best_r) {
				best = p;
				best_r = r;
			}
		}
	}
	return best;
}

void kb_cleaner_tick(struct kb_store *s, int64_t now_ms)
{
	struct kb_cleaner *c = s->cl;
	struct kb_clean_job *done;
	double r;

	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	done = c->done;
	c->done = NULL;
	pthread_mutex_unlock(&c->mu);
	while (done) {
		struct kb_clean_job *n = done->next;

		kb_clean_apply(s, done);
		kb_clean_job_free(done);
		c->busy--;
		c->next_scan = 0;	/* more may be due: look again now */
		done = n;
	}
	if (now_ms < c->next_scan)
		return;
	while (c->busy < c->n_th) {
		struct kb_partition *p = dirtiest(s, now_ms);
		struct kb_clean_job *j = p ? kb_clean_plan(p, now_ms, false,
							   &r) : NULL;

		if (!j) {
			c->next_scan = now_ms + s->o.cleaner_backoff_ms;
			return;
		}
		pthread_mutex_lock(&c->mu);
		j->next = c->todo;
		c->todo = j;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		c->busy++;
	}
}

int kb_store_clean_now(struct kb_store *s, const char *topic, int32_t part,
		       int64_t now_ms)
{
	struct kb_partition *p = kb_store_partition(s, topic, part);
	struct kb_clean_job *j;
	double r;
	int err;

	if (!p)
		return -ENOENT;
	j = kb_clean_plan(p, now_ms, true, &r);
	if (!j)
		return p->cl_job ? -EBUSY : 0;
	kb_clean_run(j, NULL, NULL);
	err = kb_clean_apply(s, j);
	kb_clean_job_free(j);
	return err;
}

void kb_cleaner_checkpoint_load(struct kb_store *s)
{
	for (size_t d = 0; d < s->o.n_log_dirs; d++) {
		char *buf, *line, *save = NULL;
		size_t len;
		int ln = 0;

		if (kb_read_small(s->dfds[d], CKPT_FILE, &buf, &len))
			continue;
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char topic[KB_TOPIC_NAME_MAX + 1];
			struct kb_partition *p;
			int32_t part;
			int64_t off;

			if (ln++ < 2)	/* version, count */
				continue;
			if (sscanf(line, "%249s %" SCNd32 " %" SCNd64, topic,
				   &part, &off) != 3 || off < 0)
				continue;
			p = kb_store_partition(s, topic, part);
			if (p && p->dir_idx == (int)d)
				p->first_dirty = off < p->log_end ? off :
						 p->log_end;
		}
		free(buf);
	}
}

int kb_cleaner_checkpoint_write(struct kb_store *s, int dir_idx)
{
	size_t cap = 4096, len = 0, n = 0;
	char *buf = malloc(cap), *body;
	int err;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_topics; i++) {
		struct kb_tstate *ts = s->topics[i];

		for (int32_t k = 0; k < ts->t.n_partitions; k++) {
			struct kb_partition *p = ts->parts[k];

			if (!p || p->dir_idx != dir_idx || p->first_dirty <= 0)
				continue;
			if (cap - len < KB_TOPIC_NAME_MAX + 48) {
				char *nb = realloc(buf, cap * 2);

				if (!nb) {
					free(buf);
					return -ENOMEM;
				}
				buf = nb;
				cap *= 2;
			}
			len += (size_t)snprintf(buf + len, cap - len,
						"%s %d %" PRId64 "\n",
						ts->t.name, k, p->first_dirty);
			n++;
		}
	}
	if (asprintf(&body, "0\n%zu\n%.*s", n, (int)len, buf) < 0) {
		free(buf);
		return -ENOMEM;
	}
	free(buf);
	err = kb_write_atomic(s->dfds[dir_idx], s->dirs[dir_idx], CKPT_FILE,
			      body, strlen(body));
	free(body);
	return err;
}
