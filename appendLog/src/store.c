/*
 * store.c - a data directory of logs: open it in milliseconds whatever it holds, close it
 * with one syncfs, and run the thread that opens logs for requests that must not block.
 *
 * Opening reads four small files (checkpoints, journal: store_ckpt.c), and nothing of any
 * partition: every log starts COLD, with its offsets from the checkpoint. So a clean start
 * with 100,000 partitions costs the directory listing (partitioning's) and the parse, and
 * an unclean one only adds, in the background, the logs the journal names.
 *
 * The store thread does three things, most urgent first:
 *   1. open the logs alog_prepare queued (and answer their requests: life.c);
 *   2. after an unclean start, SWEEP: open, recover and close again every log whose end is
 *      unknown, so that its offsets are exact without anyone waiting on it;
 *   3. every checkpoint interval, write the per-directory checkpoints if anything changed.
 *
 * Closing (alog_store_close) is Kafka's clean shutdown without Kafka's cost per partition:
 *
 *   trim the open logs' active indexes        ftruncate each (metadata only)
 *   ONE syncfs(2) of the data directory's     everything dirty: data, indexes, directories;
 *   file system                               the cost is the dirty bytes, not the logs
 *   durable = end for every open log, their waiters answered (the flusher's thread)
 *   checkpoints, an empty journal, then .kafka_cleanshutdown: the commit point
 *
 * instead of an fsync or three per log (4,000 logs took 8 s that way).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "alog_params.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_time.h"
#include "store_int.h"

void alog_store_config_init(struct alog_store_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_open_files = -1;
    cfg->checkpoint_interval_ms = ALOG_STORE_CHECKPOINT_INTERVAL_DEFAULT;
    cfg->flusher = NULL;
    cfg->cleaner_threads = ALOG_CLEANER_THREADS_DEFAULT;
    cfg->cleaner_backoff_ms = ALOG_CLEANER_BACKOFF_MS_DEFAULT;
    cfg->cleaner_dedupe_buffer_size = ALOG_CLEANER_DEDUPE_BYTES_DEFAULT;
    cfg->cleaner_io_buffer_size = ALOG_CLEANER_IO_BYTES_DEFAULT;
}

_Atomic int64_t *alog__store_files(struct alog *log)
{
    return log->store ? &log->store->files : NULL;
}

struct alog_flusher *alog__store_flusher(struct alog_store *s)
{
    return s->cfg.flusher;
}

void alog__store_mark_dirty(struct alog_store *s)
{
    atomic_store_explicit(&s->ckpt_dirty, true, memory_order_relaxed);
}

void alog__store_urgent(struct alog_store *s)
{
    atomic_store(&s->ckpt_dirty, true);
    if (!atomic_exchange(&s->ckpt_urgent, true)) {
        pthread_mutex_lock(&s->queue_lock);
        pthread_cond_signal(&s->queue_cond);
        pthread_mutex_unlock(&s->queue_lock);
    }
}

/* When the next checkpoint is due (monotonic ms). */
static int64_t ckpt_due(struct alog_store *s)
{
    int64_t every = s->cfg.checkpoint_interval_ms;
    if (atomic_load(&s->ckpt_urgent))
        every = KC_MIN(every, ALOG_STORE_URGENT_CHECKPOINT_MS);
    return s->last_ckpt_ms + every;
}

struct alog *alog__store_log(struct alog_store *s, int slot)
{
    pthread_mutex_lock(&s->table_lock);
    struct alog *log = slot >= 0 && slot < s->nlogs ? s->logs[slot] : NULL;
    pthread_mutex_unlock(&s->table_lock);
    return log;
}

/* Half the soft limit on descriptors: the rest is the broker's (sockets, listeners). */
static int64_t resolve_max_files(int64_t want)
{
    if (want > 0)
        return want;
    struct rlimit rl;
    int64_t soft = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                       ? (int64_t)rl.rlim_cur
                       : 1024;
    return KC_MAX(soft / 2, ALOG_STORE_MIN_OPEN_FILES);
}

/* ---- the table of logs -------------------------------------------------------------- */

static uint64_t hash_name(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h;
}

#define HASH_TOMBSTONE (-1)

