/*
 * test_chaos_cluster.c - the queue workload (chaos_clients.h) against a cluster of three
 * replicated brokers, under faults at random and in combination, judged by what the
 * clients saw and by what the replicas hold (issue 13, "Proving it").
 *
 *   ZooKeeper (clu_zks, ephemeral port)      brokers 1, 2, 3 (kafka_broker, LD_PRELOAD
 *        ^                                   libkc_fault.so, a fault control block each)
 *        |  topic "chaos": 4 partitions, replication factor 3, min.insync.replicas 2
 *   clients: 2 librdkafka + 1 kafkajs idempotent acks=all producers, 1 consumer
 *   this thread, one fault a cycle (chaos_faults.h):
 *     kill -9 of a partition's leader / a follower / the controller, restarted after a
 *     random pause; two failovers in quick succession; SIGSTOP of a leader past the
 *     session timeout (a zombie), SIGCONT; ZooKeeper paused or restarted; a power cut
 *     (kill -9 + what was never fsynced taken) on one broker; disk faults (fsync EIO,
 *     write ENOSPC) on one replica; and one in five cycles a kill with another fault
 *     on top while the broker is down
 *   the end: heal, settle (every partition led, ISR 3), stop the clients, settle again
 *     (the followers catch up), drain each
 *     partition from its leader, judge the histories; then stop the cluster and read
 *     each broker's own logs (each broker alone on its data directory) and compare them
 *     with the drain below the high watermark: one offset, one value, on every replica
 *
 * The verdict depends on the broker. Without replication (the broker's ApiVersions lacks
 * OffsetForLeaderEpoch, key 23) a leader's kill MUST lose acknowledged records: the test
 * then skips, saying so, unless CHAOS_EXPECT=anomalies, when it runs and passes only if
 * the checker finds them (the proof that it can). With replication (or CHAOS_EXPECT=none)
 * it must find no anomaly at all, but for one kind of duplicate that is the client's own:
 * records librdkafka sent again under a new producer epoch after others timed out
 * (chaos_resent.h reads the two copies' batch headers; they are counted apart, printed).
 *
 * CHAOS_CYCLES (default 10) faults, among CHAOS_FAULTS' (names as printed, comma-separated;
 * default all); KC_TEST_SEED replays their choice and timing; CHAOS_KEEP keeps the directory;
 * CHAOS_BROKER_BIN_DIR runs another build's kafka_broker; CHAOS_ZOMBIE_MS=lo-hi sets the
 * zombies' freeze; the seed gives every broker 1, 2 or 3 replica fetchers unless
 * CHAOS_BROKER_OVERRIDE=k=v,... gives every broker settings of its own (e.g.
 * num.replica.fetchers=3); CHAOS_RDK_DEBUG=ctx,... keeps librdkafka's debug log
 * (rdkafka-<id>.log). The working directory (every history, every broker's log) is kept
 * when the test fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chaos_clients.h"
#include "chaos_cluster.h"
#include "chaos_values.h"

/* ---- the verdict expected --------------------------------------------------------------- */

enum expect { EXPECT_SKIP, EXPECT_NONE, EXPECT_ANOMALIES };

static enum expect expected(bool replicated)
{
    const char *e = getenv("CHAOS_EXPECT");
    if (e && !strcmp(e, "anomalies"))
        return EXPECT_ANOMALIES;
    if (e && !strcmp(e, "none"))
        return EXPECT_NONE;
    return replicated ? EXPECT_NONE : EXPECT_SKIP;
}

/* ---- the replicas ----------------------------------------------------------------------- */

/* Broker id's log, read alone, against the drain below the high watermark: how many
 * offsets it lacks and how many hold another value (the first of each printed). */
