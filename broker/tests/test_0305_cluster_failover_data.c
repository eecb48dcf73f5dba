/*
 * test_0305_cluster_failover_data - kill -9 of the leader in the middle of an idempotent
 * acks=all produce (replication factor 3, min.insync.replicas 2): ZooKeeper expires its
 * session, the controller elects an in-sync follower, librdkafka finds it and goes on,
 * and a consumer of the new leader reads every acknowledged record exactly once, in the
 * order produced (retries of batches the old leader took but never acknowledged are
 * recognised by the producer state the followers rebuilt from the replicated batches).
 * Prints the failover time: from the kill to the next acknowledgement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define TOPIC "orders"
#define M 6000
#define KILL_AT 2000

static const char *const settings[] = {"min.insync.replicas=2", NULL};

static struct krep_acks acks;
static int64_t acked_ms[M]; /* when each acknowledgement arrived (monotonic) */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    krep_on_delivery(rk, m, opaque);
    if (!m->err)
        acked_ms[(int)(intptr_t)m->_private] = kc_mono_ms();
}

struct consumed {
    int count[M];
    int last; /* the last value read: values must increase */
    bool order_ok;
};

static void on_value(void *arg, int64_t offset, const uint8_t *v, int32_t len)
{
    struct consumed *c = arg;
    char buf[32];
    (void)offset;
    assert_true(len > 1 && len < (int32_t)sizeof(buf) && v[0] == 'v');
    memcpy(buf, v + 1, (size_t)len - 1);
    buf[len - 1] = '\0';
    int i = atoi(buf);
    assert_true(i >= 0 && i < M);
    c->count[i]++;
    if (i <= c->last)
        c->order_ok = false;
    c->last = i;
}

static void test_0305_kill9_leader_loses_no_acknowledged_record(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    static struct consumed got;
    KREP_REQUIRE_RDKAFKA();
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, settings);
    kcl_await_brokers(c, 3);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 1, 3), 0);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    int32_t leader, epoch, now, now_epoch;
    krep_leader(c->b[1], TOPIC, 0, &leader, &epoch, NULL);

    rd_kafka_t *rk = krep_producer(c, &acks, "all", on_delivery);
    rd_kafka_topic_t *rkt = rdk.rd_kafka_topic_new(rk, TOPIC, NULL);
    int64_t kill_ms = 0;
    for (int i = 0; i < M; i++) {
        if (i == KILL_AT) {
            while (acks.delivered < KILL_AT / 2) /* mid-produce: some acked, some in flight */
                rdk.rd_kafka_poll(rk, 5);
            kb_kill9(c->b[leader]);
            kill_ms = kc_mono_ms();
        }
        krep_produce(rk, rkt, i);
        if (i % 50 == 0)
            rdk.rd_kafka_poll(rk, 1); /* a steady pace, not one burst */
    }
    (void)rdk.rd_kafka_flush(rk, 90000);
    rdk.rd_kafka_topic_destroy(rkt);
    krep_destroy(rk);
    printf("# %d of %d acknowledged, %d failed (%s)\n", acks.delivered, M, acks.failed,
           acks.failed ? rdk.rd_kafka_err2str(acks.first_err) : "-");
    int64_t first_after = 0;
    for (int i = 0; i < M; i++)
        if (acks.offset[i] >= 0 && acked_ms[i] > kill_ms &&
            (!first_after || acked_ms[i] < first_after))
            first_after = acked_ms[i];
    krep_leader(c->b[leader % 3 + 1], TOPIC, 0, &now, &now_epoch, NULL);
    assert_true(now >= 1 && now != leader && now_epoch > epoch);
    printf("# kill -9 of leader %d: broker %d leads at epoch %d; the next acknowledgement "
           "came %lld ms after the kill\n", (int)leader, (int)now, (int)now_epoch,
           (long long)(first_after - kill_ms));

    got.last = -1;
    got.order_ok = true;
    int n = krep_consume(c->b[now], TOPIC, 0, on_value, &got);
    int lost = 0, dups = 0;
    for (int i = 0; i < M; i++) {
        if (acks.offset[i] >= 0 && got.count[i] == 0)
            lost++;
        if (got.count[i] > 1)
            dups++;
    }
    printf("# the new leader serves %d records: %d acknowledged lost, %d duplicated, %s\n", n,
           lost, dups, got.order_ok ? "in order" : "OUT OF ORDER");
    assert_int_equal(lost, 0);
    assert_int_equal(dups, 0);
    assert_true(got.order_ok);
    assert_int_equal(acks.failed, 0); /* the idempotent producer rode through the failover */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0305_kill9_leader_loses_no_acknowledged_record,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