/* The hash position holding name, or where it would go (table_lock held). */
static size_t hash_probe(struct alog_store *s, const char *name, bool *found)
{
    size_t mask = s->hash_cap - 1, i = hash_name(name) & mask, free_at = SIZE_MAX;
    for (;; i = (i + 1) & mask) {
        int v = s->hash[i];
        if (v == 0) {
            *found = false;
            return free_at != SIZE_MAX ? free_at : i;
        }
        if (v == HASH_TOMBSTONE) {
            free_at = free_at == SIZE_MAX ? i : free_at;
            continue;
        }
        if (strcmp(s->logs[v - 1]->name, name) == 0) {
            *found = true;
            return i;
        }
    }
}

static int hash_grow(struct alog_store *s)
{
    size_t cap = s->hash_cap ? s->hash_cap * 2 : 1024;
    int *h = calloc(cap, sizeof(*h));
    if (!h)
        return -ENOMEM;
    int *old = s->hash;
    s->hash = h;
    s->hash_cap = cap;
    for (int slot = 0; slot < s->nlogs; slot++) {
        bool found;
        if (s->logs[slot])
            s->hash[hash_probe(s, s->logs[slot]->name, &found)] = slot + 1;
    }
    free(old);
    return 0;
}

/* Room for one more log (table_lock held). */
static int table_reserve(struct alog_store *s)
{
    if (s->nlogs == s->cap) {
        int cap = s->cap ? s->cap * 2 : 1024;
        struct alog **logs = reallocarray(s->logs, (size_t)cap, sizeof(*logs));
        if (!logs)
            return -ENOMEM;
        s->logs = logs;
        s->cap = cap;
    }
    if ((size_t)(s->nlogs + 1) * 2 > s->hash_cap)
        return hash_grow(s);
    return 0;
}

/* ---- adding a log ------------------------------------------------------------------- */

/* Offsets and state from what the checkpoints said (or an empty new log). */
static void seed_state(struct alog_store *s, struct alog *log, unsigned flags)
{
    const struct store_entry *e = alog__store_found(s, log->name);
    int state = ALOG_COLD_UNKNOWN; /* no line: its own files decide at the first open */
    if (e && e->gone)
        e = NULL; /* the line of a discarded log: nothing to do with what is there now */
    int64_t rp = 0, start = 0;
    if (flags & ALOG_STORE_NEW) {
        log->has_entry = true; /* an empty directory just made: [0, 0), exactly */
        state = ALOG_COLD;
    } else if (e) {
        log->has_entry = true;
        log->in_journal = e->in_journal;
        rp = e->rp;
        start = e->start >= 0 ? e->start : 0;
        bool clean = s->clean_start || !e->in_journal;
        state = clean && e->start >= 0 ? ALOG_COLD : ALOG_COLD_UNKNOWN;
        atomic_store(&log->cleaned_offset, e->cleaned);
    }
    atomic_store(&log->recovery_point, rp);
    atomic_store(&log->start_offset, KC_MIN(start, rp));
    atomic_store(&log->end_offset, rp); /* exact when COLD, a lower bound otherwise */
    atomic_store(&log->durable_offset, rp);
    atomic_store(&log->state, state);
    atomic_store(&log->offsets_known, state == ALOG_COLD);
    if (state == ALOG_COLD_UNKNOWN && !atomic_exchange(&s->sweeping, true)) {
        pthread_mutex_lock(&s->queue_lock); /* table_lock held: see sweep_next */
        pthread_cond_signal(&s->queue_cond); /* wake the store thread for the sweep */
        pthread_mutex_unlock(&s->queue_lock);
    }
}

/*
 * Could the checkpoint files hold a line under this name that is not the new log's (table_
 * lock held)? A log of that name left the table (closed, or discarded with its topic) and
 * no checkpoint was written since, or the files listed the name at open and a new empty
 * directory now has it. After a crash, such a line would describe the new log with the
 * old one's offsets; alog_store_add_flags then writes the checkpoints at once. That costs
 * one write when a deleted topic is re-created, nothing otherwise.
 */
static bool may_be_stale(struct alog_store *s, const char *name, unsigned flags)
{
    if (s->ckpt_written <= s->left_gen)
        return true;
    return (flags & ALOG_STORE_NEW) && s->ckpt_written == 0 && alog__store_found(s, name);
}

