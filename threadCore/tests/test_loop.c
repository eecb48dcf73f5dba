/* test_loop.c - fds in the loop (add/mod/del, del inside a batch), posted tasks, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "tcore.h"

#define GUARD_MS 20000

static void guard_fired(struct tcore_loop *loop, struct tcore_timer *t)
{
    (void)loop;
    (void)t;
    fail_msg("loop still running after %d ms", GUARD_MS);
}

/* A loop with a guard timer that fails the test instead of letting it hang. */
struct fixture {
    struct tcore_loop *loop;
    struct tcore_timer guard;
    int fds_before;
};

static int fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->fds_before = kc_test_fd_count();
    assert_int_equal(tcore_loop_create(&fx->loop), 0);
    tcore_timer_init(&fx->guard, guard_fired, NULL);
    assert_int_equal(tcore_timer_arm(fx->loop, &fx->guard, GUARD_MS), 0);
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;
    tcore_loop_destroy(fx->loop);
    assert_int_equal(kc_test_fd_count(), fx->fds_before); /* epoll fd and eventfd closed */
    free(fx);
    return 0;
}

/* ---- fds -------------------------------------------------------------------------- */

struct pair {
    int rd, wr;
    int calls;
    uint32_t last_events;
};

static void make_pair(struct pair *p)
{
    int fds[2];
    assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    p->rd = fds[0];
    p->wr = fds[1];
    p->calls = 0;
}

static void close_pair(struct pair *p)
{
    if (p->rd >= 0)
        close(p->rd);
    if (p->wr >= 0)
        close(p->wr);
}

/* Two readable pipes in one batch: whichever callback runs first deletes the other,
 * closes it, and puts a different, registered fd under the same number. */
struct batch {
    struct pair a, b, fresh;
    int fresh_calls;
    struct tcore_loop *loop;
};

static void fresh_cb(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    ((struct batch *)arg)->fresh_calls++;
}

static void batch_cb(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct batch *bt = arg;
    struct pair *me = fd == bt->a.rd ? &bt->a : &bt->b;
    struct pair *other = me == &bt->a ? &bt->b : &bt->a;
    me->calls++;
    if (other->calls == 0 && me->calls == 1) {
        assert_int_equal(tcore_loop_del(loop, other->rd), 0);
        /* Same fd number, different file, new registration: the stale event for the old
         * one must reach neither batch_cb nor fresh_cb. */
        assert_int_equal(dup2(bt->fresh.rd, other->rd), other->rd);
        assert_int_equal(tcore_loop_add(loop, other->rd, TCORE_IN, fresh_cb, bt), 0);
    }
    tcore_loop_stop(loop);
}

static void test_loop_del_inside_batch_suppresses_pending_event(void **state)
{
    struct fixture *fx = *state;
    struct batch bt = {.loop = fx->loop};
    make_pair(&bt.a);
    make_pair(&bt.b);
    make_pair(&bt.fresh); /* empty: never readable */
    assert_int_equal(write(bt.a.wr, "a", 1), 1);
    assert_int_equal(write(bt.b.wr, "b", 1), 1);
    assert_int_equal(tcore_loop_add(fx->loop, bt.a.rd, TCORE_IN, batch_cb, &bt), 0);
    assert_int_equal(tcore_loop_add(fx->loop, bt.b.rd, TCORE_IN, batch_cb, &bt), 0);
    assert_int_equal(tcore_loop_run(fx->loop), 0);
    assert_int_equal(bt.a.calls + bt.b.calls, 1);
    assert_int_equal(bt.fresh_calls, 0);
    int survivor = bt.a.calls ? bt.a.rd : bt.b.rd, reused = bt.a.calls ? bt.b.rd : bt.a.rd;
    assert_int_equal(tcore_loop_del(fx->loop, survivor), 0);
    assert_int_equal(tcore_loop_del(fx->loop, reused), 0);
    close_pair(&bt.a);
    close_pair(&bt.b);
    close_pair(&bt.fresh);
}

static void self_del_cb(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    struct pair *p = arg;
    p->calls++;
    p->last_events = events;
    assert_int_equal(tcore_loop_del(loop, fd), 0);
    close(fd);
    p->rd = -1;
    tcore_loop_stop(loop);
}

