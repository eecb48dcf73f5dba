/* test_leader.c - the leader: the durable-offset HW rule, ISR shrink and expand timing,
 * proposals, min.insync.replicas for acks=all, and the answers to a follower's fetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kc_test.h"
#include "repl_replica.h"
#include "support/repl_fixture.h"

static struct repl_fetch_ans fetch(struct repl_replica *rp, int32_t id, int64_t off,
                                   int64_t durable, int64_t now)
{
    struct repl_fetch_req req =
        fx_fetch(id, rp->ps.leader_epoch, rp->ps.leader_epoch, off, durable);
    struct repl_fetch_ans ans;
    assert_int_equal(repl_leader_fetch(rp, &req, now, &ans), REPL_NONE);
    assert_int_equal(ans.diverging.epoch, REPL_UNDEFINED_EPOCH);
    return ans;
}

static void test_leader_hw_counts_durable_offsets_only(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 3, FX_ISR(1, 2, 3), 5, 1);
    fx_append(&rp, 10, 0);
    /* Everyone has the records in memory, nobody on disk: nothing is committed. */
    fetch(&rp, 2, 10, 0, 1);
    fetch(&rp, 3, 10, 0, 1);
    assert_int_equal(rp.hw, 0);
    repl_replica_durable(&rp, 10); /* the leader's fsync */
    assert_int_equal(rp.hw, 0);
    fetch(&rp, 2, 10, 7, 2);
    assert_int_equal(rp.hw, 0); /* 3 has nothing on disk yet */
    assert_int_equal(repl_replica_fx(&rp) & REPL_FX_HW, 0);
    struct repl_fetch_ans ans = fetch(&rp, 3, 10, 4, 3);
    assert_int_equal(rp.hw, 4);  /* min(10, 7, 4) */
    assert_int_equal(ans.hw, 0); /* the HW before this fetch: it learns 4 next time */
    assert_true(repl_replica_fx(&rp) & REPL_FX_HW);
    ans = fetch(&rp, 3, 10, 4, 4);
    assert_int_equal(ans.hw, 4);
    repl_replica_fini(&rp);
}

static void test_leader_hw_own_durable_offset_counts_too(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 2, FX_ISR(1, 2), 0, 1);
    fx_append(&rp, 6, 0);
    fetch(&rp, 2, 6, 6, 1);
    assert_int_equal(rp.hw, 0); /* the follower has it on disk, the leader does not */
    repl_replica_durable(&rp, 4);
    assert_int_equal(rp.hw, 4);
    repl_replica_durable(&rp, 99); /* capped by the LEO */
    assert_int_equal(rp.durable, 6);
    assert_int_equal(rp.hw, 6);
    repl_replica_fini(&rp);
}

static void test_leader_hw_never_goes_backwards(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 2, FX_ISR(1, 2), 0, 1);
    fx_append(&rp, 8, 1);
    fetch(&rp, 2, 8, 8, 1);
    assert_int_equal(rp.hw, 8);
    fetch(&rp, 2, 3, 3, 2); /* it truncated (or restarted): HW stays */
    assert_int_equal(rp.hw, 8);
    struct repl_pstate ps = fx_pstate(1, 0, 1, 2, FX_ISR(1, 2));
    assert_int_equal(repl_replica_apply(&rp, &ps, 3), 0);
    assert_int_equal(rp.hw, 8);
    repl_replica_fini(&rp);
}

static void test_leader_hw_ignores_replicas_outside_isr(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 3, FX_ISR(1, 2), 0, 1);
    fx_append(&rp, 5, 1);
    fetch(&rp, 2, 5, 5, 1);
    assert_int_equal(rp.hw, 5);
    fetch(&rp, 3, 0, 0, 2); /* far behind (too far to join), and not in the ISR */
    assert_false(rp.pending);
    fx_append(&rp, 5, 1);
    fetch(&rp, 2, 10, 10, 3);
    assert_int_equal(rp.hw, 10);
    repl_replica_fini(&rp);
}

