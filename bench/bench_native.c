/*
 * bench_native.c - the broker's side of the system benchmark, over its native protocol.
 *
 *   bench_native produce --port P --topic T [--count 2000000] [--size 100] [--batch 1000]
 *                        [--acks 1|all] [--window 8] [--producers 1] [--name NAME]
 *       --producers connections, each sending produce-batch (command 5) requests of one
 *       RecordBatch v2 of --batch records, with up to --window requests in flight, to
 *       partition 0. records/s over the whole run; each response's count is checked.
 *       acks=all answers after fsync, and requests waiting for the same fsync share it
 *       (group commit), so several producers and a window > 1 are what make it fast.
 *
 *   bench_native rtt --port P --topic T [--count 20000] [--warmup 500] [--size 100]
 *                    [--broker-pid PID]
 *       one produce (command 1) of one record at a time, acks=1: the round trip p50/p99,
 *       paired with the raw TCP ping-pong it is compared with (an echo child answering
 *       messages of exactly this produce's request and response sizes, on the same request
 *       loop), in alternating chunks from this one process. Both servers sit alike: the
 *       echo child is pinned to the CPU of the broker loop that serves this connection
 *       (found from the broker's threads with --broker-pid, else by latency), and this
 *       client is pinned to that CPU ("same") and to another ("cross") in turn.
 *       Four RESULT lines (NAME_same, NAME_cross, tcp_pingpong_same, tcp_pingpong_cross)
 *       and a PLACEMENT line saying how the CPU was found (native_rtt.c).
 *
 *   bench_native consume --port P --topic T [--ms 1000] [--window 4] [--max-bytes 4194304]
 *                        [--verify] [--broker-pid PID] [--client-cpu C]
 *       consume-batch (command 6) with up to --window requests in flight (each for the
 *       offsets after the one before), from offset 0 to the log end and round again, for
 *       --ms: MB/s of record batches (and records/s). The topic was filled just before, so
 *       it is in the page cache and the broker serves it by sendfile. The client walks
 *       every batch header (to know the next offset and count records, trimming as
 *       PROTOCOL.md says); --verify also checks every batch's CRC-32C and records, as a
 *       careful consumer would. A CONSUME line says how the window fared (native_consume.c).
 *       --broker-pid: find the broker loop that serves us and print its CPU (PLACEMENT);
 *       --client-cpu: pin this reader (experiments; run.sh leaves it to the scheduler).
 *
 *   bench_native handshake --port P --topic T [--ms 1000] [--tls-ca CA]
 *                          [--sasl-mechanism M --sasl-user U]
 *       new connections, one after another, for --ms: connect, TLS (with --tls-ca), SASL
 *       (with --sasl-mechanism; the password from BENCH_SASL_PASSWORD), one ping, close.
 *       Connections per second in the RESULT line's records (native_handshake.c).
 *
 *   bench_native create --port P --topic T [--partitions 1]
 *       only create the topic (for the librdkafka generator's 32-partition topic).
 *
 * --tls-ca CA (every mode but rtt): every connection is TLS, the broker checked against CA
 * under the name localhost; --sasl-mechanism/--sasl-user: every connection logs in first.
 * Only the client library (np_client) speaks TLS and SASL, so produce and consume then run
 * on one np_client connection (produce: --producers 1, the window as given); --np-client
 * runs that same code over plain TCP, the plaintext side of a TLS comparison. Without
 * either, both keep their leaner plain-socket clients (run.sh's rows).
 *
 * Every mode first creates its topic (--partitions, default 1) unless it exists. The request
 * bytes are built once and sent again and again (the Redis client does the same with its
 * XADD), so the figures are the broker's, not the client's encoder's. RESULT lines: bench.h.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "kc_batch.h"
#include "kc_err.h"
#include "kc_time.h"
#include "native.h"
#include "np_client.h"
#include "zc_tls.h"

/* ---- request/response callbacks for bench_pipe ------------------------------------------ */

static void native_encode(void *ctx, int64_t seq, struct kc_writer *w)
{
    struct native_ctx *c = ctx;

    (void)seq;
    if (c->cmd == NP_PRODUCE)
        np_encode_produce(w, c->corr_sent++, &c->one);
    else
        np_encode_produce_batch(w, c->corr_sent++, &c->many);
}

