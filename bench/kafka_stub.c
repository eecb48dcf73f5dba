/*
 * kafka_stub.c - a Kafka stand-in for testing bench_kafka on the versions the broker does
 * not offer yet: flexible Produce (v9+) and Fetch (v12+), topic ids (Fetch v13+), and
 * idempotent producers (InitProducerId, sequences). Not a broker and not measured: a test
 * double that checks what it is sent (bench/test_kafka.sh, make test-bench-kafka).
 *
 *   kafka_stub [--produce-max V] [--fetch-max V] [--no-init-producer-id]
 *       prints its port on stdout, serves until its stdin closes (or 60 s pass without a
 *       request), then prints how many requests it refused for a wrong reason and exits 1
 *       if any. By default it offers every version libbrk_kp implements; the options
 *       narrow the offer to imitate an older broker (today's: --produce-max 7
 *       --fetch-max 11 --no-init-producer-id).
 *
 * What it keeps: one partition of any topic named in Metadata (id 0x01..0x10), in memory.
 * What it checks, as a broker would, answering Kafka's error code:
 *
 *   Produce   the batch whole, its CRC-32C and every record (kc_batch_validate)   2 / 87
 *             an idempotent batch: its epoch, and a base sequence that follows on
 *             exactly from the producer's last batch                               45
 *             the topic "refuse-me": refused, to test how a refusal is reported    87
 *   Fetch     the topic by name (v12-) or by its id (v13+)                         3 / 100
 *             an offset past the end                                               1
 *
 * A Fetch answer holds whole batches from the one holding fetch_offset up to
 * partition_max_bytes (the first one even if larger, KIP-74), then the first 100 bytes of
 * the next batch, as Kafka's brokers may send: the client must drop the cut piece.
 * Single-threaded poll loop, loopback only, one answer per request in order.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "kc_batch.h"
#include "kc_err.h"
#include "kp_api.h"

#define STUB_CONNS      16
#define STUB_IDLE_MS    60000
#define STUB_LOG_MAX    (512u << 20) /* refuse to keep more than this */
#define STUB_PRODUCERS  64
#define STUB_EPOCH      3
#define STUB_PID_BASE   1000
#define STUB_CUT_BYTES  100
#define STUB_REFUSE     "refuse-me"
#define KAFKA_STUB_FRAME_MAX (64u << 20)

struct stub_log {
    uint8_t *bytes;       /* every batch, back to back, base offsets assigned */
    size_t len, cap;
    size_t *at;           /* where batch i starts */
    int64_t *base;        /* its base offset */
    size_t n, ncap;
    int64_t end;          /* the next offset */
};

struct stub {
    int16_t produce_max, fetch_max;
    bool init_producer_id;
    struct stub_log log;
    int64_t next_pid;
    int32_t next_seq[STUB_PRODUCERS]; /* per producer id - STUB_PID_BASE */
    int wrong;            /* requests that were refused for a reason a correct client avoids */
};

static const struct kp_uuid stub_topic_id = { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                                15, 16 } };

static bool slice_is(struct kc_slice s, const char *c)
{
    return s.len == (int32_t)strlen(c) && memcmp(s.p, c, strlen(c)) == 0;
}

/* ---- the log ------------------------------------------------------------------------- */

/* Append a validated batch of count records; its base offset is set here. */
static int log_append(struct stub_log *l, const uint8_t *batch, size_t len, int32_t count,
                      int64_t *base)
{
    if (l->len + len > STUB_LOG_MAX)
        return KC_ETOOLARGE;
    if (l->len + len > l->cap || l->n == l->ncap) {
        size_t cap = l->len + len > l->cap ? (l->len + len) * 2 : l->cap;
        size_t ncap = l->n == l->ncap ? l->ncap * 2 + 64 : l->ncap;
        uint8_t *bytes = realloc(l->bytes, cap);
        size_t *at = bytes != NULL ? realloc(l->at, ncap * sizeof(*at)) : NULL;
        int64_t *b = at != NULL ? realloc(l->base, ncap * sizeof(*b)) : NULL;

        l->bytes = bytes != NULL ? bytes : l->bytes;
        l->at = at != NULL ? at : l->at;
        if (b == NULL)
            return -ENOMEM;
        l->base = b;
        l->cap = cap;
        l->ncap = ncap;
    }
    memcpy(l->bytes + l->len, batch, len);
    kc_batch_set_base_offset(l->bytes + l->len, l->end);
    l->at[l->n] = l->len;
    l->base[l->n++] = *base = l->end;
    l->len += len;
    l->end += count;
    return 0;
}

/* The bytes a Fetch from offset returns: whole batches up to max, then a cut piece. */
static struct kc_slice log_read(const struct stub_log *l, int64_t offset, int32_t max)
{
    size_t i = 0, from, to;

