/*
 * test_park.c - parked requests end exactly once, through one path, whatever ends them:
 * resumes racing from several threads, a deadline, holds that cannot be withdrawn (the
 * first reason still wins, but the finish waits for the last settle), the request's own
 * set-up hold, a connection that dies (CLOSED, its memory kept until every park ended),
 * parking again from done, and watches on a real log woken by an append on another
 * thread. Run under ThreadSanitizer too (make tsan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_test.h"
#include "support/core_fixture.h"

struct req {
    struct brk_park park;
    _Atomic int done;   /* times done ran */
    int why;            /* the reason it got */
    int withdrawn;      /* times withdraw ran */
    int again;          /* park again this many times */
    struct brk_watch watch;
    pthread_t loop_thread; /* the thread done must run on */
    bool wrong_thread;
};

static void req_withdraw(struct brk_park *p)
{
    ((struct req *)p)->withdrawn++;
}

static int req_done(struct brk_park *p, enum brk_park_why why)
{
    struct req *r = (struct req *)p;
    r->why = why;
    r->wrong_thread |= !pthread_equal(pthread_self(), r->loop_thread);
    atomic_fetch_add(&r->done, 1);
    if (why != BRK_PARK_CLOSED && r->again > 0) {
        r->again--;
        brk_park_again(p, -1);
        return 1;
    }
    if (why != BRK_PARK_CLOSED)
        kc_write_raw(brk_park_writer(p), "x", 1);
    return 0;
}

static const struct brk_park_ops req_ops = {
    .kind = "test", .withdraw = req_withdraw, .done = req_done};

static void start(struct brk_conn *c, struct req *r, int64_t deadline_ms)
{
    memset(r, 0, sizeof(*r));
    r->loop_thread = pthread_self();
    assert_int_equal(brk_park_start(c, &r->park, &req_ops, deadline_ms), 0);
}

static bool is_done(void *arg)
{
    return atomic_load(&((struct req *)arg)->done) > 0;
}

/* ---- races ------------------------------------------------------------------------------ */

#define NREQ 200

struct racer {
    struct req *reqs;
    enum brk_park_why why;
};

static void *resume_all(void *arg)
{
    struct racer *rc = arg;
    for (int i = 0; i < NREQ; i++)
        brk_park_resume(&rc->reqs[i].park, rc->why);
    return NULL;
}

static bool all_done(void *arg)
{
    struct req *reqs = arg;
    for (int i = 0; i < NREQ; i++)
        if (atomic_load(&reqs[i].done) == 0)
            return false;
    return true;
}

static void test_park_racing_resumes_end_it_exactly_once_on_its_loop(void **state)
{
    (void)state;
    struct cfx fx;
    int peer;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    struct req *reqs = calloc(NREQ, sizeof(*reqs));
    assert_non_null(reqs);
    for (int i = 0; i < NREQ; i++) {
        start(c, &reqs[i], -1);
        brk__park_started(c);
    }
    pthread_t th[2];
    struct racer r1 = {reqs, BRK_PARK_RESUMED}, r2 = {reqs, BRK_PARK_TIMEOUT};
    assert_int_equal(pthread_create(&th[0], NULL, resume_all, &r1), 0);
    assert_int_equal(pthread_create(&th[1], NULL, resume_all, &r2), 0);
    brk__parks_cancel(c, BRK_PARK_SHUTDOWN); /* the loop's own reason, racing them */
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    assert_true(cfx_run_until(&fx, all_done, reqs, 5000));
    cfx_run(&fx); /* a second finish would be posted by now */
    for (int i = 0; i < NREQ; i++) {
        assert_int_equal(atomic_load(&reqs[i].done), 1);
        assert_int_equal(reqs[i].withdrawn, 1);
        assert_false(reqs[i].wrong_thread);
        assert_true(reqs[i].why == BRK_PARK_RESUMED || reqs[i].why == BRK_PARK_TIMEOUT ||
                    reqs[i].why == BRK_PARK_SHUTDOWN);
    }
    char buf[NREQ];
    cfx_read(peer, buf, NREQ); /* every one answered, once */
    assert_false(cfx_readable(peer));
    free(reqs);
    close(peer);
    cfx_fini(&fx);
}

/* ---- holds, set-up, deadline ------------------------------------------------------------- */

static void test_park_holds_delay_the_finish_first_reason_wins(void **state)
{
    (void)state;
    struct cfx fx;
    struct req r;
    int peer;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    start(c, &r, -1);
    brk_park_hold(&r.park);
    brk_park_hold(&r.park);
    brk__park_started(c);
    brk_park_resume(&r.park, BRK_PARK_TIMEOUT); /* first reason */
    brk_park_settle(&r.park);
    cfx_run(&fx);
    assert_int_equal(atomic_load(&r.done), 0); /* a hold is still out */
    brk_park_settle(&r.park);
    assert_true(cfx_run_until(&fx, is_done, &r, 5000));
    assert_int_equal(r.why, BRK_PARK_TIMEOUT);
    close(peer);
    cfx_fini(&fx);
}

static void test_park_does_not_end_before_it_is_set_up(void **state)
{
    (void)state;
    struct cfx fx;
    struct req r;
    int peer;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    start(c, &r, -1);
    brk_park_resume(&r.park, BRK_PARK_RESUMED); /* data at once, while still in serve */
    cfx_run(&fx);
    assert_int_equal(atomic_load(&r.done), 0);
    brk__park_started(c); /* serve returned */
    assert_true(cfx_run_until(&fx, is_done, &r, 5000));
    assert_int_equal(r.why, BRK_PARK_RESUMED);
    close(peer);
    cfx_fini(&fx);
}

