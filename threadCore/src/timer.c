/*
 * timer.c - the loop's timers: an intrusive binary min-heap.
 *
 * A broker has a timer per connection (idle timeout), per parked request (long-poll
 * deadline) and a few periodic ones; most are re-armed or disarmed long before they fire.
 * So arm and disarm must be cheap at any size: O(log n) here, because every timer stores
 * its own position in the heap (heap_index) and can be taken out from the middle.
 *
 * Order is (due_ms, seq): seq is the arm order, so timers due in the same millisecond
 * fire in the order they were armed, and the run phase can tell "armed before this phase
 * began" (seq < limit) from "armed by a callback of this phase". Only the first kind runs:
 * a callback that re-arms its own timer with delay 0 fires again in the NEXT iteration,
 * after I/O has had its turn, instead of spinning here forever (libuv fixed the same
 * starvation in 1.45 by moving due timers to a ready queue first).
 *
 * Why a heap and not a timer wheel: a wheel is O(1) but quantised and needs a tick; a heap
 * gives exact deadlines and an exact epoll_wait timeout. With the tens of thousands of
 * timers one loop may hold, log2(n) is under 20 swaps.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "kc_time.h"
#include "tcore_int.h"

static bool timer_before(const struct tcore_timer *a, const struct tcore_timer *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_place(struct tcore_loop *loop, uint32_t i, struct tcore_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void sift_up(struct tcore_loop *loop, uint32_t i)
{
    struct tcore_timer *t = loop->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void sift_down(struct tcore_loop *loop, uint32_t i)
{
    struct tcore_timer *t = loop->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

/* Restore heap order around slot i after its timer changed (or was replaced). */
static void heap_fix(struct tcore_loop *loop, uint32_t i)
{
    if (i > 0 && timer_before(loop->heap[i], loop->heap[(i - 1) / 2]))
        sift_up(loop, i);
    else
        sift_down(loop, i);
}

static void heap_remove(struct tcore_loop *loop, struct tcore_timer *t)
{
    uint32_t i = t->heap_index;
    struct tcore_timer *last = loop->heap[--loop->heap_len];
    t->heap_index = UINT32_MAX;
    if (last == t)
        return;
    heap_place(loop, i, last);
    heap_fix(loop, i);
}

static int heap_grow(struct tcore_loop *loop)
{
    uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : TCORE_TIMER_HEAP_MIN;
    if (cap <= loop->heap_cap || cap == UINT32_MAX) /* 2^31 timers: refuse, never wrap */
        return -ENOMEM;
    struct tcore_timer **heap = reallocarray(loop->heap, cap, sizeof(*heap));
    if (!heap)
        return -ENOMEM;
    loop->heap = heap;
    loop->heap_cap = cap;
    return 0;
}

void tcore_timer_init(struct tcore_timer *t, tcore_timer_fn fn, void *arg)
{
    t->due_ms = 0;
    t->heap_index = UINT32_MAX;
    t->fn = fn;
    t->arg = arg;
    t->seq = 0;
}

int tcore_timer_arm(struct tcore_loop *loop, struct tcore_timer *t, int64_t delay_ms)
{
    if (!tcore_timer_armed(t) && loop->heap_len == loop->heap_cap) {
        int rc = heap_grow(loop);
        if (rc < 0)
            return rc;
    }
    if (!loop->running) /* armed before the loop runs: measure from the real now */
        loop->now_ms = kc_mono_ms();
    if (delay_ms < 0)
        delay_ms = 0;
    t->due_ms = delay_ms > INT64_MAX - loop->now_ms ? INT64_MAX : loop->now_ms + delay_ms;
    t->seq = loop->timer_seq++;
    if (tcore_timer_armed(t)) { /* re-arm in place: no allocation, cannot fail */
        heap_fix(loop, t->heap_index);
        return 0;
    }
    loop->heap[loop->heap_len] = t;
    t->heap_index = loop->heap_len++;
    sift_up(loop, t->heap_index);
    return 0;
}

void tcore_timer_disarm(struct tcore_loop *loop, struct tcore_timer *t)
{
    if (tcore_timer_armed(t))
        heap_remove(loop, t);
}

/*
 * The timer phase. The timer is disarmed before its callback runs, so the callback may
 * re-arm it, free it, or disarm and free any other timer: nothing here touches a timer
 * after its callback returns.
 */
void tcore__timers_run(struct tcore_loop *loop)
{
    const uint64_t limit = loop->timer_seq;
    while (loop->heap_len > 0) {
        struct tcore_timer *t = loop->heap[0];
        /* Timers armed during this phase sort after every older due timer (their due
         * is >= now), so the first one met means no older due timer remains. */
        if (t->due_ms > loop->now_ms || t->seq >= limit)
            break;
        heap_remove(loop, t);
        t->fn(loop, t);
    }
}

int64_t tcore__timers_next_ms(const struct tcore_loop *loop, int64_t now_ms)
{
    if (loop->heap_len == 0)
        return -1;
    int64_t due = loop->heap[0]->due_ms;
    return due <= now_ms ? 0 : due - now_ms;
}

void tcore__timers_fini(struct tcore_loop *loop)
{
    for (uint32_t i = 0; i < loop->heap_len; i++)
        loop->heap[i]->heap_index = UINT32_MAX;
    loop->heap_len = 0;
    free(loop->heap);
    loop->heap = NULL;
    loop->heap_cap = 0;
}
