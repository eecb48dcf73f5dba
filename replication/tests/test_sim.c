/* test_sim.c - whole-cluster scenarios, scripted: KIP-101 under both rules, a divergent
 * tail cut by each truncation path, a zombie leader, controlled shutdown and balancing,
 * min.insync.replicas, and the controller's journal replayed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "repl_sim.h"

static void start(struct repl_sim *s, int nodes, int min_isr, int truncation, bool legacy)
{
    struct repl_sim_config cfg = {.nodes = nodes,
                                  .truncation = truncation,
                                  .max_fetch = 100,
                                  .legacy_hw_truncation = legacy,
                                  .seed = 7};
    cfg.replica.lag_time_max_ms = 100;
    cfg.replica.min_insync = min_isr;
    assert_int_equal(repl_sim_init(s, &cfg), 0);
    assert_int_equal(repl_sim_check(s), 0);
}

static int32_t leader(struct repl_sim *s)
{
    int32_t l = repl_sim_leader(s);
    assert_true(l >= 1);
    return l;
}

/* The followers in assignment order (the order elections try them). */
static void followers(struct repl_sim *s, int32_t *out)
{
    const struct repl_pstate *ps = repl_ctl_partition(&s->ctl, REPL_SIM_TOPIC, 0);
    int n = 0;
    for (int i = 0; i < ps->nreplicas; i++)
        if (ps->replicas[i] != ps->leader)
            out[n++] = ps->replicas[i];
}

static void step(int rc)
{
    assert_true(rc >= 0);
}

/* The followers fetch (twice: the first may be an OffsetForLeaderEpoch round), fsync, and
 * fetch again: everything is committed and acknowledged, and the followers' HWs still lag
 * (they learn the HW their last fetch moved on their next one). */
static void replicate(struct repl_sim *s, const int32_t *f, int n)
{
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n; i++)
            step(repl_sim_fetch(s, f[i]));
    for (int i = 0; i < n; i++)
        step(repl_sim_fsync(s, f[i]));
    for (int i = 0; i < n; i++)
        step(repl_sim_fetch(s, f[i]));
}

/*
 * KIP-101 with three replicas: m0 and m1 are acknowledged, and the followers' HWs lag the
 * leader's by one fetch (0, not 2). The leader dies; f1 leads; f2 becomes its follower.
 * Then f1 dies before f2 refetched, and f2 leads. Returns what the checker said.
 */
static int kip101(bool legacy)
{
    struct repl_sim s;
    start(&s, 3, 2, 0, legacy);
    int32_t l = leader(&s), f[2];
    followers(&s, f);
    int64_t base;
    assert_int_equal(repl_sim_produce(&s, l, -1, 2, &base), 0);
    step(repl_sim_fsync(&s, l));
    replicate(&s, f, 2);
    assert_int_equal(s.st.acked_all, 1); /* the batch m0, m1 */
    assert_int_equal(repl_sim_node(&s, l)->rp.hw, 2);
    assert_int_equal(repl_sim_node(&s, f[0])->rp.hw, 0);
    assert_int_equal(repl_sim_node(&s, f[1])->rp.hw, 0);
    step(repl_sim_crash(&s, l));
    step(repl_sim_expire(&s, l));
    assert_int_equal(repl_sim_leader(&s), f[0]);
    step(repl_sim_sync(&s, f[0]));
    step(repl_sim_sync(&s, f[1])); /* the old rule truncates here, to the HW: 0 */
    step(repl_sim_crash(&s, f[0]));
    step(repl_sim_expire(&s, f[0]));
    assert_int_equal(repl_sim_leader(&s), f[1]);
    step(repl_sim_sync(&s, f[1]));
    int rc = repl_sim_check(&s);
    if (rc == 0)
        rc = repl_sim_settle(&s, 50);
    if (!legacy) {
        assert_int_equal(repl_sim_node(&s, f[1])->rp.leo, 2);
        assert_int_equal(s.st.truncated, 0);
    } else {
        printf("# the checker: %s\n", repl_check_why(&s.check));
        assert_memory_equal(repl_check_why(&s.check), "I4", 2); /* f2 leads without them */
        assert_int_equal(repl_sim_node(&s, f[1])->rp.leo, 0);
    }
    repl_sim_fini(&s);
    return rc;
}

static void test_sim_kip101_old_rule_loses_acknowledged_record(void **state)
{
    (void)state;
    assert_int_equal(kip101(true), KC_ECORRUPT); /* the checker catches the loss */
}

static void test_sim_kip101_epoch_rule_keeps_it(void **state)
{
    (void)state;
    assert_int_equal(kip101(false), 0);
}

/* The leader writes records nobody copies (acks=1), fsyncs them, and dies; the new leader
 * writes others at the same offsets; the old leader comes back and must cut its tail. */
