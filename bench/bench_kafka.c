/*
 * bench_kafka.c - the broker's Kafka door under a load generator of our own.
 *
 *   bench_kafka produce --port P --topic T [--count 2000000] [--size 100] [--batch 1000]
 *                       [--acks 1|all] [--window 8] [--producers 1] [--version V]
 *                       [--idempotent] [--name NAME]
 *       --producers connections, each sending one Produce request (of version V) carrying
 *       one RecordBatch v2 of --batch records to partition 0, built once and sent again and
 *       again (only its correlation id rewritten), up to --window in flight: exactly
 *       bench_native's produce-batch, in Kafka's bytes. Every answer's error code and base
 *       offset are checked (each batch lands after the one before; right after it when
 *       this is the only producer).
 *       records/s over the whole run.
 *       --idempotent: each connection first asks InitProducerId, and its batches carry that
 *       producer id and epoch and consecutive base sequences (0, batch, 2 x batch, ...): the
 *       sequence and the CRC-32C are patched into each request as it is sent (see
 *       "Patching a sequence" below). A broker without InitProducerId: a clear failure.
 *
 *   bench_kafka consume --port P --topic T [--ms 1000] [--window 4] [--max-bytes 4194304]
 *                       [--version V] [--verify] [--name NAME]
 *       Fetch, with up to --window requests in flight (each for the offsets after the one
 *       before), from offset 0 to the log end and round again, for --ms: MB/s of record
 *       batches, every batch header walked to count records (kafka_consume.c).
 *
 *   bench_kafka sessions --port P --topic T --partitions N [--session on|off] [--ms 2000]
 *                        [--trickle R] [--max-wait MS] [--version V] [--name NAME]
 *       One consumer of all N partitions of T, with fetch sessions (KIP-227) or without,
 *       idle or while R records a second trickle in: Fetch requests a second, and the
 *       request and answer bytes per Fetch (kafka_session.c).
 *
 *   bench_kafka spread --port P --topic T --partitions N [--per-request K] [--batch R]
 *                      [--size B] [--count C] [--window W] [--acks 1|all] [--name NAME]
 *       Produce spread over the N partitions of T, each request carrying K batches of R
 *       records for K partitions, round and round; with N = 1, the same records to one
 *       partition, one batch of K x R records a request (kafka_spread.c).
 *
 *   bench_kafka leader --port P --topic T [--replication-factor RF] [--min-insync N]
 *                      [--brokers N]
 *       a cluster: CreateTopics (one partition, RF replicas, min.insync.replicas N) when RF
 *       is given, then Metadata until partition 0 has a leader (and --brokers N are live
 *       and its ISR is full): LEADER id=.. port=.. (kafka_cluster.c).
 *
 *   bench_kafka e2e --port P --topic T [--count 1000] [--size 100] [--name NAME]
 *       one record at a time, acks=all, to partition 0's leader, timed until a consumer
 *       long-polling Fetch on the leader receives it: p50/p99 (kafka_cluster.c).
 *
 *   bench_kafka failover --bootstrap P1,P2,P3 --topic T --kill-pid PID --signal KILL|TERM
 *                        [--warm-ms 500] [--after-ms 1000] [--deadline-ms 30000]
 *       single-record acks=all produces, one at a time, to partition 0's leader; after
 *       --warm-ms, the signal to PID (the leader); retries through Metadata until a new
 *       leader acknowledges: FAILOVER failover_ms=.. max_gap_ms=.. (kafka_failover.c).
 *
 *   bench_kafka probe --port P
 *       what the broker offers and what this generator would use, on one line for run.sh:
 *       PROBE produce=0-7 fetch=0-11 ... produce_flexible=- idempotent=no
 *
 * --version: a number, `classic` (the highest below the API's first flexible version:
 * Produce 9, Fetch 12), `flexible` (the highest from it on), or by default the highest the
 * broker offers that this generator sends (Produce 3-11, Fetch 4-17; Fetch 13+ names the
 * topic by the id Metadata v10+ gives). ApiVersions decides; what it does not offer is a
 * clear failure, never a guess. Every refusal (an error code, a closed connection) stops
 * the run with the broker's words on stderr. The topic is created by Metadata (Kafka's
 * auto-create) if it does not exist. Besides RESULT (bench.h), a KAFKA line says which
 * version was used.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "kc_batch.h"
#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_time.h"

#define PRODUCE_LO 3 /* RecordBatch v2 travels in Produce v3+ */

