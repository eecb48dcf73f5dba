/* test_replica.c - a replica's life: partition states (role changes and their fencing),
 * appends, fsyncs, truncations, and loading after recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "kc_common.h"
#include "kc_test.h"
#include "repl_replica.h"
#include "support/repl_fixture.h"

static void init(struct repl_replica *rp, int32_t self)
{
    struct repl_config cfg;
    repl_config_default(&cfg);
    assert_int_equal(cfg.lag_time_max_ms, 30000);
    assert_int_equal(cfg.min_insync, 1);
    repl_replica_init(rp, self, &cfg);
}

static void test_replica_apply_leader_assigns_epoch_at_leo(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 1);
    assert_int_equal(repl_epoch_cache_assign(&rp.epochs, 0, 0), 1);
    assert_int_equal(repl_replica_load(&rp, 0, 7, 7), 0);
    struct repl_pstate ps = fx_pstate(1, 4, 0, 3, FX_ISR(1, 2, 3));
    assert_int_equal(repl_replica_apply(&rp, &ps, 10), 0);
    assert_int_equal(rp.role, REPL_ROLE_LEADER);
    assert_int_equal(repl_replica_fx(&rp), REPL_FX_EPOCHS | REPL_FX_ROLE);
    assert_int_equal(repl_epoch_cache_latest(&rp.epochs), 4);
    assert_int_equal(rp.epochs.v[1].start_offset, 7);
    assert_int_equal(rp.epoch_start, 7);
    assert_int_equal(rp.npeers, 2);
    assert_int_equal(rp.peers[0].leo, -1);
    assert_int_equal(rp.peers[0].last_caught_up_ms, 10); /* in the ISR: caught up "now" */
    repl_replica_fini(&rp);
}

static void test_replica_apply_follower_truncating_until_reconciled(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 2);
    struct repl_pstate ps = fx_pstate(1, 4, 0, 3, FX_ISR(1, 2, 3));
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(rp.role, REPL_ROLE_FOLLOWER);
    assert_true(rp.truncating);
    assert_int_equal(repl_replica_fx(&rp), REPL_FX_ROLE);
    assert_int_equal(rp.epochs.n, 0); /* a follower assigns nothing until it appends */
    repl_replica_fini(&rp);
}

static void test_replica_apply_stale_states_refused(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 2);
    struct repl_pstate ps = fx_pstate(1, 4, 3, 3, FX_ISR(1, 2, 3));
    ps.controller_epoch = 5;
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    struct repl_pstate old = ps;
    old.controller_epoch = 4; /* a zombie controller */
    old.leader_epoch = 9;
    assert_int_equal(repl_replica_apply(&rp, &old, 0), REPL_STALE_CONTROLLER_EPOCH);
    old = ps;
    old.leader_epoch = 3;
    assert_int_equal(repl_replica_apply(&rp, &old, 0), REPL_FENCED_LEADER_EPOCH);
    old = ps;
    old.partition_epoch = 2;
    assert_int_equal(repl_replica_apply(&rp, &old, 0), REPL_INVALID_UPDATE_VERSION);
    old = ps;
    old.partition_epoch = 4;
    old.leader = 3; /* another leader in the same epoch */
    assert_int_equal(repl_replica_apply(&rp, &old, 0), REPL_FENCED_LEADER_EPOCH);
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0); /* the same state: a no-op */
    assert_int_equal(rp.ps.leader, 1);
    assert_int_equal(rp.ps.partition_epoch, 3);
    repl_replica_fini(&rp);
}

static void test_replica_apply_malformed_state_einval(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 2);
    struct repl_pstate ps = fx_pstate(1, 4, 0, 3, FX_ISR(1, 2));
    struct repl_pstate bad = ps;
    bad.leader = 3; /* not in the ISR */
    assert_int_equal(repl_replica_apply(&rp, &bad, 0), -EINVAL);
    bad = ps;
    bad.isr[1] = 1; /* twice */
    assert_int_equal(repl_replica_apply(&rp, &bad, 0), -EINVAL);
    bad = ps;
    bad.isr[1] = 7; /* not a replica */
    assert_int_equal(repl_replica_apply(&rp, &bad, 0), -EINVAL);
    bad = ps;
    bad.nisr = 0;
    assert_int_equal(repl_replica_apply(&rp, &bad, 0), -EINVAL);
    bad = ps;
    bad.nreplicas = REPL_MAX_REPLICAS + 1;
    assert_int_equal(repl_replica_apply(&rp, &bad, 0), -EINVAL);
    assert_int_equal(rp.role, REPL_ROLE_NONE);
    repl_replica_fini(&rp);
}

