/*
 * test_crashloop.c - the crash loop's short form (CI): a few kill -9 cycles in each mode,
 * plus proof that the checker catches what it claims to catch.
 *
 *   acks=all, kill -9            every acknowledged record and commit survives
 *   acks=all, kill -9 + power cut   ... even when what was never fsynced is lost
 *   acks=1,   kill -9 + power cut   only never-fsynced tails may go; no holes, no dups
 *   sabotage                     a log cut below what was fsynced (a disk that lies):
 *                                the checker must report LOST - a checker that cannot
 *                                fail proves nothing
 *
 * The long form is `make crashloop CYCLES=100` (kafka_crashloop). Seeds come from
 * kc_test_seed (printed; replay with KC_TEST_SEED=<seed>).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "rel_crash.h"

static char shim[1024];

static void opts_for(struct rel_crash_opts *o, const char *dir, int acks, bool powercut)
{
    const char *bin = getenv("KC_BIN_DIR"), *lib = getenv("KC_LIB_DIR");
    rel_crash_opts_default(o);
    snprintf(shim, sizeof(shim), "%s/libkc_fault.so", lib && *lib ? lib : "build/lib");
    o->bin_dir = bin && *bin ? bin : "build/bin";
    o->shim = shim;
    o->dir = dir;
    o->cycles = 4;
    o->acks = acks;
    o->powercut = powercut;
    o->seed = kc_test_seed();
    o->records_per_cycle = 1500;
    o->out = stdout;
}

static void run_mode(int acks, bool powercut)
{
    struct rel_crash_opts o;
    struct rel_crash_result r;
    char *dir = kc_test_tmpdir();
    opts_for(&o, dir, acks, powercut);
    int rc = rel_crash_run(&o, &r);
    rel_crash_print(stdout, &o, &r);
    if (rc)
        fail_msg("crash loop failed: %s (broker log and data in %s)", r.error, dir);
    assert_int_equal(r.cycles, o.cycles);
    assert_true(r.acked > 0 && r.checked >= r.acked - r.lost_unsynced);
    assert_int_equal(r.lost, 0);
    assert_int_equal(r.duplicates + r.out_of_order + r.corrupt + r.holes + r.errors, 0);
    assert_int_equal(r.commits_lost, 0);
    assert_true(r.commits_checked > 0);
    if (acks == -1 || !powercut)
        assert_int_equal(r.lost_unsynced, 0);
    kc_test_rmdir(dir);
}

static void test_crashloop_acks_all_kill9_loses_nothing(void **state)
{
    (void)state;
    run_mode(-1, false);
}

static void test_crashloop_acks_all_powercut_loses_nothing(void **state)
{
    (void)state;
    run_mode(-1, true);
}

static void test_crashloop_acks1_powercut_loses_only_unsynced_tails(void **state)
{
    (void)state;
    run_mode(1, true);
}

/* A run whose disk loses an acknowledged tail behind the broker's back must fail, with
 * the loss counted and named: a checker that cannot fail proves nothing. */
static void test_crashloop_checker_reports_a_lying_disk(void **state)
{
    (void)state;
    struct rel_crash_opts o;
    struct rel_crash_result r;
    char *dir = kc_test_tmpdir();
    opts_for(&o, dir, -1, false);
    o.cycles = 2;
    o.recovery_kill_pct = 0;
    o.kill_min_ms = 300; /* enough acknowledged records in partition 0 to lose */
    o.kill_max_ms = 500;
    o.sabotage = true;
    int rc = rel_crash_run(&o, &r);
    printf("# sabotaged run: %s; lost %llu\n", r.error, (unsigned long long)r.lost);
    assert_int_equal(rc, KC_ECORRUPT);
    assert_true(r.lost > 0);
    assert_non_null(strstr(r.error, "LOST"));
    kc_test_rmdir(dir);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crashloop_acks_all_kill9_loses_nothing),
        cmocka_unit_test(test_crashloop_acks_all_powercut_loses_nothing),
        cmocka_unit_test(test_crashloop_acks1_powercut_loses_only_unsynced_tails),
        cmocka_unit_test(test_crashloop_checker_reports_a_lying_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
