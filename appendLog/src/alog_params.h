/*
 * alog_params.h - every tunable of the log in one place, with Kafka's defaults beside it.
 *
 * The per-log settings a user may change are in struct alog_config (alog.h); these are the
 * engine's own constants: limits that keep a hostile or damaged file from driving memory
 * use, and the cadences of the background work.
 */
#ifndef ALOG_PARAMS_H
#define ALOG_PARAMS_H

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
#define ALOG_CHECKPOINT_VERSION  0
/* Producer state snapshots (Kafka's LogFileUtils.PRODUCER_SNAPSHOT_FILE_SUFFIX). */
#define ALOG_SNAPSHOT_SUFFIX ".snapshot"
/* The largest snapshot file an open reads: 1 M producers of five batches each. A larger
 * file is treated as damaged (skipped), never trusted to size an allocation. */
#define ALOG_SNAPSHOT_MAX_BYTES (ALOG_SNAPSHOT_HEADER + 5LL * ALOG_SNAPSHOT_ENTRY * (1 << 20))

#endif
