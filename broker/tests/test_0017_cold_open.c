/*
 * test_0017_cold_open.c - a network loop never waits for a log to open (issue 11).
 *
 * The store keeps a bounded cache of open logs (log.cache.max.open.files); a request for
 * a closed one parks until the store's thread has opened it (brk_logs_ready), its
 * connection pauses meanwhile, and the request is served again. Proven here on one network
 * loop (num.network.threads=1: every connection shares it):
 *
 *   - pipelined produces to many cold partitions, through a cache of 4 files: every one
 *     appended, in order, none lost or duplicated, answers in request order;
 *   - a slow open (the fault shim delays the store's journal write, which every open
 *     makes first) does not stop another client of the same loop: its latency meanwhile
 *     is measured and printed;
 *   - a client that disconnects while its request waits for an open leaks nothing (the
 *     broker then stops cleanly; under ASan, LeakSanitizer would fail its exit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sys/resource.h>

#include "kafka/kflt.h"
#include "kafka/kt.h"
#include "kp_msgs.h"
#include "support/harness.h"
#include "kc_common.h"
#include "kc_test.h"

#define S(s) np_str(s)
#define PARTS 32

static uint8_t buf[1 << 20]; /* Kafka answers */
#define SLOW_MS 1500

static void make_topic(const struct kb_broker *b, const char *topic, int32_t parts)
{
    struct np_client c;
    struct np_create_topic_resp cr;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, topic, parts, &cr), 0);
    np_client_close(&c);
}

static const char *const one_loop[] = {"--override", "num.network.threads=1", "--override",
                                       "log.cache.max.open.files=4", NULL};

/* Start, make the topic, restart: every partition is closed (cold) now. */
static void start_cold(struct kb_broker *b, const char *topic, int parts)
{
    kb_start(b, one_loop);
    make_topic(b, topic, parts);
    kb_stop(b);
    kb_start(b, one_loop);
}

static void produce_one(struct np_client *c, const char *topic, int32_t p, const char *v,
                        int64_t *offset)
{
    struct np_produce_resp pr;
    struct np_produce_req req = {np_str(topic), p, 1, -1, {NULL, -1}, np_str(v)};
    assert_int_equal(np_client_produce(c, &req, &pr), 0);
    if (offset)
        *offset = pr.offset;
}

static void test_0017_pipelined_produces_to_cold_partitions_keep_order(void **state)
{
    struct kb_broker *b = *state;
    enum { N = 8 * PARTS };
    struct np_client c;
    struct np_frame f;
    char v[32];
    start_cold(b, "cold", PARTS);
    kb_client(b, &c);
    for (int i = 0; i < N; i++) { /* all sent before any answer is read */
        snprintf(v, sizeof(v), "v%d", i);
        struct np_produce_req req = {S("cold"), i % PARTS, 1, -1, {NULL, -1}, np_str(v)};
        np_encode_produce(np_client_out(&c), np_client_next_corr(&c), &req);
    }
    int64_t t0 = kc_mono_ms();
    assert_int_equal(np_client_flush(&c), 0);
    for (int i = 0; i < N; i++) {
        struct np_produce_resp pr;
        assert_int_equal(np_client_recv(&c, &f), 0);
        assert_int_equal(np_client_check(&c, &f), 0); /* its correlation id, in order */
        assert_int_equal(np_decode_produce_resp(f.body, f.body_len, &pr), 0);
        assert_int_equal(pr.partition, i % PARTS);
        assert_int_equal(pr.offset, i / PARTS); /* appended in the order sent */
    }
    printf("# figure: %d pipelined produces over %d cold partitions, cache of 4 files: "
           "%lld ms\n", N, PARTS, (long long)(kc_mono_ms() - t0));
    for (int i = 0; i < N; i++) { /* every record there once, in its place */
        struct np_consume_resp cr;
        struct np_consume_req q = {S("cold"), i % PARTS, i / PARTS};
        snprintf(v, sizeof(v), "v%d", i);
        assert_int_equal(np_client_consume(&c, &q, &cr), 0);
        assert_int_equal(cr.log_end, N / PARTS);
        assert_int_equal(cr.value.len, (int32_t)strlen(v));
        assert_memory_equal(cr.value.p, v, strlen(v));
    }
    /* Keyless (the broker picks round-robin): the request served again after its open
     * keeps the partition first picked, closed or not the next one in turn. */
    kb_stop(b);
    kb_start(b, one_loop); /* every partition closed again */
    np_client_close(&c);
    kb_client(b, &c);
    for (int i = 0; i < N; i++) {
        struct np_produce_req req = {S("cold"), -1, 1, -1, {NULL, -1}, S("rr")};
        np_encode_produce(np_client_out(&c), np_client_next_corr(&c), &req);
    }
    assert_int_equal(np_client_flush(&c), 0);
    int64_t per_part[PARTS] = {0};
    for (int i = 0; i < N; i++) {
        struct np_produce_resp pr;
        assert_int_equal(np_client_recv(&c, &f), 0);
        assert_int_equal(np_client_check(&c, &f), 0); /* no error: none refused */
        assert_int_equal(np_decode_produce_resp(f.body, f.body_len, &pr), 0);
        assert_true(pr.partition >= 0 && pr.partition < PARTS);
        assert_int_equal(pr.offset, N / PARTS + per_part[pr.partition]++);
    }
    np_client_close(&c);
    kb_stop(b);
}

