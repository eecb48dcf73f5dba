/*
 * fetch.c - Fetch v4-11: the consumer's read, answered in pieces so records can be sent
 * straight from the segment files.
 *
 *   request   replica_id i32, max_wait_ms i32, min_bytes i32, max_bytes i32,
 *             isolation_level i8, session_id i32 (v7+), session_epoch i32 (v7+),
 *             [topic str, [partition i32, current_leader_epoch i32 (v9+),
 *                          fetch_offset i64, log_start_offset i64 (v5+),
 *                          partition_max_bytes i32]],
 *             forgotten [topic str, [partition i32]] (v7+), rack_id str (v11)
 *
 *   response  throttle i32, error i16 (v7+), session_id i32 (v7+),
 *             [topic str, [partition i32, error i16, high_watermark i64,
 *                          last_stable_offset i64, log_start_offset i64 (v5+),
 *                          aborted [producer_id i64, first_offset i64]?,
 *                          preferred_read_replica i32 (v11), records bytes]]
 *
 * Both clients send v11 to a broker advertising 0-11 (fixtures/kcat_consume, kafkajs).
 * Fetch sessions (KIP-227) are declined the way Kafka allows: session_id 0 in every
 * response means "no session", so clients send full requests every time.
 *
 * aborted_transactions: Kafka writes null for read_uncommitted and an (empty) array for
 * read_committed; librdkafka's mock writes an empty array too (checked in the tests).
 */
#include <errno.h>

#include "kc_err.h"
#include "kp_int.h"

static void dec_part(struct kp__dec *d, struct kp_fetch_part *p)
{
    p->index = kp__rd_i32(d);
    p->current_leader_epoch = d->version >= 9 ? kp__rd_i32(d) : -1;
    p->fetch_offset = kp__rd_i64(d);
    p->follower_log_start = d->version >= 5 ? kp__rd_i64(d) : -1;
    p->max_bytes = kp__rd_i32(d);
    p->error = KP_ERR_UNKNOWN_SERVER_ERROR;
    p->high_watermark = -1;
    p->last_stable_offset = -1;
    p->log_start_offset = -1;
}

/* forgotten_topics_data (v7+): validated and skipped, since we keep no sessions. */
static void skip_forgotten(struct kp__dec *d)
{
    struct kc_slice *topics;
    int32_t n = kp__rd_array(d, 6, false, (void **)&topics, sizeof(*topics));
    for (int32_t i = 0; i < n && !d->err; i++) {
        int32_t *parts;
        (void)kp__rd_str(d);
        int32_t np = kp__rd_array(d, 4, false, (void **)&parts, sizeof(*parts));
        for (int32_t j = 0; j < np && !d->err; j++)
            (void)kp__rd_i32(d);
    }
}

int kp__dec_fetch(struct kp__dec *d, struct kp_fetch_req *req)
{
    size_t part_min = d->version >= 9 ? 28 : d->version >= 5 ? 24 : 16;
    req->replica_id = kp__rd_i32(d);
    req->max_wait_ms = kp__rd_i32(d);
    req->min_bytes = kp__rd_i32(d);
    req->max_bytes = kp__rd_i32(d);
    req->isolation_level = kp__rd_i8(d);
    req->session_id = d->version >= 7 ? kp__rd_i32(d) : 0;
    req->session_epoch = d->version >= 7 ? kp__rd_i32(d) : -1;
    req->ntopics = kp__rd_array(d, 6, false, (void **)&req->topics, sizeof(*req->topics));
    for (int32_t i = 0; i < req->ntopics && !d->err; i++) {
        struct kp_fetch_topic *t = &req->topics[i];
        t->name = kp__rd_str(d);
        t->nparts = kp__rd_array(d, part_min, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d->err; j++)
            dec_part(d, &t->parts[j]);
        req->nparts_total += t->nparts; /* bounded by the frame: cannot overflow */
    }
    if (d->version >= 7)
        skip_forgotten(d);
    req->rack_id = d->version >= 11 ? kp__rd_str(d) : (struct kc_slice){NULL, -1};
    req->error = KP_ERR_NONE;
    return d->err;
}

/* The fixed fields of one partition, up to and including the records length. */
static void write_part_head(struct kc_writer *w, int16_t v, int8_t isolation,
                            const struct kp_fetch_part *p)
{
    kc_write_i32(w, p->index);
    kc_write_i16(w, p->error);
    kc_write_i64(w, p->high_watermark);
    kc_write_i64(w, p->last_stable_offset);
    if (v >= 5)
        kc_write_i64(w, p->log_start_offset);
    kc_write_i32(w, isolation ? 0 : -1); /* aborted_transactions: none */
    if (v >= 11)
        kc_write_i32(w, -1); /* preferred_read_replica: read from the leader */
    kc_write_i32(w, p->records_len);
}

struct gap_list {
    struct kp_fetch_gap *v;
    size_t n, max;
    size_t extra; /* bytes the gaps add to the frame */
};

static int write_part(struct kc_writer *w, int16_t v, const struct kp_fetch_req *req,
                      const struct kp_fetch_topic *t, const struct kp_fetch_part *p,
                      struct gap_list *gl)
{
    if (p->records_len < 0)
        return -EINVAL;
    write_part_head(w, v, req->isolation_level, p);
    if (p->records_len == 0)
        return 0;
    if (p->records) {
        kc_write_raw(w, p->records, (size_t)p->records_len);
        return 0;
    }
    if (gl->n == gl->max)
        return -E2BIG;
    gl->v[gl->n++] = (struct kp_fetch_gap){kc_writer_len(w), p->records_len, t, p};
    gl->extra += (size_t)p->records_len;
    return gl->extra > INT32_MAX ? KC_ETOOLARGE : 0;
}

int kp_encode_fetch(struct kc_writer *w, const struct kp_header *h,
                    const struct kp_fetch_req *req, struct kp_fetch_gap *gaps,
                    size_t max_gaps, size_t *ngaps, size_t *frame_len)
{
    if (!kp__ver_in(h, 4, 11))
        return -EINVAL;
    int16_t v = h->api_version;
    struct gap_list gl = {gaps, 0, max_gaps, 0};
    size_t start = kp__resp_begin(w, h);
    kc_write_i32(w, 0); /* throttle_time_ms: first in Fetch */
    if (v >= 7) {
        kc_write_i16(w, req->error);
        kc_write_i32(w, 0); /* session_id: no fetch session */
    }
    kc_write_i32(w, req->ntopics);
    int rc = 0;
    for (int32_t i = 0; i < req->ntopics && !rc; i++) {
        const struct kp_fetch_topic *t = &req->topics[i];
        kp__wr_str(w, t->name);
        kc_write_i32(w, t->nparts);
        for (int32_t j = 0; j < t->nparts && !rc; j++)
            rc = write_part(w, v, req, t, &t->parts[j], &gl);
    }
    if (rc == 0)
        rc = kp__resp_end(w, start, gl.extra);
    if (rc)
        return rc;
    *ngaps = gl.n;
    *frame_len = kc_writer_len(w) - start + gl.extra;
    return 0;
}
