/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals shared by the files of daemon/store/.  Nothing here is part of
 * the API in store.h.
 */
#ifndef KB_STORE_INTERNAL_H
#define KB_STORE_INTERNAL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/crc32c.h"
#include "common/file.h"
#include "common/time.h"
#include "store/store.h"

/* ---- record batch v2 layout (batch.c) ---- */

#define KB_B_BASE_OFFSET	0
#define KB_B_LENGTH		8
#define KB_B_EPOCH		12
#define KB_B_MAGIC		16
#define KB_B_CRC		17
#define KB_B_ATTR		21
#define KB_B_LAST_DELTA		23
#define KB_B_BASE_TS		27
#define KB_B_MAX_TS		35
#define KB_B_PID		43
#define KB_B_PEPOCH		51
#define KB_B_BASE_SEQ		53
#define KB_B_COUNT		57
#define KB_B_HDR		61	/* header bytes, records follow */
#define KB_B_LOG_OVERHEAD	12	/* baseOffset + batchLength */
#define KB_B_MIN_LENGTH		(KB_B_HDR - KB_B_LOG_OVERHEAD)
#define KB_RBUF_SIZE		16384

#define KB_ATTR_COMPRESSION	0x07
#define KB_ATTR_LOG_APPEND_TIME	0x08
#define KB_ATTR_TRANSACTIONAL	0x10
#define KB_ATTR_CONTROL		0x20
#define KB_ATTR_DELETE_HORIZON	0x40	/* baseTimestamp is the horizon */

struct kb_batch {
	int64_t base;
	int32_t length;		/* batchLength: bytes after this field */
	int8_t magic;
	uint32_t crc;
	int16_t attr;
	int32_t last_delta;
	int64_t base_ts;
	int64_t max_ts;
	int64_t pid;
	int16_t pepoch;
	int32_t base_seq;
	int32_t count;
};