/* A refused request: print the broker's message and stop the run with its code. */
ssize_t native__refused(const struct np_header *h, const uint8_t *body, size_t len)
{
    struct np_error_resp er;

    if (np_decode_error_resp(body, len, h->cmd, &er) == 0 && er.message.len > 0)
        fprintf(stderr, "broker: %s: %.*s\n", np_error_name(h->error), (int)er.message.len,
                (const char *)er.message.p);
    else
        fprintf(stderr, "broker: %s\n", np_error_name(h->error));
    return NP_ERR(h->error);
}

static ssize_t native_decode(void *ctx, const uint8_t *p, size_t len)
{
    struct native_ctx *c = ctx;
    struct np_produce_batch_resp br;
    struct np_produce_resp pr;
    struct np_header h;
    size_t flen;
    const uint8_t *body = p + NP_RESP_HEADER_SIZE;
    int err = np_frame_peek(p, len, NATIVE_MAX_FRAME, true, &h, &flen);

    if (err == KC_ENEEDMORE)
        return 0;
    if (err != 0)
        return err;
    if (h.cmd != c->cmd || h.corr != c->corr_recv++)
        return KC_EMALFORMED; /* answers come in order: anything else is a broken stream */
    if (h.error != NP_E_NONE)
        return native__refused(&h, body, flen - NP_RESP_HEADER_SIZE);
    if (c->cmd == NP_PRODUCE)
        err = np_decode_produce_resp(body, flen - NP_RESP_HEADER_SIZE, &pr);
    else
        err = np_decode_produce_batch_resp(body, flen - NP_RESP_HEADER_SIZE, &br);
    if (err == 0 && c->cmd == NP_PRODUCE_BATCH && br.count != c->expect_count)
        err = KC_EMALFORMED;
    return err != 0 ? err : (ssize_t)flen;
}

const struct bench_pipe_ops native__ops = { native_encode, native_decode };

/* ---- set-up ------------------------------------------------------------------------------ */

static void native_addr(const struct native_opts *o, char *addr, size_t cap)
{
    snprintf(addr, cap, "%s:%d", BENCH_HOST, o->port);
}

int native__connect(const struct native_opts *o, struct np_client *c)
{
    char addr[64];
    int err;

    native_addr(o, addr, sizeof(addr));
    err = np_client_connect(c, addr, BENCH_TIMEOUT_MS);
    if (err != 0)
        return err;
    if (o->tls != NULL)
        err = np_client_start_tls(c, o->tls, "localhost");
    if (err == 0 && o->sasl_mech != NULL)
        err = np_client_sasl_login(c, o->sasl_mech, o->sasl_user,
                                   o->sasl_password ? o->sasl_password : "");
    if (err != 0) {
        fprintf(stderr, "bench_native: connecting to %s: %s%s%s\n", addr, np_strerror(err),
                c->errmsg[0] ? ": " : "", c->errmsg);
        np_client_close(c);
    }
    return err;
}

/* Create the topic with --partitions partitions unless it exists. */
static int ensure_topic(const struct native_opts *o)
{
    struct np_create_topic_resp resp;
    struct np_client c;
    int err = native__connect(o, &c);

    if (err != 0)
        return err;
    err = np_client_create_topic(&c, o->topic, (int32_t)o->partitions, &resp);
    if (err == NP_ERR(NP_E_TOPIC_EXISTS))
        err = 0;
    if (err != 0 && np_is_err(err))
        fprintf(stderr, "bench_native: create %s: %s\n", o->topic, c.errmsg);
    np_client_close(&c);
    return err;
}

/* One batch of --batch records of --size bytes, built once (the caller frees it). */
static int build_batch(const struct native_opts *o, const uint8_t *value, uint8_t **out,
                       size_t *len)
{
    struct kc_batch_builder b;
    uint8_t *bytes;
    int64_t now = kc_wall_ms();
    int err = 0;

    kc_batch_builder_init(&b, NULL, 0);
    for (int64_t i = 0; i < o->batch && err == 0; i++)
        err = kc_batch_builder_add(&b, now, NULL, -1, value, (int32_t)o->size, NULL, 0);
    if (err == 0)
        err = kc_batch_builder_finish(&b, &bytes, len);
    if (err == 0) {
        *out = malloc(*len);
        err = *out != NULL ? 0 : -ENOMEM;
    }
    if (err == 0)
        memcpy(*out, bytes, *len);
    kc_batch_builder_fini(&b);
    return err;
}

