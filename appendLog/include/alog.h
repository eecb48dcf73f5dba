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
 *    records that were appended but never durable and give their offsets out again, and
 *    across alog_truncate (a follower cutting a diverged tail).
 */
#ifndef ALOG_H
#define ALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kc_buf.h"

struct alog;
struct alog_segment;
struct alog_flusher;
struct alog_store;

/* cleanup.policy: delete (retention), compact (the log cleaner), or both. */
enum {
    ALOG_CLEANUP_DELETE = 1u << 0,
    ALOG_CLEANUP_COMPACT = 1u << 1,
};

/* Kafka's names for these settings are given beside each field (the topic-level name where
 * it differs from the broker's log.* default). */
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
    /* Added with compaction (appended, so older initialisers still compile): */
    unsigned cleanup_policy;         /* cleanup.policy             default delete */
    int64_t min_compaction_lag_ms;   /* min.compaction.lag.ms      default 0 */
    int64_t max_compaction_lag_ms;   /* max.compaction.lag.ms      default INT64_MAX */
    int64_t delete_retention_ms;     /* delete.retention.ms        default 1 day */
    double min_cleanable_ratio;      /* min.cleanable.dirty.ratio  default 0.5
                                        (log.cleaner.min.cleanable.ratio) */
    /* Added with idempotent producers (appended, so older initialisers still compile): */
    int64_t producer_id_expiration_ms; /* producer.id.expiration.ms default 86400000 (1 day):
                                          alog_producers_expire, and what an open loads */
};

/* Fill cfg with the defaults above. */
void alog_config_init(struct alog_config *cfg);
/* 0, or -EINVAL for a value out of range (what alog_open and alog_set_config refuse). */
int alog_config_check(const struct alog_config *cfg);
/* "delete", "compact", "compact,delete" (either order) -> 0 and *policy; -EINVAL else. */
int alog_cleanup_policy_parse(const char *s, unsigned *policy);

/*
 * Live settings: change any field of a log's configuration while it is in use, open or (a
 * store's) closed: the broker's per-topic configs (retention.ms, segment.bytes,
 * max.message.bytes, cleanup.policy, min.compaction.lag.ms ...) and the compaction
 * settings. The new values apply from the next append (roll sizes and times, batch limit,
 * index interval), the next retention or cleaner pass (a policy with compact hands the
 * log to the cleaner threads; one without delete stops retention), and the flusher's next
 * look at the log. index_max_bytes applies to segments created from then on; nothing
 * already written is rewritten. -EINVAL (and nothing changed) for a configuration
 * alog_open would refuse (alog_config_check). Thread: any, concurrently with every other
 * call on the log (writers hold the config and append locks; no fsync, no I/O).
 * alog_get_config copies the current values (one consistent copy).
 */
int alog_set_config(struct alog *log, const struct alog_config *cfg);
void alog_get_config(struct alog *log, struct alog_config *cfg);

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
 * A STORE: every log of one data directory, for a broker with many partitions.
 *
 *   <data-dir>/
 *     .lock                              flock'ed while the store is open (one process)
 *     recovery-point-offset-checkpoint   Kafka's per-data-directory checkpoints, one line per
 *     log-start-offset-checkpoint        partition: "topic partition offset"
 *     cleaner-offset-checkpoint          (compacted logs: where their dirty part begins)
 *     .kafka_cleanshutdown               present only between a clean close and the next open
 *     open-log-journal                   logs that may hold unflushed data (see below)
 *     payments-0/ payments-1/ ...        one log each, as alog_open's
 *
 * A store's logs are opened LAZILY and kept in a bounded cache: an idle log holds no file
 * descriptor and no mapping, only a small handle (its offsets, its config, its locks). The
 * first call that needs its files opens them; when more than max_open_files descriptors
 * are held, the least recently used logs that nobody is using are closed again (CLOCK,
 * the approximation of LRU the Linux page cache uses: a use sets a bit, no lock). A slice
 * keeps its segment's descriptor until released, eviction or not.
 *
 * Rules:
 *  - Every alog_* call works on a store's log in any state: one that needs the files (an
 *    append, a read) opens the log first, SYNCHRONOUSLY, on the calling thread. A network
 *    thread must not wait for that: it calls alog_prepare and parks its request until the
 *    log is ready (below). alog_start_offset/alog_end_offset are lock-free loads, except
 *    for a log whose end is not known since a crash (it was open, maybe appended to, when
 *    the process died): they open it first. The store's own thread opens those in the
 *    background after an unclean start (the work is proportional to what was open, not to
 *    how many logs there are).
 *  - Running out of descriptors is never an unknown error: on EMFILE the cache closes logs
 *    nobody uses and retries; when every open log is in use, the call fails with
 *    KC_ENOFILES, which is retriable.
 *  - alog_close on a store's log closes it and removes it from the store (the directory
 *    stays). Every slice must be released before alog_store_close.
 *  - Checkpoints are the store's, per data directory, in Kafka's text format; a partition
 *    directory's own (alog_open's) are read once, at its first open, and then retired.
 */