static void test_replica_apply_offline_and_removed_role_none(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 2);
    struct repl_pstate ps = fx_pstate(REPL_NO_LEADER, 4, 0, 3, FX_ISR(1));
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(rp.role, REPL_ROLE_NONE);
    assert_int_equal(repl_follower_next(&rp, true), REPL_NEXT_IDLE);
    ps = fx_pstate(1, 5, 1, 1, FX_ISR(1)); /* replicas {1}: no longer ours */
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(rp.role, REPL_ROLE_NONE);
    repl_replica_fini(&rp);
}

static void test_replica_check_batch_rules(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 2);
    struct repl_pstate ps = fx_pstate(1, 4, 0, 3, FX_ISR(1, 2, 3));
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(repl_replica_appended(&rp, &(struct repl_batch){0, 3, 2}), 0);
    assert_true(repl_replica_fx(&rp) & REPL_FX_EPOCHS);
    assert_int_equal(repl_replica_appended(&rp, &(struct repl_batch){3, 2, 2}), 0);
    assert_int_equal(repl_replica_fx(&rp), 0); /* same epoch: nothing new to checkpoint */
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){4, 1, 2}), KC_EOFFSET);
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){6, 1, 2}), KC_EOFFSET);
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){5, 0, 2}), KC_EMALFORMED);
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){5, 1, 1}), KC_EMALFORMED);
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){5, 1, 5}), KC_EMALFORMED);
    assert_int_equal(repl_replica_appended(&rp, &(struct repl_batch){5, 1, 5}), KC_EMALFORMED);
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){5, 1, 4}), 0);
    assert_int_equal(rp.leo, 5);
    /* A leader writes only its own epoch. */
    ps = fx_pstate(2, 6, 1, 3, FX_ISR(1, 2, 3));
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){5, 1, 4}), KC_EMALFORMED);
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){5, 1, 6}), 0);
    /* It leads epoch 6 and writes nothing; then follows 3 in epoch 7, whose log has epoch
     * 4's records at 5 (uncommitted when 2 was elected, kept by 3): our empty epoch 6 is
     * no history of ours and gives way, as Kafka's cache lets it. One holding a record
     * does not. */
    ps = fx_pstate(3, 7, 2, 3, FX_ISR(2, 3));
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(repl_epoch_cache_latest(&rp.epochs), 6);
    assert_int_equal(repl_replica_appended(&rp, &(struct repl_batch){5, 1, 4}), 0);
    assert_int_equal(repl_epoch_cache_latest(&rp.epochs), 4);
    assert_int_equal(repl_replica_appended(&rp, &(struct repl_batch){6, 1, 7}), 0);
    assert_int_equal(repl_replica_check_batch(&rp, &(struct repl_batch){7, 1, 4}), KC_EMALFORMED);
    repl_replica_fini(&rp);
}

static void test_replica_truncated_moves_everything_back(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 2);
    assert_int_equal(repl_epoch_cache_assign(&rp.epochs, 1, 0), 1);
    assert_int_equal(repl_epoch_cache_assign(&rp.epochs, 3, 6), 1);
    assert_int_equal(repl_replica_load(&rp, 0, 9, 5), 0);
    assert_int_equal(repl_replica_truncated(&rp, 12), 0); /* beyond the end: nothing */
    assert_int_equal(rp.leo, 9);
    assert_int_equal(repl_replica_truncated(&rp, 6), 0);
    assert_int_equal(rp.leo, 6);
    assert_int_equal(rp.durable, 6);
    assert_int_equal(rp.hw, 5);
    assert_int_equal(rp.epochs.n, 1); /* epoch 3 started at 6: gone */
    assert_true(repl_replica_fx(&rp) & REPL_FX_EPOCHS);
    assert_int_equal(repl_replica_truncated(&rp, 4), 0); /* below the HW: unclean only */
    assert_int_equal(rp.hw, 4);
    assert_int_equal(repl_replica_log_start(&rp, 2), 0);
    assert_int_equal(repl_replica_truncated(&rp, 1), -EINVAL);
    assert_int_equal(rp.epochs.v[0].start_offset, 2);
    (void)repl_replica_fx(&rp);
    repl_replica_restarted_at(&rp, 50);
    assert_int_equal(rp.log_start, 50);
    assert_int_equal(rp.leo, 50);
    assert_int_equal(rp.durable, 50); /* the empty log is on disk: it may fetch at once */
    assert_int_equal(rp.hw, 50);
    assert_int_equal(rp.epochs.n, 0);
    assert_true(repl_replica_fx(&rp) & REPL_FX_EPOCHS); /* the epoch checkpoint: emptied */
    repl_replica_fini(&rp);
}

