/*
 * flusher.c - durability: one background thread fsyncs many logs, and one fsync answers
 * every request that was waiting for it (group commit).
 *
 *   producer A: append ... wait_durable(120) ----.
 *   producer B: append ... wait_durable(121) ----+--> flusher: end = 125
 *   producer C: append ... wait_durable(125) ----'      fdatasync(.log)    one syscall
 *                                                       durable = 125
 *                                                       A, B, C called back with 0
 *
 * While one fdatasync runs (milliseconds on a real disk), appends keep going and their
 * waiters queue up; the next pass covers them all. So the fsync rate is bounded by the
 * disk, not by the request rate, and never exceeds one per pass.
 *
 * Which logs a pass visits: a waiter (or a roll, a flush.messages backlog) kicks the
 * flusher naming its log, and the pass visits the logs so named - not the thousands of
 * idle ones a broker may hold open. Deadlines that come by time alone (flush.ms, the
 * checkpoint interval) and closes are served by a full pass over every log, due at the
 * earliest deadline the last full pass saw and at least every ALOG_FLUSHER_MAX_SLEEP_MS.
 *
 * When a pass happens, per log: someone waits; flush.ms elapsed since the last flush;
 * flush.messages are undurable; a segment rolled; or the log is closing. The recovery
 * point checkpoint is written at most every ALOG_CHECKPOINT_INTERVAL_MS and at each roll,
 * after msync'ing the indexes of the segments it vouches for.
 *
 * A failed fsync fails the log. Linux may already have dropped the dirty pages it could
 * not write (and cleared the error), so a retried fsync can succeed without the data ever
 * reaching the disk ("fsyncgate", PostgreSQL 2018). The log therefore refuses appends with
 * -EIO, fails every waiter with -EIO, serves reads only below the durable offset, and
 * leaves the truth to a recovery that re-reads what is really on disk: alog_recover
 * (fault.c) in place once the fault has cleared, or the next open.
 *
 * Locks: the flusher's own lock guards its list and each log's fl_* fields; it is never
 * held across an fsync. Per log, flush_lock serialises flush passes (the flusher and
 * alog_flush callers), wait_lock guards the waiter list. Callbacks run on the flusher
 * thread with no lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_time.h"
#include "store_int.h"

struct alog_flusher {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the thread sleeps here */
    pthread_cond_t done; /* alog_close waits here for its log to be let go */
    TAILQ_HEAD(, alog) logs;
    TAILQ_HEAD(, alog) due; /* kicked by name since the last pass (fl_due_link) */
    bool kicked;
    bool full;              /* kicked for every log */
    bool stop;
    uint64_t full_passes, visits; /* alog_flusher_stats */
    /* fsync times (alog_flusher_stats): any thread that flushes a log of this flusher */
    _Atomic uint64_t fsync_buckets[ALOG_FSYNC_BUCKETS];
    _Atomic uint64_t fsync_count;
    _Atomic uint64_t fsync_ns;
};

const double alog_fsync_bounds[ALOG_FSYNC_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5,
};

void alog__flusher_note_fsync(struct alog *log, int64_t ns)
{
    struct alog_flusher *f = log->flusher;
    if (!f)
        return;
    int i = 0;
    while (i < ALOG_FSYNC_BUCKETS && (double)ns > alog_fsync_bounds[i] * 1e9)
        i++;
    if (i < ALOG_FSYNC_BUCKETS) /* slower than the last bound: only in count (+Inf) */
        atomic_fetch_add_explicit(&f->fsync_buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&f->fsync_ns, (uint64_t)ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&f->fsync_count, 1, memory_order_relaxed);
}

void alog_flusher_stats(struct alog_flusher *f, struct alog_flusher_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < ALOG_FSYNC_BUCKETS; i++)
        out->buckets[i] = atomic_load_explicit(&f->fsync_buckets[i], memory_order_relaxed);
    out->count = atomic_load_explicit(&f->fsync_count, memory_order_relaxed);
    out->sum_seconds = (double)atomic_load_explicit(&f->fsync_ns, memory_order_relaxed) / 1e9;
    pthread_mutex_lock(&f->lock);
    out->full_passes = f->full_passes;
    out->visits = f->visits;
    pthread_mutex_unlock(&f->lock);
}

/* ---- one flush pass (any thread, flush_lock) ---------------------------------------- */

