/*
 * alog.h - a partition's log: RecordBatches appended to segment files, found again by
 * offset or time, made durable by a background flusher, recovered after a crash.
 *
 * (Contract header. The module README and the header comment of each source file teach
 * the technique; this file states the interface as rules.)
 *
 *   <dir>/00000000000000000000.log        batches back to back, exactly as validated
 *   <dir>/00000000000000000000.index      sparse: (relative offset u32, position u32)
 *   <dir>/00000000000000000000.timeindex  (max timestamp i64, relative offset u32)
 *   <dir>/00000000000000004096.log        next segment, named by its base offset
 *   ...
 *
 * Rules:
 *  - One writer at a time per log (alog_append takes the log's append lock); any number
 *    of readers concurrently with it. Every function here is thread-safe unless it says
 *    otherwise; alog_close must be the last call on a log.
 *  - alog_append takes a batch that passed kc_batch_validate() (the caller checked the CRC;
 *    the log re-checks only the header), rewrites its base offset (and leader epoch 0) in
 *    the caller's buffer, and writes it whole into one segment: a batch never straddles
 *    two segments.
 *  - Offsets: [start_offset, end_offset) are readable. end_offset is the next offset to be
 *    assigned (Kafka's log-end offset; with one replica it is also the high watermark).
 *    durable_offset <= end_offset: every record below it has been fsynced.
 *  - A slice returned by alog_read holds a reference on its segment: the fd and range stay
 *    valid (even if retention deletes the segment meanwhile) until alog_slice_release. One
 *    exception: when alog_recover cuts records the disk lost, the bytes under a slice of
 *    them are cut too, so reading it comes up short; it never reads other records.
 *  - Errors are -errno or KC_* codes (kc_err.h). After a failed fsync the log is FAILED
 *    (the page cache can no longer be trusted to hold what it says): appends and
 *    durability waits get -EIO, reads are served only below the durable offset. Once the
 *    fault has cleared, alog_recover brings it back in place (or a reopen does).
 *  - The end offset only grows, except across a successful alog_recover, which may cut
 *    records that were appended but never durable and give their offsets out again.
 */
#ifndef ALOG_H
#define ALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kc_buf.h"

/* Kafka's names for these settings are given beside each field. */
struct alog_config {
    uint64_t segment_bytes;          /* log.segment.bytes          default 1 GiB  */
    int64_t segment_ms;              /* log.roll.ms                default 7 days */
    uint32_t index_interval_bytes;   /* log.index.interval.bytes   default 4096   */
    uint32_t index_max_bytes;        /* log.index.size.max.bytes   default 10 MiB */
    int64_t retention_bytes;         /* log.retention.bytes        default -1 (no limit) */
    int64_t retention_ms;            /* log.retention.ms           default 7 days; -1 forever */
    int64_t flush_interval_ms;       /* log.flush.interval.ms      default 1000; -1 never */
    int64_t flush_interval_messages; /* log.flush.interval.messages default -1 (never) */
    uint32_t max_batch_bytes;        /* message.max.bytes          default 1 MiB + 12 */
    /* Added with idempotent producers (appended, so older initialisers still compile): */
    int64_t producer_id_expiration_ms; /* producer.id.expiration.ms default 86400000 (1 day):
                                          alog_producers_expire, and what an open loads */
};

/* Fill cfg with the defaults above. */
void alog_config_init(struct alog_config *cfg);

struct alog;
struct alog_segment;
struct alog_flusher;

/*
 * The flusher: one background thread that fsyncs every log registered with it when the
 * log's flush.ms or flush.messages says so, and at once when someone waits for
 * durability. One fsync releases every waiter it covers (group commit).
 */
int alog_flusher_create(struct alog_flusher **out);
/* Stops the thread and frees it. Close every log that uses it first: a log still
 * registered is a programmer error (it is reported; using that log afterwards is not
 * safe). */
void alog_flusher_destroy(struct alog_flusher *f);

