/*
 * life.c - a store's log opens when it is first needed and closes when the cache needs
 * room, while other threads keep calling it.
 *
 *            first use                      cache: nobody pins it
 *   COLD ---------------> OPENING --> OPEN ----------------------> CLOSING --> COLD
 *   COLD_UNKNOWN ------'   (journal, load,     (in the ring;       (flush, close
 *   (a crash)               recover, ring)      pins come & go)     files, ring out)
 *
 * PINS. Every call that touches the log's files holds a pin for its duration, and a
 * request that parks (alog_prepare, alog_pin) holds one until it is done. The cache
 * closes only a log with no pin. The two sides race, and neither takes a lock on the fast
 * path; Dekker's pattern again (watch.c has the other instance):
 *
 *   pinner:   pins += 1   then  load state     OPEN: go on    else: pins -= 1, slow path
 *   evictor:  state = CLOSING  then  load pins  0: close it    else: state = OPEN, give up
 *
 * Both pairs are sequentially consistent, so in their one total order at least one side
 * sees the other's store: the pinner sees CLOSING (and waits for the close, then reopens),
 * or the evictor sees the pin (and gives up). Never both blind. The slow paths, and every
 * state change but that one store, happen under the log's life_lock, and a thread that
 * finds OPENING or CLOSING waits on life_cond for the other thread to finish.
 *
 * Opening writes the log's name to the store's open-log-journal FIRST (durably, one fsync
 * shared by every log opening at the same moment): from then on a crash may leave records
 * past its recovery point, and the next start must know which logs to distrust. A log
 * the journal does not list is known clean after a crash, without opening it. Closing is
 * a flush: what is written is durable, its recovery point is its end, and the next
 * per-directory checkpoint lets the journal forget it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "alog_params.h"
#include "kc_err.h"
#include "kc_log.h"
#include "kc_time.h"
#include "store_int.h"

/* ---- pins --------------------------------------------------------------------------- */

static bool pin_fast(struct alog *log)
{
    atomic_fetch_add(&log->pins, 1); /* seq_cst: the pinner's store ... */
    if (atomic_load(&log->state) == ALOG_OPEN) { /* ... then its load */
        if (!atomic_load_explicit(&log->ref_bit, memory_order_relaxed))
            atomic_store_explicit(&log->ref_bit, true, memory_order_relaxed);
        return true;
    }
    atomic_fetch_sub(&log->pins, 1);
    return false;
}

bool alog__try_pin(struct alog *log)
{
    return !log->store || pin_fast(log);
}

int alog__enter(struct alog *log)
{
    if (!log->store || pin_fast(log))
        return 0;
    return alog__open_pinned(log);
}

void alog__leave(struct alog *log)
{
    if (log->store)
        atomic_fetch_sub(&log->pins, 1);
}

int alog_pin(struct alog *log)
{
    if (!log->store) {
        atomic_fetch_add(&log->pins, 1);
        return 0;
    }
    return alog__enter(log);
}

void alog_unpin(struct alog *log)
{
    atomic_fetch_sub(&log->pins, 1);
}

void alog__learn_offsets(struct alog *log)
{
    int rc = alog_pin(log);
    if (rc == 0)
        alog_unpin(log);
    else
        kc_log_warn("alog %s: cannot open it to learn its end after a crash: %s", log->dir,
                    kc_strerror(rc));
}

/* ---- readiness ---------------------------------------------------------------------- */

/* The open finished (life_lock held): answer every waiting prepare. */
static void answer_readies(struct alog *log, int rc)
{
    struct alog_ready *r;
    while ((r = log->readies) != NULL) {
        log->readies = r->next;
        if (r->next)
            r->next->pprev = &log->readies;
        r->next = NULL;
        r->pprev = NULL;
        r->err = rc;
        if (rc == 0)
            atomic_fetch_add(&log->pins, 1); /* the caller's, given back by alog_unpin */
        r->fn(r); /* under life_lock: alog_prepare_cancel is exact */
    }
}

int alog_prepare(struct alog *log, struct alog_ready *r)
{
    if (alog__try_pin(log)) {
        if (!log->store)
            atomic_fetch_add(&log->pins, 1); /* counted for symmetry with alog_unpin */
        return 1;
    }
    pthread_mutex_lock(&log->life_lock);
    int st = atomic_load(&log->state);
    if (st == ALOG_OPEN) {
        atomic_fetch_add(&log->pins, 1); /* cannot close: closing takes this lock first */
        pthread_mutex_unlock(&log->life_lock);
        return 1;
    }
    r->err = 0;
    r->next = log->readies;
    r->pprev = &log->readies;
    if (log->readies)
        log->readies->pprev = &r->next;
    log->readies = r;
    if (st != ALOG_OPENING)
        alog__store_queue(log->store, log); /* whoever opens it answers the readies */
    pthread_mutex_unlock(&log->life_lock);
    return 0;
}