static void fail_log(struct alog *log, int err)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&log->failed, &expected, err))
        kc_log_error("alog %s: fsync failed (%s): the log refuses appends until alog_recover "
                     "succeeds or it is reopened",
                     log->dir, kc_strerror(err));
}

/* Up to cap segments (referenced) holding offsets >= from and < target, oldest first. */
static int dirty_segments(struct alog *log, int64_t from, int64_t target, struct alog_segment **out,
                          int cap)
{
    int n = 0;
    pthread_mutex_lock(&log->segs_lock);
    for (int i = 0; i < log->nsegs && n < cap; i++) {
        struct alog_segment *seg = log->segs[i];
        if (alog__seg_next(seg) > from && seg->base < target) {
            alog__seg_ref(seg);
            out[n++] = seg;
        }
    }
    pthread_mutex_unlock(&log->segs_lock);
    return n;
}

/* fdatasync every segment with data in [durable, target). */
static int sync_segments(struct alog *log, int64_t durable, int64_t target)
{
    int64_t from = durable;
    int rc = 0;
    while (rc == 0 && from < target) {
        struct alog_segment *segs[8];
        int n = dirty_segments(log, from, target, segs, 8);
        if (n == 0)
            break;
        for (int i = 0; i < n; i++) {
            if (rc == 0) /* undurable segments are never cooled; this is a no-op */
                rc = alog__seg_warm_retry(log, segs[i]);
            if (rc == 0) {
                int64_t t0 = kc_mono_ns();
                rc = log->io.fdatasync(log->io.ctx, segs[i]->fd);
                alog__flusher_note_fsync(log, kc_mono_ns() - t0);
                atomic_fetch_add(&log->n_fsyncs, 1);
                from = alog__seg_next(segs[i]);
            }
            alog__seg_unref(segs[i]);
        }
    }
    return rc;
}

static int flush_locked(struct alog *log)
{
    if (atomic_load(&log->failed))
        return -EIO;
    /* Read the end BEFORE the directory flag: a roll sets the flag before any append into
     * the new segment publishes a larger end, so this order never misses the dir fsync. */
    uint64_t bytes = atomic_load(&log->appended_bytes); /* before the end: a lower bound */
    int64_t target = alog__end(log);
    int64_t durable = alog_durable_offset(log);
    bool dir = atomic_exchange(&log->dir_dirty, false);
    if (target <= durable && !dir)
        return 0;
    int rc = alog__journal_sync_log(log); /* listed durably before its data is (store.c) */
    if (rc) { /* the journal's fsync is not this log's: its data stays as it was */
        if (dir)
            atomic_store(&log->dir_dirty, true);
        return rc; /* try again at the next pass; durable_offset did not move */
    }
    rc = sync_segments(log, durable, target);
    if (rc == 0 && dir) {
        rc = kc_fsync_dir(log->dir); /* new segment files must be findable after a crash */
        atomic_fetch_add(&log->n_dir_fsyncs, 1);
    }
    if (rc == -EMFILE || rc == -ENFILE || rc == KC_ENOFILES) {
        /* No descriptor to fsync with is not a failed fsync: nothing was lost, the page
         * cache is still the truth. Try again at the next pass. */
        if (dir)
            atomic_store(&log->dir_dirty, true);
        return rc;
    }
    if (rc) {
        fail_log(log, rc);
        return -EIO;
    }
    /* The durability point: every offset below target is on disk. */
    atomic_store_explicit(&log->durable_offset, target, memory_order_release);
    atomic_store_explicit(&log->durable_bytes, bytes, memory_order_relaxed);
    atomic_store(&log->repair_unsynced, false); /* whatever recovery kept is durable too */
    atomic_store(&log->last_flush_ms, kc_mono_ms());
    if (target > durable)
        atomic_fetch_add(&log->n_flushes, 1);
    return 0;
}

/* Oldest non-active segment below rp whose indexes are not yet synced (referenced). */
static struct alog_segment *unsynced_index(struct alog *log, int64_t rp)
{
    struct alog_segment *seg = NULL;
    pthread_mutex_lock(&log->segs_lock);
    for (int i = 0; i + 1 < log->nsegs && !seg; i++) {
        struct alog_segment *s = log->segs[i];
        if (!s->index_synced && alog__seg_next(s) <= rp)
            seg = s;
    }
    if (seg)
        alog__seg_ref(seg);
    pthread_mutex_unlock(&log->segs_lock);
    return seg;
}