/* ---- Patching a sequence: the CRC-32C of a batch whose base sequence changed ------------
 *
 * An idempotent producer's batches differ only in their base sequence (bytes 53-56), but
 * the CRC-32C covers bytes 21 to the end: recomputing it over a 110 KB batch per request
 * would cost this client more than the sequence check costs the broker. CRC is linear
 * over GF(2), so it need not be. Split the CRC'd bytes where the sequence ends:
 *
 *   21            53  57                                               end
 *   | head (36 B) |seq| tail: records count and records (the same for every request) |
 *
 * With r the CRC register after the head, the final register is A(r) ^ B: A is what
 * running through the tail does to a register (a linear map, the same every time) and B
 * what the tail contributes on its own. A is 32 columns, A(1 << i) for each bit; B and the
 * columns are computed once from zero bytes and the tail. Per request: the CRC of 36
 * bytes, 32 conditional XORs. With kc_crc32c(c, buf) = ~R(~c, buf) for the raw register
 * update R (kc_crc32c.h's chaining rule), A(x) = ~kc_crc32c(~x, zeros) and
 * B = ~kc_crc32c(~0, tail). seq_patch_init checks the result against a full recompute.
 */

#define SEQ_HEAD_LEN (KC_BATCH_OFF_RECORDS_COUNT - KC_BATCH_OFF_ATTRIBUTES) /* 36 */

struct seq_patch {
    uint32_t col[32]; /* A(1 << i) */
    uint32_t tail;    /* B */
};

static void seq_patch_apply(const struct seq_patch *sp, uint8_t *batch, int32_t base_sequence)
{
    uint32_t r, acc = sp->tail;

    kc_store_be32(batch + KC_BATCH_OFF_BASE_SEQUENCE, (uint32_t)base_sequence);
    r = ~kc_crc32c(0, batch + KC_BATCH_OFF_ATTRIBUTES, SEQ_HEAD_LEN);
    for (int i = 0; i < 32; i++)
        acc ^= (r >> i & 1) ? sp->col[i] : 0;
    kc_store_be32(batch + KC_BATCH_OFF_CRC, ~acc);
}

/* The columns and the tail's share for batch[0..len), then a check on three sequences. */
static int seq_patch_init(struct seq_patch *sp, const uint8_t *batch, size_t len)
{
    size_t tail_len = len - KC_BATCH_OFF_RECORDS_COUNT;
    uint8_t *zeros = calloc(1, tail_len), *copy = malloc(len);
    const int32_t probes[] = { 1, 1000000, INT32_MAX };
    int err = zeros != NULL && copy != NULL ? 0 : -ENOMEM;

    for (int i = 0; err == 0 && i < 32; i++)
        sp->col[i] = ~kc_crc32c(~(1u << i), zeros, tail_len);
    sp->tail = ~kc_crc32c(~0u, batch + KC_BATCH_OFF_RECORDS_COUNT, tail_len);
    for (size_t i = 0; err == 0 && i < sizeof(probes) / sizeof(probes[0]); i++) {
        memcpy(copy, batch, len);
        seq_patch_apply(sp, copy, probes[i]);
        if (kc_load_be32(copy + KC_BATCH_OFF_CRC) !=
                kc_crc32c(0, copy + KC_BATCH_OFF_ATTRIBUTES, len - KC_BATCH_OFF_ATTRIBUTES) ||
            kc_batch_validate(copy, len, NULL) != (int)len) {
            fprintf(stderr, "bench_kafka: the patched CRC-32C is wrong (sequence %d)\n",
                    probes[i]);
            err = KC_ECRC;
        }
    }
    free(zeros);
    free(copy);
    return err;
}

