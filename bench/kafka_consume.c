/*
 * kafka_consume.c - bench_kafka consume: Fetch from the page cache.
 *
 * The same windowed consumer as bench_native consume (bench_consume in bench/lib: a window
 * of requests for guessed ranges, answers trimmed and checked pass by pass), with Kafka's
 * Fetch for its requests. One Fetch asks for one partition from one offset:
 *
 *   Fetch v11 (classic)                          v12 (flexible)       v13+
 *   replica_id -1, max_wait_ms 0, min_bytes 1,   compact lengths,     the topic by its
 *   max_bytes B, isolation 0, no session,        tag blocks           16-byte id, from
 *   [topic [partition 0, fetch_offset,                                Metadata v10+
 *           partition_max_bytes B]]
 *
 * Each answer is read whole (size, then the frame) and decoded with kp_response_decode;
 * its records field points into the frame. max_wait_ms 0: the consumer never asks at the
 * log end (the window wraps to offset 0 there), so nothing waits, as with consume-batch.
 * A batch cut short at the end of an answer is allowed (Kafka's brokers send one when a
 * limit falls inside it) and counted as waste.
 */
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "kc_err.h"

struct kafka_fetch {
    const struct kafka_opts *o;
    const struct kafka_topic *t;
    struct kafka_conn conn;
    int16_t version;
    int32_t corr_recv; /* the correlation id the next answer must carry */
};

static int kafka_fetch_send(void *ctx, int64_t offset)
{
    struct kafka_fetch *f = ctx;
    struct kp_fetch_req_partition p;
    struct kp_fetch_req_topic topic;
    struct kp_fetch_req req;

    kp_init(&kp_fetch_req_partition_schema, &p);
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = (int32_t)f->o->max_bytes;
    kp_init(&kp_fetch_req_topic_schema, &topic);
    if (f->version >= KAFKA_FETCH_ID_MIN)
        topic.topic_id = f->t->id;
    else
        topic.topic = (struct kc_slice){ (const uint8_t *)f->o->topic,
                                         (int32_t)strlen(f->o->topic) };
    KP_SET(topic.partitions, 1, &p);
    kp_init(&kp_fetch_req_schema, &req);
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.max_bytes = (int32_t)f->o->max_bytes;
    req.isolation_level = 0;
    KP_SET(req.topics, 1, &topic);
    return kafka__send(&f->conn, KP_API_FETCH, f->version, &req);
}

/* The one partition of a Fetch answer, checked: 0 and *pd, or a refusal. */
static int fetch_partition(const struct kp_fetch_resp *resp,
                           const struct kp_fetch_resp_partition_data **pd)
{
    const struct kp_fetch_resp_fetchable_topic_response *t;

    if (resp->error_code != 0)
        return kafka__refused("Fetch", resp->error_code, (struct kc_slice){ NULL, -1 });
    if (resp->responses.n != 1 || resp->responses.v[0].partitions.n != 1)
        return KC_EMALFORMED; /* we asked for one partition of one topic */
    t = &resp->responses.v[0];
    *pd = &t->partitions.v[0];
    if ((*pd)->partition_index != 0)
        return KC_EMALFORMED;
    if ((*pd)->error_code != 0)
        return kafka__refused("Fetch, partition 0", (*pd)->error_code,
                              (struct kc_slice){ NULL, -1 });
    return 0;
}

static int kafka_fetch_recv(void *ctx, struct kc_slice *records, int64_t *log_end)
{
    struct kafka_fetch *f = ctx;
    const struct kp_fetch_resp_partition_data *pd = NULL;
    struct kp_response r;
    int err = kafka__recv(&f->conn, KP_API_FETCH, f->version, f->corr_recv++, &r);

    if (err != 0)
        return err;
    err = fetch_partition(r.msg, &pd);
    if (err == 0) {
        *records = pd->records.len > 0 ? pd->records : (struct kc_slice){ NULL, 0 };
        *log_end = pd->high_watermark; /* one node: the high watermark is the log end */
    }
    kp_response_fini(&r); /* the records point into the frame (f->conn.in), not the arena */
    return err;
}

static const struct bench_consume_ops kafka_fetch_ops = { kafka_fetch_send, kafka_fetch_recv };

int kafka__run_consume(const struct kafka_opts *o, const struct kafka_versions *v,
                       const struct kafka_topic *t)
{
    struct kafka_fetch f = { .o = o, .t = t, .conn = { .fd = -1 } };
    struct bench_consume c = { .ops = &kafka_fetch_ops, .ctx = &f, .window = (int)o->window,
                               .ms = o->ms, .verify = o->verify, .partial_tail_ok = true };
    int err = kafka__pick(v, KP_API_FETCH, o->version, 4, kafka__fetch_hi(v), &f.version);

    if (err == 0 && f.version >= KAFKA_FETCH_ID_MIN && !t->has_id) {
        fprintf(stderr, "bench_kafka: Fetch v%d names topics by id, and Metadata gave %s "
                        "none\n", f.version, o->topic);
        err = KAFKA_ENOTOFFERED;
    }
    if (err == 0)
        err = kafka__connect(o->port, &f.conn);
    f.corr_recv = f.conn.corr;
    if (err == 0)
        err = bench_consume_run(&c);
    if (err == 0) {
        struct bench_result r = { .bench = o->name, .records = c.records, .bytes = c.bytes,
                                  .elapsed_ns = c.elapsed_ns };

        bench_result_print(stdout, &r);
        bench_consume_print(stdout, o->name, &c, o->max_bytes);
        printf("KAFKA bench=%s api=Fetch version=%d flexible=%d topic_id=%d\n", o->name,
               f.version, kp_api_flexible(kp_api_find(KP_API_FETCH), f.version),
               f.version >= KAFKA_FETCH_ID_MIN);
    }
    kafka__close(&f.conn);
    return err;
}