int alog__checkpoint_recovery(struct alog *log)
{
    int64_t rp = alog_durable_offset(log);
    struct alog_segment *seg;
    int rc = 0;
    alog__psnap_sync(log); /* a roll's producer snapshot (producer_files.c) */
    while (rc == 0 && (seg = unsynced_index(log, rp)) != NULL) {
        rc = alog__seg_index_sync(seg);
        seg->index_synced = rc == 0;
        alog__seg_unref(seg);
    }
    if (rc == 0 && rp != atomic_load(&log->recovery_point))
        rc = alog__record_recovery_point(log, rp);
    if (rc == 0) {
        atomic_store(&log->recovery_point, rp);
        log->last_checkpoint_ms = kc_mono_ms();
    }
    return rc;
}

static bool checkpoint_due(struct alog *log)
{
    if (atomic_exchange(&log->roll_pending, false)) {
        if (log->store) /* a roll: the data directory's checkpoint soon, not in 5 s */
            alog__store_urgent(log->store);
        return true;
    }
    return kc_mono_ms() - log->last_checkpoint_ms >= ALOG_CHECKPOINT_INTERVAL_MS &&
           atomic_load(&log->recovery_point) < alog_durable_offset(log);
}

int alog__flush(struct alog *log, bool may_checkpoint)
{
    pthread_mutex_lock(&log->flush_lock);
    int rc = flush_locked(log);
    if (rc == 0 && may_checkpoint && checkpoint_due(log)) {
        int ck = alog__checkpoint_recovery(log);
        if (ck) /* the data is durable; only the hint for the next recovery is stale */
            kc_log_warn("alog %s: recovery point checkpoint: %s", log->dir, kc_strerror(ck));
    }
    pthread_mutex_unlock(&log->flush_lock);
    return rc;
}

static bool has_waiters(struct alog *log)
{
    pthread_mutex_lock(&log->wait_lock);
    bool any = log->nwaiters > 0;
    pthread_mutex_unlock(&log->wait_lock);
    return any;
}

int alog_flush(struct alog *log)
{
    if (!alog__try_pin(log))
        return 0; /* a closed log of a store: closing made it durable */
    int rc = alog__flush(log, true);
    if (log->flusher && has_waiters(log)) /* they are released from the flusher thread; */
        alog__flusher_kick_log(log);      /* one who comes later kicks it itself */
    alog__leave(log);
    return rc;
}

/* ---- waiters ------------------------------------------------------------------------ */

static int wait_open(struct alog *log, int64_t offset, alog_durable_cb cb, void *arg);

int alog_wait_durable(struct alog *log, int64_t offset, alog_durable_cb cb, void *arg)
{
    struct alog_flusher *f = log->store ? alog__store_flusher(log->store) : log->flusher;
    if (!f)
        return KC_EUNSUPPORTED;
    if (offset <= alog_durable_offset(log))
        return 1;
    if (offset > alog_end_offset(log))
        return KC_EOFFSET; /* nothing could ever make it durable but a later append */
    int rc = alog__enter(log); /* not durable yet: it was appended to, it is open */
    if (rc)
        return rc;
    rc = wait_open(log, offset, cb, arg);
    alog__leave(log); /* a log with waiters is never closed by the cache */
    return rc;
}

static int wait_open(struct alog *log, int64_t offset, alog_durable_cb cb, void *arg)
{
    if (atomic_load(&log->failed))
        return -EIO;
    struct alog_waiter *w = malloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    *w = (struct alog_waiter){.offset = offset, .cb = cb, .arg = arg};
    pthread_mutex_lock(&log->wait_lock);
    bool done = offset <= alog_durable_offset(log); /* the flusher may have just passed */
    if (!done) {
        TAILQ_INSERT_TAIL(&log->waiters, w, link);
        log->nwaiters++;
    }
    pthread_mutex_unlock(&log->wait_lock);
    if (done) {
        free(w);
        return 1;
    }
    alog__flusher_kick_log(log);
    return 0;
}

/* Call back every waiter that is settled: durable, failed, judged by alog_recover (w->err
 * already set), or (closing) abandoned. */
