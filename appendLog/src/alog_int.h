/*
 * alog_int.h - the log's insides, shared by the files of appendLog/src (and by its tests,
 * which use the fault-injection seam at the bottom).
 *
 *   struct alog
 *     segs[0..nsegs)  oldest ... active        (array under segs_lock, each holding a ref)
 *     start_offset  end_offset  durable_offset (atomics: readers never take the writer's lock)
 *     append_lock   the one writer              flush_lock  one fsync pass at a time
 *     wait_lock     durability waiters          flusher link (owned by the flusher's lock)
 *
 *   struct alog_segment   one .log + .index + .timeindex, reference counted
 *     size, next_offset, max_ts     atomics published by the writer (release)
 *     oidx, tidx                    mapped indexes (mm_index.h)
 *
 * Publication order in an append (the single most important ordering in the module):
 *
 *   pwrite(batch) -> index entries -> seg->next_offset -> seg->size -> log->end_offset
 *                                                                      ^ commit point
 * A reader loads log->end_offset with acquire and from then on sees a segment size and
 * index covering every offset below it.
 */
#ifndef ALOG_INT_H
#define ALOG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "alog.h"
#include "kc_batch.h"
#include "mm_index.h"
#include "producer_int.h"

/* The fault-injection seam: every write, fsync and truncation of a segment's data, and
 * every drop of its cached pages, goes through these. Tests replace them (alog__set_io) to
 * make a write tear, an fsync or a truncation fail, or to watch what alog_recover drops;
 * the defaults are kc_pwrite_all, kc_fdatasync, ftruncate and posix_fadvise(DONTNEED).
 * All return 0 (pwrite: the byte count) or -errno. */
struct alog_io {
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n, off_t off);
    int (*fdatasync)(void *ctx, int fd);
    int (*ftruncate)(void *ctx, int fd, off_t size);
    int (*drop_cache)(void *ctx, int fd, off_t from); /* [from, end of file) */
    void *ctx;
};

struct alog_segment {
    int64_t base;                /* base offset: the number in the file names */
    int fd;                      /* the .log, read-write */
    _Atomic uint64_t size;       /* committed bytes of the .log */
    _Atomic int64_t next_offset; /* the offset after the last batch */
    _Atomic int64_t max_ts;      /* largest batch maxTimestamp so far, -1 if none */
    int64_t max_ts_offset;       /* writer: the last offset of the batch that set max_ts */
    uint32_t bytes_since_index;  /* writer: bytes appended since the last index entry */
    int64_t first_append_ms;     /* writer: wall clock of the first append (segment.ms) */
    struct mm_index oidx;        /* .index */
    struct mm_index tidx;        /* .timeindex */
    bool index_synced;           /* flush_lock: indexes msync'd+fsync'd after rolling */
    _Atomic int refs;
    char stem[]; /* "<dir>/<20-digit base>" */
};

struct alog_waiter {
    TAILQ_ENTRY(alog_waiter) link;
    int64_t offset;
    alog_durable_cb cb;
    void *arg;
    int err; /* set when released (or earlier, to -EIO, by alog_recover) */
};
TAILQ_HEAD(alog_waiter_list, alog_waiter);

struct alog {
    char *dir;
    int lock_fd; /* the directory, flock'ed: one open per log, across processes too */
    struct alog_config cfg;
    struct alog_io io;

    pthread_mutex_t append_lock; /* the one writer: append, roll */
    struct alog_segment *active; /* append_lock: == segs[nsegs - 1] */
    bool tail_dirty;             /* append_lock: a failed write left bytes past the end */

    pthread_mutex_t segs_lock; /* the array; held for a binary search or a push/pop */
    struct alog_segment **segs;
    int nsegs, cap;

    _Atomic int64_t start_offset;
    _Atomic int64_t end_offset;
    _Atomic int64_t durable_offset;
    _Atomic int failed;        /* 0, or the -errno of the fsync that failed */
    /* Readers hold it shared (tryrdlock: refused, -EIO, while a recovery runs or waits);
     * alog_recover holds it exclusive while it truncates files and rebuilds indexes. */
    pthread_rwlock_t recover_lock;
    _Atomic bool dir_dirty;    /* a segment file was created: fsync the directory */
    _Atomic bool roll_pending; /* a roll happened: checkpoint at the next flush */

