/*
 * native_consume.c - bench_native consume: consume-batch from the page cache.
 *
 * A window of consume-batch requests in flight on one connection, on the windowed
 * consumer of bench/lib (bench.h: bench_consume, where the guessed ranges, the trimming
 * and the per-pass check live; Kafka's Fetch in bench_kafka runs on the same loop). This
 * file is the native protocol's side: one consume-batch request per offset (the broker
 * ignores max_records and sends whole batches up to max_bytes, PROTOCOL.md), one answer
 * frame read whole, and the probe that finds which broker loop serves us.
 *
 * Two ways to read the answers, the same requests either way:
 *
 *   plain socket (default)   read(2) of the 14-byte header, then of the body, straight into
 *                            one buffer: the cheapest client, so that the figure is the
 *                            broker's (run.sh's consume rows)
 *   np_client (--tls-ca,     the client library's buffered reads, one read(2) or SSL_read
 *   --sasl-*, --np-client)   per chunk, frames parsed in place: the only client that speaks
 *                            TLS and SASL. A TLS figure is set against --np-client's, so
 *                            that only the transport differs (on plaintext the library's
 *                            reader ran at 0.84-0.92x of the plain one here: zeroCopy/
 *                            README.md section 5)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kc_err.h"
#include "native.h"
#include "np_client.h"

/* One connection's consume-batch requests and answers: the ops of bench_consume. */
struct native_consume {
    const struct native_opts *o;
    bool via_client;         /* np_client (TLS, SASL, --np-client), else the plain fd */
    int fd;                  /* plain: blocking, with a receive timeout */
    struct np_client c;      /* via_client: TCP, or TLS with --tls-ca */
    bool connected;          /* c is open */
    uint32_t corr_sent, corr_recv;
    uint8_t *body;           /* the answer being read (owned) */
    size_t cap;
    struct kc_writer out;
    int64_t probe_bytes;     /* what the placement probe was sent, before the clock */
};

/* ---- the plain socket ------------------------------------------------------------------ */

static int plain_send(struct native_consume *nc, int64_t offset)
{
    struct np_consume_batch_req req = { np_str(nc->o->topic), 0, offset, INT32_MAX,
                                        (int32_t)nc->o->max_bytes, 0 };

    kc_writer_reset(&nc->out);
    np_encode_consume_batch(&nc->out, nc->corr_sent++, &req);
    if (kc_writer_error(&nc->out) != 0)
        return kc_writer_error(&nc->out);
    return bench_send_all(nc->fd, kc_writer_data(&nc->out), kc_writer_len(&nc->out));
}

/* Read one response frame whole into nc->body: *h and its body length. */
static int native_consume_read_frame(struct native_consume *nc, struct np_header *h,
                                     size_t *len)
{
    uint8_t hdr[NP_RESP_HEADER_SIZE];
    int err = bench_read_exact(nc->fd, hdr, sizeof(hdr));

    if (err != 0)
        return err;
    h->length = kc_load_be32(hdr);
    h->magic = kc_load_be16(hdr + 4);
    h->version = hdr[6];
    h->cmd = hdr[7];
    h->corr = kc_load_be32(hdr + 8);
    h->error = (int16_t)kc_load_be16(hdr + 12);
    if (h->magic != NP_MAGIC || h->cmd != NP_CONSUME_BATCH || h->corr != nc->corr_recv++ ||
        h->length < NP_RESP_HEADER_SIZE - NP_LENGTH_SIZE || h->length > NATIVE_MAX_FRAME)
        return KC_EMALFORMED; /* answers come in order: anything else is a broken stream */
    *len = h->length - (NP_RESP_HEADER_SIZE - NP_LENGTH_SIZE);
    if (*len > nc->cap) {
        uint8_t *bigger = realloc(nc->body, *len);

        if (bigger == NULL)
            return -ENOMEM;
        nc->body = bigger;
        nc->cap = *len;
    }
    return bench_read_exact(nc->fd, nc->body, *len);
}

static int plain_recv(struct native_consume *nc, struct kc_slice *records, int64_t *log_end)
{
    struct np_consume_batch_resp resp;
    struct np_header h;
    size_t len;
    int err = native_consume_read_frame(nc, &h, &len);

    if (err == 0 && h.error != NP_E_NONE)
        return (int)native__refused(&h, nc->body, len);
    if (err == 0)
        err = np_decode_consume_batch_resp(nc->body, len, &resp);
    if (err != 0)
        return err;
    *records = resp.records;
    *log_end = resp.log_end;
    return 0;
}

/* ---- through np_client ------------------------------------------------------------------ */

static int client_send(struct native_consume *nc, int64_t offset)
{
    struct np_consume_batch_req req = { np_str(nc->o->topic), 0, offset, INT32_MAX,
                                        (int32_t)nc->o->max_bytes, 0 };

    np_encode_consume_batch(np_client_out(&nc->c), nc->corr_sent++, &req);
    return np_client_flush(&nc->c);
}

