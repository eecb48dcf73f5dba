/* test_follower.c - the follower: what it sends, where it truncates (never to the HW), and
 * how it takes the leader's HW. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kc_test.h"
#include "repl_replica.h"
#include "support/repl_fixture.h"

/* Follower 2 of leader 1 (epoch `epoch`), whose log holds `n` epochs entries and ends at
 * leo, HW hw. */
static void follower(struct repl_replica *rp, int32_t epoch, const struct repl_epoch_entry *v,
                     size_t n, int64_t leo, int64_t hw)
{
    struct repl_config cfg = {.lag_time_max_ms = 100, .min_insync = 1};
    repl_replica_init(rp, 2, &cfg);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(repl_epoch_cache_assign(&rp->epochs, v[i].epoch, v[i].start_offset), 1);
    assert_int_equal(repl_replica_load(rp, v[0].start_offset, leo, hw), 0);
    struct repl_pstate ps = fx_pstate(1, epoch, 0, 3, FX_ISR(1, 2, 3));
    assert_int_equal(repl_replica_apply(rp, &ps, 0), 0);
    assert_true(rp->truncating);
    (void)repl_replica_fx(rp);
}

#define FOLLOWER(rp, epoch, leo, hw, ...)                                                          \
    do {                                                                                           \
        const struct repl_epoch_entry v_[] = {__VA_ARGS__};                                        \
        follower((rp), (epoch), v_, sizeof(v_) / sizeof(v_[0]), (leo), (hw));                      \
    } while (0)

static void assert_decision(const struct repl_decision *d, enum repl_do what, int64_t offset)
{
    assert_int_equal(d->what, what);
    if (what == REPL_DO_TRUNCATE || what == REPL_DO_RESTART_AT)
        assert_int_equal(d->offset, offset);
}

static void epoch_end(struct repl_replica *rp, int32_t epoch, int64_t end, enum repl_do what,
                      int64_t offset, bool done)
{
    struct repl_decision d;
    struct repl_epoch_end ans = {epoch, end};
    assert_int_equal(repl_follower_on_epoch_end(rp, REPL_NONE, &ans, &d), 0);
    assert_decision(&d, what, offset);
    assert_int_equal(rp->truncating, !done);
    if (what == REPL_DO_TRUNCATE)
        assert_int_equal(repl_replica_truncated(rp, d.offset), 0);
}

/* A former leader that wrote nothing in its epoch 3 (loaded from leader-epoch-checkpoint:
 * 3 starts at its log end, 8) follows a leader that never had epoch 3. The leader's answer
 * cuts no record, but epoch 3 goes: kept, the next fetch would ask about it forever. */
static void test_follower_epoch_at_log_end_unknown_to_leader_dropped(void **state)
{
    (void)state;
    struct repl_replica rp;
    FOLLOWER(&rp, 5, 8, 8, {0, 0}, {2, 4}, {3, 8});
    assert_int_equal(rp.epochs.n, 3); /* load kept the epoch at the log end */
    epoch_end(&rp, 2, 8, REPL_DO_NOTHING, 0, true);
    assert_int_equal(rp.leo, 8);
    assert_int_equal(repl_epoch_cache_latest(&rp.epochs), 2);
    assert_true(repl_replica_fx(&rp) & REPL_FX_EPOCHS); /* the file is rewritten */
    struct repl_fetch_req req;
    repl_follower_fetch_req(&rp, &req);
    assert_int_equal(req.last_fetched_epoch, 2);
    /* The same through the fetch's diverging-epoch answer (Fetch v12+). */
    repl_replica_fini(&rp);
    FOLLOWER(&rp, 5, 8, 8, {0, 0}, {2, 4}, {3, 8});
    struct repl_fetch_ans ans = {.leader_epoch = 5, .fetch_offset = 8, .leo = 8, .hw = 8,
                                 .diverging = {2, 8}};
    struct repl_decision d;
    assert_int_equal(repl_follower_on_fetch(&rp, &ans, &d), 0);
    assert_decision(&d, REPL_DO_NOTHING, 0);
    assert_int_equal(repl_epoch_cache_latest(&rp.epochs), 2);
    repl_replica_fini(&rp);
}

static void test_follower_next_and_requests(void **state)
{
    (void)state;
    struct repl_replica rp;
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    assert_int_equal(repl_follower_next(&rp, false), REPL_NEXT_EPOCH_QUERY);
    assert_int_equal(repl_follower_next(&rp, true), REPL_NEXT_FETCH);
    struct repl_epoch_query q;
    repl_follower_epoch_query(&rp, &q);
    assert_int_equal(q.current_leader_epoch, 5);
    assert_int_equal(q.epoch, 2);
    struct repl_fetch_req req;
    repl_replica_durable(&rp, 9);
    repl_follower_fetch_req(&rp, &req);
    assert_int_equal(req.replica_id, 2);
    assert_int_equal(req.current_leader_epoch, 5);
    assert_int_equal(req.last_fetched_epoch, 2);
    assert_int_equal(req.fetch_offset, 9);
    assert_int_equal(req.durable_offset, 9);
    repl_replica_fini(&rp);
    /* An empty log has nothing to reconcile. */
    struct repl_config cfg = {.lag_time_max_ms = 100, .min_insync = 1};
    repl_replica_init(&rp, 2, &cfg);
    struct repl_pstate ps = fx_pstate(1, 5, 0, 3, FX_ISR(1, 2, 3));
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(repl_follower_next(&rp, false), REPL_NEXT_FETCH);
    repl_follower_fetch_req(&rp, &req);
    assert_int_equal(req.last_fetched_epoch, REPL_UNDEFINED_EPOCH);
    repl_replica_fini(&rp);
}