static void release_waiters(struct alog *log, bool closing)
{
    struct alog_waiter_list ready = TAILQ_HEAD_INITIALIZER(ready);
    pthread_mutex_lock(&log->wait_lock);
    int64_t durable = alog_durable_offset(log);
    int failed = atomic_load(&log->failed) ? -EIO : 0;
    struct alog_waiter *w, *next;
    for (w = TAILQ_FIRST(&log->waiters); w; w = next) {
        next = TAILQ_NEXT(w, link);
        if (!w->err && !failed && w->offset > durable && !closing)
            continue;
        if (!w->err)
            w->err = failed ? failed : w->offset <= durable ? 0 : KC_ECLOSED;
        TAILQ_REMOVE(&log->waiters, w, link);
        log->nwaiters--;
        TAILQ_INSERT_TAIL(&ready, w, link);
    }
    pthread_mutex_unlock(&log->wait_lock);
    while ((w = TAILQ_FIRST(&ready)) != NULL) {
        TAILQ_REMOVE(&ready, w, link);
        w->cb(w->arg, w->err);
        free(w);
    }
}

/* ---- the thread --------------------------------------------------------------------- */

/* Does this log need a flush now? Else, *next says when it will (monotonic ms). */
static bool flush_due(struct alog *log, int64_t now, int64_t *next)
{
    int64_t backlog = alog__end(log) - alog_durable_offset(log);
    int64_t msgs = atomic_load(&log->flush_msgs), ms = atomic_load(&log->flush_ms);
    if (backlog <= 0 && !atomic_load(&log->dir_dirty))
        return false;
    if (has_waiters(log) || atomic_load(&log->roll_pending))
        return true;
    if (msgs > 0 && backlog >= msgs)
        return true;
    if (ms < 0)
        return false;
    int64_t at = atomic_load(&log->last_flush_ms) + ms;
    if (at <= now)
        return true;
    *next = at < *next ? at : *next;
    return false;
}

/* One visit to one log; returns the flush's result (for a closing log). */
static int service(struct alog *log, bool closing, int64_t *next)
{
    int64_t now = kc_mono_ms();
    int rc = 0;
    if (closing && log->fl_abandon) {
        /* a simulated crash: nothing more reaches the disk */
    } else if (closing || flush_due(log, now, next)) {
        rc = alog__flush(log, !closing);
        if (rc && !closing)
            kc_log_debug("alog %s: flush: %s", log->dir, kc_strerror(rc));
        int64_t ms = atomic_load(&log->flush_ms);
        if (ms >= 0 && now + ms < *next)
            *next = now + ms; /* the next flush.ms deadline, should more data come */
    } else {
        pthread_mutex_lock(&log->flush_lock);
        if (checkpoint_due(log))
            (void)alog__checkpoint_recovery(log); /* a stale hint only costs recovery time */
        pthread_mutex_unlock(&log->flush_lock);
    }
    release_waiters(log, closing);
    return rc;
}

static void sleep_until(struct alog_flusher *f, int64_t deadline_ms)
{
    int64_t now = kc_mono_ms();
    if (f->kicked || f->stop || deadline_ms <= now)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (deadline_ms - now) * 1000000;
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    (void)pthread_cond_timedwait(&f->wake, &f->lock, &ts); /* timeout or kick: same next step */
}

/* Off the due list (f->lock held). */
static void undue(struct alog_flusher *f, struct alog *log)
{
    if (log->fl_due) {
        TAILQ_REMOVE(&f->due, log, fl_due_link);
        log->fl_due = false;
    }
}

/* Visit one log (f->lock held, released meanwhile); returns the log that followed it on
 * the list of all logs, as of after the visit. */
static struct alog *visit(struct alog_flusher *f, struct alog *log, int64_t *next)
{
    bool closing = log->fl_closing;
    /* A store's log being closed by the cache is skipped (it flushes itself); one we pin
     * cannot be taken off the lists while we serve it. */
    if (!closing && !alog__try_pin(log))
        return TAILQ_NEXT(log, fl_link);
    f->visits++;
    pthread_mutex_unlock(&f->lock); /* never held across an fsync */
    int rc = service(log, closing, next);
    pthread_mutex_lock(&f->lock);
    struct alog *following = TAILQ_NEXT(log, fl_link);
    if (closing) {
        undue(f, log);
        TAILQ_REMOVE(&f->logs, log, fl_link);
        log->fl_registered = false;
        log->fl_close_rc = rc;
        pthread_cond_broadcast(&f->done);
    } else {
        alog__leave(log);
    }
    return following;
}

/*
 * The loop. A pass is either full - every log: its flush.ms deadline, its checkpoint, a
 * close - or, when only logs kicked by name are waiting (a producer's acks, a follower's
 * fsync), just those: with thousands of idle logs open, a full pass per acknowledgement
 * made every durable write pay for every idle log (two locks and a clock read each). A
 * full pass still comes by the earliest deadline the last one saw, and at least every
 * ALOG_FLUSHER_MAX_SLEEP_MS.
 */
