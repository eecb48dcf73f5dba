/*
 * watch.c - telling readers that the end moved: the wake-up half of a long-poll.
 *
 * A consumer at the log end asks "give me what comes next, waiting up to N ms". Answering
 * at once with nothing makes clients spin (librdkafka sends ~14,000 empty fetches a second
 * that way); sleeping would stall everything else its thread serves. So the reader arms a
 * watch on the log and goes on with other work, and the append that moves the end past the
 * watch's offset calls it back. Because the log itself fires the watches, no append path
 * can forget to: a produce, a group commit, a replicated batch all wake their readers.
 *
 *   reader (any thread)                        appender (any thread)
 *   alog_watch_end(log, w):                    alog_append: ... end_offset = 45 (release)
 *     lock; link w; nwatches++                 alog__watch_fire:
 *     end = load(end_offset)                     fence
 *     end > w->offset? unlink: "already past"    nwatches == 0? done (the common case)
 *     unlock                                     lock; for each w passed: unlink, w->fn(w)
 *                                                unlock
 *
 * The lost wake-up. The appender looks for watches without the lock, so it can miss a
 * watch being armed at the same moment - and the watcher can miss the append. Both sides
 * store, then load what the other stores (watcher: nwatches then end_offset; appender:
 * end_offset then nwatches), with a sequentially consistent fence between (Dekker's
 * pattern). In the single total order of those operations at least one of the two loads
 * comes after the other side's store: either the appender sees the watch and fires it, or
 * the watcher sees the new end and does not wait. Never neither.
 *
 * The callback runs under the watch lock, so alog_unwatch is exact: once it returns, the
 * callback is neither running nor going to run, and the watch's memory is the caller's
 * again. That is what lets a caller cancel a long-poll (a timeout, a closed connection)
 * without a second lifetime to manage.
 */
#include <stdatomic.h>

#include "alog_int.h"
#include "kc_log.h"

/* Under watch_lock. */
static void watch_link(struct alog *log, struct alog_watch *w)
{
    w->next = log->watches;
    w->pprev = &log->watches;
    if (log->watches)
        log->watches->pprev = &w->next;
    log->watches = w;
    atomic_fetch_add(&log->nwatches, 1); /* seq_cst: the watcher's store (see above) */
}

/* Under watch_lock. */
static void watch_unlink(struct alog *log, struct alog_watch *w)
{
    *w->pprev = w->next;
    if (w->next)
        w->next->pprev = w->pprev;
    w->next = NULL;
    w->pprev = NULL;
    atomic_fetch_sub(&log->nwatches, 1);
}

int alog_watch_end(struct alog *log, struct alog_watch *w)
{
    int armed = 0;
    pthread_mutex_lock(&log->watch_lock);
    watch_link(log, w);
    /* ... then look: the watcher's load (see above). */
    if (atomic_load(&log->end_offset) > w->offset)
        watch_unlink(log, w);
    else
        armed = 1;
    pthread_mutex_unlock(&log->watch_lock);
    return armed ? 0 : 1;
}

bool alog_unwatch(struct alog *log, struct alog_watch *w)
{
    pthread_mutex_lock(&log->watch_lock);
    bool armed = w->pprev != NULL;
    if (armed)
        watch_unlink(log, w);
    pthread_mutex_unlock(&log->watch_lock);
    return armed;
}

uint64_t alog_changes(struct alog *log)
{
    return atomic_load(&log->changes);
}

void alog__watch_fire(struct alog *log)
{
    atomic_fetch_add(&log->changes, 1); /* after the end moved: see alog_changes */
    /* The appender's fence between its store of end_offset and its load of nwatches. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&log->nwatches, memory_order_relaxed) == 0)
        return;
    pthread_mutex_lock(&log->watch_lock);
    int64_t end = atomic_load_explicit(&log->end_offset, memory_order_acquire);
    struct alog_watch *w = log->watches, *next;
    for (; w; w = next) {
        next = w->next;
        if (end <= w->offset)
            continue;
        watch_unlink(log, w);
        w->fn(w); /* may reuse w's memory once it returns, never the list */
    }
    pthread_mutex_unlock(&log->watch_lock);
}

/*
 * The end went DOWN (alog_truncate): a reader parked at an offset past the new end waits
 * for a position that no longer exists, and no append may ever pass it with the records
 * it expected. Wake it now: it reads again and gets KC_EOFFSET (a consumer resets, a
 * follower asks its leader where to go on). A watch at the new end or below stays armed.
 */
void alog__watch_fire_above(struct alog *log, int64_t end)
{
    atomic_fetch_add(&log->changes, 1);
    pthread_mutex_lock(&log->watch_lock);
    struct alog_watch *w = log->watches, *next;
    for (; w; w = next) {
        next = w->next;
        if (w->offset <= end)
            continue;
        watch_unlink(log, w);
        w->fn(w);
    }
    pthread_mutex_unlock(&log->watch_lock);
}

/*
 * Fire every armed watch, whatever its offset: the log is going away (its topic was
 * deleted), and whoever parked on it must look again - and find it gone - instead of
 * waiting for an append that will never come.
 */
void alog_watch_fire_all(struct alog *log)
{
    atomic_fetch_add(&log->changes, 1);
    pthread_mutex_lock(&log->watch_lock);
    struct alog_watch *w = log->watches, *next;
    for (; w; w = next) {
        next = w->next;
        watch_unlink(log, w);
        w->fn(w);
    }
    pthread_mutex_unlock(&log->watch_lock);
}
