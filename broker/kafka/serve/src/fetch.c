/*
 * fetch.c - Fetch v4-11: whole batches straight from the segment files, and the
 * long-poll that keeps consumers from spinning.
 *
 * Reading. For each partition, in request order, brk_fetch_read returns a file range of
 * whole batches starting with the one that *contains* fetch_offset (clients skip the
 * records before it; a range starting later would make kafkajs loop), up to the
 * partition's max_bytes and what is left of the request's max_bytes - but the first batch
 * of the first partition with data is returned whatever its size (KIP-74), or a large
 * batch would stall the consumer forever. Every partition's answer carries the high
 * watermark, the last stable offset (the same: no transactions) and the log start, read
 * after the records so they never lag behind them; librdkafka's end-of-partition signal
 * (kcat -e) is "last stable offset == fetch offset". An empty record set is length 0,
 * never -1 (librdkafka cannot parse a null one). fetch_offset outside [log start, high
 * watermark] gets OFFSET_OUT_OF_RANGE (1), and the client resets per auto.offset.reset.
 *
 * Answering. kp_encode_fetch writes everything around the records into a scratch writer
 * and says where the gaps are; the bytes between gaps go to the response queue and each
 * gap becomes a file range sent with sendfile (zeroCopy):
 *
 *   scratch  [size|corr|throttle|..|p0 fields|len0][p1 fields|len1]
 *   queue    [size|corr|throttle|..|p0 fields|len0] file(p0) [p1 fields|len1] file(p1)
 *
 * Waiting. Kafka answers at once when max_wait_ms is 0, a partition has an error, or at
 * least min_bytes are ready. Otherwise the request parks: it keeps its place in the answer
 * order, watches every partition it reads (brk_park_watch), and whichever comes first - an
 * append past what was counted, max_wait_ms, or shutdown - reads again. An append that
 * still leaves fewer than min_bytes parks it again for the time that is left.
 * Answering empty at once instead made librdkafka send ~72,000 fetches in 5 s; parked,
 * it sends about 10.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

/* The result of reading every partition once. */
struct fill {
    struct alog_slice *slices; /* per partition; seg NULL when none */
    int64_t *wake;             /* per partition: wake when its log end passes this */
    struct alog **logs;        /* per partition; NULL when it does not exist */
    int n;
    size_t bytes;              /* records found, over all partitions */
    bool error;                /* some partition failed: answer at once */
};

struct kfetch {
    struct brk_park park;
    struct kp_request req;     /* decoded again from frame, which this owns */
    uint8_t *frame;
    struct brk_watch *watches; /* one per partition of the request, at most */
    int64_t deadline_ms;       /* monotonic */
};

static int fill_init(struct fill *f, int n)
{
    memset(f, 0, sizeof(*f));
    f->n = n;
    f->slices = calloc((size_t)n + 1, sizeof(*f->slices));
    f->wake = calloc((size_t)n + 1, sizeof(*f->wake));
    f->logs = calloc((size_t)n + 1, sizeof(*f->logs));
    return f->slices && f->wake && f->logs ? 0 : -ENOMEM;
}

static void fill_fini(struct fill *f)
{
    for (int i = 0; f->slices && i < f->n; i++)
        alog_slice_release(&f->slices[i]);
    free(f->slices);
    free(f->wake);
    free(f->logs);
    memset(f, 0, sizeof(*f));
}

static void read_result(struct kp_fetch_part *p, int rc, struct fill *f)
{
    if (rc == KC_EOFFSET) {
        p->error = KP_ERR_OFFSET_OUT_OF_RANGE;
    } else if (rc && rc != KC_EEMPTY) {
        kc_log_warn("fetch at offset %lld failed: %s", (long long)p->fetch_offset,
                    kc_strerror(rc));
        p->error = KP_ERR_KAFKA_STORAGE_ERROR;
    } else {
        p->error = KP_ERR_NONE;
        return;
    }
    f->error = true;
}