    pthread_mutex_t flush_lock; /* one flush (and checkpoint) pass at a time */
    int64_t recovery_point;     /* flush_lock: the last checkpointed recovery point */
    int64_t last_checkpoint_ms; /* flush_lock */
    _Atomic int64_t last_flush_ms;

    pthread_mutex_t retain_lock; /* one retention pass at a time */

    pthread_mutex_t wait_lock; /* the waiters */
    struct alog_waiter_list waiters;
    int nwaiters;

    pthread_mutex_t watch_lock;  /* the end watches (watch.c) */
    struct alog_watch *watches;  /* watch_lock */
    _Atomic int nwatches;        /* written under watch_lock, read by appenders without it */

    /* Owned by the flusher's lock. */
    struct alog_flusher *flusher;
    TAILQ_ENTRY(alog) fl_link;
    bool fl_registered;
    bool fl_closing;
    bool fl_abandon; /* closing without a flush (alog__abandon) */
    int fl_close_rc;

    /* Figures (alog_info, alog_counters). */
    _Atomic uint64_t appended_bytes;   /* written under append_lock, before end_offset */
    _Atomic uint64_t appended_records;
    _Atomic uint64_t durable_bytes;    /* set by a flush pass (flush_lock) */
    _Atomic uint64_t n_fsyncs; /* data fdatasyncs of .log files */
    _Atomic uint64_t n_dir_fsyncs;
    _Atomic uint64_t n_flushes; /* flush passes that made something durable */
    bool recovered;
    int64_t recovery_truncated_bytes;
    int recovery_deleted_segments;
    int indexes_rebuilt;
    _Atomic uint64_t n_fault_recoveries; /* alog_recover runs that cleared a failure */
    _Atomic int64_t fault_discarded;     /* offsets those runs cut (never durable) */
    _Atomic int64_t fault_truncated_bytes;

    /* Idempotent producers (producer_int.h): the table is the append lock's. */
    struct alog_pstate pstate;
    _Atomic int64_t snap_unsynced; /* a roll's snapshot the flusher has yet to fsync, or -1 */
};

/* log.c */
int alog__segs_push(struct alog *log, struct alog_segment *seg);
/* Take segments [from, nsegs) out of the array, unlink their files and drop the array's
 * references (slices keep theirs). Returns the first unlink error. */
int alog__segs_drop_from(struct alog *log, int from);
/* The segment holding offset (greatest base <= offset), with a reference; NULL if none. */
struct alog_segment *alog__segs_find(struct alog *log, int64_t offset);
/* Up to cap segments with a reference each, oldest first, starting at index from. */
int alog__segs_snapshot(struct alog *log, struct alog_segment **out, int cap);
bool alog__is_active(struct alog *log, const struct alog_segment *seg);
void alog__path(const struct alog *log, char *out, size_t cap, const char *name);

/* segment.c */
int alog__seg_create(struct alog *log, int64_t base, struct alog_segment **out);
int alog__seg_open(struct alog *log, int64_t base, struct alog_segment **out);
void alog__seg_ref(struct alog_segment *seg);
void alog__seg_unref(struct alog_segment *seg);
int alog__seg_unlink(struct alog_segment *seg);
/* Make the indexes writable and preallocated (the segment becomes the active one). */
int alog__seg_activate(struct alog *log, struct alog_segment *seg);
/* The segment stops being active: last time-index entry, indexes trimmed. */
int alog__seg_seal(struct alog_segment *seg);
/* Kafka's indexing rule for one batch written at pos (append and rebuild share it). */
void alog__seg_index_batch(struct alog *log, struct alog_segment *seg, uint64_t pos,
                           const struct kc_batch_header *h, size_t size);
/* Replace both indexes by empty writable ones, ready for index_batch. */
int alog__seg_index_reset(struct alog *log, struct alog_segment *seg);
/* Sanity check both indexes against the segment; 0 or KC_ECORRUPT with *why. */
int alog__seg_index_check(struct alog_segment *seg, int64_t next_offset, const char **why);
/* msync + fsync both indexes (they then survive a crash as they are). */
int alog__seg_index_sync(struct alog_segment *seg);
/* Cut the .log at size (through the io seam): after a failed write, at close, by recovery. */
int alog__seg_truncate(struct alog *log, struct alog_segment *seg, uint64_t size);

