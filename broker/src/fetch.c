/*
 * fetch.c - reading for consumers, and long-polls that wait for data without blocking.
 *
 * A consumer at the log end asks "give me what comes next, waiting up to N ms". Answering
 * at once with nothing makes clients spin (librdkafka sends ~14,000 empty fetches a second
 * that way); sleeping would stall every other connection of the loop. So the request is
 * parked: a wait object is linked into the partition's list of waiters, and a timer is
 * armed on the connection's loop. Whichever comes first finishes it:
 *
 *   loop A (consumer)                         loop B (producer)
 *   link wait into ps(log)->links             alog_append(log, ...)
 *   arm timer(max_wait)                       brk__fetch_notify(log):
 *        |                                       lock ps->mu; unlink; fired = 1
 *        |  <------- tcore_loop_post ---------   post the wait's task to loop A
 *   task runs on A: disarm timer, unlink
 *   the rest, answer
 *
 * `fired` (an atomic exchange) makes the finish happen once: the timer, an append on any
 * loop, and the connection's death race for it; whoever sets it first posts (or runs) the
 * completion, the others do nothing. The completion always runs on the connection's loop.
 *
 * The lost wake-up: a producer checks "anyone waiting?" (srv->nwaiting) after its append; a
 * waiter counts itself in before it checks the log end. With a full fence on both sides
 * (Dekker's pattern), at least one of them sees the other: the producer wakes the waiter,
 * or the waiter sees the new end itself.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "brk_int.h"

/* ---- the partition table --------------------------------------------------------------- */

int brk__pstates_init(struct brk_pstates *t)
{
    memset(t->buckets, 0, sizeof(t->buckets));
    return -pthread_rwlock_init(&t->lock, NULL);
}

void brk__pstates_fini(struct brk_pstates *t)
{
    for (size_t i = 0; i < BRK_PSTATE_BUCKETS; i++) {
        struct brk_pstate *ps, *next;
        for (ps = t->buckets[i]; ps; ps = next) {
            next = ps->next;
            pthread_mutex_destroy(&ps->mu);
            free(ps);
        }
        t->buckets[i] = NULL;
    }
    pthread_rwlock_destroy(&t->lock);
}

static size_t ps_bucket(const struct alog *log)
{
    uintptr_t v = (uintptr_t)log;
    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull;
    return (size_t)(v >> 40) % BRK_PSTATE_BUCKETS;
}

static struct brk_pstate *ps_lookup(struct brk_pstates *t, const struct alog *log)
{
    struct brk_pstate *ps;
    pthread_rwlock_rdlock(&t->lock);
    for (ps = t->buckets[ps_bucket(log)]; ps && ps->log != log; ps = ps->next)
        ;
    pthread_rwlock_unlock(&t->lock);
    return ps;
}

/* The state of log's partition, made on first use. Entries live until the server goes. */
static struct brk_pstate *ps_get(struct brk_pstates *t, struct alog *log)
{
    struct brk_pstate *ps = ps_lookup(t, log);
    if (ps)
        return ps;
    pthread_rwlock_wrlock(&t->lock);
    size_t b = ps_bucket(log);
    for (ps = t->buckets[b]; ps && ps->log != log; ps = ps->next)
        ;
    if (!ps && (ps = calloc(1, sizeof(*ps))) != NULL) {
        ps->log = log;
        pthread_mutex_init(&ps->mu, NULL);
        LIST_INIT(&ps->links);
        ps->next = t->buckets[b];
        t->buckets[b] = ps;
    }
    pthread_rwlock_unlock(&t->lock);
    return ps;
}

/* ---- waits ----------------------------------------------------------------------------- */

/* Claim the finish; true for the one caller that gets it. */
static bool wait_claim(struct brk_wait *w, enum brk_wait_reason reason)
{
    if (atomic_exchange(&w->fired, 1) != 0)
        return false;
    w->reason = reason; /* published to the loop by the post (or read on this thread) */
    return true;
}

static void wait_unlink_all(struct brk_wait *w)
{
    for (int i = 0; i < w->nlinks; i++) {
        struct brk_wait_link *l = &w->links[i];
        if (!l->ps)
            continue;
        pthread_mutex_lock(&l->ps->mu);
        if (l->linked)
            LIST_REMOVE(l, entry);
        l->linked = false;
        pthread_mutex_unlock(&l->ps->mu);
    }
}

