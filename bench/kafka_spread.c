/*
 * kafka_spread.c - Produce spread over many partitions, as a Kafka client sends it.
 *
 *   bench_kafka spread --port P --topic T --partitions N [--per-request K] [--batch R]
 *                      [--size B] [--count C] [--window W] [--acks 1|all] [--name NAME]
 *
 * A producer with records for thousands of partitions keeps one batch per partition and
 * sends, to each broker, requests that carry many of them at once. This is that load,
 * without a client library in the way:
 *
 *   N > 1: request i carries K batches of R records, one for each of the partitions
 *          (i*K .. i*K+K-1) mod N: the requests walk the topic round and round, so every
 *          partition gets a batch every N/K requests.
 *
 *      request 0: [p0: R records][p1: R records] ... [p99: R records]
 *      request 1: [p100: R]      [p101: R]       ... [p199: R]
 *      ...
 *      request N/K: p0 again
 *
 *   N = 1: the same bytes to one partition: each request carries ONE batch of K*R records
 *          to partition 0 (Produce v3+ takes one batch per partition; a client writing to
 *          one partition fills one larger batch from the same records).
 *
 * So the two runs send the same records, the same bytes of values, in the same number of
 * requests; they differ only in how many partitions (and so how many batches and how many
 * logs) the bytes are spread over. One request is built (partitions 0..K-1, and where
 * each partition index lies in it is found and checked); each send rewrites the
 * correlation id and the K indexes (the CRC covers the batch, not the request). Every answer is checked: one entry per partition sent, no
 * error, and from its second batch on, each partition's base offset exactly where its
 * previous batch ended (one producer: nothing else writes there meanwhile).
 *
 * RESULT as bench_kafka produce (records/s, payload bytes), then a SPREAD line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "kc_batch.h"
#include "kc_err.h"
#include "kc_time.h"
#include "kc_varint.h"

#define PRODUCE_LO 3 /* RecordBatch v2 travels in Produce v3+ */

struct spread {
    const struct kafka_opts *o;
    int16_t version;
    int32_t per_req;      /* partitions (batches) in one request */
    int32_t nframes;      /* distinct requests: N / K, or 1 */
    uint8_t *frame;       /* request 0 (partitions 0..K-1), built once (owned) */
    size_t frame_len;
    size_t *index_at;     /* where each partition index sits in it: request f rewrites
                             them to f*K .. f*K+K-1 as it is sent */
    int64_t *next;        /* per partition: the base offset its next batch must get
                             (-1 until its first answer) */
    int64_t per_batch;    /* records in one batch */
    int32_t corr_sent, corr_recv;
};

/* One batch of n records of o->size bytes (the caller frees *out). */
static int spread_batch(const struct kafka_opts *o, const uint8_t *value, int64_t n,
                        uint8_t **out, size_t *len)
{
    struct kc_batch_builder b;
    uint8_t *bytes;
    int64_t now = kc_wall_ms();
    int err = 0;

    kc_batch_builder_init(&b, NULL, 0);
    for (int64_t i = 0; i < n && err == 0; i++)
        err = kc_batch_builder_add(&b, now, NULL, -1, value, (int32_t)o->size, NULL, 0);
    if (err == 0)
        err = kc_batch_builder_finish(&b, &bytes, len);
    if (err == 0 && (*out = malloc(*len)) == NULL)
        err = -ENOMEM;
    if (err == 0)
        memcpy(*out, bytes, *len);
    kc_batch_builder_fini(&b);
    return err;
}

/* Where partition i's index lies: just before the records' length, which is an int32, or
 * in a flexible request a compact length (uvarint of len + 1). */