static void test_loop_callback_may_delete_and_close_its_own_fd(void **state)
{
    struct fixture *fx = *state;
    struct pair p;
    make_pair(&p);
    assert_int_equal(write(p.wr, "x", 1), 1);
    assert_int_equal(tcore_loop_add(fx->loop, p.rd, TCORE_IN, self_del_cb, &p), 0);
    assert_int_equal(tcore_loop_run(fx->loop), 0);
    assert_int_equal(p.calls, 1);
    assert_true(p.last_events & TCORE_IN);
    close_pair(&p);
}

static void test_loop_add_mod_del_errors(void **state)
{
    struct fixture *fx = *state;
    struct pair p;
    make_pair(&p);
    assert_int_equal(tcore_loop_add(fx->loop, -1, TCORE_IN, fresh_cb, NULL), -EBADF);
    assert_int_equal(tcore_loop_add(fx->loop, p.rd, TCORE_IN, NULL, NULL), -EINVAL);
    assert_int_equal(tcore_loop_del(fx->loop, p.rd), -ENOENT);
    assert_int_equal(tcore_loop_mod(fx->loop, p.rd, TCORE_IN), -ENOENT);
    assert_int_equal(tcore_loop_del(fx->loop, 100000), -ENOENT);
    assert_int_equal(tcore_loop_add(fx->loop, p.rd, TCORE_IN, fresh_cb, NULL), 0);
    assert_int_equal(tcore_loop_add(fx->loop, p.rd, TCORE_IN, fresh_cb, NULL), -EEXIST);
    assert_int_equal(tcore_loop_mod(fx->loop, p.rd, TCORE_IN | TCORE_HUP), 0);
    assert_int_equal(tcore_loop_del(fx->loop, p.rd), 0);
    assert_int_equal(tcore_loop_del(fx->loop, p.rd), -ENOENT);
    /* A regular file cannot be polled: epoll's EPERM comes back, nothing is registered. */
    char *dir = kc_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof(path), "%s/f", dir);
    int f = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    assert_true(f >= 0);
    assert_int_equal(tcore_loop_add(fx->loop, f, TCORE_IN, fresh_cb, NULL), -EPERM);
    assert_int_equal(tcore_loop_del(fx->loop, f), -ENOENT);
    close(f);
    kc_test_rmdir(dir);
    close_pair(&p);
}

/* A socketpair: write-ready at once (OUT); mod to IN; the peer writes then hangs up. */
struct sockstate {
    int fd, peer;
    int outs, ins, hups;
};

static void sock_cb(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    struct sockstate *s = arg;
    if (events & TCORE_OUT) {
        s->outs++;
        assert_int_equal(tcore_loop_mod(loop, fd, TCORE_IN | TCORE_HUP), 0);
        assert_int_equal(write(s->peer, "hi", 2), 2);
        close(s->peer);
        s->peer = -1;
        return;
    }
    if (events & TCORE_IN) {
        char buf[8];
        ssize_t n = read(fd, buf, sizeof(buf));
        s->ins += n > 0;
    }
    if (events & TCORE_HUP) {
        s->hups++;
        assert_int_equal(tcore_loop_del(loop, fd), 0);
        tcore_loop_stop(loop);
    }
}

static void test_loop_mod_switches_interest_and_reports_hangup(void **state)
{
    struct fixture *fx = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    struct sockstate s = {.fd = sv[0], .peer = sv[1]};
    assert_int_equal(tcore_loop_add(fx->loop, sv[0], TCORE_OUT, sock_cb, &s), 0);
    assert_int_equal(tcore_loop_run(fx->loop), 0);
    assert_int_equal(s.outs, 1);
    assert_int_equal(s.ins, 1);
    assert_int_equal(s.hups, 1);
    close(sv[0]);
}

/* A callback registers a new fd with a high number: the fd table grows mid-dispatch. */
struct grow {
    struct pair first, high;
    int high_calls;
};

static void high_cb(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct grow *g = arg;
    g->high_calls++;
    assert_int_equal(tcore_loop_del(loop, fd), 0);
    tcore_loop_stop(loop);
}