/* The completion, on the connection's loop (posted, or run directly). */
static void wait_finish(struct brk_async *a, bool alive)
{
    struct brk_wait *w = (struct brk_wait *)((char *)a - offsetof(struct brk_wait, async));
    struct brk_server *srv = a->conn->srv;
    tcore_timer_disarm(a->conn->bl->loop, &w->timer);
    wait_unlink_all(w);
    LIST_REMOVE(w, conn_entry);
    atomic_fetch_sub(&srv->nwaiting, 1);
    w->done(w, alive);
}

static void wait_timer(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct brk_wait *w = t->arg;
    (void)loop;
    if (wait_claim(w, BRK_WAIT_TIMEOUT))
        brk_async_run(&w->async);
}

int brk_wait_start(struct brk_conn *c, struct brk_wait *w, struct brk_wait_link *links, int n,
                   int64_t max_wait_ms, brk_wait_fn done)
{
    struct brk_server *srv = c->srv;
    for (int i = 0; i < n; i++) {
        links[i].ps = ps_get(&srv->pstates, links[i].log);
        links[i].w = w;
        links[i].linked = false;
        if (!links[i].ps)
            return -ENOMEM;
    }
    w->links = links;
    w->nlinks = n;
    w->done = done;
    atomic_init(&w->fired, 0);
    tcore_timer_init(&w->timer, wait_timer, w);
    brk_async_begin(c, &w->async, wait_finish);
    LIST_INSERT_HEAD(&c->waits, w, conn_entry);
    atomic_fetch_add(&srv->nwaiting, 1);
    atomic_thread_fence(memory_order_seq_cst); /* count in, then look: see the header */
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&links[i].ps->mu);
        LIST_INSERT_HEAD(&links[i].ps->links, &links[i], entry);
        links[i].linked = true;
        pthread_mutex_unlock(&links[i].ps->mu);
    }
    bool ready = false;
    for (int i = 0; i < n && !ready; i++)
        ready = alog_end_offset(links[i].log) > links[i].offset;
    if (ready || c->bl->draining) {
        if (wait_claim(w, ready ? BRK_WAIT_DATA : BRK_WAIT_SHUTDOWN))
            brk_async_post(&w->async); /* not now: the caller is still setting up */
    } else if (tcore_timer_arm(c->bl->loop, &w->timer, max_wait_ms) != 0) {
        if (wait_claim(w, BRK_WAIT_TIMEOUT))
            brk_async_post(&w->async);
    }
    return 0;
}

void brk__waits_cancel(struct brk_conn *c, enum brk_wait_reason reason)
{
    struct brk_wait *w, *tmp;
    LIST_FOREACH_SAFE(w, &c->waits, conn_entry, tmp) {
        /* A wait already claimed has its completion posted: it finishes when that runs. */
        if (wait_claim(w, reason))
            brk_async_run(&w->async);
    }
}

void brk__fetch_notify(struct brk_server *srv, struct alog *log)
{
    struct brk_wait_link *l, *tmp;
    atomic_thread_fence(memory_order_seq_cst); /* appended, then look: see the header */
    if (atomic_load(&srv->nwaiting) == 0)
        return;
    struct brk_pstate *ps = ps_lookup(&srv->pstates, log);
    if (!ps)
        return;
    int64_t end = alog_end_offset(log);
    pthread_mutex_lock(&ps->mu);
    LIST_FOREACH_SAFE(l, &ps->links, entry, tmp) {
        if (end <= l->offset)
            continue;
        LIST_REMOVE(l, entry);
        l->linked = false;
        if (wait_claim(l->w, BRK_WAIT_DATA))
            brk_async_post(&l->w->async);
    }
    pthread_mutex_unlock(&ps->mu);
}

int brk_fetch_read(struct brk_server *srv, struct alog *log, int64_t offset, size_t max_bytes,
                   struct alog_slice *slice)
{
    return alog_read(log, offset, KC_MIN(max_bytes, (size_t)srv->cfg.fetch_max_bytes), slice);
}