/* ---- one producer connection ------------------------------------------------------------- */

struct kafka_producer {
    const struct kafka_opts *o;
    int16_t version;
    uint8_t *frame;       /* the Produce request, built once (owned) */
    size_t frame_len;
    size_t batch_at;      /* where its RecordBatch starts in the frame */
    size_t batch_len;
    int32_t corr_sent, corr_recv;
    int64_t last_base;    /* the last answer's base offset (-1: none yet) */
    int64_t producer_id;  /* idempotent: from InitProducerId; else -1 */
    int16_t epoch;
    struct seq_patch patch;
};

/* Kafka wraps a sequence from INT32_MAX to 0 (DefaultRecordBatch.incrementSequence). */
static int32_t base_sequence(int64_t request, int64_t batch)
{
    return (int32_t)((request * batch) % ((int64_t)INT32_MAX + 1));
}

static void produce_encode(void *ctx, int64_t seq, struct kc_writer *w)
{
    struct kafka_producer *k = ctx;
    size_t at = kc_writer_len(w);
    uint8_t *f;

    kc_write_raw(w, k->frame, k->frame_len);
    if (kc_writer_error(w) != 0)
        return; /* sticky: bench_pipe reports it */
    f = kc_writer_data(w) + at;
    kc_store_be32(f + 8, (uint32_t)k->corr_sent++); /* size 4, api key 2, version 2 */
    if (k->producer_id >= 0)
        seq_patch_apply(&k->patch, f + k->batch_at, base_sequence(seq, k->o->batch));
}

/*
 * One Produce answer: one topic, partition 0, no error, and a base offset after the last
 * batch of this connection: exactly after it when this is the only producer, at least
 * after it when others append to the same partition in between.
 */
static int produce_check(struct kafka_producer *k, const struct kp_produce_resp *resp)
{
    const struct kp_produce_resp_partition_produce_response *p;
    int64_t next;

    if (resp->responses.n != 1 || resp->responses.v[0].partition_responses.n != 1)
        return KC_EMALFORMED; /* we sent one partition of one topic */
    p = &resp->responses.v[0].partition_responses.v[0];
    if (p->index != 0)
        return KC_EMALFORMED;
    if (p->error_code != 0)
        return kafka__refused("Produce", p->error_code, p->error_message);
    next = k->last_base >= 0 ? k->last_base + k->o->batch : 0;
    if (p->base_offset < next || (k->o->producers == 1 && k->last_base >= 0 &&
                                  p->base_offset != next)) {
        fprintf(stderr, "bench_kafka: Produce answered base offset %lld after %lld: a batch "
                        "of %lld records cannot land there\n", (long long)p->base_offset,
                (long long)k->last_base, (long long)k->o->batch);
        return KC_EMALFORMED;
    }
    k->last_base = p->base_offset;
    return 0;
}

static ssize_t produce_decode(void *ctx, const uint8_t *p, size_t len)
{
    struct kafka_producer *k = ctx;
    struct kp_response r;
    size_t flen;
    int err = kp_frame_check(p, len, 4, KAFKA_MAX_FRAME, &flen);

    if (err == KC_ENEEDMORE)
        return 0;
    if (err == 0)
        err = kp_response_decode(p + 4, flen - 4, KP_API_PRODUCE, k->version, 0, &r);
    if (err != 0)
        return err;
    if (r.correlation_id != k->corr_recv++)
        err = KC_EMALFORMED; /* answers come in order: anything else is a broken stream */
    else
        err = produce_check(k, r.msg);
    kp_response_fini(&r);
    return err != 0 ? err : (ssize_t)flen;
}

static const struct bench_pipe_ops produce_ops = { produce_encode, produce_decode };