static void first_cb(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct grow *g = arg;
    assert_int_equal(tcore_loop_del(loop, fd), 0);
    int high = dup2(g->high.rd, 900);
    assert_int_equal(high, 900);
    close(g->high.rd);
    g->high.rd = high;
    assert_int_equal(write(g->high.wr, "y", 1), 1);
    assert_int_equal(tcore_loop_add(loop, high, TCORE_IN, high_cb, g), 0);
}

static void test_loop_callback_may_add_fds_growing_the_table(void **state)
{
    struct fixture *fx = *state;
    struct grow g = {.high_calls = 0};
    make_pair(&g.first);
    make_pair(&g.high);
    assert_int_equal(write(g.first.wr, "x", 1), 1);
    assert_int_equal(tcore_loop_add(fx->loop, g.first.rd, TCORE_IN, first_cb, &g), 0);
    assert_int_equal(tcore_loop_run(fx->loop), 0);
    assert_int_equal(g.high_calls, 1);
    close_pair(&g.first);
    close_pair(&g.high);
}

/* ---- tasks ------------------------------------------------------------------------ */

enum { POSTERS = 4, PER_POSTER = 50000 };

struct storm_task {
    struct tcore_task task;
    int poster;
    int seq;
};

struct storm {
    struct tcore_loop *loop;
    struct storm_task *tasks; /* POSTERS x PER_POSTER */
    int next_seq[POSTERS];    /* loop thread only */
    int ran;                  /* loop thread only */
    int out_of_order;
    atomic_int ready;
};

static void storm_run(struct tcore_loop *loop, struct tcore_task *task)
{
    struct storm_task *st = (struct storm_task *)task;
    struct storm *s = task->arg;
    if (st->seq != s->next_seq[st->poster])
        s->out_of_order++;
    s->next_seq[st->poster] = st->seq + 1;
    if (++s->ran == POSTERS * PER_POSTER)
        tcore_loop_stop(loop);
}

struct poster_arg {
    struct storm *s;
    int id;
};

static void *poster(void *p)
{
    struct poster_arg *pa = p;
    struct storm *s = pa->s;
    atomic_fetch_add(&s->ready, 1);
    while (atomic_load(&s->ready) < POSTERS) /* start together: maximum contention */
        sched_yield();
    for (int i = 0; i < PER_POSTER; i++) {
        struct storm_task *st = &s->tasks[pa->id * PER_POSTER + i];
        st->poster = pa->id;
        st->seq = i;
        tcore_task_init(&st->task, storm_run, s);
        tcore_loop_post(s->loop, &st->task);
    }
    return NULL;
}

static void test_loop_post_storm_runs_every_task_once_fifo_per_poster(void **state)
{
    struct fixture *fx = *state;
    struct storm s = {.loop = fx->loop};
    atomic_init(&s.ready, 0);
    s.tasks = calloc((size_t)POSTERS * PER_POSTER, sizeof(*s.tasks));
    assert_non_null(s.tasks);
    struct poster_arg pa[POSTERS];
    struct tcore_thread *th[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        pa[i] = (struct poster_arg){&s, i};
        assert_int_equal(tcore_thread_start(&th[i], "kc-poster", -1, poster, &pa[i]), 0);
    }
    int64_t t0 = kc_mono_ns();
    assert_int_equal(tcore_loop_run(fx->loop), 0);
    double secs = (double)(kc_mono_ns() - t0) / 1e9;
    for (int i = 0; i < POSTERS; i++)
        assert_int_equal(tcore_thread_join(th[i], NULL), 0);
    assert_int_equal(s.ran, POSTERS * PER_POSTER);
    assert_int_equal(s.out_of_order, 0);
    for (int i = 0; i < POSTERS; i++)
        assert_int_equal(s.next_seq[i], PER_POSTER);
    print_message("%d tasks from %d threads in %.3f s\n", s.ran, POSTERS, secs);
    free(s.tasks);
}

/* A loop asleep in epoll_wait with no timer due is woken by a post from another thread. */
struct wake {
    struct tcore_loop *loop;
    struct tcore_task task;
    struct tcore_timer started;
    atomic_bool running;
    int ran;
};