bool alog_prepare_cancel(struct alog *log, struct alog_ready *r)
{
    pthread_mutex_lock(&log->life_lock);
    bool queued = r->pprev != NULL;
    if (queued) {
        *r->pprev = r->next;
        if (r->next)
            r->next->pprev = r->pprev;
        r->next = NULL;
        r->pprev = NULL;
    }
    pthread_mutex_unlock(&log->life_lock);
    return queued;
}

/* ---- opening ------------------------------------------------------------------------ */

/* What the store knows of a closed log, as a load hint (NULL: its own files decide). */
static const struct alog_load_hint *hint_for(struct alog *log, int st, struct alog_load_hint *h)
{
    if (!log->has_entry)
        return NULL; /* never listed per directory: its own (older) files, if any */
    h->clean = st == ALOG_COLD;
    h->rp = atomic_load(&log->recovery_point);
    h->start = atomic_load(&log->start_offset);
    return h;
}

/* Undo a failed load so the next attempt starts from nothing. */
static void unload(struct alog *log)
{
    alog__drop_segments(log);
    alog__psnap_release(log, false); /* whatever the load got of the producer state */
    log->tail_dirty = false;
    atomic_store(&log->dir_dirty, false);
    atomic_store(&log->roll_pending, false);
}

static bool out_of_files(int rc)
{
    return rc == -EMFILE || rc == -ENFILE;
}

/* Load, making room in the cache and trying again while the process is out of fds. */
static int load_with_room(struct alog *log, const struct alog_load_hint *hint)
{
    for (;;) {
        int rc = alog__load(log, hint);
        if (rc == 0)
            return 0;
        unload(log);
        if (!out_of_files(rc))
            return rc;
        atomic_fetch_add(&log->store->emfile_retries, 1);
        if (!alog__cache_reclaim(log->store, log))
            return KC_ENOFILES; /* every open log is in use: the caller retries later */
    }
}

static int open_files(struct alog *log, int st)
{
    struct alog_store *s = log->store;
    struct alog_load_hint h;
    int rc = alog__journal_add(s, log); /* before anything can be appended */
    if (rc)
        return out_of_files(rc) ? KC_ENOFILES : rc;
    rc = load_with_room(log, hint_for(log, st, &h));
    if (rc == 0 && s->cfg.flusher) {
        rc = alog__flusher_register(s->cfg.flusher, log);
        log->flusher = rc == 0 ? s->cfg.flusher : NULL;
        if (rc)
            unload(log);
    }
    if (rc)
        return rc;
    log->has_entry = true;
    atomic_store(&log->offsets_known, true); /* loaded: its end is the truth now */
    atomic_store(&log->ref_bit, true);
    alog__cache_insert(s, log);
    atomic_fetch_add(&s->opens, 1);
    return 0;
}

int alog__open_pinned(struct alog *log)
{
    pthread_mutex_lock(&log->life_lock);
    int st;
    while ((st = atomic_load(&log->state)) == ALOG_OPENING || st == ALOG_CLOSING)
        pthread_cond_wait(&log->life_cond, &log->life_lock);
    if (st == ALOG_OPEN) {
        atomic_fetch_add(&log->pins, 1);
        pthread_mutex_unlock(&log->life_lock);
        return 0;
    }
    atomic_store(&log->state, ALOG_OPENING);
    pthread_mutex_unlock(&log->life_lock);

    int rc = open_files(log, st);

    pthread_mutex_lock(&log->life_lock);
    atomic_store(&log->state, rc == 0 ? ALOG_OPEN : st);
    if (rc == 0)
        atomic_fetch_add(&log->pins, 1); /* ours */
    else
        kc_log_warn("alog %s: cannot open: %s", log->dir, kc_strerror(rc));
    answer_readies(log, rc);
    pthread_cond_broadcast(&log->life_cond);
    pthread_mutex_unlock(&log->life_lock);
    if (rc == 0)
        alog__cache_trim(log->store, log);
    return rc;
}

/* ---- closing ------------------------------------------------------------------------ */

/* What retention needs to judge the log while it is closed (segs_lock held). */
static void remember_summary(struct alog *log)
{
    struct alog_summary sum = {.known = true, .segments = log->nsegs, .oldest_ts = -2,
                               .active_base = -1};
    if (log->nsegs > 0)
        sum.active_base = log->segs[log->nsegs - 1]->base;
    for (int i = 0; i < log->nsegs; i++)
        sum.bytes += alog__seg_size(log->segs[i]);
    if (log->nsegs > 0) {
        struct alog_segment *old = log->segs[0];
        sum.oldest_bytes = alog__seg_size(old);
        pthread_mutex_lock(&old->file_lock);
        struct stat st;
        if (old->ts_known)
            sum.oldest_ts = atomic_load(&old->max_ts);
        if (sum.oldest_ts == -1 && old->fd >= 0 && fstat(old->fd, &st) == 0) /* no timestamps */
            sum.oldest_ts = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        pthread_mutex_unlock(&old->file_lock);
    }
    log->summary = sum;
}

