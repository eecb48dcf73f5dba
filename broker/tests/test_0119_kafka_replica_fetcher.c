/*
 * test_0119_kafka_replica_fetcher.c - the replica fetcher (broker/kafka/fetcher) against
 * the real broker, as a follower would use it: kcat produces (plain and lz4), the fetcher
 * copies every partition as replica 1 with Fetch v12, and the copy is exactly what a
 * consumer reads - the same records at the same offsets, every batch whole and CRC-valid,
 * compressed batches copied as they are. Records produced while it waits arrive through
 * its long poll, on the incremental fetch session the broker keeps for it; a topic that
 * does not exist is an error the owner is told about.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "kafka/kt.h"
#include "kc_batch.h"
#include "kfr.h"

#define PARTS 3
#define N     3000

static int setup(void **state)
{
    kt_require("kcat", "kcat");
    kb_setup(state);
    const char *args[] = {"--override", "num.partitions=3", NULL};
    kb_start(*state, args);
    return 0;
}

static int teardown(void **state)
{
    return kb_teardown(state);
}

/* The follower's copy: per partition, the batches appended, at the leader's offsets. */
struct copy {
    pthread_mutex_t mu;
    struct kc_writer log[PARTS];
    int64_t end[PARTS], hw[PARTS];
    int32_t last_epoch[PARTS];
    int16_t error;
    int rounds;
};

static bool op_position(void *arg, const struct kfr_tp *tp, struct kfr_position *pos)
{
    struct copy *c = arg;
    pthread_mutex_lock(&c->mu);
    bool go = tp->partition < PARTS && c->error == 0;
    if (go)
        *pos = (struct kfr_position){c->end[tp->partition], -1, c->last_epoch[tp->partition], 0, 0};
    pthread_mutex_unlock(&c->mu);
    return go;
}

static void op_received(void *arg, const struct kfr_tp *tp, const struct kfr_answer *a)
{
    struct copy *c = arg;
    int32_t k = tp->partition;
    pthread_mutex_lock(&c->mu);
    if (a->error)
        c->error = a->error;
    c->hw[k] = a->high_watermark;
    for (size_t at = 0; at < a->len;) {
        struct kc_batch_header h;
        int n = kc_batch_validate(a->batches + at, a->len - at, &h);
        if (n <= 0 || h.base_offset != c->end[k])
            fail_msg("partition %d: a batch at %lld (expected %lld): %d", k,
                     (long long)h.base_offset, (long long)c->end[k], n);
        kc_write_raw(&c->log[k], a->batches + at, (size_t)n);
        c->end[k] = h.base_offset + h.last_offset_delta + 1;
        c->last_epoch[k] = h.leader_epoch;
        at += (size_t)n;
    }
    pthread_mutex_unlock(&c->mu);
}

static void op_round_done(void *arg)
{
    struct copy *c = arg;
    pthread_mutex_lock(&c->mu);
    c->rounds++;
    pthread_mutex_unlock(&c->mu);
}

static const struct kfr_ops ops = {op_position, op_received, op_round_done};

static struct kfr_fetcher *follow(const struct kb_broker *b, struct copy *c, const char *topic)
{
    struct kfr_config cfg = {.host = "127.0.0.1", .port = b->port, .replica_id = 1,
                             .max_wait_ms = 200, .retry_backoff_ms = 100};
    struct kfr_fetcher *f;
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    for (int k = 0; k < PARTS; k++)
        kc_writer_init(&c->log[k], 0);
    assert_int_equal(kfr_open(&cfg, &ops, c, &f), 0);
    for (int32_t k = 0; k < PARTS; k++) {
        struct kfr_tp tp = {.partition = k};
        snprintf(tp.topic, sizeof(tp.topic), "%s", topic);
        assert_int_equal(kfr_add(f, &tp), 0);
    }
    return f;
}

static void copy_fini(struct copy *c)
{
    for (int k = 0; k < PARTS; k++)
        kc_writer_fini(&c->log[k]);
    pthread_mutex_destroy(&c->mu);
}

/* Has the copy reached `total` records, all of them below the leader's high watermark? */
static bool caught_up(struct copy *c, int64_t total)
{
    pthread_mutex_lock(&c->mu);
    int64_t sum = 0;
    bool at_hw = true;
    for (int k = 0; k < PARTS; k++) {
        sum += c->end[k];
        at_hw = at_hw && c->end[k] == c->hw[k];
    }
    pthread_mutex_unlock(&c->mu);
    return sum >= total && at_hw;
}

static void wait_caught_up(struct copy *c, int64_t total)
{
    for (int64_t t0 = kc_mono_ms(); !caught_up(c, total); usleep(10000))
        if (kc_mono_ms() - t0 > 30000)
            fail_msg("the follower's copy did not reach %lld records", (long long)total);
}