static int64_t replica_compare(struct cluster *cl, int id, const struct part_values *drain)
{
    int64_t hi[PARTS], missing = 0, differ = 0;
    char bootstrap[64];
    assert_int_equal(cluster_start_alone(cl, id, bootstrap, sizeof(bootstrap)), 0);
    watermarks(bootstrap, hi);
    struct part_values mine;
    char name[32];
    snprintf(name, sizeof(name), "replica-%d.txt", id);
    values_read(bootstrap, hi, cl->c.dir, name, 300 + id, &mine);
    for (int k = 0; k < PARTS; k++)
        for (int64_t o = 0; o < drain->n[k]; o++) {
            bool lacks = o >= mine.n[k], other = !lacks && mine.v[k][o] != drain->v[k][o];
            if ((lacks && missing++ == 0) || (other && differ++ == 0))
                printf("# replica %d, partition %d, offset %" PRId64 ": %s (leader's %" PRIu64
                       ")\n", id, k, o, lacks ? "missing" : "another value",
                       drain->v[k][o]);
        }
    printf("# replica %d: %" PRId64 " offsets below the high watermark missing, %" PRId64
           " with another value (its log ends at %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64
           ")\n", id, missing, differ, hi[0], hi[1], hi[2], hi[3]);
    values_fini(&mine);
    cluster_stop_alone(cl, id);
    return missing + differ;
}

/* The leaders' logs by offset below hi[], then the cluster stopped and every broker's own
 * log compared with them: the offsets that differ or are missing, over all replicas.
 * *resent: the drain's duplicates a producer resent under a new epoch (below). */
static int64_t compare_replicas(struct cluster *cl, const int64_t *hi, int64_t *resent)
{
    struct part_values drain;
    int64_t diverged = 0;
    values_read(cl->c.bootstrap, hi, cl->c.dir, "replica-leaders.txt", DRAINER, &drain);
    cluster_stop_all(cl);
    *resent = chaos_resent_values(cl->c.dir, BROKERS, &drain);
    for (int id = 1; id <= BROKERS; id++)
        diverged += replica_compare(cl, id, &drain);
    values_fini(&drain);
    return diverged;
}

/* ---- the test --------------------------------------------------------------------------- */

static void report(const struct cluster *cl, const struct rel_hist_result *r, int64_t diverged,
                   int64_t resent)
{
    printf("# figure chaos-cluster: %d cycles; faults:", cl->cycles);
    for (int f = 0; f < CF_N; f++)
        printf(" %s %ld%s", cf_name(f), cl->faults[f], f + 1 < CF_N ? "," : "");
    long replaced = 0;
    for (int i = 0; i < PRODUCERS; i++)
        replaced += cl->c.cl[i].replaced;
    printf("; brokers that exited on their own %ld; librdkafka producers replaced after a "
           "fatal error %ld", cl->exits, replaced);
    printf("\n# figure chaos-cluster: %" PRId64 " sent, %" PRId64 " acknowledged, %" PRId64
           " refused, %" PRId64 " indeterminate (%" PRId64 " of them written), %" PRId64
           " polled; anomalies %" PRId64 "; replica offsets diverged %" PRId64 "\n",
           r->sends, r->acked, r->failed, r->indeterminate, r->indeterminate_read, r->polls,
           rel_hist_anomalies(r), diverged);
    printf("# figure chaos-cluster: of the %" PRId64 " duplicates, %" PRId64 " resent by a "
           "producer under a new epoch after its records timed out (the client's, not an "
           "anomaly: see chaos_resent.h)\n",
           r->count[REL_HIST_DUPLICATE], resent);
    printf("# figure chaos-cluster: of the %" PRId64 " refused, %" PRId64 " written all the "
           "same after an error Kafka gives once the batch is appended (outcome open, not an "
           "anomaly: rel_hist_err_ambiguous); failed-reads %" PRId64 "\n",
           r->failed, r->refused_ambiguous_read, r->count[REL_HIST_FAILED_READ]);
}

/* Skip the test, saying why, with nothing left running. */
static void give_up(struct cluster *cl, const char *why)
{
    printf("# skipped: %s\n", why);
    cluster_down(cl);
    kc_test_rmdir(cl->c.dir);
    free(cl);
    skip();
}

static void verdict(const struct cluster *cl, enum expect ex, const struct rel_hist_result *r,
                    int64_t diverged, int64_t resent)
{
    int64_t anomalies = rel_hist_anomalies(r) + diverged -
                        KC_MIN(resent, r->count[REL_HIST_DUPLICATE]);
    if (ex == EXPECT_NONE && anomalies)
        fail_msg("%" PRId64 " anomalies (the histories and broker logs are in %s)", anomalies,
                 cl->c.dir);
    if (ex == EXPECT_ANOMALIES && !anomalies)
        fail_msg("CHAOS_EXPECT=anomalies, yet the checker found none (in %s)", cl->c.dir);
    assert_true(r->acked > 100); /* the workload ran: a test that judged nothing proves nothing */
}