static int client_recv(struct native_consume *nc, struct kc_slice *records, int64_t *log_end)
{
    struct np_consume_batch_resp resp;
    struct np_frame f;
    int err = np_client_recv(&nc->c, &f);

    if (err != 0)
        return err;
    if (f.h.cmd != NP_CONSUME_BATCH || f.h.corr != nc->corr_recv++)
        return KC_EMALFORMED; /* answers come in order: anything else is a broken stream */
    if (f.h.error != NP_E_NONE)
        return (int)native__refused(&f.h, f.body, f.body_len);
    err = np_decode_consume_batch_resp(f.body, f.body_len, &resp);
    if (err != 0)
        return err;
    *records = resp.records;
    *log_end = resp.log_end;
    return 0;
}

/* ---- the ops of bench_consume: one path or the other ------------------------------------ */

static int native_consume_send(void *ctx, int64_t offset)
{
    struct native_consume *nc = ctx;

    return nc->via_client ? client_send(nc, offset) : plain_send(nc, offset);
}

static int native_consume_recv(void *ctx, struct kc_slice *records, int64_t *log_end)
{
    struct native_consume *nc = ctx;

    return nc->via_client ? client_recv(nc, records, log_end) : plain_recv(nc, records, log_end);
}

static const struct bench_consume_ops native_consume_ops = { native_consume_send,
                                                             native_consume_recv };

/* ---- placement: each side on its own CPU, as the raw streams are ------------------------ */

#define CONSUME_PROBE 16 /* responses that find the serving loop, before the clock starts */

/* One request at a time, each from offset 0: the serving thread runs once per answer. */
static int consume_probe_work(void *arg)
{
    struct native_consume *nc = arg;
    struct kc_slice records;
    int64_t log_end;
    int err = 0;

    for (int i = 0; err == 0 && i < CONSUME_PROBE; i++) {
        err = native_consume_send(nc, 0);
        if (err == 0)
            err = native_consume_recv(nc, &records, &log_end);
        nc->probe_bytes += err == 0 && records.len > 0 ? records.len : 0;
    }
    return err;
}

/*
 * With --broker-pid, find the broker loop that serves this connection (the thread that ran
 * while CONSUME_PROBE responses came: bench_serving_cpu) and say which CPU it is on, so
 * that run.sh pins the raw streams' sender there too: each server pinned, each reader
 * where the scheduler puts it. Without an answer there is no PLACEMENT line (run.sh then
 * picks the first CPU). --client-cpu pins this reader (for experiments).
 */
static int consume_place(struct native_consume *nc)
{
    const struct native_opts *o = nc->o;
    struct bench_thread who;
    int err = bench_serving_cpu((pid_t)o->broker_pid, NATIVE_LOOP_THREAD, CONSUME_PROBE,
                                consume_probe_work, nc, &who);

    if (err != 0 && np_is_err(err))
        return err; /* the broker refused a probe: the run cannot go on either */
    if (err != 0) { /* the measurement does not depend on it: carry on, unplaced */
        fprintf(stderr, "bench_native consume: the broker's serving thread: %s\n",
                native__placement_why(err));
        return 0;
    }
    printf("PLACEMENT bench=%s server_cpu=%d client_cpu=%lld method=thread thread=%s "
           "scheduled=%lld/%d probe_bytes=%lld\n", o->name, who.cpu, (long long)o->client_cpu,
           who.name, (long long)who.scheduled, CONSUME_PROBE, (long long)nc->probe_bytes);
    return 0;
}

/* Connect as o says: the plain socket, or np_client (after its TLS handshake and login). */
static int consume_connect(struct native_consume *nc)
{
    const struct native_opts *o = nc->o;
    struct timeval tv = { BENCH_TIMEOUT_MS / 1000, 0 };
    int err;

    if (!o->np_client) {
        err = bench_connect(o->port, &nc->fd);
        if (err == 0 && setsockopt(nc->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
            err = -errno;
        return err;
    }
    nc->via_client = true;
    err = native__connect(o, &nc->c);
    nc->connected = err == 0;
    if (err == 0) {
        nc->c.max_frame = NATIVE_MAX_FRAME;
        nc->corr_sent = nc->corr_recv = np_client_next_corr(&nc->c); /* after any login's */
    }
    return err;
}

int native__run_consume(const struct native_opts *o)
{
    struct native_consume nc = { .o = o, .fd = -1, .corr_sent = 1, .corr_recv = 1 };
    struct bench_consume c = { .ops = &native_consume_ops, .ctx = &nc,
                               .window = (int)o->window, .ms = o->ms, .verify = o->verify };
    int err;

    kc_writer_init(&nc.out, 0);
    err = consume_connect(&nc);
    if (err == 0 && o->broker_pid > 0)
        err = consume_place(&nc);
    if (err == 0)
        err = bench_pin_cpu((int)o->client_cpu);
    if (err == 0)
        err = bench_consume_run(&c);
    if (err == 0) {
        struct bench_result r = { .bench = o->name, .records = c.records, .bytes = c.bytes,
                                  .elapsed_ns = c.elapsed_ns };

        bench_result_print(stdout, &r);
        bench_consume_print(stdout, o->name, &c, o->max_bytes);
    }
    if (nc.fd >= 0)
        (void)close(nc.fd); /* end of run */
    if (nc.connected)
        np_client_close(&nc.c);
    kc_writer_fini(&nc.out);
    free(nc.body);
    return err;
}
