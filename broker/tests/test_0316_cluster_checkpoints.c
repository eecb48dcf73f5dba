/*
 * test_0316_cluster_checkpoints - leader-epoch-checkpoint and replication-offset-checkpoint
 * in a cluster of three (replication factor 3, controlled shutdown off so that the last
 * broker of the cluster stops at once):
 *
 *   1. 200 records acks=all at epoch e1 (leader L); L stops: L' leads at e2 and writes
 *      nothing - an epoch no batch carries, on disk in L''s epoch file at once
 *   2. the third broker stops, then L': the files hold "e1 0 / e2 200" and "ckpt 0 200"
 *   3. L' alone starts again: loaded from the files (its log says so), a consumer's first
 *      answered fetch has HW 200 and reads every record (no follower is there to confirm
 *      it), and OffsetForLeaderEpoch(e2) answers e2 itself, not e1
 *   4. the others join again; L' stops, X leads at e3 (X never had e2), L' restarts as
 *      its follower with e2 at its log end: the leader's answer cuts nothing, e2 is
 *      forgotten (file "e1 0"), and L' is back in the ISR instead of asking forever
 *   5. both of L''s files corrupt, L' restarts: it logs it, falls back to the batch scan,
 *      writes a valid epoch file again, rejoins the ISR with every record, X serves them
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define TOPIC "ckpt"
#define N 200

static const char *const settings[] = {"controlled.shutdown.enable=false", NULL};
static struct krep_acks acks;

/* OffsetForLeaderEpoch of TOPIC 0 from b, as a consumer asks it. */
static int16_t ask(const struct kb_broker *b, int32_t current, int32_t epoch, int32_t *end_epoch,
                   int64_t *end)
{
    return krep_epoch_end(b, TOPIC, 0, current, epoch, end_epoch, end);
}

struct leads {
    const struct kb_broker *asked;
    int32_t want, after_epoch; /* want -1: anyone but `not` */
    int32_t not, leader, epoch;
};

static bool leads(void *arg)
{
    struct leads *u = arg;
    krep_leader(u->asked, TOPIC, 0, &u->leader, &u->epoch, NULL);
    bool who = u->want >= 1 ? u->leader == u->want : u->leader >= 1 && u->leader != u->not;
    return who && u->epoch > u->after_epoch;
}

/* A consumer's fetch from b until it is answered (the replica loaded): its HW. */
struct answered {
    const struct kb_broker *b;
    int64_t hw;
};

static bool answered(void *arg)
{
    struct answered *u = arg;
    int16_t err;
    int32_t bytes;
    krep_fetch(u->b, TOPIC, 0, 0, &err, &u->hw, &bytes);
    return err == 0;
}

static bool hw_is_n(void *arg)
{
    struct answered *u = arg;
    return answered(u) && u->hw == N;
}

static int seen[N];

static void on_value(void *arg, int64_t offset, const uint8_t *v, int32_t len)
{
    (void)arg, (void)offset;
    assert_true(len > 1 && len < 16 && v[0] == 'v');
    char s[16];
    memcpy(s, v + 1, (size_t)len - 1);
    s[len - 1] = '\0';
    int i = atoi(s);
    assert_true(i >= 0 && i < N);
    seen[i]++;
}

