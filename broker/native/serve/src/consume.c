/*
 * consume.c - commands 2 (consume one record) and 6 (consume-batch: whole batches).
 *
 *   6  the answer's head goes into memory and the batches follow as a file range, sent with
 *      sendfile straight from the page cache; the broker never reads the records it serves.
 *      The client trims the records before its offset and past max_records: Kafka's fetch.
 *      At the log end with max_wait_ms > 0 the request parks and watches the partition:
 *      an append on any loop, its time running out, or the broker draining ends it, and it
 *      answers then with whatever is there.
 *   2  the exception: the broker copies the one batch into memory to pick the record out.
 *      It answers COMPRESSED rather than decompress.
 */
#include <errno.h>
#include <stdlib.h>

#include "native_int.h"
#include "sec_acl.h"

/* ---- 2 consume ---------------------------------------------------------------------------- */

/* Find the record at offset in the batch copied to w; answer it. */
static void consume_answer(const struct native_out *o, uint32_t corr, struct alog *log,
                           int64_t offset, const struct kc_writer *w)
{
    struct kc_record_iter it;
    struct kc_record rec;
    int64_t ls = alog_start_offset(log), le = alog_end_offset(log);
    int size = kc_batch_validate_stored(w->p, w->len, NULL);
    int rc = size < 0 ? size : kc_record_iter_init(&it, w->p, (size_t)size);
    if (rc == KC_EUNSUPPORTED) {
        native__error(o, NP_CONSUME, corr, NP_E_COMPRESSED, ls, le,
                      "offset %lld is inside a compressed batch (codec %d); read it with "
                      "consume-batch", (long long)offset, w->p[KC_BATCH_OFF_ATTRIBUTES + 1] & 7);
        return;
    }
    while (rc == 0 && (rc = kc_record_iter_next(&it, &rec)) == 1) {
        if (rec.offset != offset) {
            rc = 0;
            continue;
        }
        struct np_consume_resp resp = {ls, le, rec.offset, rec.timestamp,
                                       {rec.key, rec.key ? rec.key_len : -1},
                                       {rec.value, rec.value ? rec.value_len : -1}};
        np_encode_consume_resp(native__w(o), corr, &resp);
        return;
    }
    native__error(o, NP_CONSUME, corr, NP_E_UNKNOWN, ls, le, "no record %lld in its batch: %s",
                  (long long)offset, rc < 0 ? kc_strerror(rc) : "missing");
}

void native__consume(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_consume_req req;
    struct part_topic *t;
    struct alog *log;
    int64_t next;
    char buf[96];
    struct native_conn *nc = native__conn(o->c);
    if (np_decode_consume(b, n, &req) != 0) {
        native__error(o, NP_CONSUME, corr, NP_E_MALFORMED, -1, -1, "bad consume body");
        return;
    }
    if (!nc || native__topic(o, NP_CONSUME, corr, req.topic, SEC_OP_READ, &t) != 0 ||
        !(log = native__partition(o, NP_CONSUME, corr, t, req.partition)) ||
        !native__ready(o, NP_CONSUME, corr, log))
        return;
    kc_writer_reset(&nc->scratch);
    int rc = alog_read_copy(log, req.offset, 1, &nc->scratch, &next); /* its batch only */
    int64_t ls = alog_start_offset(log), le = alog_end_offset(log);
    if (rc == KC_EEMPTY)
        native__error(o, NP_CONSUME, corr, NP_E_END_OF_LOG, ls, le,
                      "offset %lld is the end of %s-%d: nothing there yet", (long long)req.offset,
                      part_topic_name(t), req.partition);
    else if (rc == KC_EOFFSET)
        native__error(o, NP_CONSUME, corr, NP_E_OFFSET_OUT_OF_RANGE, ls, le,
                      "offset %lld is outside %s-%d, which %s", (long long)req.offset,
                      part_topic_name(t), req.partition,
                      native__range_text(ls, le, buf, sizeof(buf)));
    else if (rc)
        native__error_kc(o, NP_CONSUME, corr, rc, "read");
    else
        consume_answer(o, corr, log, req.offset, &nc->scratch);
}

/* ---- 6 consume-batch ------------------------------------------------------------------------ */

/* A consume-batch parked at the log end. */
struct native_poll {
    struct brk_park park;
    struct brk_watch watch;
    struct np_consume_batch_req req; /* its topic slice dangles after serve: never used */
    uint32_t corr;
};

/*
 * Answer from the log as it is now: the head in memory, then the batches as a file range.
 * KC_EEMPTY is returned unanswered when wait is true (the caller parks); otherwise the end
 * of the log is an empty answer.
 */
