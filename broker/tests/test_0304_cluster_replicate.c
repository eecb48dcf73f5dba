/*
 * test_0304_cluster_replicate - the brokers replicate: with replication factor 3 and
 * min.insync.replicas 2, every record librdkafka got an acks=all acknowledgement for is in
 * the segment files of ALL THREE brokers the moment the acknowledgement arrives (the ISR
 * had it on disk), once each and in order; and a consumer never sees past the high
 * watermark: with both followers stopped (SIGSTOP) an acks=1 record sits in the leader's
 * log, invisible to Fetch, until the followers come back and copy it; and two brokers
 * never hand out the same producer id. With num.replica.fetchers 3, a follower's
 * partitions are spread over three fetchers per leader, and every acks=all record of
 * every partition is on every replica all the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define TOPIC "orders"
#define N 3000

static const char *const settings[] = {"min.insync.replicas=2", NULL};

static void start3(struct kcl *c)
{
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, settings);
    kcl_await_brokers(c, 3);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 1, 3), 0);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
}

/* Produce messages [from, to) with acks; every one must be acknowledged. */
static void produce(struct kcl *c, struct krep_acks *d, const char *acks, int from, int to)
{
    rd_kafka_t *rk = krep_producer(c, d, acks, NULL);
    rd_kafka_topic_t *rkt = rdk.rd_kafka_topic_new(rk, TOPIC, NULL);
    for (int i = from; i < to; i++)
        krep_produce(rk, rkt, i);
    assert_int_equal(rdk.rd_kafka_flush(rk, 60000), 0);
    rdk.rd_kafka_topic_destroy(rkt);
    krep_destroy(rk);
    if (d->failed)
        fail_msg("%d produce(s) failed: %s", d->failed, rdk.rd_kafka_err2str(d->first_err));
    assert_int_equal(d->delivered, to - from);
}

struct seen {
    int n;
    int64_t next_offset;
    int64_t value_at[N + 1]; /* offset -> value number */
};

static void on_value(void *arg, int64_t offset, const uint8_t *v, int32_t len)
{
    struct seen *s = arg;
    char buf[32];
    assert_true(len > 1 && len < (int32_t)sizeof(buf) && v[0] == 'v');
    memcpy(buf, v + 1, (size_t)len - 1);
    buf[len - 1] = '\0';
    assert_int_equal(offset, s->next_offset); /* dense, in order */
    s->next_offset++;
    if (offset <= N)
        s->value_at[offset] = atoll(buf);
    s->n++;
}

static void test_0304_acks_all_is_on_every_replica(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    static struct krep_acks d;
    static struct seen s;
    KREP_REQUIRE_RDKAFKA();
    start3(c);
    int64_t t0 = kc_mono_ms();
    produce(c, &d, "all", 0, N);
    int64_t ms = kc_mono_ms() - t0;
    /* Right now, without waiting: every acknowledged record is on every replica. */
    for (int id = 1; id <= 3; id++) {
        memset(&s, 0, sizeof(s));
        int got = krep_log_records(c->b[id], TOPIC, 0, on_value, &s);
        printf("# broker %d holds %d records\n", id, got);
        assert_int_equal(got, N);
        for (int i = 0; i < N; i++)
            assert_int_equal(s.value_at[d.offset[i]], i);
    }
    int32_t leader, epoch;
    int isr;
    krep_leader(c->b[1], TOPIC, 0, &leader, &epoch, &isr);
    assert_int_equal(isr, 3);
    printf("# %d acks=all records (RF 3, min.insync 2) in %lld ms, on all three logs\n", N,
           (long long)ms);
}

struct hw_at {
    const struct kb_broker *b;
    int64_t hw;
};

static bool hw_reaches(void *arg)
{
    struct hw_at *h = arg;
    int16_t err;
    int64_t hw;
    int32_t bytes;
    krep_fetch(h->b, TOPIC, 0, 0, &err, &hw, &bytes);
    return err == 0 && hw >= h->hw;
}