/* Every record once, read as a consumer from b. */
static void consume_all(const struct kb_broker *b)
{
    memset(seen, 0, sizeof(seen));
    assert_int_equal(krep_consume(b, TOPIC, 0, on_value, NULL), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
}

static char *file_of(const struct kb_broker *b, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", b->data, name);
    return kt_slurp(path, NULL);
}

static void file_put(const struct kb_broker *b, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", b->data, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void produce_n(struct kcl *c)
{
    rd_kafka_t *rk = krep_producer(c, &acks, "all", NULL);
    rd_kafka_topic_t *rkt = rdk.rd_kafka_topic_new(rk, TOPIC, NULL);
    for (int i = 0; i < N; i++)
        krep_produce(rk, rkt, i);
    (void)rdk.rd_kafka_flush(rk, 60000);
    rdk.rd_kafka_topic_destroy(rkt);
    krep_destroy(rk);
    assert_int_equal(acks.failed, 0);
    assert_int_equal(acks.delivered, N);
}

static void test_0316_restart_keeps_epochs_and_hw(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    KREP_REQUIRE_RDKAFKA();
    int32_t l, e1, e;
    int64_t end;
    char want[128];
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, settings);
    kcl_await_brokers(c, 3);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 1, 3), 0);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    krep_leader(c->b[1], TOPIC, 0, &l, &e1, NULL);
    produce_n(c);

    /* 1. A leader change with no write in the new epoch. */
    kb_stop(c->b[l]);
    int32_t f = l % 3 + 1;
    struct leads u = {c->b[f], -1, e1, l, -1, -1};
    assert_true(kt_until(leads, &u, KB_WAIT_MS));
    int32_t l2 = u.leader, e2 = u.epoch, third = 6 - l - l2;
    struct answered hw = {c->b[l2], -1};
    assert_true(kt_until(hw_is_n, &hw, KB_WAIT_MS)); /* the third confirmed 200 to l2 */
    printf("# leader %d (epoch %d) stopped; %d leads at epoch %d, writes nothing\n", (int)l,
           (int)e1, (int)l2, (int)e2);

    /* 2. The rest of the cluster stops cleanly; l2's files say what it knew. */
    kb_stop(c->b[third]);
    kb_stop(c->b[l2]);
    char *ef = file_of(c->b[l2], TOPIC "-0/leader-epoch-checkpoint");
    char *hf = file_of(c->b[l2], "replication-offset-checkpoint");
    snprintf(want, sizeof(want), "0\n2\n%d 0\n%d %d\n", (int)e1, (int)e2, N);
    assert_non_null(ef);
    assert_string_equal(ef, want);
    snprintf(want, sizeof(want), "\n" TOPIC " 0 %d\n", N);
    assert_non_null(hf);
    assert_non_null(strstr(hf, want));
    assert_true(strncmp(hf, "0\n", 2) == 0);
    free(ef);
    free(hf);

    /* 3. l2 alone again: its HW is back, before any follower could confirm it. */
    kcl_start(c, l2, settings);
    u = (struct leads){c->b[l2], l2, e2 - 1, -1, -1, -1};
    assert_true(kt_until(leads, &u, KB_WAIT_MS));
    hw = (struct answered){c->b[l2], -1};
    assert_true(kt_until(answered, &hw, KB_WAIT_MS));
    assert_int_equal(hw.hw, N); /* the first answer already: restored, not re-confirmed */
    consume_all(c->b[l2]);
    snprintf(want, sizeof(want), TOPIC "-0 loaded: log [0, %d), HW %d, 2 leader epochs "
             "(leader-epoch-checkpoint)", N, N);
    assert_true(kb_log_has(c->b[l2], want));
    assert_int_equal(ask(c->b[l2], u.epoch, e2, &e, &end), 0);
    assert_int_equal(e, e2); /* the batches alone would say e1 */
    assert_int_equal(end, N);
    assert_int_equal(ask(c->b[l2], u.epoch, e1, &e, &end), 0);
    assert_int_equal(e, e1);
    assert_int_equal(end, N);
    printf("# %d restarted alone, leads at epoch %d: HW %d at its first answer; epoch %d "
           "ends at %d\n", (int)l2, (int)u.epoch, N, (int)e2, N);

    /* 4. l2 gives the lead to X, who never had e2, and restarts as X's follower with e2
     *    at its log end (from its file): the leader's answer cuts no record, the epoch
     *    goes, and l2 is back in the ISR (kept, e2 would be asked about forever). */
    for (int id = 1; id <= 3; id++)
        if (id != l2)
            kcl_start(c, id, settings);
    kcl_await_brokers(c, 3);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    kb_stop(c->b[l2]);
    u = (struct leads){c->b[l], -1, e2, l2, -1, -1};
    assert_true(kt_until(leads, &u, KB_WAIT_MS));
    int32_t x = u.leader, e3 = u.epoch;
    kcl_start(c, l2, settings);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    ef = file_of(c->b[l2], TOPIC "-0/leader-epoch-checkpoint");
    snprintf(want, sizeof(want), "0\n1\n%d 0\n", (int)e1);
    assert_non_null(ef);
    assert_string_equal(ef, want);
    free(ef);
    printf("# %d leads at epoch %d; %d follows it again, epoch %d forgotten\n", (int)x,
           (int)e3, (int)l2, (int)e2);

    /* 5. Corrupt files: logged, the batch scan instead, a valid file again, every record. */
    kb_stop(c->b[l2]);
    file_put(c->b[l2], TOPIC "-0/leader-epoch-checkpoint", "0\n5\n1 0\n"); /* a count that lies */
    file_put(c->b[l2], "replication-offset-checkpoint", "0\n1\nckpt 0\n");
    kcl_start(c, l2, settings);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    assert_true(kb_log_has(c->b[l2], "leader-epoch-checkpoint is unreadable"));
    assert_true(kb_log_has(c->b[l2], "replication-offset-checkpoint is unreadable"));
    ef = file_of(c->b[l2], TOPIC "-0/leader-epoch-checkpoint");
    assert_non_null(ef);
    assert_string_equal(ef, want); /* rewritten from the batches */
    free(ef);
    memset(seen, 0, sizeof(seen));
    assert_int_equal(krep_log_records(c->b[l2], TOPIC, 0, on_value, NULL), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    consume_all(c->b[x]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0316_restart_keeps_epochs_and_hw, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