static void test_leader_isr_shrink_after_lag_time_proposed(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 3, FX_ISR(1, 2, 3), 0, 1); /* at t=0: 2 and 3 count as caught up */
    fx_append(&rp, 4, 1);
    fetch(&rp, 2, 4, 4, 50); /* 2 holds the LEO on disk at t=50 */
    repl_leader_tick(&rp, 100);
    assert_false(rp.pending); /* 3: 100 ms since t=0, not more */
    repl_leader_tick(&rp, 101);
    assert_true(rp.pending);
    assert_true(repl_replica_fx(&rp) & REPL_FX_ISR);
    assert_int_equal(rp.proposal.leader, 1);
    assert_int_equal(rp.proposal.leader_epoch, 0);
    assert_int_equal(rp.proposal.partition_epoch, 0);
    assert_int_equal(rp.proposal.nisr, 2);
    assert_int_equal(rp.proposal.isr[0], 1);
    assert_int_equal(rp.proposal.isr[1], 2);
    /* One proposal at a time; a shrink is not counted before it commits. */
    repl_leader_tick(&rp, 500);
    assert_int_equal(repl_replica_fx(&rp), 0);
    assert_int_equal(rp.ps.nisr, 3);
    repl_replica_fini(&rp);
}

static void test_leader_isr_follower_keeping_up_with_previous_leo_stays(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 2, FX_ISR(1, 2), 0, 1);
    /* Records arrive between every two fetches, so the follower never holds the current
     * LEO - but each fetch shows it held the LEO of the fetch before: it keeps up. */
    int64_t t = 0;
    for (int i = 0; i < 20; i++, t += 60) {
        int64_t leo_before = rp.leo;
        fx_append(&rp, 3, 1);
        fetch(&rp, 2, leo_before, leo_before, t);
        repl_leader_tick(&rp, t + 1);
        assert_false(rp.pending);
    }
    /* Now it stops keeping up: its disk stays behind the LEO of its previous fetch. */
    int64_t stuck = rp.leo - 3;
    for (int i = 0; i < 4; i++, t += 60) {
        fx_append(&rp, 3, 1);
        fetch(&rp, 2, stuck, stuck, t);
        repl_leader_tick(&rp, t + 1);
    }
    assert_true(rp.pending);
    assert_int_equal(rp.proposal.nisr, 1);
    repl_replica_fini(&rp);
}

static void test_leader_isr_fetching_without_fsync_falls_out(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 2, FX_ISR(1, 2), 0, 1);
    fx_append(&rp, 5, 1);
    /* It fetches everything, often, but never reports it on disk: it blocks acks=all,
     * so it must leave the ISR like any laggard. */
    for (int64_t t = 0; t <= 200; t += 20)
        fetch(&rp, 2, 5, 0, t);
    repl_leader_tick(&rp, 200);
    assert_true(rp.pending);
    assert_int_equal(rp.proposal.nisr, 1);
    repl_replica_fini(&rp);
}

