/*
 * store_int.h - a data directory of logs: the store's insides, shared by store.c (open,
 * close, the table, the store thread), store_ckpt.c (the per-directory checkpoints and
 * the open-log journal), cache.c (the CLOCK over open logs) and life.c (one log's open and
 * close).
 *
 *   struct alog_store
 *     logs[0..nlogs)        every handle, by slot (table_lock); names hashed for lookup
 *     ring, hand            the OPEN logs in a circle, the CLOCK hand (cache_lock)
 *     files                 descriptors held by the logs' segments (atomic)
 *     queue                 logs the store thread must open (queue_lock, queue_cond)
 *     ckpt_seq              checkpoints started (ckpt_lock)
 *     journal_fd            open-log-journal, appended with O_APPEND (journal_lock)
 *
 * Lock order (outer first): table_lock; one log's life_lock; cache_lock; that log's
 * segs_lock, then a segment's file_lock; wait_lock is a leaf. The cache holds cache_lock
 * while it picks and claims a victim and only try-locks the victim's life_lock, passing
 * over a busy log: a thread that holds a life_lock and wants cache_lock cannot deadlock
 * with it. journal_lock and ckpt_lock are taken alone.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "alog_int.h"

/* One line of a per-directory checkpoint, as read at open. */
struct store_entry {
    char *name; /* "<topic>-<partition>", the directory name */
    int64_t rp;
    int64_t start;    /* -1 when log-start-offset-checkpoint does not list it */
    int64_t cleaned;  /* cleaner-offset-checkpoint; -1 when absent */
    bool in_journal;  /* open-log-journal lists it: it may hold unflushed records */
    bool gone;        /* discarded (alog_discard): a re-added name starts from its files */
};

struct alog_store {
    char *dir;
    int lock_fd; /* <dir>/.lock, flock'ed */
    int dir_fd;  /* the data directory (syncfs, fsync) */
    struct alog_store_config cfg;
    int64_t max_files; /* cfg.max_open_files resolved */

    pthread_mutex_t table_lock; /* logs, nlogs, the hash */
    struct alog **logs;
    int nlogs, cap;
    int *hash; /* open addressing over names: slot + 1, 0 empty */
    size_t hash_cap;

    /* What open found on disk (freed once every log has been added or the first
     * checkpoint is written). */
    struct store_entry *found;
    size_t nfound;
    bool clean_start;
    bool fresh; /* a new data directory: no checkpoint, no journal, no marker */
    int64_t open_ms;

    pthread_mutex_t cache_lock; /* the ring and the hand */
    struct alog *ring;          /* any OPEN log of the circle, or NULL */
    struct alog *hand;
    int open_logs;
    _Atomic int64_t files;
    _Atomic uint64_t opens, evictions, emfile_retries;

    pthread_t thread; /* the store thread: opens, the unknown-log sweep, checkpoints */
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_cond;
    struct alog *queue_head, *queue_tail;
    int sweep_next;          /* table_lock: the next slot the sweep looks at */
    _Atomic bool sweeping;   /* set and cleared under table_lock: logs of unknown end */
    bool stop;

    pthread_mutex_t ckpt_lock; /* one checkpoint write at a time */
    _Atomic int64_t ckpt_seq;
    _Atomic bool ckpt_dirty;
    _Atomic bool ckpt_urgent;
    _Atomic int64_t last_ckpt_ms;
    int64_t ckpt_gen;     /* table_lock: checkpoint snapshots taken */
    int64_t ckpt_written; /* table_lock: the generation of the last complete write */
    int64_t left_gen;     /* table_lock: ckpt_gen when a log last left the table, -1 */

    pthread_mutex_t journal_lock;
    pthread_cond_t journal_cond;
    int journal_fd;
    uint64_t journal_asked, journal_synced; /* group commit of journal lines */
    uint64_t journal_failed_upto;           /* a write of lines up to here failed ... */
    int journal_err;                        /* ... with this */
    bool journal_busy;

    struct alog_cleaner *cleaner; /* cleaner.c, NULL without cleaner threads */
};

/* store.c */
struct alog *alog__store_log(struct alog_store *s, int slot); /* table_lock held or not */
/* Ask the store thread to open log (life_lock held by the caller). */
void alog__store_queue(struct alog_store *s, struct alog *log);
void alog__store_mark_dirty(struct alog_store *s);
/* A segment rolled: write the checkpoints soon (at most once a second), not at the next
 * interval, as the per-partition files were written at every roll. */
void alog__store_urgent(struct alog_store *s);
/* The entry found at open for name, or NULL (a discarded log's too: see entry->gone). */
const struct store_entry *alog__store_found(const struct alog_store *s, const char *name);
/* Take log out of the table (a close or a discard); its entry remembers when, and gone
 * for a discard. The caller then closes its files and frees it. */
void alog__store_take_out(struct alog_store *s, struct alog *log, bool gone);
/* alog_close of a store's log: out of the table, closed (flushed), freed. */
int alog__store_close_log(struct alog *log);

/* store_ckpt.c */
int alog__store_read_checkpoints(struct alog_store *s);
int alog__store_write_checkpoints(struct alog_store *s, bool closing);
int alog__store_take_marker(struct alog_store *s, bool *clean);
int alog__store_write_marker(struct alog_store *s);
int alog__journal_open(struct alog_store *s);
/* List log in open-log-journal as it opens (queued: no I/O). */
int alog__journal_add(struct alog_store *s, struct alog *log);
/* Make its line durable (group commit: one fdatasync for everything queued); before any
 * of its data is fsynced. */
int alog__journal_sync(struct alog_store *s, struct alog *log);
void alog__journal_close(struct alog_store *s);
/* "<topic>-<partition>" <-> "topic partition" (Kafka's checkpoint line). */
int alog__entry_line(const char *name, char *out, size_t cap);

/* cache.c */
void alog__cache_insert(struct alog_store *s, struct alog *log);
void alog__cache_remove(struct alog_store *s, struct alog *log);
/* Close logs nobody uses until the descriptors held fit max_files (CLOCK). */
void alog__cache_trim(struct alog_store *s, struct alog *keep);
/* After EMFILE: close one log nobody uses, whatever its bit says. true if one was. */
bool alog__cache_reclaim(struct alog_store *s, struct alog *keep);

/* cleaner.c */
int alog__cleaner_start(struct alog_store *s);  /* cfg.cleaner_threads threads (0: none) */
void alog__cleaner_stop(struct alog_store *s);  /* stops the passes under way, joins */
void alog__cleaner_info(struct alog_store *s, struct alog_store_info *info);

/* life.c */
/* Open a COLD log and leave it OPEN and pinned (the caller unpins). Any thread. */
int alog__open_pinned(struct alog *log);
/* The cache's eviction, in two steps. Claim (cache_lock held, never blocking): an OPEN
 * log nobody pins, with no durability waiter and not failed, becomes CLOSING; false if it
 * cannot. Finish (no store lock held): flush, close the files, COLD; on an error the log
 * goes back to OPEN and the error is returned. Either way the claimer touches the log no
 * more afterwards (a waiting alog_close may free it). */
bool alog__evict_claim(struct alog *log);
int alog__evict_finish(struct alog *log);
/* The store's close: every log closed after ONE syncfs (store.c drives it). */
int alog__close_for_shutdown(struct alog *log);
/* alog_discard of a store's log, out of the table and unpinned: wait for an open or a
 * close under way, then let go of its files without a flush (waiters: KC_ECLOSED, parked
 * prepares: KC_ECLOSED). */
void alog__discard_files(struct alog *log);

#endif
