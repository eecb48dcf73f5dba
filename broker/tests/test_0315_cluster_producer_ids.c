/*
 * test_0315_cluster_producer_ids - producer ids are unique across a cluster (the bug the
 * chaos harness found: every broker handed out ids from its own file, so brokers 1, 2
 * and 3 all gave out 0, 1, 2, ...). A real ZooKeeper and three real brokers:
 *
 *  - thousands of InitProducerId spread over the three brokers: every id distinct;
 *  - a broker stopped, its data directory wiped, started again with the same broker.id:
 *    its ids are fresh (a block from ZooKeeper, not from a file that is gone);
 *  - ZooKeeper paused (SIGSTOP) while a broker's blocks run out: InitProducerId answers
 *    COORDINATOR_NOT_AVAILABLE (15, retriable) at once, never a hang, never a reused id;
 *    ids again once ZooKeeper resumes (SIGCONT);
 *  - the symptom itself: two idempotent producers that asked different brokers for their
 *    ids each write their first batch (sequence 0) to one partition - both are written,
 *    at two offsets (with a shared id the second was answered with the first's offset
 *    and never written).
 *
 * InitProducerId v4 as raw frames through the Kafka codec (kt_call).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcl.h"
#include "kc_batch.h"

#define PER_BROKER 1500 /* ids asked of each broker: more than a block */

static uint8_t buf[1 << 14];

/* InitProducerId v4 without a transactional id: the error, and the id in *pid. */
static int16_t init_pid(int fd, int64_t *pid)
{
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_init_producer_id_req *r = KT_NEW(&a, kp_init_producer_id_req, 1);
    r->transactional_id = (struct kc_slice){NULL, -1};
    r->transaction_timeout_ms = 60000;
    r->producer_id = -1;
    r->producer_epoch = -1;
    const struct kp_init_producer_id_resp *ans =
        kt_call(fd, KP_API_INIT_PRODUCER_ID, 4, r, buf, sizeof(buf), &resp);
    int16_t err = ans->error_code;
    *pid = ans->producer_id;
    if (err == 0)
        assert_int_equal(ans->producer_epoch, 0);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* An id from fd, retrying COORDINATOR_NOT_AVAILABLE as a client would (bounded). */
static int64_t one_id(int fd, int *retries)
{
    int64_t pid;
    int64_t t0 = kc_mono_ms();
    for (;;) {
        int16_t err = init_pid(fd, &pid);
        if (err == 0)
            return pid;
        assert_int_equal(err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
        if (kc_mono_ms() - t0 > KB_WAIT_MS)
            fail_msg("no producer id within %d ms", KB_WAIT_MS);
        (*retries)++;
        usleep(10000);
    }
}

/* Brokers 1-3, with extra settings (NULL-terminated, may be NULL). */
static void start3(struct kcl *c, const char *const *extra)
{
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, extra);
    kcl_await_brokers(c, 3);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every one of ids[0..n) distinct (sorts them). */
static void assert_distinct(int64_t *ids, int n)
{
    qsort(ids, (size_t)n, sizeof(ids[0]), cmp_i64);
    for (int i = 1; i < n; i++)
        if (ids[i] == ids[i - 1])
            fail_msg("producer id %lld handed out twice", (long long)ids[i]);
}

static void test_0315_ids_distinct_across_brokers(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c, NULL);
    static int64_t ids[3 * PER_BROKER];
    int fd[4], n = 0, retries = 0;
    for (int id = 1; id <= 3; id++)
        fd[id] = kb_connect(c->b[id]);
    int64_t t0 = kc_mono_ms();
    for (int i = 0; i < PER_BROKER; i++)
        for (int id = 1; id <= 3; id++)
            ids[n++] = one_id(fd[id], &retries);
    int64_t ms = kc_mono_ms() - t0;
    for (int id = 1; id <= 3; id++)
        close(fd[id]);
    assert_distinct(ids, n);
    printf("# %d InitProducerId over 3 brokers in %lld ms (%d retried): all distinct, "
           "ids in [%lld, %lld]\n",
           n, (long long)ms, retries, (long long)ids[0], (long long)ids[n - 1]);
}

static void test_0315_wiped_broker_fresh_ids(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c, NULL);
    int64_t before[20], after[10];
    int retries = 0;
    int fd = kb_connect(c->b[2]);
    for (int i = 0; i < 10; i++)
        before[i] = one_id(fd, &retries);
    close(fd);
    fd = kb_connect(c->b[1]);
    for (int i = 10; i < 20; i++)
        before[i] = one_id(fd, &retries);
    close(fd);
    kb_stop(c->b[2]);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->b[2]->data);
    assert_int_equal(system(cmd), 0);
    kcl_start(c, 2, NULL);
    struct kcl_until_brokers u = {c->b[2], 3};
    assert_true(kt_until(kcl_has_brokers, &u, KB_WAIT_MS));
    fd = kb_connect(c->b[2]);
    for (int i = 0; i < 10; i++)
        after[i] = one_id(fd, &retries);
    close(fd);
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 20; j++)
            if (after[i] == before[j])
                fail_msg("the wiped broker handed out %lld again", (long long)after[i]);
    printf("# broker 2 before the wipe: %lld..; after: %lld.. (a fresh block)\n",
           (long long)before[0], (long long)after[0]);
}

