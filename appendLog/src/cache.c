/*
 * cache.c - a bounded cache of open logs: which files stay open when there are more logs
 * than descriptors (RocksDB's table cache, for Kafka's partitions).
 *
 * The cost it bounds is file descriptors (ulimit -n: 20,000 here, for 100,000 logs): an
 * open log holds one (its active segment's .log; the indexes are mapped and keep none,
 * mm.h), and one more for each old segment a reader has opened. The store counts them all
 * (s->files), slices' included, and when the count passes max_files this file closes logs
 * nobody uses until it fits.
 *
 * Which ones: the least recently used, approximately, by CLOCK (second chance), as the
 * Linux page cache and RocksDB's clock cache do. A true LRU list would make every read
 * and append take a global lock to move its log to the front; here a use only sets the
 * log's bit (a relaxed store, life.c), and the hand does the work when room is needed:
 *
 *        hand
 *         v
 *   [a:1] [b:0] [c:1] [d:0] ...        the ring of OPEN logs; bit 1 = used since the hand
 *                                      last passed
 *   a: bit 1 -> 0, pass (a second chance)
 *   b: bit 0, nobody pins it -> close it (flush, close files, COLD)
 *
 * Before closing a whole log, the hand cools the old segments of the logs it passes that
 * nobody holds (a consumer that read history leaves them warm): cheaper room than a log.
 * A segment whose records are not durable yet is never cooled (its fsync needs it open),
 * and neither is a log's active segment.
 *
 * A log being used (pinned), waited on for durability, or failed is never closed; if every
 * open log is like that, the cache is over its size for a while, and only a process truly
 * out of descriptors (EMFILE) turns that into an error, KC_ENOFILES, that the caller may
 * retry.
 */
#include "alog_params.h"
#include "kc_err.h"
#include "kc_log.h"
#include "store_int.h"

void alog__cache_insert(struct alog_store *s, struct alog *log)
{
    pthread_mutex_lock(&s->cache_lock);
    if (!s->ring) {
        log->ring_next = log->ring_prev = log;
        s->ring = s->hand = log;
    } else { /* just behind the hand: the last the hand will reach */
        struct alog *at = s->hand;
        log->ring_next = at;
        log->ring_prev = at->ring_prev;
        at->ring_prev->ring_next = log;
        at->ring_prev = log;
    }
    s->open_logs++;
    pthread_mutex_unlock(&s->cache_lock);
}

void alog__cache_remove(struct alog_store *s, struct alog *log)
{
    pthread_mutex_lock(&s->cache_lock);
    if (log->ring_next) {
        if (log->ring_next == log) {
            s->ring = s->hand = NULL;
        } else {
            log->ring_prev->ring_next = log->ring_next;
            log->ring_next->ring_prev = log->ring_prev;
            if (s->hand == log)
                s->hand = log->ring_next;
            if (s->ring == log)
                s->ring = log->ring_next;
        }
        log->ring_next = log->ring_prev = NULL;
        s->open_logs--;
    }
    pthread_mutex_unlock(&s->cache_lock);
}

static bool over(struct alog_store *s)
{
    return atomic_load_explicit(&s->files, memory_order_relaxed) > s->max_files;
}

/* Cool the old segments of log nobody holds and nobody used since the last pass. */
static int cool_segments(struct alog *log)
{
    int cooled = 0;
    int64_t durable = alog_durable_offset(log);
    if (pthread_rwlock_tryrdlock(&log->recover_lock) != 0)
        return 0; /* alog_recover works on its segments without references */
    pthread_mutex_lock(&log->segs_lock); /* no new reference can be taken meanwhile */
    for (int i = 0; i + 1 < log->nsegs; i++) {
        struct alog_segment *seg = log->segs[i];
        if (atomic_exchange_explicit(&seg->ref_bit, false, memory_order_relaxed))
            continue; /* used since the last pass: a second chance */
        if (atomic_load(&seg->refs) != 1 || alog__seg_next(seg) > durable || seg->fd < 0)
            continue; /* held by a reader or a slice, or not durable yet, or cold */
        alog__seg_cool(seg);
        cooled++;
    }
    pthread_mutex_unlock(&log->segs_lock);
    pthread_rwlock_unlock(&log->recover_lock);
    return cooled;
}

/*
 * Advance the hand until a log can be closed (claimed), cooling old segments on the way;
 * NULL once room was made without closing a log, or after two turns found nothing.
 * cache_lock held.
 */
static struct alog *pick(struct alog_store *s, struct alog *keep, bool force)
{
    for (int steps = 2 * s->open_logs; steps > 0 && s->hand; steps--) {
        struct alog *log = s->hand;
        s->hand = log->ring_next;
        if (log == keep)
            continue;
        if (cool_segments(log) > 0 && !force && !over(s))
            return NULL;
        if (!force && atomic_exchange_explicit(&log->ref_bit, false, memory_order_relaxed))
            continue;
        if (alog__evict_claim(log))
            return log;
    }
    return NULL;
}

void alog__cache_trim(struct alog_store *s, struct alog *keep)
{
    while (over(s)) {
        pthread_mutex_lock(&s->cache_lock);
        struct alog *victim = pick(s, keep, false);
        pthread_mutex_unlock(&s->cache_lock);
        if (!victim)
            return; /* made room by cooling, or everything open is in use: over for now */
        int rc = alog__evict_finish(victim);
        if (rc)
            kc_log_warn("alog store: closing a log to make room failed: %s", kc_strerror(rc));
    }
}

bool alog__cache_reclaim(struct alog_store *s, struct alog *keep)
{
    for (int tries = 0; tries < 4; tries++) {
        pthread_mutex_lock(&s->cache_lock);
        struct alog *victim = pick(s, keep, true);
        pthread_mutex_unlock(&s->cache_lock);
        if (!victim)
            return false;
        if (alog__evict_finish(victim) == 0)
            return true;
    }
    return false;
}