static void test_leader_isr_expand_needs_hw_and_epoch_start(void **state)
{
    (void)state;
    /* Replica 1 recovered 10 records of epoch 1 with a checkpointed HW of 4, and is now
     * elected leader of epoch 2 with the ISR {1}: records 4-9 may be committed (the old
     * leader may have acknowledged them) without its HW showing it yet. */
    struct repl_replica rp;
    struct repl_config cfg = {.lag_time_max_ms = 100, .min_insync = 1};
    repl_replica_init(&rp, 1, &cfg);
    assert_int_equal(repl_epoch_cache_assign(&rp.epochs, 1, 0), 1);
    assert_int_equal(repl_replica_load(&rp, 0, 10, 4), 0);
    struct repl_pstate ps = fx_pstate(1, 2, 0, 3, FX_ISR(1));
    assert_int_equal(repl_replica_apply(&rp, &ps, 0), 0);
    assert_int_equal(rp.epoch_start, 10);
    assert_int_equal(rp.hw, 10); /* ISR {1}: its own disk */
    rp.hw = 4;                   /* as if the HW had not caught up yet (a larger ISR) */
    (void)repl_replica_fx(&rp);
    fetch(&rp, 2, 6, 6, 1); /* past the HW, short of the epoch start: not yet */
    assert_false(rp.pending);
    fetch(&rp, 2, 10, 9, 2); /* all fetched, one record not on disk: not yet */
    assert_false(rp.pending);
    fetch(&rp, 2, 10, 10, 3);
    assert_true(rp.pending);
    assert_true(repl_replica_fx(&rp) & REPL_FX_ISR);
    assert_int_equal(rp.proposal.nisr, 2);
    assert_int_equal(rp.proposal.isr[0], 1);
    assert_int_equal(rp.proposal.isr[1], 2);
    repl_replica_fini(&rp);
}

static void test_leader_isr_pending_expansion_holds_hw(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 2, FX_ISR(1), 0, 1);
    fetch(&rp, 2, 0, 0, 1); /* durable 0 >= HW 0 and >= epoch start 0: propose */
    assert_true(rp.pending);
    int32_t isr[REPL_MAX_REPLICAS];
    assert_int_equal(repl_leader_maximal_isr(&rp, isr), 2);
    fx_append(&rp, 5, 1);
    assert_int_equal(rp.hw, 0); /* the member being added counts already */
    fetch(&rp, 2, 5, 5, 2);
    assert_int_equal(rp.hw, 5);
    /* Committed: the state comes back with the partition epoch bumped. */
    struct repl_pstate ps = fx_pstate(1, 0, 1, 2, FX_ISR(1, 2));
    assert_int_equal(repl_replica_apply(&rp, &ps, 3), 0);
    assert_false(rp.pending);
    assert_int_equal(rp.ps.nisr, 2);
    repl_replica_fini(&rp);
}

static void test_leader_isr_failed_proposal_forgotten_and_retried(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 2, FX_ISR(1, 2), 0, 1);
    repl_leader_tick(&rp, 500);
    assert_true(rp.pending);
    repl_leader_isr_failed(&rp);
    assert_false(rp.pending);
    int32_t isr[REPL_MAX_REPLICAS];
    assert_int_equal(repl_leader_maximal_isr(&rp, isr), 2);
    (void)repl_replica_fx(&rp);
    repl_leader_tick(&rp, 501);
    assert_true(repl_replica_fx(&rp) & REPL_FX_ISR);
    repl_replica_fini(&rp);
}

/* The controlled-shutdown gap (issue 13): the broker shutting down catches up from the new
 * leader, which proposes it back into the ISR; while the proposal is in flight the HW waits
 * for it too, and it exits. The refusal alone must let the HW move (FX_HW: the parked
 * produces answered), not the caught-up follower's next fetch, a long poll away. */
static void test_leader_isr_failed_expansion_releases_hw(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 3, FX_ISR(1, 2), 0, 2);
    fetch(&rp, 3, 0, 0, 1); /* replica 3 caught up: its addition proposed */
    assert_true(rp.pending);
    fx_append(&rp, 5, 1);
    fetch(&rp, 2, 5, 5, 2); /* the ISR has it on disk; 3 (being added) does not */
    assert_int_equal(rp.hw, 0);
    (void)repl_replica_fx(&rp);
    repl_leader_isr_failed(&rp); /* refused (INELIGIBLE_REPLICA): 3 fetches no more */
    assert_false(rp.pending);
    assert_int_equal(rp.hw, 5);
    assert_true(repl_replica_fx(&rp) & REPL_FX_HW);
    int kerr = -1;
    assert_int_equal(repl_leader_ack(&rp, 0, 5, &kerr), 1);
    assert_int_equal(kerr, REPL_NONE);
    /* Still fetching, caught up: not proposed again at every fetch, only after a while
     * (a quarter of the fixture's 100 ms lag time, from its fetch at 1). */
    fetch(&rp, 3, 5, 5, 20);
    assert_false(rp.pending);
    fetch(&rp, 3, 5, 5, 26);
    assert_true(rp.pending);
    repl_replica_fini(&rp);
}