static void test_follower_epoch_end_known_epoch_truncates_done(void **state)
{
    (void)state;
    struct repl_replica rp;
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    epoch_end(&rp, 2, 7, REPL_DO_TRUNCATE, 7, true); /* the leader's epoch 2 ends at 7 */
    assert_int_equal(rp.leo, 7);
    assert_int_equal(rp.hw, 4); /* not to the HW: records 4..6 stay */
    repl_replica_fini(&rp);
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    epoch_end(&rp, 2, 12, REPL_DO_NOTHING, 0, true); /* the leader has more: keep all */
    assert_int_equal(repl_follower_next(&rp, false), REPL_NEXT_FETCH);
    repl_replica_fini(&rp);
}

static void test_follower_epoch_end_unknown_epoch_intermediate_then_done(void **state)
{
    (void)state;
    struct repl_replica rp;
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    /* The leader never had our epoch 2; its answer is its epoch 1, ending at 6. We never
     * had epoch 1: cut to the end of our epoch 0 and ask again. */
    epoch_end(&rp, 1, 6, REPL_DO_TRUNCATE, 5, false);
    assert_int_equal(repl_follower_next(&rp, false), REPL_NEXT_EPOCH_QUERY);
    struct repl_epoch_query q;
    repl_follower_epoch_query(&rp, &q);
    assert_int_equal(q.epoch, 0);
    epoch_end(&rp, 0, 4, REPL_DO_TRUNCATE, 4, true);
    assert_int_equal(rp.leo, 4);
    repl_replica_fini(&rp);
}

static void test_follower_epoch_end_edge_answers(void **state)
{
    (void)state;
    struct repl_replica rp;
    FOLLOWER(&rp, 5, 9, 0, {0, 0}, {2, 5});
    epoch_end(&rp, 3, 7, REPL_DO_TRUNCATE, 7, true); /* newer than all of ours */
    repl_replica_fini(&rp);
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    /* The leader cannot place our history: refetch all rather than trust the HW. */
    epoch_end(&rp, REPL_UNDEFINED_EPOCH, REPL_UNDEFINED_OFFSET, REPL_DO_TRUNCATE, 0, true);
    repl_replica_fini(&rp);
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    struct repl_decision d;
    struct repl_epoch_end ans = {0, 0};
    assert_int_equal(repl_follower_on_epoch_end(&rp, REPL_FENCED_LEADER_EPOCH, &ans, &d),
                     REPL_FENCED_LEADER_EPOCH);
    assert_decision(&d, REPL_DO_NOTHING, 0);
    assert_true(rp.truncating);
    repl_replica_fini(&rp);
}

static struct repl_fetch_ans answer(int32_t epoch, int err, int64_t fetch_offset, int64_t leo,
                                    int64_t hw)
{
    return (struct repl_fetch_ans){.error = err,
                                   .leader_epoch = epoch,
                                   .diverging = {REPL_UNDEFINED_EPOCH, REPL_UNDEFINED_OFFSET},
                                   .fetch_offset = fetch_offset,
                                   .leo = leo,
                                   .hw = hw};
}

static void test_follower_on_fetch_each_answer(void **state)
{
    (void)state;
    struct repl_replica rp;
    struct repl_decision d;
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    struct repl_fetch_ans a = answer(4, REPL_NONE, 9, 20, 15); /* for an epoch we left */
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), 0);
    assert_decision(&d, REPL_DO_NOTHING, 0);
    a = answer(5, REPL_NONE, 8, 20, 15); /* for an older request */
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), 0);
    assert_decision(&d, REPL_DO_NOTHING, 0);
    a = answer(5, REPL_UNKNOWN_LEADER_EPOCH, 9, 20, 15);
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), REPL_UNKNOWN_LEADER_EPOCH);
    assert_decision(&d, REPL_DO_NOTHING, 0);
    a = answer(5, REPL_NONE, 9, 20, 15);
    a.diverging = (struct repl_epoch_end){2, 7};
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), 0);
    assert_decision(&d, REPL_DO_TRUNCATE, 7);
    assert_false(rp.truncating);
    assert_int_equal(repl_replica_truncated(&rp, 7), 0);
    a = answer(5, REPL_NONE, 7, 20, 15);
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), 0);
    assert_int_equal(d.what, REPL_DO_APPEND);
    assert_int_equal(d.from, 7);
    assert_int_equal(d.to, 20);
    repl_replica_fini(&rp);
}