static void *flusher_main(void *arg)
{
    struct alog_flusher *f = arg;
    int64_t next = 0; /* the next full pass (monotonic ms) */
    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        f->kicked = false;
        if (f->full || kc_mono_ms() >= next) {
            f->full = false;
            f->full_passes++;
            while (!TAILQ_EMPTY(&f->due)) /* the full pass covers them */
                undue(f, TAILQ_FIRST(&f->due));
            next = kc_mono_ms() + ALOG_FLUSHER_MAX_SLEEP_MS;
            for (struct alog *log = TAILQ_FIRST(&f->logs); log;)
                log = visit(f, log, &next);
        } else {
            struct alog *log;
            while ((log = TAILQ_FIRST(&f->due)) != NULL) {
                undue(f, log);
                if (!log->fl_closing) /* a close asked for a full pass: it is served there */
                    (void)visit(f, log, &next);
            }
        }
        sleep_until(f, next);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

int alog_flusher_create(struct alog_flusher **out)
{
    struct alog_flusher *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, &ca);
    pthread_cond_init(&f->done, NULL);
    pthread_condattr_destroy(&ca);
    TAILQ_INIT(&f->logs);
    TAILQ_INIT(&f->due);
    int rc = pthread_create(&f->thread, NULL, flusher_main, f);
    if (rc) {
        pthread_cond_destroy(&f->wake);
        pthread_cond_destroy(&f->done);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return -rc;
    }
    *out = f;
    return 0;
}

void alog_flusher_destroy(struct alog_flusher *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    if (!TAILQ_EMPTY(&f->logs))
        kc_log_error("alog flusher destroyed with logs still open: close them first");
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    pthread_cond_destroy(&f->wake);
    pthread_cond_destroy(&f->done);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void alog__flusher_kick(struct alog_flusher *f)
{
    pthread_mutex_lock(&f->lock);
    f->kicked = true;
    f->full = true;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

void alog__flusher_kick_log(struct alog *log)
{
    struct alog_flusher *f = log->flusher;
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    if (!log->fl_registered)
        f->full = true; /* not on the lists (yet): nothing to name; look at them all */
    else if (!log->fl_due) {
        TAILQ_INSERT_TAIL(&f->due, log, fl_due_link);
        log->fl_due = true;
    }
    f->kicked = true;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

int alog__flusher_register(struct alog_flusher *f, struct alog *log)
{
    pthread_mutex_lock(&f->lock);
    if (f->stop) {
        pthread_mutex_unlock(&f->lock);
        return KC_ECLOSED;
    }
    TAILQ_INSERT_TAIL(&f->logs, log, fl_link);
    log->fl_registered = true;
    log->fl_closing = false;
    log->fl_due = false;
    pthread_mutex_unlock(&f->lock);
    return 0;
}

void alog__flusher_unregister(struct alog_flusher *f, struct alog *log)
{
    pthread_mutex_lock(&f->lock);
    if (log->fl_registered) {
        undue(f, log);
        TAILQ_REMOVE(&f->logs, log, fl_link);
        log->fl_registered = false;
    }
    pthread_mutex_unlock(&f->lock);
}

void alog__flusher_close_many(struct alog_flusher *f, struct alog **logs, int n)
{
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < n; i++)
        logs[i]->fl_closing = true;
    f->kicked = true;
    f->full = true; /* closes are served by a full pass */
    pthread_cond_signal(&f->wake);
    for (int i = 0; i < n; i++) {
        while (logs[i]->fl_registered && !f->stop)
            pthread_cond_wait(&f->done, &f->lock);
    }
    pthread_mutex_unlock(&f->lock);
}

int alog__flusher_close(struct alog_flusher *f, struct alog *log)
{
    pthread_mutex_lock(&f->lock);
    log->fl_closing = true;
    f->kicked = true;
    f->full = true;
    pthread_cond_signal(&f->wake);
    while (log->fl_registered && !f->stop)
        pthread_cond_wait(&f->done, &f->lock);
    bool orphaned = log->fl_registered; /* the flusher was destroyed first */
    int rc = log->fl_close_rc;
    pthread_mutex_unlock(&f->lock);
    return orphaned ? alog__flush(log, false) : rc;
}
