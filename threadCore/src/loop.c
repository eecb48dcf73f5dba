/*
 * loop.c - the per-core event loop: epoll, timers, and tasks handed over by other threads.
 *
 * One thread runs one loop and nothing else blocks it. Each turn of tcore_loop_run is a
 * list of named phases, the way Redis's aeProcessEvents and libuv's uv_run read:
 *
 *     +--> update_now --> run_timers --> poll_io (epoll_wait, sleeps until the
 *     |                                  |        next timer or an event)
 *     |                                  v
 *     +------ run_tasks <----- dispatch_io <---- update_now
 *
 * Syscalls: epoll_create1, epoll_ctl, epoll_wait (level-triggered), eventfd, read/write.
 *
 * Three guarantees the rest of the broker builds on:
 *  1. tcore_loop_del(fd) is final. epoll_wait returns a batch of events; a callback early
 *     in the batch may delete (and close, and even re-open under the same number) an fd
 *     whose event sits later in the batch. Every registration carries a generation number
 *     that epoll hands back with the event; dispatch drops events whose generation no
 *     longer matches the slot, so no callback runs after del returns.
 *  2. Callbacks may do anything to the loop except destroy it: add and delete fds, arm
 *     and disarm timers, post tasks, stop the loop.
 *  3. Other threads talk to the loop only through tcore_loop_post and tcore_loop_stop,
 *     which touch nothing but an atomic stack, an atomic flag and the eventfd.
 *
 * Why the task queue is a lock-free stack and not a mutex-protected list: see the README
 * (measured with threadCore/bench/post_queue.c). In short, both are fast enough; the
 * stack never makes a poster wait for a preempted lock holder, costs one CAS per post and
 * one exchange per loop turn, and cannot deadlock with a callback that posts.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kc_log.h"
#include "kc_time.h"
#include "tcore_int.h"

/* The eventfd's token in epoll_event.data: no real registration has generation 0. */
#define TCORE_WAKE_TOKEN UINT64_MAX

static uint64_t io_token(int fd, uint32_t gen)
{
    return (uint64_t)gen << 32 | (uint32_t)fd;
}

int tcore_loop_create(struct tcore_loop **out)
{
    int rc = -ENOMEM;
    struct tcore_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return -ENOMEM;
    loop->epfd = loop->wakefd = -1;
    loop->next_gen = 1;
    atomic_init(&loop->stop, false);
    atomic_init(&loop->tasks, NULL);
    loop->now_ms = kc_mono_ms();

    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto fail_errno;
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wakefd < 0)
        goto fail_errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TCORE_WAKE_TOKEN};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0)
        goto fail_errno;
    *out = loop;
    return 0;

fail_errno:
    rc = -errno;
    tcore_loop_destroy(loop);
    return rc;
}

void tcore_loop_destroy(struct tcore_loop *loop)
{
    if (!loop)
        return;
    /* Queued tasks are dropped, not run: their owners must not expect them any more. */
    (void)atomic_exchange_explicit(&loop->tasks, NULL, memory_order_acquire);
    tcore__timers_fini(loop);
    if (loop->wakefd >= 0)
        (void)close(loop->wakefd); /* close of an eventfd cannot lose data */
    if (loop->epfd >= 0)
        (void)close(loop->epfd);
    free(loop->ios);
    free(loop);
}

int64_t tcore_loop_now_ms(const struct tcore_loop *loop)
{
    return loop->now_ms;
}

/* ---- waking the loop from any thread ------------------------------------------------- */

static void loop_wake(struct tcore_loop *loop)
{
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(loop->wakefd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
    /* EAGAIN means the counter is already non-zero (near 2^64): the loop is awake anyway. */
    if (n < 0 && errno != EAGAIN)
        kc_log_error("tcore: eventfd write failed: %s", strerror(errno));
}

static void loop_drain_wake(struct tcore_loop *loop)
{
    uint64_t count;
    ssize_t n;
    do {
        n = read(loop->wakefd, &count, sizeof(count));
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN) /* EAGAIN: already drained, a spurious wake-up */
        kc_log_error("tcore: eventfd read failed: %s", strerror(errno));
}

void tcore_loop_stop(struct tcore_loop *loop)
{
    atomic_store_explicit(&loop->stop, true, memory_order_release);
    loop_wake(loop);
}

void tcore_task_init(struct tcore_task *task, tcore_task_fn fn, void *arg)
{
    task->fn = fn;
    task->arg = arg;
    task->next = NULL;
}

void tcore_loop_post(struct tcore_loop *loop, struct tcore_task *task)
{
    struct tcore_task *head = atomic_load_explicit(&loop->tasks, memory_order_relaxed);
    do {
        task->next = head; /* published by the release CAS below */
    } while (!atomic_compare_exchange_weak_explicit(&loop->tasks, &head, task,
                                                    memory_order_release,
                                                    memory_order_relaxed));
    /* Only the post that made the stack non-empty wakes the loop: every later post lands
     * in a stack the loop has been told about and will take whole. */
    if (head == NULL)
        loop_wake(loop);
}

/* ---- fd registrations -------------------------------------------------------------- */

static int io_reserve(struct tcore_loop *loop, int fd)
{
    if ((size_t)fd < loop->ios_cap)
        return 0;
    size_t cap = loop->ios_cap ? loop->ios_cap : TCORE_IO_TABLE_MIN;
    while (cap <= (size_t)fd)
        cap *= 2;
    struct tcore_io *ios = reallocarray(loop->ios, cap, sizeof(*ios));
    if (!ios)
        return -ENOMEM;
    memset(ios + loop->ios_cap, 0, (cap - loop->ios_cap) * sizeof(*ios));
    loop->ios = ios;
    loop->ios_cap = cap;
    return 0;
}

static struct tcore_io *io_find(struct tcore_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->ios_cap || loop->ios[fd].fn == NULL)
        return NULL;
    return &loop->ios[fd];
}