static void divergent_tail(int truncation)
{
    struct repl_sim s;
    start(&s, 3, 1, truncation, false);
    int32_t l = leader(&s), f[2];
    followers(&s, f);
    int64_t base;
    assert_int_equal(repl_sim_produce(&s, l, -1, 3, &base), 0);
    step(repl_sim_fsync(&s, l));
    replicate(&s, f, 2);
    assert_int_equal(repl_sim_produce(&s, l, 1, 4, &base), 0); /* offsets 3..6, only on l */
    step(repl_sim_fsync(&s, l));
    step(repl_sim_crash(&s, l));
    step(repl_sim_expire(&s, l));
    for (int i = 0; i < 2; i++)
        step(repl_sim_sync(&s, f[i]));
    int32_t nl = leader(&s);
    assert_int_equal(repl_sim_produce(&s, nl, 1, 2, &base), 0); /* offsets 3, 4 again */
    assert_int_equal(base, 3);
    step(repl_sim_restart(&s, l)); /* 7 records on disk, 4 of them nobody else has */
    assert_int_equal(repl_sim_node(&s, l)->rp.leo, 7);
    assert_int_equal(repl_sim_check(&s), 0);
    step(repl_sim_fetch(&s, l));
    step(repl_sim_fetch(&s, l));
    assert_int_equal(s.st.truncations, 1);
    assert_int_equal(s.st.truncated, 4);
    assert_int_equal(repl_sim_node(&s, l)->rp.leo, 5); /* cut to 3, then fetched 3 and 4 */
    assert_int_equal(repl_sim_node(&s, l)->log[4].id, repl_sim_node(&s, nl)->log[4].id);
    assert_int_equal(repl_sim_settle(&s, 50), 0);
    repl_sim_fini(&s);
}

static void test_sim_divergent_tail_cut_by_offset_for_leader_epoch(void **state)
{
    (void)state;
    divergent_tail(0);
}

static void test_sim_divergent_tail_cut_by_fetch_diverging_epoch(void **state)
{
    (void)state;
    divergent_tail(1);
}

/*
 * Why a follower may join the ISR only once it holds the leader's epoch start: after an
 * election the new leader's HW lags (it learnt it one fetch late), and records between its
 * HW and its LEO may already be acknowledged. A follower past the HW but short of the LEO
 * must not become electable before it has them.
 *
 *   four nodes: l leads, ISR {l, n, x}; f is down (out of the ISR)
 *   4 records acknowledged by l, n and x; n's and x's HWs still say 0
 *   l dies: n leads, HW 0 (x has not fetched from it yet), epoch start 4
 *   f returns and fetches 2 records: past the HW, short of the epoch start
 *   x and n die: only f could lead - if it had been let into the ISR
 */
static void test_sim_epoch_start_rule_keeps_short_follower_out(void **state)
{
    (void)state;
    struct repl_sim s;
    struct repl_sim_config cfg = {.nodes = 4, .truncation = 1, .max_fetch = 2, .seed = 7};
    cfg.replica.lag_time_max_ms = 100;
    cfg.replica.min_insync = 1;
    assert_int_equal(repl_sim_init(&s, &cfg), 0);
    int32_t l = leader(&s), f3[3];
    followers(&s, f3);
    int32_t fl = f3[2];
    step(repl_sim_crash(&s, fl));
    step(repl_sim_expire(&s, fl));
    step(repl_sim_sync(&s, l)); /* the leader hears the ISR is {l, n, x} */
    int64_t base;
    assert_int_equal(repl_sim_produce(&s, l, -1, 4, &base), 0);
    step(repl_sim_fsync(&s, l));
    replicate(&s, f3, 2); /* 2 records per fetch: two fetches bring all 4 */
    assert_int_equal(s.st.acked_all, 1);
    step(repl_sim_crash(&s, l));
    step(repl_sim_expire(&s, l));
    int32_t n = leader(&s), x = n == f3[0] ? f3[1] : f3[0];
    step(repl_sim_sync(&s, n));
    assert_int_equal(repl_sim_node(&s, n)->rp.hw, 0);
    assert_int_equal(repl_sim_node(&s, n)->rp.epoch_start, 4);
    step(repl_sim_restart(&s, fl));
    step(repl_sim_fetch(&s, fl)); /* records 0, 1 */
    step(repl_sim_fsync(&s, fl));
    step(repl_sim_fetch(&s, fl)); /* reports 2 on disk: >= HW 0, < epoch start 4 */
    step(repl_sim_submit(&s, n));
    assert_false(repl_pstate_in_isr(repl_ctl_partition(&s.ctl, REPL_SIM_TOPIC, 0), fl));
    step(repl_sim_crash(&s, x));
    step(repl_sim_expire(&s, x));
    step(repl_sim_crash(&s, n));
    step(repl_sim_expire(&s, n));
    assert_int_equal(repl_sim_leader(&s), REPL_NO_LEADER); /* offline, not wrong */
    assert_int_equal(repl_sim_check(&s), 0);
    assert_int_equal(repl_sim_settle(&s, 50), 0);
    repl_sim_fini(&s);
}

