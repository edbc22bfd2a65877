/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Partition log storage for kbrokerd.
 *
 * A store spans every log dir.  Each partition is a directory
 * <log.dir>/<topic>-<partition>/ of segment files (<base offset>.log, 20
 * digits) holding record batches (magic 2) exactly as producers sent them,
 * with only the base offset (and, for LogAppendTime topics, the max
 * timestamp) rewritten; beside each segment a sparse offset index (.index)
 * and time index (.timeindex).  Topic metadata lives in <log.dir>/topics.meta
 * (one copy per dir, written with rename for atomicity), per-topic config
 * overrides included.
 *
 * The API is single-threaded: the broker's event loop is the only caller.
 * Functions return 0 or a negative errno for system failures; Kafka-level
 * outcomes are reported as Kafka error codes (KB_ERR_*) in result structs.
 *
 * Designed for replication later: the high watermark is kept apart from the
 * log end offset, and a log can be truncated back to an offset.
 *
 * Other files: <log.dir>/producer-id-block (the end of the last reserved
 * block of producer ids, in every dir); in a partition dir, log-start-offset
 * (checkpoint of the log start, written before segments are deleted) and
 * <offset>.snapshot (idempotent producer state at a segment base, written
 * when a segment rolls, so that open replays only the active segment).
 * Leftover *.tmp files and partition dirs of no topic are removed on open.
 * On open the active segment is always checked batch by batch (CRC
 * included) and a torn tail cut; older segments are trusted, their index
 * files rebuilt only when missing or inconsistent.
 */
#ifndef KB_STORE_STORE_H
#define KB_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/errors.h"

struct kb_store_opts {
	const char *const *log_dirs;	/* log.dirs, at least one */
	size_t n_log_dirs;
	uint64_t segment_bytes;		/* log.segment.bytes (1 GiB) */
	int64_t roll_ms;		/* log.roll.ms (7 days), < 0 = never */
	int64_t retention_ms;		/* log.retention.ms, -1 = forever (7 d) */
	int64_t retention_bytes;	/* log.retention.bytes, -1 = no limit */
	int64_t flush_messages;		/* log.flush.interval.messages (INT64_MAX) */
	int64_t flush_ms;		/* log.flush.interval.ms, -1 = never */
	uint32_t index_interval_bytes;	/* log.index.interval.bytes (4096) */
	uint32_t max_message_bytes;	/* message.max.bytes: largest batch */
	/* log.message.timestamp.type=LogAppendTime for every topic (added;
	 * false = CreateTime, batches flagged LogAppendTime still get it). */
	bool log_append_time;
	/* log.cleanup.policy: NULL = delete; "compact", "compact,delete". */
	const char *cleanup_policy;
	/* log.cleaner.* defaults of the topic keys (0 unless set). */
	int64_t delete_retention_ms;	/* tombstones kept (1 day) */
	double min_cleanable_ratio;	/* dirty share that starts a clean */
	int64_t min_compaction_lag_ms;	/* records younger stay uncleaned */
	int64_t max_compaction_lag_ms;	/* dirty older forces a clean; <= 0 = none */
	/* The cleaner (cleaner.c): threads (0 = off), its read+write rate
	 * limit in bytes/s (0 = none), its offset map's memory, its idle
	 * pause between passes. */
	int cleaner_threads;
	double cleaner_io_max_bps;
	uint64_t cleaner_dedupe_bytes;
	int64_t cleaner_backoff_ms;
	/* compression.type: NULL or "producer" keeps producers' batches as
	 * they are; a codec name has every batch recompressed to it. */
	const char *compression_type;
};

#define KB_TOPIC_NAME_MAX 249

struct kb_topic {
	char name[KB_TOPIC_NAME_MAX + 1];
	uint8_t id[16];			/* topic UUID, random at creation */
	int32_t n_partitions;
};

struct kb_store;
struct kb_partition;

/* Opens every log dir, loads topics, recovers every partition (torn tail
 * batches found by CRC and cut, indexes rebuilt when damaged). */
int kb_store_open(const struct kb_store_opts *opts, struct kb_store **out);
/* Flushes and closes everything. */
void kb_store_close(struct kb_store *s);

/* Topics.  Names follow Kafka's rules ([a-zA-Z0-9._-], 1..249, not "." or
 * ".."); a bad name gives KB_ERR_INVALID_TOPIC_EXCEPTION.  Partitions are
 * spread across log dirs (the dir with the fewest partitions first).
 * Return a KB_ERR_* code (>= 0) or a negative errno. */
int kb_store_topic_create(struct kb_store *s, const char *name,
			  int32_t n_partitions);
int kb_store_topic_delete(struct kb_store *s, const char *name);
/* Gives topic @name the id its cluster knows it by (-EEXIST when another
 * topic has it). */
int kb_store_topic_set_id(struct kb_store *s, const char *name,
			  const uint8_t id[16]);
int kb_store_topic_grow(struct kb_store *s, const char *name,
			int32_t new_total);