static int spread_find_indexes(struct spread *s, const uint8_t *batch, size_t len)
{
    bool flexible = kp_api_flexible(kp_api_find(KP_API_PRODUCE), s->version);
    size_t lensz = flexible ? kc_uvarint_size(len + 1) : 4, from = 0;

    for (int32_t i = 0; i < s->per_req; i++) {
        const uint8_t *at = memmem(s->frame + from, s->frame_len - from, batch, len);

        if (at == NULL || (size_t)(at - s->frame) < from + 4 + lensz)
            return KC_EMALFORMED;
        s->index_at[i] = (size_t)(at - s->frame) - lensz - 4;
        if (kc_load_be32(s->frame + s->index_at[i]) != (uint32_t)i)
            return KC_EMALFORMED; /* not where the codec put it: never send a guess */
        from = (size_t)(at - s->frame) + len;
    }
    return 0;
}

/* Request 0: one batch for each of partitions 0..K-1, all of the same bytes. */
static int spread_frame(struct spread *s, const uint8_t *batch, size_t len)
{
    struct kp_produce_req_partition_produce_data *pd = calloc((size_t)s->per_req, sizeof(*pd));
    struct kp_produce_req_topic_produce_data td;
    struct kp_produce_req req;
    struct kp_request_header h = { KP_API_PRODUCE, s->version, 0,
                                   { (const uint8_t *)KAFKA_CLIENT_ID,
                                     (int32_t)strlen(KAFKA_CLIENT_ID) } };
    struct kc_writer w;
    int err = pd != NULL ? 0 : -ENOMEM;

    for (int32_t i = 0; err == 0 && i < s->per_req; i++)
        pd[i] = (struct kp_produce_req_partition_produce_data){ i, { batch, (int32_t)len } };
    kp_init(&kp_produce_req_topic_produce_data_schema, &td);
    td.name = (struct kc_slice){ (const uint8_t *)s->o->topic, (int32_t)strlen(s->o->topic) };
    KP_SET(td.partition_data, (size_t)s->per_req, pd);
    kp_init(&kp_produce_req_schema, &req);
    req.acks = (int16_t)s->o->acks;
    req.timeout_ms = 30000;
    KP_SET(req.topic_data, 1, &td);
    kc_writer_init(&w, 0);
    if (err == 0)
        err = kp_request_encode(&w, &h, &req);
    if (err == 0 && (s->frame = kc_writer_take(&w, &s->frame_len)) == NULL)
        err = -ENOMEM;
    kc_writer_fini(&w);
    free(pd);
    return err != 0 ? err : spread_find_indexes(s, batch, len);
}

static int spread_build(struct spread *s, const uint8_t *value)
{
    int64_t n = s->o->partitions;
    uint8_t *batch = NULL;
    size_t len = 0;
    int err;

    s->per_batch = n == 1 ? s->o->batch * s->o->per_request : s->o->batch;
    s->per_req = n == 1 ? 1 : (int32_t)s->o->per_request;
    s->nframes = (int32_t)(n / s->per_req);
    s->index_at = calloc((size_t)s->per_req, sizeof(*s->index_at));
    s->next = calloc((size_t)n, sizeof(*s->next));
    err = s->index_at && s->next ? 0 : -ENOMEM;
    for (int64_t p = 0; err == 0 && p < n; p++)
        s->next[p] = -1; /* wherever the log ends now; then right after each batch */
    if (err == 0)
        err = spread_batch(s->o, value, s->per_batch, &batch, &len);
    if (err == 0)
        err = spread_frame(s, batch, len);
    free(batch);
    return err;
}

static void spread_encode(void *ctx, int64_t seq, struct kc_writer *w)
{
    struct spread *s = ctx;
    int32_t f = (int32_t)(seq % s->nframes);
    size_t at = kc_writer_len(w);

    uint8_t *p;

    kc_write_raw(w, s->frame, s->frame_len);
    if (kc_writer_error(w) != 0)
        return; /* sticky: bench_pipe reports it */
    p = kc_writer_data(w) + at;
    kc_store_be32(p + 8, (uint32_t)s->corr_sent++); /* size 4, api key 2, version 2 */
    for (int32_t i = 0; f > 0 && i < s->per_req; i++)
        kc_store_be32(p + s->index_at[i], (uint32_t)(f * s->per_req + i));
}

