/*
 * bench_nats.c - NATS JetStream as a peer: asynchronous publish of --size byte messages.
 *
 *   bench_nats --port P [--count 500000] [--size 100] [--window 4000] [--stream BENCH]
 *              [--name nats_js]
 *
 * The stream (file storage, one subject "<stream>.x") is created if missing and purged
 * before the timed part. Then js_PublishAsync() sends every message without waiting,
 * keeping at most --window unacknowledged (jsOptions.PublishAsync.MaxPending: the
 * library's pipelining), and js_PublishAsyncComplete() waits for the last
 * acknowledgement. Every acknowledgement goes through an ack handler that counts
 * successes and failures; a run with any failure, or with fewer successes than messages,
 * is an error, not a figure.
 *
 * What an acknowledgement means: the server stored the message in its file store's
 * page cache. nats-server 2.9 fsyncs its file store every 2 minutes (sync_interval), not
 * per message, so this compares with the broker's acks=1, not acks=all.
 */
#include <getopt.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "bench.h"
#include "kc_time.h"

struct nats_opts {
    int port;
    int64_t count;
    int64_t size;
    int64_t window;
    const char *stream;
    const char *name;
};

struct nats_acks {
    atomic_llong ok;
    atomic_llong failed;
};

/* Runs on the library's thread for every acknowledgement (positive or not). */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    struct nats_acks *acks = closure;

    (void)js;
    if (pa != NULL && pae == NULL)
        atomic_fetch_add(&acks->ok, 1);
    else
        atomic_fetch_add(&acks->failed, 1);
    natsMsg_Destroy(msg);
}

static int nats_fail(const char *what, natsStatus s)
{
    fprintf(stderr, "bench_nats: %s: %s (%s)\n", what, natsStatus_GetText(s),
            nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
    return 1;
}

/* Create the stream if it is missing, then empty it. */
static natsStatus stream_reset(jsCtx *js, const struct nats_opts *o)
{
    char subject[128];
    const char *subjects[1] = { subject };
    jsStreamConfig cfg;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    snprintf(subject, sizeof(subject), "%s.x", o->stream);
    jsStreamConfig_Init(&cfg);
    cfg.Name = o->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    s = js_AddStream(&si, js, &cfg, NULL, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr)
        s = NATS_OK;
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK)
        s = js_PurgeStream(js, o->stream, NULL, &jerr);
    return s;
}

/* Publish count messages; retries the calls that stalled on a full window. */
static natsStatus publish_all(jsCtx *js, const struct nats_opts *o, const uint8_t *value)
{
    char subject[128];
    jsPubOptions po;
    natsStatus s = NATS_OK;

    snprintf(subject, sizeof(subject), "%s.x", o->stream);
    for (int64_t i = 0; i < o->count && s == NATS_OK; i++) {
        s = js_PublishAsync(js, subject, value, (int)o->size, NULL);
        if (s == NATS_TIMEOUT) { /* stalled at MaxPending for StallWait: try again */
            s = NATS_OK;
            i--;
        }
    }
    jsPubOptions_Init(&po);
    po.MaxWait = BENCH_TIMEOUT_MS;
    if (s == NATS_OK)
        s = js_PublishAsyncComplete(js, &po);
    return s;
}

static int run(const struct nats_opts *o, natsConnection *nc)
{
    struct nats_acks acks = { 0 };
    struct bench_result r = { .bench = o->name, .records = o->count };
    uint8_t *value = malloc((size_t)o->size);
    jsCtx *js = NULL;
    jsOptions jo;
    natsStatus s;
    int64_t start;
    int rc = 1;

    if (value == NULL)
        return 1;
    bench_fill_payload(value, (size_t)o->size, 7);
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = o->window;
    jo.PublishAsync.StallWait = 1000;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = &acks;
    s = natsConnection_JetStream(&js, nc, &jo);
    if (s == NATS_OK)
        s = stream_reset(js, o);
    start = kc_mono_ns();
    if (s == NATS_OK)
        s = publish_all(js, o, value);
    r.elapsed_ns = kc_mono_ns() - start;
    r.bytes = o->count * o->size;
    if (s != NATS_OK)
        rc = nats_fail("publish", s);
    else if (atomic_load(&acks.ok) != o->count || atomic_load(&acks.failed) != 0)
        fprintf(stderr, "bench_nats: %lld acknowledged, %lld failed, of %lld\n",
                (long long)atomic_load(&acks.ok), (long long)atomic_load(&acks.failed),
                (long long)o->count);
    else
        rc = 0;
    if (rc == 0)
        bench_result_print(stdout, &r);
    jsCtx_Destroy(js);
    free(value);
    return rc;
}

static int connect_and_run(const struct nats_opts *o)
{
    char url[64];
    natsOptions *nopts = NULL;
    natsConnection *nc = NULL;
    natsStatus s;
    int rc;

    snprintf(url, sizeof(url), "nats://%s:%d", BENCH_HOST, o->port);
    s = natsOptions_Create(&nopts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(nopts, url);
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, nopts);
    rc = s == NATS_OK ? run(o, nc) : nats_fail("connect", s);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(nopts);
    nats_Close();
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_nats --port P [--count N] [--size B] [--window W] "
                    "[--stream NAME] [--name NAME]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        { "port", 1, NULL, 'p' },   { "count", 1, NULL, 'n' }, { "size", 1, NULL, 's' },
        { "window", 1, NULL, 'w' }, { "stream", 1, NULL, 'S' }, { "name", 1, NULL, 'N' },
        { NULL, 0, NULL, 0 },
    };
    struct nats_opts o = { 0, 500000, 100, 4000, "BENCH", "nats_js" };
    int ch;

    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'p': o.port = (int)bench_opt_i64("--port", optarg, 1, 65535); break;
        case 'n': o.count = bench_opt_i64("--count", optarg, 1, 100000000); break;
        case 's': o.size = bench_opt_i64("--size", optarg, 1, 1 << 20); break;
        case 'w': o.window = bench_opt_i64("--window", optarg, 1, 1000000); break;
        case 'S': o.stream = optarg; break;
        case 'N': o.name = optarg; break;
        default: usage();
        }
    }
    if (o.port == 0 || strlen(o.stream) > 100)
        usage();
    return connect_and_run(&o);
}