int alog_store_add_flags(struct alog_store *s, const char *name, const struct alog_config *cfg,
                         unsigned flags, struct alog **out)
{
    struct alog_config defaults;
    char line[300], path[4096];
    if (!cfg) {
        alog_config_init(&defaults);
        cfg = &defaults;
    }
    int rc = alog_config_check(cfg);
    if (rc == 0 && (strchr(name, '/') || alog__entry_line(name, line, sizeof(line)) < 0))
        rc = -EINVAL; /* "<topic>-<partition>", one directory of the data directory */
    if (rc == 0)
        rc = kc_path_join(path, sizeof(path), s->dir, name);
    if (rc)
        return rc;
    struct alog *log = alog__alloc(path, cfg);
    if (!log)
        return -ENOMEM;
    log->store = s;
    if (s->cfg.retain_held)
        alog_set_retain_limit(log, -1); /* every segment reaches past -1: none goes */
    pthread_mutex_lock(&s->table_lock);
    bool found = false;
    rc = table_reserve(s);
    size_t at = rc == 0 ? hash_probe(s, log->name, &found) : 0;
    if (rc == 0 && found)
        rc = -EEXIST;
    bool stale = false;
    if (rc == 0) {
        seed_state(s, log, flags);
        log->slot = s->nlogs;
        s->logs[s->nlogs++] = log;
        s->hash[at] = log->slot + 1;
        stale = may_be_stale(s, log->name, flags);
    }
    pthread_mutex_unlock(&s->table_lock);
    if (rc == 0 && stale && (rc = alog__store_write_checkpoints(s, false)) != 0) {
        (void)alog__store_close_log(log); /* out again (the sweep may hold it meanwhile) */
        return rc;
    }
    if (rc) {
        alog__free(log);
        return rc;
    }
    alog__store_mark_dirty(s);
    *out = log;
    return 0;
}

int alog_store_add(struct alog_store *s, const char *name, const struct alog_config *cfg,
                   struct alog **out)
{
    return alog_store_add_flags(s, name, cfg, 0, out);
}

/* Close a log the cache will not take (failed, or waited on): its waiters are answered
 * by the flusher (-EIO for a failed log), its files closed; it is left UNKNOWN (a failed
 * log is recovered at its next open). Nobody pins it (alog_close's contract). */
static void force_close(struct alog *log)
{
    pthread_mutex_lock(&log->life_lock);
    atomic_store(&log->state, ALOG_CLOSING);
    pthread_mutex_unlock(&log->life_lock);
    if (log->flusher)
        (void)alog__flusher_close(log->flusher, log); /* its error is the failure itself */
    log->flusher = NULL;
    alog__cache_remove(log->store, log);
    alog__drop_segments(log);
    alog__psnap_release(log, false); /* rebuilt by the next open's recovery */
    pthread_mutex_lock(&log->life_lock);
    atomic_store(&log->offsets_known, false);
    atomic_store(&log->state, ALOG_COLD_UNKNOWN);
    pthread_cond_broadcast(&log->life_cond);
    pthread_mutex_unlock(&log->life_lock);
}

/* Closed, whoever else was opening or closing it (life_lock dropped). */
static int close_now(struct alog *log)
{
    struct alog_store *s = log->store;
    for (;;) {
        pthread_mutex_lock(&log->life_lock);
        while (atomic_load(&log->state) == ALOG_OPENING || atomic_load(&log->state) == ALOG_CLOSING)
            pthread_cond_wait(&log->life_cond, &log->life_lock);
        bool open = atomic_load(&log->state) == ALOG_OPEN;
        pthread_mutex_unlock(&log->life_lock);
        if (!open)
            return 0;
        pthread_mutex_lock(&s->cache_lock);
        bool claimed = alog__evict_claim(log);
        pthread_mutex_unlock(&s->cache_lock);
        if (claimed && alog__evict_finish(log) == 0)
            return 0;
        if (atomic_load(&log->pins) != 0) {
            kc_log_error("alog %s: closed while in use (a pin is held): waiting", log->dir);
            kc_sleep_ms(10);
            continue;
        }
        force_close(log);
        return atomic_load(&log->failed) ? -EIO : 0;
    }
}

static void queue_forget(struct alog_store *s, struct alog *log)
{
    pthread_mutex_lock(&s->queue_lock);
    struct alog *prev = NULL;
    for (struct alog *q = s->queue_head; q; prev = q, q = q->queue_next) {
        if (q != log)
            continue;
        if (prev)
            prev->queue_next = q->queue_next;
        else
            s->queue_head = q->queue_next;
        if (s->queue_tail == q)
            s->queue_tail = prev;
        break;
    }
    log->queued = false;
    pthread_mutex_unlock(&s->queue_lock);
}

/* A log added again after alog_close must not start from what open found: what it is
 * now replaces its line (a log the checkpoints did not list is recovered from its files). */