static void kcat_produce(const struct kb_broker *b, const char *topic, int from, int n,
                         const char *codec)
{
    struct kc_writer in;
    char line[64], *out, *err;
    kc_writer_init(&in, 0);
    for (int i = from; i < from + n; i++)
        kc_write_raw(&in, line, (size_t)snprintf(line, sizeof(line), "value-%d\n", i));
    const char *argv[] = {"kcat", "-b", kt_addr(b), "-P", "-t", topic, "-z", codec, NULL};
    int rc = kt_run(b, argv, kc_writer_data(&in), kc_writer_len(&in), 60000, &out, NULL, &err);
    if (rc != 0)
        fail_msg("kcat -P exited %d:\n%s", rc, err);
    free(out);
    free(err);
    kc_writer_fini(&in);
}

/* The copy's records as kcat prints them with -f '%p %o %s\n', sorted like kcat's output
 * is not (partitions interleave): one string per partition, compared per partition. */
static void copy_text(struct copy *c, int k, struct kc_writer *out)
{
    const uint8_t *p = kc_writer_data(&c->log[k]);
    size_t len = kc_writer_len(&c->log[k]), at = 0;
    char line[128];
    while (at < len) {
        struct kc_batch_header h;
        struct kc_batch_reader br;
        struct kc_record rec;
        int n = kc_batch_validate(p + at, len - at, &h);
        assert_true(n > 0);
        assert_int_equal(kc_batch_reader_open(&br, p + at, (size_t)n, 64 << 20), 0);
        while (kc_batch_reader_next(&br, &rec) == 1)
            kc_write_raw(out, line, (size_t)snprintf(line, sizeof(line), "%d %lld %.*s\n", k,
                                                     (long long)rec.offset,
                                                     (int)rec.value_len, (const char *)rec.value));
        kc_batch_reader_close(&br);
        at += (size_t)n;
    }
}

/* kcat's records of partition k, in its order (offsets ascending within a partition). */
static void kcat_text(const struct kb_broker *b, const char *topic, int k, struct kc_writer *out)
{
    char part[16], *text, *err;
    snprintf(part, sizeof(part), "%d", k);
    const char *argv[] = {"kcat", "-b", kt_addr(b), "-C", "-t", topic, "-p", part, "-o",
                          "beginning", "-e", "-q", "-f", "%p %o %s\n", NULL};
    assert_int_equal(kt_run(b, argv, NULL, 0, 60000, &text, NULL, &err), 0);
    kc_write_raw(out, text, strlen(text));
    free(text);
    free(err);
}

static void test_0119_follower_copy_equals_consumer_view(void **state)
{
    struct kb_broker *b = *state;
    struct copy c;
    kcat_produce(b, "copied", 0, N / 2, "none");
    kcat_produce(b, "copied", N / 2, N / 2, "lz4");
    struct kfr_fetcher *f = follow(b, &c, "copied");
    wait_caught_up(&c, N);
    /* produced while the follower waits: its long poll brings them */
    kcat_produce(b, "copied", N, 100, "none");
    wait_caught_up(&c, N + 100);
    struct kfr_stats st;
    kfr_stats(f, &st);
    kfr_close(f);
    printf("# figure replica fetcher: %llu rounds (%llu full), %llu bytes of batches in %llu "
           "bytes of answers, %llu connection(s)\n", (unsigned long long)st.rounds,
           (unsigned long long)st.full, (unsigned long long)st.batches_bytes,
           (unsigned long long)st.answers_bytes, (unsigned long long)st.connects);
    assert_int_equal(st.failures, 0);
    /* The broker kept the follower's fetch session: after a full round (one per change of
     * the set - the three kfr_adds may each land between rounds - and per cut), the rest
     * came through incremental rounds that named only the partitions that moved. */
    assert_int_equal(st.session_errors, 0);
    assert_true(st.full >= 1 && st.full <= PARTS + st.cuts);
    assert_true(st.rounds > st.full);
    for (int k = 0; k < PARTS; k++) {
        struct kc_writer mine, theirs;
        kc_writer_init(&mine, 0);
        kc_writer_init(&theirs, 0);
        copy_text(&c, k, &mine);
        kcat_text(b, "copied", k, &theirs);
        assert_true(kc_writer_len(&mine) > 0);
        if (kc_writer_len(&mine) != kc_writer_len(&theirs) ||
            memcmp(kc_writer_data(&mine), kc_writer_data(&theirs), kc_writer_len(&mine)))
            fail_msg("partition %d: the follower's copy differs from what kcat reads", k);
        kc_writer_fini(&mine);
        kc_writer_fini(&theirs);
    }
    copy_fini(&c);
    kt_assert_serving(b);
}

static bool told_unknown(void *arg)
{
    struct copy *c = arg;
    pthread_mutex_lock(&c->mu);
    bool told = c->error != 0;
    pthread_mutex_unlock(&c->mu);
    return told;
}

static void test_0119_missing_topic_error_handed_over(void **state)
{
    struct kb_broker *b = *state;
    struct copy c;
    struct kfr_fetcher *f = follow(b, &c, "no-such-topic");
    assert_true(kt_until(told_unknown, &c, 10000));
    kfr_close(f);
    assert_int_equal(c.error, 3); /* UNKNOWN_TOPIC_OR_PARTITION */
    copy_fini(&c);
    kt_assert_serving(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0119_follower_copy_equals_consumer_view, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_0119_missing_topic_error_handed_over, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