    if (l->n == 0 || offset >= l->end)
        return (struct kc_slice){ NULL, 0 };
    while (i + 1 < l->n && l->base[i + 1] <= offset)
        i++;
    from = l->at[i];
    to = i + 1 < l->n ? l->at[i + 1] : l->len; /* the first batch, whatever its size */
    for (i++; i < l->n; i++) {
        size_t end = i + 1 < l->n ? l->at[i + 1] : l->len;

        if (end - from > (size_t)max)
            break;
        to = end;
    }
    if (i < l->n) { /* part of the next batch, as Kafka may send: never all of it */
        size_t next = (i + 1 < l->n ? l->at[i + 1] : l->len) - to;
        size_t cut = next - 1 < STUB_CUT_BYTES ? next - 1 : STUB_CUT_BYTES;

        to += to - from + cut <= (size_t)max ? cut : 0;
    }
    return (struct kc_slice){ l->bytes + from, (int32_t)(to - from) };
}

/* ---- answers, one per API -------------------------------------------------------------- */

#define NEW(a, type, n) ((struct type *)kp_new((a), &type##_schema, (n)))

/* A refusal a correct client never provokes: counted, and said on stderr. */
static int16_t wrong(struct stub *s, int16_t code, const char *why)
{
    fprintf(stderr, "kafka_stub: refused (%d): %s\n", code, why);
    s->wrong++;
    return code;
}

static void *ans_api_versions(struct stub *s, const struct kp_request *q, struct kp_arena *a)
{
    size_t n, k = 0;
    const struct kp_api *t = kp_api_table(&n);
    struct kp_api_versions_resp *r = NEW(a, kp_api_versions_resp, 1);
    struct kp_api_versions_resp_api_version *v = NEW(a, kp_api_versions_resp_api_version,
                                                     (int32_t)n);

    (void)q;
    for (size_t i = 0; r != NULL && v != NULL && i < n; i++) {
        int16_t max = t[i].key == KP_API_PRODUCE ? s->produce_max
                      : t[i].key == KP_API_FETCH ? s->fetch_max
                                                 : t[i].max;

        if (t[i].key == KP_API_INIT_PRODUCER_ID && !s->init_producer_id)
            continue;
        v[k++] = (struct kp_api_versions_resp_api_version){ t[i].key, t[i].min, max };
    }
    if (r != NULL)
        KP_SET(r->api_keys, (int32_t)k, v);
    return r;
}

static void *ans_metadata(struct stub *s, const struct kp_request *q, struct kp_arena *a)
{
    const struct kp_metadata_req *req = q->msg;
    struct kp_metadata_resp *r = NEW(a, kp_metadata_resp, 1);
    struct kp_metadata_resp_topic *t = NEW(a, kp_metadata_resp_topic, 1);
    struct kp_metadata_resp_partition *p = NEW(a, kp_metadata_resp_partition, 1);

    (void)s;
    if (r == NULL || t == NULL || p == NULL || req->topics.n != 1)
        return r; /* bench_kafka asks for exactly one topic */
    t->name = req->topics.v[0].name;
    t->topic_id = stub_topic_id;
    KP_SET(t->partitions, 1, p);
    KP_SET(r->topics, 1, t);
    return r;
}

static void *ans_init_producer_id(struct stub *s, const struct kp_request *q,
                                  struct kp_arena *a)
{
    struct kp_init_producer_id_resp *r = NEW(a, kp_init_producer_id_resp, 1);

    (void)q;
    if (r != NULL && s->next_pid < STUB_PID_BASE + STUB_PRODUCERS) {
        r->producer_id = s->next_pid++;
        r->producer_epoch = STUB_EPOCH;
    } else if (r != NULL) {
        r->error_code = wrong(s, 7, "out of producer ids");
    }
    return r;
}

/* An idempotent batch's producer state: 0 or Kafka's error code. */
static int16_t check_sequence(struct stub *s, const struct kc_batch_header *h)
{
    int32_t *next;

    if (h->producer_id < 0)
        return 0;
    if (h->producer_id < STUB_PID_BASE || h->producer_id >= s->next_pid)
        return wrong(s, 59, "a producer id we did not hand out");
    if (h->producer_epoch != STUB_EPOCH)
        return wrong(s, 47, "a producer epoch we did not hand out");
    next = &s->next_seq[h->producer_id - STUB_PID_BASE];
    if (h->base_sequence != *next) {
        fprintf(stderr, "kafka_stub: producer %lld sent sequence %d, expected %d\n",
                (long long)h->producer_id, h->base_sequence, *next);
        return wrong(s, 45, "out of order sequence");
    }
    *next = (int32_t)(((int64_t)*next + h->records_count) % ((int64_t)INT32_MAX + 1));
    return 0;
}