static int batch_answer(const struct native_out *o, uint32_t corr, struct alog *log,
                        const struct np_consume_batch_req *req, bool wait)
{
    struct alog_slice slice;
    int rc = brk_fetch_read(brk_conn_server(o->c), log, req->offset, (size_t)req->max_bytes,
                            &slice);
    int64_t ls = alog_start_offset(log), le = alog_end_offset(log);
    if (rc == KC_EEMPTY && wait)
        return rc;
    if (rc == KC_EEMPTY) {
        np_encode_consume_batch_head(native__w(o), corr, ls, le, 0);
    } else if (rc == KC_EOFFSET) {
        char buf[96];
        native__error(o, NP_CONSUME_BATCH, corr, NP_E_OFFSET_OUT_OF_RANGE, ls, le,
                      "offset %lld is outside the log, which %s", (long long)req->offset,
                      native__range_text(ls, le, buf, sizeof(buf)));
    } else if (rc) {
        native__error_kc(o, NP_CONSUME_BATCH, corr, rc, "read");
    } else {
        np_encode_consume_batch_head(native__w(o), corr, ls, le, slice.len);
        native__file(o, &slice); /* on failure the writer's error closes the connection */
    }
    return 0;
}

static int poll_done(struct brk_park *park, enum brk_park_why why)
{
    struct native_poll *r = (struct native_poll *)((char *)park - offsetof(struct native_poll, park));
    if (why != BRK_PARK_CLOSED) {
        struct native_out o = {brk_park_conn(park), park};
        /* The serve's pin ended with it: the log may have been closed since (the cache
         * needed room). Read it only if it is open; never open it here, on the loop. */
        int pinned = brk_log_try_pin(r->watch.log);
        if (pinned == 1) {
            batch_answer(&o, r->corr, r->watch.log, &r->req, false); /* data, timeout, ... */
            alog_unpin(r->watch.log);
        } else if (pinned == 0) { /* nothing this time (it opens meanwhile): ask again */
            np_encode_consume_batch_head(native__w(&o), r->corr, -1, -1, 0);
        } else {
            native__error_kc(&o, NP_CONSUME_BATCH, r->corr, pinned, "opening the partition");
        }
    }
    free(r);
    return 0;
}

static const struct brk_park_ops poll_ops = {.kind = "consume", .done = poll_done};

static void park_poll(const struct native_out *o, uint32_t corr, struct alog *log,
                      const struct np_consume_batch_req *req)
{
    struct native_poll *r = malloc(sizeof(*r));
    if (!r || brk_park_start(o->c, &r->park, &poll_ops, req->max_wait_ms) != 0) {
        free(r);
        native__error_kc(o, NP_CONSUME_BATCH, corr, -ENOMEM, "long-poll");
        return;
    }
    r->req = *req;
    r->corr = corr;
    r->watch = (struct brk_watch){.log = log, .offset = req->offset};
    if (brk_park_watch(&r->park, &r->watch, 1) == 1) /* data came meanwhile */
        brk_park_resume(&r->park, BRK_PARK_RESUMED);
}

void native__consume_batch(const struct native_out *o, uint32_t corr, const uint8_t *b,
                           size_t n)
{
    struct np_consume_batch_req req;
    struct part_topic *t;
    struct alog *log;
    if (np_decode_consume_batch(b, n, &req) != 0) {
        native__error(o, NP_CONSUME_BATCH, corr, NP_E_MALFORMED, -1, -1,
                      "bad consume-batch body");
        return;
    }
    if (native__topic(o, NP_CONSUME_BATCH, corr, req.topic, SEC_OP_READ, &t) != 0 ||
        !(log = native__partition(o, NP_CONSUME_BATCH, corr, t, req.partition)))
        return;
    if (req.max_records < 1 || req.max_bytes < 1 || req.max_wait_ms < 0 ||
        req.max_wait_ms > NP_MAX_WAIT_MS_MAX) {
        native__error(o, NP_CONSUME_BATCH, corr, NP_E_INVALID_REQUEST, -1, -1,
                      "max_records and max_bytes must be >= 1, max_wait_ms 0 to %d",
                      NP_MAX_WAIT_MS_MAX);
        return;
    }
    if (!native__ready(o, NP_CONSUME_BATCH, corr, log))
        return; /* answered, or waiting for the log to open: served again then */
    bool wait = req.max_wait_ms > 0 && !brk_conn_draining(o->c);
    if (batch_answer(o, corr, log, &req, wait) == KC_EEMPTY)
        park_poll(o, corr, log, &req);
}
