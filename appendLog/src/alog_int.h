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
 *     fd, oidx, tidx                the files: WARM (open) or COLD (closed, fd -1); a
 *                                   reader warms a segment before touching them
 *                                   (alog__seg_warm); the cache cools old ones
 *
 *   A store's log (store != NULL) has a life of its own (life.c):
 *
 *     COLD --(first use: open, recover)--> OPEN --(cache evicts: flush, close)--> COLD
 *     COLD_UNKNOWN: closed, but it may hold unflushed records (a crash): its end is
 *                   known only once it has been opened and recovered
 *
 *   Every call that touches a store log's files holds a PIN for its duration (alog__enter
 *   / alog__leave); the cache closes only logs with no pin. A standalone log (alog_open)
 *   is always OPEN and pins cost it one branch.
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
    /* The cleaner's swap (swap.c) calls this after each step that changes the directory,
     * naming it; NULL by default. Tests copy the directory there: a crash image per step. */
    void (*swap_step)(void *ctx, const char *step);
    /* alog_truncate (truncate.c) and alog_restart_at (restart.c) call this after each of
     * their steps, naming it; NULL by default. Tests kill the process there: a crash at
     * every step. */
    void (*truncate_step)(void *ctx, const char *step);
};

struct alog_segment {
    int64_t base;                /* base offset: the number in the file names */
    int fd;                      /* the .log, read-write; -1 while COLD (file_lock) */
    _Atomic uint64_t size;       /* committed bytes of the .log */
    _Atomic int64_t next_offset; /* the offset after the last batch */
    _Atomic int64_t max_ts;      /* largest batch maxTimestamp so far, -1 if none */
    int64_t max_ts_offset;       /* writer: the last offset of the batch that set max_ts */
    uint32_t bytes_since_index;  /* writer: bytes appended since the last index entry */
    int64_t first_append_ms;     /* writer: wall clock of the first append (segment.ms) */
    struct mm_index oidx;        /* .index (mapped; its descriptor dropped) */
    struct mm_index tidx;        /* .timeindex */
    _Atomic bool index_synced;   /* indexes msync'd+fsync'd after rolling (written under
                                    flush_lock; the cleaner reads it without) */
    _Atomic int refs;
    /* Warm or cold. file_lock guards fd, oidx, tidx and the flags below across the
     * transitions; a holder of a reference that has warmed the segment may use them
     * without it (cooling needs refs == 1: nobody else holds the segment). */
    pthread_mutex_t file_lock;
    bool ts_known;               /* max_ts is known (it is read from the time index) */
    bool idx_checked;            /* the indexes passed the sanity check since loading */
    _Atomic bool ref_bit;        /* CLOCK: used since the cache last looked */
    _Atomic int64_t *files;      /* the store's count of descriptors held, or NULL */
    bool compacted;              /* a store's: its batches may be compacted (scan.c) */
    const char *sfx;             /* file_lock: "" or the cleaner's ".cleaned" / ".swap" */
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

/* Life states of a store's log (life.c). A standalone log is ALOG_OPEN throughout. */
enum alog_state {
    ALOG_COLD = 0,     /* closed; start and end known (a clean checkpoint, or its close) */
    ALOG_COLD_UNKNOWN, /* closed; may hold records past its recovery point (a crash) */
    ALOG_OPENING,      /* a thread is opening it; others wait on life_cond */
    ALOG_OPEN,         /* files open, in the cache's ring */
    ALOG_CLOSING,      /* the cache is closing it; others wait on life_cond */
};

/* What a closed log remembers for retention, so an idle log is judged without opening
 * it: the oldest segment alone decides whether anything can be deleted. */
struct alog_summary {
    bool known;
    int segments;
    uint64_t bytes;        /* all .log files */
    uint64_t oldest_bytes; /* the oldest segment's .log */
    int64_t oldest_ts;     /* the oldest segment's largest timestamp (or mtime) */
    int64_t active_base;   /* the last segment's base (the cleaner: anything dirty?), -1 */
};

struct alog {
    char *dir;
    const char *name; /* the directory's last component, inside dir */
    int lock_fd; /* standalone: the directory, flock'ed: one open per log, across processes */
    struct alog_config cfg; /* cfg_lock for writers; see alog__cfg */
    struct alog_io io;