/* One partition's records: its error code and base offset. */
static int16_t produce_one(struct stub *s, struct kc_slice name, struct kc_slice recs,
                           int64_t *base)
{
    struct kc_batch_header h;
    int16_t code;

    if (slice_is(name, STUB_REFUSE))
        return 87; /* the test's refusal: not counted as wrong */
    if (recs.len <= 0 || kc_batch_validate(recs.p, (size_t)recs.len, &h) != recs.len)
        return wrong(s, 2, "a batch that is not one whole, valid RecordBatch v2");
    code = check_sequence(s, &h);
    if (code == 0 && log_append(&s->log, recs.p, (size_t)recs.len, h.records_count, base) != 0)
        code = wrong(s, 10, "the log is full");
    return code;
}

static void *ans_produce(struct stub *s, const struct kp_request *q, struct kp_arena *a)
{
    const struct kp_produce_req *req = q->msg;
    const struct kp_produce_req_topic_produce_data *td = req->topic_data.v;
    struct kp_produce_resp *r = NEW(a, kp_produce_resp, 1);
    struct kp_produce_resp_topic_produce_response *t = NEW(a, kp_produce_resp_topic_produce_response, 1);
    struct kp_produce_resp_partition_produce_response *p =
        NEW(a, kp_produce_resp_partition_produce_response, 1);

    if (r == NULL || t == NULL || p == NULL || req->topic_data.n != 1 ||
        td->partition_data.n != 1) {
        s->wrong++; /* bench_kafka sends one partition of one topic */
        return r;
    }
    t->name = td->name;
    p->index = td->partition_data.v[0].index;
    p->error_code = produce_one(s, td->name, td->partition_data.v[0].records, &p->base_offset);
    KP_SET(t->partition_responses, 1, p);
    KP_SET(r->responses, 1, t);
    return req->acks == 0 ? NULL : r;
}

/* The partition answer for one requested partition of our one topic. */
static void fetch_one(struct stub *s, int16_t version, const struct kp_fetch_req_topic *ft,
                      struct kp_fetch_resp_partition_data *p)
{
    const struct kp_fetch_req_partition *fp = &ft->partitions.v[0];

    p->partition_index = fp->partition;
    p->high_watermark = p->last_stable_offset = s->log.end;
    p->log_start_offset = 0;
    KP_SET(p->aborted_transactions, 0, NULL);
    if (version >= 13 && memcmp(&ft->topic_id, &stub_topic_id, sizeof(stub_topic_id)) != 0)
        p->error_code = wrong(s, 100, "Fetch v13+ without the topic's id");
    else if (version < 13 && ft->topic.len <= 0)
        p->error_code = wrong(s, 3, "Fetch below v13 without a topic name");
    else if (fp->fetch_offset < 0 || fp->fetch_offset > s->log.end)
        p->error_code = wrong(s, 1, "an offset outside the log");
    else
        p->records = log_read(&s->log, fp->fetch_offset, fp->partition_max_bytes);
}

static void *ans_fetch(struct stub *s, const struct kp_request *q, struct kp_arena *a)
{
    const struct kp_fetch_req *req = q->msg;
    struct kp_fetch_resp *r = NEW(a, kp_fetch_resp, 1);
    struct kp_fetch_resp_fetchable_topic_response *t =
        NEW(a, kp_fetch_resp_fetchable_topic_response, 1);
    struct kp_fetch_resp_partition_data *p = NEW(a, kp_fetch_resp_partition_data, 1);

    if (r == NULL || t == NULL || p == NULL || req->topics.n != 1 ||
        req->topics.v[0].partitions.n != 1) {
        s->wrong++; /* bench_kafka fetches one partition of one topic */
        return r;
    }
    t->topic = req->topics.v[0].topic;
    t->topic_id = req->topics.v[0].topic_id;
    fetch_one(s, q->hdr.request_api_version, &req->topics.v[0], p);
    KP_SET(t->partitions, 1, p);
    KP_SET(r->responses, 1, t);
    return r;
}

/* ---- serving ---------------------------------------------------------------------------- */

typedef void *(*answer_fn)(struct stub *, const struct kp_request *, struct kp_arena *);

static answer_fn answer_for(int16_t key)
{
    switch (key) {
    case KP_API_API_VERSIONS: return ans_api_versions;
    case KP_API_METADATA: return ans_metadata;
    case KP_API_INIT_PRODUCER_ID: return ans_init_producer_id;
    case KP_API_PRODUCE: return ans_produce;
    case KP_API_FETCH: return ans_fetch;
    default: return NULL;
    }
}

/* Is (key, version) in what we advertise? Kafka closes the connection otherwise. */
static bool offered(const struct stub *s, int16_t key, int16_t version)
{
    if (key == KP_API_PRODUCE)
        return version <= s->produce_max;
    if (key == KP_API_FETCH)
        return version <= s->fetch_max;
    return key != KP_API_INIT_PRODUCER_ID || s->init_producer_id;
}