static void remember_closed(struct alog_store *s, struct alog *log, int rc)
{
    pthread_mutex_lock(&s->table_lock);
    struct store_entry *e = (struct store_entry *)alog__store_found(s, log->name);
    if (e) {
        bool clean = rc == 0 && atomic_load(&log->state) == ALOG_COLD && log->has_entry;
        e->rp = atomic_load(&log->recovery_point);
        e->start = atomic_load(&log->start_offset);
        e->cleaned = atomic_load(&log->cleaned_offset);
        e->in_journal = !clean; /* its journal line, if any, is only a duplicate */
        e->gone = false;        /* it describes this log now */
    }
    pthread_mutex_unlock(&s->table_lock);
}

void alog__store_take_out(struct alog_store *s, struct alog *log, bool gone)
{
    pthread_mutex_lock(&s->table_lock); /* first: the sweep cannot pick it up again */
    bool found;
    size_t at = hash_probe(s, log->name, &found);
    if (found)
        s->hash[at] = HASH_TOMBSTONE;
    s->logs[log->slot] = NULL;
    s->left_gen = s->ckpt_gen; /* its line, if any, is in the files until the next write */
    struct store_entry *e = (struct store_entry *)alog__store_found(s, log->name);
    if (e && gone)
        e->gone = true;
    pthread_mutex_unlock(&s->table_lock);
    queue_forget(s, log);
}

int alog__store_close_log(struct alog *log)
{
    struct alog_store *s = log->store;
    alog__store_take_out(s, log, false);
    atomic_store(&log->clean_stop, true); /* a cleaning under way stops soon */
    while (atomic_load(&log->pins) != 0) /* the store thread's or a cleaner's hold */
        kc_sleep_ms(1);
    int rc = close_now(log);
    remember_closed(s, log, rc);
    alog__free(log);
    alog__store_mark_dirty(s);
    return rc;
}

/* ---- the store thread --------------------------------------------------------------- */

void alog__store_queue(struct alog_store *s, struct alog *log)
{
    pthread_mutex_lock(&s->queue_lock);
    if (!log->queued) {
        log->queued = true;
        log->queue_next = NULL;
        if (s->queue_tail)
            s->queue_tail->queue_next = log;
        else
            s->queue_head = log;
        s->queue_tail = log;
        pthread_cond_signal(&s->queue_cond);
    }
    pthread_mutex_unlock(&s->queue_lock);
}

/* queue_lock held. The log is held (a raw pin: alog_close waits for it) until served. */
static struct alog *queue_pop(struct alog_store *s)
{
    struct alog *log = s->queue_head;
    if (log) {
        s->queue_head = log->queue_next;
        if (!s->queue_head)
            s->queue_tail = NULL;
        log->queue_next = NULL;
        log->queued = false;
        atomic_fetch_add(&log->pins, 1);
    }
    return log;
}

/* Open a log for the requests that asked (life.c answers them) and let it go. */
static void serve(struct alog *log)
{
    if (alog__open_pinned(log) == 0)
        alog_unpin(log);
    atomic_fetch_sub(&log->pins, 1); /* the hold */
}

/* The next log whose end a crash left unknown, held (a raw pin: alog_close waits for it)
 * so it cannot be freed once the table lock is dropped. NULL, and the sweep over, when a
 * whole pass found none. */
static struct alog *sweep_next(struct alog_store *s)
{
    struct alog *log = NULL;
    pthread_mutex_lock(&s->table_lock);
    for (; s->sweep_next < s->nlogs && !log; s->sweep_next++) {
        struct alog *l = s->logs[s->sweep_next];
        if (l && atomic_load(&l->state) == ALOG_COLD_UNKNOWN)
            log = l;
    }
    if (log)
        atomic_fetch_add(&log->pins, 1);
    else
        atomic_store(&s->sweeping, false); /* under table_lock, as seed_state sets it */
    pthread_mutex_unlock(&s->table_lock);
    return log;
}

/* Open (recovering it) with its repair left unsynced, pinned and held; false if the open
 * failed (the hold is given back). */
static bool sweep_open(struct alog *log)
{
    pthread_mutex_lock(&log->life_lock);
    log->defer_durable = true;
    pthread_mutex_unlock(&log->life_lock);
    int rc = alog__open_pinned(log);
    pthread_mutex_lock(&log->life_lock);
    log->defer_durable = false;
    pthread_mutex_unlock(&log->life_lock);
    if (rc) {
        atomic_fetch_sub(&log->pins, 1); /* the hold */
        return false;
    }
    atomic_store(&log->ref_bit, false); /* our open is not a use: see sweep_finish */
    return true;
}