struct alog_store_config {
    int64_t max_open_files;         /* log.cache.max.open.files    default -1: half the soft
                                       RLIMIT_NOFILE (at least 64); descriptors the cache may
                                       hold (each open log: 1, each old segment read: 1) */
    int64_t checkpoint_interval_ms; /* log.flush.offset.checkpoint.interval.ms  default 5000 */
    struct alog_flusher *flusher;   /* for every log of the store; may be NULL */
    /* The log cleaner, for logs whose cleanup.policy has compact (log.cleaner.*): */
    int cleaner_threads;            /* log.cleaner.threads          default 1; 0 = none */
    int64_t cleaner_backoff_ms;     /* log.cleaner.backoff.ms       default 15000 */
    uint64_t cleaner_dedupe_buffer_size; /* log.cleaner.dedupe.buffer.size default 128 MiB,
                                       shared by the cleaner threads */
    uint64_t cleaner_io_buffer_size;/* log.cleaner.io.buffer.size   default 512 KiB */
    /* Retention deletes nothing from a log until alog_set_retain_limit is first called on
     * it (default false: no bound). A replicated broker's logs: each partition's HW is
     * known only once its replica is loaded, and until then no bound is not "anything". */
    bool retain_held;
};
void alog_store_config_init(struct alog_store_config *cfg);

/* Open the store of data_dir (created if needed): read its checkpoints, nothing else.
 * -EBUSY if another process (or another store here) has it; -EINVAL for a bad config. */
int alog_store_open(struct alog_store **out, const char *data_dir,
                    const struct alog_store_config *cfg);
/*
 * Close every log cleanly and write the per-directory checkpoints and the clean-shutdown
 * marker: the open logs' indexes are trimmed, ONE syncfs(2) makes everything durable (the
 * cost is the dirty bytes, not the number of logs), waiters are released from the flusher
 * thread. Returns the first error (then no marker: the next open recovers what was open).
 * Thread: the last call; no log of the store may be in use.
 */
int alog_store_close(struct alog_store *s);
/*
 * The log in <data-dir>/<name> (a partition directory, existing or just made): a handle,
 * no I/O. cfg may be NULL (defaults). *out is valid until alog_close or alog_store_close.
 * -EEXIST if the store has it already, -EINVAL for a bad name or config.
 */
int alog_store_add(struct alog_store *s, const char *name, const struct alog_config *cfg,
                   struct alog **out);
/* The same, with flags: ALOG_STORE_NEW says the directory was just made and is empty (its
 * offsets are [0, 0) without looking; partitioning's topic creation). */
enum { ALOG_STORE_NEW = 1u << 0 };
int alog_store_add_flags(struct alog_store *s, const char *name, const struct alog_config *cfg,
                         unsigned flags, struct alog **out);
/* Write the per-directory checkpoints now (the store thread does it every interval). */
int alog_store_checkpoint(struct alog_store *s);
/*
 * Make everything appended to every open log durable now with ONE syncfs(2) of the data
 * directory's file system, instead of an fdatasync per log: what a broker with thousands
 * of busy partitions can afford (the store's close does the same). Durability waiters are
 * answered by the flusher at its next pass. 0 or -errno (then nothing was marked durable).
 * Thread: any.
 */
int alog_store_sync(struct alog_store *s);
/* Is name one of the files the store keeps in its data directory (.lock, the checkpoints,
 * the journal, the marker, their temporary files)? For whoever lists the directory. */