/* ---- a slow open, through the fault shim ------------------------------------------------- */

/* The broker started with the shim loaded (kflt.h), its control block in s. */
static void shim_start(struct kb_broker *b, struct kflt *s, const char *const *args)
{
    kflt_map(s, b->dir);
    kflt_env(s, true);
    kb_start(b, args);
    kflt_env(s, false);
}

/* Every log open from now on writes its journal line slowly: a slow disk under the open. */
static void slow_opens(struct kflt *s, int ms)
{
    snprintf(s->ctl->match, sizeof(s->ctl->match), "open-log-journal");
    atomic_store(&s->ctl->err, 0);
    atomic_store(&s->ctl->delay_ms, ms);
    atomic_store(&s->ctl->remaining, -1);
    atomic_store(&s->ctl->ops, FLT_WRITE);
}

struct slow_produce {
    const struct kb_broker *b;
    int64_t took_ms;
    int64_t offset;
};

static void *produce_cold(void *arg)
{
    struct slow_produce *sp = arg;
    struct np_client c;
    kb_client(sp->b, &c);
    int64_t t0 = kc_mono_ms();
    produce_one(&c, "slow", 0, "cold one", &sp->offset);
    sp->took_ms = kc_mono_ms() - t0;
    np_client_close(&c);
    return NULL;
}

static void test_0017_slow_open_does_not_stall_the_loop(void **state)
{
    struct kb_broker *b = *state;
    struct kflt s;
    struct np_client warm;
    shim_start(b, &s, one_loop);
    make_topic(b, "slow", 4);
    kb_stop(b);
    shim_start(b, &s, one_loop);
    kb_client(b, &warm);
    produce_one(&warm, "slow", 1, "warm up", NULL); /* partition 1 open, before the slowness */
    slow_opens(&s, SLOW_MS);
    struct slow_produce sp = {b, 0, -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce_cold, &sp), 0);
    kc_sleep_ms(100); /* its open has begun */
    int64_t worst = 0, t_end = kc_mono_ms() + SLOW_MS - 300;
    int n = 0;
    while (kc_mono_ms() < t_end) { /* the same loop serves the warm client meanwhile */
        int64_t t0 = kc_mono_ms();
        produce_one(&warm, "slow", 1, "meanwhile", NULL);
        worst = KC_MAX(worst, kc_mono_ms() - t0);
        n++;
        kc_sleep_ms(20);
    }
    pthread_join(t, NULL);
    kflt_unmap(&s);
    printf("# figure: slow open of %d ms: the cold produce took %lld ms; %d produces of "
           "another client on the same loop meanwhile, the slowest %lld ms\n", SLOW_MS,
           (long long)sp.took_ms, n, (long long)worst);
    assert_int_equal(sp.offset, 0);
    assert_true(sp.took_ms >= SLOW_MS - 200); /* it did wait for the open ... */
    assert_true(n >= 5);
    assert_true(worst < SLOW_MS / 2);        /* ... and nobody else did */
    np_client_close(&warm);
    kb_stop(b);
}

static void test_0017_disconnect_while_waiting_leaks_nothing(void **state)
{
    struct kb_broker *b = *state;
    struct kflt s;
    struct np_client c;
    shim_start(b, &s, one_loop);
    make_topic(b, "gone", 4);
    kb_stop(b);
    shim_start(b, &s, one_loop);
    slow_opens(&s, 800);
    for (int p = 0; p < 4; p++) { /* each waits for its open, then goes away */
        kb_client(b, &c);
        struct np_produce_req req = {S("gone"), p, -1, -1, {NULL, -1}, S("lost")};
        np_encode_produce(np_client_out(&c), np_client_next_corr(&c), &req);
        assert_int_equal(np_client_flush(&c), 0);
        kc_sleep_ms(50);
        np_client_close(&c);
    }
    kc_sleep_ms(1500); /* the opens finish after their clients left */
    kflt_unmap(&s);
    kb_client(b, &c);
    int64_t off = -1;
    produce_one(&c, "gone", 0, "after", &off);
    assert_true(off == 0 || off == 1); /* the lost one may or may not have been served */
    np_client_close(&c);
    assert_false(kb_log_has(b, "ERROR"));
    kb_stop(b); /* clean exit: every park finished, nothing pinned, nothing leaked */
}

