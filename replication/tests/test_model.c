/*
 * test_model.c - the randomized model test: many seeds, each a few thousand random steps
 * of a 3-5 replica cluster (repl_sim.h), the invariants checked after every step.
 *
 *   steps      produce (acks=all and acks=1) to whoever believes it leads, follower
 *              fetches (both truncation paths), fsyncs, time passing (ISR shrinks), ISR
 *              proposals reaching the controller late, partition states reaching nodes
 *              late, power cuts (a node keeps only what it fsynced), disk losses (the
 *              same cut on a node that runs on: a failed fsync), session expiries
 *              (of stopped nodes, and of running ones: zombies), restarts,
 *              re-registrations, controlled shutdowns, preferred-leader balancing,
 *              consumers reading below the HW
 *   checked    after every step, I1-I4 of repl_check.h: one leader per epoch; HW and
 *              epoch never backwards on a running replica; everyone agrees below every
 *              HW; the newest leader holds every acknowledged and consumed record
 *   at the end the cluster heals (repl_sim_settle): it must converge (liveness), and
 *              every replica must hold every acknowledged record (I5)
 *
 * The base seed is printed; KC_TEST_SEED replays a run, REPL_MODEL_SEEDS and
 * REPL_MODEL_SECONDS bound it (defaults: 3000 seeds or 10 s, whichever comes first; at
 * least 10 seeds), and REPL_MODEL_TRACE=1 tells every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "kc_common.h"
#include "kc_test.h"
#include "repl_sim.h"

#define STEPS 1500

struct totals {
    uint64_t seeds, steps, produced, acked_all, acked_one, failed_all, crashes, expiries;
    uint64_t truncations, truncated, leader_changes, isr_commits, isr_refusals, views;
    uint64_t disk_losses;
};

static uint64_t rnd(uint64_t *r)
{
    return kc_test_rand(r);
}

/* A node that believes it leads, or any node (a client with stale metadata). */
static int32_t pick_producer(struct repl_sim *s, uint64_t *r)
{
    for (int i = 1; i <= s->nnodes && rnd(r) % 8; i++) {
        const struct repl_sim_node *n = repl_sim_node(s, i);
        if (n->up && n->rp.role == REPL_ROLE_LEADER)
            return i;
    }
    return 1 + (int32_t)(rnd(r) % (uint64_t)s->nnodes);
}

static int step(struct repl_sim *s, uint64_t *r, struct totals *t)
{
    int32_t node = 1 + (int32_t)(rnd(r) % (uint64_t)s->nnodes);
    unsigned dice = (unsigned)(rnd(r) % 1000);
    int64_t base;
    if (dice < 280)
        return repl_sim_produce(s, pick_producer(s, r), rnd(r) % 3 ? -1 : 1,
                                1 + (int32_t)(rnd(r) % 3), &base);
    if (dice < 540)
        return repl_sim_fetch(s, node);
    if (dice < 660)
        return repl_sim_fsync(s, node);
    if (dice < 740)
        return repl_sim_tick(s, 1 + (int64_t)(rnd(r) % 60));
    if (dice < 810)
        return repl_sim_submit(s, node);
    if (dice < 890)
        return repl_sim_sync(s, node);
    if (dice < 905)
        return t->crashes++, repl_sim_crash(s, node);
    if (dice < 920)
        return t->expiries++, repl_sim_expire(s, node);
    if (dice < 950)
        return repl_sim_restart(s, node);
    if (dice < 965)
        return repl_sim_register(s, node);
    if (dice < 972)
        return repl_sim_shutdown(s, node);
    if (dice < 980)
        return repl_sim_preferred(s);
    if (dice < 988)
        return repl_sim_disk_loss(s, node);
    return repl_sim_consume(s, pick_producer(s, r), (int64_t)(rnd(r) % 64), 16);
}

/* What the cluster looked like when it failed: enough to start debugging from. */
static void describe(struct repl_sim *s)
{
    const struct repl_pstate *ps = repl_ctl_partition(&s->ctl, REPL_SIM_TOPIC, 0);
    printf("# controller: leader %" PRId32 " epoch %" PRId32 " partition epoch %" PRId32
           " ISR size %d, %zu parked\n",
           ps->leader, ps->leader_epoch, ps->partition_epoch, ps->nisr, s->nparked);
    repl_sim_describe(s, stdout);
}

