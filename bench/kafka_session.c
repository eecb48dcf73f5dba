/*
 * kafka_session.c - bench_kafka sessions: one consumer of N partitions, with and without
 * fetch sessions (KIP-227), idle or under a trickle of records.
 *
 *   bench_kafka sessions --port P --topic T --partitions N [--session on|off]
 *                        [--ms 2000] [--trickle R] [--max-wait MS] [--version V]
 *
 * The consumer reads every partition of T (0..N-1) from its start, one Fetch at a time,
 * as a Java consumer does (one request per broker in flight):
 *
 *   --session off   every Fetch names all N partitions (session 0, epoch -1: what
 *                   librdkafka and kafkajs send) and every answer carries all N
 *   --session on    the first Fetch is full (epoch 0) and makes a session; the next ones
 *                   are incremental: they name only the partitions whose fetch offset
 *                   moved (those that brought records), and the answer carries only the
 *                   partitions with something new. A session error (70, 71) starts over
 *                   with a full Fetch; an answer without a session (no room) keeps full
 *
 *   --trickle R     a second connection produces R records a second, one 100-byte record
 *                   per Produce (acks=1), to the partitions in turn (stride 7919, a prime):
 *                   the "few partitions change at a time" of a real consumer. 0: idle
 *   --max-wait      the Fetch's max_wait_ms (default 0: answered at once, so the run
 *                   measures what one Fetch of N partitions costs, back to back)
 *
 * After --ms the producer stops and the consumer reads on (untimed) until it has every
 * record produced: exactly that many, or the run fails. Printed:
 *
 *   RESULT  bench=NAME records=<fetches> bytes=<request + answer bytes> ... p50_us p99_us
 *           (records_per_s is Fetch requests per second; the latencies are per Fetch)
 *   SESSION bench=NAME sessions=0|1 partitions=N fetches=F req_bytes=B resp_bytes=B
 *           seconds=S records=R produced=P incremental=I full=F
 *
 * bench/run.sh turns the SESSION lines into request and answer bytes per Fetch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "kc_batch.h"
#include "kc_common.h"
#include "kp_errors.h"
#include "kc_err.h"
#include "kc_time.h"

#define SESS_DRAIN_MS 30000 /* the untimed read of what is left after --ms */
#define SESS_STRIDE   7919  /* the trickle's partition step: visits them all, spread */

struct sess {
    const struct kafka_opts *o;
    const struct kafka_topic *t;
    struct kafka_conn conn;
    int16_t version;
    int32_t n;
    int64_t *offset;       /* the next offset to read, per partition */
    bool *moved;           /* its offset moved since the session last heard it */
    int32_t id, epoch;     /* the session (0: none yet) */
    struct kp_arena arena; /* one request's arrays */
    /* figures */
    int64_t fetches, req_bytes, resp_bytes, records, incremental, full;
    int64_t *lat_ns;
    size_t nlat, cap;
};

/* ---- one Fetch ------------------------------------------------------------------------ */

/* Kafka's FetchMetadata.nextEpoch for a live session: 1, 2, ... INT32_MAX, 1, ... */
static int32_t next_epoch(int32_t epoch)
{
    return epoch == INT32_MAX ? 1 : epoch + 1;
}

static void sess_topic(const struct sess *s, struct kp_fetch_req_topic *t)
{
    if (s->version >= KAFKA_FETCH_ID_MIN)
        t->topic_id = s->t->id;
    else
        t->topic = (struct kc_slice){ (const uint8_t *)s->o->topic, (int32_t)strlen(s->o->topic) };
}

/* The next request: every partition (full), or those that moved (incremental). */
static int sess_request(struct sess *s, struct kp_fetch_req *req, bool *incremental)
{
    struct kp_fetch_req_topic *t = kp_new(&s->arena, &kp_fetch_req_topic_schema, 1);
    struct kp_fetch_req_partition *p = kp_new(&s->arena, &kp_fetch_req_partition_schema, s->n);
    int32_t k = 0;

    if (t == NULL || p == NULL)
        return -ENOMEM;
    *incremental = s->o->sessions && s->id != 0;
    for (int32_t i = 0; i < s->n; i++) {
        if (*incremental && !s->moved[i])
            continue;
        p[k].partition = i;
        p[k].fetch_offset = s->offset[i];
        p[k++].partition_max_bytes = 1 << 20;
        s->moved[i] = false;
    }
    sess_topic(s, t);
    KP_SET(t->partitions, k, p);
    kp_init(&kp_fetch_req_schema, req);
    req->max_wait_ms = (int32_t)s->o->max_wait;
    req->min_bytes = 1;
    req->max_bytes = 64 << 20;
    req->session_id = s->o->sessions ? s->id : 0;
    req->session_epoch = !s->o->sessions ? -1 : s->id != 0 ? s->epoch : 0;
    KP_SET(req->topics, k > 0 || !*incremental ? 1 : 0, t);
    return 0;
}

