/*
 * native_consume.c - bench_native consume: consume-batch from the page cache.
 *
 * A window of consume-batch requests in flight on one connection. The broker ignores
 * max_records (it sends whole batches up to max_bytes), so where a response ends is only
 * known when it arrives; request k+1 is sent before then, at a guess: the previous
 * request's offset plus the records one response brought last time (the stride), back to
 * 0 at the log end. With batches of one size the guess is exact. A response that overlaps
 * what we have is trimmed (its repeated bytes counted as waste); one that starts past what
 * we have (a gap) is dropped with every later one in flight, and the window restarts from
 * the first offset missing. The first request, and every one sent with nothing in flight,
 * asks for exactly the next offset needed. Window 1 is the plain blocking consumer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kc_batch.h"
#include "kc_err.h"
#include "kc_time.h"
#include "native.h"
#include "np_client.h"

#define CONSUME_WINDOW_MAX NATIVE_CONSUME_WINDOW_MAX

struct consume_pos {
    int64_t offset;  /* the next offset not yet taken in this pass over the log */
    int64_t records; /* records taken (after trimming) */
    int64_t bytes;   /* bytes of the batches that brought them */
    int64_t waste;   /* bytes received again or out of sequence (wrong guesses) */
    int64_t responses;
    int64_t restarts; /* gaps: the window drained and restarted */
    int64_t passes;   /* whole passes over the log, each checked to hold every record */
    int64_t pass_records;
};

struct consume_win {
    int fd;                  /* blocking, with a receive timeout */
    uint32_t corr_sent, corr_recv;
    int64_t start[CONSUME_WINDOW_MAX]; /* ring: the offset each request in flight asked */
    int head, inflight;
    int64_t last_start;      /* the latest request's offset */
    int64_t stride;          /* records per response, learned (0: not yet) */
    int64_t log_end;         /* from the latest response (-1: none yet) */
    bool draining;           /* after a gap: send nothing until the window is empty */
    uint8_t *body;           /* the response body being read (owned) */
    size_t cap;
    struct kc_writer out;
};

/* Count the batches of one response that follow on from pos->offset; *gap when the
 * response starts past it (a guess too far: nothing of it is taken). */
static int take_batches(struct consume_pos *pos, struct kc_slice recs, bool verify, bool *gap)
{
    const uint8_t *p = recs.p;
    size_t left = recs.len > 0 ? (size_t)recs.len : 0;

    *gap = false;
    while (left > 0) {
        size_t size;
        int err = verify ? kc_batch_validate(p, left, NULL) : kc_batch_size(p, left, &size);

        if (err < 0)
            return err == KC_ENEEDMORE ? KC_EMALFORMED : err; /* batches come whole */
        size = verify ? (size_t)err : size;
        int64_t base = kc_batch_base_offset(p), last = kc_batch_last_offset(p);
        if (base > pos->offset) {
            *gap = true;
            pos->waste += (int64_t)left;
            return 0;
        }
        if (last >= pos->offset) {
            int64_t n = last - (base > pos->offset ? base : pos->offset) + 1;
            pos->records += n;
            pos->pass_records += n;
            pos->bytes += (int64_t)size;
            pos->offset = last + 1;
        } else {
            pos->waste += (int64_t)size;
        }
        p += size;
        left -= size;
    }
    return 0;
}

/* Send one request, at the offset needed (nothing in flight) or at the guess. */
static int consume_send(struct consume_win *w, const struct native_opts *o,
                        const struct consume_pos *pos)
{
    struct np_consume_batch_req req = { np_str(o->topic), 0, pos->offset, INT32_MAX,
                                        (int32_t)o->max_bytes, 0 };
    int err;

    if (w->inflight > 0) {
        req.offset = w->last_start + w->stride;
        if (req.offset >= w->log_end)
            req.offset = 0; /* the guess runs past the end: the next pass */
    }
    kc_writer_reset(&w->out);
    np_encode_consume_batch(&w->out, w->corr_sent++, &req);
    if (kc_writer_error(&w->out) != 0)
        return kc_writer_error(&w->out);
    err = bench_send_all(w->fd, kc_writer_data(&w->out), kc_writer_len(&w->out));
    if (err != 0)
        return err;
    w->start[(w->head + w->inflight++) % CONSUME_WINDOW_MAX] = req.offset;
    w->last_start = req.offset;
    return 0;
}

/* Read one response frame whole into w->body: *h and its body length. */
static int consume_read_frame(struct consume_win *w, struct np_header *h, size_t *len)
{
    uint8_t hdr[NP_RESP_HEADER_SIZE];
    int err = bench_read_exact(w->fd, hdr, sizeof(hdr));

    if (err != 0)
        return err;
    h->length = kc_load_be32(hdr);
    h->magic = kc_load_be16(hdr + 4);
    h->version = hdr[6];
    h->cmd = hdr[7];
    h->corr = kc_load_be32(hdr + 8);
    h->error = (int16_t)kc_load_be16(hdr + 12);
    if (h->magic != NP_MAGIC || h->cmd != NP_CONSUME_BATCH || h->corr != w->corr_recv++ ||
        h->length < NP_RESP_HEADER_SIZE - NP_LENGTH_SIZE || h->length > NATIVE_MAX_FRAME)
        return KC_EMALFORMED; /* answers come in order: anything else is a broken stream */
    *len = h->length - (NP_RESP_HEADER_SIZE - NP_LENGTH_SIZE);
    if (*len > w->cap) {
        uint8_t *bigger = realloc(w->body, *len);

        if (bigger == NULL)
            return -ENOMEM;
        w->body = bigger;
        w->cap = *len;
    }
    return bench_read_exact(w->fd, w->body, *len);
}