/*
 * Open (creating if needed) the log in dir. After an unclean stop this recovers: it
 * re-reads everything past the recovery point, truncates at the first bad byte, and
 * rebuilds indexes; indexes that fail a sanity check are rebuilt too. flusher may be
 * NULL (then only alog_flush makes data durable). cfg may be NULL (the defaults).
 * *out is written only on success. -EBUSY if the log is already open (the directory is
 * flock'ed, in this process or another); -EINVAL for a config out of range.
 */
int alog_open(struct alog **out, const char *dir, const struct alog_config *cfg,
              struct alog_flusher *flusher);
/* Flush, trim the indexes, write checkpoints and the clean-shutdown marker, free. Returns
 * the first error met (the log is freed either way; after a failed fsync no marker is
 * written, so the next open recovers). Waiters still pending are released (from the
 * flusher thread) before it returns. Thread: the last call on the log, with no other call
 * in progress; slices may still be held and released afterwards. */
int alog_close(struct alog *log);

/*
 * Append one validated batch of len bytes; on success *base_offset is the offset given to
 * its first record. KC_ETOOLARGE above max_batch_bytes, KC_EMALFORMED if the header does
 * not describe len bytes, -EIO / -ENOSPC from the disk (the log is unchanged: a failed
 * write is never made visible), -EIO after a failed fsync. The batch's base offset and
 * leader epoch are rewritten in place even when the write then fails.
 * Locks: the log's append lock for the whole call (appends from several threads are
 * serialised, never interleaved); readers are never blocked by it.
 */
int alog_append(struct alog *log, uint8_t *batch, size_t len, int64_t *base_offset);

/* A range of whole batches in one segment file, for sendfile. */
struct alog_slice {
    int fd;                   /* the segment's .log file */
    off_t pos;                /* file position of the first batch */
    size_t len;               /* bytes of whole batches */
    int64_t first_offset;     /* base offset of the first batch (may be < the offset asked) */
    int64_t next_offset;      /* the offset just after the last batch in the slice */
    struct alog_segment *seg; /* the reference that keeps fd valid */
};

/*
 * Find the batch that contains offset and return it plus the whole batches after it in
 * the same segment, up to max_bytes (always at least the first batch, however large).
 * 0 with *slice filled; KC_EEMPTY when offset == end_offset (nothing to read yet);
 * KC_EOFFSET when offset < start_offset or > end_offset; KC_ECORRUPT if the bytes under
 * the committed size do not parse; -EIO when the log has failed and offset is at or past
 * the durable offset (a slice never reaches past it then), and for every read while
 * alog_recover runs. Thread: any, concurrently with the writer, retention and other
 * readers (so too alog_read_copy and alog_offset_for_time). Locks: the recovery lock
 * shared (tryrdlock, never waiting), the segment array's mutex for one binary search;
 * never the append lock.
 */
int alog_read(struct alog *log, int64_t offset, size_t max_bytes, struct alog_slice *slice);
/* Drop the slice's segment reference (fd and range invalid afterwards). Idempotent. */
void alog_slice_release(struct alog_slice *slice);

/* The same as alog_read, but copies the batches into out (for simple callers). */
int alog_read_copy(struct alog *log, int64_t offset, size_t max_bytes, struct kc_writer *out,
                   int64_t *next_offset);

/* First offset whose batch has a timestamp >= ts, through the time index; -ENOENT if no
 * record is that recent. */
int alog_offset_for_time(struct alog *log, int64_t ts, int64_t *offset);

/* Lock-free atomic loads (acquire); any thread. */
int64_t alog_start_offset(struct alog *log);
int64_t alog_end_offset(struct alog *log);
int64_t alog_durable_offset(struct alog *log);