/* The fetcher threads per leader each run gives its brokers: 1 (Kafka's default), 2 or 3, by
 * the seed, so that runs cover a partition's fetcher being one of several (follow.c) and a
 * seed replays its count; none when CHAOS_BROKER_OVERRIDE chooses the settings. */
static int chaos_fetchers(uint64_t seed)
{
    if (getenv("CHAOS_BROKER_OVERRIDE"))
        return 0;
    int n = 1 + (int)(seed % 3);
    printf("# num.replica.fetchers=%d on every broker (by the seed)\n", n);
    return n;
}

/* The partition fault's network namespace: entered in main(), before anything starts,
 * when that fault may be chosen. */
static struct kc_netns chaos_net;

static void test_chaos_cluster_faults_verdict(void **state)
{
    (void)state;
    unsigned partition = 1u << CF_PARTITION;
    if ((faults_allowed() & partition) && !chaos_net.up) {
        printf("# the partition fault left out: %s\n", chaos_net.why);
        if (faults_allowed() == partition)
            skip();
    }
    struct cluster *cl = calloc(1, sizeof(*cl));
    const char *env = getenv("CHAOS_CYCLES");
    int64_t hi[PARTS], diverged, resent;
    struct rel_hist_result r;
    assert_non_null(cl);
    cl->rnd = kc_test_seed();
    cl->fetchers = chaos_fetchers(cl->rnd);
    cl->c.dir = kc_test_tmpdir();
    cl->netns = chaos_net.up;
    int rc = cluster_up(cl);
    if (rc == -ENOENT)
        give_up(cl, "no ZooKeeper (scripts/deps.sh test installs Debian's zookeeper)");
    assert_int_equal(rc, 0);
    enum expect ex = expected(cl->replicated);
    cl->expect_anomalies = ex == EXPECT_ANOMALIES;
    if (ex == EXPECT_SKIP)
        give_up(cl, "replication not in this broker (its ApiVersions lacks "
                    "OffsetForLeaderEpoch, key 23): a leader's kill loses acknowledged records "
                    "by design; CHAOS_EXPECT=anomalies shows the checker finding them");
    if (!getenv("CHAOS_FAULTS") && !getenv("CHAOS_EXPECT"))
        printf("# the short form: partition left out (a network namespace); `make "
               "chaos-cluster` runs every fault\n");
    chaos_start(&cl->c);
    sleep(1); /* the clients under way before the first fault */
    for (int i = 0, n = env ? atoi(env) : 10; i < n; i++)
        cluster_fault(cl);
    cluster_heal(cl);
    cluster_settle(cl);
    usleep(500 * 1000); /* a quiet moment: the last records reach the consumer */
    chaos_stop(&cl->c);
    cluster_settle(cl); /* again, with the clients gone: every follower caught up */
    chaos_drain(&cl->c, hi);
    chaos_judge(&cl->c, &r);
    diverged = compare_replicas(cl, hi, &resent);
    report(cl, &r, diverged, resent);
    verdict(cl, ex, &r, diverged, resent);
    cluster_down(cl);
    if (getenv("CHAOS_KEEP"))
        printf("# kept: %s\n", cl->c.dir);
    else
        kc_test_rmdir(cl->c.dir);
    free(cl);
}

int main(void)
{
#if defined(__SANITIZE_THREAD__)
    printf("# skipped under ThreadSanitizer: librdkafka's thrd_create threads are invisible "
           "to it (see broker/tests/test_0105)\n");
    return 0;
#endif
    if (faults_allowed() & (1u << CF_PARTITION))
        kc_netns_enter(&chaos_net); /* first: ZooKeeper, brokers and clients start inside */
    if (chaos_net.up)
        printf("# in a network namespace of our own: brokers on 127.0.0.2-4, nftables "
               "partitions\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos_cluster_faults_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