bool alog_store_owns(const char *name);

struct alog_store_info {
    int logs;               /* handles */
    int open_logs;          /* logs whose files are open */
    int64_t open_files;     /* descriptors the logs hold now (slices' included) */
    int64_t max_open_files;
    uint64_t opens;         /* logs opened since the store opened */
    uint64_t evictions;     /* logs the cache closed to make room */
    uint64_t emfile_retries;/* opens that met EMFILE and retried after evicting */
    int unknown_logs;       /* logs whose end is not known yet (an unclean start) */
    bool clean_start;       /* the store found its clean-shutdown marker */
    int64_t open_ms;        /* how long alog_store_open took */
    /* The cleaner threads (compacted logs): */
    uint64_t cleanings;      /* passes that rewrote something */
    uint64_t cleaner_errors; /* passes that failed (the log is skipped until reopened) */
    uint64_t cleaner_bytes_read, cleaner_bytes_written;
};
void alog_store_info(struct alog_store *s, struct alog_store_info *info);

/*
 * Readiness without blocking (a store's logs). A request that will touch a log's files
 * asks first; if the log is not open, the store's thread opens it and calls back:
 *
 *   struct alog_ready r = {.fn = resume, .arg = req};
 *   alog_prepare(log, &r)   -> 1: ready now, and PINNED: the call that follows cannot
 *                                 block on an open; alog_unpin when done
 *                           -> 0: queued; later resume(&r) runs on the store's thread
 *                                 with r.err = 0 (then the log is pinned for you) or the
 *                                 error the open met (not pinned)
 *   alog_prepare_cancel(log, &r) -> true: it was still queued; fn will never run
 *                                -> false: fn has run (it runs under the log's lock): if
 *                                   r.err was 0 you hold a pin to give back
 *
 * A pinned log is never closed by the cache. fn must be short and must not call this log
 * (post a task to the request's loop). alog_pin is the blocking form. A standalone log
 * (alog_open) is always ready: prepare returns 1 and pins are counted, nothing more.
 */
struct alog_ready;
typedef void (*alog_ready_fn)(struct alog_ready *r);
struct alog_ready {
    alog_ready_fn fn; /* in */
    void *arg;        /* in: the caller's */
    int err;          /* out: 0 (pinned) or why the log could not be opened */
    /* private: the log's list of waiting prepares (under its lock) */
    struct alog_ready *next, **pprev;
};
int alog_prepare(struct alog *log, struct alog_ready *r);
bool alog_prepare_cancel(struct alog *log, struct alog_ready *r);
/* Open the log if needed (blocking) and pin it: 0, or the open's error. */
int alog_pin(struct alog *log);
void alog_unpin(struct alog *log);

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
 * in progress; slices may still be held and released afterwards. A store's log: closed
 * (flushed) and removed from the store; the next alog_store_add of its name finds it. */
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

/*
 * A follower's log (src/follow.c, src/truncate.c; the lesson: README, "A follower's log").
 *
 * alog_append_replica: append the leader's batches at the LEADER's offsets, byte for byte
 * (base offsets, partitionLeaderEpoch, timestamps, producer fields as they are: nothing
 * is rewritten; batches is const). bytes holds one or more whole RecordBatch v2 back to
 * back, as a Fetch answer carries them for a partition, and may end with a partial batch:
 * *used gets the bytes of the whole batches appended (the partial tail starts there; the
 * next fetch, from *end, brings it whole). Every whole batch is checked BEFORE anything
 * is written: the header (a store's log takes what a compacted log may hold,
 * kc_batch_header_decode_stored), the codec, the CRC-32C (the records are not parsed: the
 * leader validated them, and the CRC vouches for its bytes, as Kafka's follower), offsets
 * strictly increasing from batch to batch; and, under the append lock, the first base
 * offset >= the log end. A batch may start past the end before it (the leader's log was
 * compacted): the gap is filled with one record-less batch spanning it (in the next
 * batch's epoch, no timestamp), as the cleaner leaves emptied batches, so the offsets of
 * a segment stay covered and recovery's continuity rule holds; only a store's log takes
 * gaps (a standalone log: KC_EUNSUPPORTED, nothing written).
 * Otherwise as alog_append: rolls by segment.bytes / segment.ms / index room (a batch
 * larger than segment.bytes gets a segment of its own; max_batch_bytes is not applied:
 * the leader accepted it), both indexes, the producer state (taught, never judged: the
 * leader judged), end watches fired, durability through the flusher (alog_wait_durable,
 * flush.messages), a store's log opened and pinned for the call (alog_prepare first on a
 * network thread). The cleaner and retention run beside it as beside alog_append (they
 * never touch the active segment).
 * Returns 0 (*end = the new log end; nothing at all when len is 0); KC_ENEEDMORE when not
 * even the first batch is whole (a fetch answer cut by its size limit: fetch more);
 * KC_ECRC / KC_EMALFORMED / KC_EUNSUPPORTED for a bad batch, KC_EOFFSET when the first base
 * offset lies below the log end (a diverged history, or the caller's bug: truncate first)
 * - in all of these nothing is written; -EIO (the log has failed), or the write's -errno:
 * then the whole batches before the failing one are appended (*used, *end say how far).
 * Thread: any; one writer at a time (the append lock, shared with alog_append).
 */