/* Take the records of one partition's answer: the offset moves past its last batch. */
static int sess_records(struct sess *s, int32_t partition, struct kc_slice rec)
{
    size_t at = 0;

    while (rec.len > 0 && at + KC_BATCH_HEADER_SIZE <= (size_t)rec.len) {
        const uint8_t *b = rec.p + at;
        int64_t base = (int64_t)kc_load_be64(b);
        size_t len = KC_BATCH_LOG_OVERHEAD + (size_t)kc_load_be32(b + KC_BATCH_OFF_LENGTH);
        int64_t last = base + (int32_t)kc_load_be32(b + KC_BATCH_OFF_LAST_OFFSET_DELTA);

        if (at + len > (size_t)rec.len)
            break; /* cut short by a limit: read again next time */
        if (last >= s->offset[partition]) {
            s->records += last + 1 - KC_MAX(base, s->offset[partition]);
            s->offset[partition] = last + 1;
            s->moved[partition] = true;
        }
        at += len;
    }
    return 0;
}

/* The answer: its session and its partitions. */
static int sess_answer(struct sess *s, const struct kp_fetch_resp *r, bool incremental)
{
    if (r->error_code == KP_ERR_FETCH_SESSION_ID_NOT_FOUND ||
        r->error_code == KP_ERR_INVALID_FETCH_SESSION_EPOCH) {
        s->id = 0; /* start over with a full Fetch, as Java's FetchSessionHandler does */
        for (int32_t i = 0; i < s->n; i++)
            s->moved[i] = true;
        return 0;
    }
    if (r->error_code != 0)
        return kafka__refused("Fetch", r->error_code, (struct kc_slice){ NULL, -1 });
    if (s->o->sessions) {
        s->id = r->session_id;
        s->epoch = incremental ? next_epoch(s->epoch) : 1;
    }
    for (int32_t i = 0; i < r->responses.n; i++)
        for (int32_t j = 0; j < r->responses.v[i].partitions.n; j++) {
            const struct kp_fetch_resp_partition_data *p = &r->responses.v[i].partitions.v[j];

            if (p->partition_index < 0 || p->partition_index >= s->n)
                return KC_EMALFORMED;
            if (p->error_code != 0)
                return kafka__refused("Fetch, a partition", p->error_code,
                                      (struct kc_slice){ NULL, -1 });
            sess_records(s, p->partition_index, p->records);
        }
    return 0;
}

static int sess_fetch(struct sess *s, bool timed)
{
    struct kp_fetch_req req;
    struct kp_response r;
    bool incremental;
    int32_t corr = s->conn.corr;
    int64_t t0 = kc_mono_ns();
    int err = sess_request(s, &req, &incremental);

    if (err == 0)
        err = kafka__send(&s->conn, KP_API_FETCH, s->version, &req);
    size_t sent = kc_writer_len(&s->conn.out);
    if (err == 0)
        err = kafka__recv(&s->conn, KP_API_FETCH, s->version, corr, &r);
    kp_arena_fini(&s->arena);
    if (err != 0)
        return err;
    err = sess_answer(s, r.msg, incremental);
    if (timed && err == 0) {
        s->fetches++;
        s->req_bytes += (int64_t)sent;
        s->resp_bytes += 4 + (int64_t)r.body_used;
        s->incremental += incremental;
        s->full += !incremental;
        if (s->nlat < s->cap)
            s->lat_ns[s->nlat++] = kc_mono_ns() - t0;
    }
    kp_response_fini(&r);
    return err;
}

/* Untimed, before the run: a sessionless Fetch that reads nothing (partition_max_bytes 0)
 * and tells every partition's end, where the consumer starts: a topic that earlier runs
 * filled is then as idle as a new one. */
