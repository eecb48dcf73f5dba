/*
 * cleaner.c - the cleaner threads of a store (Kafka's LogCleaner and LogCleanerManager):
 * which compacted log to clean next, and when. The cleaning itself is clean.c's.
 *
 *   every log.cleaner.backoff.ms (at once after a pass that cleaned something):
 *     for each log with cleanup.policy compact             (an atomic copy: no lock)
 *       closed and nothing dirty by its summary?  skip      (no file opened: an idle
 *                                                            compacted log costs nothing)
 *       dirty ratio = dirty bytes / (clean + dirty bytes)   (clean.c's rules: the active
 *                                                            segment, min.compaction.lag.ms
 *                                                            and durability bound "dirty")
 *       a candidate if  ratio > min.cleanable.dirty.ratio
 *                   or  max.compaction.lag.ms has passed for its oldest dirty batch
 *                   or  a tombstone's delete horizon has passed (KIP-534)
 *     clean the candidate with the highest ratio (the "filthiest", Kafka's choice)
 *
 * Each thread owns its offset map: log.cleaner.dedupe.buffer.size / log.cleaner.threads
 * bytes at most, as Kafka splits it. Two threads never clean one log (log->cleaning, a
 * compare-and-swap). A log that failed a pass on its data (a bad batch, a key set larger
 * than the map can hold in one batch) is left alone until the store is reopened, as Kafka
 * marks a partition uncleanable; an I/O error is retried after the backoff.
 *
 * A picked log is HELD (a raw pin: the cache does not close it, alog_close waits for it);
 * alog_close and the store's close first raise its clean_stop flag, which the pass checks
 * between segments, so neither waits for a whole cleaning.
 */
#include <errno.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "alog_params.h"
#include "kc_err.h"
#include "kc_log.h"
#include "kc_time.h"
#include "offset_map.h"
#include "store_int.h"

struct alog_cleaner {
    struct alog_store *s;
    int n;
    pthread_t *threads;
    struct alog **current; /* lock: the log each thread cleans, or NULL */
    size_t map_bytes;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop; /* lock */
    _Atomic uint64_t cleanings, errors, bytes_read, bytes_written;
};

/* ---- choosing --------------------------------------------------------------------- */

/* The log in slot, held and marked as being cleaned; NULL if it is not a candidate. */
static struct alog *hold(struct alog_store *s, int slot)
{
    struct alog *log = NULL;
    pthread_mutex_lock(&s->table_lock);
    struct alog *l = slot < s->nlogs ? s->logs[slot] : NULL;
    bool no = false;
    if (l && (atomic_load(&l->policy) & ALOG_CLEANUP_COMPACT) && !atomic_load(&l->uncleanable) &&
        atomic_compare_exchange_strong(&l->cleaning, &no, true)) {
        atomic_fetch_add(&l->pins, 1);
        log = l;
    }
    pthread_mutex_unlock(&s->table_lock);
    return log;
}

static void release(struct alog *log)
{
    if (!log)
        return;
    atomic_store(&log->cleaning, false);
    atomic_fetch_sub(&log->pins, 1);
}

/* The last segment's base of a closed log whose summary does not say: from its directory. */
static int64_t active_base_from_dir(struct alog *log, int *segments)
{
    DIR *d = opendir(log->dir);
    int64_t best = -1;
    *segments = 0;
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        if (strlen(de->d_name) != 24 || strcmp(de->d_name + 20, ".log") != 0)
            continue;
        long long base = strtoll(de->d_name, &end, 10);
        (*segments)++;
        if (end == de->d_name + 20 && base > best)
            best = base;
    }
    (void)closedir(d); /* a directory stream: nothing to flush */
    return best;
}