static void test_sim_zombie_leader_fenced_and_truncated(void **state)
{
    (void)state;
    struct repl_sim s;
    start(&s, 3, 2, 1, false);
    int32_t l = leader(&s), f[2];
    followers(&s, f);
    int64_t base;
    assert_int_equal(repl_sim_produce(&s, l, -1, 2, &base), 0);
    step(repl_sim_fsync(&s, l));
    replicate(&s, f, 2);
    /* l's session expires while it runs; it has not heard, and takes more writes. */
    step(repl_sim_expire(&s, l));
    step(repl_sim_sync(&s, f[0]));
    step(repl_sim_sync(&s, f[1]));
    assert_int_equal(repl_sim_produce(&s, l, -1, 3, &base), 0);
    step(repl_sim_fsync(&s, l));
    /* Its old followers now fetch with the new epoch: it answers UNKNOWN_LEADER_EPOCH. */
    assert_int_equal(repl_sim_fetch(&s, f[0]), 0); /* f[0] leads now: nothing to fetch */
    assert_int_equal(repl_sim_node(&s, f[0])->rp.role, REPL_ROLE_LEADER);
    assert_int_equal(s.st.acked_all, 1); /* the zombie's writes are never acknowledged */
    assert_int_equal(repl_sim_check(&s), 0);
    /* It re-registers, hears, follows, and its zombie writes are cut away. */
    step(repl_sim_register(&s, l));
    assert_int_equal(s.st.failed_all, 1);
    assert_int_equal(repl_sim_settle(&s, 50), 0);
    assert_int_equal(repl_sim_node(&s, l)->rp.leo, 2);
    repl_sim_fini(&s);
}

static void test_sim_controlled_shutdown_then_preferred_leader(void **state)
{
    (void)state;
    struct repl_sim s;
    start(&s, 3, 2, 2, false);
    int32_t l = leader(&s), f[2];
    followers(&s, f);
    int64_t base;
    assert_int_equal(repl_sim_produce(&s, l, -1, 5, &base), 0);
    step(repl_sim_fsync(&s, l));
    replicate(&s, f, 2);
    step(repl_sim_shutdown(&s, l));
    assert_int_equal(repl_sim_leader(&s), f[0]);
    assert_false(repl_sim_node(&s, l)->up);
    assert_int_equal(repl_sim_produce(&s, f[0], -1, 1, &base), 0);
    step(repl_sim_fsync(&s, f[0]));
    replicate(&s, &f[1], 1);
    assert_int_equal(s.st.acked_all, 2);
    assert_int_equal(repl_sim_settle(&s, 50), 0); /* l returns and catches up */
    step(repl_sim_preferred(&s));
    assert_int_equal(repl_sim_leader(&s), l);
    assert_int_equal(repl_sim_settle(&s, 50), 0);
    repl_sim_fini(&s);
}

static void test_sim_min_isr_refuses_acks_all(void **state)
{
    (void)state;
    struct repl_sim s;
    start(&s, 3, 2, 2, false);
    int32_t l = leader(&s), f[2];
    followers(&s, f);
    int64_t base;
    for (int i = 0; i < 2; i++) {
        step(repl_sim_crash(&s, f[i]));
        step(repl_sim_expire(&s, f[i]));
    }
    step(repl_sim_sync(&s, l));
    assert_int_equal(repl_sim_node(&s, l)->rp.ps.nisr, 1);
    assert_int_equal(repl_sim_produce(&s, l, -1, 1, &base), REPL_NOT_ENOUGH_REPLICAS);
    assert_int_equal(repl_sim_produce(&s, l, 1, 1, &base), 0);
    assert_int_equal(s.st.refused, 1);
    repl_sim_fini(&s);
}

static void test_sim_journal_replays_to_same_controller(void **state)
{
    (void)state;
    struct repl_sim s;
    start(&s, 4, 1, 2, false);
    int32_t l = leader(&s);
    step(repl_sim_crash(&s, l));
    step(repl_sim_expire(&s, l));
    step(repl_sim_restart(&s, l));
    step(repl_sim_shutdown(&s, leader(&s)));
    step(repl_sim_settle(&s, 50));
    step(repl_sim_preferred(&s));
    struct repl_ctl copy;
    repl_ctl_init(&copy, &s.ctl.cfg);
    for (size_t i = 0; i < s.journal.n; i++)
        assert_int_equal(repl_ctl_replay(&copy, &s.journal.v[i]), 0);
    assert_true(repl_ctl_equal(&copy, &s.ctl));
    repl_ctl_fini(&copy);
    repl_sim_fini(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_kip101_old_rule_loses_acknowledged_record),
        cmocka_unit_test(test_sim_kip101_epoch_rule_keeps_it),
        cmocka_unit_test(test_sim_divergent_tail_cut_by_offset_for_leader_epoch),
        cmocka_unit_test(test_sim_divergent_tail_cut_by_fetch_diverging_epoch),
        cmocka_unit_test(test_sim_epoch_start_rule_keeps_short_follower_out),
        cmocka_unit_test(test_sim_zombie_leader_fenced_and_truncated),
        cmocka_unit_test(test_sim_controlled_shutdown_then_preferred_leader),
        cmocka_unit_test(test_sim_min_isr_refuses_acks_all),
        cmocka_unit_test(test_sim_journal_replays_to_same_controller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