const char *native__placement_why(int err)
{
    if (err == KC_EEMPTY)
        return "no " NATIVE_LOOP_THREAD "<i> thread ran once per request";
    if (err == -EINVAL)
        return "its network threads are not pinned to one CPU each";
    return kc_strerror(err);
}

/* ---- produce ----------------------------------------------------------------------------- */

void native__ctx_init(struct native_ctx *c, const struct native_opts *o, const uint8_t *batch,
                      size_t batch_len, const uint8_t *value)
{
    memset(c, 0, sizeof(*c));
    c->corr_sent = c->corr_recv = 1;
    c->expect_count = (int32_t)o->batch;
    c->cmd = batch != NULL ? NP_PRODUCE_BATCH : NP_PRODUCE;
    c->many = (struct np_produce_batch_req){ np_str(o->topic), 0, (int16_t)o->acks,
                                             { batch, (int32_t)batch_len } };
    c->one = (struct np_produce_req){ np_str(o->topic), 0, (int16_t)o->acks, -1,
                                      { NULL, -1 }, { value, (int32_t)o->size } };
}

/* The producers' connections: pipes[i] with ctxs[i], total requests split evenly. */
static int produce_setup(const struct native_opts *o, struct bench_pipe *pipes,
                         struct native_ctx *ctxs, const uint8_t *batch, size_t batch_len)
{
    int64_t requests = o->count / o->batch;
    int err = 0;

    for (int i = 0; i < o->producers; i++) {
        native__ctx_init(&ctxs[i], o, batch, batch_len, NULL);
        pipes[i].total = requests / o->producers + (i < requests % o->producers ? 1 : 0);
        pipes[i].window = (int)o->window;
        pipes[i].ops = &native__ops;
        pipes[i].ctx = &ctxs[i];
        if (err == 0)
            err = bench_connect(o->port, &pipes[i].fd);
    }
    return err;
}

static int run_produce(const struct native_opts *o, const uint8_t *value)
{
    struct bench_result r = { .bench = o->name, .records = o->count / o->batch * o->batch };
    struct bench_pipe *pipes = bench_pipes_new((int)o->producers);
    struct native_ctx *ctxs = calloc((size_t)o->producers, sizeof(*ctxs));
    uint8_t *batch = NULL;
    size_t batch_len = 0;
    int64_t start;
    int err = pipes && ctxs ? build_batch(o, value, &batch, &batch_len) : -ENOMEM;

    if (err == 0)
        err = produce_setup(o, pipes, ctxs, batch, batch_len);
    start = kc_mono_ns();
    if (err == 0)
        err = bench_pipe_run_many(pipes, (int)o->producers);
    r.elapsed_ns = kc_mono_ns() - start;
    r.bytes = r.records * o->size;
    if (err == 0)
        bench_result_print(stdout, &r);
    bench_pipes_free(pipes, (int)o->producers);
    free(ctxs);
    free(batch);
    return err;
}

/* ---- produce through the client library (TLS, SASL, or --np-client) ---------------------- */

/* One answer of the windowed loop below: in order, not refused, the whole batch taken. */
static int produce_client_recv(struct np_client *c, struct native_ctx *ctx)
{
    struct np_produce_batch_resp br;
    struct np_produce_resp pr;
    struct np_frame f;
    int err = np_client_recv(c, &f);

    if (err != 0)
        return err;
    if (f.h.cmd != ctx->cmd || f.h.corr != ctx->corr_recv++)
        return KC_EMALFORMED; /* answers come in order: anything else is a broken stream */
    if (f.h.error != NP_E_NONE)
        return (int)native__refused(&f.h, f.body, f.body_len);
    if (ctx->cmd == NP_PRODUCE)
        return np_decode_produce_resp(f.body, f.body_len, &pr);
    err = np_decode_produce_batch_resp(f.body, f.body_len, &br);
    return err == 0 && br.count != ctx->expect_count ? KC_EMALFORMED : err;
}

/*
 * The same produce-batch requests as run_produce, on one np_client connection: TCP, or TLS
 * and SASL as o says. Up to --window requests in flight: encode what the window allows into
 * the client's buffer, send it in one flush (one SSL_write on TLS), take one answer, again.
 * The plaintext figure to set a TLS one against is this loop with --np-client, not the
 * bench_pipe one: the same client code on both sides, only the transport differs.
 */
static int produce_client(const struct native_opts *o, struct np_client *c,
                          struct native_ctx *ctx, int64_t total)
{
    int64_t sent = 0, done = 0;
    int err = 0;

