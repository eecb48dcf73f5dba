/*
 * test_0105_kafka_rdkafka.c - a small program on librdkafka's own C API against the
 * broker: a producer whose every delivery report is checked (no error, dense offsets per
 * partition), a group consumer that reads every record back and commits, and an
 * idempotent producer (InitProducerId, sequence numbers) whose records arrive once each.
 *
 * librdkafka is loaded with dlopen (glibc has dlopen in libc): the broker's tests link no
 * extra libraries, and the prototypes still come from librdkafka-dev's <rdkafka.h>, so a
 * call with the wrong arguments does not compile. With `broker_LDLIBS += -lrdkafka` in
 * broker/module.mk the table below could become plain calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>

#include "kafka/kt.h"

/* ---- librdkafka, loaded at run time ------------------------------------------------------- */

#define RDK_FUNCS(X)                                                                          \
    X(rd_kafka_version_str) X(rd_kafka_conf_new) X(rd_kafka_conf_set)                         \
    X(rd_kafka_conf_destroy) X(rd_kafka_conf_set_dr_msg_cb) X(rd_kafka_conf_set_error_cb)      \
    X(rd_kafka_conf_set_opaque) X(rd_kafka_new) X(rd_kafka_destroy) X(rd_kafka_topic_new)      \
    X(rd_kafka_topic_destroy) X(rd_kafka_produce) X(rd_kafka_poll) X(rd_kafka_flush)           \
    X(rd_kafka_err2str) X(rd_kafka_last_error) X(rd_kafka_fatal_error)                         \
    X(rd_kafka_poll_set_consumer) X(rd_kafka_topic_partition_list_new)                         \
    X(rd_kafka_topic_partition_list_add) X(rd_kafka_topic_partition_list_destroy)              \
    X(rd_kafka_subscribe) X(rd_kafka_consumer_poll) X(rd_kafka_message_destroy)                \
    X(rd_kafka_commit) X(rd_kafka_consumer_close) X(rd_kafka_wait_destroyed)

struct rdk {
    void *lib;
#define RDK_FIELD(name) __typeof__(name) *name;
    RDK_FUNCS(RDK_FIELD)
#undef RDK_FIELD
};

static struct rdk rdk;

static void rdk_load(void)
{
    if (rdk.lib)
        return;
    rdk.lib = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!rdk.lib)
        fail_msg("librdkafka is not installed (%s): run scripts/deps.sh test "
                 "(Debian package librdkafka-dev)", dlerror());
