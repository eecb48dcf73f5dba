/*
 * fetch_bookkeeping - what replication's state machine costs per follower fetch: the
 * leader's answer (epoch checks, divergence check, follower state, ISR expansion check,
 * HW), and the follower's side (decision, batch check, append, HW). No I/O: this is the
 * CPU the broker adds to each replica fetch on top of reading and sending the bytes.
 *
 *   usage: fetch_bookkeeping [--runs N]     (default 7; medians, with min and max)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "repl_replica.h"

#define FETCHES  2000000
#define MAX_RUNS 31

static void die(const char *what, int rc)
{
    fprintf(stderr, "fetch_bookkeeping: %s: %d\n", what, rc);
    exit(1);
}

static void make_leader(struct repl_replica *rp, int nreplicas)
{
    struct repl_config cfg = {.lag_time_max_ms = 30000, .min_insync = 2};
    repl_replica_init(rp, 1, &cfg);
    struct repl_pstate ps = {.controller_epoch = 1,
                             .leader = 1,
                             .leader_epoch = 3,
                             .nreplicas = nreplicas,
                             .nisr = nreplicas};
    for (int i = 0; i < nreplicas; i++)
        ps.replicas[i] = ps.isr[i] = i + 1;
    if (repl_replica_apply(rp, &ps, 0) != 0)
        die("apply", -1);
}

/* Leader side: one record appended per round, then every follower fetches it. Returns ns
 * per fetch. */
static double leader_run(int nreplicas)
{
    struct repl_replica rp;
    make_leader(&rp, nreplicas);
    int rounds = FETCHES / (nreplicas - 1);
    int64_t t0 = kc_mono_ns();
    for (int r = 0; r < rounds; r++) {
        struct repl_batch b;
        int rc = repl_leader_prepare(&rp, -1, 1, &b);
        if (rc == 0)
            rc = repl_replica_appended(&rp, &b);
        if (rc != 0)
            die("append", rc);
        repl_replica_durable(&rp, rp.leo);
        for (int32_t id = 2; id <= nreplicas; id++) {
            struct repl_fetch_req req = {id, 3, 3, rp.leo, rp.leo - 1, 0};
            struct repl_fetch_ans ans;
            if (repl_leader_fetch(&rp, &req, r, &ans) != 0)
                die("fetch", ans.error);
        }
        (void)repl_replica_fx(&rp);
    }
    double ns = (double)(kc_mono_ns() - t0) / ((double)rounds * (nreplicas - 1));
    if (rp.hw != rp.leo - 1)
        die("hw", (int)rp.hw);
    repl_replica_fini(&rp);
    return ns;
}

/* Follower side: decide on an answer with one new record, check and append it, take the HW. */
static double follower_run(void)
{
    struct repl_replica rp;
    struct repl_config cfg = {.lag_time_max_ms = 30000, .min_insync = 2};
    repl_replica_init(&rp, 2, &cfg);
    struct repl_pstate ps = {.controller_epoch = 1,
                             .leader = 1,
                             .leader_epoch = 3,
                             .nreplicas = 3,
                             .nisr = 3,
                             .replicas = {1, 2, 3},
                             .isr = {1, 2, 3}};
    if (repl_replica_apply(&rp, &ps, 0) != 0)
        die("apply", -1);
    int64_t t0 = kc_mono_ns();
    for (int i = 0; i < FETCHES; i++) {
        struct repl_fetch_ans ans = {.leader_epoch = 3,
                                     .diverging = {-1, -1},
                                     .fetch_offset = rp.leo,
                                     .leo = rp.leo + 1,
                                     .hw = rp.leo};
        struct repl_decision d;
        if (repl_follower_on_fetch(&rp, &ans, &d) != 0 || d.what != REPL_DO_APPEND)
            die("decision", d.what);
        struct repl_batch b = {d.from, (int32_t)(d.to - d.from), 3};
        if (repl_replica_appended(&rp, &b) != 0)
            die("append", -1);
        repl_follower_hw(&rp, ans.hw);
        repl_replica_durable(&rp, rp.leo);
        (void)repl_replica_fx(&rp);
    }
    double ns = (double)(kc_mono_ns() - t0) / FETCHES;
    repl_replica_fini(&rp);
    return ns;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    printf("  %-38s %6.1f ns   (min %.1f, max %.1f)\n", name, v[n / 2], v[0], v[n - 1]);
}

int main(int argc, char **argv)
{
    int runs = 7;
    if (argc == 3 && strcmp(argv[1], "--runs") == 0)
        runs = atoi(argv[2]);
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: fetch_bookkeeping [--runs 1..%d]\n", MAX_RUNS);
        return 2;
    }
    double l3[MAX_RUNS], l5[MAX_RUNS], f[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        l3[r] = leader_run(3);
        l5[r] = leader_run(5);
        f[r] = follower_run();
    }
    printf("fetch_bookkeeping: replication state machine per replica fetch, median of %d runs "
           "of %d fetches\n",
           runs, FETCHES);
    report("leader answers a fetch, RF 3", l3, runs);
    report("leader answers a fetch, RF 5", l5, runs);
    report("follower applies an answer (1 batch)", f, runs);
    return 0;
}