/* One batch of --batch records of --size bytes (the caller frees *out). */
static int build_batch(const struct kafka_producer *k, const uint8_t *value, uint8_t **out,
                       size_t *len)
{
    struct kc_batch_builder b;
    struct kc_batch_opts opts;
    uint8_t *bytes;
    int64_t now = kc_wall_ms();
    int err = 0;

    kc_batch_opts_default(&opts);
    opts.producer_id = k->producer_id;
    opts.producer_epoch = k->producer_id >= 0 ? k->epoch : -1;
    opts.base_sequence = k->producer_id >= 0 ? 0 : -1;
    kc_batch_builder_init(&b, &opts, 0);
    for (int64_t i = 0; i < k->o->batch && err == 0; i++)
        err = kc_batch_builder_add(&b, now, NULL, -1, value, (int32_t)k->o->size, NULL, 0);
    if (err == 0)
        err = kc_batch_builder_finish(&b, &bytes, len);
    if (err == 0)
        *out = malloc(*len);
    if (err == 0 && *out == NULL)
        err = -ENOMEM;
    if (err == 0)
        memcpy(*out, bytes, *len);
    kc_batch_builder_fini(&b);
    return err;
}

/* The Produce request around batch, once; where the batch sits in it. */
static int build_frame(struct kafka_producer *k, const uint8_t *batch, size_t len)
{
    struct kp_produce_req_partition_produce_data pd = { 0, { batch, (int32_t)len } };
    struct kp_produce_req_topic_produce_data td;
    struct kp_produce_req req;
    struct kp_request_header h = { KP_API_PRODUCE, k->version, 0,
                                   { (const uint8_t *)KAFKA_CLIENT_ID,
                                     (int32_t)strlen(KAFKA_CLIENT_ID) } };
    bool flexible = kp_api_flexible(kp_api_find(KP_API_PRODUCE), k->version);
    struct kc_writer w;
    int err;

    kp_init(&kp_produce_req_topic_produce_data_schema, &td);
    td.name = (struct kc_slice){ (const uint8_t *)k->o->topic, (int32_t)strlen(k->o->topic) };
    KP_SET(td.partition_data, 1, &pd);
    kp_init(&kp_produce_req_schema, &req);
    req.acks = (int16_t)k->o->acks;
    req.timeout_ms = 30000;
    KP_SET(req.topic_data, 1, &td);
    kc_writer_init(&w, 0);
    err = kp_request_encode(&w, &h, &req);
    if (err == 0) {
        k->frame = kc_writer_take(&w, &k->frame_len);
        err = k->frame != NULL ? 0 : -ENOMEM;
    }
    kc_writer_fini(&w);
    /* The records field is the request's last value; a flexible request ends with the
     * partition's, the topic's and the request's empty tag blocks, one byte each. */
    k->batch_len = len;
    k->batch_at = err == 0 ? k->frame_len - len - (flexible ? 3 : 0) : 0;
    if (err == 0 && memcmp(k->frame + k->batch_at, batch, len) != 0)
        err = KC_EMALFORMED;
    return err;
}

/* Connect producer k, ask its producer id if idempotent, build its request. */
static int producer_setup(struct kafka_producer *k, const struct kafka_versions *v,
                          const uint8_t *value, int *fd)
{
    struct kafka_conn c;
    uint8_t *batch = NULL;
    size_t len = 0;
    int err = kafka__connect(k->o->port, &c);

    k->producer_id = -1;
    k->corr_sent = k->corr_recv = 1;
    k->last_base = -1;
    if (err == 0 && k->o->idempotent)
        err = kafka__init_producer_id(&c, v, &k->producer_id, &k->epoch);
    if (err == 0)
        err = build_batch(k, value, &batch, &len);
    if (err == 0 && k->producer_id >= 0)
        err = seq_patch_init(&k->patch, batch, len);
    if (err == 0)
        err = build_frame(k, batch, len);
    k->corr_sent = k->corr_recv = c.corr; /* after InitProducerId's on this connection */
    *fd = c.fd; /* the pipe owns the socket from here on */
    c.fd = -1;
    kafka__close(&c);
    free(batch);
    return err;
}

