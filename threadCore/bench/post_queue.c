/*
 * post_queue.c - how should other threads hand tasks to an event loop?
 *
 * Three queues behind the same wake-up rule (write the eventfd only when the queue goes
 * from empty to non-empty) and the same consumer (sleep in epoll_wait on the eventfd,
 * drain it, take the whole queue, run every task):
 *
 *   lock-free   Treiber stack: one CAS per post, one exchange per batch, then a reversal
 *               (the algorithm tcore_loop_post uses, written out here)
 *   mutex       a FIFO list under a pthread mutex; the consumer swaps the list out
 *   tcore       the real tcore_loop_post + tcore_loop_run, for reference
 *
 * 1 and 2 posting threads, each posting its own tasks; the figure is tasks per second from
 * the first post to the last task run, median of 7 runs, and the ratio to lock-free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kc_common.h"
#include "tcore.h"

#define RUNS_MAX 7

struct task {
    struct task *next;
};

enum kind { LOCKFREE, MUTEX, TCORE };
static const char *const kind_names[] = {"lock-free stack", "mutex list", "tcore_loop_post"};

struct queue {
    enum kind kind;
    _Atomic(struct task *) stack;      /* LOCKFREE */
    pthread_mutex_t lock;              /* MUTEX */
    struct task *head, *tail;
    int efd, epfd;
    struct tcore_loop *loop;           /* TCORE */
    struct tcore_task *ttasks;
    long per_poster;
    long expected, ran;                /* consumer only */
    atomic_int go;
};

static void wake(struct queue *q)
{
    uint64_t one = 1;
    if (write(q->efd, &one, sizeof(one)) != sizeof(one))
        abort(); /* an eventfd write cannot fail short of counter overflow */
}

static void post(struct queue *q, struct task *t)
{
    if (q->kind == LOCKFREE) {
        struct task *head = atomic_load_explicit(&q->stack, memory_order_relaxed);
        do
            t->next = head;
        while (!atomic_compare_exchange_weak_explicit(&q->stack, &head, t,
                                                      memory_order_release,
                                                      memory_order_relaxed));
        if (!head)
            wake(q);
        return;
    }
    t->next = NULL;
    pthread_mutex_lock(&q->lock);
    bool was_empty = q->head == NULL;
    if (was_empty)
        q->head = t;
    else
        q->tail->next = t;
    q->tail = t;
    pthread_mutex_unlock(&q->lock);
    if (was_empty)
        wake(q);
}

static struct task *take_all(struct queue *q)
{
    if (q->kind == MUTEX) {
        pthread_mutex_lock(&q->lock);
        struct task *list = q->head;
        q->head = q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        return list;
    }
    struct task *stack = atomic_exchange_explicit(&q->stack, NULL, memory_order_acquire);
    struct task *fifo = NULL;
    while (stack) {
        struct task *next = stack->next;
        stack->next = fifo;
        fifo = stack;
        stack = next;
    }
    return fifo;
}

static void consume(struct queue *q)
{
    while (q->ran < q->expected) {
        struct epoll_event ev;
        if (epoll_wait(q->epfd, &ev, 1, -1) < 0 && errno != EINTR)
            abort();
        uint64_t v;
        if (read(q->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            abort();
        for (struct task *t = take_all(q); t;) {
            struct task *next = t->next;
            q->ran++; /* "running" the task */
            t = next;
        }
    }
}

static void tcore_ran(struct tcore_loop *loop, struct tcore_task *task)
{
    struct queue *q = task->arg;
    if (++q->ran == q->expected)
        tcore_loop_stop(loop);
}

struct poster {
    struct queue *q;
    struct task *tasks;
    int id;
};

static void *poster_main(void *arg)
{
    struct poster *p = arg;
    struct queue *q = p->q;
    while (!atomic_load(&q->go))
        ;
    for (long i = 0; i < q->per_poster; i++) {
        if (q->kind == TCORE)
            tcore_loop_post(q->loop, &q->ttasks[(long)p->id * q->per_poster + i]);
        else
            post(q, &p->tasks[i]);
    }
    return NULL;
}

static int queue_init(struct queue *q, enum kind kind, int posters, long per_poster)
{
    memset(q, 0, sizeof(*q));
    q->kind = kind;
    q->per_poster = per_poster;
    q->expected = (long)posters * per_poster;
    atomic_init(&q->stack, NULL);
    atomic_init(&q->go, 0);
    if (pthread_mutex_init(&q->lock, NULL) != 0)
        return -ENOMEM;
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    q->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (q->efd < 0 || q->epfd < 0 || epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->efd, &ev) < 0)
        return -errno;
    if (kind != TCORE)
        return 0;
    q->ttasks = calloc((size_t)q->expected, sizeof(*q->ttasks));
    if (!q->ttasks)
        return -ENOMEM;
    for (long i = 0; i < q->expected; i++)
        tcore_task_init(&q->ttasks[i], tcore_ran, q);
    return tcore_loop_create(&q->loop);
}

static void queue_fini(struct queue *q)
{
    close(q->efd);
    close(q->epfd);
    pthread_mutex_destroy(&q->lock);
    tcore_loop_destroy(q->loop);
    free(q->ttasks);
}

/* One run: tasks per second from "go" to the last task run. */
static double run_once(enum kind kind, int posters, long per_poster)
{
    struct queue q;
    struct poster p[2];
    struct tcore_thread *th[2];
    if (queue_init(&q, kind, posters, per_poster) < 0)
        abort();
    for (int i = 0; i < posters; i++) {
        p[i] = (struct poster){&q, calloc((size_t)per_poster, sizeof(struct task)), i};
        if (!p[i].tasks || tcore_thread_start(&th[i], "kc-poster", -1, poster_main, &p[i]))
            abort();
    }
    int64_t t0 = kc_mono_ns();
    atomic_store(&q.go, 1);
    if (kind == TCORE) {
        if (tcore_loop_run(q.loop) < 0)
            abort();
    } else {
        consume(&q);
    }
    double secs = (double)(kc_mono_ns() - t0) / 1e9;
    for (int i = 0; i < posters; i++) {
        if (tcore_thread_join(th[i], NULL) < 0)
            abort();
        free(p[i].tasks);
    }
    queue_fini(&q);
    return (double)q.expected / secs;
}

int main(void)
{
    bool quick = getenv("BENCH_QUICK") != NULL; /* make bench's short form */
    int runs = quick ? 5 : RUNS_MAX;
    long per_poster = quick ? 200000 : 1000000;
    printf("post_queue: handing tasks to an event loop's thread (%ld tasks per poster,\n"
           "median of %d runs; consumer and posters unpinned on %d CPUs)\n\n",
           per_poster, runs, tcore_cpu_count());
    printf("  %-18s %18s %18s\n", "queue", "1 poster", "2 posters");
    double base[3] = {0};
    for (int k = LOCKFREE; k <= TCORE; k++) {
        printf("  %-18s", kind_names[k]);
        for (int posters = 1; posters <= 2; posters++) {
            double v[RUNS_MAX];
            for (int r = 0; r < runs; r++)
                v[r] = run_once((enum kind)k, posters, per_poster);
            double med = kc_median(v, (size_t)runs);
            if (k == LOCKFREE)
                base[posters] = med;
            char buf[32], cell[48];
            snprintf(cell, sizeof(cell), "%s/s (x%.2f)", kc_fmt_si(med, buf, sizeof(buf)),
                     med / base[posters]);
            printf(" %18s", cell);
            fflush(stdout);
        }
        printf("\n");
    }
    printf("\n  (xN: ratio to the lock-free stack measured in the same run)\n");
    return 0;
}