int alog_append_replica(struct alog *log, const uint8_t *batches, size_t len, size_t *used,
                        int64_t *end);

/*
 * alog_truncate: remove every batch holding an offset >= offset. A batch straddling offset
 * goes WHOLE (as Kafka's LogSegment.truncateTo): *end (may be NULL) gets the new end, the
 * base offset of that batch, <= offset. Whole segments above go; the segment holding the
 * cut is cut (file, offset index, time index) and sealed; new appends go to a fresh,
 * empty segment at the new end (a new file: new batches never land under an old slice).
 * The recovery point, durable offset, cleaner offset and a store's checkpoints are lowered
 * so that none claims what is gone; producer snapshots past the end are deleted and the
 * producer state rebuilt. Crash-safe: a kill at any point leaves, after the next open,
 * the old log or the truncated one at every segment boundary (src/truncate.c: the order).
 *   offset == end: nothing to do, 0. offset < start or > end: KC_EOFFSET, nothing done;
 *   also when the straddling batch begins below the log start (a DeleteRecords start
 *   inside it: the end would fall below the start). offset == start (not inside a batch):
 *   the log is emptied, [start, start).
 * Readers: a slice taken before keeps its segment alive and memory-safe; sendfile of a
 * removed region comes up SHORT (the file was cut or emptied) - never other records; a
 * read after the call at an offset past the new end gets KC_EOFFSET. While the cut runs
 * (milliseconds) reads get -EIO ("ask again"), as during alog_recover. End watches armed
 * at an offset past the new end fire (the reader looks again, KC_EOFFSET); durability
 * waiters past it get KC_EOFFSET. A lower end is published before any file is cut.
 * Returns 0; KC_EOFFSET; -EIO (the log has failed); -errno from the disk: before the
 * first cut nothing changed, after it the log is FAILED (alog_recover, or a reopen,
 * brings it back: call alog_truncate again then).
 * Thread: any (it blocks on fsyncs). Locks: append, retention (no cleaning or retention
 * pass meanwhile), flush, and the recovery lock exclusive for the cut itself.
 */
int alog_truncate(struct alog *log, int64_t offset, int64_t *end);