/* A closed log: could a pass find anything to do? false only when surely not. */
static bool closed_may_be_dirty(struct alog *log, int64_t now)
{
    pthread_mutex_lock(&log->life_lock);
    bool cold = atomic_load(&log->state) == ALOG_COLD;
    struct alog_summary sum = log->summary;
    pthread_mutex_unlock(&log->life_lock);
    if (!cold || atomic_load(&log->horizon) <= now)
        return true;
    if (sum.known && sum.segments <= 1)
        return false; /* only an active segment: never cleaned */
    if (sum.active_base < 0) {
        int segments;
        sum.active_base = active_base_from_dir(log, &segments);
        if (segments <= 1)
            return false;
        pthread_mutex_lock(&log->life_lock);
        if (atomic_load(&log->state) == ALOG_COLD)
            log->summary.active_base = sum.active_base; /* until it is opened again */
        pthread_mutex_unlock(&log->life_lock);
    }
    return sum.active_base < 0 || atomic_load(&log->cleaned_offset) < sum.active_base;
}

/* The dirty ratio if the log should be cleaned now, else -1. */
static double score(struct alog *log, int64_t now)
{
    if (!alog__try_pin(log) && (!closed_may_be_dirty(log, now) || alog__enter(log) != 0))
        return -1;
    struct alog_dirt d;
    int rc = alog__clean_dirt(log, now, &d);
    alog__leave(log);
    if (rc)
        return -1;
    struct alog_config cfg;
    alog__cfg(log, &cfg);
    uint64_t total = d.clean_bytes + d.dirty_bytes;
    double ratio = total ? (double)d.dirty_bytes / (double)total : 0;
    bool expired = atomic_load(&log->horizon) <= now;
    if (d.dirty_bytes > 0 && (ratio > cfg.min_cleanable_ratio || d.overdue_ms > 0))
        return ratio;
    return expired ? 0 : -1;
}

/* The filthiest candidate of the store, held; NULL if none. */
static struct alog *pick(struct alog_cleaner *cl, int64_t now)
{
    struct alog_store *s = cl->s;
    struct alog *best = NULL;
    double best_score = -1;
    pthread_mutex_lock(&s->table_lock);
    int n = s->nlogs;
    pthread_mutex_unlock(&s->table_lock);
    for (int slot = 0; slot < n; slot++) {
        struct alog *log = hold(s, slot);
        if (!log)
            continue;
        double sc = score(log, now);
        if (sc > best_score) {
            release(best);
            best = log;
            best_score = sc;
        } else {
            release(log);
        }
    }
    return best;
}

/* ---- the threads --------------------------------------------------------------------- */

static void set_current(struct alog_cleaner *cl, int me, struct alog *log)
{
    pthread_mutex_lock(&cl->lock);
    cl->current[me] = log;
    if (log && cl->stop)
        atomic_store(&log->clean_stop, true);
    pthread_mutex_unlock(&cl->lock);
}

/* Clean it; true if the pass rewrote something. The map is made for the pass and freed
 * after it: a store without compacted logs, or between passes, holds none. */
static bool clean_one(struct alog_cleaner *cl, int me, struct alog *log)
{
    struct alog_clean_stats st;
    struct alog_omap map;
    int64_t now = kc_wall_ms();
    set_current(cl, me, log);
    int rc = alog__omap_init(&map, cl->map_bytes);
    if (rc == 0 && (rc = alog__enter(log)) == 0) {
        pthread_mutex_lock(&log->retain_lock);
        rc = alog__clean_locked(log, now, &map, &log->clean_stop, &st);
        pthread_mutex_unlock(&log->retain_lock);
        alog__leave(log);
    }
    alog__omap_fini(&map);
    set_current(cl, me, NULL);
    if (rc == 0 && st.segments_in == 0)
        return false; /* nothing was cleanable after all (it became durable later, say) */
    if (rc == 0) {
        atomic_fetch_add(&cl->cleanings, 1);
        atomic_fetch_add(&cl->bytes_read, st.bytes_read);
        atomic_fetch_add(&cl->bytes_written, st.bytes_written);
        kc_log_info("alog %s: cleaned [%lld, %lld): %d segment(s) -> %d, %llu -> %llu bytes, "
                    "%llu of %llu records kept, in %lld ms", log->dir, (long long)st.first_dirty,
                    (long long)st.end_offset, st.segments_in, st.segments_out,
                    (unsigned long long)st.bytes_read, (unsigned long long)st.bytes_written,
                    (unsigned long long)st.records_kept, (unsigned long long)st.records_read,
                    (long long)(st.elapsed_us / 1000));
        return true;
    }
    if (rc == KC_ECLOSED)
        return false; /* stopped: the log is closing, or the store */
    atomic_fetch_add(&cl->errors, 1);
    bool verdict = rc <= KC_ENEEDMORE && rc != KC_ENOFILES;
    if (verdict)
        atomic_store(&log->uncleanable, true);
    kc_log_error("alog %s: cleaning failed: %s%s", log->dir, kc_strerror(rc),
                 verdict ? "; not cleaned again until the store reopens" : "; retried later");
    return false;
}

