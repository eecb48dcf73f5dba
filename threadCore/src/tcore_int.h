/*
 * tcore_int.h - the event loop's insides, shared by loop.c (phases, fds, tasks) and
 * timer.c (the heap). Nothing outside threadCore/src includes this.
 *
 * The loop owns three structures, one per kind of event source:
 *
 *   ios[fd]          fd table, indexed by fd (Redis's ae does the same). Each slot has a
 *                    generation number that also travels in the epoll_event, so an event
 *                    collected for an fd that was deleted (and maybe re-added) in the
 *                    same batch is recognised as stale and dropped.
 *
 *   heap[]           binary min-heap of armed timers, ordered by (due_ms, seq):
 *                                 [0]              heap[i]'s children are
 *                             /        \           heap[2i+1] and heap[2i+2];
 *                          [1]          [2]        each timer knows its own index,
 *                         /   \        /   \       so disarm is O(log n)
 *                       [3]   [4]    [5]   [6]
 *
 *   tasks            a lock-free stack of posted tasks (Treiber stack): posters push
 *                    with a CAS; the loop takes the whole stack with one atomic exchange
 *                    and reverses it into FIFO order. Whoever pushes onto an EMPTY stack
 *                    writes the eventfd; the others know a wake-up is already on its way.
 */
#ifndef TCORE_INT_H
#define TCORE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "tcore.h"
#include "tcore_params.h"

/* One registered fd. fn == NULL and gen == 0 mark a free slot. */
struct tcore_io {
    tcore_io_fn fn;
    void *arg;
    uint32_t events;
    uint32_t gen;
};

struct tcore_loop {
    int epfd;
    int wakefd;                  /* eventfd: posts and stop requests from other threads */
    atomic_bool stop;            /* any thread sets it; the loop clears it on return */
    bool running;                /* inside tcore_loop_run (loop thread only) */
    int64_t now_ms;              /* cached monotonic time (loop thread only) */

    struct tcore_io *ios;        /* indexed by fd */
    size_t ios_cap;
    uint32_t next_gen;           /* generation for the next registration; never 0 */

    struct tcore_timer **heap;   /* min-heap by (due_ms, seq) */
    uint32_t heap_len;
    uint32_t heap_cap;
    uint64_t timer_seq;          /* next seq to hand out when a timer is armed */

    _Atomic(struct tcore_task *) tasks; /* posted, not yet run; newest first */

    struct epoll_event events[TCORE_EPOLL_BATCH];
};

/* timer.c: the heap. */
void tcore__timers_run(struct tcore_loop *loop);
/* ms until the earliest timer is due (0 if overdue), or -1 with no timer armed. */
int64_t tcore__timers_next_ms(const struct tcore_loop *loop, int64_t now_ms);
void tcore__timers_fini(struct tcore_loop *loop);

#endif