static void wake_task(struct tcore_loop *loop, struct tcore_task *task)
{
    struct wake *w = task->arg;
    w->ran++;
    tcore_loop_stop(loop);
}

static void mark_started(struct tcore_loop *loop, struct tcore_timer *t)
{
    (void)loop;
    struct wake *w = t->arg;
    atomic_store(&w->running, true);
}

static void *post_when_running(void *p)
{
    struct wake *w = p;
    while (!atomic_load(&w->running))
        sched_yield();
    tcore_loop_post(w->loop, &w->task);
    return NULL;
}

static void test_loop_post_from_other_thread_wakes_sleeping_loop(void **state)
{
    struct fixture *fx = *state;
    struct wake w = {.loop = fx->loop};
    atomic_init(&w.running, false);
    tcore_task_init(&w.task, wake_task, &w);
    tcore_timer_init(&w.started, mark_started, &w);
    assert_int_equal(tcore_timer_arm(fx->loop, &w.started, 0), 0);
    struct tcore_thread *t;
    assert_int_equal(tcore_thread_start(&t, "kc-waker", -1, post_when_running, &w), 0);
    assert_int_equal(tcore_loop_run(fx->loop), 0); /* next timer: the 20 s guard */
    assert_int_equal(tcore_thread_join(t, NULL), 0);
    assert_int_equal(w.ran, 1);
}

static void *stop_when_running(void *p)
{
    struct wake *w = p;
    while (!atomic_load(&w->running))
        sched_yield();
    tcore_loop_stop(w->loop);
    return NULL;
}

static void test_loop_stop_from_other_thread_returns_run(void **state)
{
    struct fixture *fx = *state;
    struct wake w = {.loop = fx->loop};
    atomic_init(&w.running, false);
    tcore_timer_init(&w.started, mark_started, &w);
    assert_int_equal(tcore_timer_arm(fx->loop, &w.started, 0), 0);
    struct tcore_thread *t;
    assert_int_equal(tcore_thread_start(&t, "kc-stopper", -1, stop_when_running, &w), 0);
    assert_int_equal(tcore_loop_run(fx->loop), 0);
    assert_int_equal(tcore_thread_join(t, NULL), 0);
    /* Stopped before it runs: run returns at once; the flag does not stick after that. */
    tcore_loop_stop(fx->loop);
    assert_int_equal(tcore_loop_run(fx->loop), 0);
}

/* A task that re-posts itself from its own callback: the loop's thread may post too. */
struct repost {
    struct tcore_task task;
    int runs;
};

static void repost_task(struct tcore_loop *loop, struct tcore_task *task)
{
    struct repost *r = task->arg;
    if (++r->runs == 1000)
        tcore_loop_stop(loop);
    else
        tcore_loop_post(loop, task);
}

static void test_loop_task_may_repost_itself(void **state)
{
    struct fixture *fx = *state;
    struct repost r = {.runs = 0};
    tcore_task_init(&r.task, repost_task, &r);
    tcore_loop_post(fx->loop, &r.task);
    assert_int_equal(tcore_loop_run(fx->loop), 0);
    assert_int_equal(r.runs, 1000);
}

static void never_run(struct tcore_loop *loop, struct tcore_task *task)
{
    (void)loop;
    (void)task;
    fail_msg("a task queued at destroy must be dropped, not run");
}

static void test_loop_destroy_drops_queued_tasks(void **state)
{
    (void)state;
    int fds = kc_test_fd_count();
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    struct tcore_task tasks[3];
    for (int i = 0; i < 3; i++) {
        tcore_task_init(&tasks[i], never_run, NULL);
        tcore_loop_post(loop, &tasks[i]);
    }
    tcore_loop_destroy(loop);
    assert_int_equal(kc_test_fd_count(), fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loop_del_inside_batch_suppresses_pending_event,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_callback_may_delete_and_close_its_own_fd,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_add_mod_del_errors, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_mod_switches_interest_and_reports_hangup,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_callback_may_add_fds_growing_the_table,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_post_storm_runs_every_task_once_fifo_per_poster,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_post_from_other_thread_wakes_sleeping_loop,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_stop_from_other_thread_returns_run,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_task_may_repost_itself, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test(test_loop_destroy_drops_queued_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
