/*
 * test_alog_restart.c - alog_restart_at, a follower starting over at its leader's log
 * start: the next append's base, reads below and at the new start, the files left, a
 * reopen (standalone and in a store), the edges (below the end, at it, negative), slices,
 * watches and waiters of the old log, and kill -9 at every step (standalone and in a
 * store): the new empty log, never a mix with the old one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alog_int.h"
#include "support/alog_fixture.h"
#include "support/alog_follow.h"
#include "support/alog_hooks.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_test.h"

#define RESTART 1000 /* the leader's log start, far past the 200 offsets written */

struct woke {
    atomic_int fired;
};

static void on_wake(struct alog_watch *w)
{
    atomic_fetch_add(&((struct woke *)w->arg)->fired, 1);
}

/* The log is empty at `at`: one segment there, reads below refused, at it empty. */
static void expect_empty_at(const char *dir, struct alog *log, int64_t at)
{
    struct alog_slice sl;
    struct alog_segment_info si[4];
    assert_int_equal(alog_start_offset(log), at);
    assert_int_equal(alog_end_offset(log), at);
    if (at > 0) {
        assert_int_equal(alog_read(log, 0, 1, &sl), KC_EOFFSET);
        assert_int_equal(alog_read(log, at - 1, 1, &sl), KC_EOFFSET);
    }
    assert_int_equal(alog_read(log, at, 1, &sl), KC_EEMPTY);
    assert_int_equal(alog_read(log, at + 1, 1, &sl), KC_EOFFSET);
    assert_int_equal(alog_segments(log, si, 4), 1);
    assert_int_equal(si[0].base_offset, at);
    assert_int_equal(si[0].bytes, 0);
    if (dir)
        assert_int_equal(fx_check_files(dir), at); /* no old segment file left */
}

static void test_restart_at_then_append_gives_base_and_reopens(void **state)
{
    struct alog *log = fx_follow_open(*state, 2048, NULL);
    fx_append(log, 40, 5, 24, 1000); /* 0..199 over several segments */
    assert_true(alog_segments(log, NULL, 0) >= 3);
    assert_int_equal(alog_restart_at(log, RESTART), 0);
    expect_empty_at(*state, log, RESTART);
    size_t len;
    int64_t base;
    uint8_t *b = fx_batch(RESTART, 5, 24, 5000, &len);
    assert_int_equal(alog_append(log, b, len, &base), 0);
    free(b);
    assert_int_equal(base, RESTART);
    fx_append(log, 2, 5, 24, 6000);
    fx_check_reads(log, RESTART, RESTART + 15);
    assert_int_equal(alog_close(log), 0);
    log = fx_follow_open(*state, 2048, NULL); /* a clean reopen honours it */
    assert_int_equal(alog_start_offset(log), RESTART);
    assert_int_equal(alog_end_offset(log), RESTART + 15);
    fx_check_reads(log, RESTART, RESTART + 15);
    assert_int_equal(fx_check_files(*state), RESTART + 15);
    assert_int_equal(alog_close(log), 0);
}

static void test_restart_at_edges_refused_or_defined(void **state)
{
    struct alog *log = fx_follow_open(*state, 2048, NULL);
    assert_int_equal(alog_restart_at(log, 0), 0); /* an empty log at its end: still empty */
    expect_empty_at(*state, log, 0);
    fx_append(log, 40, 5, 24, 1000);
    assert_int_equal(alog_restart_at(log, -1), -EINVAL);
    assert_int_equal(alog_restart_at(log, 0), KC_EOFFSET);   /* below the end: truncate */
    assert_int_equal(alog_restart_at(log, 199), KC_EOFFSET); /* ... */
    assert_int_equal(alog_start_offset(log), 0);             /* nothing done */
    assert_int_equal(alog_end_offset(log), 200);
    fx_check_reads(log, 0, 200);
    assert_int_equal(alog_restart_at(log, 200), 0); /* at the end: emptied there */
    assert_int_equal(alog_start_offset(log), 200);
    assert_int_equal(alog_end_offset(log), 200);
    struct alog_slice sl;
    assert_int_equal(alog_read(log, 0, 1, &sl), KC_EOFFSET);
    assert_int_equal(alog_read(log, 200, 1, &sl), KC_EEMPTY);
    assert_int_equal(alog_restart_at(log, 300), 0); /* twice: again further on */
    expect_empty_at(*state, log, 300);
    assert_int_equal(alog_close(log), 0);
    log = fx_follow_open(*state, 2048, NULL);
    expect_empty_at(*state, log, 300);
    fx_append(log, 1, 5, 24, 1000);
    assert_int_equal(alog_end_offset(log), 305);
    assert_int_equal(alog_close(log), 0);
}