/*
 * alog_restart_at: throw the whole log away and start it again, empty, at offset (Kafka's
 * Log.truncateFullyAndStartAt): what a follower does when its log ends below its leader's
 * log start, where the records it lacks no longer exist (src/restart.c draws the case).
 * Every segment goes with its indexes, and every producer snapshot; the producer state is
 * empty afterwards (it is taught again by the batches appended next); a store's cleaner
 * offset moves to offset. Then start = end = durable = offset and the next append's base
 * offset is offset.
 *   offset > end: the follower's case. offset == end: the log is emptied at its end (the
 *   producer state as of that end is kept: its snapshot there still describes it).
 *   offset < end: KC_EOFFSET, nothing done (alog_truncate cuts a tail). offset < 0: -EINVAL.
 * Crash-safe: one durable write decides (the log start offset, past the end: a standalone
 * log's log-start-offset-checkpoint, a store's per-directory checkpoints); a crash before
 * it leaves the old log, after it the next open finds the new empty one at offset
 * (recover.c empties a log whose start lies past its end), never a mix.
 * Readers: below the new start KC_EOFFSET, at it KC_EEMPTY; a slice taken before stays
 * readable (its segment lives until released); every end watch fires (the reader looks
 * again); durability waiters still pending get KC_EOFFSET. While the files change
 * (milliseconds) reads get -EIO ("ask again").
 * Returns 0; KC_EOFFSET; -EINVAL; -EIO (the log has failed); -errno from the disk or from
 * opening a store's closed log: before the deciding write nothing changed (but a store's
 * own thread may have written the new start in the meantime: a crash may then still find
 * the restart, as with alog_advance_start); after it the log is FAILED, and a reopen
 * finishes the restart.
 * Thread: any (it blocks on fsyncs). Locks: as alog_truncate.
 */
int alog_restart_at(struct alog *log, int64_t offset);

/*
 * alog_scan_epochs: call fn(arg, base offset, partitionLeaderEpoch) for each batch from
 * the one holding from_offset to the end (as it was when the call began), oldest first,
 * reading only the 61-byte headers (no CRC: the log's own bytes, checked when written or
 * recovered). What a broker needs at start to rebuild the leader-epoch cache of the tail
 * past its leader-epoch-checkpoint. Record-less batches (compaction, gap fillers) are
 * included. fn returns 0 to go on, anything else stops the walk and is returned.
 * 0; KC_EOFFSET (from_offset outside [start, end]); KC_ECORRUPT; -EIO while a recovery or
 * truncation runs; -errno. Thread: any, beside appends (it stops at the end it saw).
 */
typedef int (*alog_epoch_fn)(void *arg, int64_t base_offset, int32_t leader_epoch);
int alog_scan_epochs(struct alog *log, int64_t from_offset, alog_epoch_fn fn, void *arg);

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
 * alog_recover runs (or alog_truncate cuts files). Thread: any, concurrently with the writer, retention and other
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
/* Fire every armed watch now, whatever its offset (the log is about to be closed because
 * its topic was deleted: the parked readers must look again and find it gone). Same rules
 * for fn as above. Thread: any. */
void alog_watch_fire_all(struct alog *log);
/*
 * A count that moves whenever the watches are told something: an append that moved the
 * end, a truncation, a restart, a repair that lowered the end, alog_watch_fire_all (which
 * a cluster's replica calls when the high watermark or the leadership moves). Equal
 * counts read before and after some work mean none of those happened in between - what
 * lets a leader skip a follower's partition that was idle at its last read (broker/kafka/
 * serve/src/fetch.c), instead of locking its replica again to learn that nothing moved.
 * Read it BEFORE the work it vouches for. Thread: any; one atomic load.
 */
uint64_t alog_changes(struct alog *log);

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
/* Retention never moves the log start past offset (INT64_MAX at open: no bound): a
 * segment goes only if every record in it is below offset. A replicated partition sets
 * its high watermark here, as Kafka's retention stops at the HW, so records no follower
 * has yet are never deleted under it. Thread: any; the next pass obeys it. */
void alog_set_retain_limit(struct alog *log, int64_t offset);