static void test_leader_prepare_checks_acks_role_and_min_isr(void **state)
{
    (void)state;
    struct repl_replica rp;
    struct repl_batch b;
    fx_leader(&rp, 1, 3, FX_ISR(1, 2), 4, 3);
    assert_int_equal(repl_leader_prepare(&rp, 2, 1, &b), REPL_INVALID_REQUIRED_ACKS);
    assert_int_equal(repl_leader_prepare(&rp, 1, 0, &b), REPL_INVALID_REQUEST);
    assert_int_equal(repl_leader_prepare(&rp, -1, 1, &b), REPL_NOT_ENOUGH_REPLICAS);
    assert_int_equal(repl_leader_prepare(&rp, 1, 3, &b), 0); /* acks=1 does not care */
    assert_int_equal(b.base_offset, 0);
    assert_int_equal(b.count, 3);
    assert_int_equal(b.epoch, 4);
    rp.cfg.min_insync = 2;
    assert_int_equal(repl_leader_prepare(&rp, -1, 1, &b), 0);
    struct repl_pstate ps = fx_pstate(2, 5, 1, 3, FX_ISR(1, 2));
    assert_int_equal(repl_replica_apply(&rp, &ps, 1), 0);
    assert_int_equal(repl_leader_prepare(&rp, 0, 1, &b), REPL_NOT_LEADER_OR_FOLLOWER);
    repl_replica_fini(&rp);
}

