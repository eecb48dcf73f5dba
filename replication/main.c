/*
 * kafka_replication - Kafka's ISR replication in one process: three replicas with
 * in-memory logs, the controller's logic, no network. It produces with acks=all, kills the
 * leader, elects a new one, shows a follower truncating its divergent tail and catching
 * up, then plays the KIP-101 case twice: with the old truncate-to-the-HW rule (an
 * acknowledged record is lost) and with leader epochs (it is kept). Last, it runs random
 * histories against the invariant checker and prints what it measured.
 *
 *   usage: kafka_replication [--seed N] [--ms N]    (random run length, default 400 ms)
 *
 * Every line tagged "t=" is the simulator telling what happened inside a step; the node
 * tables show each replica: role, leader epoch, LEO, what is on disk, HW, ISR membership,
 * and its log as offset:record/epoch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "repl_sim.h"

static int must(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "kafka_replication: %s: %s\n", what, kc_strerror(rc));
        exit(1);
    }
    return rc;
}

static void start(struct repl_sim *s, uint64_t seed, bool legacy)
{
    struct repl_sim_config cfg = {.nodes = 3,
                                  .truncation = 0,
                                  .max_fetch = 100,
                                  .legacy_hw_truncation = legacy,
                                  .seed = seed};
    cfg.replica.lag_time_max_ms = 100;
    cfg.replica.min_insync = 2;
    must(repl_sim_init(s, &cfg), "start");
    s->trace = stdout;
}

static void show(struct repl_sim *s)
{
    repl_sim_describe(s, stdout);
    int rc = repl_sim_check(s);
    printf("    invariants: %s\n", rc == 0 ? "hold" : repl_check_why(&s->check));
}

/* The followers in assignment order: the order an election tries them. */
static void followers(struct repl_sim *s, int32_t *f)
{
    const struct repl_pstate *ps = repl_ctl_partition(&s->ctl, REPL_SIM_TOPIC, 0);
    for (int i = 0, n = 0; i < ps->nreplicas; i++)
        if (ps->replicas[i] != ps->leader)
            f[n++] = ps->replicas[i];
}

/* Each follower fetches (twice: a first round may be OffsetForLeaderEpoch), fsyncs, and
 * fetches again to report what is on its disk. */
static void replicate(struct repl_sim *s, const int32_t *f, int n)
{
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n; i++)
            must(repl_sim_fetch(s, f[i]), "fetch");
    must(repl_sim_tick(s, 5), "tick");
    for (int i = 0; i < n; i++)
        must(repl_sim_fsync(s, f[i]), "fsync");
    for (int i = 0; i < n; i++)
        must(repl_sim_fetch(s, f[i]), "fetch");
}

static void produce(struct repl_sim *s, int32_t node, int acks, int32_t count)
{
    int64_t base;
    must(repl_sim_tick(s, 10), "tick");
    int rc = must(repl_sim_produce(s, node, acks, count, &base), "produce");
    if (rc)
        printf("  produce to node %" PRId32 ": refused, %s\n", node, repl_kerr_name(rc));
    else
        printf("  produce %" PRId32 " record(s), acks=%s, to node %" PRId32 ": offsets %" PRId64
               "..%" PRId64 "\n",
               count, acks < 0 ? "all" : "1", node, base, base + count - 1);
}

/* The leader dies; the controller elects; the old leader's divergent tail is cut. */
static void scene_failover(struct repl_sim *s, int32_t l, const int32_t *f)
{
    printf("\n2. The leader dies; the controller elects; a divergent tail is cut\n\n");
    produce(s, l, 1, 2);
    must(repl_sim_fsync(s, l), "fsync");
    printf("  node %" PRId32 " has them on disk; nobody copied them (acks=1 did not wait)\n", l);
    must(repl_sim_crash(s, l), "crash");
    must(repl_sim_expire(s, l), "expire");
    for (int i = 0; i < 2; i++)
        must(repl_sim_sync(s, f[i]), "sync");
    int32_t nl = repl_sim_leader(s);
    produce(s, nl, -1, 1);
    must(repl_sim_fsync(s, nl), "fsync");
    replicate(s, nl == f[0] ? &f[1] : &f[0], 1);
    show(s);
    printf("\n  node %" PRId32 " comes back: its offsets 3, 4 hold records of epoch 0 that the new "
           "leader never had\n",
           l);
    must(repl_sim_restart(s, l), "restart");
    for (int k = 0; k < 3; k++)
        must(repl_sim_fetch(s, l), "fetch");
    must(repl_sim_fsync(s, l), "fsync");
    must(repl_sim_fetch(s, l), "fetch");
    must(repl_sim_submit(s, nl), "submit");
    show(s);
    printf("  %" PRIu64 " truncation(s), %" PRIu64 " record(s) cut: only ones never "
           "acknowledged with acks=all\n",
           s->st.truncations, s->st.truncated);
}