static void test_0304_consumer_never_sees_beyond_the_hw(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    int64_t base;
    start3(c);
    int32_t leader, epoch;
    krep_leader(c->b[1], TOPIC, 0, &leader, &epoch, NULL);
    const struct kb_broker *lb = c->b[leader];
    assert_int_equal(krep_produce_raw(lb, TOPIC, 0, -1, 10, &base), 0); /* acks=all */
    struct hw_at at10 = {lb, 10};
    assert_true(kt_until(hw_reaches, &at10, KB_WAIT_MS));
    for (int id = 1; id <= 3; id++)
        if (id != leader)
            assert_int_equal(kill(c->b[id]->pid, SIGSTOP), 0);
    /* In the leader's log, on no follower; straight to the leader and at once: the stopped
     * followers' ZooKeeper sessions expire after 2 s, and then the ISR is the leader alone. */
    assert_int_equal(krep_produce_raw(lb, TOPIC, 0, 1, 1, &base), 0);
    assert_int_equal(base, 10);
    int16_t err;
    int64_t hw;
    int32_t bytes;
    krep_fetch(lb, TOPIC, 0, 10, &err, &hw, &bytes);
    assert_int_equal(err, 0);
    assert_int_equal(hw, 10);   /* the high watermark stays */
    assert_int_equal(bytes, 0); /* and offset 10 is not served */
    int got = krep_log_records(lb, TOPIC, 0, NULL, NULL);
    assert_int_equal(got, 11); /* though the leader has it */
    for (int id = 1; id <= 3; id++)
        if (id != leader)
            assert_int_equal(kill(c->b[id]->pid, SIGCONT), 0);
    struct hw_at at11 = {lb, 11};
    assert_true(kt_until(hw_reaches, &at11, KB_WAIT_MS));
    krep_fetch(lb, TOPIC, 0, 10, &err, &hw, &bytes);
    assert_int_equal(err, 0);
    assert_true(bytes > 0); /* now it is served */
    printf("# an acks=1 record above the HW stayed invisible while the followers were "
           "stopped, and was served once they copied it\n");
}

#define WIDE "wide"
#define WIDE_PARTS 6
#define WIDE_PER 40

static void test_0304_three_fetchers_per_leader_copy_every_partition(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    static const char *const three[] = {"min.insync.replicas=2", "num.replica.fetchers=3",
                                        NULL};
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, three);
    kcl_await_brokers(c, 3);
    assert_int_equal(kcl_create_topic(c->b[1], WIDE, WIDE_PARTS, 3), 0);
    kcl_await_topic(c, 3, WIDE, WIDE_PARTS, 3);
    for (int32_t p = 0; p < WIDE_PARTS; p++) { /* acks=all: on every ISR member's disk */
        int32_t leader, epoch;
        char prefix[16];
        krep_leader(c->b[1], WIDE, p, &leader, &epoch, NULL);
        snprintf(prefix, sizeof(prefix), "w%d-", (int)p);
        for (int k = 0; k < WIDE_PER / 10; k++)
            assert_int_equal(krep_produce_as(c->b[leader], WIDE, p, -1, prefix, 10, NULL), 0);
    }
    int fetchers = 0;
    for (int id = 1; id <= 3; id++) {
        for (int32_t p = 0; p < WIDE_PARTS; p++)
            assert_int_equal(krep_log_records(c->b[id], WIDE, p, NULL, NULL), WIDE_PER);
        for (int k = 1; k <= 3; k++) {
            char line[32];
            snprintf(line, sizeof(line), "(fetcher %d of 3)", k);
            fetchers += kb_log_has(c->b[id], line);
        }
    }
    assert_true(fetchers >= 2); /* 12 follower partitions: not all on one fetcher index */
    printf("# num.replica.fetchers 3: %d (broker, fetcher index) pairs seen in use; %d "
           "acks=all records in each of %d partitions, on all three replicas\n", fetchers,
           WIDE_PER, WIDE_PARTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0304_acks_all_is_on_every_replica, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0304_consumer_never_sees_beyond_the_hw, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0304_three_fetchers_per_leader_copy_every_partition,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