/* Answer one decoded request on fd: 0, or an error (the connection is closed). */
static int answer(struct stub *s, int fd, const struct kp_request *q)
{
    answer_fn fn = answer_for(q->hdr.request_api_key);
    struct kc_writer w;
    struct kp_arena a;
    void *msg;
    int err = 0;

    if (fn == NULL || !offered(s, q->hdr.request_api_key, q->hdr.request_api_version))
        return KC_EBADVERSION; /* not offered: close, as Kafka does */
    kp_arena_init(&a, 0);
    kc_writer_init(&w, 0);
    msg = fn(s, q, &a);
    if (msg != NULL)
        err = kp_response_encode(&w, q->hdr.request_api_key, q->hdr.request_api_version,
                                 q->hdr.correlation_id, msg, NULL, NULL);
    if (err == 0 && msg != NULL)
        err = bench_send_all(fd, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
    kp_arena_fini(&a);
    return err;
}

/* Read one whole request from fd (blocking: a test client sends whole frames) and answer
 * it. 0, or an error: the connection is done. */
static int serve_one(struct stub *s, int fd)
{
    struct kp_request q;
    uint8_t size[4], *body;
    size_t len;
    int err = bench_read_exact(fd, size, sizeof(size));

    len = kc_load_be32(size);
    if (err == 0 && (len < KP_REQUEST_HEADER_MIN || len > KAFKA_STUB_FRAME_MAX))
        err = KC_EMALFORMED;
    body = err == 0 ? malloc(len) : NULL;
    if (err == 0 && body == NULL)
        err = -ENOMEM;
    if (err == 0)
        err = bench_read_exact(fd, body, len);
    if (err == 0)
        err = kp_request_decode(body, len, 0, &q);
    if (err == 0) {
        err = answer(s, fd, &q);
        kp_request_fini(&q);
    }
    if (err != 0 && err != KC_ECLOSED && err != KC_EBADVERSION) {
        fprintf(stderr, "kafka_stub: a request we could not take: %s\n", kc_strerror(err));
        s->wrong++;
    }
    free(body);
    return err;
}

/* Serve until stdin closes or STUB_IDLE_MS pass without a request. */
static void serve(struct stub *s, int lfd)
{
    struct pollfd pf[STUB_CONNS + 2] = { { 0, POLLIN, 0 }, { lfd, POLLIN, 0 } };
    int n = 2;

    while (poll(pf, (nfds_t)n, STUB_IDLE_MS) > 0 && !(pf[0].revents & (POLLIN | POLLHUP))) {
        if ((pf[1].revents & POLLIN) && n < STUB_CONNS + 2) {
            int fd = accept(lfd, NULL, NULL);

            if (fd >= 0)
                pf[n++] = (struct pollfd){ fd, POLLIN, 0 };
        }
        for (int i = 2; i < n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)) || serve_one(s, pf[i].fd) == 0)
                continue;
            (void)close(pf[i].fd); /* the client is gone, or we closed on it */
            pf[i--] = pf[--n];
        }
    }
    for (int i = 2; i < n; i++)
        (void)close(pf[i].fd); /* stopping */
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        { "produce-max", 1, NULL, 'p' }, { "fetch-max", 1, NULL, 'f' },
        { "no-init-producer-id", 0, NULL, 'n' }, { NULL, 0, NULL, 0 },
    };
    struct stub *s = calloc(1, sizeof(*s));
    int ch, lfd, port;

    if (s == NULL)
        bench_die("kafka_stub", -ENOMEM);
    *s = (struct stub){ .produce_max = 11, .fetch_max = 17, .init_producer_id = true,
                        .next_pid = STUB_PID_BASE };
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (ch == 'p')
            s->produce_max = (int16_t)bench_opt_i64("--produce-max", optarg, 0, 11);
        else if (ch == 'f')
            s->fetch_max = (int16_t)bench_opt_i64("--fetch-max", optarg, 0, 17);
        else if (ch == 'n')
            s->init_producer_id = false;
        else
            return 2;
    }
    ch = bench_listen(0, &lfd, &port);
    if (ch != 0)
        bench_die("kafka_stub: listen", ch);
    printf("%d\n", port);
    fflush(stdout);
    serve(s, lfd);
    (void)close(lfd); /* stopping */
    fprintf(stderr, "kafka_stub: %zu batches, %lld records kept; %d wrong requests\n",
            s->log.n, (long long)s->log.end, s->wrong);
    ch = s->wrong == 0 ? 0 : 1;
    free(s->log.bytes);
    free(s->log.at);
    free(s->log.base);
    free(s);
    return ch;
}