static void produce_line(const struct kafka_opts *o, int16_t version)
{
    printf("KAFKA bench=%s api=Produce version=%d flexible=%d acks=%lld producers=%lld "
           "window=%lld idempotent=%d\n", o->name, version,
           kp_api_flexible(kp_api_find(KP_API_PRODUCE), version), (long long)o->acks,
           (long long)o->producers, (long long)o->window, o->idempotent);
}

static int run_produce(const struct kafka_opts *o, const struct kafka_versions *v,
                       const uint8_t *value)
{
    struct bench_result r = { .bench = o->name, .records = o->count / o->batch * o->batch };
    int n = (int)o->producers;
    int64_t requests = o->count / o->batch, start;
    struct bench_pipe *pipes = bench_pipes_new(n);
    struct kafka_producer *ks = calloc((size_t)n, sizeof(*ks));
    int16_t version = 0;
    int err = pipes != NULL && ks != NULL ? 0 : -ENOMEM;

    if (err == 0)
        err = kafka__pick(v, KP_API_PRODUCE, o->version, PRODUCE_LO, KAFKA_PRODUCE_MAX,
                          &version);
    for (int i = 0; err == 0 && i < n; i++) {
        ks[i] = (struct kafka_producer){ .o = o, .version = version };
        err = producer_setup(&ks[i], v, value, &pipes[i].fd);
        pipes[i] = (struct bench_pipe){ pipes[i].fd, requests / n + (i < requests % n),
                                        (int)o->window, &produce_ops, &ks[i], NULL, 0 };
    }
    start = kc_mono_ns();
    if (err == 0)
        err = bench_pipe_run_many(pipes, n);
    r.elapsed_ns = kc_mono_ns() - start;
    r.bytes = r.records * o->size;
    if (err == KC_ECLOSED)
        fprintf(stderr, "broker: closed the connection during Produce v%d (a Kafka broker "
                        "does so on a request it does not serve, or it stopped)\n", version);
    if (err == 0) {
        bench_result_print(stdout, &r);
        produce_line(o, version);
    }
    for (int i = 0; ks != NULL && i < n; i++)
        free(ks[i].frame);
    bench_pipes_free(pipes, n);
    free(ks);
    return err;
}

/* ---- probe: what the broker offers, for run.sh ------------------------------------------- */

static void probe_range(const struct kafka_versions *v, const char *name, int16_t key)
{
    if (v->has[key])
        printf(" %s=%d-%d", name, v->min[key], v->max[key]);
    else
        printf(" %s=-", name);
}

static void probe_choice(const struct kafka_versions *v, const char *name, int16_t key, int want,
                         int16_t lo, int16_t hi)
{
    int16_t got = kafka__choose(v, key, want, lo, hi);

    if (got >= 0)
        printf(" %s=%d", name, got);
    else
        printf(" %s=-", name);
}

static void run_probe(const struct kafka_versions *v)
{
    int16_t fetch_hi = kafka__fetch_hi(v);

    printf("PROBE");
    probe_range(v, "api_versions", KP_API_API_VERSIONS);
    probe_range(v, "metadata", KP_API_METADATA);
    probe_range(v, "produce", KP_API_PRODUCE);
    probe_range(v, "fetch", KP_API_FETCH);
    probe_range(v, "init_producer_id", KP_API_INIT_PRODUCER_ID);
    probe_choice(v, "produce_default", KP_API_PRODUCE, KAFKA_V_DEFAULT, PRODUCE_LO,
                 KAFKA_PRODUCE_MAX);
    probe_choice(v, "produce_classic", KP_API_PRODUCE, KAFKA_V_CLASSIC, PRODUCE_LO,
                 KAFKA_PRODUCE_MAX);
    probe_choice(v, "produce_flexible", KP_API_PRODUCE, KAFKA_V_FLEXIBLE, PRODUCE_LO,
                 KAFKA_PRODUCE_MAX);
    probe_choice(v, "fetch_default", KP_API_FETCH, KAFKA_V_DEFAULT, 4, fetch_hi);
    probe_choice(v, "fetch_classic", KP_API_FETCH, KAFKA_V_CLASSIC, 4, fetch_hi);
    probe_choice(v, "fetch_flexible", KP_API_FETCH, KAFKA_V_FLEXIBLE, 4, fetch_hi);
    printf(" idempotent=%s\n", v->has[KP_API_INIT_PRODUCER_ID] ? "yes" : "no");
}