/*
 * Durability. alog_flush fsyncs now (blocking). alog_wait_durable asks to be told when
 * every offset below `offset` is on disk: it returns 1 if that is already so (cb is not
 * called), 0 if cb will be called exactly once later, from the flusher thread, with 0 or
 * the error that prevented it (-EIO, KC_ECLOSED), or < 0 if it cannot wait (no flusher).
 * The callback must not block and must not call back into this log.
 * The < 0 cases: KC_EUNSUPPORTED (no flusher), KC_EOFFSET (offset above end_offset: only
 * a later append could make it durable), -EIO (the log has failed), -ENOMEM.
 * Thread: any. alog_flush passes are serialised per log; the fsync runs without the
 * append lock, so appends continue meanwhile. It returns 0 or -EIO.
 */
typedef void (*alog_durable_cb)(void *arg, int err);
int alog_flush(struct alog *log);
int alog_wait_durable(struct alog *log, int64_t offset, alog_durable_cb cb, void *arg);

/*
 * Watching the end (long-polls). A reader at the log end asks to be told when the end
 * passes an offset, instead of polling: alog_watch_end arms a watch, and the append that
 * moves end_offset past w->offset calls w->fn(w) once, on the appending thread. Every
 * append path gets this for free: a caller never has to remember to notify anyone.
 *
 *   struct alog_watch w = {.offset = 41, .fn = wake, .arg = me};
 *   alog_watch_end(log, &w)  -> 1: already past 41, nothing armed, fn never called
 *                            -> 0: armed; later an append (end 41 -> 45) calls wake(&w)
 *   alog_unwatch(log, &w)    -> true: it was still armed; fn will never be called
 *                            -> false: it fired; fn has returned (it ran under the lock)
 *
 * Rules: the watch is the caller's memory, untouched by the log once alog_unwatch returns
 * or fn has returned; every armed watch is unwatched (or has fired) before alog_close.
 * fn runs with the log's watch lock held: it must be short (post a task somewhere), must
 * not block, and must not call this log. A lower end (alog_recover cut records) fires
 * nothing: the watch keeps waiting for the end to pass its offset again.
 * Thread: any. Cost to an append when nobody watches this log: one fence and one load.
 */
struct alog_watch;
typedef void (*alog_watch_fn)(struct alog_watch *w);
struct alog_watch {
    int64_t offset;   /* in: fire once end_offset > offset */
    alog_watch_fn fn; /* in */
    void *arg;        /* in: the caller's */
    /* private: the log's watch list (under its watch lock) */
    struct alog_watch *next, **pprev;
};
int alog_watch_end(struct alog *log, struct alog_watch *w);
bool alog_unwatch(struct alog *log, struct alog_watch *w);

/*
 * Bring a FAILED log (an fsync failed) back into service in place: the struct alog and
 * every pointer to it stay valid, which a reopen cannot offer a running broker. Call it
 * from time to time while alog_info().failed is set (a broker can do it with its
 * retention pass); it is cheap to repeat and returns 0 at once on a healthy log.
 *   1. fdatasync every segment holding bytes past the durable offset, fsync the directory
 *      (this fails while the fault lasts: the log stays failed);
 *   2. drop the page-cache pages from the durable position on (POSIX_FADV_DONTNEED), so
 *      that what follows reads what the DISK holds, not what the cache claims;
 *   3. re-read those bytes with open-time recovery's checks (length, magic, offset
 *      continuity, CRC-32C); at the first bad byte rebuild that segment's indexes,
 *      truncate it there and delete every later segment; cut a failed write's leftovers;
 *   4. fdatasync, fsync the directory, write the recovery point; only then clear the
 *      failure and publish the (possibly lower) end offset as durable.
 * Records appended (acks=1) but never durable survive if the disk has them; otherwise
 * they are cut and their offsets given to the next appends. Consumers may have read them
 * before the fsync failed, as with Kafka's acks=1 leader loss; a consumer past the new
 * end gets KC_EOFFSET. Waiters still pending get -EIO, never a false "durable".
 * Returns 0 (healthy), or the error that stopped it (-EIO, -ENOSPC, -ENOMEM ...) with the
 * log still failed. alog_info counts the recoveries, offsets discarded, bytes cut.
 * Thread: any, but not from a durability callback. Locks: the append, retention and
 * flush locks, then the recovery lock exclusive, for the whole call: appends fail with
 * -EIO at once (the log is failed), reads get -EIO until it returns.
 */