/* Read partition i (p) into f: at most room bytes unless it is the first with data. */
static void fill_part(struct brk_server *srv, const struct kp_fetch_req *fr, struct kc_slice name,
                      struct kp_fetch_part *p, int i, struct fill *f)
{
    struct alog_slice *slice = &f->slices[i];
    struct alog *log;
    p->records = NULL;
    p->records_len = 0;
    f->wake[i] = p->fetch_offset;
    if ((p->error = brk__kafka_partition(srv, name, p->index, &log)) != KP_ERR_NONE) {
        f->error = true;
        return;
    }
    f->logs[i] = log;
    int64_t room = (int64_t)fr->max_bytes - (int64_t)f->bytes;
    int rc = KC_EEMPTY;
    if (p->max_bytes > 0 && (f->bytes == 0 || room > 0))
        rc = brk_fetch_read(srv, log, p->fetch_offset,
                            (size_t)KC_MAX(KC_MIN((int64_t)p->max_bytes, room), 1), slice);
    else if (p->fetch_offset < alog_start_offset(log) || p->fetch_offset > alog_end_offset(log))
        rc = KC_EOFFSET; /* not read (no room left), but its offset is judged all the same */
    /* After the read, so they are never behind the records just found. */
    p->high_watermark = alog_end_offset(log);
    p->last_stable_offset = p->high_watermark;
    p->log_start_offset = alog_start_offset(log);
    read_result(p, rc, f);
    if (rc != 0)
        return;
    if (f->bytes > 0 && (int64_t)slice->len > room) {
        alog_slice_release(slice); /* does not fit: the client asks again */
        return;
    }
    p->records_len = (int32_t)slice->len;
    f->bytes += slice->len;
    f->wake[i] = slice->next_offset;
}

static void fill_all(struct brk_server *srv, struct kp_fetch_req *fr, struct fill *f)
{
    for (int32_t t = 0, i = 0; t < fr->ntopics; t++)
        for (int32_t j = 0; j < fr->topics[t].nparts; j++, i++)
            fill_part(srv, fr, fr->topics[t].name, &fr->topics[t].parts[j], i, f);
}

/* Write the answer: memory between the gaps, a file range in each. Takes f's slices. */
static int fetch_answer(const struct brk_kafka_out *o, struct kc_writer *scratch,
                        const struct kp_request *req, struct fill *f)
{
    const struct kp_fetch_req *fr = &req->u.fetch;
    size_t ngaps, frame_len, pos = 0, g = 0;
    struct kp_fetch_gap *gaps = calloc((size_t)f->n + 1, sizeof(*gaps));
    int rc = gaps ? 0 : -ENOMEM;
    kc_writer_reset(scratch);
    if (rc == 0)
        rc = kp_encode_fetch(scratch, &req->hdr, fr, gaps, (size_t)f->n, &ngaps, &frame_len);
    const uint8_t *mem = kc_writer_data(scratch);
    for (int32_t t = 0, i = 0; rc == 0 && t < fr->ntopics; t++) {
        for (int32_t j = 0; rc == 0 && j < fr->topics[t].nparts; j++, i++) {
            if (fr->topics[t].parts[j].records_len == 0)
                continue;
            kc_write_raw(brk__kafka_w(o), mem + pos, gaps[g].at - pos);
            pos = gaps[g++].at;
            struct alog_slice slice = f->slices[i];
            f->slices[i].seg = NULL; /* taken over, even on failure */
            rc = brk__kafka_file(o, &slice);
        }
    }
    if (rc == 0)
        kc_write_raw(brk__kafka_w(o), mem + pos, kc_writer_len(scratch) - pos);
    free(gaps);
    if (rc) {
        /* Half an answer must never reach the client: fail the writer, which closes the
         * connection (the core checks it after serve, and when a park ends). */
        brk__kafka_w(o)->err = rc;
        kc_log_warn("%s: cannot answer a Fetch: %s; closing", brk_conn_peer(o->c),
                    kc_strerror(rc));
    }
    return rc;
}

static void kfetch_free(struct kfetch *kf)
{
    kp_request_fini(&kf->req);
    free(kf->frame);
    free(kf->watches);
    free(kf);
}