static void add_totals(struct totals *t, const struct repl_sim *s)
{
    t->seeds++;
    t->produced += s->st.produced;
    t->acked_all += s->st.acked_all;
    t->acked_one += s->st.acked_one;
    t->failed_all += s->st.failed_all;
    t->truncations += s->st.truncations;
    t->truncated += s->st.truncated;
    t->leader_changes += s->st.leader_changes;
    t->isr_commits += s->st.isr_commits;
    t->isr_refusals += s->st.isr_refusals;
    t->views += s->check.views;
    t->disk_losses += s->st.disk_losses;
}

/* One seed's run: 0, or the first failure (described on stdout when `loud`). */
static int run_seed(uint64_t seed, bool legacy, bool loud, struct totals *t)
{
    uint64_t r = seed;
    struct repl_sim_config cfg = {.nodes = 3 + (int)(rnd(&r) % 3),
                                  .truncation = 2,
                                  .max_fetch = 1 + (int)(rnd(&r) % 8),
                                  .legacy_hw_truncation = legacy,
                                  .seed = seed};
    cfg.replica.lag_time_max_ms = 40 + (int64_t)(rnd(&r) % 160);
    cfg.replica.min_insync = 1 + (int)(rnd(&r) % 2);
    struct repl_sim s;
    int rc = repl_sim_init(&s, &cfg);
    if (rc < 0)
        return rc;
    if (getenv("REPL_MODEL_TRACE"))
        s.trace = stdout;
    int i;
    for (i = 0; rc >= 0 && i < STEPS; i++) {
        rc = step(&s, &r, t);
        if (rc >= 0)
            rc = repl_sim_check(&s);
        t->steps++;
    }
    if (rc >= 0)
        rc = repl_sim_settle(&s, 400);
    if (rc < 0 && loud) {
        printf("# seed %" PRIu64 " failed after %d steps: %s: %s\n", seed, i, kc_strerror(rc),
               repl_check_why(&s.check));
        describe(&s);
    }
    if (rc >= 0)
        add_totals(t, &s);
    repl_sim_fini(&s);
    return rc < 0 ? rc : 0;
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v ? strtol(v, NULL, 10) : dflt;
}

static void test_model_random_histories_hold_invariants(void **state)
{
    (void)state;
    uint64_t base = kc_test_seed();
    long seeds = env_long("REPL_MODEL_SEEDS", 3000);
    int64_t deadline = kc_mono_ms() + 1000 * env_long("REPL_MODEL_SECONDS", 10);
    struct totals t = {0};
    for (long i = 0; i < seeds && (i < 10 || kc_mono_ms() < deadline); i++) {
        uint64_t seed = base + (uint64_t)i;
        int rc = run_seed(seed, false, true, &t);
        if (rc < 0)
            fail_msg("seed %" PRIu64 ": %s (replay: KC_TEST_SEED=%" PRIu64 " REPL_MODEL_SEEDS=1)",
                     seed, kc_strerror(rc), seed);
    }
    printf("# %" PRIu64 " seeds, %" PRIu64 " steps: %" PRIu64 " records produced, %" PRIu64
           " acks=all acknowledged (%" PRIu64 " failed), %" PRIu64 " acks=1\n",
           t.seeds, t.steps, t.produced, t.acked_all, t.failed_all, t.acked_one);
    printf("# %" PRIu64 " crashes, %" PRIu64 " expiries, %" PRIu64 " leader changes, %" PRIu64
           " truncations (%" PRIu64 " records), ISR changes %" PRIu64 " committed / %" PRIu64
           " refused, %" PRIu64 " replica views checked, %" PRIu64 " disk losses\n",
           t.crashes, t.expiries, t.leader_changes, t.truncations, t.truncated, t.isr_commits,
           t.isr_refusals, t.views, t.disk_losses);
    /* The run must have exercised what it claims to check. */
    assert_true(t.acked_all > 0 && t.truncations > 0 && t.leader_changes > 0);
    assert_true(t.isr_commits > 0 && t.isr_refusals > 0 && t.crashes > 0);
    assert_true(t.disk_losses > 0);
}

/* The harness has teeth: the same random histories under the rule before KIP-101 (truncate
 * to the HW) must be caught losing or changing committed records, and soon. */
static void test_model_old_rule_caught_by_checker(void **state)
{
    (void)state;
    uint64_t base = kc_test_seed();
    struct totals t = {0};
    long caught = -1;
    for (long i = 0; i < 300 && caught < 0; i++)
        if (run_seed(base + (uint64_t)i, true, false, &t) == KC_ECORRUPT)
            caught = i;
    printf("# the old rule was caught on seed #%ld (of at most 300)\n", caught);
    assert_true(caught >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_random_histories_hold_invariants),
        cmocka_unit_test(test_model_old_rule_caught_by_checker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