/*
 * Log compaction: cleanup.policy = compact (or compact,delete). A compacted log keeps, for
 * every key, at least the LATEST record written with it, and may drop the older ones: a
 * changelog that can be replayed into the table it describes (appendLog/README.md, the
 * lesson). What a consumer sees:
 *
 *   offsets    never change; the dropped records leave gaps (a batch keeps its base
 *              offset and lastOffsetDelta; a run of batches with nothing left becomes one
 *              record-less 61-byte batch spanning their offsets, so reads and recovery
 *              still find every offset of a segment covered)
 *   records    below the cleaned point, one per key: its latest (for the keys the cleaning
 *              saw); above it (the dirty part and the active segment), everything
 *   tombstones (a null value) stay for delete.retention.ms after the cleaning that first
 *              kept them (Kafka's delete horizon, KIP-534, written in the batch), then go;
 *              records without a key go at the first cleaning (a compacted log needs keys)
 *   batches    compressed ones are compressed again with their codec; control batches are
 *              kept as they are
 *
 * The cleaner (alog_store_config's cleaner_* settings) cleans a store's compacted logs by
 * itself: the broker only sets cleanup_policy. alog_clean is the same pass on demand, for
 * tests and tools: it cleans whatever is cleanable now, ignoring min_cleanable_ratio
 * (min/max.compaction.lag.ms and the active segment still bound it), and rewrites the
 * clean part even with nothing dirty (tombstones past their horizon go). now_ms is wall-
 * clock ms (record timestamps, the lags, delete horizons). stats may be NULL.
 *
 * 0; -EINVAL (cleanup.policy has no compact); KC_EUNSUPPORTED (a standalone log: only a
 * store's logs may be compacted, their recovery knows the swap); KC_EFULL (not even one
 * batch's keys fit log.cleaner.dedupe.buffer.size); KC_ECORRUPT (a bad batch: nothing
 * is rewritten from it, the log is skipped by the cleaner threads until the store
 * reopens); -EIO, -ENOSPC... Thread: any; one pass per log at a time (it waits for
 * retention and another cleaning), concurrent with appends and reads; a slice of a
 * replaced segment stays readable until released. A crash at any moment loses nothing:
 * the next open finishes or forgets the swap (swap.c).
 */
struct alog_clean_stats {
    int64_t first_dirty;        /* where the dirty part began */
    int64_t end_offset;         /* cleaned up to here: the next pass's first dirty offset */
    int segments_in, segments_out;
    uint64_t bytes_read, bytes_written;   /* of the segments rewritten */
    uint64_t records_read, records_kept;
    uint64_t tombstones_removed;
    uint64_t batches_copied;    /* kept byte for byte */
    uint64_t batches_rebuilt;   /* records dropped, or a delete horizon set: re-encoded */
    uint64_t batches_emptied;   /* nothing left: folded into record-less batches */
    uint64_t keys_mapped;       /* distinct keys of the dirty part */
    int64_t elapsed_us;
};
int alog_clean(struct alog *log, int64_t now_ms, struct alog_clean_stats *stats);

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
    uint64_t full_passes; /* passes over every log (deadlines, checkpoints, closes) */
    uint64_t visits;      /* logs visited, in full passes and in passes over the kicked */
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

/*
 * Administration (src/admin.c): what the broker's admin APIs do to a log in use. (Its
 * settings change through alog_set_config, above.)
 *
 * alog_advance_start: Kafka's DeleteRecords. Move the log start offset up to offset
 * (start < offset <= end; an offset at or below the start changes nothing), durably, and
 * only then publish it: a crash at any point leaves the old start or the new one, and the
 * next open honours the new one. A standalone log writes its log-start-offset-checkpoint
 * (tmp, fsync, rename, fsync dir); a store's log (opened and pinned if it was closed) is
 * flushed up to its end and the store's per-directory checkpoints are written with the
 * new start before it returns. Readers below the new start get KC_EOFFSET from then on.
 * Whole segments below it (never the active one) are deleted as retention deletes them;
 * a start inside a segment keeps that segment (reads there start at its batch, as in
 * Kafka). 0, KC_EOFFSET (offset past the end), -errno from the disk or the open (the
 * start as it was; if the store's checkpoint write failed, a crash may still find the
 * new start in it: the caller answered an error, whose outcome Kafka leaves unknown too).
 * Thread: any (it blocks on fsyncs); serialised with retention passes and cleanings.
 */
int alog_advance_start(struct alog *log, int64_t offset);
/*
 * Close a log whose directory is about to be removed (its topic was deleted): no flush, no
 * checkpoint, no clean-shutdown marker - what alog_close spends fsyncs on, for files
 * nobody will read. Durability waiters still pending get KC_ECLOSED. A store's log also
 * leaves the store for good: its handle is freed, the checkpoints stop listing it (within
 * a second), and parked alog_prepare calls get KC_ECLOSED; an alog_store_add of the same
 * name later starts from what its directory then holds (empty, for a re-created topic),
 * never from the discarded log's line, even after a crash. The same rules as alog_close
 * otherwise (the last call on the log, no pin held by the caller; slices may outlive it).
 */
void alog_discard(struct alog *log);

#endif