int alog_recover(struct alog *log);

/* Delete whole oldest segments beyond retention.bytes / retention.ms (never the active
 * one) and persist the new start offset; *deleted gets the count. now_ms is wall-clock ms,
 * like record timestamps. Thread: any; passes are serialised per log, concurrent with
 * appends and reads (a reader holding a slice of a deleted segment can still read it). */
int alog_retain(struct alog *log, int64_t now_ms, int *deleted);

/* Figures for demos, metadata and tests. */
struct alog_info {
    int64_t start_offset;
    int64_t end_offset;
    int64_t durable_offset;
    uint64_t bytes; /* sum of the .log files */
    int segments;
    bool recovered;                   /* this open found an unclean shutdown and ran recovery */
    int64_t recovery_truncated_bytes; /* bytes cut off the tail by that recovery */
    /* Added by the storage engineer (appended, so older initialisers still compile): */
    int recovery_deleted_segments; /* whole segments that recovery removed */
    int indexes_rebuilt;           /* indexes found missing/corrupt at open and rebuilt */
    int64_t index_entries;         /* .index entries over all segments */
    int64_t timeindex_entries;     /* .timeindex entries over all segments */
    uint64_t fsyncs;               /* fdatasync()s of .log files since open */
    uint64_t dir_fsyncs;           /* fsync()s of the directory since open */
    uint64_t flushes;              /* flush passes that advanced durable_offset */
    int failed;                    /* 0, or the error of the fsync that failed the log */
    /* Added with alog_recover (appended, as above): */
    uint64_t fault_recoveries;       /* alog_recover calls that cleared a failure */
    int64_t fault_discarded_offsets; /* offsets they cut: appended, never durable */
    int64_t fault_truncated_bytes;   /* .log bytes they truncated or deleted */
};
/* Thread: any; a snapshot (the fields are read one by one, not as one atomic view). */
void alog_info(struct alog *log, struct alog_info *info);

/* The log's running counters, lock-free (relaxed atomic loads; any thread): what metrics
 * read, cheap enough to take for every partition on every scrape. appended_* count since
 * the log was opened; durable_bytes is a lower bound of the appended bytes known to be on
 * disk, so appended_bytes - durable_bytes never under-states what is waiting for fsync. */
struct alog_counters {
    int64_t start_offset;
    int64_t end_offset;
    int64_t durable_offset;
    uint64_t appended_bytes;
    uint64_t appended_records;
    uint64_t durable_bytes;
};
void alog_counters(struct alog *log, struct alog_counters *c);

/* The flusher's fsync times, as a histogram (for metrics): buckets[i] counts the fsyncs that
 * took at most alog_fsync_bounds[i] seconds (not cumulative); count and sum over all. */
#define ALOG_FSYNC_BUCKETS 14
extern const double alog_fsync_bounds[ALOG_FSYNC_BUCKETS];
struct alog_flusher_stats {
    uint64_t count;
    uint64_t buckets[ALOG_FSYNC_BUCKETS];
    double sum_seconds;
};
void alog_flusher_stats(struct alog_flusher *f, struct alog_flusher_stats *out);

/* One segment, for demos and tools (alog_segments). */
struct alog_segment_info {
    int64_t base_offset;
    int64_t next_offset;
    uint64_t bytes;
    int64_t index_entries;
    int64_t timeindex_entries;
    int64_t max_timestamp; /* -1 when no batch carried one */
};
/* Fill up to cap entries, oldest first; returns how many segments the log has. */
int alog_segments(struct alog *log, struct alog_segment_info *out, int cap);

#endif