/* ---- the request's timeout, and a deletion, while it waits ------------------------------ */

/* One Kafka Produce (v9, acks=1) of one batch to topic-partition, timeout_ms: its error. */
static int16_t kafka_produce(int fd, const char *topic, int32_t partition, int32_t timeout_ms,
                             int64_t *base)
{
    static int32_t corr = 5000;
    struct kp_arena a;
    struct kp_response resp;
    static uint8_t rbuf[1 << 16];
    size_t len;
    uint8_t *batch = kb_batch("t", 1, &len);
    kp_arena_init(&a, 0);
    struct kp_produce_req *r = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 1);
    p->index = partition;
    p->records = (struct kc_slice){batch, (int32_t)len};
    t->name = kp_slice_str(topic);
    KP_SET(t->partition_data, 1, p);
    r->transactional_id = (struct kc_slice){NULL, -1};
    r->acks = 1;
    r->timeout_ms = timeout_ms;
    KP_SET(r->topic_data, 1, t);
    kt_send(fd, KP_API_PRODUCE, 9, ++corr, r);
    const struct kp_produce_resp *ans =
        kt_recv(fd, KP_API_PRODUCE, 9, corr, rbuf, sizeof(rbuf), &resp);
    int16_t err = ans->responses.v[0].partition_responses.v[0].error_code;
    *base = ans->responses.v[0].partition_responses.v[0].base_offset;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    free(batch);
    return err;
}

static void test_0017_timeout_while_opening_is_retriable(void **state)
{
    struct kb_broker *b = *state;
    struct kflt s;
    int64_t base;
    shim_start(b, &s, one_loop);
    make_topic(b, "tmo", 2);
    kb_stop(b);
    shim_start(b, &s, one_loop);
    int fd = kb_connect(b);
    slow_opens(&s, SLOW_MS);
    int64_t t0 = kc_mono_ms();
    assert_int_equal(kafka_produce(fd, "tmo", 0, 300, &base), KP_ERR_REQUEST_TIMED_OUT);
    int64_t took = kc_mono_ms() - t0;
    printf("# figure: a Produce with timeout_ms 300 to a partition whose open takes %d ms: "
           "REQUEST_TIMED_OUT after %lld ms\n", SLOW_MS, (long long)took);
    assert_true(took >= 250 && took < SLOW_MS - 300);
    kc_sleep_ms(SLOW_MS); /* the open finishes meanwhile */
    kflt_unmap(&s);
    assert_int_equal(kafka_produce(fd, "tmo", 0, 10000, &base), KP_ERR_NONE);
    assert_int_equal(base, 0); /* the timed-out one was never appended */
    close(fd);
    kb_stop(b);
}

static void test_0017_topic_deleted_while_waiting(void **state)
{
    struct kb_broker *b = *state;
    const char *args[] = {"--override", "num.network.threads=1", "--override",
                          "auto.create.topics.enable=false", NULL};
    struct kflt s;
    struct np_client c;
    struct np_frame f;
    struct kp_response resp;
    shim_start(b, &s, args);
    make_topic(b, "del", 2);
    kb_stop(b);
    shim_start(b, &s, args);
    slow_opens(&s, SLOW_MS);
    kb_client(b, &c);
    struct np_produce_req req = {S("del"), 0, 1, -1, {NULL, -1}, S("doomed")};
    np_encode_produce(np_client_out(&c), np_client_next_corr(&c), &req);
    assert_int_equal(np_client_flush(&c), 0);
    kc_sleep_ms(100); /* it waits for the open */
    int fd = kb_connect(b);
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_delete_topics_req *d = KT_NEW(&a, kp_delete_topics_req, 1);
    struct kc_slice *names = kp_arena_alloc(&a, sizeof(*names));
    names[0] = kp_slice_str("del");
    KP_SET(d->topic_names, 1, names);
    d->timeout_ms = 20000;
    const struct kp_delete_topics_resp *dr =
        kt_call(fd, KP_API_DELETE_TOPICS, 4, d, buf, sizeof(buf), &resp);
    assert_int_equal(dr->responses.n, 1);
    assert_int_equal(dr->responses.v[0].error_code, KP_ERR_NONE);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    assert_int_equal(np_client_recv(&c, &f), 0); /* woken by the deletion, served again */
    assert_int_equal(np_client_check(&c, &f), NP_ERR(NP_E_UNKNOWN_TOPIC));
    kflt_unmap(&s);
    np_client_close(&c);
    close(fd);
    assert_false(kb_log_has(b, "ERROR"));
    kb_stop(b);
}