const struct kb_topic *kb_store_topic_find(struct kb_store *s,
					   const char *name);
/* The topic @name, created with @auto_partitions partitions when it does
 * not exist and @auto_partitions > 0 (auto.create.topics.enable); NULL
 * with *@err otherwise. */
const struct kb_topic *kb_store_topic_get_or_create(struct kb_store *s,
						    const char *name,
						    int32_t auto_partitions,
						    int16_t *err);
/* Kafka's topic name rules. */
bool kb_topic_name_valid(const char *name);
const struct kb_topic *kb_store_topic_find_id(struct kb_store *s,
					      const uint8_t id[16]);
/* Iteration: i in [0, kb_store_topic_count()); order is stable between
 * changes. */
size_t kb_store_topic_count(struct kb_store *s);
const struct kb_topic *kb_store_topic_at(struct kb_store *s, size_t i);

/*
 * Per-topic configuration, with Kafka's topic-level names: retention.ms,
 * retention.bytes, segment.bytes, segment.ms, max.message.bytes,
 * message.timestamp.type (CreateTime|LogAppendTime), flush.messages,
 * flush.ms, cleanup.policy (delete, compact or compact,delete),
 * delete.retention.ms, min.cleanable.dirty.ratio, min.compaction.lag.ms,
 * max.compaction.lag.ms, and min.insync.replicas (>= 1; kept and reported, a single node has no
 * replicas to count).  A topic holds overrides; every other key follows
 * the store options.  Overrides live in topics.meta with the topic, and
 * take effect on the partitions at once (size and time checks of roll,
 * retention and flush run on the spot).
 *
 * An unknown key or a bad value gives KB_ERR_INVALID_CONFIG and *why, a
 * message naming the key (static or valid until the next config call).
 */
struct kb_cfg_op {
	const char *key;
	const char *value;		/* NULL: drop the override */
};

size_t kb_topic_cfg_key_count(void);
const char *kb_topic_cfg_key_name(size_t i);	/* NULL past the end */
/* Checks one pair without a store (KB_ERR_NONE or INVALID_CONFIG). */
int kb_topic_cfg_check(const char *key, const char *value, const char **why);

/* kb_store_topic_create() with initial overrides, checked before anything
 * is made; with @validate_only nothing is made. */
int kb_store_topic_create_cfg(struct kb_store *s, const char *name,
			      int32_t n_partitions,
			      const struct kb_cfg_op *cfg, size_t n_cfg,
			      bool validate_only, const char **why);
/*
 * Changes the overrides of topic @name: all @ops are checked first and
 * apply together or not at all.  With @replace every override not named
 * by @ops is dropped too (AlterConfigs); otherwise only the named keys
 * change (IncrementalAlterConfigs).  @validate_only checks and changes
 * nothing.  Unknown topic: KB_ERR_UNKNOWN_TOPIC_OR_PARTITION.
 */
int kb_store_topic_alter_config(struct kb_store *s, const char *name,
				const struct kb_cfg_op *ops, size_t n,
				bool replace, bool validate_only,
				const char **why);
/* One key; @value NULL drops the override. */
int kb_store_topic_set_config(struct kb_store *s, const char *name,
			      const char *key, const char *value,
			      bool validate_only, const char **why);
/* The override of @key, or NULL when none (or no such topic or key). */
const char *kb_store_topic_config(struct kb_store *s, const char *name,
				  const char *key);
/* Iteration over a topic's overrides: i from 0 until false. */
bool kb_store_topic_config_at(struct kb_store *s, const char *name, size_t i,
			      const char **key, const char **value);

/* NULL when the topic or partition does not exist. */
struct kb_partition *kb_store_partition(struct kb_store *s, const char *topic,
					int32_t partition);

struct kb_append_result {
	int16_t error;			/* KB_ERR_* */
	int64_t base_offset;		/* first offset given to the records */
	int64_t log_append_time;	/* -1 unless LogAppendTime */
	int64_t log_start_offset;
	const char *error_message;	/* static string or NULL */
};

/*
 * Appends the records field of one partition of a Produce request: one or
 * more record batches.  Each batch is checked (magic 2, length, CRC-32C,
 * record count against lastOffsetDelta, size against message.max.bytes)
 * before anything is written; an invalid input appends nothing.  Offsets
 * are assigned; idempotent batches (producer id >= 0) are checked against
 * the producer's state: a duplicate of one of the last five batches is
 * acknowledged with its original base offset and not appended again; a gap
 * gives OUT_OF_ORDER_SEQUENCE_NUMBER; an old epoch INVALID_PRODUCER_EPOCH.
 * The flush policy is applied after the append.
 *
 * When every batch is a duplicate, the result is KB_ERR_NONE with the
 * original base offset.  An unknown producer id must start at sequence 0
 * unless the log start is above 0 (its history may have been deleted by
 * retention), in which case any sequence is accepted.  A new epoch must
 * start at sequence 0.  Batches with the LogAppendTime attribute get
 * maxTimestamp = now (CRC recomputed), returned in log_append_time.
 * Storage errors give KB_ERR_KAFKA_STORAGE_ERROR and a negative errno.
 */
