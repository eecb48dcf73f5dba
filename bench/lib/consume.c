/*
 * consume.c - the windowed consumer both protocols share (see bench.h).
 *
 * The loop keeps `window` requests in flight and takes their answers in order. All it
 * knows of the protocol is send(offset) and recv() -> (batches, log end); what it does with
 * the batches is the same for every protocol: walk their headers, trim what overlaps,
 * detect gaps, count records and bytes, and check each whole pass over the log.
 */
#include <errno.h>

#include "bench.h"
#include "kc_batch.h"
#include "kc_err.h"
#include "kc_time.h"

/* Where the reader stands in the log, and what it has taken. */
struct consume_pos {
    int64_t offset;       /* the next offset not yet taken in this pass over the log */
    int64_t pass_records; /* records taken in this pass */
};

/* The requests in flight: the offset each asked for, oldest first (a ring). */
struct consume_win {
    int64_t start[BENCH_CONSUME_WINDOW_MAX];
    int head, inflight;
    int64_t last_start; /* the latest request's offset */
    int64_t stride;     /* records per answer, learnt (0: not yet) */
    int64_t log_end;    /* from the latest answer (-1: none yet) */
    bool draining;      /* after a gap: send nothing until the window is empty */
};

/*
 * Count the batches of one answer that follow on from pos->offset; *gap when the answer
 * starts past it (a guess too far: nothing of it is taken). A batch cut short at the end
 * of an answer is waste when the protocol allows one (partial_tail_ok), else malformed.
 */
static int take_batches(struct bench_consume *c, struct consume_pos *pos, struct kc_slice recs,
                        bool *gap)
{
    const uint8_t *p = recs.p;
    size_t left = recs.len > 0 ? (size_t)recs.len : 0;

    *gap = false;
    while (left > 0) {
        size_t size;
        int err = c->verify ? kc_batch_validate(p, left, NULL) : kc_batch_size(p, left, &size);

        if (err == 0 && !c->verify && size > left)
            err = KC_ENEEDMORE; /* kc_batch_size reads the length field only */
        if (err == KC_ENEEDMORE && c->partial_tail_ok) {
            c->waste += (int64_t)left;
            return 0;
        }
        if (err < 0)
            return err;
        size = c->verify ? (size_t)err : size;
        int64_t base = kc_batch_base_offset(p), last = kc_batch_last_offset(p);
        if (base > pos->offset) {
            *gap = true;
            c->waste += (int64_t)left;
            return 0;
        }
        if (last >= pos->offset) {
            c->records += last - pos->offset + 1;
            pos->pass_records += last - pos->offset + 1;
            c->bytes += (int64_t)size;
            pos->offset = last + 1;
        } else {
            c->waste += (int64_t)size;
        }
        p += size;
        left -= size;
    }
    return 0;
}

/* Send one request, at the offset needed (nothing in flight) or at the guess. */
static int consume_send(struct bench_consume *c, struct consume_win *w,
                        const struct consume_pos *pos)
{
    int64_t offset = pos->offset;
    int err;

    if (w->inflight > 0) {
        offset = w->last_start + w->stride;
        if (offset >= w->log_end)
            offset = 0; /* the guess runs past the end: the next pass */
    }
    err = c->ops->send(c->ctx, offset);
    if (err != 0)
        return err;
    w->start[(w->head + w->inflight++) % BENCH_CONSUME_WINDOW_MAX] = offset;
    w->last_start = offset;
    return 0;
}

/* A whole pass ends at the log end: it must have taken exactly the log's records. */
static int consume_pass_done(struct bench_consume *c, struct consume_pos *pos, int64_t log_end)
{
    if (pos->pass_records != log_end) { /* a wrong guess lost or doubled records */
        fprintf(stderr, "consume: a pass over offsets 0-%lld took %lld records\n",
                (long long)log_end - 1, (long long)pos->pass_records);
        return KC_EMALFORMED;
    }
    c->passes++;
    pos->pass_records = 0;
    pos->offset = 0; /* the end: read it all again */
    return 0;
}

/* Take the oldest answer in flight. */
static int consume_recv(struct bench_consume *c, struct consume_win *w, struct consume_pos *pos)
{
    int64_t start = w->start[w->head], before = pos->offset, log_end = -1;
    struct kc_slice recs = { NULL, 0 };
    bool gap = false;
    int err = c->ops->recv(c->ctx, &recs, &log_end);

    w->head = (w->head + 1) % BENCH_CONSUME_WINDOW_MAX;
    w->inflight--;
    if (err == 0)
        err = take_batches(c, pos, recs, &gap);
    if (err != 0)
        return err == KC_ENEEDMORE ? KC_EMALFORMED : err;
    if (recs.len <= 0 && before == 0)
        return KC_EEMPTY; /* an empty topic measures nothing */
    c->responses++;
    c->restarts += gap && !w->draining;
    w->draining = (w->draining || gap) && w->inflight > 0;
    w->log_end = log_end;
    if (!gap && pos->offset < log_end && pos->offset > start)
        w->stride = pos->offset - start; /* a whole answer, not cut by the log end */
    if (pos->offset < log_end)
        return 0;
    return consume_pass_done(c, pos, log_end);
}

/* Keep c->window requests in flight (one until the first answer gives a stride). */
static int consume_fill(struct bench_consume *c, struct consume_win *w,
                        const struct consume_pos *pos)
{
    int want = w->stride > 0 ? c->window : 1;
    int err = 0;

    while (err == 0 && w->inflight < want && !(w->draining && w->inflight > 0))
        err = consume_send(c, w, pos);
    return err;
}

int bench_consume_run(struct bench_consume *c)
{
    struct consume_win w = { .log_end = -1 };
    struct consume_pos pos = { 0, 0 };
    int64_t start = kc_mono_ns(), end = start + c->ms * 1000000;
    int err = 0;

    if (c->window < 1 || c->window > BENCH_CONSUME_WINDOW_MAX)
        return -EINVAL;
    while (err == 0 && kc_mono_ns() < end) {
        err = consume_fill(c, &w, &pos);
        if (err == 0)
            err = consume_recv(c, &w, &pos);
    }
    while (err == 0 && w.inflight > 0) /* what is in flight is received and counted */
        err = consume_recv(c, &w, &pos);
    c->elapsed_ns = kc_mono_ns() - start;
    return err;
}

void bench_consume_print(FILE *f, const char *name, const struct bench_consume *c,
                         int64_t max_bytes)
{
    fprintf(f, "CONSUME bench=%s window=%d max_bytes=%lld responses=%lld passes=%lld "
               "restarts=%lld waste_bytes=%lld\n", name, c->window, (long long)max_bytes,
            (long long)c->responses, (long long)c->passes, (long long)c->restarts,
            (long long)c->waste);
    fflush(f);
}
