/*
 * test_0117_kafka_idempotent.c - an idempotent producer through kill -9 of the broker:
 * zero duplicates, zero loss of acknowledged records.
 *
 *   InitProducerId                     -> producer id P, epoch 0
 *   cycle (x3):
 *     retry the last five batches      each acknowledged one answered with its ORIGINAL
 *                                      offset (the state rebuilt from the snapshots and
 *                                      the log after the crash); the one in flight when the
 *                                      broker died: written now, or answered if it was
 *     20 batches, acks=all             offsets remembered
 *     one more batch sent, unanswered  then kill -9, restart
 *   read the partition back            every sequence exactly once, each acknowledged one
 *                                      at the offset it was acknowledged with
 *
 * Also: DescribeProducers shows the producer as the log rebuilt it; producer ids are never
 * reused across restarts (the durable block counter); a transactional id is refused at
 * once with 53.
 *
 * Raw Kafka frames through the codec, one record per batch with its sequence in the
 * header: the producer behaves as librdkafka's does with idempotence (keeps its id across
 * the broker's restart, resends its in-flight batches in order), without its timers.
 * librdkafka itself with enable.idempotence=true is test_0105's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kt.h"
#include "kc_batch.h"

#define CYCLES 3
#define PER    20                       /* acknowledged batches per cycle */
#define MAXSEQ (CYCLES * (PER + 1) + 1) /* every sequence the test can send */
#define WINDOW 5                        /* the batches a producer may retry */

static uint8_t buf[1 << 20];
static const char *const args[] = {"--override", "num.partitions=1", NULL};

struct producer {
    int fd;
    int64_t pid;
    int32_t next;            /* the next sequence */
    int64_t acked[MAXSEQ];   /* its offset once answered, else -1 */
};

static int setup(void **state)
{
    kb_setup(state);
    kb_start(*state, args);
    return 0;
}

static void create(const struct kb_broker *b, const char *topic)
{
    char *out, *err;
    const char *a[] = {"0", topic, "1", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, a), 0);
    free(out);
    free(err);
}

static int16_t init_pid(int fd, const char *txn, int64_t *pid)
{
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_init_producer_id_req *r = KT_NEW(&a, kp_init_producer_id_req, 1);
    r->transactional_id = txn ? kp_slice_str(txn) : (struct kc_slice){NULL, -1};
    r->transaction_timeout_ms = 60000;
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

/* One record "seq-<s>" in a batch of producer pid, sequence s (malloc'ed). */
static uint8_t *idem_batch(int64_t pid, int32_t s, size_t *len)
{
    struct kc_batch_opts o;
    struct kc_batch_builder bb;
    char v[32];
    uint8_t *p, *copy;
    kc_batch_opts_default(&o);
    o.producer_id = pid;
    o.producer_epoch = 0;
    o.base_sequence = s;
    kc_batch_builder_init(&bb, &o, 0);
    int n = snprintf(v, sizeof(v), "seq-%d", s);
    assert_int_equal(kc_batch_builder_add(&bb, kc_wall_ms(), NULL, -1, v, n, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&bb, &p, len), 0);
    copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&bb);
    return copy;
}

static void send_produce(int fd, int32_t corr, const uint8_t *batch, size_t len)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_produce_req *r = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 1);
    p->records = (struct kc_slice){batch, (int32_t)len};
    t->name = kp_slice_str("idem");
    KP_SET(t->partition_data, 1, p);
    r->transactional_id = (struct kc_slice){NULL, -1};
    r->acks = -1;
    r->timeout_ms = 10000;
    KP_SET(r->topic_data, 1, t);
    kt_send(fd, KP_API_PRODUCE, 9, corr, r);
    kp_arena_fini(&a);
}

/* Send sequence s, acks=all, and read the answer: its error; *base. */
static int16_t produce(struct producer *pr, int32_t s, int64_t *base)
{
    static int32_t corr = 1;
    size_t len;
    uint8_t *b = idem_batch(pr->pid, s, &len);
    struct kp_response resp;
    send_produce(pr->fd, ++corr, b, len);
    const struct kp_produce_resp *r = kt_recv(pr->fd, KP_API_PRODUCE, 9, corr, buf, sizeof(buf), &resp);
    const struct kp_produce_resp_partition_produce_response *p =
        &r->responses.v[0].partition_responses.v[0];
    int16_t err = p->error_code;
    *base = p->base_offset;
    kp_response_fini(&resp);
    free(b);
    return err;
}

/* What a producer does after its connection broke: resend what may not have been
 * answered, in order. Acknowledged batches must come back with their offsets. */
static void retry_window(struct producer *pr)
{
    for (int32_t s = pr->next > WINDOW ? pr->next - WINDOW : 0; s < pr->next; s++) {
        int64_t base;
        assert_int_equal(produce(pr, s, &base), KP_ERR_NONE);
        if (pr->acked[s] >= 0)
            assert_int_equal(base, pr->acked[s]); /* a duplicate: the original offset */
        pr->acked[s] = base;
    }
}

