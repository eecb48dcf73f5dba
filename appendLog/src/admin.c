/*
 * admin.c - what an administrator does to a log that is in use: move its start offset
 * (Kafka's DeleteRecords) and throw it away with its topic. (Its settings change through
 * alog_set_config, log.c: every field is live.)
 *
 * DeleteRecords. The log start offset may stop inside a segment:
 *
 *   [seg 0: 0..99][seg 1: 100..199][active: 200..]      DeleteRecords(150)
 *    ^^^^^^^^^^^^ deleted (all of it below 150)
 *                  seg 1 kept: 150 lies inside; reads at 150 start at its batch
 *   log start = 150: made durable FIRST, then published
 *
 * Where the start is made durable depends on who keeps the log's checkpoints:
 *
 *   standalone log   its own log-start-offset-checkpoint (retain.c writes it before it
 *                    publishes, tmp + fsync + rename + fsync dir)
 *   a store's log    the data directory's log-start-offset-checkpoint, one line per log:
 *                    1. flush: every record below the new start durable, and the recovery
 *                       point with them (a start past what a crash keeps would empty the
 *                       log at the next open: recover.c's "start past the end")
 *                    2. start_pending = 150; the store's checkpoints written NOW (the
 *                       snapshot writes max(start, start_pending) for the log)
 *                    3. publish start = 150, delete what lies wholly below (retain.c)
 *
 * A crash before the checkpoint is durable leaves the old start, and the broker has not
 * answered yet; after it, the new one: the next open takes max(first segment's base,
 * checkpoint) (recover.c), for a closed store log too (the store seeds its start from the
 * line). Retention never moves the start back: when it later deletes segment 1, the start
 * stays 150 (alog__delete_oldest keeps the larger).
 *
 * Discarding. A deleted topic's logs are about to be removed with their directories:
 * closing them cleanly would fsync files nobody will read. alog_discard lets go of them
 * as a crash would, and takes a store's log out of the store for good: out of its table
 * (so the next checkpoint no longer lists it), its line marked gone (a re-created name is
 * not seeded from it), and a re-added name writes the checkpoints at once if the old line
 * may still be in the files (store.c: may_be_stale), so no line of the deleted log can
 * ever describe its successor after a crash.
 */
#include <errno.h>
#include <stdlib.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_log.h"
#include "kc_time.h"
#include "store_int.h"

/* How many of the oldest segments (never the last) lie wholly below offset. */
static int count_below(struct alog_segment **segs, int n, int64_t offset)
{
    int k = 0;
    while (k < n - 1 && alog__seg_next(segs[k]) <= offset)
        k++;
    return k;
}

/* Steps 1-2 for a store's log (pinned, retain_lock held). */
static int store_start_durable(struct alog *log, int64_t offset)
{
    int rc = alog__flush(log, false);
    if (rc == 0) {
        pthread_mutex_lock(&log->flush_lock);
        rc = alog__checkpoint_recovery(log); /* recovery point = durable >= offset */
        pthread_mutex_unlock(&log->flush_lock);
    }
    if (log->flusher)
        alog__flusher_kick_log(log); /* waiters the flush covered: from its thread */
    if (rc)
        return rc;
    atomic_store(&log->start_pending, offset);
    rc = alog__store_write_checkpoints(log->store, false); /* the durability point */
    if (rc)
        atomic_store(&log->start_pending, -1);
    return rc;
}

/* Step 3, after the start is durable (retain_lock held). */
static int publish_start(struct alog *log, int64_t offset)
{
    int n;
    pthread_mutex_lock(&log->segs_lock);
    n = log->nsegs;
    pthread_mutex_unlock(&log->segs_lock);
    struct alog_segment **segs = calloc((size_t)n + 1, sizeof(*segs));
    if (!segs)
        return -ENOMEM;
    n = alog__segs_snapshot(log, segs, n);
    /* A standalone log: its checkpoint says `offset` before anyone can see it. */
    int rc = alog__delete_oldest(log, offset, count_below(segs, n, offset));
    for (int i = 0; i < n; i++)
        alog__seg_unref(segs[i]);
    free(segs);
    return rc;
}

int alog_advance_start(struct alog *log, int64_t offset)
{
    int rc = alog__enter(log); /* a store's closed log is opened (and pinned) */
    if (rc)
        return rc;
    pthread_mutex_lock(&log->retain_lock);
    if (offset > alog__end(log))
        rc = KC_EOFFSET;
    else if (offset > alog__start(log)) {
        if (log->store)
            rc = store_start_durable(log, offset);
        if (rc == 0)
            rc = publish_start(log, offset);
        if (log->store && alog__start(log) >= offset)
            atomic_store(&log->start_pending, -1); /* start_offset says it now */
    }
    pthread_mutex_unlock(&log->retain_lock);
    alog__leave(log);
    return rc;
}

void alog_discard(struct alog *log)
{
    if (!log)
        return;
    if (!log->store) {
        alog__abandon(log); /* no flush, no checkpoint, no marker: the files are going */
        return;
    }
    struct alog_store *s = log->store;
    alog__store_take_out(s, log, true);   /* out of the table: no checkpoint lists it again */
    atomic_store(&log->clean_stop, true); /* a cleaning under way stops soon */
    while (atomic_load(&log->pins) != 0)  /* the store thread's, a cleaner's, the flusher's */
        kc_sleep_ms(1);
    alog__discard_files(log);
    alog__free(log);
    alog__store_urgent(s); /* the checkpoints without its line, within a second */
}