static void test_follower_on_fetch_out_of_range(void **state)
{
    (void)state;
    struct repl_replica rp;
    struct repl_decision d;
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    struct repl_fetch_ans a = answer(5, REPL_OFFSET_OUT_OF_RANGE, 9, 6, 4);
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), REPL_OFFSET_OUT_OF_RANGE);
    assert_decision(&d, REPL_DO_TRUNCATE, 6); /* ahead of the leader */
    a = answer(5, REPL_OFFSET_OUT_OF_RANGE, 9, 90, 80);
    a.log_start = 50;
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), REPL_OFFSET_OUT_OF_RANGE);
    assert_decision(&d, REPL_DO_RESTART_AT, 50); /* behind what the leader still has */
    a.log_start = 0;
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), REPL_OFFSET_OUT_OF_RANGE);
    assert_decision(&d, REPL_DO_NOTHING, 0);
    repl_replica_fini(&rp);
}

static void test_follower_hw_capped_by_leo_never_backwards(void **state)
{
    (void)state;
    struct repl_replica rp;
    FOLLOWER(&rp, 5, 9, 4, {0, 0}, {2, 5});
    repl_follower_hw(&rp, 8);
    assert_int_equal(rp.hw, 4); /* ignored while truncating */
    struct repl_decision d;
    struct repl_fetch_ans a = answer(5, REPL_NONE, 9, 9, 12);
    assert_int_equal(repl_follower_on_fetch(&rp, &a, &d), 0);
    assert_int_equal(d.what, REPL_DO_APPEND); /* nothing to append, the HW still counts */
    repl_follower_hw(&rp, 12);
    assert_int_equal(rp.hw, 9);
    assert_true(repl_replica_fx(&rp) & REPL_FX_HW);
    repl_follower_hw(&rp, 6);
    assert_int_equal(rp.hw, 9);
    repl_replica_fini(&rp);
}

/* KIP-101, at the state-machine level: B's HW lags A's by one fetch; B restarts; A dies. */
static void test_follower_restart_keeps_acknowledged_record_kip101(void **state)
{
    (void)state;
    struct repl_replica a, b;
    FOLLOWER(&b, 0, 2, 1, {0, 0}); /* B holds m0 m1 (epoch 0) but its HW says 1 */
    fx_leader(&a, 1, 2, FX_ISR(1, 2), 0, 1);
    assert_int_equal(repl_replica_appended(&a, &(struct repl_batch){0, 2, 0}), 0);
    repl_replica_durable(&a, 2);
    a.hw = 2; /* A acknowledged m1 */
    /* B restarts. Nothing at load truncates: the HW is a checkpoint, not a cut point. */
    repl_replica_fini(&b);
    FOLLOWER(&b, 0, 2, 1, {0, 0});
    assert_int_equal(b.leo, 2);
    /* A dies; B is elected (it is in the ISR) in epoch 1, with m1. */
    struct repl_pstate ps = fx_pstate(2, 1, 1, 2, FX_ISR(2));
    assert_int_equal(repl_replica_apply(&b, &ps, 0), 0);
    assert_int_equal(b.role, REPL_ROLE_LEADER);
    assert_int_equal(b.epoch_start, 2);
    /* A returns as a follower and asks about its latest epoch, 0: B's ends at 2. */
    ps.isr[1] = 1, ps.nisr = 2, ps.partition_epoch = 2;
    assert_int_equal(repl_replica_apply(&a, &ps, 0), 0);
    struct repl_epoch_query q;
    struct repl_epoch_end end;
    struct repl_decision d;
    repl_follower_epoch_query(&a, &q);
    assert_int_equal(repl_leader_epoch_end(&b, &q, &end), REPL_NONE);
    assert_int_equal(end.epoch, 0);
    assert_int_equal(end.end_offset, 2);
    assert_int_equal(repl_follower_on_epoch_end(&a, REPL_NONE, &end, &d), 0);
    assert_decision(&d, REPL_DO_NOTHING, 0); /* m1 stays everywhere */
    repl_replica_fini(&a);
    repl_replica_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follower_next_and_requests),
        cmocka_unit_test(test_follower_epoch_end_known_epoch_truncates_done),
        cmocka_unit_test(test_follower_epoch_end_unknown_epoch_intermediate_then_done),
        cmocka_unit_test(test_follower_epoch_end_edge_answers),
        cmocka_unit_test(test_follower_on_fetch_each_answer),
        cmocka_unit_test(test_follower_on_fetch_out_of_range),
        cmocka_unit_test(test_follower_hw_capped_by_leo_never_backwards),
        cmocka_unit_test(test_follower_restart_keeps_acknowledged_record_kip101),
        cmocka_unit_test(test_follower_epoch_at_log_end_unknown_to_leader_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