static void test_replica_durable_capped_and_monotonic(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 2);
    assert_int_equal(repl_replica_load(&rp, 0, 4, 0), 0);
    assert_int_equal(rp.durable, 4); /* a recovered log is all on disk */
    struct repl_pstate ps = fx_pstate(1, 0, 0, 2, FX_ISR(1, 2));
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(repl_replica_appended(&rp, &(struct repl_batch){4, 4, 0}), 0);
    repl_replica_durable(&rp, 100);
    assert_int_equal(rp.durable, 8);
    repl_replica_durable(&rp, 5);
    assert_int_equal(rp.durable, 8);
    repl_replica_fini(&rp);
}

static void test_replica_load_clamps_hw_and_epochs(void **state)
{
    (void)state;
    struct repl_replica rp;
    init(&rp, 1);
    assert_int_equal(repl_epoch_cache_assign(&rp.epochs, 0, 0), 1);
    assert_int_equal(repl_epoch_cache_assign(&rp.epochs, 2, 10), 1); /* data lost in a crash */
    assert_int_equal(repl_replica_load(&rp, 3, 8, 99), 0);
    assert_int_equal(rp.hw, 8);
    assert_int_equal(rp.epochs.n, 1);
    assert_int_equal(rp.epochs.v[0].start_offset, 3);
    assert_true(repl_replica_fx(&rp) & REPL_FX_EPOCHS);
    assert_int_equal(repl_replica_load(&rp, 3, 8, 1), 0);
    assert_int_equal(rp.hw, 3);
    assert_int_equal(repl_replica_load(&rp, 9, 8, 1), -EINVAL);
    /* An epoch starting at the log end (a leader that wrote nothing) stays; past it goes. */
    assert_int_equal(repl_epoch_cache_assign(&rp.epochs, 4, 8), 1);
    assert_int_equal(repl_epoch_cache_assign(&rp.epochs, 5, 9), 1);
    assert_int_equal(repl_replica_load(&rp, 3, 8, 8), 0);
    assert_int_equal(rp.epochs.n, 2);
    assert_int_equal(repl_epoch_cache_latest(&rp.epochs), 4);
    assert_int_equal(rp.epochs.v[1].start_offset, 8);
    repl_replica_fini(&rp);
}

static void test_replica_names_kafka_codes(void **state)
{
    (void)state;
    assert_string_equal(repl_kerr_name(REPL_NOT_LEADER_OR_FOLLOWER), "NOT_LEADER_OR_FOLLOWER");
    assert_int_equal(REPL_FENCED_LEADER_EPOCH, 74); /* the numbers are Kafka's wire codes */
    assert_int_equal(REPL_NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20);
    assert_int_equal(REPL_INVALID_UPDATE_VERSION, 95);
    assert_string_equal(repl_kerr_name(REPL_NONE), "NONE");
    assert_string_equal(repl_kerr_name(4242), "UNKNOWN");
    assert_string_equal(repl_role_name(REPL_ROLE_FOLLOWER), "follower");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replica_names_kafka_codes),
        cmocka_unit_test(test_replica_apply_leader_assigns_epoch_at_leo),
        cmocka_unit_test(test_replica_apply_follower_truncating_until_reconciled),
        cmocka_unit_test(test_replica_apply_stale_states_refused),
        cmocka_unit_test(test_replica_apply_malformed_state_einval),
        cmocka_unit_test(test_replica_apply_offline_and_removed_role_none),
        cmocka_unit_test(test_replica_check_batch_rules),
        cmocka_unit_test(test_replica_truncated_moves_everything_back),
        cmocka_unit_test(test_replica_durable_capped_and_monotonic),
        cmocka_unit_test(test_replica_load_clamps_hw_and_epochs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