/* Give the claim back: the log stays open as it was. */
static int keep_open(struct alog *log, int rc)
{
    pthread_mutex_lock(&log->life_lock);
    atomic_store(&log->state, ALOG_OPEN);
    pthread_cond_broadcast(&log->life_cond);
    pthread_mutex_unlock(&log->life_lock);
    return rc;
}

static bool has_waiters(struct alog *log)
{
    pthread_mutex_lock(&log->wait_lock);
    bool any = log->nwaiters > 0;
    pthread_mutex_unlock(&log->wait_lock);
    return any;
}

/* CLOSING, unpinned: flush and let go of the files. */
static int close_files(struct alog *log)
{
    if (has_waiters(log) || atomic_load(&log->failed))
        return -EBUSY; /* waiters are the flusher's to answer; a failed log heals in place */
    if (log->flusher)
        alog__flusher_unregister(log->flusher, log); /* unpinned: the flusher is not in it */
    int rc = alog__flush(log, false); /* the durability point of the close */
    if (rc) {
        if (log->flusher)
            (void)alog__flusher_register(log->flusher, log);
        return rc;
    }
    log->flusher = NULL;
    atomic_store(&log->recovery_point, alog_durable_offset(log)); /* == end */
    alog__cache_remove(log->store, log);
    alog__psnap_release(log, true); /* its producers as of the end (producer_files.c) */
    pthread_mutex_lock(&log->life_lock);
    pthread_mutex_lock(&log->segs_lock);
    remember_summary(log);
    pthread_mutex_unlock(&log->segs_lock);
    pthread_mutex_unlock(&log->life_lock);
    alog__drop_segments(log);
    pthread_mutex_lock(&log->store->ckpt_lock);
    log->closed_seq = atomic_load(&log->store->ckpt_seq);
    pthread_mutex_unlock(&log->store->ckpt_lock);
    alog__store_mark_dirty(log->store);
    return 0;
}

bool alog__evict_claim(struct alog *log)
{
    if (pthread_mutex_trylock(&log->life_lock) != 0)
        return false; /* someone is opening, preparing or closing it: not a victim now */
    bool claimed = false;
    if (atomic_load(&log->state) == ALOG_OPEN && atomic_load(&log->pins) == 0 &&
        !has_waiters(log) && !atomic_load(&log->failed)) {
        atomic_store(&log->state, ALOG_CLOSING); /* seq_cst: the evictor's store ... */
        claimed = atomic_load(&log->pins) == 0;  /* ... then its load */
        if (!claimed)
            atomic_store(&log->state, ALOG_OPEN);
    }
    pthread_mutex_unlock(&log->life_lock);
    return claimed;
}

int alog__evict_finish(struct alog *log)
{
    int rc = close_files(log);
    if (rc)
        return keep_open(log, rc);
    atomic_fetch_add(&log->store->evictions, 1);
    pthread_mutex_lock(&log->life_lock);
    atomic_store(&log->state, ALOG_COLD);
    pthread_cond_broadcast(&log->life_cond); /* after this, the log may be freed */
    pthread_mutex_unlock(&log->life_lock);
    return 0;
}

/* ---- discarding ----------------------------------------------------------------------- */

void alog__discard_files(struct alog *log)
{
    pthread_mutex_lock(&log->life_lock);
    int st;
    while ((st = atomic_load(&log->state)) == ALOG_OPENING || st == ALOG_CLOSING)
        pthread_cond_wait(&log->life_cond, &log->life_lock);
    atomic_store(&log->state, ALOG_CLOSING); /* the cache cannot claim it any more */
    answer_readies(log, KC_ECLOSED);         /* parked prepares: the log is going */
    pthread_mutex_unlock(&log->life_lock);
    if (st == ALOG_OPEN) {
        if (log->flusher) {
            log->fl_abandon = true; /* no flush: waiters get KC_ECLOSED */
            (void)alog__flusher_close(log->flusher, log);
        }
        log->flusher = NULL;
        alog__cache_remove(log->store, log);
    }
    alog__drop_segments(log); /* slices keep their segments */
    pthread_mutex_lock(&log->life_lock);
    atomic_store(&log->state, ALOG_COLD);
    pthread_cond_broadcast(&log->life_cond);
    pthread_mutex_unlock(&log->life_lock);
}
