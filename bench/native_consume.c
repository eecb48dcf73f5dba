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
 * The connection is the native client library's (np_client: its buffered reads, one
 * read(2) or SSL_read per chunk, the frames parsed in place), so the same loop measures
 * a TLS listener (--tls-ca) against a plaintext one with nothing else changed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"
#include "native.h"
#include "np_client.h"

/* One connection's consume-batch requests and answers: the ops of bench_consume. */
struct native_consume {
    const struct native_opts *o;
    struct np_client c;      /* TCP, or TLS with --tls-ca */
    bool connected;
    uint32_t corr_sent, corr_recv;
    int64_t probe_bytes;     /* what the placement probe was sent, before the clock */
};

static int native_consume_send(void *ctx, int64_t offset)
{
    struct native_consume *nc = ctx;
    struct np_consume_batch_req req = { np_str(nc->o->topic), 0, offset, INT32_MAX,
                                        (int32_t)nc->o->max_bytes, 0 };

    np_encode_consume_batch(np_client_out(&nc->c), nc->corr_sent++, &req);
    return np_client_flush(&nc->c);
}

static int native_consume_recv(void *ctx, struct kc_slice *records, int64_t *log_end)
{
    struct native_consume *nc = ctx;
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

int native__run_consume(const struct native_opts *o)
{
    struct native_consume nc = { .o = o, .corr_sent = 1, .corr_recv = 1 };
    struct bench_consume c = { .ops = &native_consume_ops, .ctx = &nc,
                               .window = (int)o->window, .ms = o->ms, .verify = o->verify };
    int err = native__connect(o, &nc.c);

    nc.connected = err == 0;
    if (err == 0) {
        nc.c.max_frame = NATIVE_MAX_FRAME;
        nc.corr_sent = nc.corr_recv = np_client_next_corr(&nc.c); /* after any login's */
    }
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
    if (nc.connected)
        np_client_close(&nc.c); /* end of run */
    return err;
}