    /* ---- a store's log (store.c, life.c, cache.c); store == NULL when standalone ---- */
    struct alog_store *store;
    int slot;                     /* index in the store's table */
    _Atomic int state;            /* enum alog_state */
    _Atomic bool offsets_known;   /* start/end are exact (false from a crash until opened) */
    _Atomic bool defer_durable;   /* the next load leaves its repair unsynced (written under
                                     life_lock; the load reads it without) */
    _Atomic bool repair_unsynced; /* recovered records not yet fsynced: reads stop at the
                                     durable offset until they are (store.c's sweep) */
    _Atomic int pins;             /* calls in progress and alog_pin holders */
    pthread_mutex_t life_lock;    /* state transitions, readies */
    pthread_cond_t life_cond;     /* OPENING/CLOSING finished */
    struct alog_ready *readies;   /* life_lock: prepares waiting for the open */
    bool queued;                  /* life_lock: on the store thread's open queue */
    struct alog *queue_next;      /* store's queue_lock */
    struct alog *ring_next, *ring_prev; /* store's cache_lock: the CLOCK ring (OPEN logs) */
    _Atomic bool ref_bit;         /* CLOCK: used since the hand last passed */
    _Atomic bool has_entry;       /* the per-directory checkpoints list this log */
    bool in_journal;              /* store's journal_lock: listed in open-log-journal */
    uint64_t journal_ticket;      /* store's journal_lock: durable once synced >= it */
    _Atomic int64_t closed_seq;   /* the checkpoint sequence when it last closed */
    struct alog_summary summary;  /* life_lock: for retention while closed */
    _Atomic int64_t cleaned_offset; /* the cleaner's first dirty offset, -1: never cleaned */
    _Atomic int64_t start_pending; /* DeleteRecords' start on its way to the checkpoint
                                      (admin.c), -1: none; the checkpoint writes the max */
    _Atomic int64_t horizon;      /* earliest delete horizon the cleaner wrote, INT64_MAX */
    _Atomic int64_t retain_limit; /* retention keeps every segment reaching past it */
    _Atomic bool cleaning;        /* a cleaner thread has picked it */
    _Atomic bool uncleanable;     /* a cleaning failed on its data: skipped until reopened */
    _Atomic bool clean_stop;      /* stop the cleaning under way (alog_close, store close) */
    pthread_mutex_t cfg_lock;     /* writers of cfg; readers off the append path */

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
    _Atomic int64_t recovery_point; /* written under flush_lock: the last recovery point */
    int64_t last_checkpoint_ms; /* flush_lock */
    _Atomic int64_t last_flush_ms;
    /* Copies of the settings read off the append lock (alog_set_config keeps them). */
    _Atomic int64_t flush_ms;        /* cfg.flush_interval_ms: the flusher */
    _Atomic int64_t flush_msgs;      /* cfg.flush_interval_messages */
    _Atomic uint32_t max_batch;      /* cfg.max_batch_bytes: checked before the lock */
    _Atomic uint32_t index_interval; /* cfg.index_interval_bytes: rebuilds, time lookups */
    _Atomic uint32_t index_max;      /* cfg.index_max_bytes: indexes made or rebuilt */
    _Atomic unsigned policy;         /* cfg.cleanup_policy: the cleaner's scan */

    pthread_mutex_t retain_lock; /* one retention pass at a time */

    pthread_mutex_t wait_lock; /* the waiters */
    struct alog_waiter_list waiters;
    int nwaiters;

    pthread_mutex_t watch_lock;  /* the end watches (watch.c) */
    struct alog_watch *watches;  /* watch_lock */
    _Atomic int nwatches;        /* written under watch_lock, read by appenders without it */
    _Atomic uint64_t changes;    /* alog_changes: bumped by every watch firing */