static void scene_normal(uint64_t seed)
{
    struct repl_sim s;
    printf("\n1. Three replicas, acks=all: the HW waits for every ISR member's DISK\n\n");
    start(&s, seed, false);
    int32_t l = repl_sim_leader(&s), f[2];
    followers(&s, f);
    produce(&s, l, -1, 3);
    must(repl_sim_fsync(&s, l), "fsync");
    printf("  node %" PRId32 " fsyncs; HW %" PRId64 ": the followers have nothing yet\n", l,
           repl_sim_node(&s, l)->rp.hw);
    replicate(&s, f, 2);
    printf("  the followers fetch, fsync and fetch again: acks=all answered: %" PRIu64
           " produce(s)\n",
           s.st.acked_all);
    printf("  (their own HWs lag by a fetch: Kafka answers with the HW from before the fetch)\n");
    show(&s);
    scene_failover(&s, l, f);
    repl_sim_fini(&s);
}

/* KIP-101: m0, m1 acknowledged while the followers' HWs still say 0; the leader dies, f1
 * leads, f2 follows f1; f1 dies before f2 fetched again; f2 leads. */
static bool scene_kip101(uint64_t seed, bool legacy)
{
    struct repl_sim s;
    start(&s, seed, legacy);
    int32_t l = repl_sim_leader(&s), f[2];
    followers(&s, f);
    produce(&s, l, -1, 2);
    must(repl_sim_fsync(&s, l), "fsync");
    replicate(&s, f, 2);
    printf("  acknowledged: %" PRIu64 " produce (m0, m1). HWs: node %" PRId32 " %" PRId64
           ", node %" PRId32 " %" PRId64 ", node %" PRId32 " %" PRId64 "\n",
           s.st.acked_all, l, repl_sim_node(&s, l)->rp.hw, f[0], repl_sim_node(&s, f[0])->rp.hw,
           f[1], repl_sim_node(&s, f[1])->rp.hw);
    printf("  node %" PRId32 " (the leader) dies\n", l);
    must(repl_sim_crash(&s, l), "crash");
    must(repl_sim_expire(&s, l), "expire");
    must(repl_sim_sync(&s, f[0]), "sync");
    printf("  node %" PRId32 " becomes a follower of node %" PRId32 ":\n", f[1], f[0]);
    must(repl_sim_sync(&s, f[1]), "sync");
    if (!legacy) /* its first request: OffsetForLeaderEpoch, which fetches no records */
        must(repl_sim_fetch(&s, f[1]), "fetch");
    show(&s);
    printf("  node %" PRId32 " dies before node %" PRId32 " fetched m0, m1 again\n", f[0], f[1]);
    must(repl_sim_crash(&s, f[0]), "crash");
    must(repl_sim_expire(&s, f[0]), "expire");
    must(repl_sim_sync(&s, f[1]), "sync");
    show(&s);
    bool kept = repl_sim_check(&s) == 0;
    repl_sim_fini(&s);
    return kept;
}

/* Random histories, as the model test runs them, for `ms` of wall time. */
struct measured {
    uint64_t seeds, steps, produced, acked, replicated, truncated, leader_changes, views;
    double secs;
};

static int random_step(struct repl_sim *s, uint64_t *r)
{
    *r = *r * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = *r >> 33;
    int32_t node = 1 + (int32_t)(x % 3);
    int64_t base;
    switch ((x >> 8) % 20) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
        return repl_sim_produce(s, repl_sim_leader(s) > 0 ? repl_sim_leader(s) : node,
                                (x >> 16) % 3 ? -1 : 1, 1 + (int32_t)((x >> 20) % 3), &base);
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
        return repl_sim_fetch(s, node);
    case 10:
    case 11:
    case 12:
        return repl_sim_fsync(s, node);
    case 13:
        return repl_sim_tick(s, 1 + (int64_t)((x >> 16) % 50));
    case 14:
        return repl_sim_submit(s, node);
    case 15:
    case 16:
        return repl_sim_sync(s, node);
    case 17:
        return (x >> 16) % 4 ? repl_sim_restart(s, node) : repl_sim_crash(s, node);
    case 18:
        return (x >> 16) % 2 ? repl_sim_expire(s, node) : repl_sim_register(s, node);
    default:
        return repl_sim_fetch(s, node);
    }
}