/* ---- options and main -------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_kafka produce --port P --topic T [--count N] [--size B] [--batch N]\n"
            "                           [--acks 1|all] [--window W] [--producers N]\n"
            "                           [--version V|classic|flexible] [--idempotent]\n"
            "       bench_kafka consume --port P --topic T [--ms MS] [--window W]\n"
            "                           [--max-bytes B] [--version V|classic|flexible]\n"
            "                           [--verify]\n"
            "       bench_kafka sessions --port P --topic T --partitions N [--session on|off]\n"
            "                            [--ms MS] [--trickle R] [--max-wait MS] [--version V]\n"
            "       bench_kafka spread --port P --topic T --partitions N [--per-request K]\n"
            "                          [--batch R] [--size B] [--count C] [--window W]\n"
            "       bench_kafka leader --port P --topic T [--replication-factor RF]\n"
            "                          [--min-insync N] [--brokers N]\n"
            "       bench_kafka e2e --port P --topic T [--count N] [--size B]\n"
            "       bench_kafka failover --bootstrap P1,P2,.. --topic T --kill-pid PID\n"
            "                            --signal KILL|TERM [--warm-ms MS] [--after-ms MS]\n"
            "                            [--deadline-ms MS]\n"
            "       bench_kafka probe --port P\n"
            "       (produce and consume: [--name NAME] for the RESULT line)\n");
    exit(2);
}

/* 1 or all (-1). Not 0: an acks=0 produce gets no answer, and this loop counts answers. */
static int64_t parse_acks(const char *s)
{
    int64_t acks = strcmp(s, "all") == 0 ? -1 : bench_opt_i64("--acks", s, -1, 1);

    if (acks == 0) {
        fprintf(stderr, "bench_kafka: --acks 0 is not measured here (no answers to count)\n");
        exit(2);
    }
    return acks;
}

static int parse_version(const char *s)
{
    if (strcmp(s, "classic") == 0)
        return KAFKA_V_CLASSIC;
    if (strcmp(s, "flexible") == 0)
        return KAFKA_V_FLEXIBLE;
    return (int)bench_opt_i64("--version", s, 0, INT16_MAX);
}