static int sess_start_at_end(struct sess *s)
{
    struct kp_fetch_req_topic *t = kp_new(&s->arena, &kp_fetch_req_topic_schema, 1);
    struct kp_fetch_req_partition *p = kp_new(&s->arena, &kp_fetch_req_partition_schema, s->n);
    struct kp_fetch_req req;
    struct kp_response r;
    int err = t != NULL && p != NULL ? 0 : -ENOMEM;

    for (int32_t i = 0; err == 0 && i < s->n; i++)
        p[i].partition = i; /* offset 0, max bytes 0: judged, not read */
    if (err == 0) {
        sess_topic(s, t);
        KP_SET(t->partitions, s->n, p);
        kp_init(&kp_fetch_req_schema, &req);
        req.min_bytes = 1;
        KP_SET(req.topics, 1, t);
        err = kafka__call(&s->conn, KP_API_FETCH, s->version, &req, &r);
    }
    kp_arena_fini(&s->arena);
    if (err != 0)
        return err;
    const struct kp_fetch_resp *resp = r.msg;
    for (int32_t i = 0; i < resp->responses.n; i++)
        for (int32_t j = 0; j < resp->responses.v[i].partitions.n; j++) {
            const struct kp_fetch_resp_partition_data *pd = &resp->responses.v[i].partitions.v[j];
            if (pd->partition_index >= 0 && pd->partition_index < s->n)
                s->offset[pd->partition_index] = pd->high_watermark;
            if (pd->error_code != 0 && err == 0)
                err = kafka__refused("Fetch (the partitions' ends)", pd->error_code,
                                     (struct kc_slice){ NULL, -1 });
        }
    kp_response_fini(&r);
    return err;
}

/* ---- the trickle ------------------------------------------------------------------------ */

struct trickle {
    const struct kafka_opts *o;
    int16_t version;
    int32_t n;
    atomic_bool stop;
    int64_t produced;
    int err;
};

static int trickle_one(struct trickle *tr, struct kafka_conn *c, const uint8_t *batch,
                       size_t len, int32_t partition)
{
    struct kp_produce_req_partition_produce_data pd = { partition, { batch, (int32_t)len } };
    struct kp_produce_req_topic_produce_data td;
    struct kp_produce_req req;
    struct kp_response r;
    int err;

    kp_init(&kp_produce_req_topic_produce_data_schema, &td);
    td.name = (struct kc_slice){ (const uint8_t *)tr->o->topic, (int32_t)strlen(tr->o->topic) };
    KP_SET(td.partition_data, 1, &pd);
    kp_init(&kp_produce_req_schema, &req);
    req.acks = 1;
    req.timeout_ms = 30000;
    KP_SET(req.topic_data, 1, &td);
    err = kafka__call(c, KP_API_PRODUCE, tr->version, &req, &r);
    if (err != 0)
        return err;
    const struct kp_produce_resp *resp = r.msg;
    int16_t code = resp->responses.n == 1 && resp->responses.v[0].partition_responses.n == 1
                       ? resp->responses.v[0].partition_responses.v[0].error_code
                       : -1;
    kp_response_fini(&r);
    return code == 0 ? 0 : kafka__refused("Produce (trickle)", code, (struct kc_slice){ NULL, -1 });
}

/* R records a second, one per Produce, until stop. */
static void *trickle_main(void *arg)
{
    struct trickle *tr = arg;
    struct kafka_conn c;
    struct kc_batch_builder b;
    struct kc_batch_opts opts;
    uint8_t value[100], *batch = NULL;
    size_t len = 0;
    int64_t t0 = kc_mono_ns(), period = 1000000000 / tr->o->trickle;

    bench_fill_payload(value, sizeof(value), 11);
    kc_batch_opts_default(&opts);
    kc_batch_builder_init(&b, &opts, 0);
    tr->err = kc_batch_builder_add(&b, kc_wall_ms(), NULL, -1, value, sizeof(value), NULL, 0);
    if (tr->err == 0)
        tr->err = kc_batch_builder_finish(&b, &batch, &len);
    if (tr->err == 0)
        tr->err = kafka__connect(tr->o->port, &c);
    for (int64_t i = 0; tr->err == 0 && !atomic_load(&tr->stop); i++) {
        int64_t wait = t0 + i * period - kc_mono_ns();
        if (wait > 0)
            kc_sleep_ms(wait / 1000000);
        tr->err = trickle_one(tr, &c, batch, len, (int32_t)((i * SESS_STRIDE) % tr->n));
        tr->produced += tr->err == 0;
    }
    kafka__close(&c);
    kc_batch_builder_fini(&b);
    return NULL;
}

