/*
 * alog_params.h - every tunable of the log in one place, with Kafka's defaults beside it.
 *
 * The per-log settings a user may change are in struct alog_config (alog.h); these are the
 * engine's own constants: limits that keep a hostile or damaged file from driving memory
 * use, and the cadences of the background work.
 */
#ifndef ALOG_PARAMS_H
#define ALOG_PARAMS_H

#include <stdint.h>

/* Defaults for struct alog_config (Kafka's). */
#define ALOG_SEGMENT_BYTES_DEFAULT       (1ull << 30)             /* 1 GiB */
#define ALOG_SEGMENT_MS_DEFAULT          (7LL * 24 * 3600 * 1000) /* 7 days */
#define ALOG_INDEX_INTERVAL_DEFAULT      4096u
#define ALOG_INDEX_MAX_BYTES_DEFAULT     (10u << 20) /* 10 MiB */
#define ALOG_RETENTION_BYTES_DEFAULT     (-1LL)
#define ALOG_RETENTION_MS_DEFAULT        (7LL * 24 * 3600 * 1000)
#define ALOG_FLUSH_INTERVAL_MS_DEFAULT   1000LL
#define ALOG_FLUSH_INTERVAL_MSGS_DEFAULT (-1LL)
#define ALOG_MAX_BATCH_BYTES_DEFAULT     ((1u << 20) + 12) /* message.max.bytes */
#define ALOG_PRODUCER_ID_EXPIRATION_MS_DEFAULT 86400000LL /* producer.id.expiration.ms */
#define ALOG_MIN_COMPACTION_LAG_MS_DEFAULT 0LL
#define ALOG_MAX_COMPACTION_LAG_MS_DEFAULT INT64_MAX
#define ALOG_DELETE_RETENTION_MS_DEFAULT   (24LL * 3600 * 1000) /* 1 day */
#define ALOG_MIN_CLEANABLE_RATIO_DEFAULT   0.5

/* Defaults for struct alog_store_config. */
#define ALOG_STORE_MIN_OPEN_FILES             64
#define ALOG_STORE_CHECKPOINT_INTERVAL_DEFAULT 5000LL /* Kafka: 60000 */
#define ALOG_STORE_URGENT_CHECKPOINT_MS       100LL /* after a roll: at most this late */
#define ALOG_SWEEP_BATCH                      256   /* logs recovered per syncfs after a crash */
#define ALOG_CLEANER_THREADS_DEFAULT          1
#define ALOG_CLEANER_BACKOFF_MS_DEFAULT       15000LL
#define ALOG_CLEANER_DEDUPE_BYTES_DEFAULT     (128ull << 20)
#define ALOG_CLEANER_IO_BYTES_DEFAULT         (512u << 10)
/* The cleaner decompresses a batch's records to at most this (a bomb stops the pass). */
#define ALOG_CLEAN_INFLATE_MAX                (256u << 20)

/* Limits on the settings. Positions in the .index are u32, so a segment must stay below
 * 2 GiB (Kafka: segment.bytes is an int). */
#define ALOG_SEGMENT_BYTES_MIN   1024ull
#define ALOG_SEGMENT_BYTES_MAX   0x7fffffffull
#define ALOG_INDEX_MAX_BYTES_MIN 64u

/* Relative offsets in the indexes are u32; Kafka keeps them within an int. */
#define ALOG_MAX_RELATIVE_OFFSET 0x7fffffffLL

/* Reads walk batch headers from an index entry. The first pread reads one index interval
 * plus a header (the batch wanted starts within it unless batches are large), capped by
 * this buffer; a walk that leaves it continues with small reads (ALOG_SCAN_FOLLOW bytes,
 * doubling). See scan.c and the figures in README.md. */
#define ALOG_READ_CHUNK  8192u
#define ALOG_SCAN_FOLLOW 128u
/* Recovery and index rebuilds stream through a segment with this buffer. */
#define ALOG_SCAN_CHUNK (1u << 20)

/* The flusher writes the recovery point at most this often (and at every roll and close),
 * msync'ing the indexes it vouches for first. Kafka: log.flush.offset.checkpoint.interval.ms */
#define ALOG_CHECKPOINT_INTERVAL_MS 5000LL
/* The flusher wakes at least this often, to notice flush.ms deadlines. */
#define ALOG_FLUSHER_MAX_SLEEP_MS 1000LL

/* Kafka's file names. */
#define ALOG_CLEAN_SHUTDOWN_FILE ".kafka_cleanshutdown"
#define ALOG_RECOVERY_POINT_FILE "recovery-point-offset-checkpoint"
#define ALOG_LOG_START_FILE      "log-start-offset-checkpoint"
#define ALOG_CLEANER_FILE        "cleaner-offset-checkpoint"
#define ALOG_CHECKPOINT_VERSION  0
/* Producer state snapshots (Kafka's LogFileUtils.PRODUCER_SNAPSHOT_FILE_SUFFIX). */
#define ALOG_SNAPSHOT_SUFFIX ".snapshot"
/* The largest snapshot file an open reads: 1 M producers of five batches each. A larger
 * file is treated as damaged (skipped), never trusted to size an allocation. */
#define ALOG_SNAPSHOT_MAX_BYTES (ALOG_SNAPSHOT_HEADER + 5LL * ALOG_SNAPSHOT_ENTRY * (1 << 20))
/* A store's own files: its lock (Kafka's name) and the journal of logs that may hold
 * unflushed records (no Kafka equivalent: Kafka recovers every log after a crash). */
#define ALOG_STORE_LOCK_FILE     ".lock"
#define ALOG_JOURNAL_FILE        "open-log-journal"
#define ALOG_CHECKPOINT_MAX_BYTES (256u << 20) /* a per-directory checkpoint we will read */

#endif