/* Watch every partition that exists, from where the reads left off. */
static void kfetch_watch(struct kfetch *kf, const struct fill *f)
{
    int n = 0;
    for (int i = 0; i < f->n; i++)
        if (f->logs[i])
            kf->watches[n++] = (struct brk_watch){.log = f->logs[i], .offset = f->wake[i]};
    if (brk_park_watch(&kf->park, kf->watches, n) == 1) /* grew meanwhile: read again now */
        brk_park_resume(&kf->park, BRK_PARK_RESUMED);
}

/* On c's loop: data arrived, time is up, the broker is stopping, or c died. */
static int kfetch_done(struct brk_park *park, enum brk_park_why why)
{
    struct kfetch *kf = (struct kfetch *)((char *)park - offsetof(struct kfetch, park));
    if (why == BRK_PARK_CLOSED) {
        kfetch_free(kf);
        return 0;
    }
    struct brk_conn *c = brk_park_conn(park);
    struct brk_kafka_conn *kc = brk_conn_state(c);
    struct brk_kafka_out o = {c, park};
    int64_t left = kf->deadline_ms - kc_mono_ms();
    struct fill f;
    if (fill_init(&f, kf->req.u.fetch.nparts_total) == 0)
        fill_all(brk_conn_server(c), &kf->req.u.fetch, &f);
    else
        f.error = true; /* out of memory: answered below as such */
    if (why == BRK_PARK_RESUMED && !f.error && left > 0 &&
        f.bytes < (size_t)KC_MAX(kf->req.u.fetch.min_bytes, 0)) {
        for (int i = 0; i < f.n; i++) /* not enough yet: wait for the time that is left */
            alog_slice_release(&f.slices[i]);
        brk_park_again(park, left);
        kfetch_watch(kf, &f);
        fill_fini(&f);
        return 1;
    }
    if (f.slices)
        fetch_answer(&o, &kc->scratch, &kf->req, &f);
    else
        brk__kafka_w(&o)->err = -ENOMEM; /* closes the connection */
    fill_fini(&f);
    kfetch_free(kf);
    return 0;
}

static const struct brk_park_ops fetch_ops = {.kind = "fetch", .done = kfetch_done};

/* Not enough yet: park the request with its own copy of the frame. */
static int fetch_park(struct brk_conn *c, const uint8_t *body, size_t len, struct fill *f,
                      int64_t wait_ms)
{
    struct kfetch *kf = calloc(1, sizeof(*kf));
    int rc = kf ? 0 : -ENOMEM;
    if (rc == 0 && !(kf->watches = calloc((size_t)f->n + 1, sizeof(*kf->watches))))
        rc = -ENOMEM;
    if (rc == 0)
        rc = brk__kafka_redecode(body, len, &kf->frame, &kf->req);
    if (rc == 0 && (rc = brk_park_start(c, &kf->park, &fetch_ops, wait_ms)) != 0)
        kp_request_fini(&kf->req);
    if (rc) {
        if (kf) {
            free(kf->frame);
            free(kf->watches);
            free(kf);
        }
        kc_log_warn("%s: out of memory parking a Fetch; closing", brk_conn_peer(c));
        return rc;
    }
    kf->deadline_ms = kc_mono_ms() + wait_ms;
    kfetch_watch(kf, f);
    return 0;
}

int brk__kafka_fetch(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                     size_t len)
{
    struct kp_fetch_req *fr = &req->u.fetch;
    struct brk_kafka_conn *kc = brk_conn_state(c);
    struct brk_kafka_out o = {c, NULL};
    struct fill f;
    int64_t wait_ms = KC_MIN(KC_MAX(fr->max_wait_ms, 0), BRK_KAFKA_MAX_WAIT_MS);
    int rc = fill_init(&f, fr->nparts_total);
    if (rc == 0) {
        fill_all(brk_conn_server(c), fr, &f);
        if (f.error || wait_ms == 0 || f.n == 0 || brk_conn_draining(c) ||
            f.bytes >= (size_t)KC_MAX(fr->min_bytes, 0)) {
            rc = fetch_answer(&o, &kc->scratch, req, &f);
        } else {
            for (int i = 0; i < f.n; i++)
                alog_slice_release(&f.slices[i]);
            rc = fetch_park(c, body, len, &f, wait_ms);
        }
    }
    fill_fini(&f);
    return rc;
}