/* ---- the run ------------------------------------------------------------------------------ */

static void sess_print(const struct sess *s, int64_t elapsed_ns, int64_t produced)
{
    struct bench_result r = { .bench = s->o->name, .records = s->fetches,
                              .bytes = s->req_bytes + s->resp_bytes, .elapsed_ns = elapsed_ns,
                              .lat_ns = s->lat_ns, .nlat = s->nlat };

    bench_result_print(stdout, &r);
    printf("SESSION bench=%s sessions=%d partitions=%d fetches=%lld req_bytes=%lld "
           "resp_bytes=%lld seconds=%.3f records=%lld produced=%lld incremental=%lld "
           "full=%lld trickle=%lld version=%d\n", s->o->name, s->o->sessions, s->n,
           (long long)s->fetches, (long long)s->req_bytes, (long long)s->resp_bytes,
           (double)elapsed_ns / 1e9, (long long)s->records, (long long)produced,
           (long long)s->incremental, (long long)s->full, (long long)s->o->trickle, s->version);
}

/* Read on, untimed, until every record produced has been read (or SESS_DRAIN_MS). */
static int sess_drain(struct sess *s, int64_t produced)
{
    int64_t deadline = kc_mono_ms() + SESS_DRAIN_MS;
    int err = 0;

    while (err == 0 && s->records < produced && kc_mono_ms() < deadline)
        err = sess_fetch(s, false);
    if (err == 0 && s->records != produced) {
        fprintf(stderr, "bench_kafka sessions: read %lld records of the %lld produced\n",
                (long long)s->records, (long long)produced);
        err = KC_EMALFORMED;
    }
    return err;
}

static int sess_setup(struct sess *s, const struct kafka_versions *v)
{
    int err = kafka__pick(v, KP_API_FETCH, s->o->version, 7, kafka__fetch_hi(v), &s->version);

    if (err == 0 && s->version >= KAFKA_FETCH_ID_MIN && !s->t->has_id)
        err = KAFKA_ENOTOFFERED;
    s->n = (int32_t)s->o->partitions;
    s->offset = calloc((size_t)s->n, sizeof(*s->offset));
    s->moved = calloc((size_t)s->n, sizeof(*s->moved));
    s->cap = 1 << 20;
    s->lat_ns = malloc(s->cap * sizeof(*s->lat_ns));
    kp_arena_init(&s->arena, 0);
    if (err == 0 && (s->offset == NULL || s->moved == NULL || s->lat_ns == NULL))
        err = -ENOMEM;
    if (err == 0)
        err = kafka__connect(s->o->port, &s->conn);
    if (err == 0)
        err = sess_start_at_end(s);
    return err;
}

int kafka__run_sessions(const struct kafka_opts *o, const struct kafka_versions *v,
                        const struct kafka_topic *t)
{
    struct sess s = { .o = o, .t = t, .conn = { .fd = -1 } };
    struct trickle tr = { .o = o, .n = (int32_t)o->partitions };
    pthread_t th;
    bool started = false;
    int err = sess_setup(&s, v);

    if (err == 0 && o->trickle > 0)
        err = kafka__pick(v, KP_API_PRODUCE, KAFKA_V_DEFAULT, 3, KAFKA_PRODUCE_MAX, &tr.version);
    if (err == 0 && o->trickle > 0)
        started = (err = -pthread_create(&th, NULL, trickle_main, &tr)) == 0;
    int64_t t0 = kc_mono_ns(), end = kc_mono_ms() + o->ms;
    while (err == 0 && kc_mono_ms() < end)
        err = sess_fetch(&s, true);
    int64_t elapsed = kc_mono_ns() - t0;
    atomic_store(&tr.stop, true);
    if (started)
        (void)pthread_join(th, NULL); /* it always ends: stop is set, Produce has a timeout */
    if (err == 0)
        err = tr.err;
    if (err == 0)
        err = sess_drain(&s, tr.produced);
    if (err == 0)
        sess_print(&s, elapsed, tr.produced);
    kafka__close(&s.conn);
    kp_arena_fini(&s.arena);
    free(s.offset);
    free(s.moved);
    free(s.lat_ns);
    return err;
}
