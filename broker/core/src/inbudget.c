/*
 * inbudget.c - queued.max.request.bytes: one broker-wide budget for the bytes of requests
 * being received, so that many clients sending large requests at once cannot exhaust the
 * broker's memory. A client over the budget waits (its connection is not read); nothing is
 * lost and nothing is refused.
 *
 * What is counted. Every connection reads into a buffer of BRK_IN_INITIAL bytes (small
 * requests, pipelined, fit many to a read). A request larger than that announces its size
 * in its first bytes (the adapter's frame() says it on "need more"), and the buffer grows
 * to exactly that size at once: those bytes, the growth beyond BRK_IN_INITIAL, are what the
 * budget counts, taken before the growth and given back when the buffer is freed (the
 * request served, the connection closed). The first BRK_IN_INITIAL bytes of each connection
 * are not counted; they are bounded by max.connections instead (say 10,000 x 64 KiB).
 *
 * Why this shape cannot deadlock. A connection that waits holds only its uncounted
 * BRK_IN_INITIAL buffer: it asks for a request's whole size in one step, and the reads of a
 * grown buffer stop at that request's end (conn.c), so a grown buffer holds one request and
 * nothing of the next. The budget is therefore held only by connections whose request fits
 * entirely: each completes as its client sends, is served, and gives its bytes back. This is
 * Kafka's design too (its MemoryPool is asked for a request's size once the size is read).
 *
 *   budget 512 MiB   [conn 3: 100 MiB request][conn 7: 40 MiB].......... free
 *   conn 9 asks 300 MiB: granted while anything is free (the budget may go below zero by
 *   one request, as Kafka's pool does, so a request larger than the budget still passes)
 *   conn 12 asks 5 MiB: nothing free -> waits, unread, in its loop's FIFO
 *   conn 3 served -> 100 MiB back -> each loop with waiters is woken -> conn 12 reads again
 *
 * Threads. The budget is one atomic; each loop keeps its own FIFO of waiting connections
 * (only its thread touches it). Giving bytes back from any loop posts a wake-up task to
 * every loop that has waiters (at most one task in flight per loop).
 */
#include <stdatomic.h>

#include "brk_int.h"

void brk__inbudget_init(struct brk_server *srv)
{
    int64_t max = srv->cfg.queued_max_request_bytes;
    atomic_store(&srv->in_avail, max > 0 ? max : INT64_MAX);
}

/* What a buffer of cap bytes holds of the budget. */
size_t brk__inbudget_charge(size_t cap)
{
    return cap > BRK_IN_INITIAL ? cap - BRK_IN_INITIAL : 0;
}

bool brk__inbudget_take(struct brk_server *srv, size_t n)
{
    if (n == 0)
        return true;
    int64_t avail = atomic_load_explicit(&srv->in_avail, memory_order_relaxed);
    do {
        if (avail <= 0)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&srv->in_avail, &avail,
                                                    avail - (int64_t)n, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

void brk__inbudget_give(struct brk_server *srv, size_t n)
{
    if (n == 0)
        return;
    atomic_fetch_add_explicit(&srv->in_avail, (int64_t)n, memory_order_relaxed);
    if (atomic_load(&srv->in_waiting) == 0)
        return;
    for (int i = 0; i < srv->nloops; i++) {
        struct brk_loop *bl = &srv->loops[i];
        if (atomic_load(&bl->in_nwaiting) > 0 && !atomic_exchange(&bl->in_wake_posted, true))
            tcore_loop_post(bl->loop, &bl->in_wake);
    }
}

int64_t brk__inbudget_used(const struct brk_server *srv)
{
    int64_t max = srv->cfg.queued_max_request_bytes;
    int64_t avail = atomic_load_explicit(&srv->in_avail, memory_order_relaxed);
    return (max > 0 ? max : INT64_MAX) - avail;
}

void brk__inbudget_wait(struct brk_conn *c)
{
    struct brk_loop *bl = c->bl;
    if (c->in_waiting)
        return;
    c->in_waiting = true;
    TAILQ_INSERT_TAIL(&bl->in_waiters, c, in_link);
    atomic_fetch_add(&bl->in_nwaiting, 1);
    atomic_fetch_add(&c->srv->in_waiting, 1);
    atomic_fetch_add(&c->srv->metrics.in_budget_waits, 1);
}

void brk__inbudget_unwait(struct brk_conn *c)
{
    if (!c->in_waiting)
        return;
    c->in_waiting = false;
    TAILQ_REMOVE(&c->bl->in_waiters, c, in_link);
    atomic_fetch_sub(&c->bl->in_nwaiting, 1);
    atomic_fetch_sub(&c->srv->in_waiting, 1);
}

/* The loop's wake-up: retry its waiting connections in the order they began to wait, and
 * stop at the first that still cannot have its bytes (it keeps its place, and so do the
 * ones behind it). */
static void inbudget_wake(struct tcore_loop *loop, struct tcore_task *task)
{
    struct brk_loop *bl = task->arg;
    (void)loop;
    atomic_store(&bl->in_wake_posted, false); /* a give from now on posts again */
    struct brk_conn *c;
    while ((c = TAILQ_FIRST(&bl->in_waiters)) != NULL)
        if (!brk__conn_in_retry(c))
            break;
}

void brk__inbudget_loop_init(struct brk_loop *bl)
{
    TAILQ_INIT(&bl->in_waiters);
    atomic_store(&bl->in_nwaiting, 0);
    atomic_store(&bl->in_wake_posted, false);
    tcore_task_init(&bl->in_wake, inbudget_wake, bl);
}