struct cleaner_arg {
    struct alog_cleaner *cl;
    int me;
};

static void backoff(struct alog_cleaner *cl)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + cl->s->cfg.cleaner_backoff_ms * 1000000;
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&cl->lock);
    if (!cl->stop)
        (void)pthread_cond_timedwait(&cl->cond, &cl->lock, &ts); /* a timeout is the point */
    pthread_mutex_unlock(&cl->lock);
}

static bool stopping(struct alog_cleaner *cl)
{
    pthread_mutex_lock(&cl->lock);
    bool stop = cl->stop;
    pthread_mutex_unlock(&cl->lock);
    return stop;
}

static void *cleaner_main(void *arg)
{
    struct cleaner_arg *a = arg;
    struct alog_cleaner *cl = a->cl;
    int me = a->me;
    free(a);
    while (!stopping(cl)) {
        struct alog *log = pick(cl, kc_wall_ms());
        bool busy = log && clean_one(cl, me, log);
        release(log);
        if (!busy)
            backoff(cl);
    }
    return NULL;
}

int alog__cleaner_start(struct alog_store *s)
{
    int n = s->cfg.cleaner_threads;
    if (n == 0)
        return 0;
    struct alog_cleaner *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return -ENOMEM;
    cl->s = s;
    cl->map_bytes = (size_t)(s->cfg.cleaner_dedupe_buffer_size / (uint64_t)n);
    cl->threads = calloc((size_t)n, sizeof(*cl->threads));
    cl->current = calloc((size_t)n, sizeof(*cl->current));
    pthread_mutex_init(&cl->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cl->cond, &ca);
    pthread_condattr_destroy(&ca);
    s->cleaner = cl;
    int rc = cl->threads && cl->current ? 0 : -ENOMEM;
    while (rc == 0 && cl->n < n) {
        struct cleaner_arg *a = malloc(sizeof(*a));
        rc = a ? 0 : -ENOMEM;
        if (rc == 0) {
            *a = (struct cleaner_arg){cl, cl->n};
            rc = -pthread_create(&cl->threads[cl->n], NULL, cleaner_main, a);
        }
        if (rc)
            free(a);
        else
            cl->n++;
    }
    if (rc)
        alog__cleaner_stop(s);
    return rc;
}

void alog__cleaner_stop(struct alog_store *s)
{
    struct alog_cleaner *cl = s->cleaner;
    if (!cl)
        return;
    pthread_mutex_lock(&cl->lock);
    cl->stop = true;
    for (int i = 0; i < cl->n; i++) {
        if (cl->current[i])
            atomic_store(&cl->current[i]->clean_stop, true);
    }
    pthread_cond_broadcast(&cl->cond);
    pthread_mutex_unlock(&cl->lock);
    for (int i = 0; i < cl->n; i++)
        pthread_join(cl->threads[i], NULL);
    pthread_cond_destroy(&cl->cond);
    pthread_mutex_destroy(&cl->lock);
    free(cl->threads);
    free(cl->current);
    free(cl);
    s->cleaner = NULL;
}

void alog__cleaner_info(struct alog_store *s, struct alog_store_info *info)
{
    struct alog_cleaner *cl = s->cleaner;
    if (!cl)
        return;
    info->cleanings = atomic_load(&cl->cleanings);
    info->cleaner_errors = atomic_load(&cl->errors);
    info->cleaner_bytes_read = atomic_load(&cl->bytes_read);
    info->cleaner_bytes_written = atomic_load(&cl->bytes_written);
}