static void test_leader_ack_waits_for_hw_then_reports_isr(void **state)
{
    (void)state;
    struct repl_replica rp;
    int kerr = -1;
    fx_leader(&rp, 1, 3, FX_ISR(1, 2, 3), 0, 2);
    fx_append(&rp, 2, 1);
    assert_int_equal(repl_leader_ack(&rp, 0, 2, &kerr), 0);
    fetch(&rp, 2, 2, 2, 1);
    fetch(&rp, 3, 2, 2, 1);
    assert_int_equal(repl_leader_ack(&rp, 0, 2, &kerr), 1);
    assert_int_equal(kerr, REPL_NONE);
    /* The next produce waits while the ISR shrinks to just the leader: the HW moves on
     * its own disk alone, and the answer says the promise was not kept. */
    fx_append(&rp, 1, 1);
    assert_int_equal(repl_leader_ack(&rp, 0, 3, &kerr), 0);
    struct repl_pstate ps = fx_pstate(1, 0, 1, 3, FX_ISR(1));
    assert_int_equal(repl_replica_apply(&rp, &ps, 2), 0);
    assert_int_equal(rp.hw, 3);
    assert_int_equal(repl_leader_ack(&rp, 0, 3, &kerr), 1);
    assert_int_equal(kerr, REPL_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    /* Leadership lost (or a new epoch): the record may be truncated away. */
    ps = fx_pstate(2, 1, 2, 3, FX_ISR(1, 2));
    assert_int_equal(repl_replica_apply(&rp, &ps, 3), 0);
    assert_int_equal(repl_leader_ack(&rp, 0, 3, &kerr), 1);
    assert_int_equal(kerr, REPL_NOT_LEADER_OR_FOLLOWER);
    repl_replica_fini(&rp);
}

static void assert_fetch_error(struct repl_replica *rp, struct repl_fetch_req req, int want)
{
    struct repl_fetch_ans ans;
    int64_t hw = rp->hw;
    struct repl_peer before = rp->peers[0];
    assert_int_equal(repl_leader_fetch(rp, &req, 1, &ans), want);
    assert_int_equal(ans.error, want);
    assert_int_equal(ans.leader_epoch, req.current_leader_epoch);
    assert_int_equal(rp->hw, hw); /* nothing learnt from a refused fetch */
    assert_memory_equal(&rp->peers[0], &before, sizeof(before));
}

static void test_leader_fetch_errors_as_kafka(void **state)
{
    (void)state;
    struct repl_replica rp;
    fx_leader(&rp, 1, 2, FX_ISR(1, 2), 5, 1);
    fx_append(&rp, 4, 1);
    assert_fetch_error(&rp, fx_fetch(2, 4, 5, 0, 0), REPL_FENCED_LEADER_EPOCH);
    assert_fetch_error(&rp, fx_fetch(2, 6, 5, 0, 0), REPL_UNKNOWN_LEADER_EPOCH);
    assert_fetch_error(&rp, fx_fetch(9, 5, 5, 0, 0), REPL_UNKNOWN_LEADER_EPOCH);
    assert_fetch_error(&rp, fx_fetch(9, -1, 5, 0, 0), REPL_NOT_LEADER_OR_FOLLOWER);
    assert_fetch_error(&rp, fx_fetch(2, 5, -1, 5, 0), REPL_OFFSET_OUT_OF_RANGE);
    assert_fetch_error(&rp, fx_fetch(2, 5, 5, 2, 3), REPL_INVALID_REQUEST);
    assert_fetch_error(&rp, fx_fetch(2, 5, 9, 2, 2), REPL_OFFSET_OUT_OF_RANGE); /* epoch 9? */
    /* A follower of the partition asking a replica that does not lead. */
    struct repl_pstate ps = fx_pstate(2, 6, 1, 2, FX_ISR(1, 2));
    assert_int_equal(repl_replica_apply(&rp, &ps, 1), 0);
    assert_fetch_error(&rp, fx_fetch(2, -1, 5, 0, 0), REPL_NOT_LEADER_OR_FOLLOWER);
    assert_fetch_error(&rp, fx_fetch(2, 6, 5, 0, 0), REPL_NOT_LEADER_OR_FOLLOWER);
    repl_replica_fini(&rp);
}

/* Leader 1 whose log holds epochs 0 (offsets 0-4) and 2 (5-7), now leading epoch 3. */
static void history(struct repl_replica *rp)
{
    struct repl_config cfg = {.lag_time_max_ms = 100, .min_insync = 1};
    repl_replica_init(rp, 1, &cfg);
    assert_int_equal(repl_epoch_cache_assign(&rp->epochs, 0, 0), 1);
    assert_int_equal(repl_epoch_cache_assign(&rp->epochs, 2, 5), 1);
    assert_int_equal(repl_replica_load(rp, 0, 8, 3), 0);
    struct repl_pstate ps = fx_pstate(1, 3, 0, 2, FX_ISR(1, 2));
    assert_int_equal(repl_replica_apply(rp, &ps, 0), 0);
    assert_int_equal(rp->epochs.n, 3); /* (3, 8) assigned before anything was written */
    assert_int_equal(rp->epochs.v[2].start_offset, 8);
    assert_true(repl_replica_fx(rp) & REPL_FX_EPOCHS);
}

static void assert_diverging(struct repl_replica *rp, int32_t last_epoch, int64_t off,
                             int32_t want_epoch, int64_t want_end)
{
    struct repl_fetch_ans ans;
    struct repl_fetch_req req = fx_fetch(2, 3, last_epoch, off, 0);
    assert_int_equal(repl_leader_fetch(rp, &req, 1, &ans), REPL_NONE);
    assert_int_equal(ans.diverging.epoch, want_epoch);
    assert_int_equal(ans.diverging.end_offset, want_end);
    if (want_epoch != REPL_UNDEFINED_EPOCH)
        assert_int_equal(rp->peers[0].leo, -1); /* a diverging follower is not tracked */
    else
        assert_int_equal(rp->peers[0].leo, off);
}

static void test_leader_fetch_diverging_epoch_kip320(void **state)
{
    (void)state;
    struct repl_replica rp;
    history(&rp);
    assert_diverging(&rp, 1, 7, 0, 5); /* epoch 1 was never ours: 0 is, ending at 5 */
    assert_diverging(&rp, 2, 9, 2, 8); /* ours ends at 8, it fetches from 9 */
    assert_diverging(&rp, 0, 6, 0, 5);
    assert_diverging(&rp, 2, 6, -1, -1); /* agrees: read from 6 */
    repl_replica_fini(&rp);
}

/* A fetch by `id` believing in epoch `cur`, its last record of epoch `last`, at `off`:
 * where we tell it to truncate (epoch -1: nowhere). */
static struct repl_epoch_end told(struct repl_replica *rp, int32_t id, int32_t cur, int32_t last,
                                  int64_t off)
{
    struct repl_fetch_req req = fx_fetch(id, cur, last, off, off);
    struct repl_fetch_ans ans;
    assert_int_equal(repl_leader_fetch(rp, &req, 1, &ans), REPL_NONE);
    return ans.diverging;
}

/* The leader's log lost its tail to a failed fsync (appendLog's heal) after a follower had
 * copied it from memory. Nothing more is written in that epoch: a new one is asked of the
 * controller, and the records that take the lost offsets carry it, so the follower's copy
 * parts from the leader's history at the cut, by the epochs, however late it fetches. */
static void test_leader_cut_asks_a_new_epoch_and_writes_nothing_until_it_comes(void **state)
{
    (void)state;
    struct repl_replica rp;
    struct repl_batch b;
    int kerr;
    fx_leader(&rp, 1, 3, FX_ISR(1, 2, 3), 5, 2);
    fx_append(&rp, 10, 0);
    repl_replica_durable(&rp, 6);
    fetch(&rp, 2, 10, 10, 1); /* 2 copied all ten, on its disk */
    fetch(&rp, 3, 4, 4, 1);   /* 3 is behind */
    (void)repl_replica_fx(&rp);
    assert_int_equal(repl_replica_truncated(&rp, 8), 0); /* the disk kept 0-7 */
    assert_int_equal(rp.leo, 8);
    assert_true(repl_replica_fx(&rp) & REPL_FX_ISR);
    assert_true(rp.proposal.new_epoch);
    assert_int_equal(rp.proposal.leader_epoch, 5);
    assert_int_equal(rp.proposal.nisr, 3); /* the ISR as it is */
    assert_int_equal(repl_leader_prepare(&rp, 1, 5, &b), REPL_NOT_ENOUGH_REPLICAS);
    assert_int_equal(repl_leader_prepare(&rp, -1, 5, &b), REPL_NOT_ENOUGH_REPLICAS);
    struct repl_epoch_end d = told(&rp, 2, 5, 5, 10); /* our epoch 5 ends at our end */
    assert_int_equal(d.epoch, 5);
    assert_int_equal(d.end_offset, 8);
    fetch(&rp, 3, 4, 4, 2); /* below the cut: nothing to tell */
    struct repl_pstate ps = fx_pstate(1, 6, 1, 3, FX_ISR(1, 2, 3)); /* committed */
    assert_int_equal(repl_replica_apply(&rp, &ps, 3), 0);
    assert_int_equal(rp.role, REPL_ROLE_LEADER);
    assert_int_equal(rp.epoch_start, 8);
    assert_int_equal(repl_leader_prepare(&rp, -1, 5, &b), 0);
    assert_int_equal(b.epoch, 6);
    assert_int_equal(b.base_offset, 8);
    fx_append(&rp, 5, 1); /* 8-12, other records, epoch 6 */
    d = told(&rp, 2, 6, 5, 10); /* 2's copy of 8-9 is epoch 5's: it parts at 8 */
    assert_int_equal(d.epoch, 5);
    assert_int_equal(d.end_offset, 8);
    fetch(&rp, 2, 13, 13, 4); /* truncated, then copied */
    assert_int_equal(rp.hw, 4); /* 3 is still at 4 */
    fetch(&rp, 3, 13, 13, 4);
    assert_int_equal(rp.hw, 13);
    /* A produce parked in epoch 5 is still ours to answer: we led since. Epoch 4 was not. */
    assert_int_equal(repl_leader_ack(&rp, 5, 6, &kerr), 1);
    assert_int_equal(kerr, REPL_NONE);
    assert_int_equal(repl_leader_ack(&rp, 4, 6, &kerr), 1);
    assert_int_equal(kerr, REPL_NOT_LEADER_OR_FOLLOWER);
    /* A new epoch we did not ask for is a new leadership: older produces are not ours. */
    ps = fx_pstate(1, 7, 2, 3, FX_ISR(1, 2, 3));
    assert_int_equal(repl_replica_apply(&rp, &ps, 5), 0);
    assert_int_equal(repl_leader_ack(&rp, 6, 6, &kerr), 1);
    assert_int_equal(kerr, REPL_NOT_LEADER_OR_FOLLOWER);
    repl_replica_fini(&rp);
}

/* A refused request for the new epoch is not sent again at once (the refusal may last: a
 * zombie's broker epoch), but from the next state the broker applies, or the next tick. */
static void test_leader_cut_new_epoch_asked_again_after_a_refusal(void **state)
{
    (void)state;
    struct repl_replica rp;
    struct repl_batch b;
    fx_leader(&rp, 1, 3, FX_ISR(1, 2, 3), 5, 1);
    fx_append(&rp, 10, 1);
    assert_int_equal(repl_replica_truncated(&rp, 8), 0);
    assert_true(repl_replica_fx(&rp) & REPL_FX_ISR);
    repl_leader_isr_failed(&rp); /* based on a state that had moved on */
    assert_int_equal(repl_replica_fx(&rp) & REPL_FX_ISR, 0);
    assert_int_equal(repl_leader_prepare(&rp, 1, 5, &b), REPL_NOT_ENOUGH_REPLICAS);
    struct repl_pstate ps = fx_pstate(1, 5, 1, 3, FX_ISR(1, 2)); /* what it had committed */
    assert_int_equal(repl_replica_apply(&rp, &ps, 2), 0);
    assert_true(repl_replica_fx(&rp) & REPL_FX_ISR);
    assert_true(rp.proposal.new_epoch);
    assert_int_equal(rp.proposal.partition_epoch, 1);
    assert_int_equal(rp.proposal.nisr, 2);
    repl_leader_isr_failed(&rp);
    repl_leader_tick(&rp, 3);
    assert_true(repl_replica_fx(&rp) & REPL_FX_ISR);
    assert_true(rp.proposal.new_epoch);
    /* Replaced meanwhile: the next leader's epoch is new to every lost record. */
    ps = fx_pstate(2, 6, 2, 3, FX_ISR(2));
    assert_int_equal(repl_replica_apply(&rp, &ps, 4), 0);
    assert_false(rp.epoch_wanted);
    repl_replica_fini(&rp);
}

/* Why the epoch, and not only the leader's word to its followers: a replica that copied the
 * lost records and hears nothing more from this leader (out of the ISR, or a leader change
 * first) still parts at the cut from whoever leads next, because the records that took the
 * lost offsets carry the new epoch into every log that has them. */
static void test_leader_cut_lost_copy_parts_from_every_later_leader(void **state)
{
    (void)state;
    struct repl_replica l, n;
    fx_leader(&l, 1, 3, FX_ISR(1, 2), 5, 1);
    fx_append(&l, 10, 1); /* 3, out of the ISR, copied 0-9 */
    assert_int_equal(repl_replica_truncated(&l, 8), 0);
    struct repl_pstate ps = fx_pstate(1, 6, 1, 3, FX_ISR(1, 2));
    assert_int_equal(repl_replica_apply(&l, &ps, 1), 0);
    fx_append(&l, 5, 1); /* 8-12 in epoch 6 */
    /* 2 follows 1 and copies its log as it is: 0-7 in epoch 5, 8-12 in epoch 6. */
    struct repl_config cfg = {.lag_time_max_ms = 100, .min_insync = 1};
    repl_replica_init(&n, 2, &cfg);
    assert_int_equal(repl_replica_apply(&n, &ps, 1), 0);
    struct repl_batch b5 = {0, 8, 5}, b6 = {8, 5, 6};
    assert_int_equal(repl_replica_appended(&n, &b5), 0);
    assert_int_equal(repl_replica_appended(&n, &b6), 0);
    repl_replica_durable(&n, 13);
    /* 1 dies; 2 leads epoch 7. 3 comes back with its copy of 8-9 from epoch 5. */
    ps = fx_pstate(2, 7, 2, 3, FX_ISR(2));
    assert_int_equal(repl_replica_apply(&n, &ps, 2), 0);
    struct repl_epoch_end d = told(&n, 3, 7, 5, 10);
    assert_int_equal(d.epoch, 5);
    assert_int_equal(d.end_offset, 8);
    repl_replica_fini(&n);
    repl_replica_fini(&l);
}

static void test_leader_epoch_end_answers_offset_for_leader_epoch(void **state)
{
    (void)state;
    struct repl_replica rp;
    history(&rp);
    struct repl_epoch_end e;
    struct repl_epoch_query q = {3, 1};
    assert_int_equal(repl_leader_epoch_end(&rp, &q, &e), REPL_NONE);
    assert_int_equal(e.epoch, 0);
    assert_int_equal(e.end_offset, 5);
    q = (struct repl_epoch_query){3, 3};
    assert_int_equal(repl_leader_epoch_end(&rp, &q, &e), REPL_NONE);
    assert_int_equal(e.end_offset, 8);
    q = (struct repl_epoch_query){2, 1};
    assert_int_equal(repl_leader_epoch_end(&rp, &q, &e), REPL_FENCED_LEADER_EPOCH);
    q = (struct repl_epoch_query){4, 1};
    assert_int_equal(repl_leader_epoch_end(&rp, &q, &e), REPL_UNKNOWN_LEADER_EPOCH);
    repl_replica_fini(&rp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_hw_counts_durable_offsets_only),
        cmocka_unit_test(test_leader_hw_own_durable_offset_counts_too),
        cmocka_unit_test(test_leader_hw_never_goes_backwards),
        cmocka_unit_test(test_leader_hw_ignores_replicas_outside_isr),
        cmocka_unit_test(test_leader_isr_shrink_after_lag_time_proposed),
        cmocka_unit_test(test_leader_isr_follower_keeping_up_with_previous_leo_stays),
        cmocka_unit_test(test_leader_isr_fetching_without_fsync_falls_out),
        cmocka_unit_test(test_leader_isr_expand_needs_hw_and_epoch_start),
        cmocka_unit_test(test_leader_isr_pending_expansion_holds_hw),
        cmocka_unit_test(test_leader_isr_failed_proposal_forgotten_and_retried),
        cmocka_unit_test(test_leader_isr_failed_expansion_releases_hw),
        cmocka_unit_test(test_leader_prepare_checks_acks_role_and_min_isr),
        cmocka_unit_test(test_leader_ack_waits_for_hw_then_reports_isr),
        cmocka_unit_test(test_leader_fetch_errors_as_kafka),
        cmocka_unit_test(test_leader_fetch_diverging_epoch_kip320),
        cmocka_unit_test(test_leader_cut_asks_a_new_epoch_and_writes_nothing_until_it_comes),
        cmocka_unit_test(test_leader_cut_new_epoch_asked_again_after_a_refusal),
        cmocka_unit_test(test_leader_cut_lost_copy_parts_from_every_later_leader),
        cmocka_unit_test(test_leader_epoch_end_answers_offset_for_leader_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