#define RDK_LOAD(name)                                                                        \
    *(void **)&rdk.name = dlsym(rdk.lib, #name);                                              \
    if (!rdk.name)                                                                            \
        fail_msg("librdkafka has no %s", #name);
    RDK_FUNCS(RDK_LOAD)
#undef RDK_LOAD
}

static int setup(void **state)
{
    rdk_load();
    kb_setup(state);
    const char *args[] = {"--override", "num.partitions=3", NULL};
    kb_start(*state, args);
    return 0;
}

static void conf(rd_kafka_conf_t *c, const char *key, const char *value)
{
    char err[512];
    if (rdk.rd_kafka_conf_set(c, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

/* ---- producing with delivery reports ----------------------------------------------------- */

#define N 20000
#define PARTS 3

struct delivery {
    int delivered;
    int failed;
    rd_kafka_resp_err_t first_err;
    int32_t partition[N];
    int64_t offset[N];
};

/* librdkafka's thread calls this from rd_kafka_poll/flush, on the test's thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct delivery *d = opaque;
    int i = (int)(intptr_t)m->_private;
    (void)rk;
    if (m->err) {
        if (!d->failed++)
            d->first_err = m->err;
        return;
    }
    d->delivered++;
    d->partition[i] = m->partition;
    d->offset[i] = m->offset;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk, (void)opaque;
    printf("# librdkafka error %d: %s\n", err, reason);
}

static rd_kafka_t *producer(const struct kb_broker *b, struct delivery *d, const char *codec,
                            bool idempotent)
{
    char err[512];
    rd_kafka_conf_t *c = rdk.rd_kafka_conf_new();
    conf(c, "bootstrap.servers", kt_addr(b));
    conf(c, "acks", "all");
    conf(c, "linger.ms", "5");
    conf(c, "compression.codec", codec);
    conf(c, "message.timeout.ms", "20000");
    if (idempotent)
        conf(c, "enable.idempotence", "true");
    rdk.rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rdk.rd_kafka_conf_set_error_cb(c, on_error);
    rdk.rd_kafka_conf_set_opaque(c, d);
    rd_kafka_t *rk = rdk.rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk)
        fail_msg("rd_kafka_new: %s", err);
    return rk;
}

static int produce_all(rd_kafka_t *rk, const char *topic, int n)
{
    char key[32], value[64];
    rd_kafka_topic_t *rkt = rdk.rd_kafka_topic_new(rk, topic, NULL);
    assert_non_null(rkt);
    for (int i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "key-%d", i);
        int vl = snprintf(value, sizeof(value), "value %d from librdkafka", i);
        while (rdk.rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value,
                                    (size_t)vl, key, (size_t)kl, (void *)(intptr_t)i) == -1) {
            rd_kafka_resp_err_t e = rdk.rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rdk.rd_kafka_topic_destroy(rkt);
                return e;
            }
            rdk.rd_kafka_poll(rk, 10); /* serve delivery reports: room in the queue */
        }
        rdk.rd_kafka_poll(rk, 0);
    }
    int rc = rdk.rd_kafka_flush(rk, 30000);
    rdk.rd_kafka_topic_destroy(rkt);
    return rc;
}

static void destroy(rd_kafka_t *rk)
{
    rdk.rd_kafka_destroy(rk);
    assert_int_equal(rdk.rd_kafka_wait_destroyed(10000), 0); /* every thread is gone */
}

/* ---- consuming in a group ------------------------------------------------------------------ */

static void consume_all(const struct kb_broker *b, const char *topic, const char *group, int n,
                        int64_t end[PARTS])
{
    char err[512];
    bool *seen = calloc((size_t)n, sizeof(bool));
    int got = 0;
    bool at_end[PARTS] = {false};
    rd_kafka_conf_t *c = rdk.rd_kafka_conf_new();
    conf(c, "bootstrap.servers", kt_addr(b));
    conf(c, "group.id", group);
    conf(c, "auto.offset.reset", "earliest");
    conf(c, "enable.partition.eof", "true");
    conf(c, "session.timeout.ms", "6000");
    conf(c, "heartbeat.interval.ms", "500");
    conf(c, "enable.auto.commit", "false");
    rd_kafka_t *rk = rdk.rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    assert_non_null(rk);
    assert_non_null(seen);
    rdk.rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rdk.rd_kafka_topic_partition_list_new(1);
    rdk.rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rdk.rd_kafka_subscribe(rk, topics), 0);
    rdk.rd_kafka_topic_partition_list_destroy(topics);
    int64_t deadline = kc_mono_ms() + 60000;
    while ((got < n || !at_end[0] || !at_end[1] || !at_end[2]) && kc_mono_ms() < deadline) {
        rd_kafka_message_t *m = rdk.rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end[m->partition] = true; /* until its next record */
            end[m->partition] = m->offset;
        } else if (m->err) {
            fail_msg("consumer error: %s", rdk.rd_kafka_err2str(m->err));
        } else {
            char want[64], key[32];
            snprintf(key, sizeof(key), "%.*s", (int)KC_MIN(m->key_len, 31), (const char *)m->key);
            int i = atoi(key + 4); /* "key-<i>" (keys are not NUL-terminated) */
            assert_true(i >= 0 && i < n && !seen[i]);
            int wl = snprintf(want, sizeof(want), "value %d from librdkafka", i);
            assert_int_equal(m->len, (size_t)wl);
            assert_memory_equal(m->payload, want, (size_t)wl);
            seen[i] = true;
            got++;
            at_end[m->partition] = false;
        }
        rdk.rd_kafka_message_destroy(m);
    }
    printf("# consumer: %d of %d records\n", got, n);
    assert_int_equal(got, n);
    assert_int_equal(rdk.rd_kafka_commit(rk, NULL, 0), 0); /* synchronous */
    assert_int_equal(rdk.rd_kafka_consumer_close(rk), 0);
    destroy(rk);
    free(seen);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void produce_and_check(const struct kb_broker *b, const char *topic, const char *codec,
                              bool idempotent, int64_t count[PARTS])
{
    struct delivery *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    rd_kafka_t *rk = producer(b, d, codec, idempotent);
    int64_t t0 = kc_mono_ms();
    assert_int_equal(produce_all(rk, topic, N), 0);
    int64_t ms = kc_mono_ms() - t0;
    printf("# librdkafka %s, %s: %d delivery reports in %lld ms (%.0f records/s)\n",
           rdk.rd_kafka_version_str(), codec, d->delivered, (long long)ms,
           ms ? N * 1000.0 / (double)ms : 0.0);
    destroy(rk);
    assert_int_equal(d->failed, 0);
    assert_int_equal(d->delivered, N);
    /* Offsets are dense per partition: every report names a distinct offset below the
     * partition's count, and the counts add up. */
    bool *used = calloc((size_t)N * PARTS, sizeof(bool));
    assert_non_null(used);
    for (int p = 0; p < PARTS; p++)
        count[p] = 0;
    for (int i = 0; i < N; i++) {
        assert_true(d->partition[i] >= 0 && d->partition[i] < PARTS);
        assert_true(d->offset[i] >= 0 && d->offset[i] < N);
        assert_false(used[d->partition[i] * N + d->offset[i]]);
        used[d->partition[i] * N + d->offset[i]] = true;
        count[d->partition[i]]++;
    }
    for (int p = 0; p < PARTS; p++)
        for (int64_t o = 0; o < count[p]; o++)
            assert_true(used[p * N + o]);
    free(used);
    free(d);
}