/* Durable after the batch's syncfs: its end (taken before the sync) is on disk. */
static void sweep_durable(struct alog *log, int64_t end)
{
    pthread_mutex_lock(&log->flush_lock);
    if (end > alog__end(log))
        end = alog__end(log); /* alog_truncate cut the log since (it holds flush_lock) */
    if (alog_durable_offset(log) < end)
        atomic_store(&log->durable_offset, end);
    atomic_store(&log->repair_unsynced, false);
    atomic_store(&log->recovery_point, alog_durable_offset(log));
    pthread_mutex_unlock(&log->flush_lock);
    pthread_mutex_lock(&log->append_lock); /* rolls happen under it: none since the sync */
    if (atomic_load(&log->end_offset) == end)
        atomic_store(&log->dir_dirty, false); /* the syncfs carried its directory too */
    pthread_mutex_unlock(&log->append_lock);
}

/* Let go; close it again unless someone used it meanwhile (the cache is for logs in use). */
static void sweep_finish(struct alog_store *s, struct alog *log)
{
    alog_unpin(log);
    atomic_fetch_sub(&log->pins, 1); /* the hold */
    pthread_mutex_lock(&s->cache_lock);
    bool claimed = !atomic_load(&log->ref_bit) && alog__evict_claim(log);
    pthread_mutex_unlock(&s->cache_lock);
    if (claimed)
        (void)alog__evict_finish(log);
}

/*
 * One batch of the sweep: up to ALOG_SWEEP_BATCH logs of unknown end opened and recovered
 * (what lies past each recovery point re-read with CRCs), then ONE syncfs makes every
 * repair durable, instead of three fsyncs per log. Until then their reads stop at the
 * durable offset (read.c). false when the sweep is over.
 */
static bool sweep_batch(struct alog_store *s)
{
    struct alog *batch[ALOG_SWEEP_BATCH], *log = NULL;
    int64_t ends[ALOG_SWEEP_BATCH];
    int n = 0;
    bool more = true;
    while (n < ALOG_SWEEP_BATCH && (more = (log = sweep_next(s)) != NULL)) {
        if (sweep_open(log))
            batch[n++] = log;
    }
    int rc = 0;
    int64_t t1 = kc_mono_ms();
    for (int i = 0; i < n; i++) {
        ends[i] = atomic_load(&batch[i]->end_offset); /* before the sync: what it covers */
        rc = rc ? rc : alog__journal_sync(s, batch[i]);
    }
    if (n > 0 && rc == 0 && syncfs(s->dir_fd) != 0)
        rc = -errno; /* then the flusher makes them durable, one by one */
    int64_t t2 = kc_mono_ms();
    for (int i = 0; i < n; i++) {
        if (rc == 0)
            sweep_durable(batch[i], ends[i]);
        sweep_finish(s, batch[i]);
    }
    kc_log_debug("alog store %s: sweep batch of %d: sync %lld ms, closing %lld ms", s->dir, n,
                 (long long)(t2 - t1), (long long)(kc_mono_ms() - t2));
    if (n > 0)
        alog__store_mark_dirty(s); /* their recovery points */
    return more;
}

static void wait_for_work(struct alog_store *s, int64_t until_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ms = until_ms - kc_mono_ms();
    if (ms <= 0)
        return;
    int64_t ns = ts.tv_nsec + ms * 1000000;
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    (void)pthread_cond_timedwait(&s->queue_cond, &s->queue_lock, &ts); /* a timeout is fine */
}

/* One unit of background work, most urgent first; false if there was none. */
static bool work(struct alog_store *s, struct alog *queued)
{
    if (queued) {
        serve(queued);
        return true;
    }
    if (kc_mono_ms() >= ckpt_due(s)) {
        atomic_store(&s->ckpt_urgent, false);
        if (atomic_load(&s->ckpt_dirty))
            (void)alog__store_write_checkpoints(s, false); /* retried if it failed */
        s->last_ckpt_ms = kc_mono_ms();
        return true;
    }
    if (!atomic_load(&s->sweeping))
        return false;
    if (!sweep_batch(s))
        kc_log_info("alog store %s: every log's end is known again", s->dir);
    return true;
}

