/*
 * restart.c - emptying a log and starting it again further on: what a follower does when
 * it comes back behind its leader's log start (Kafka's Log.truncateFullyAndStartAt).
 *
 * The follower was away while the leader's retention deleted segments. Its log ends at
 * 120; the leader's now starts at 400. Offsets 120..399 are gone everywhere, so the
 * follower cannot fetch them, and keeping 0..119 would leave a hole no reader could
 * cross. It throws its log away and starts over, empty, where the leader starts:
 *
 *   follower   [seg 0: 0..99][seg 100: 100..119]          end 120
 *   leader                          [seg 400: 400..][...] start 400
 *   alog_restart_at(log, 400):
 *   follower   [seg 400: empty, active]                   start = end = 400
 *
 * The order, for a crash at any point. One durable write decides old or new: the log
 * start offset, written past the end. recover.c already knows what a start past the end
 * means ("start over, empty, at the log start": it deletes every segment and makes one at
 * the start), so every state after that write opens as the new log, and every state
 * before it as the old one:
 *
 *   1. the start = 400, DURABLY                a standalone log: its log-start-offset-
 *                                              checkpoint; a store's: its line in the data
 *                                              directory's checkpoints (the recovery point
 *                                              line says 400 too: the store seeds a closed
 *                                              log's start no higher than its recovery
 *                                              point). Before: nothing has changed. After:
 *                                              the next open empties the log at 400.
 *   2. publish end, durable, start = 400       under the recovery lock held exclusively:
 *                                              no reader is inside an index meanwhile
 *   3. every segment out of the array and      newest first; a slice taken before keeps
 *      unlinked                                its segment (and its bytes) alive
 *   4. a fresh, empty active segment at 400
 *   5. commit: fdatasync it, the producer state rebuilt (every snapshot goes: none lies
 *      in [400, 400]), fsync the directory, the recovery point written (400).
 *
 * Durability waiters still pending get KC_EOFFSET (what they waited for is gone), and
 * every end watch fires (a reader parked at the old end reads again: KC_EOFFSET, below
 * the new start). Locks, as alog_truncate: append, retention, flush, and the recovery
 * lock exclusive for steps 2-4.
 */
#include <errno.h>
#include <inttypes.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "store_int.h"


/* Step 1: the new start on disk. The one write that decides. */
static int start_durable(struct alog *log, int64_t offset)
{
    if (!log->store)
        return alog__checkpoint_write(log, ALOG_LOG_START_FILE, offset);
    /* The store's snapshot reads the recovery point, then the start: set in the other
     * order, any checkpoint that carries one carries both. */
    int64_t rp = atomic_load(&log->recovery_point);
    atomic_store(&log->start_pending, offset);
    atomic_store(&log->recovery_point, offset);
    int rc = alog__store_write_checkpoints(log->store, false);
    if (rc) { /* nothing changed here; the files may still say either (the caller's error) */
        atomic_store(&log->recovery_point, rp);
        atomic_store(&log->start_pending, -1);
    }
    return rc;
}

/* Steps 2-4, recovery lock held exclusively. */
static int empty_locked(struct alog *log, int64_t offset, int *deleted)
{
    /* end first: start <= end holds at every moment (the old end is below offset) */
    atomic_store_explicit(&log->end_offset, offset, memory_order_release);
    atomic_store_explicit(&log->durable_offset, offset, memory_order_release);
    atomic_store_explicit(&log->start_offset, offset, memory_order_release);
    alog__truncate_step(log, "published");
    *deleted = log->nsegs;
    int rc = alog__segs_drop_from(log, 0);
    log->active = NULL;
    alog__truncate_step(log, "deleted");
    return rc ? rc : alog__fresh_active(log, offset);
}

/* Step 5. */
static int commit(struct alog *log)
{
    int rc = log->io.fdatasync(log->io.ctx, log->active->fd);
    atomic_fetch_add(&log->n_fsyncs, 1);
    if (rc == 0)
        rc = alog__psnap_rebuild(log); /* [offset, offset): no snapshot stays, no producer */
    if (rc == 0) {
        rc = kc_fsync_dir(log->dir);
        atomic_fetch_add(&log->n_dir_fsyncs, 1);
    }
    if (rc == 0) {
        atomic_store(&log->dir_dirty, false);
        rc = alog__checkpoint_recovery(log); /* rp = durable = offset */
    }
    if (log->store)
        atomic_store(&log->start_pending, -1); /* start_offset says it now */
    alog__truncate_step(log, "committed");
    return rc;
}

/* Every durability waiter: nothing will ever make its records durable. */
static void refuse_all_waiters(struct alog *log)
{
    struct alog_waiter *w;
    pthread_mutex_lock(&log->wait_lock);
    TAILQ_FOREACH(w, &log->waiters, link) {
        if (!w->err)
            w->err = KC_EOFFSET;
    }
    pthread_mutex_unlock(&log->wait_lock);
    if (log->flusher)
        alog__flusher_kick_log(log); /* callbacks run on the flusher thread */
}

static int restart_locked(struct alog *log, int64_t offset, int *deleted)
{
    if (atomic_load_explicit(&log->failed, memory_order_acquire))
        return -EIO;
    if (offset < alog__end(log))
        return KC_EOFFSET;
    int rc = start_durable(log, offset);
    if (rc)
        return rc;
    alog__truncate_step(log, "start");
    int64_t cleaned = atomic_load(&log->cleaned_offset);
    if (cleaned >= 0)
        atomic_store(&log->cleaned_offset, offset); /* nothing below it is left to clean */
    pthread_rwlock_wrlock(&log->recover_lock); /* waits for readers; refuses new ones */
    rc = empty_locked(log, offset, deleted);
    pthread_rwlock_unlock(&log->recover_lock);
    if (rc == 0)
        rc = commit(log);
    refuse_all_waiters(log);
    if (rc) { /* half done: the files say "start at offset"; a reopen finishes the job */
        int expected = 0;
        atomic_compare_exchange_strong(&log->failed, &expected, rc);
        kc_log_error("alog %s: restart at %" PRId64 " failed after it began (%s): the log "
                     "is failed until reopened", log->dir, offset, kc_strerror(rc));
    }
    return rc;
}

int alog_restart_at(struct alog *log, int64_t offset)
{
    if (offset < 0)
        return -EINVAL;
    int rc = alog__enter(log); /* a store's closed log is opened (and pinned) */
    if (rc)
        return rc;
    int64_t start = alog_start_offset(log), end = alog_end_offset(log);
    int deleted = 0;
    pthread_mutex_lock(&log->append_lock);
    pthread_mutex_lock(&log->retain_lock);
    pthread_mutex_lock(&log->flush_lock);
    rc = restart_locked(log, offset, &deleted);
    pthread_mutex_unlock(&log->flush_lock);
    pthread_mutex_unlock(&log->retain_lock);
    pthread_mutex_unlock(&log->append_lock);
    if (rc != KC_EOFFSET && rc != -EIO)
        alog_watch_fire_all(log); /* readers parked at the old end: below the start now */
    alog__leave(log);
    if (rc == 0)
        kc_log_info("alog %s: restarted at %" PRId64 ": [%" PRId64 ", %" PRId64 ") and %d "
                    "segment(s) dropped", log->dir, offset, start, end, deleted);
    return rc;
}
