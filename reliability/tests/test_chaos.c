/*
 * test_chaos.c - real clients against a broker that is killed and frozen, judged by what
 * they saw: Jepsen's queue workload, on one broker (the cluster's harness adds replicas).
 *
 *   2 producers (librdkafka, idempotent, acks=all) --send/ok/fail/info--> a history file each
 *   1 producer  (kafkajs in node, idempotent, acks=all: chaos_kafkajs.js) -> its own file
 *   1 consumer  (librdkafka, every partition assigned) --seek/poll------> a history file
 *   this thread: faults at random moments - kill -9 and a restart on the same port, or
 *                SIGSTOP for up to 2.5 s (one in four: 4.5-6 s, past the producers'
 *                message timeout) and SIGCONT
 *   the end:     the producers flush; a fresh reader reads every partition whole up to its
 *                high watermark (the "drain"); kafka_histcheck's rules judge all of it
 *
 * Must hold: no acknowledged record lost, none duplicated (idempotence across restarts:
 * the producer state is recovered from the log and its snapshots), no offset with two
 * values, no poll backwards or skipping, each producer's records in the order it sent them.
 * One kind of duplicate is the client's, not the broker's, and is counted apart (printed):
 * records librdkafka sent again under a new producer epoch after others timed out in a long
 * freeze (chaos_resent.h reads the two copies' batch headers from the broker's segments).
 *
 * CHAOS_CYCLES (default 6) faults; the seed is printed (KC_TEST_SEED replays the faults'
 * timing; the clients' own timing is the machine's). The history files stay in the test's
 * directory when something fails. The clients are chaos_clients.h's, shared with the
 * cluster's harness (test_chaos_cluster.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chaos_clients.h"
#include "chaos_values.h"

#define START_MS 30000

/* ---- the world: one broker ------------------------------------------------------------- */

struct world {
    struct chaos c; /* the clients and their histories */
    int port;
    struct rel_broker b;
    long faults_kill, faults_stop;
};

/* ---- faults ---------------------------------------------------------------------------- */

static void broker_start(struct world *w)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", w->port);
    const char *args[] = {"--port", port, "--override", "num.partitions=4" /* PARTS */, NULL};
    int rc = rel_broker_start(&w->b, w->port ? args : args + 2, START_MS);
    if (rc)
        fail_msg("the broker did not start: %s (log %s)", kc_strerror(rc), w->b.log);
    w->port = w->b.port;
    snprintf(w->c.bootstrap, sizeof(w->c.bootstrap), "127.0.0.1:%d", w->port);
}

/* One fault at a random moment: kill -9 and restart, or a freeze. */
static void fault(struct world *w, uint64_t *rnd)
{
    usleep((useconds_t)rel_rand_range(rnd, 300, 1200) * 1000);
    if (rel_rand(rnd) % 10 < 6) {
        rel_broker_kill9(&w->b);
        w->faults_kill++;
        broker_start(w);
        return;
    }
    /* one freeze in four outlasts the producers' message.timeout.ms: their records'
     * outcomes become unknown ("info"), and the idempotent producer must carry on */
    int64_t ms = rel_rand(rnd) % 4 ? rel_rand_range(rnd, 200, 2500) : rel_rand_range(rnd, 4500, 6000);
    assert_int_equal(kill(w->b.pid, SIGSTOP), 0);
    usleep((useconds_t)ms * 1000);
    assert_int_equal(kill(w->b.pid, SIGCONT), 0);
    w->faults_stop++;
}

/* ---- the test --------------------------------------------------------------------------- */

/* The drain read again, by offset, and the broker stopped: how many of its duplicates a
 * producer resent under a new epoch after its records timed out (chaos_resent.h: the
 * client's, as in the cluster test; a long freeze makes them). */
static int64_t resent_by_clients(struct world *w, const int64_t *hi)
{
    struct part_values v;
    values_read(w->c.bootstrap, hi, w->c.dir, "drain-values.txt", DRAINER, &v);
    assert_int_equal(rel_broker_stop(&w->b, START_MS), 0);
    int64_t resent = chaos_resent_values(w->c.dir, 0, &v);
    values_fini(&v);
    return resent;
}

static void judge(struct world *w, int64_t resent)
{
    struct rel_hist_result r;
    chaos_judge(&w->c, &r);
    int64_t dup = r.count[REL_HIST_DUPLICATE];
    int64_t anomalies = rel_hist_anomalies(&r) - KC_MIN(resent, dup);
    printf("# figure chaos: %ld kill -9, %ld freezes; %" PRId64 " sent, %" PRId64
           " acknowledged, %" PRId64 " indeterminate (%" PRId64 " of them written), %" PRId64
           " polled; anomalies %" PRId64 " (of the %" PRId64 " duplicates, %" PRId64
           " resent by a producer under a new epoch: the client's)\n",
           w->faults_kill, w->faults_stop, r.sends, r.acked, r.indeterminate,
           r.indeterminate_read, r.polls, anomalies, dup, resent);
    if (anomalies)
        fail_msg("anomalies (the histories are in %s)", w->c.dir);
    assert_true(r.acked > 100); /* the workload ran: a test that judged nothing proves nothing */
}

static void test_chaos_one_broker_faults_no_anomaly(void **state)
{
    (void)state;
    struct world w = {0};
    int64_t hi[PARTS];
    uint64_t rnd = kc_test_seed();
    const char *env = getenv("CHAOS_CYCLES");
    int cycles = env ? atoi(env) : 6;
    rdk_load();
    w.c.dir = kc_test_tmpdir();
    const char *bin = getenv("KC_BIN_DIR");
    assert_int_equal(rel_broker_init(&w.b, bin && *bin ? bin : "build/bin", w.c.dir), 0);
    broker_start(&w);
    chaos_start(&w.c);
    for (int i = 0; i < cycles; i++)
        fault(&w, &rnd);
    usleep(500 * 1000); /* a quiet moment: the last records reach the consumer */
    chaos_stop(&w.c);
    chaos_drain(&w.c, hi);
    judge(&w, resent_by_clients(&w, hi));
    kc_test_rmdir(w.c.dir);
}

int main(void)
{
#if defined(__SANITIZE_THREAD__)
    printf("# skipped under ThreadSanitizer: librdkafka's thrd_create threads are invisible "
           "to it (see broker/tests/test_0105)\n");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos_one_broker_faults_no_anomaly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