static void *store_main(void *arg)
{
    struct alog_store *s = arg;
    pthread_mutex_lock(&s->queue_lock);
    while (!s->stop) {
        struct alog *log = queue_pop(s);
        pthread_mutex_unlock(&s->queue_lock);
        bool worked = work(s, log);
        pthread_mutex_lock(&s->queue_lock);
        if (!worked && !s->queue_head && !s->stop)
            wait_for_work(s, ckpt_due(s));
    }
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

/* ---- open and close ----------------------------------------------------------------- */

static void store_free(struct alog_store *s)
{
    for (int i = 0; i < s->nlogs; i++)
        if (s->logs[i])
            alog__free(s->logs[i]);
    free(s->logs);
    free(s->hash);
    for (size_t i = 0; i < s->nfound; i++)
        free(s->found[i].name);
    free(s->found);
    alog__journal_close(s);
    pthread_mutex_destroy(&s->table_lock);
    pthread_mutex_destroy(&s->cache_lock);
    pthread_mutex_destroy(&s->queue_lock);
    pthread_cond_destroy(&s->queue_cond);
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_mutex_destroy(&s->journal_lock);
    pthread_cond_destroy(&s->journal_cond);
    if (s->dir_fd >= 0)
        (void)close(s->dir_fd); /* a directory: nothing to flush through it */
    if (s->lock_fd >= 0)
        (void)close(s->lock_fd); /* drops the flock */
    free(s->dir);
    free(s);
}

static struct alog_store *store_alloc(const char *dir, const struct alog_store_config *cfg)
{
    struct alog_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return NULL;
    }
    s->cfg = *cfg;
    s->max_files = resolve_max_files(cfg->max_open_files);
    s->lock_fd = s->dir_fd = s->journal_fd = -1;
    s->left_gen = -1;
    pthread_mutex_init(&s->table_lock, NULL);
    pthread_mutex_init(&s->cache_lock, NULL);
    pthread_mutex_init(&s->queue_lock, NULL);
    pthread_mutex_init(&s->ckpt_lock, NULL);
    pthread_mutex_init(&s->journal_lock, NULL);
    pthread_cond_init(&s->journal_cond, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->queue_cond, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

/* <dir>/.lock, flock'ed: one process per data directory (Kafka's own lock file). */
static int lock_store(struct alog_store *s)
{
    char path[4096];
    int rc = kc_path_join(path, sizeof(path), s->dir, ALOG_STORE_LOCK_FILE);
    if (rc)
        return rc;
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0)
        return -errno;
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno == EWOULDBLOCK) {
        kc_log_error("alog store %s: already open (in this or another process)", s->dir);
        return -EBUSY;
    }
    return -errno;
}

static int store_config_check(const struct alog_store_config *cfg)
{
    if (cfg->checkpoint_interval_ms < 1 || cfg->cleaner_threads < 0 ||
        cfg->cleaner_backoff_ms < 1 || cfg->cleaner_io_buffer_size < 4096)
        return -EINVAL;
    if (cfg->cleaner_dedupe_buffer_size / (uint64_t)(cfg->cleaner_threads + 1) < 4096)
        return -EINVAL; /* a map of a few keys per thread is no map */
    return 0;
}

static void stop_thread(struct alog_store *s);

int alog_store_open(struct alog_store **out, const char *data_dir,
                    const struct alog_store_config *cfg)
{
    int64_t t0 = kc_mono_ms();
    struct alog_store_config defaults;
    if (!cfg) {
        alog_store_config_init(&defaults);
        cfg = &defaults;
    }
    int rc = store_config_check(cfg);
    if (rc == 0)
        rc = kc_mkdir_p(data_dir, 0755);
    if (rc)
        return rc;
    struct alog_store *s = store_alloc(data_dir, cfg);
    if (!s)
        return -ENOMEM;
    s->dir_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = s->dir_fd < 0 ? -errno : lock_store(s);
    if (rc == 0)
        rc = alog__store_take_marker(s, &s->clean_start);
    if (rc == 0)
        rc = alog__store_read_checkpoints(s);
    if (rc == 0)
        rc = alog__journal_open(s);
    s->last_ckpt_ms = kc_mono_ms();
    s->open_ms = kc_mono_ms() - t0;
    if (rc == 0)
        rc = -pthread_create(&s->thread, NULL, store_main, s);
    if (rc) {
        store_free(s);
        return rc;
    }
    if ((rc = alog__cleaner_start(s)) != 0) {
        stop_thread(s);
        store_free(s);
        return rc;
    }
    kc_log_info("alog store %s: opened %s, %zu logs in its checkpoints, in %lld ms", data_dir,
                s->fresh        ? "a new data directory"
                : s->clean_start ? "after a clean shutdown"
                                 : "after an unclean shutdown (logs it was writing are recovered)",
                s->nfound, (long long)s->open_ms);
    *out = s;
    return 0;
}

