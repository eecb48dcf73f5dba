/*
 * tcore.h - threads pinned to CPUs, and the per-core event loop they run.
 *
 * (Contract header: the module README and source headers teach; this states the rules.)
 *
 * Threads: tcore_thread_start names a thread and pins it to one CPU. Asking for a CPU the
 * machine does not have wraps round (cpu % count) with one clear warning, never an error.
 *
 * Loop: one epoll instance per loop, run by one thread. Each iteration is a list of named
 * phases (Redis's ae / libuv's uv_run):
 *
 *   update now -> run due timers -> epoll_wait(until next timer) -> I/O callbacks
 *              -> posted tasks -> (repeat until stopped)
 *
 * Rules:
 *  - All loop functions are for the loop's own thread, except tcore_loop_post and
 *    tcore_loop_stop, which any thread may call (they wake the loop through an eventfd).
 *  - Timers and tasks are intrusive: the caller embeds the struct in its own object, so
 *    arming a timer or posting a task never allocates and cannot fail. A timer may be
 *    re-armed or disarmed from any callback of the same loop; a task must not be posted
 *    again before it has run.
 *  - After tcore_loop_del(fd) returns, the fd's callback is not called again, even for
 *    events already collected in the current iteration.
 *  - Callbacks run on the loop thread and must not block.
 */
#ifndef TCORE_H
#define TCORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

/* ---- threads --------------------------------------------------------------------------- */

/*
 * CPU numbers: a `cpu` argument is an index into the CALLING thread's affinity mask, taken
 * modulo its size: with no restriction (mask 0-3) index i is CPU i; under `taskset -c 2,3`
 * index 0 is CPU 2 and index 1 is CPU 3. So start pinned threads from a thread that is not
 * pinned itself (typically main, before any tcore_pin_self): a pinned caller's mask holds
 * one CPU, and every index would wrap onto it (with the warning).
 */

/* CPUs in the calling thread's affinity mask (what the process may use), at least 1. */
int tcore_cpu_count(void);
/* The CPU the calling thread is running on right now (sched_getcpu), or -errno. */
int tcore_current_cpu(void);

struct tcore_thread;
typedef void *(*tcore_thread_fn)(void *arg);

/*
 * Start fn(arg) on a new thread called name (1 to 15 characters, as Linux allows; -EINVAL
 * otherwise), pinned before its first instruction to CPU index cpu (wrapped modulo
 * tcore_cpu_count() with one warning line if it had to wrap), or unpinned when cpu < 0.
 * The thread names itself before fn runs. *out is written only on success; join it with
 * tcore_thread_join. Errors: -EINVAL, -ENOMEM, -EAGAIN (from pthread_create).
 */
int tcore_thread_start(struct tcore_thread **out, const char *name, int cpu,
                       tcore_thread_fn fn, void *arg);
/* Wait for the thread, store its return value in *ret (if not NULL), free t. */
int tcore_thread_join(struct tcore_thread *t, void **ret);
/* The CPU (a real CPU number) a started thread was pinned to, or -1 if unpinned. */
int tcore_thread_cpu(const struct tcore_thread *t);
/* Pin the calling thread to CPU index cpu (>= 0, wrapped as above, -EINVAL if negative);
 * *pinned (if not NULL) gets the real CPU number used. */
int tcore_pin_self(int cpu, int *pinned);

/* ---- event loop ------------------------------------------------------------------------ */

struct tcore_loop;

#define TCORE_IN  EPOLLIN
#define TCORE_OUT EPOLLOUT
#define TCORE_ERR EPOLLERR
#define TCORE_HUP (EPOLLHUP | EPOLLRDHUP)

typedef void (*tcore_io_fn)(struct tcore_loop *loop, int fd, uint32_t events, void *arg);

int tcore_loop_create(struct tcore_loop **out);
/* Free the loop; call after tcore_loop_run has returned. Tasks still queued are dropped
 * without running, timers are disarmed, registered fds are not closed. */
void tcore_loop_destroy(struct tcore_loop *loop);
/* Run until tcore_loop_stop. Returns 0, or -errno if epoll itself fails. */
int tcore_loop_run(struct tcore_loop *loop);
/* Ask the loop to return from tcore_loop_run after the current iteration; any thread. */
void tcore_loop_stop(struct tcore_loop *loop);
/* The monotonic time in ms cached when the loop last woke: at the start of the iteration
 * and again when epoll_wait returns (so I/O callbacks never arm timers from a stale now). */
int64_t tcore_loop_now_ms(const struct tcore_loop *loop);

/* Watch fd for events (TCORE_IN | TCORE_OUT ...; level-triggered); fn gets what fired. */
int tcore_loop_add(struct tcore_loop *loop, int fd, uint32_t events, tcore_io_fn fn, void *arg);
int tcore_loop_mod(struct tcore_loop *loop, int fd, uint32_t events);
int tcore_loop_del(struct tcore_loop *loop, int fd);

struct tcore_timer;
typedef void (*tcore_timer_fn)(struct tcore_loop *loop, struct tcore_timer *timer);

/* Embed in your own object; the loop's heap links to it while it is armed. */
struct tcore_timer {
    int64_t due_ms;
    uint32_t heap_index; /* position in the loop's heap; UINT32_MAX when disarmed */
    tcore_timer_fn fn;
    void *arg;
    uint64_t seq;        /* private: arm order, so equal deadlines fire first-armed-first */
};

void tcore_timer_init(struct tcore_timer *t, tcore_timer_fn fn, void *arg);
/* Arm (or re-arm) t to fire once, delay_ms from now (negative counts as 0). -ENOMEM only if
 * the heap must grow (re-arming an armed timer never fails). A timer armed from a timer
 * callback, even with delay 0, fires in the next iteration, never in the current one. */
int tcore_timer_arm(struct tcore_loop *loop, struct tcore_timer *t, int64_t delay_ms);
/* Disarm t; harmless if it is not armed. */
void tcore_timer_disarm(struct tcore_loop *loop, struct tcore_timer *t);

static inline bool tcore_timer_armed(const struct tcore_timer *t)
{
    return t->heap_index != UINT32_MAX;
}

struct tcore_task;
typedef void (*tcore_task_fn)(struct tcore_loop *loop, struct tcore_task *task);

/* Embed in your own object; post hands it to another loop's thread. */
struct tcore_task {
    tcore_task_fn fn;
    void *arg;
    struct tcore_task *next;
};

void tcore_task_init(struct tcore_task *task, tcore_task_fn fn, void *arg);
/* Queue task to run on loop's thread (FIFO per poster) and wake the loop. Any thread. */
void tcore_loop_post(struct tcore_loop *loop, struct tcore_task *task);

#endif