int kb_partition_append(struct kb_partition *p, const uint8_t *records,
			size_t len, struct kb_append_result *res);

/* A run of whole batches in one segment file, for sendfile().  @fd is a
 * dup() owned by the caller (close it after sending), so retention may
 * delete the segment meanwhile. */
struct kb_read_slice {
	int fd;
	off_t pos;
	size_t len;
};

struct kb_read_result {
	int16_t error;			/* KB_ERR_* */
	int64_t next_offset;		/* after the slice's last batch */
	int64_t high_watermark;
	int64_t last_stable_offset;
	int64_t log_start_offset;
	struct kb_read_slice slice;	/* len 0 and fd -1 when nothing */
};

/*
 * Reads from @offset up to @max_bytes of whole batches, starting with the
 * batch that contains @offset.  With @min_one, the first batch is returned
 * whole even when larger than @max_bytes (Kafka's rule for the first
 * partition of a Fetch).  Only offsets below the high watermark are read.
 * @offset outside [log start, high watermark] gives OFFSET_OUT_OF_RANGE.
 */
int kb_partition_read(struct kb_partition *p, int64_t offset,
		      size_t max_bytes, bool min_one,
		      struct kb_read_result *res);

/* Traffic of a partition: appends are counted by the store, what Fetch
 * sends by the Fetch handler; read by the metrics snapshot.  Messages out
 * are offsets delivered past the fetch offset. */
struct kb_part_stats {
	uint64_t msgs_in, bytes_in, msgs_out, bytes_out;
};

struct kb_part_stats *kb_partition_stats(struct kb_partition *p);

int64_t kb_partition_log_start(struct kb_partition *p);
int64_t kb_partition_log_end(struct kb_partition *p);	/* next offset */
int64_t kb_partition_high_watermark(struct kb_partition *p);
/* Size in bytes of all segments. */
uint64_t kb_partition_size(struct kb_partition *p);

/*
 * ListOffsets: the first offset whose batch max timestamp >= @ts, with that
 * timestamp.  Returns KB_ERR_NONE and *offset = -1 when none.  ts -1 =
 * latest (high watermark), -2 = earliest (log start), -3 = max timestamp
 * (the base offset of the batch holding it: batches are not decompressed).
 */
int kb_partition_offset_for_time(struct kb_partition *p, int64_t ts,
				 int64_t *offset, int64_t *timestamp);

/*
 * Leader epochs.  Appends stamp the partition's current leader epoch (0
 * until a cluster sets one) into each batch's partitionLeaderEpoch and
 * record where each new epoch starts (leader-epoch-checkpoint in the
 * partition dir, Kafka's format).
 */
void kb_partition_set_leader_epoch(struct kb_partition *p, int32_t epoch);
int32_t kb_partition_leader_epoch(const struct kb_partition *p);
/* The newest epoch the log holds batches of, -1 none. */
int32_t kb_partition_latest_epoch(const struct kb_partition *p);
/*
 * OffsetForLeaderEpoch: the end offset of @epoch in this log (the start
 * of the next higher epoch, or the log end for the current one) and the
 * largest epoch <= @epoch; both -1 when @epoch is newer than any known.
 */
void kb_partition_end_for_epoch(const struct kb_partition *p, int32_t epoch,
				int32_t *end_epoch, int64_t *end_offset);

/*
 * Cut the log back so its end offset is @offset.
 * Batches stay whole: if @offset falls inside a batch, that batch goes too
 * and the end becomes its base offset.  @offset at or below the log start
 * empties the log, which then starts at @offset.  Producer state is rebuilt.
 */
int kb_partition_truncate(struct kb_partition *p, int64_t offset);
/*
 * DeleteRecords: moves the log start up to @offset (-1: the high
 * watermark), durably, and deletes the segments wholly below it.  Returns
 * a Kafka error code; @low gets the log start after the call.
 */
int kb_partition_delete_records(struct kb_partition *p, int64_t offset,
				int64_t *low);

/* Producer ids for InitProducerId: unique across restarts. */
int kb_store_next_producer_id(struct kb_store *s, int64_t *pid);

/* Periodic work: time-based flush, roll and retention.  Call about every
 * 100 ms with CLOCK_REALTIME in ms. */
void kb_store_tick(struct kb_store *s, int64_t now_ms);

/*
 * Log compaction (Documentation/kbroker/compaction.rst): with cleaner
 * threads configured, kb_store_tick() also hands eligible compacted logs
 * to them and swaps finished cleanings in.  kb_store_clean_now() cleans
 * one partition on the calling thread, whatever its dirty ratio (tests,
 * tools); 0, -ENOENT, -EBUSY (a thread has it) or a negative errno.
 */
int kb_store_clean_now(struct kb_store *s, const char *topic, int32_t part,
		       int64_t now_ms);

/* Forces an fsync of everything dirty (clean shutdown). */
int kb_store_flush_all(struct kb_store *s);

#endif