    /* Owned by the flusher's lock. */
    struct alog_flusher *flusher;
    TAILQ_ENTRY(alog) fl_link;
    TAILQ_ENTRY(alog) fl_due_link; /* on the flusher's due list (kicked by name) */
    bool fl_due;
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
    _Atomic bool recovered;             /* written by loads, read by alog_info */
    _Atomic int64_t recovery_truncated_bytes;
    _Atomic int recovery_deleted_segments;
    _Atomic int indexes_rebuilt;
    _Atomic uint64_t n_fault_recoveries; /* alog_recover runs that cleared a failure */
    _Atomic int64_t fault_discarded;     /* offsets those runs cut (never durable) */
    _Atomic int64_t fault_truncated_bytes;

    /* Idempotent producers (producer_int.h): the table is the append lock's. */
    struct alog_pstate pstate;
    _Atomic int64_t snap_unsynced; /* a roll's snapshot the flusher has yet to fsync, or -1 */
};

/* log.c */
struct alog *alog__alloc(const char *dir, const struct alog_config *cfg);
void alog__free(struct alog *log);
/* Drop the array's segments (their files close when the last reference goes). */
void alog__drop_segments(struct alog *log);
/* Steps 2-4 of a clean close for a standalone log; seal + index sync for a store's. */
int alog__seal_active(struct alog *log);
/* A consistent copy of the live configuration (cfg_lock). */
void alog__cfg(struct alog *log, struct alog_config *out);
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

/* store.c: the store's flusher (NULL: none) */
struct alog_flusher *alog__store_flusher(struct alog_store *s);

/* truncate.c, shared with restart.c */
/* The crash-test hook between steps (io.truncate_step), if set. */
void alog__truncate_step(struct alog *log, const char *name);
/* A new empty active segment at base, published (step "fresh"): the last step of a
 * truncation to an empty tail and of a restart. 0 or -errno (the array as it was). */
int alog__fresh_active(struct alog *log, int64_t base);

/* segment.c */
/* The store's descriptor counter for this log's segments, NULL when standalone. */
_Atomic int64_t *alog__store_files(struct alog *log);
int alog__seg_create(struct alog *log, int64_t base, struct alog_segment **out);
/* The same with a suffix after each file's extension ("<base>.log.cleaned": the cleaner). */
int alog__seg_create_sfx(struct alog *log, int64_t base, const char *sfx,
                         struct alog_segment **out);
/* Rename one of its files (ext ".log", ".index", ".timeindex") from the current suffix to
 * sfx; alog__seg_set_sfx then says where the files are (after the last one moved). */
int alog__seg_rename(struct alog_segment *seg, const char *ext, const char *sfx);
void alog__seg_set_sfx(struct alog_segment *seg, const char *sfx);
/* A COLD segment object for an existing .log of size bytes (no file is opened). */
int alog__seg_cold(struct alog *log, int64_t base, uint64_t size, struct alog_segment **out);
/*
 * Make the segment's files usable (open the .log, map the indexes) if it is cold; the
 * first time since loading, check the indexes and rebuild them if they fail (the .log is
 * never cut here: bad bytes only make reads past them fail). The caller holds a reference.
 * 0, or -errno (-EMFILE: the caller may make room and retry).
 */
int alog__seg_warm(struct alog *log, struct alog_segment *seg);
/* Warm with the store's EMFILE handling (make room, retry, else KC_ENOFILES). */
int alog__seg_warm_retry(struct alog *log, struct alog_segment *seg);
/* Close the files of a warm segment nobody else holds (refs == 1, under segs_lock). */
void alog__seg_cool(struct alog_segment *seg);
bool alog__seg_is_warm(struct alog_segment *seg);
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
    bool stored;  /* headers as a compacted log may hold them (kc_batch.h) */
    uint64_t end; /* never read at or past this position */
    uint8_t *buf;
    size_t cap;
    size_t want;      /* bytes the next pread asks for (at least what is needed) */
    size_t want_next; /* ... and the one after it */
    uint64_t at;      /* file position of buf[0] */
    size_t len;  /* valid bytes in buf */
    unsigned preads;
};
/* The same over a bare descriptor (swap.c reads a .swap file no segment owns). */
void alog__scan_init_fd(struct alog_scan *s, int fd, bool stored, uint64_t end, uint8_t *buf,
                        size_t cap);