static void stop_thread(struct alog_store *s)
{
    pthread_mutex_lock(&s->queue_lock);
    s->stop = true;
    pthread_cond_signal(&s->queue_cond);
    pthread_mutex_unlock(&s->queue_lock);
    pthread_join(s->thread, NULL);
}

/* The open logs, claimed for closing (their files are ours from here). */
static int claim_open(struct alog_store *s, struct alog ***out)
{
    struct alog **open = calloc((size_t)(s->nlogs ? s->nlogs : 1), sizeof(*open));
    int n = 0;
    if (!open)
        return -ENOMEM;
    for (int i = 0; i < s->nlogs; i++) {
        struct alog *log = s->logs[i];
        if (!log || atomic_load(&log->state) != ALOG_OPEN)
            continue;
        for (int w = 0; w < 50 && atomic_load(&log->pins) != 0; w++)
            kc_sleep_ms(1); /* the flusher's pass holds a pin for an fsync's time */
        if (atomic_load(&log->pins) != 0)
            kc_log_error("alog %s: still in use at the store's close", log->dir);
        atomic_store(&log->state, ALOG_CLOSING);
        open[n++] = log;
    }
    *out = open;
    return n;
}

/*
 * Everything written so far, durable at once (see the top of this file). The active
 * segments' indexes are left preallocated, not trimmed: trimming a sparse 10 MiB file
 * makes the kernel read and zero its last page's read-ahead window, for every open log
 * (measured: 43 s for 10,000 logs), and the zero-entry rule (mmap/README.md) already
 * tells the used entries from the tail at the next open.
 */
static int sync_all(struct alog_store *s, struct alog **open, int n)
{
    int64_t *ends = calloc((size_t)(n ? n : 1), sizeof(*ends));
    if (!ends)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&open[i]->append_lock);
        if (open[i]->tail_dirty) /* a failed write's leftovers: cut before the sync */
            (void)alog__seg_truncate(open[i], open[i]->active, alog__seg_size(open[i]->active));
        pthread_mutex_unlock(&open[i]->append_lock);
        ends[i] = atomic_load(&open[i]->end_offset); /* before the sync: what it covers */
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) /* their lines durable before their data */
        rc = alog__journal_sync(s, open[i]);
    if (rc == 0 && syncfs(s->dir_fd) != 0)
        rc = -errno; /* then every log flushes alone below, and no marker is written */
    for (int i = 0; i < n && rc == 0; i++) {
        if (atomic_load(&open[i]->failed))
            continue;
        atomic_store(&open[i]->durable_offset, ends[i]); /* the durability point */
        atomic_store(&open[i]->dir_dirty, false);
    }
    free(ends);
    return rc;
}

/* After the sync: waiters answered by the flusher, files closed, every log COLD. */
static int close_all(struct alog_store *s, struct alog **open, int n)
{
    int rc = 0;
    if (s->cfg.flusher)
        alog__flusher_close_many(s->cfg.flusher, open, n);
    for (int i = 0; i < n; i++) {
        struct alog *log = open[i];
        if (!s->cfg.flusher && alog__flush(log, false) != 0 && rc == 0)
            rc = -EIO;
        log->flusher = NULL;
        if (atomic_load(&log->failed)) {
            rc = rc ? rc : -EIO;
            continue; /* no marker: the journal lists it, the next open recovers it */
        }
        atomic_store(&log->recovery_point, alog_durable_offset(log));
        alog__cache_remove(s, log);
        alog__drop_segments(log);
        atomic_store(&log->state, ALOG_COLD);
    }
    return rc;
}

int alog_store_close(struct alog_store *s)
{
    if (!s)
        return 0;
    alog__cleaner_stop(s); /* a pass under way stops between segments */
    stop_thread(s);
    pthread_mutex_lock(&s->table_lock);
    struct alog **open;
    int n = claim_open(s, &open);
    pthread_mutex_unlock(&s->table_lock);
    int rc = n < 0 ? n : sync_all(s, open, n);
    if (n >= 0) {
        int c = close_all(s, open, n);
        rc = rc ? rc : c;
        free(open);
    }
    int ck = alog__store_write_checkpoints(s, rc == 0);
    rc = rc ? rc : ck;
    if (rc == 0)
        rc = alog__store_write_marker(s); /* the commit point of a clean shutdown */
    else
        kc_log_warn("alog store %s: unclean close (%s): the next open recovers what was open",
                    s->dir, kc_strerror(rc));
    store_free(s);
    return rc;
}