/* Take the oldest response in flight. */
static int consume_recv(struct consume_win *w, const struct native_opts *o,
                        struct consume_pos *pos)
{
    struct np_consume_batch_resp resp;
    struct np_header h;
    int64_t start = w->start[w->head], before = pos->offset;
    size_t len;
    bool gap;
    int err = consume_read_frame(w, &h, &len);

    w->head = (w->head + 1) % CONSUME_WINDOW_MAX;
    w->inflight--;
    if (err == 0 && h.error != NP_E_NONE)
        return (int)native__refused(&h, w->body, len);
    if (err == 0)
        err = np_decode_consume_batch_resp(w->body, len, &resp);
    if (err == 0)
        err = take_batches(pos, resp.records, o->verify, &gap);
    if (err != 0)
        return err;
    if (resp.records.len <= 0 && before == 0)
        return KC_EEMPTY; /* an empty topic measures nothing */
    pos->responses++;
    pos->restarts += gap && !w->draining;
    w->draining = (w->draining || gap) && w->inflight > 0;
    w->log_end = resp.log_end;
    if (!gap && pos->offset < resp.log_end && pos->offset > start)
        w->stride = pos->offset - start; /* a whole response, not cut by the log end */
    if (pos->offset < resp.log_end)
        return 0;
    if (pos->pass_records != resp.log_end) { /* a wrong guess lost or doubled records */
        fprintf(stderr, "bench_native consume: a pass over offsets 0-%lld took %lld records\n",
                (long long)resp.log_end - 1, (long long)pos->pass_records);
        return KC_EMALFORMED;
    }
    pos->passes++;
    pos->pass_records = 0;
    pos->offset = 0; /* the end: read it all again */
    return 0;
}

/* Keep o->window requests in flight (one until the first answer gives a stride). */
static int consume_fill(struct consume_win *w, const struct native_opts *o,
                        const struct consume_pos *pos)
{
    int want = w->stride > 0 ? (int)o->window : 1;
    int err = 0;

    while (err == 0 && w->inflight < want && !(w->draining && w->inflight > 0))
        err = consume_send(w, o, pos);
    return err;
}

static int consume_loop(struct consume_win *w, const struct native_opts *o,
                        struct consume_pos *pos)
{
    int64_t end = kc_mono_ns() + o->ms * 1000000;
    int err = 0;

    while (err == 0 && kc_mono_ns() < end) {
        err = consume_fill(w, o, pos);
        if (err == 0)
            err = consume_recv(w, o, pos);
    }
    while (err == 0 && w->inflight > 0) /* what is in flight is received and counted */
        err = consume_recv(w, o, pos);
    return err;
}

/* ---- placement: each side on its own CPU, as the raw streams are ------------------------ */

#define CONSUME_PROBE 16 /* responses that find the serving loop, before the clock starts */

struct consume_probe {
    struct consume_win *w;
    const struct native_opts *o;
};

static int consume_probe_work(void *arg)
{
    struct consume_probe *p = arg;
    struct consume_pos scratch = { 0 };
    int err = 0;

    for (int i = 0; err == 0 && i < CONSUME_PROBE; i++) {
        err = consume_send(p->w, p->o, &scratch); /* nothing in flight: one at a time */
        if (err == 0)
            err = consume_recv(p->w, p->o, &scratch);
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
static int consume_place(struct consume_win *w, const struct native_opts *o)
{
    struct consume_probe probe = { w, o };
    struct bench_thread who;
    int err = bench_serving_cpu((pid_t)o->broker_pid, NATIVE_LOOP_THREAD, CONSUME_PROBE,
                                consume_probe_work, &probe, &who);

    if (err != 0 && np_is_err(err))
        return err; /* the broker refused a probe: the run cannot go on either */
    if (err != 0) { /* the measurement does not depend on it: carry on, unplaced */
        fprintf(stderr, "bench_native consume: the broker's serving thread: %s\n",
                native__placement_why(err));
        return 0;
    }
    printf("PLACEMENT bench=%s server_cpu=%d client_cpu=%lld method=thread thread=%s "
           "scheduled=%lld/%d\n", o->name, who.cpu, (long long)o->client_cpu, who.name,
           (long long)who.scheduled, CONSUME_PROBE);
    return 0;
}

int native__run_consume(const struct native_opts *o)
{
    struct bench_result r = { .bench = o->name };
    struct consume_pos pos = { 0 };
    struct consume_win w = { .fd = -1, .corr_sent = 1, .corr_recv = 1, .log_end = -1 };
    struct timeval tv = { BENCH_TIMEOUT_MS / 1000, 0 };
    int64_t start;
    int err = bench_connect(o->port, &w.fd);

    kc_writer_init(&w.out, 0);
    if (err == 0 && setsockopt(w.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
        err = -errno;
    if (err == 0 && o->broker_pid > 0)
        err = consume_place(&w, o);
    if (err == 0)
        err = bench_pin_cpu((int)o->client_cpu);
    start = kc_mono_ns();
    if (err == 0)
        err = consume_loop(&w, o, &pos);
    r.elapsed_ns = kc_mono_ns() - start;
    r.records = pos.records;
    r.bytes = pos.bytes;
    if (err == 0) {
        bench_result_print(stdout, &r);
        printf("CONSUME bench=%s window=%lld max_bytes=%lld responses=%lld passes=%lld "
               "restarts=%lld "
               "waste_bytes=%lld\n", o->name, (long long)o->window, (long long)o->max_bytes,
               (long long)pos.responses, (long long)pos.passes, (long long)pos.restarts,
               (long long)pos.waste);
    }
    if (w.fd >= 0)
        (void)close(w.fd); /* end of run */
    kc_writer_fini(&w.out);
    free(w.body);
    return err;
}