    ctx->corr_sent = ctx->corr_recv = np_client_next_corr(c); /* after any login's */
    while (err == 0 && done < total) {
        while (err == 0 && sent < total && sent - done < o->window) {
            native_encode(ctx, sent++, np_client_out(c));
            err = kc_writer_error(np_client_out(c));
        }
        if (err == 0)
            err = np_client_flush(c);
        if (err == 0)
            err = produce_client_recv(c, ctx);
        done++;
    }
    return err;
}

/* The connection (and its TLS handshake and login) is made before the clock starts. */
static int run_produce_client(const struct native_opts *o, const uint8_t *value)
{
    struct bench_result r = { .bench = o->name, .records = o->count / o->batch * o->batch };
    struct native_ctx ctx;
    struct np_client c;
    uint8_t *batch = NULL;
    size_t batch_len = 0;
    int64_t start;
    int err = build_batch(o, value, &batch, &batch_len);

    if (err == 0)
        err = native__connect(o, &c);
    if (err != 0) {
        free(batch);
        return err;
    }
    native__ctx_init(&ctx, o, batch, batch_len, NULL);
    start = kc_mono_ns();
    err = produce_client(o, &c, &ctx, o->count / o->batch);
    r.elapsed_ns = kc_mono_ns() - start;
    r.bytes = r.records * o->size;
    if (err == 0)
        bench_result_print(stdout, &r);
    np_client_close(&c);
    free(batch);
    return err;
}

/* ---- main -------------------------------------------------------------------------------- */

/* The client's TLS context: the CA to check the broker against; kernel TLS off, as the
 * broker's own client does (the bench measures the broker's side). */
static int tls_context(struct native_opts *o)
{
    struct zc_tls_config cfg = { .truststore_location = o->tls_ca, .no_ktls = true };
    char err[512];
    int rc = zc_tls_ctx_new(&cfg, false, &o->tls, err, sizeof(err));

    if (rc != 0)
        fprintf(stderr, "bench_native: TLS: %s\n", err);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_native produce --port P --topic T [--count N] [--size B] [--batch N]\n"
            "                            [--acks 1|all] [--window W] [--producers N]\n"
            "                            [--np-client] (TLS/SASL: through np_client, 1 producer)\n"
            "       bench_native rtt --port P --topic T [--count N] [--warmup N] [--size B]\n"
            "                        [--broker-pid PID]\n"
            "       bench_native consume --port P --topic T [--ms MS] [--window W]\n"
            "                            [--max-bytes B] [--verify] [--broker-pid PID]\n"
            "                            [--client-cpu C] [--np-client]\n"
            "       bench_native handshake --port P --topic T [--ms MS]\n"
            "       bench_native create --port P --topic T [--partitions N]\n"
            "       (every mode: [--name NAME] for the RESULT line; every mode but rtt:\n"
            "       [--tls-ca CA] [--sasl-mechanism M --sasl-user U], the password\n"
            "       from BENCH_SASL_PASSWORD)\n");
    exit(2);
}

/* 1 or all (-1). Not 0: an acks=0 produce gets no answer, and this loop counts answers. */
static int64_t parse_acks(const char *s)
{
    int64_t acks = strcmp(s, "all") == 0 ? NP_ACKS_ALL : bench_opt_i64("--acks", s, -1, 1);

    if (acks == NP_ACKS_NONE) {
        fprintf(stderr, "bench_native: --acks 0 is not measured here (no answers to count)\n");
        exit(2);
    }
    return acks;
}