static void parse(int argc, char **argv, struct kafka_opts *o)
{
    static const struct option longs[] = {
        { "port", 1, NULL, 'p' },      { "topic", 1, NULL, 't' },   { "name", 1, NULL, 'N' },
        { "count", 1, NULL, 'n' },     { "size", 1, NULL, 's' },    { "batch", 1, NULL, 'b' },
        { "acks", 1, NULL, 'a' },      { "window", 1, NULL, 'w' },  { "producers", 1, NULL, 'P' },
        { "ms", 1, NULL, 'm' },        { "max-bytes", 1, NULL, 'B' },
        { "version", 1, NULL, 'V' },   { "idempotent", 0, NULL, 'i' },
        { "verify", 0, NULL, 'v' },    { "partitions", 1, NULL, 'X' },
        { "session", 1, NULL, 'S' },   { "trickle", 1, NULL, 'T' },
        { "max-wait", 1, NULL, 'W' },  { "per-request", 1, NULL, 'K' },
        { "replication-factor", 1, NULL, 'R' }, { "min-insync", 1, NULL, 'I' },
        { "brokers", 1, NULL, 'O' },   { "bootstrap", 1, NULL, 'H' },
        { "kill-pid", 1, NULL, 'k' },  { "signal", 1, NULL, 'g' },
        { "warm-ms", 1, NULL, 'x' },   { "after-ms", 1, NULL, 'y' },
        { "deadline-ms", 1, NULL, 'z' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'p': o->port = (int)bench_opt_i64("--port", optarg, 1, 65535); break;
        case 't': o->topic = optarg; break;
        case 'N': o->name = optarg; break;
        case 'n': o->count = bench_opt_i64("--count", optarg, 1, 1000000000); break;
        case 's': o->size = bench_opt_i64("--size", optarg, 1, 1 << 16); break;
        case 'b': o->batch = bench_opt_i64("--batch", optarg, 1, 1000000); break;
        case 'a': o->acks = parse_acks(optarg); break;
        case 'w': o->window = bench_opt_i64("--window", optarg, 1, 100000); break;
        case 'P': o->producers = bench_opt_i64("--producers", optarg, 1, 256); break;
        case 'm': o->ms = bench_opt_i64("--ms", optarg, 1, 600000); break;
        case 'B': o->max_bytes = bench_opt_i64("--max-bytes", optarg, 1, INT32_MAX); break;
        case 'V': o->version = parse_version(optarg); break;
        case 'i': o->idempotent = true; break;
        case 'v': o->verify = true; break;
        case 'X': o->partitions = bench_opt_i64("--partitions", optarg, 1, 1 << 20); break;
        case 'S': o->sessions = strcmp(optarg, "on") == 0; break;
        case 'T': o->trickle = bench_opt_i64("--trickle", optarg, 0, 100000); break;
        case 'W': o->max_wait = bench_opt_i64("--max-wait", optarg, 0, 60000); break;
        case 'K': o->per_request = bench_opt_i64("--per-request", optarg, 1, 100000); break;
        case 'R': o->replication = bench_opt_i64("--replication-factor", optarg, 1, 16); break;
        case 'I': o->min_insync = bench_opt_i64("--min-insync", optarg, 1, 16); break;
        case 'O': o->brokers = bench_opt_i64("--brokers", optarg, 1, 1000); break;
        case 'H': o->bootstrap = optarg; break;
        case 'k': o->kill_pid = bench_opt_i64("--kill-pid", optarg, 2, INT32_MAX); break;
        case 'g': o->kill_signal = strcmp(optarg, "KILL") == 0 ? SIGKILL
                                 : strcmp(optarg, "TERM") == 0 ? SIGTERM : 0; break;
        case 'x': o->warm_ms = bench_opt_i64("--warm-ms", optarg, 0, 600000); break;
        case 'y': o->after_ms = bench_opt_i64("--after-ms", optarg, 0, 600000); break;
        case 'z': o->deadline_ms = bench_opt_i64("--deadline-ms", optarg, 1, 600000); break;
        default: usage();
        }
    }
    if (strcmp(o->mode, "failover") == 0) { /* no --port: every broker's, --bootstrap */
        if (o->bootstrap == NULL || o->topic == NULL || o->kill_pid == 0 ||
            o->kill_signal == 0)
            usage();
        return;
    }
    if (o->port == 0 || (o->topic == NULL && strcmp(o->mode, "probe") != 0) ||
        o->count < o->batch * o->producers)
        usage();
    if (strcmp(o->mode, "consume") == 0 && o->window > BENCH_CONSUME_WINDOW_MAX)
        usage();
    if (strcmp(o->mode, "sessions") == 0 && o->partitions == 0)
        usage();
    if (strcmp(o->mode, "spread") == 0 &&
        (o->partitions == 0 || (o->partitions > 1 && o->partitions % o->per_request != 0) ||
         o->count < o->batch * o->per_request))
        usage(); /* the requests must cover the partitions evenly */
}

/* ApiVersions from the first broker of --bootstrap that answers (failover: the leader
 * may be any of them, and the run must start whichever it is). */
static int bootstrap_port(const char *list)
{
    struct kafka_conn c;

    for (const char *s = list; *s != '\0';) {
        int port = atoi(s);

        if (port > 0 && kafka__connect(port, &c) == 0) {
            kafka__close(&c);
            return port;
        }
        kafka__close(&c);
        s = strchr(s, ',') != NULL ? strchr(s, ',') + 1 : s + strlen(s);
    }
    return 0;
}