static void test_0315_zookeeper_paused_retriable_then_ids(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c, NULL);
    static int64_t ids[4000];
    int n = 0, retries = 0, refused = 0;
    int fd = kb_connect(c->b[1]);
    ids[n++] = one_id(fd, &retries); /* broker 1 holds a block */
    clu_zks_pause(&kcl_zk, true);
    int64_t worst = 0, t0 = kc_mono_ms();
    while (n < 3000) { /* at most the current block and a spare */
        int64_t pid, t = kc_mono_ms();
        int16_t err = init_pid(fd, &pid);
        worst = KC_MAX(worst, kc_mono_ms() - t);
        if (err == KP_ERR_COORDINATOR_NOT_AVAILABLE) {
            refused++;
            break;
        }
        assert_int_equal(err, 0);
        ids[n++] = pid;
    }
    int64_t pause_ms = kc_mono_ms() - t0;
    clu_zks_pause(&kcl_zk, false);
    assert_int_equal(refused, 1);
    assert_true(worst < 1000); /* answered at once, not after a ZooKeeper timeout */
    for (int i = 0; i < 10; i++)
        ids[n++] = one_id(fd, &retries);
    close(fd);
    assert_true(kb_log_has(c->b[1], "no block from ZooKeeper ready"));
    printf("# ZooKeeper paused: %d ids from the prefetched blocks, then COORDINATOR_NOT_"
           "AVAILABLE after %lld ms (slowest answer %lld ms); after SIGCONT ids again "
           "(%d retries)\n",
           n - 11, (long long)pause_ms, (long long)worst, retries);
    assert_distinct(ids, n);
}

/* Sequence 0 of producer pid ("from <pid>") to topic-0 through fd, acks=all: its offset. */
static int64_t produce_first(int fd, const char *topic, int64_t pid)
{
    struct kc_batch_opts o;
    struct kc_batch_builder bb;
    uint8_t *batch;
    size_t len;
    char v[48];
    kc_batch_opts_default(&o);
    o.producer_id = pid;
    o.producer_epoch = 0;
    o.base_sequence = 0;
    kc_batch_builder_init(&bb, &o, 0);
    int n = snprintf(v, sizeof(v), "from %lld", (long long)pid);
    assert_int_equal(kc_batch_builder_add(&bb, kc_wall_ms(), NULL, -1, v, n, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&bb, &batch, &len), 0);
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_produce_req *r = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 1);
    p->records = (struct kc_slice){batch, (int32_t)len};
    t->name = kp_slice_str(topic);
    KP_SET(t->partition_data, 1, p);
    r->transactional_id = (struct kc_slice){NULL, -1};
    r->acks = -1;
    r->timeout_ms = 10000;
    KP_SET(r->topic_data, 1, t);
    const struct kp_produce_resp *ans = kt_call(fd, KP_API_PRODUCE, 9, r, buf, sizeof(buf), &resp);
    const struct kp_produce_resp_partition_produce_response *pr =
        &ans->responses.v[0].partition_responses.v[0];
    assert_int_equal(pr->error_code, 0);
    int64_t offset = pr->base_offset;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    kc_batch_builder_fini(&bb);
    return offset;
}

static void test_0315_producers_of_two_brokers_both_written(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    /* one replica: its leadership cannot move, so skip the controlled shutdown's retries */
    static const char *const quick_stop[] = {"controlled.shutdown.enable=false", NULL};
    start3(c, quick_stop);
    assert_int_equal(kcl_create_topic(c->b[1], "pidt", 1, 1), 0);
    kcl_await_topic(c, 3, "pidt", 1, 1);
    struct kp_response resp;
    const struct kp_metadata_resp *m =
        kcl_metadata(c->b[1], "pidt", false, buf, sizeof(buf), &resp);
    int leader = kcl_part(m, 0)->leader_id;
    kp_response_fini(&resp);
    int64_t pid[2], offset[2];
    int retries = 0;
    for (int i = 0; i < 2; i++) { /* producer i asks broker i + 1 */
        int fd = kb_connect(c->b[i + 1]);
        pid[i] = one_id(fd, &retries);
        close(fd);
    }
    int fd = kb_connect(c->b[leader]);
    for (int i = 0; i < 2; i++)
        offset[i] = produce_first(fd, "pidt", pid[i]);
    close(fd);
    printf("# producers %lld (id from broker 1) and %lld (broker 2): sequence 0 of each "
           "written at offsets %lld and %lld of the leader, broker %d\n",
           (long long)pid[0], (long long)pid[1], (long long)offset[0], (long long)offset[1],
           leader);
    if (offset[1] != offset[0] + 1) /* what the chaos harness saw */
        fail_msg("producer %lld's first batch answered with offset %lld, %lld's was at %lld: "
                 "taken for a retry, not written",
                 (long long)pid[1], (long long)offset[1], (long long)pid[0], (long long)offset[0]);
    assert_true(pid[0] != pid[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0315_ids_distinct_across_brokers, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0315_wiped_broker_fresh_ids, kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0315_producers_of_two_brokers_both_written, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0315_zookeeper_paused_retriable_then_ids, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