static void parse(int argc, char **argv, struct native_opts *o)
{
    static const struct option longs[] = {
        { "port", 1, NULL, 'p' },      { "topic", 1, NULL, 't' },  { "name", 1, NULL, 'N' },
        { "count", 1, NULL, 'n' },     { "warmup", 1, NULL, 'W' }, { "size", 1, NULL, 's' },
        { "batch", 1, NULL, 'b' },     { "acks", 1, NULL, 'a' },   { "window", 1, NULL, 'w' },
        { "producers", 1, NULL, 'P' }, { "ms", 1, NULL, 'm' },     { "max-bytes", 1, NULL, 'B' },
        { "verify", 0, NULL, 'v' },    { "partitions", 1, NULL, 'X' },
        { "broker-pid", 1, NULL, 'I' }, { "client-cpu", 1, NULL, 'C' },
        { "tls-ca", 1, NULL, 'T' },    { "sasl-mechanism", 1, NULL, 'M' },
        { "sasl-user", 1, NULL, 'U' }, { "np-client", 0, NULL, 'L' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'p': o->port = (int)bench_opt_i64("--port", optarg, 1, 65535); break;
        case 't': o->topic = optarg; break;
        case 'N': o->name = optarg; break;
        case 'n': o->count = bench_opt_i64("--count", optarg, 1, 1000000000); break;
        case 'W': o->warmup = bench_opt_i64("--warmup", optarg, 0, 100000000); break;
        case 's': o->size = bench_opt_i64("--size", optarg, 1, 1 << 20); break;
        case 'b': o->batch = bench_opt_i64("--batch", optarg, 1, 1000000); break;
        case 'a': o->acks = parse_acks(optarg); break;
        case 'w': o->window = bench_opt_i64("--window", optarg, 1, 100000); break;
        case 'P': o->producers = bench_opt_i64("--producers", optarg, 1, 256); break;
        case 'm': o->ms = bench_opt_i64("--ms", optarg, 1, 600000); break;
        case 'B': o->max_bytes = bench_opt_i64("--max-bytes", optarg, 1, 1 << 30); break;
        case 'v': o->verify = true; break;
        case 'X': o->partitions = bench_opt_i64("--partitions", optarg, 1, 100000); break;
        case 'I': o->broker_pid = bench_opt_i64("--broker-pid", optarg, 1, INT32_MAX); break;
        case 'C': o->client_cpu = bench_opt_i64("--client-cpu", optarg, 0, 1023); break;
        case 'T': o->tls_ca = optarg; break;
        case 'M': o->sasl_mech = optarg; break;
        case 'U': o->sasl_user = optarg; break;
        case 'L': o->np_client = true; break;
        default: usage();
        }
    }
    if (o->port == 0 || o->topic == NULL || o->count < o->batch * o->producers ||
        (o->sasl_mech != NULL) != (o->sasl_user != NULL))
        usage();
    if (o->tls_ca != NULL || o->sasl_mech != NULL)
        o->np_client = true; /* only the client library speaks TLS and SASL */
    if (strcmp(o->mode, "rtt") == 0 && o->np_client)
        usage(); /* rtt stays on plain TCP: it measures the loop, not the transport */
    if (strcmp(o->mode, "produce") == 0 && o->np_client && o->producers != 1)
        usage(); /* produce through the client library: one connection */
    if (strcmp(o->mode, "consume") == 0 && o->window > NATIVE_CONSUME_WINDOW_MAX)
        usage();
}

int main(int argc, char **argv)
{
    struct native_opts o = { .count = 2000000, .warmup = 500, .size = 100, .batch = 1000,
                             .acks = NP_ACKS_LEADER, .window = 8, .producers = 1, .ms = 1000,
                             .max_bytes = 4 << 20, .partitions = 1, .client_cpu = -1 };
    uint8_t value[1 << 16];
    int err;

    o.mode = argc > 1 ? argv[1] : "";
    if (strcmp(o.mode, "rtt") == 0) {
        o.count = 20000;
        o.batch = 1;
    }
    if (strcmp(o.mode, "consume") == 0)
        o.window = 4; /* bench/README.md: what 1, 2 and 4 measured */
    parse(argc - 1, argv + 1, &o);
    if (o.size > (int64_t)sizeof(value))
        usage();
    if (o.name == NULL)
        o.name = o.mode;
    bench_fill_payload(value, (size_t)o.size, 7);
    o.sasl_password = getenv("BENCH_SASL_PASSWORD");
    err = o.tls_ca != NULL ? tls_context(&o) : 0;
    if (err == 0)
        err = ensure_topic(&o);
    if (err == 0 && strcmp(o.mode, "produce") == 0)
        err = o.np_client ? run_produce_client(&o, value) : run_produce(&o, value);
    else if (err == 0 && strcmp(o.mode, "rtt") == 0)
        err = native__run_rtt(&o, value);
    else if (err == 0 && strcmp(o.mode, "consume") == 0)
        err = native__run_consume(&o);
    else if (err == 0 && strcmp(o.mode, "handshake") == 0)
        err = native__run_handshake(&o);
    else if (err == 0 && strcmp(o.mode, "create") != 0)
        usage();
    if (err != 0)
        fprintf(stderr, "bench_native %s: %s\n", o.mode, np_strerror(err));
    zc_tls_ctx_free(o.tls);
    return err == 0 ? 0 : 1;
}