static inline uint64_t kb_get_be64(const uint8_t *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 |
	       (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
	       (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	       (uint64_t)p[6] << 8 | p[7];
}

static inline uint32_t kb_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t kb_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void kb_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void kb_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void kb_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/* Decodes the fixed header; @p must hold KB_B_HDR bytes. */
void kb_batch_parse(const uint8_t *p, struct kb_batch *b);
/* Total size of the batch on disk. */
static inline uint64_t kb_batch_size(const struct kb_batch *b)
{
	return KB_B_LOG_OVERHEAD + (uint64_t)(uint32_t)b->length;
}

/* Last offset and last sequence of a batch. */
static inline int64_t kb_batch_last(const struct kb_batch *b)
{
	return b->base + b->last_delta;
}

/*
 * Fully validates the batch at @p (@avail bytes available): header sanity,
 * size limit (@max_bytes, 0 = none), CRC, count, and the records
 * themselves, decompressed first for a compressed batch.  Fills @b.
 * Returns KB_ERR_NONE or the Kafka error and sets *@why.
 */
int kb_batch_check(const uint8_t *p, size_t avail, uint32_t max_bytes,
		   struct kb_batch *b, const char **why);
/* Whether every record of checked batch @b (at @p) has a non-null key,
 * as a compacted topic requires. */
bool kb_batch_keyed(const uint8_t *p, const struct kb_batch *b);
/*
 * The same, and for a compressed batch hands its decompressed records to
 * the caller (*@raw, freed by it); *@raw stays untouched for an
 * uncompressed one.
 */
int kb_batch_check_raw(const uint8_t *p, size_t avail, uint32_t max_bytes,
		       struct kb_batch *b, const char **why, uint8_t **raw,
		       size_t *raw_len);
/*
 * The checked batch @src (@b) rebuilt with @codec (0 uncompressed, 1-4)
 * around its records @raw: attributes, length and CRC rewritten, the rest
 * of the header kept.  *@out is allocated (freed by the caller) and @b
 * describes it.  KB_ERR_MESSAGE_TOO_LARGE when the result passes
 * @max_bytes (0 = none), with *@why.
 */
int kb_batch_recompress(const uint8_t *src, struct kb_batch *b,
			const uint8_t *raw, size_t raw_len, int codec,
			uint32_t max_bytes, uint8_t **out, const char **why);
/* Header-only sanity check used when scanning files (no CRC). */
bool kb_batch_hdr_sane(const struct kb_batch *b);

/* ---- buffered header iterator over a segment file (segment.c) ---- */

struct kb_hdr_iter {
	int fd;
	uint64_t pos;		/* file position of the next batch */
	uint64_t end;		/* file size */
	uint8_t *buf;
	size_t cap;
	uint64_t buf_pos;	/* file position of buf[0] */
	size_t buf_len;
	bool borrowed;
};

/*
 * In the records of an uncompressed batch, the first record whose
 * timestamp is >= @ts: its offset delta and timestamp.  False when none
 * or the records are malformed.
 */
bool kb_batch_find_ts(const uint8_t *p, const uint8_t *end, int32_t count,
		      int64_t base_ts, int64_t ts, int32_t *delta,
		      int64_t *rec_ts);
/*
 * Decompresses the records field of a batch compressed with @codec (1-4,
 * the attributes' low bits) into a new buffer (*@out, freed by the
 * caller) of at most @max bytes.  -EINVAL when the data does not
 * decompress, -E2BIG when it would pass @max.
 */
int kb_records_inflate(int codec, const uint8_t *in, size_t len, size_t max,
		       uint8_t **out, size_t *out_len);
/* Compresses @len bytes of records with @codec (1-4) into a new buffer
 * (*@out, freed by the caller).  0 or a negative errno. */
int kb_records_deflate(int codec, const uint8_t *in, size_t len,
		       uint8_t **out, size_t *out_len);
/* The @max a batch checked under @max_bytes decompresses within. */
size_t kb_inflate_cap(uint32_t max_bytes);

/*
 * Returns 1 with @b at *@pos (and moves past it), 0 at a clean end,
 * -EBADMSG at a bad or torn header, or a negative errno.
 */
int kb_hdr_next(struct kb_hdr_iter *it, struct kb_batch *b, uint64_t *pos);
void kb_hdr_iter_init(struct kb_hdr_iter *it, int fd, uint64_t pos,
		      uint64_t end, size_t cap);
/* Same, reading through the caller's buffer (never freed here). */
void kb_hdr_iter_init_buf(struct kb_hdr_iter *it, int fd, uint64_t pos,
			  uint64_t end, uint8_t *buf, size_t cap);
void kb_hdr_iter_free(struct kb_hdr_iter *it);

/* ---- indexes and segments (index.c, segment.c) ---- */

struct kb_oidx {
	uint32_t rel;		/* base offset - segment base */
	uint32_t pos;		/* file position of that batch */
};

struct kb_tidx {
	int64_t ts;		/* max timestamp so far in the segment */
	uint32_t rel;		/* offset of the batch that has it */
};

struct kb_segment {
	int64_t base;
	int fd;
	uint64_t size;
	int64_t max_ts;		/* -1 when no batch has a timestamp */
	int64_t max_ts_off;
	int64_t roll_ts;	/* time the segment's age counts from */
	uint64_t since_idx;	/* bytes appended since the last entry */
	uint64_t wb_pos;	/* write-behind started below this offset */
	struct kb_oidx *o;
	uint32_t n_o, cap_o, saved_o;
	struct kb_tidx *t;
	uint32_t n_t, cap_t, saved_t;
};

/* File name of segment @base's @ext (".log", ".index", ...). */
static inline void kb_seg_name(char *buf, size_t len, int64_t base,
			       const char *ext)
{
	snprintf(buf, len, "%020" PRId64 "%s", base, ext);
}

int kb_seg_create(int dfd, const char *dir, int64_t base, int64_t now_ms,
		  struct kb_segment *seg);
int kb_seg_open(int dfd, const char *dir, int64_t base,
		struct kb_segment *seg);
void kb_seg_close(struct kb_segment *seg);
/* Removes the segment's files (after closing it). */
void kb_seg_unlink(int dfd, int64_t base);

/* Index bookkeeping for a batch appended at @pos. */
int kb_idx_note(struct kb_segment *seg, const struct kb_batch *b,
		uint64_t pos, uint32_t interval);
/* Adds the final time entry before a segment becomes inactive. */
int kb_idx_seal(struct kb_segment *seg);
/* Largest indexed position for a batch whose base offset <= @off. */
uint64_t kb_idx_lookup(const struct kb_segment *seg, int64_t off);
/* Position to start scanning for the first batch with max ts >= @ts. */
uint64_t kb_idx_lookup_time(const struct kb_segment *seg, int64_t ts);
void kb_idx_reset(struct kb_segment *seg);
/* Writes unsaved entries; @all rewrites whole files atomically (fsync). */
int kb_idx_save(int dfd, const char *dir, struct kb_segment *seg, bool all);
/* Loads and validates index files of an inactive segment. */
int kb_idx_load(int dfd, struct kb_segment *seg);
void kb_idx_free(struct kb_segment *seg);

/* ---- idempotent producers (producer.c) ---- */

#define KB_PROD_CACHE 5

struct kb_pbatch {
	int32_t first_seq;
	int32_t last_seq;
	int64_t base;
};

struct kb_pstate {
	int64_t pid;
	int16_t epoch;
	int32_t last_seq;
	uint8_t n, head;	/* ring of the last batches */
	struct kb_pbatch b[KB_PROD_CACHE];
};

struct kb_producers {
	struct kb_pstate *v;	/* sorted by pid */
	size_t n, cap;
};

struct kb_pstate *kb_prod_find(struct kb_producers *ps, int64_t pid);
/* Inserts or replaces. */
int kb_prod_put(struct kb_producers *ps, const struct kb_pstate *st);
/*
 * Checks @b against @st (NULL = unknown producer).  Returns KB_ERR_NONE,
 * KB_ERR_DUPLICATE_SEQUENCE_NUMBER with *@dup_base set, or an error.
 */
int kb_prod_check(const struct kb_pstate *st, const struct kb_batch *b,
		  bool allow_unknown, int64_t *dup_base);
/* Records batch @b written at @base in @st (initialised when new). */
void kb_prod_apply(struct kb_pstate *st, bool is_new,
		   const struct kb_batch *b, int64_t base);
void kb_prod_free(struct kb_producers *ps);
int kb_prod_snapshot_write(int dfd, const struct kb_producers *ps,
			   int64_t off);
int kb_prod_snapshot_load(int dfd, const char *dir, int64_t off,
			  struct kb_producers *ps);
void kb_prod_snapshot_name(char *buf, size_t len, int64_t off);

/* ---- per-topic configuration (topic_config.c) ---- */

/* The log settings a partition runs with: broker defaults or overrides. */
struct kb_log_cfg {
	uint64_t segment_bytes;
	int64_t roll_ms;
	int64_t retention_ms;
	int64_t retention_bytes;
	int64_t flush_messages;
	int64_t flush_ms;
	uint32_t max_message_bytes;
	uint32_t index_interval_bytes;
	bool log_append_time;
	/* cleanup.policy: retention deletes, the cleaner compacts, or both. */
	bool policy_delete;
	bool policy_compact;
	int64_t delete_retention_ms;
	double min_cleanable_ratio;
	int64_t min_compaction_lag_ms;
	int64_t max_compaction_lag_ms;
	/* compression.type: KB_COMPRESSION_PRODUCER or a codec (0-4). */
	int8_t compression;
};

enum {
	KB_TCFG_RETENTION_MS,
	KB_TCFG_RETENTION_BYTES,
	KB_TCFG_SEGMENT_BYTES,
	KB_TCFG_SEGMENT_MS,
	KB_TCFG_MAX_MESSAGE_BYTES,
	KB_TCFG_TIMESTAMP_TYPE,
	KB_TCFG_FLUSH_MESSAGES,
	KB_TCFG_FLUSH_MS,
	KB_TCFG_CLEANUP_POLICY,
	KB_TCFG_MIN_INSYNC,
	KB_TCFG_COMPRESSION,
	KB_TCFG_INDEX_INTERVAL,
	KB_TCFG_DELETE_RETENTION_MS,
	KB_TCFG_MIN_CLEANABLE_RATIO,
	KB_TCFG_MIN_COMPACTION_LAG_MS,
	KB_TCFG_MAX_COMPACTION_LAG_MS,
	KB_TCFG_N
};

#define KB_TCFG_VALUE_MAX 32	/* normalised values are short */

struct kb_tstate;
struct kb_clean_job;
struct kb_cleaner;

/* Index of a key, or -1 when unknown. */
int kb_tcfg_index(const char *key);
/* Checks @value for key @idx and writes its canonical form to @out. */
int kb_tcfg_normalize(int idx, const char *value, char *out, size_t cap,
		      const char **why);
void kb_log_cfg_defaults(const struct kb_store_opts *o, struct kb_log_cfg *c);
/* Parses a cleanup.policy list: false when it is not one. */
bool kb_tcfg_policy(const char *v, bool *del, bool *compact);
/* Recomputes ts->eff from the store defaults and ts->cfg. */
void kb_tcfg_effective(const struct kb_store *s, struct kb_tstate *ts);

/* ---- partitions (partition.c) ---- */

struct kb_epoch_entry {
	int32_t epoch;
	int64_t start;		/* first offset written under it */
};

struct kb_partition {
	struct kb_store *s;
	char *path;		/* <log dir>/<topic>-<n> */
	int dfd;		/* that directory */
	int dir_idx;		/* index of its log dir */
	struct kb_segment *segs;
	size_t n_segs, cap_segs;
	int64_t log_start, log_end, hw;
	int64_t unflushed;	/* messages appended since the last fsync */
	int64_t last_flush_ms;
	bool dirty;
	const struct kb_log_cfg *cfg;	/* the topic's, or the store's */
	struct kb_producers prod;
	struct kb_part_stats stats;
	/* Compaction: offsets below first_dirty have been cleaned (the
	 * cleaner checkpoint); the earliest delete horizon of tombstones
	 * kept (INT64_MAX none, 0 unknown); the job in flight. */
	int64_t first_dirty;
	int64_t tomb_horizon;
	struct kb_clean_job *cl_job;
	/* Leader epochs (epoch.c): stamped into appended batches, and the
	 * cache of where each epoch started. */
	int32_t leader_epoch;
	struct kb_epoch_entry *epochs;
	size_t n_epochs, cap_epochs;
};

/* epoch.c: leader-epoch-checkpoint of the partition dir. */
void kb_epoch_load(struct kb_partition *p);
void kb_epoch_free(struct kb_partition *p);
int32_t kb_epoch_latest(const struct kb_partition *p);
/* Records that @epoch starts at @start when newer than the latest. */
int kb_epoch_assign(struct kb_partition *p, int32_t epoch, int64_t start);
/* Drops the entries starting at or past @end (log truncated to @end). */
void kb_epoch_truncate(struct kb_partition *p, int64_t end);
void kb_epoch_clear(struct kb_partition *p);

int kb_part_open(struct kb_store *s, int dir_idx, const char *topic,
		 int32_t idx, bool create, struct kb_partition **out);
void kb_part_close(struct kb_partition *p);
int kb_part_flush(struct kb_partition *p);
void kb_part_tick(struct kb_partition *p, int64_t now_ms);

static inline struct kb_segment *kb_part_active(struct kb_partition *p)
{
	return &p->segs[p->n_segs - 1];
}

/* Seals the active segment and starts a new one at the log end. */
int kb_part_roll(struct kb_partition *p, int64_t now_ms);
/* Whether @add more bytes ending at offset @next_last start a segment. */
bool kb_part_should_roll(struct kb_partition *p, uint64_t add,
			 int64_t next_last, int64_t now_ms);
/* First batch whose last offset is >= @off, from its segment (*@si) on:
 * 1 found (@it, @b, @pos at it), 0 none, or a negative errno. */
int kb_part_find_batch(struct kb_partition *p, int64_t off, size_t *si,
		       struct kb_hdr_iter *it, struct kb_batch *b,
		       uint64_t *pos);

/* ---- store (store.c, topics.c) ---- */

struct kb_tstate {
	struct kb_topic t;
	int32_t *dir_of;		/* log dir index per partition */
	struct kb_partition **parts;
	char *cfg[KB_TCFG_N];		/* overrides, NULL = default */
	struct kb_log_cfg eff;		/* what the partitions use */
};

struct kb_store {
	struct kb_store_opts o;
	struct kb_log_cfg dflt;		/* from o, for topics and partitions */
	char **dirs;
	int *dfds;
	size_t *dir_load;		/* partitions per log dir */
	struct kb_tstate **topics;
	size_t n_topics, cap_topics;
	uint32_t *by_name;		/* hash of names: topic index + 1 */
	size_t n_by_name;		/* power of two, 0 = none */
	uint64_t meta_gen;
	int64_t next_pid, pid_limit;
	/* Scratch reused by appends: no allocation per request. */
	struct iovec *iov;
	size_t cap_iov;
	uint8_t *hdrs;
	struct kb_batch *batches;
	int64_t *dup_bases;
	const uint8_t **bsrc;		/* each batch's bytes to write */
	uint8_t **rebuilt;		/* recompressed batches, or NULL */
	size_t cap_batches;
	struct kb_pstate *pwork;
	bool *pwork_new;
	size_t cap_pwork;
	struct kb_cleaner *cl;		/* NULL: no cleaner threads */
	uint8_t *rbuf;			/* header reads of Fetch */
	uint8_t *bbuf;			/* whole batches during recovery */
	size_t cap_bbuf;
};

int kb_topics_load(struct kb_store *s);
void kb_topics_free(struct kb_store *s);
struct kb_tstate *kb_tstate_new(const char *name, int32_t n);
void kb_tstate_free(struct kb_tstate *ts);
/* Index of topic @name in s->topics, or -1. */
ssize_t kb_topic_idx(struct kb_store *s, const char *name);
int kb_topic_add(struct kb_store *s, struct kb_tstate *ts);

/* topics_meta.c: <log dir>/topics.meta, every copy with the next
 * generation, leaving topic @skip out; the newest valid copy on load. */
int kb_topics_meta_write(struct kb_store *s, const struct kb_tstate *skip);
int kb_topics_meta_load(struct kb_store *s, bool *found, bool *stale);

/* ---- log compaction (cleaner.c, clean_job.c, clean_swap.c) ---- */

/* A closed segment given to a cleaning: a dup of its fd. */
struct kb_clean_seg {
	int64_t base;
	int fd;
	uint64_t size;
};

/* One group of old segments rewritten as one: <base>.cleaned, replacing
 * every segment with a base in [base, end). */
struct kb_clean_out {
	int64_t base, end;
	size_t first, n;		/* the old ones: job segs[first..] */
	struct kb_segment seg;		/* fd -1: nothing changed, no file */
};

struct kb_clean_job {
	/* Set on the loop. */
	struct kb_partition *p;		/* NULL once the partition closes */
	int dfd;			/* dup of the partition dir */
	char *path;
	struct kb_clean_seg *segs;	/* log start up to @bound */
	size_t n_segs;
	size_t dirty;			/* first segment not yet cleaned */
	int64_t bound;			/* first offset not cleanable */
	int64_t now_ms;
	struct kb_log_cfg cfg;
	uint32_t index_interval;
	uint64_t map_bytes;
	/* Set by the worker. */
	int err;
	int64_t clean_to;		/* the new first dirty offset */
	int64_t min_horizon;		/* of the tombstones kept */
	struct kb_clean_out *outs;
	size_t n_outs;
	uint64_t dirty_bytes;		/* of the segments mapped */
	uint64_t bytes_read, bytes_written, records_in, records_out;
	int64_t elapsed_us;
	struct kb_clean_job *next;
};

/* I/O rate limit shared by the cleaner threads. */
struct kb_throttle;
void kb_throttle(struct kb_throttle *t, uint64_t bytes);

/* On the loop: a job for @p when it is eligible (or, with @force, has
 * anything to clean); NULL otherwise.  *@ratio gets its dirty ratio. */
struct kb_clean_job *kb_clean_plan(struct kb_partition *p, int64_t now_ms,
				   bool force, double *ratio);
/* On the loop, without building a job: whether @p is worth a job, and its
 * dirty ratio (forced logs get 2). */
bool kb_clean_eligible(struct kb_partition *p, int64_t now_ms,
		       double *ratio);
/* Anywhere (a cleaner thread): the cleaning itself.  @stop, when set,
 * is polled between batches. */
void kb_clean_run(struct kb_clean_job *j, struct kb_throttle *t,
		  const volatile bool *stop);
/* On the loop: swaps the cleaned segments in.  0 or a negative errno. */
int kb_clean_apply(struct kb_store *s, struct kb_clean_job *j);
/* Closes and removes whatever the job still holds. */
void kb_clean_job_free(struct kb_clean_job *j);

/*
 * The crash-safe swap of one group (clean_swap.c):
 *   1. <base>.cleaned -> <base>.<end>.swap, dir synced (the commit point)
 *   2. the old segments with a base in [base, end) removed
 *   3. <base>.<end>.swap -> <base>.log, dir synced
 * @stop_after (tests) returns after that step as a crash would; -1 runs
 * all.  kb_clean_recover(), run before a partition's segments are listed,
 * removes *.cleaned and completes any *.swap.
 */
int kb_clean_swap(int dfd, const char *path, int64_t base, int64_t end,
		  const int64_t *old, size_t n_old, int stop_after);
int kb_clean_recover(int dfd, const char *path);
void kb_clean_name(char *buf, size_t len, int64_t base, int64_t end);

/* cleaner.c: threads, scheduling, the per-dir checkpoint. */
int kb_cleaner_start(struct kb_store *s);
void kb_cleaner_stop(struct kb_store *s);
void kb_cleaner_tick(struct kb_store *s, int64_t now_ms);
void kb_cleaner_checkpoint_load(struct kb_store *s);
int kb_cleaner_checkpoint_write(struct kb_store *s, int dir_idx);

#endif