/* ApiVersions, then the mode: probe, the cluster's modes, or produce, consume, sessions and
 * spread (after Metadata for the topic). */
static int run(const struct kafka_opts *o, const uint8_t *value)
{
    struct kafka_versions v;
    struct kafka_topic t;
    struct kafka_conn c;
    int port = o->bootstrap != NULL ? bootstrap_port(o->bootstrap) : o->port;
    int err = port > 0 ? kafka__connect(port, &c) : -ECONNREFUSED;

    if (err == 0)
        err = kafka__api_versions(&c, &v);
    if (err == 0 && strcmp(o->mode, "probe") == 0) {
        run_probe(&v);
        kafka__close(&c);
        return 0;
    }
    if (err == 0 && (strcmp(o->mode, "leader") == 0 || strcmp(o->mode, "e2e") == 0 ||
                     strcmp(o->mode, "failover") == 0)) {
        kafka__close(&c); /* these modes find the leader themselves, without auto-create */
        return strcmp(o->mode, "leader") == 0 ? kafka__run_leader(o, &v)
             : strcmp(o->mode, "e2e") == 0    ? kafka__run_e2e(o, &v, value)
                                              : kafka__run_failover(o, &v, value);
    }
    if (err == 0)
        err = kafka__metadata(&c, &v, o->topic, &t);
    kafka__close(&c);
    if (err == 0 && strcmp(o->mode, "produce") == 0)
        err = run_produce(o, &v, value);
    else if (err == 0 && strcmp(o->mode, "consume") == 0)
        err = kafka__run_consume(o, &v, &t);
    else if (err == 0 && strcmp(o->mode, "sessions") == 0)
        err = kafka__run_sessions(o, &v, &t);
    else if (err == 0 && strcmp(o->mode, "spread") == 0)
        err = kafka__run_spread(o, &v, value);
    return err;
}

int main(int argc, char **argv)
{
    struct kafka_opts o = { .count = 2000000, .size = 100, .batch = 1000, .acks = 1,
                            .window = 8, .producers = 1, .ms = 1000, .max_bytes = 4 << 20,
                            .version = KAFKA_V_DEFAULT, .per_request = 100 };
    uint8_t value[1 << 16];
    int err;

    o.mode = argc > 1 ? argv[1] : "";
    if (strcmp(o.mode, "consume") == 0)
        o.window = 4; /* as bench_native consume: bench/README.md says why */
    if (strcmp(o.mode, "sessions") == 0)
        o.ms = 2000;
    if (strcmp(o.mode, "spread") == 0)
        o.batch = 10; /* ~1 KiB batches of 100 B records, as partitioning/bench/scale.c */
    if (strcmp(o.mode, "e2e") == 0 || strcmp(o.mode, "leader") == 0 ||
        strcmp(o.mode, "failover") == 0) {
        o.count = 1000; /* e2e: samples; one record each in every cluster mode */
        o.batch = 1;
        o.warm_ms = 500;
        o.after_ms = 1000;
        o.deadline_ms = 30000;
    }
    if (strcmp(o.mode, "produce") != 0 && strcmp(o.mode, "consume") != 0 &&
        strcmp(o.mode, "probe") != 0 && strcmp(o.mode, "sessions") != 0 &&
        strcmp(o.mode, "spread") != 0 && strcmp(o.mode, "leader") != 0 &&
        strcmp(o.mode, "e2e") != 0 && strcmp(o.mode, "failover") != 0)
        usage();
    parse(argc - 1, argv + 1, &o);
    if (o.name == NULL)
        o.name = o.mode;
    bench_fill_payload(value, (size_t)o.size, 7);
    err = run(&o, value);
    if (err == KC_EEMPTY)
        fprintf(stderr, "bench_kafka %s: topic %s is empty: nothing to measure\n", o.mode,
                o.topic);
    else if (err != 0)
        fprintf(stderr, "bench_kafka %s: %s\n", o.mode, kafka__strerror(err));
    return err == 0 ? 0 : 1;
}