static void test_0105_produce_with_reports_consume_in_group_commit(void **state)
{
    struct kb_broker *b = *state;
    int64_t count[PARTS], end[PARTS] = {-1, -1, -1};
    produce_and_check(b, "rdk", "none", false, count);
    consume_all(b, "rdk", "rdk-group", N, end);
    for (int p = 0; p < PARTS; p++) {
        char *out, *err, part[16];
        snprintf(part, sizeof(part), "%d", p);
        const char *args[] = {"4", "rdk-group", "rdk", part, NULL};
        assert_int_equal(kb_cli(b, NULL, &out, &err, args), 0);
        assert_int_equal(atoll(out), count[p]); /* committed: the end of each partition */
        assert_int_equal(end[p], count[p]);
        free(out);
        free(err);
    }
}

static void test_0105_compressed_batches_round_trip(void **state)
{
    struct kb_broker *b = *state;
    int64_t count[PARTS], end[PARTS];
    const char *codecs[] = {"gzip", "snappy", "lz4", "zstd"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(codecs); i++) {
        char topic[32], group[32];
        snprintf(topic, sizeof(topic), "rdk-%s", codecs[i]);
        snprintf(group, sizeof(group), "g-%s", codecs[i]);
        produce_and_check(b, topic, codecs[i], false, count);
        consume_all(b, topic, group, N, end);
    }
}

/* enable.idempotence: librdkafka asks InitProducerId for an id, numbers its batches, and
 * every record is delivered once, at dense offsets, and read back once. */
static void test_0105_idempotent_producer_delivers_each_once(void **state)
{
    struct kb_broker *b = *state;
    int64_t count[PARTS], end[PARTS] = {-1, -1, -1};
    produce_and_check(b, "idem", "none", true, count);
    consume_all(b, "idem", "idem-group", N, end);
    for (int p = 0; p < PARTS; p++)
        assert_int_equal(end[p], count[p]);
    kt_assert_serving(b);
}

static int teardown(void **state)
{
    return kb_teardown(state);
}

int main(void)
{
#if defined(__SANITIZE_THREAD__)
    /* librdkafka starts its threads with C11 thrd_create, which this toolchain's
     * ThreadSanitizer does not intercept: TSan then crashes inside librdkafka, not in any
     * code of ours. The test runs in the plain and ASan+UBSan builds. */
    printf("# skipped under ThreadSanitizer: librdkafka's thrd_create threads are invisible "
           "to it\n");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0105_produce_with_reports_consume_in_group_commit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_0105_compressed_batches_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_0105_idempotent_producer_delivers_each_once, setup,
                                        teardown),
    };
    /* librdkafka stays loaded to the end: its one-time global allocations (SASL, TLS)
     * are reachable through its own globals, which dlclose would unmap - and LeakSanitizer
     * would then report them as leaks. */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