/* One answer: an entry for each partition sent, no error, each batch right after the last. */
static int spread_check(struct spread *s, const struct kp_produce_resp *resp)
{
    const struct kp_produce_resp_topic_produce_response *t = resp->responses.v;

    if (resp->responses.n != 1 || t->partition_responses.n != s->per_req)
        return KC_EMALFORMED; /* we sent one topic of per_req partitions */
    for (int32_t i = 0; i < t->partition_responses.n; i++) {
        const struct kp_produce_resp_partition_produce_response *p = &t->partition_responses.v[i];

        if (p->index < 0 || p->index >= s->o->partitions)
            return KC_EMALFORMED;
        if (p->error_code != 0)
            return kafka__refused("Produce", p->error_code, p->error_message);
        if (s->next[p->index] >= 0 && p->base_offset != s->next[p->index]) {
            fprintf(stderr, "bench_kafka spread: partition %d: base offset %lld, expected "
                            "%lld\n", p->index, (long long)p->base_offset,
                    (long long)s->next[p->index]);
            return KC_EMALFORMED;
        }
        s->next[p->index] = p->base_offset + s->per_batch;
    }
    return 0;
}

static ssize_t spread_decode(void *ctx, const uint8_t *p, size_t len)
{
    struct spread *s = ctx;
    struct kp_response r;
    size_t flen;
    int err = kp_frame_check(p, len, 4, KAFKA_MAX_FRAME, &flen);

    if (err == KC_ENEEDMORE)
        return 0;
    if (err == 0)
        err = kp_response_decode(p + 4, flen - 4, KP_API_PRODUCE, s->version, 0, &r);
    if (err != 0)
        return err;
    err = r.correlation_id != s->corr_recv++ ? KC_EMALFORMED : spread_check(s, r.msg);
    kp_response_fini(&r);
    return err != 0 ? err : (ssize_t)flen;
}

static const struct bench_pipe_ops spread_ops = { spread_encode, spread_decode };

static void spread_free(struct spread *s)
{
    free(s->frame);
    free(s->index_at);
    free(s->next);
}

int kafka__run_spread(const struct kafka_opts *o, const struct kafka_versions *v,
                      const uint8_t *value)
{
    struct spread s = { .o = o, .corr_sent = 1, .corr_recv = 1 };
    int64_t per_request = o->batch * o->per_request, requests = o->count / per_request;
    struct bench_result r = { .bench = o->name, .records = requests * per_request };
    struct bench_pipe *pipe = bench_pipes_new(1);
    struct kafka_conn c = { .fd = -1 };
    int err = pipe != NULL ? 0 : -ENOMEM;

    if (err == 0)
        err = kafka__pick(v, KP_API_PRODUCE, o->version, PRODUCE_LO, KAFKA_PRODUCE_MAX,
                          &s.version);
    if (err == 0)
        err = spread_build(&s, value);
    if (err == 0)
        err = kafka__connect(o->port, &c);
    if (err == 0) {
        *pipe = (struct bench_pipe){ c.fd, requests, (int)o->window, &spread_ops, &s, NULL, 0 };
        c.fd = -1; /* the pipe owns the socket from here on */
        int64_t start = kc_mono_ns();
        err = bench_pipe_run_many(pipe, 1);
        r.elapsed_ns = kc_mono_ns() - start;
    }
    kafka__close(&c);
    r.bytes = r.records * o->size;
    if (err == 0) {
        bench_result_print(stdout, &r);
        printf("SPREAD bench=%s partitions=%lld batches_per_request=%d records_per_batch=%lld "
               "requests=%lld version=%d\n", o->name, (long long)o->partitions, s.per_req,
               (long long)s.per_batch, (long long)requests, s.version);
    }
    spread_free(&s);
    bench_pipes_free(pipe, 1);
    return err;
}
