/*
 * kafka_fetch.c - Fetch v4-11: whole batches straight from the segment files, and the
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
 * least min_bytes are ready. Otherwise the request is parked: its slot keeps its place in
 * the response order, a brk_wait watches every partition it reads, and whichever comes
 * first - an append past what was counted, max_wait_ms, or shutdown - reads again. An
 * append that still leaves fewer than min_bytes parks it again for the time that is left.
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
    struct brk_wait wait;
    struct brk_slot *slot;
    struct kp_request req;     /* decoded again from frame, which this owns */
    uint8_t *frame;
    struct brk_wait_link *links;
    int nlinks;
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
         * connection (conn.c checks it after serve and in brk_slot_ready). */
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
    free(kf->links);
    free(kf);
}

static int kfetch_wait(struct brk_conn *c, struct kfetch *kf, const struct fill *f,
                       int64_t wait_ms);

/* On c's loop: data arrived, time is up, the broker is stopping, or c died. */
static void kfetch_wake(struct brk_wait *w, bool alive)
{
    struct kfetch *kf = (struct kfetch *)((char *)w - offsetof(struct kfetch, wait));
    struct brk_conn *c = w->async.conn;
    struct fill f;
    if (!alive) {
        kfetch_free(kf);
        return;
    }
    struct brk_kafka_conn *kc = brk_conn_state(c);
    struct brk_kafka_out o = {c, kf->slot};
    int64_t left = kf->deadline_ms - kc_mono_ms();
    if (fill_init(&f, kf->req.u.fetch.nparts_total) == 0)
        fill_all(brk_conn_server(c), &kf->req.u.fetch, &f);
    else
        f.error = true; /* out of memory: answer what fill_init left (nothing) */
    bool done = w->reason != BRK_WAIT_DATA || f.error || left <= 0 ||
                f.bytes >= (size_t)KC_MAX(kf->req.u.fetch.min_bytes, 0);
    if (!done) {
        for (int i = 0; i < f.n; i++)
            alog_slice_release(&f.slices[i]);
        done = kfetch_wait(c, kf, &f, left) != 0;
    }
    if (done) {
        if (f.slices)
            fetch_answer(&o, &kc->scratch, &kf->req, &f);
        else
            brk__kafka_w(&o)->err = -ENOMEM;
        brk_slot_ready(c, kf->slot);
    }
    fill_fini(&f);
    if (done)
        kfetch_free(kf);
}

/* (Re)start the wait on every partition that exists. 0, or -ENOMEM (answer now). */
static int kfetch_wait(struct brk_conn *c, struct kfetch *kf, const struct fill *f,
                       int64_t wait_ms)
{
    kf->nlinks = 0;
    for (int i = 0; i < f->n; i++) {
        if (!f->logs[i])
            continue;
        struct brk_wait_link *l = &kf->links[kf->nlinks++];
        memset(l, 0, sizeof(*l));
        l->log = f->logs[i];
        l->offset = f->wake[i];
    }
    return brk_wait_start(c, &kf->wait, kf->links, kf->nlinks, wait_ms, kfetch_wake);
}

/* Not enough yet: park the request with its own copy of the frame. */
static int fetch_park(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                      size_t len, struct fill *f, int64_t wait_ms)
{
    struct kfetch *kf = calloc(1, sizeof(*kf));
    int rc = kf ? 0 : -ENOMEM;
    if (rc == 0 && !(kf->links = calloc((size_t)f->n + 1, sizeof(*kf->links))))
        rc = -ENOMEM;
    if (rc == 0)
        rc = brk__kafka_redecode(body, len, &kf->frame, &kf->req);
    if (rc == 0 && !(kf->slot = brk_resp_park(c)))
        rc = -ENOMEM;
    if (rc) {
        if (kf)
            kfetch_free(kf);
        return rc;
    }
    kf->deadline_ms = kc_mono_ms() + wait_ms;
    if (kfetch_wait(c, kf, f, wait_ms) == 0)
        return 0;
    struct brk_kafka_out o = {c, kf->slot}; /* could not wait: answer what there is */
    struct brk_kafka_conn *kc = brk_conn_state(c);
    fill_fini(f);
    if (fill_init(f, req->u.fetch.nparts_total) == 0) {
        fill_all(brk_conn_server(c), &kf->req.u.fetch, f);
        fetch_answer(&o, &kc->scratch, &kf->req, f);
    } else {
        brk__kafka_w(&o)->err = -ENOMEM;
    }
    brk_slot_ready(c, kf->slot);
    kfetch_free(kf);
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
            rc = fetch_park(c, req, body, len, &f, wait_ms);
        }
    }
    fill_fini(&f);
    return rc;
}