/* ---- the descriptor limit --------------------------------------------------------------- */

#define FD_PARTS 160
#define FD_LIMIT 96

/* One Kafka Produce (v9, acks=1) with a batch for each partition todo[0..n) of "fds"; the
 * error of each into err[]. */
static void produce_many(int fd, const int32_t *todo, int n, int16_t *err)
{
    static int32_t corr = 1;
    struct kp_arena a;
    struct kp_response resp;
    size_t len;
    uint8_t *batch = kb_batch("fd", 1, &len);
    kp_arena_init(&a, 0);
    struct kp_produce_req *r = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&a, kp_produce_req_partition_produce_data, n);
    for (int i = 0; i < n; i++) {
        p[i].index = todo[i];
        p[i].records = (struct kc_slice){batch, (int32_t)len};
    }
    t->name = kp_slice_str("fds");
    KP_SET(t->partition_data, n, p);
    r->transactional_id = (struct kc_slice){NULL, -1};
    r->acks = 1;
    r->timeout_ms = 20000;
    KP_SET(r->topic_data, 1, t);
    kt_send(fd, KP_API_PRODUCE, 9, ++corr, r);
    const struct kp_produce_resp *ans =
        kt_recv(fd, KP_API_PRODUCE, 9, corr, buf, sizeof(buf), &resp);
    assert_int_equal(ans->responses.n, 1);
    assert_int_equal(ans->responses.v[0].partition_responses.n, n);
    for (int i = 0; i < n; i++) {
        const struct kp_produce_resp_partition_produce_response *pr =
            &ans->responses.v[0].partition_responses.v[i];
        assert_int_equal(pr->index, todo[i]);
        err[i] = pr->error_code;
        if (!err[i])
            assert_int_equal(pr->base_offset, 0); /* appended once, never twice */
    }
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    free(batch);
}

static void test_0017_fd_limit_is_a_retriable_error(void **state)
{
    struct kb_broker *b = *state;
    const char *wrap = getenv("KC_BROKER_WRAP");
    if (wrap && *wrap) { /* make valgrind: memcheck keeps descriptors of its own up there */
        printf("# skipped under a wrapper (%s): its own descriptors share the limit\n", wrap);
        return;
    }
    const char *args[] = {"--override", "num.network.threads=1", "--override",
                          "offsets.topic.num.partitions=1", "--override",
                          "log.cache.max.open.files=100000", NULL};
    struct rlimit low = {FD_LIMIT, FD_LIMIT};
    int32_t todo[FD_PARTS];
    int16_t err[FD_PARTS];
    kb_start(b, args);
    make_topic(b, "fds", FD_PARTS);
    kb_stop(b);
    /* A broker with few descriptors, and a cache that would hold more: one request for
     * every partition pins each log it opens, until the process has no descriptor left
     * and nothing can be evicted - KC_ENOFILES. */
    kb_start(b, args);
    int fd = kb_connect(b);
    /* Lowered from outside once it runs (the broker raises its soft limit at start). */
    assert_int_equal(prlimit(b->pid, RLIMIT_NOFILE, &low, NULL), 0);
    int n = FD_PARTS, rounds = 0, refused_first = 0;
    for (int i = 0; i < n; i++)
        todo[i] = i;
    while (n > 0 && rounds < 40) { /* a client's retries: only what failed, again */
        produce_many(fd, todo, n, err);
        int left = 0;
        for (int i = 0; i < n; i++) {
            if (err[i] != KP_ERR_NONE && err[i] != KP_ERR_KAFKA_STORAGE_ERROR)
                fail_msg("partition %d: error %d (only 0, or 56 retriable)", todo[i], err[i]);
            if (err[i])
                todo[left++] = todo[i];
        }
        if (rounds++ == 0)
            refused_first = left;
        n = left;
    }
    printf("# figure: %d partitions in one Produce with RLIMIT_NOFILE %d: %d refused with "
           "KAFKA_STORAGE_ERROR (retriable) at first, all appended after %d rounds\n",
           FD_PARTS, FD_LIMIT, refused_first, rounds);
    assert_int_equal(n, 0);           /* every retry eventually succeeded ... */
    assert_true(refused_first > 0);   /* ... after the limit was really met */
    close(fd);
    kb_stop(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0017_pipelined_produces_to_cold_partitions_keep_order,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0017_slow_open_does_not_stall_the_loop, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0017_disconnect_while_waiting_leaks_nothing, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0017_timeout_while_opening_is_retriable, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0017_topic_deleted_while_waiting, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0017_fd_limit_is_a_retriable_error, kb_setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