static void run_random(uint64_t seed, int64_t ms, struct measured *m)
{
    int64_t t0 = kc_mono_ns(), stop = kc_mono_ms() + ms;
    memset(m, 0, sizeof(*m));
    for (uint64_t i = 0; kc_mono_ms() < stop; i++) {
        struct repl_sim s;
        struct repl_sim_config cfg = {
            .nodes = 3, .truncation = 2, .max_fetch = 4, .seed = seed + i};
        cfg.replica.lag_time_max_ms = 100;
        cfg.replica.min_insync = 2;
        must(repl_sim_init(&s, &cfg), "start");
        uint64_t r = seed + i;
        for (int k = 0; k < 1000; k++) {
            must(random_step(&s, &r), "step");
            if (repl_sim_check(&s) < 0) {
                fprintf(stderr, "violation (seed %" PRIu64 "): %s\n", seed + i,
                        repl_check_why(&s.check));
                exit(1);
            }
        }
        must(repl_sim_settle(&s, 400), "settle");
        m->seeds++, m->steps += 1000;
        m->produced += s.st.produced, m->acked += s.st.acked_all;
        m->replicated += s.st.appended, m->truncated += s.st.truncated;
        m->leader_changes += s.st.leader_changes, m->views += s.check.views;
        repl_sim_fini(&s);
    }
    m->secs = (double)(kc_mono_ns() - t0) / 1e9;
}

static uint64_t parse_args(int argc, char **argv, int64_t *ms)
{
    uint64_t seed = 42;
    *ms = 400;
    for (int i = 1; i < argc; i++) {
        int64_t v;
        if (i + 1 < argc && strcmp(argv[i], "--seed") == 0 &&
            kc_parse_i64(argv[i + 1], 1, INT64_MAX, &v) == 0)
            seed = (uint64_t)v, i++;
        else if (i + 1 < argc && strcmp(argv[i], "--ms") == 0 &&
                 kc_parse_i64(argv[i + 1], 10, 5000, &v) == 0)
            *ms = v, i++;
        else {
            fprintf(stderr, "usage: kafka_replication [--seed N] [--ms 10..5000]\n");
            exit(2);
        }
    }
    return seed;
}

int main(int argc, char **argv)
{
    int64_t ms;
    uint64_t seed = parse_args(argc, argv, &ms);
    printf("kafka_replication: one partition on three replicas, min.insync.replicas=2, "
           "lag 100 ms (seed %" PRIu64 ")\n",
           seed);
    scene_normal(seed);
    printf("\n3. KIP-101, the rule before Kafka 0.11: a follower truncates to its HW\n\n");
    bool old_kept = scene_kip101(seed, true);
    printf("\n4. KIP-101 with leader epochs: a follower asks where the leader's history of "
           "its epoch ends\n\n");
    bool new_kept = scene_kip101(seed, false);
    printf("\n  acknowledged records survived: old rule %s, leader epochs %s\n",
           old_kept ? "yes" : "NO", new_kept ? "yes" : "NO");

    printf("\n5. Random histories against the invariant checker (%" PRId64 " ms)\n\n", ms);
    struct measured m;
    run_random(seed, ms, &m);
    printf("  %" PRIu64 " histories, %" PRIu64 " steps: %.0f steps/s (%.2f us per step, "
           "the checks included)\n",
           m.seeds, m.steps, (double)m.steps / m.secs, m.secs * 1e6 / (double)m.steps);
    printf("  %" PRIu64 " records produced, %" PRIu64 " acks=all batches acknowledged, %" PRIu64
           " records replicated, %" PRIu64 " cut by truncation\n",
           m.produced, m.acked, m.replicated, m.truncated);
    printf("  %" PRIu64 " leader changes, %" PRIu64 " replica views checked: no violation\n",
           m.leader_changes, m.views);
    return old_kept || !new_kept ? 1 : 0;
}