void alog__store_abandon(struct alog_store *s)
{
    alog__cleaner_stop(s);
    stop_thread(s);
    for (int i = 0; i < s->nlogs; i++) {
        struct alog *log = s->logs[i];
        if (!log || atomic_load(&log->state) != ALOG_OPEN)
            continue;
        if (log->flusher) {
            log->fl_abandon = true; /* nothing more reaches the disk */
            (void)alog__flusher_close(log->flusher, log);
        }
        alog__drop_segments(log);
    }
    store_free(s);
}

int alog_store_checkpoint(struct alog_store *s)
{
    return alog__store_write_checkpoints(s, false);
}

void alog_store_info(struct alog_store *s, struct alog_store_info *info)
{
    memset(info, 0, sizeof(*info));
    pthread_mutex_lock(&s->table_lock);
    for (int i = 0; i < s->nlogs; i++) {
        if (!s->logs[i])
            continue;
        info->logs++;
        info->unknown_logs += atomic_load(&s->logs[i]->state) == ALOG_COLD_UNKNOWN;
    }
    pthread_mutex_unlock(&s->table_lock);
    pthread_mutex_lock(&s->cache_lock);
    info->open_logs = s->open_logs;
    pthread_mutex_unlock(&s->cache_lock);
    info->open_files = atomic_load(&s->files);
    info->max_open_files = s->max_files;
    info->opens = atomic_load(&s->opens);
    info->evictions = atomic_load(&s->evictions);
    info->emfile_retries = atomic_load(&s->emfile_retries);
    info->clean_start = s->clean_start;
    info->open_ms = s->open_ms;
    alog__cleaner_info(s, info);
}

int alog__seg_warm_retry(struct alog *log, struct alog_segment *seg)
{
    for (;;) {
        int rc = alog__seg_warm(log, seg);
        if (rc != -EMFILE && rc != -ENFILE)
            return rc;
        if (!log->store)
            return rc;
        atomic_fetch_add(&log->store->emfile_retries, 1);
        if (!alog__cache_reclaim(log->store, log))
            return KC_ENOFILES; /* every open log is in use: retriable */
    }
}

bool alog_store_owns(const char *name)
{
    static const char *const files[] = {ALOG_STORE_LOCK_FILE, ALOG_RECOVERY_POINT_FILE,
                                        ALOG_LOG_START_FILE, ALOG_CLEANER_FILE,
                                        ALOG_CLEAN_SHUTDOWN_FILE, ALOG_JOURNAL_FILE};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n = strlen(files[i]);
        if (strncmp(name, files[i], n) == 0 && (name[n] == '\0' || strcmp(name + n, ".tmp") == 0))
            return true;
    }
    return false;
}

int alog__journal_sync_log(struct alog *log)
{
    return log->store ? alog__journal_sync(log->store, log) : 0;
}

/* Pin every open log (table_lock held); their count. */
static int pin_open_logs(struct alog_store *s, struct alog **out)
{
    int n = 0;
    for (int i = 0; i < s->nlogs; i++) {
        if (s->logs[i] && alog__try_pin(s->logs[i]))
            out[n++] = s->logs[i];
    }
    return n;
}

int alog_store_sync(struct alog_store *s)
{
    pthread_mutex_lock(&s->table_lock);
    struct alog **open = calloc((size_t)(s->nlogs ? s->nlogs : 1), sizeof(*open));
    int n = open ? pin_open_logs(s, open) : 0;
    pthread_mutex_unlock(&s->table_lock);
    if (!open)
        return -ENOMEM;
    int64_t *ends = calloc((size_t)(n ? n : 1), sizeof(*ends));
    int rc = ends ? 0 : -ENOMEM;
    for (int i = 0; i < n && rc == 0; i++) {
        ends[i] = atomic_load(&open[i]->end_offset); /* before the sync: what it covers */
        rc = alog__journal_sync(s, open[i]);
    }
    if (rc == 0 && syncfs(s->dir_fd) != 0)
        rc = -errno;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && !atomic_load(&open[i]->failed))
            sweep_durable(open[i], ends[i]); /* dir_dirty stays: a roll may race the sync */
        alog__leave(open[i]);
    }
    if (rc == 0 && s->cfg.flusher)
        alog__flusher_kick(s->cfg.flusher); /* waiters answered from its thread */
    alog__store_mark_dirty(s);
    free(ends);
    free(open);
    return rc;
}