/* Streaming: every pread fills the buffer (recovery, rebuilds). seg must be warm. */
void alog__scan_init(struct alog_scan *s, const struct alog_segment *seg, uint64_t end,
                     uint8_t *buf, size_t cap);
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
/* What a store knows about a log before opening it (NULL: read the directory's own
 * checkpoint files and marker, as a standalone log does). */
struct alog_load_hint {
    bool clean;    /* trust every segment (it was closed cleanly) */
    int64_t rp;    /* the recovery point: trust what lies below it */
    int64_t start; /* the log start offset, -1 if unknown */
};
int alog__load(struct alog *log, const struct alog_load_hint *hint);
/* A segment's indexes rebuilt from its .log without cutting anything (a lazy warm found
 * them bad). Exclusive access to seg's indexes. */
int alog__seg_reindex(struct alog *log, struct alog_segment *seg);
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
/* The batch CONTAINING offset (base <= offset <= last) in the warm segment seg, searched
 * below its committed size: 0 with *pos and *h; KC_ECORRUPT if the bytes do not parse or
 * no batch holds it; -errno. */
int alog__seg_locate(struct alog_segment *seg, int64_t offset, uint64_t *pos,
                     struct kc_batch_header *h);

/* retain.c: publish the log start max(start, current) - a standalone log writes its
 * log-start-offset-checkpoint first - then take the k oldest segments out and unlink them.
 * retain_lock held, the log pinned. */
int alog__delete_oldest(struct alog *log, int64_t start, int k);

/* checkpoint.c (a standalone log's own files; a store's log records in the store) */
int alog__checkpoint_read(const struct alog *log, const char *name, int64_t *offset);
int alog__checkpoint_write(const struct alog *log, const char *name, int64_t offset);
int alog__marker_write(const struct alog *log);
int alog__marker_take(const struct alog *log, bool *clean);
/* The recovery point is rp now: a standalone log writes its file, a store's log tells
 * its store (the per-directory file follows at the next checkpoint). */
int alog__record_recovery_point(struct alog *log, int64_t rp);
/* Retire a store's log's own checkpoint files (they are stale once the store lists it). */
void alog__retire_own_checkpoints(const struct alog *log);

/* life.c: pins (see the top of this file) */
int alog__enter(struct alog *log);
void alog__leave(struct alog *log);
/* A store's log: its journal line durable before its data is fsynced (0 if standalone). */
int alog__journal_sync_log(struct alog *log);
/* Pin only if it is OPEN now, never opening (the flusher, the cache's passes). */
bool alog__try_pin(struct alog *log);
/* The slow path of alog_end_offset for a COLD_UNKNOWN log: open it, then unpin. */
void alog__learn_offsets(struct alog *log);

/* clean.c: one cleaning pass (alog_clean's work) on a pinned log with retain_lock held;
 * the cleaner threads bring their own map and a stop flag (checked between segments). */
struct alog_omap;
int alog__clean_locked(struct alog *log, int64_t now_ms, struct alog_omap *map,
                       const _Atomic bool *stop, struct alog_clean_stats *st);
/* How dirty an open (pinned) log is, by the rules a pass would apply (the cleaner's pick). */
struct alog_dirt {
    int64_t first, bound;   /* the dirty part that may be cleaned now: [first, bound) */
    uint64_t clean_bytes;   /* segments wholly below first */
    uint64_t dirty_bytes;   /* segments in [first, bound) */
    int64_t overdue_ms;     /* max.compaction.lag.ms passed by this much, 0 if not */
};
int alog__clean_dirt(struct alog *log, int64_t now_ms, struct alog_dirt *d);

/* swap.c: put neu (written as "<base>.*.cleaned", synced) in the place of the k segments
 * old[0..k) of the array, crash-safely (swap.c draws it). Returns 0, or the error of the
 * step that failed (before the commit point nothing changed; after it the array holds neu
 * and recovery finishes the files). */
int alog__swap_in(struct alog *log, struct alog_segment *const *old, int k,
                  struct alog_segment *neu);