int tcore_loop_add(struct tcore_loop *loop, int fd, uint32_t events, tcore_io_fn fn, void *arg)
{
    if (fd < 0 || fn == NULL)
        return fd < 0 ? -EBADF : -EINVAL;
    int rc = io_reserve(loop, fd);
    if (rc < 0)
        return rc;
    if (loop->ios[fd].fn != NULL)
        return -EEXIST;
    uint32_t gen = loop->next_gen++;
    if (loop->next_gen == 0) /* 2^32 registrations later: skip the free-slot marker */
        loop->next_gen = 1;
    struct epoll_event ev = {.events = events, .data.u64 = io_token(fd, gen)};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    loop->ios[fd] = (struct tcore_io){.fn = fn, .arg = arg, .events = events, .gen = gen};
    return 0;
}

int tcore_loop_mod(struct tcore_loop *loop, int fd, uint32_t events)
{
    struct tcore_io *io = io_find(loop, fd);
    if (!io)
        return -ENOENT;
    struct epoll_event ev = {.events = events, .data.u64 = io_token(fd, io->gen)};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -errno;
    io->events = events;
    return 0;
}

int tcore_loop_del(struct tcore_loop *loop, int fd)
{
    struct tcore_io *io = io_find(loop, fd);
    if (!io)
        return -ENOENT;
    /* Forget the slot first: whatever epoll_ctl says, no callback runs for it again. */
    *io = (struct tcore_io){0};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
        return -errno; /* EBADF: the caller closed fd before deleting it */
    return 0;
}

/* ---- the phases -------------------------------------------------------------------- */

static void loop_update_now(struct tcore_loop *loop)
{
    loop->now_ms = kc_mono_ms();
}

/* How long epoll_wait may sleep: not at all if work is already waiting. */
static int loop_poll_timeout(struct tcore_loop *loop)
{
    if (atomic_load_explicit(&loop->tasks, memory_order_relaxed) != NULL ||
        atomic_load_explicit(&loop->stop, memory_order_relaxed))
        return 0;
    int64_t ms = tcore__timers_next_ms(loop, kc_mono_ms());
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Returns the number of events collected (0 on EINTR), or -errno. */
static int loop_poll_io(struct tcore_loop *loop)
{
    int n = epoll_wait(loop->epfd, loop->events, TCORE_EPOLL_BATCH, loop_poll_timeout(loop));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    return n;
}

static void loop_dispatch_io(struct tcore_loop *loop, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t token = loop->events[i].data.u64;
        if (token == TCORE_WAKE_TOKEN) {
            loop_drain_wake(loop);
            continue;
        }
        int fd = (int)(uint32_t)token;
        struct tcore_io *io = io_find(loop, fd);
        if (!io || io->gen != (uint32_t)(token >> 32))
            continue; /* deleted (or deleted and re-added) earlier in this batch */
        /* io may move if the callback grows the table: read it before the call. */
        io->fn(loop, fd, loop->events[i].events, io->arg);
    }
}

static void loop_run_tasks(struct tcore_loop *loop)
{
    if (atomic_load_explicit(&loop->tasks, memory_order_relaxed) == NULL)
        return;
    struct tcore_task *stack = atomic_exchange_explicit(&loop->tasks, NULL,
                                                        memory_order_acquire);
    struct tcore_task *fifo = NULL;
    while (stack) { /* newest-first -> oldest-first */
        struct tcore_task *next = stack->next;
        stack->next = fifo;
        fifo = stack;
        stack = next;
    }
    while (fifo) {
        struct tcore_task *task = fifo;
        fifo = task->next; /* read before fn: fn may free or re-post the task */
        task->fn(loop, task);
    }
}

int tcore_loop_run(struct tcore_loop *loop)
{
    int rc = 0;
    loop->running = true;
    while (!atomic_load_explicit(&loop->stop, memory_order_acquire)) {
        loop_update_now(loop);
        tcore__timers_run(loop);
        int n = loop_poll_io(loop);
        if (n < 0) {
            kc_log_error("tcore: epoll_wait failed: %s", strerror(-n));
            rc = n;
            break;
        }
        loop_update_now(loop);
        loop_dispatch_io(loop, n);
        loop_run_tasks(loop);
    }
    atomic_store_explicit(&loop->stop, false, memory_order_relaxed);
    loop->running = false;
    return rc;
}