static void test_restart_at_slices_watches_waiters_of_the_old_log(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = fx_follow_open(*state, 2048, f);
    fx_append(log, 40, 5, 24, 1000);
    struct alog_slice old;
    assert_int_equal(alog_read(log, 60, 1 << 20, &old), 0);
    struct woke k = {0};
    struct alog_watch at_end = {.offset = 200, .fn = on_wake, .arg = &k};
    assert_int_equal(alog_watch_end(log, &at_end), 0);
    struct fx_tally t;
    fx_tally_init(&t);
    int rc = alog_wait_durable(log, 200, fx_tally_cb, &t); /* no background flushing */
    assert_true(rc == 0 || rc == 1);
    assert_int_equal(alog_restart_at(log, RESTART), 0);
    assert_int_equal(atomic_load(&k.fired), 1); /* the parked reader looks again */
    if (rc == 0) { /* the flusher made it durable first (the wait kicks it), or it is gone */
        fx_tally_wait(&t, 1);
        assert_true(t.last_err == 0 || t.last_err == KC_EOFFSET);
    }
    uint8_t buf[64];
    assert_int_equal(pread(old.fd, buf, sizeof(buf), old.pos), (ssize_t)sizeof(buf));
    alog_slice_release(&old); /* a slice of the old log stays readable until released */
    expect_empty_at(*state, log, RESTART);
    fx_append(log, 1, 5, 24, 9000);
    rc = alog_wait_durable(log, RESTART + 5, fx_tally_cb, &t);
    if (rc == 0)
        fx_tally_wait(&t, 2);
    assert_true(rc == 0 || rc == 1);
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
}

static void test_restart_at_store_log_reopens_at_new_start(void **state)
{
    struct alog_store *s = fx_store_open(*state);
    struct alog *log = fx_store_log(s, *state, 1024);
    fx_append(log, 40, 5, 24, 1000);
    assert_int_equal(alog_flush(log), 0);
    assert_int_equal(alog_store_checkpoint(s), 0); /* the lines say [0, 200) */
    char sub[4096];
    fx_path(sub, sizeof(sub), *state, "t-0");
    assert_int_equal(alog_restart_at(log, RESTART), 0);
    expect_empty_at(sub, log, RESTART);
    fx_append(log, 2, 5, 24, 5000);
    assert_int_equal(alog_store_close(s), 0);
    s = fx_store_open(*state);
    log = fx_store_log(s, *state, 1024);
    assert_int_equal(alog_start_offset(log), RESTART);
    assert_int_equal(alog_end_offset(log), RESTART + 10);
    fx_check_reads(log, RESTART, RESTART + 10);
    assert_int_equal(alog_restart_at(log, 5), KC_EOFFSET);
    assert_int_equal(alog_store_close(s), 0);
}

/* ---- kill -9 at every step of a restart ------------------------------------------------- */

struct killer {
    int at, seen;
};

static void kill_at_step(void *ctx, const char *step)
{
    struct killer *k = ctx;
    (void)step;
    if (++k->seen == k->at)
        raise(SIGKILL);
}