/* DescribeProducers: the log knows pid, epoch 0, its last sequence. */
static void check_described(int fd, const struct producer *pr)
{
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_describe_producers_req *r = KT_NEW(&a, kp_describe_producers_req, 1);
    struct kp_describe_producers_req_topic_request *t =
        KT_NEW(&a, kp_describe_producers_req_topic_request, 1);
    int32_t part = 0;
    t->name = kp_slice_str("idem");
    KP_SET(t->partition_indexes, 1, &part);
    KP_SET(r->topics, 1, t);
    const struct kp_describe_producers_resp *ans =
        kt_call(fd, KP_API_DESCRIBE_PRODUCERS, 0, r, buf, sizeof(buf), &resp);
    const struct kp_describe_producers_resp_partition_response *p = &ans->topics.v[0].partitions.v[0];
    assert_int_equal(p->error_code, 0);
    assert_int_equal(p->active_producers.n, 1);
    assert_int_equal(p->active_producers.v[0].producer_id, pr->pid);
    assert_int_equal(p->active_producers.v[0].producer_epoch, 0);
    assert_int_equal(p->active_producers.v[0].last_sequence, pr->next - 1);
    assert_int_equal(p->active_producers.v[0].current_txn_start_offset, -1);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
}

/* Fetch the whole partition: every sequence of pid once, at its acknowledged offset. */
static void check_partition(const struct kb_broker *b, const struct producer *pr)
{
    int fd = kb_connect(b);
    int seen[MAXSEQ] = {0};
    int64_t offset = 0, hw = 1;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    while (offset < hw) {
        struct kt_fetch_part fp;
        kc_writer_reset(&w);
        kt_fetch_req(&w, 7, 0, 1, 1 << 20, "idem", 0, offset, 1 << 20);
        kt_fetch_resp(buf, kt_roundtrip(fd, &w, buf, sizeof(buf)), &fp);
        assert_int_equal(fp.error, 0);
        hw = fp.high_watermark;
        size_t pos = 0, size;
        while (pos < (size_t)fp.records.len &&
               kc_batch_size(fp.records.p + pos, (size_t)fp.records.len - pos, &size) == 0 &&
               pos + size <= (size_t)fp.records.len) {
            struct kc_batch_header h;
            assert_int_equal(kc_batch_header_decode(fp.records.p + pos, size, &h), 0);
            assert_int_equal(h.producer_id, pr->pid);
            assert_true(h.base_sequence >= 0 && h.base_sequence < pr->next);
            seen[h.base_sequence]++;
            assert_int_equal(h.base_offset, pr->acked[h.base_sequence]);
            offset = h.base_offset + h.last_offset_delta + 1;
            pos += size;
        }
    }
    for (int32_t s = 0; s < pr->next; s++)
        assert_int_equal(seen[s], 1); /* no loss, no duplicate */
    assert_int_equal(hw, pr->next);   /* one record each, nothing else */
    kc_writer_fini(&w);
    close(fd);
}

static void test_0117_kill9_retries_no_duplicates_no_loss(void **state)
{
    struct kb_broker *b = *state;
    struct producer *pr = calloc(1, sizeof(*pr));
    assert_non_null(pr);
    for (int i = 0; i < MAXSEQ; i++)
        pr->acked[i] = -1;
    create(b, "idem");
    pr->fd = kb_connect(b);
    assert_int_equal(init_pid(pr->fd, NULL, &pr->pid), 0);
    assert_true(pr->pid >= 0);
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        retry_window(pr);
        for (int i = 0; i < PER; i++, pr->next++)
            assert_int_equal(produce(pr, pr->next, &pr->acked[pr->next]), KP_ERR_NONE);
        size_t len;
        uint8_t *last = idem_batch(pr->pid, pr->next++, &len);
        send_produce(pr->fd, 99, last, len); /* in flight when the broker dies */
        free(last);
        kb_kill9(b);
        close(pr->fd);
        kb_start(b, args);
        pr->fd = kb_connect(b);
        printf("# cycle %d: %d sequences sent, the broker killed with one in flight\n", cycle,
               pr->next);
    }
    retry_window(pr);
    check_partition(b, pr);
    check_described(pr->fd, pr);
    /* Ids are never handed out twice, even across three crashes. */
    int64_t again;
    assert_int_equal(init_pid(pr->fd, NULL, &again), 0);
    assert_true(again > pr->pid);
    /* A transactional producer is stopped at once (53: fatal in clients). */
    assert_int_equal(init_pid(pr->fd, "txn-1", &again), KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert_int_equal(again, -1);
    close(pr->fd);
    free(pr);
    kt_assert_serving(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0117_kill9_retries_no_duplicates_no_loss, setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