static void test_park_deadline_ends_it_with_timeout(void **state)
{
    (void)state;
    struct cfx fx;
    struct req r;
    int peer;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    int64_t t0 = kc_mono_ms();
    start(c, &r, 30);
    brk__park_started(c);
    assert_true(cfx_run_until(&fx, is_done, &r, 5000));
    assert_int_equal(r.why, BRK_PARK_TIMEOUT);
    assert_true(kc_mono_ms() - t0 >= 30);
    close(peer);
    cfx_fini(&fx);
}

/* ---- the connection dies ------------------------------------------------------------------ */

static void test_park_closed_connection_ends_parks_and_frees_after(void **state)
{
    (void)state;
    struct cfx fx;
    struct req a, b;
    int peer;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    start(c, &a, -1);
    brk__park_started(c);
    start(c, &b, -1);
    brk_park_hold(&b.park); /* an fsync that will still come */
    brk__park_started(c);
    brk__conn_kill(c, "test");
    cfx_run(&fx);
    assert_int_equal(atomic_load(&a.done), 1);
    assert_int_equal(a.why, BRK_PARK_CLOSED);
    assert_int_equal(atomic_load(&b.done), 0);
    assert_int_equal(atomic_load(&fx.srv->nconns), 1); /* b still holds its memory */
    brk_park_settle(&b.park); /* the fsync's callback, late */
    assert_true(cfx_run_until(&fx, is_done, &b, 5000));
    assert_int_equal(b.why, BRK_PARK_CLOSED);
    assert_int_equal(atomic_load(&fx.srv->nconns), 0);
    close(peer);
    cfx_fini(&fx);
}

/* ---- parking again ------------------------------------------------------------------------ */

static bool done_three(void *arg)
{
    return atomic_load(&((struct req *)arg)->done) >= 3;
}

static void test_park_again_keeps_its_place_and_ends_later(void **state)
{
    (void)state;
    struct cfx fx;
    struct req r;
    int peer;
    char ch;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    start(c, &r, -1);
    r.again = 2;
    brk__park_started(c);
    kc_write_raw(brk_resp_writer(c), "y", 1); /* queued behind the park */
    for (int i = 1; i <= 3; i++) {
        brk_park_resume(&r.park, BRK_PARK_RESUMED);
        cfx_run(&fx);
        cfx_run(&fx);
        assert_int_equal(atomic_load(&r.done), i);
        if (i < 3)
            assert_false(cfx_readable(peer));
    }
    assert_true(done_three(&r));
    cfx_read(peer, &ch, 1);
    assert_int_equal(ch, 'x');
    cfx_read(peer, &ch, 1);
    assert_int_equal(ch, 'y');
    close(peer);
    cfx_fini(&fx);
}

/* ---- watching a log ------------------------------------------------------------------------ */

struct appender {
    struct alog *log;
    uint8_t *batch;
    size_t len;
};

static void *append_later(void *arg)
{
    struct appender *a = arg;
    int64_t base;
    kc_sleep_ms(20);
    assert_int_equal(alog_append(a->log, a->batch, a->len, &base), 0);
    return NULL;
}

static void test_park_watch_is_woken_by_an_append_on_another_thread(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct alog *log;
    struct kc_batch_builder bb;
    struct appender ap;
    assert_int_equal(alog_open(&log, dir, NULL, NULL), 0);
    kc_batch_builder_init(&bb, NULL, 0);
    assert_int_equal(kc_batch_builder_add(&bb, 1, NULL, -1, "v", 1, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&bb, &ap.batch, &ap.len), 0);
    ap.log = log;

    struct cfx fx;
    struct req r;
    int peer;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    start(c, &r, 10000);
    r.watch = (struct brk_watch){.log = log, .offset = 0};
    assert_int_equal(brk_park_watch(&r.park, &r.watch, 1), 0);
    brk__park_started(c);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, append_later, &ap), 0);
    assert_true(cfx_run_until(&fx, is_done, &r, 5000));
    pthread_join(th, NULL);
    assert_int_equal(r.why, BRK_PARK_RESUMED);

    /* Already past: nothing is armed, the caller is told. */
    struct req r2;
    start(c, &r2, -1);
    r2.watch = (struct brk_watch){.log = log, .offset = 0};
    assert_int_equal(brk_park_watch(&r2.park, &r2.watch, 1), 1);
    brk_park_resume(&r2.park, BRK_PARK_RESUMED);
    brk__park_started(c);
    assert_true(cfx_run_until(&fx, is_done, &r2, 5000));
    close(peer);
    cfx_fini(&fx);
    kc_batch_builder_fini(&bb);
    assert_int_equal(alog_close(log), 0); /* no watch left armed (it would say so) */
    kc_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_park_racing_resumes_end_it_exactly_once_on_its_loop),
        cmocka_unit_test(test_park_holds_delay_the_finish_first_reason_wins),
        cmocka_unit_test(test_park_does_not_end_before_it_is_set_up),
        cmocka_unit_test(test_park_deadline_ends_it_with_timeout),
        cmocka_unit_test(test_park_closed_connection_ends_parks_and_frees_after),
        cmocka_unit_test(test_park_again_keeps_its_place_and_ends_later),
        cmocka_unit_test(test_park_watch_is_woken_by_an_append_on_another_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
