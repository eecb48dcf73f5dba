/*
 * test_0307_cluster_leader_epoch - OffsetForLeaderEpoch in a cluster of three (replication
 * factor 3): the leader answers where each epoch ended, from its replica's epoch cache;
 * a follower says NOT_LEADER_OR_FOLLOWER; an asker whose current_leader_epoch is older or
 * newer than the leader's is told FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH. After a
 * leader change (controlled shutdown of the leader), the new leader answers the old
 * epoch's end - the offset its own epoch starts at, which is what a consumer of KIP-320
 * compares its position with - and its own epoch's end is its log end. A reader of the new
 * leader then finds every record, the ones of both epochs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define TOPIC "epochs"
#define BEFORE 400 /* records produced in the first leader's epoch */
#define AFTER 300  /* and in the next leader's */

static struct krep_acks acks;

/* OffsetForLeaderEpoch of TOPIC 0 from b, as a consumer asks it. */
static int16_t ask(const struct kb_broker *b, int32_t current, int32_t epoch, int32_t *end_epoch,
                   int64_t *end)
{
    return krep_epoch_end(b, TOPIC, 0, current, epoch, end_epoch, end);
}

/* Produce values [from, to) acks=all through every running broker; all acknowledged. */
static void produce(struct kcl *c, int from, int to)
{
    rd_kafka_t *rk = krep_producer(c, &acks, "all", NULL);
    rd_kafka_topic_t *rkt = rdk.rd_kafka_topic_new(rk, TOPIC, NULL);
    for (int i = from; i < to; i++)
        krep_produce(rk, rkt, i);
    (void)rdk.rd_kafka_flush(rk, 60000);
    rdk.rd_kafka_topic_destroy(rkt);
    krep_destroy(rk);
    assert_int_equal(acks.failed, 0);
    assert_int_equal(acks.delivered, to - from);
}

struct new_leader {
    const struct kb_broker *asked;
    int32_t old, epoch, leader, now_epoch;
};

static bool leader_moved(void *arg)
{
    struct new_leader *u = arg;
    krep_leader(u->asked, TOPIC, 0, &u->leader, &u->now_epoch, NULL);
    return u->leader >= 1 && u->leader != u->old && u->now_epoch > u->epoch;
}

static int seen[BEFORE + AFTER];

static void on_value(void *arg, int64_t offset, const uint8_t *v, int32_t len)
{
    (void)arg, (void)offset;
    assert_true(len > 1 && len < 16 && v[0] == 'v');
    char s[16];
    memcpy(s, v + 1, (size_t)len - 1);
    s[len - 1] = '\0';
    int i = atoi(s);
    assert_true(i >= 0 && i < BEFORE + AFTER);
    seen[i]++;
}

static void test_0307_new_leader_answers_the_old_epochs_end(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    KREP_REQUIRE_RDKAFKA();
    int32_t leader, epoch, e;
    int64_t end;
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, NULL);
    kcl_await_brokers(c, 3);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 1, 3), 0);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    krep_leader(c->b[1], TOPIC, 0, &leader, &epoch, NULL);
    produce(c, 0, BEFORE);

    /* The first leader: its epoch is the latest, so it ends at the log end. */
    assert_int_equal(ask(c->b[leader], epoch, epoch, &e, &end), 0);
    assert_int_equal(e, epoch);
    assert_int_equal(end, BEFORE);
    assert_int_equal(ask(c->b[leader], epoch + 1, epoch, &e, &end), 75); /* UNKNOWN_LEADER_EPOCH */
    assert_int_equal(ask(c->b[leader], -1, epoch + 7, &e, &end), 0);    /* newer than any */
    assert_int_equal(e, -1);
    assert_int_equal(end, -1);
    assert_int_equal(ask(c->b[leader % 3 + 1], epoch, epoch, &e, &end), 6); /* a follower */

    /* A leader change: the leader stops (controlled shutdown), another takes over. */
    kb_stop(c->b[leader]);
    struct new_leader u = {c->b[leader % 3 + 1], leader, epoch, -1, -1};
    assert_true(kt_until(leader_moved, &u, KB_WAIT_MS));
    printf("# leader %d (epoch %d) stopped; broker %d leads at epoch %d\n", (int)leader,
           (int)epoch, (int)u.leader, (int)u.now_epoch);
    produce(c, BEFORE, BEFORE + AFTER);

    /* The new leader: the old epoch ended where its own started, at BEFORE. */
    const struct kb_broker *nl = c->b[u.leader];
    assert_int_equal(ask(nl, u.now_epoch, epoch, &e, &end), 0);
    assert_true(e >= 0 && e <= epoch);
    assert_int_equal(end, BEFORE);
    assert_int_equal(ask(nl, u.now_epoch, u.now_epoch, &e, &end), 0);
    assert_int_equal(e, u.now_epoch);
    assert_int_equal(end, BEFORE + AFTER);
    assert_int_equal(ask(nl, epoch, epoch, &e, &end), 74); /* FENCED_LEADER_EPOCH */
    printf("# the new leader: epoch %d ended at %d, epoch %d ends at %d\n", (int)epoch, BEFORE,
           (int)u.now_epoch, BEFORE + AFTER);

    int n = krep_consume(nl, TOPIC, 0, on_value, NULL);
    assert_int_equal(n, BEFORE + AFTER);
    for (int i = 0; i < BEFORE + AFTER; i++)
        assert_int_equal(seen[i], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0307_new_leader_answers_the_old_epochs_end,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