static int open_log(const char *dir, bool store, struct alog_store **s, struct alog **log)
{
    struct alog_config cfg;
    fx_config(&cfg, 2048);
    *s = NULL;
    if (!store)
        return alog_open(log, dir, &cfg, NULL);
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.cleaner_threads = 0;
    char sub[4200];
    snprintf(sub, sizeof(sub), "%s/t-0", dir);
    int rc = kc_mkdir_p(sub, 0755);
    if (rc == 0)
        rc = alog_store_open(s, dir, &sc);
    return rc ? rc : alog_store_add(*s, "t-0", &cfg, log);
}

/* In the child: a durable log of 200 offsets, then a restart at RESTART killed at its
 * k-th step. Exit 0 when the restart finished (no step k). */
static void crash_child(const char *dir, bool store, int k)
{
    struct alog_store *s;
    struct alog *log;
    if (open_log(dir, store, &s, &log))
        _exit(2);
    for (int64_t off = 0; off < 200; off += 5) {
        size_t len;
        int64_t base;
        uint8_t *b = fx_batch(off, 5, 24, 1000 + off, &len);
        if (alog_append(log, b, len, &base) || base != off)
            _exit(3);
        free(b);
    }
    if (alog_flush(log) || (s && alog_store_checkpoint(s)))
        _exit(4);
    struct killer kl = {.at = k};
    struct alog_io io = {.truncate_step = kill_at_step, .ctx = &kl};
    alog__set_io(log, &io);
    if (alog_restart_at(log, RESTART))
        _exit(5);
    _exit(0); /* after the commit, without a close: a crash too */
}

/* After the crash: the empty new log at RESTART. Every step comes after the write that
 * decides (the first, "start", follows it), so no crash point may give back the old log;
 * a failure before that write changes nothing (test_restart_at_edges_refused_or_defined). */
static void crash_check(const char *dir, bool store)
{
    struct alog_store *s;
    struct alog *log;
    assert_int_equal(open_log(dir, store, &s, &log), 0);
    char sub[4096];
    fx_path(sub, sizeof(sub), dir, "t-0");
    if (alog_start_offset(log) != RESTART || alog_end_offset(log) != RESTART)
        fail_msg("[%lld, %lld) after the crash: not the new log",
                 (long long)alog_start_offset(log), (long long)alog_end_offset(log));
    expect_empty_at(store ? sub : dir, log, RESTART);
    fx_append(log, 2, 5, 24, 5000); /* and it goes on */
    assert_int_equal(alog_end_offset(log), RESTART + 10);
    fx_check_reads(log, RESTART, RESTART + 10);
    if (store)
        assert_int_equal(alog_store_close(s), 0);
    else
        assert_int_equal(alog_close(log), 0);
}

static void crash_every_step(const char *root, bool store)
{
    for (int k = 1; k < 32; k++) {
        char dir[4096], name[32];
        snprintf(name, sizeof(name), "k%d", k);
        fx_path(dir, sizeof(dir), root, name);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            crash_child(dir, store, k);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        bool killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        if (!killed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            fail_msg("child for step %d: status %d", k, st);
        crash_check(dir, store);
        if (!killed) {
            assert_true(k > 5); /* every step was reached before */
            return;
        }
    }
    fail_msg("the restart never finished");
}

static void test_restart_at_kill9_every_step_old_or_new(void **state)
{
    crash_every_step(*state, false);
}

static void test_restart_at_store_kill9_every_step_old_or_new(void **state)
{
    crash_every_step(*state, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_restart_at_then_append_gives_base_and_reopens),
        T(test_restart_at_edges_refused_or_defined),
        T(test_restart_at_slices_watches_waiters_of_the_old_log),
        T(test_restart_at_store_log_reopens_at_new_start),
        T(test_restart_at_kill9_every_step_old_or_new),
        T(test_restart_at_store_kill9_every_step_old_or_new),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
