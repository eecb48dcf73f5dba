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
 *    ids again once ZooKeeper resumes (SIGCONT).
 *
 * InitProducerId v4 as raw frames through the Kafka codec (kt_call).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcl.h"

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

static void start3(struct kcl *c)
{
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, NULL);
    for (int id = 1; id <= 3; id++) {
        struct kcl_until_brokers u = {c->b[id], 3};
        assert_true(kt_until(kcl_has_brokers, &u, KB_WAIT_MS));
    }
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
    start3(c);
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
    start3(c);
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
    start3(c);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0315_ids_distinct_across_brokers, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0315_wiped_broker_fresh_ids, kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0315_zookeeper_paused_retriable_then_ids, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