/* scan.c - walking batch headers with few preads */
struct alog_scan {
    int fd;
    uint64_t end; /* never read at or past this position */
    uint8_t *buf;
    size_t cap;
    size_t want;      /* bytes the next pread asks for (at least what is needed) */
    size_t want_next; /* ... and the one after it */
    uint64_t at;      /* file position of buf[0] */
    size_t len;  /* valid bytes in buf */
    unsigned preads;
};
/* Streaming: every pread fills the buffer (recovery, rebuilds). */
void alog__scan_init(struct alog_scan *s, int fd, uint64_t end, uint8_t *buf, size_t cap);
/* Windowed (after init): the first pread reads `first` bytes, later ones start small and
 * double (lookups: read what the walk is expected to need, not a whole buffer). */
void alog__scan_window(struct alog_scan *s, size_t first);
/*
 * The header of the batch at pos and its total size. 0; KC_ENEEDMORE if the file ends
 * inside the batch; KC_EMALFORMED / KC_EUNSUPPORTED for impossible header fields; -errno.
 */
int alog__scan_header(struct alog_scan *s, uint64_t pos, struct kc_batch_header *h, size_t *size);
/* Check the CRC-32C of the batch at pos (size bytes, header already read): 0 or KC_ECRC. */
int alog__scan_crc(struct alog_scan *s, uint64_t pos, size_t size, uint32_t want);

/* recover.c */
int alog__load(struct alog *log);
/*
 * Check a segment's batches from pos (the start of a batch whose base offset is expect) to
 * its committed size as open-time recovery does: header, offset continuity, CRC-32C. *bad
 * gets the first bad byte (the committed size if none), *next the offset after the last
 * good batch. With index set, each good batch is fed to the indexer (a rebuild: reset the
 * indexes first). buf: ALOG_SCAN_CHUNK bytes. 0, or -errno for an I/O error (a verdict on
 * the data is never an error: it is *bad).
 */
int alog__seg_verify(struct alog *log, struct alog_segment *seg, uint64_t pos, int64_t expect,
                     bool index, uint8_t *buf, uint64_t *bad, int64_t *next);
/* Rebuild a segment from scratch: indexes reset, every batch verified and indexed, the .log
 * cut at the first bad byte (*cut gets the bytes cut). Exclusive access to seg. */
int alog__seg_rebuild(struct alog *log, struct alog_segment *seg, uint8_t *buf, uint64_t *cut);

/* read.c */
/* Where the batch starting at offset begins in seg (seg's size if offset is its next
 * offset): 0 and *pos, KC_ECORRUPT if no batch starts there, -errno. */
int alog__seg_boundary(struct alog_segment *seg, int64_t offset, uint64_t *pos);

/* checkpoint.c */
int alog__checkpoint_read(const struct alog *log, const char *name, int64_t *offset);
int alog__checkpoint_write(const struct alog *log, const char *name, int64_t offset);
int alog__marker_write(const struct alog *log);
int alog__marker_take(const struct alog *log, bool *clean);

/* watch.c: after end_offset moved up (release-stored), fire the watches it passed. */
void alog__watch_fire(struct alog *log);

/* flusher.c */
/* Count one fdatasync that took ns (log->flusher's histogram, if it has a flusher). */
void alog__flusher_note_fsync(struct alog *log, int64_t ns);
int alog__flusher_register(struct alog_flusher *f, struct alog *log);
/* Flush, release the waiters from the flusher thread and unregister; returns the flush's
 * result. Called by alog_close. */
int alog__flusher_close(struct alog_flusher *f, struct alog *log);
void alog__flusher_kick(struct alog_flusher *f);
/* One flush pass (flush_lock): fsync what is not durable yet; checkpoint if due. */
int alog__flush(struct alog *log, bool force_checkpoint);
/* Write the recovery point (flush_lock held), msync'ing the indexes it vouches for. */
int alog__checkpoint_recovery(struct alog *log);

/* The fault-injection seam (tests only). NULL restores the defaults. */
void alog__set_io(struct alog *log, const struct alog_io *io);
/* Tests only: let go of the log as if the process died now: no flush, no trim, no
 * checkpoint, no marker (pending waiters get KC_ECLOSED from the flusher). */
void alog__abandon(struct alog *log);

static inline int64_t alog__seg_next(const struct alog_segment *seg)
{
    return atomic_load_explicit(&seg->next_offset, memory_order_acquire);
}

static inline uint64_t alog__seg_size(const struct alog_segment *seg)
{
    return atomic_load_explicit(&seg->size, memory_order_acquire);
}

#endif