/* Open-time: finish the swap a crash interrupted ("<base>.log.swap" exists): the segments
 * it replaces are deleted from the directory and from bases[0..*n) (sorted), the swap
 * file renamed into place, its indexes left to be rebuilt. *suspect: its batches did not
 * all read well (then recovery re-reads everything). */
int alog__swap_finish(struct alog *log, int64_t base, int64_t *bases, int *n, bool *suspect);

/* watch.c: after end_offset moved up (release-stored), fire the watches it passed. */
void alog__watch_fire(struct alog *log);
/* After end_offset moved DOWN to end (alog_truncate): fire the watches waiting at an
 * offset past it (their reader's position no longer exists: it must look again). */
void alog__watch_fire_above(struct alog *log, int64_t end);

/* append.c: write one checked batch whose header already holds its base offset, which is
 * the log's end, into the active segment (rolling first if due), index it, remember its
 * producer (room reserved) and publish it (the commit point). append_lock held. A failed
 * write publishes nothing. Shared by alog_append and the follower's append (follow.c). */
int alog__write_at_end(struct alog *log, const uint8_t *batch, size_t len,
                       const struct kc_batch_header *h);
/* flush.messages: wake the flusher if [prev_end, end) crossed the backlog threshold. */
void alog__maybe_kick(struct alog *log, int64_t prev_end, int64_t end);

/* flusher.c */
/* Count one fdatasync that took ns (log->flusher's histogram, if it has a flusher). */
void alog__flusher_note_fsync(struct alog *log, int64_t ns);
int alog__flusher_register(struct alog_flusher *f, struct alog *log);
/* Take a store's log off the flusher's list (it is pinned by nobody: not being served). */
void alog__flusher_unregister(struct alog_flusher *f, struct alog *log);
/* Give many closing logs to the flusher at once and wait until it let them all go: their
 * waiters are released from its thread (the store's shutdown). */
void alog__flusher_close_many(struct alog_flusher *f, struct alog **logs, int n);
/* Flush, release the waiters from the flusher thread and unregister; returns the flush's
 * result. Called by alog_close. */
int alog__flusher_close(struct alog_flusher *f, struct alog *log);
/* Wake the flusher for a pass over every log (a store-wide sync, a close). */
void alog__flusher_kick(struct alog_flusher *f);
/* Wake it for this log: a waiter, a roll, a flush.messages backlog, a failure's verdict.
 * The pass visits the logs kicked by name only; the other logs wait for the next full
 * pass (their flush.ms deadlines, checkpoints: at most ALOG_FLUSHER_MAX_SLEEP_MS away). */
void alog__flusher_kick_log(struct alog *log);
/* One flush pass (flush_lock): fsync what is not durable yet; checkpoint if due. */
int alog__flush(struct alog *log, bool force_checkpoint);
/* Write the recovery point (flush_lock held), msync'ing the indexes it vouches for. */
int alog__checkpoint_recovery(struct alog *log);

/* The fault-injection seam (tests only). NULL restores the defaults. */
void alog__set_io(struct alog *log, const struct alog_io *io);
/* Tests only: let go of the log as if the process died now: no flush, no trim, no
 * checkpoint, no marker (pending waiters get KC_ECLOSED from the flusher). */
void alog__abandon(struct alog *log);
/* Tests only: let go of a whole store as if the process died now (store.c). */
void alog__store_abandon(struct alog_store *s);

/* The offsets as they are (alog_start_offset/alog_end_offset may open a log whose end a
 * crash left unknown: internal code, which runs on an open log, must not). */
static inline int64_t alog__end(struct alog *log)
{
    return atomic_load_explicit(&log->end_offset, memory_order_acquire);
}

static inline int64_t alog__start(struct alog *log)
{
    return atomic_load_explicit(&log->start_offset, memory_order_acquire);
}

static inline int64_t alog__seg_next(const struct alog_segment *seg)
{
    return atomic_load_explicit(&seg->next_offset, memory_order_acquire);
}

static inline uint64_t alog__seg_size(const struct alog_segment *seg)
{
    return atomic_load_explicit(&seg->size, memory_order_acquire);
}

#endif
