/*
 * native.c - the native protocol's handler (PROTOCOL.md): one function per command, each
 * a thin layer over the shared services of brk_service.h.
 *
 * A request is decoded (np.h), judged (names, partitions, acks, ranges: each with its own
 * error code and a message that says what was wrong), served, and answered into the
 * connection's in-order response queue. Three commands may have to wait, and park their
 * answer in a slot instead of blocking the loop:
 *
 *   1/5 produce with acks=all   until the flusher has fsynced the batch (group commit)
 *   3   commit                  until the offset record is fsynced
 *   6   consume-batch at the end with max_wait_ms > 0: until data arrives or time is up
 *
 * This file is also the model for the Kafka handler (kafka_*.c): the same services, the
 * same parking, a different codec.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "brk_int.h"
#include "np.h"

/* Per connection: scratch space reused by every request. */
struct native_conn {
    struct kc_batch_builder builder; /* command 1 wraps its record in a batch */
    struct kc_writer scratch;        /* command 2 copies the record's batch here */
};

/* A request whose answer waits: it owns this, and frees it in its completion. */
struct native_req {
    struct brk_slot *slot;
    uint32_t corr;
    uint8_t cmd;
    int16_t acks;
    int32_t partition;
    union {
        struct brk_produce prod;
        struct brk_commit commit;
        struct {
            struct brk_wait wait;
            struct brk_wait_link link;
            struct np_consume_batch_req req;
        } poll;
    } u;
};

/* Where an answer goes: straight into the queue, or into a parked slot. */
struct native_out {
    struct brk_conn *c;
    struct brk_slot *slot;
};

static struct kc_writer *out_w(const struct native_out *o)
{
    return o->slot ? brk_slot_writer(o->slot) : brk_resp_writer(o->c);
}

static int out_file(const struct native_out *o, struct alog_slice *slice)
{
    return o->slot ? brk_slot_file(o->slot, slice) : brk_resp_file(o->c, slice);
}

static void reply_error(const struct native_out *o, int cmd, uint32_t corr, int code,
                        int64_t log_start, int64_t log_end, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void reply_error(const struct native_out *o, int cmd, uint32_t corr, int code,
                        int64_t log_start, int64_t log_end, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (code == NP_E_UNKNOWN)
        kc_log_warn("%s from %s failed: %s", np_cmd_name(cmd), brk_conn_peer(o->c), msg);
    np_encode_error_resp(out_w(o), cmd, corr, (int16_t)code, msg, log_start, log_end);
}

/* An error from a service, in the words of the native protocol. */
static void reply_kc(const struct native_out *o, int cmd, uint32_t corr, int err,
                     const char *what)
{
    reply_error(o, cmd, corr, np_error_from_kc(err, cmd), -1, -1, "%s: %s", what,
                kc_strerror(err));
}

static struct native_conn *conn_state(struct brk_conn *c)
{
    struct native_conn *nc = brk_conn_state(c);
    if (nc)
        return nc;
    if (!(nc = calloc(1, sizeof(*nc))))
        return NULL;
    kc_batch_builder_init(&nc->builder, NULL,
                          brk_server_config(brk_conn_server(c))->log.max_batch_bytes);
    kc_writer_init(&nc->scratch, 0);
    brk_conn_set_state(c, nc);
    return nc;
}

static void native_conn_fini(struct brk_conn *c)
{
    struct native_conn *nc = brk_conn_state(c);
    if (!nc)
        return;
    kc_batch_builder_fini(&nc->builder);
    kc_writer_fini(&nc->scratch);
    free(nc);
    brk_conn_set_state(c, NULL);
}

/*
 * The topic named by a request, for reading (internal allowed; never created) or writing
 * (internal refused; a missing topic is created when auto.create.topics.enable is on, as
 * Kafka's producers get on their first Metadata request).
 */
static int find_topic(const struct native_out *o, int cmd, uint32_t corr, struct kc_slice name,
                      bool write, struct part_topic **t)
{
    int rc = brk_topic_get(brk_conn_server(o->c), (const char *)name.p, (size_t)name.len,
                           write, t);
    if (rc == KC_EBADNAME)
        reply_error(o, cmd, corr, NP_E_INVALID_TOPIC, -1, -1,
                    "'%.*s' is not a valid topic name ([A-Za-z0-9._-], 1-249 characters, "
                    "not . or ..)", (int)KC_MIN(name.len, 300), name.p);
    else if (rc == KC_ENOTOPIC)
        reply_error(o, cmd, corr, NP_E_UNKNOWN_TOPIC, -1, -1, "topic '%.*s' does not exist",
                    (int)name.len, name.p);
    else if (rc)
        reply_kc(o, cmd, corr, rc, "topic lookup");
    else if (write && brk_topic_internal((const char *)name.p, (size_t)name.len))
        reply_error(o, cmd, corr, NP_E_INTERNAL_TOPIC, -1, -1,
                    "%s belongs to the broker; commit offsets with command 3",
                    BRK_OFFSETS_TOPIC);
    else
        return 0;
    return -1;
}

static struct alog *find_partition(const struct native_out *o, int cmd, uint32_t corr,
                                   struct part_topic *t, int32_t p)
{
    struct alog *log = part_topic_log(t, p);
    if (!log)
        reply_error(o, cmd, corr, NP_E_UNKNOWN_PARTITION, -1, -1,
                    "topic %s has partitions 0 to %d, not %d", part_topic_name(t),
                    part_topic_partitions(t) - 1, p);
    return log;
}

static bool acks_ok(const struct native_out *o, int cmd, uint32_t corr, int16_t acks)
{
    if (acks == 0 || acks == 1 || acks == -1)
        return true;
    reply_error(o, cmd, corr, NP_E_INVALID_ACKS, -1, -1, "acks %d: use 0, 1 or -1 (all)", acks);
    return false;
}

/* ---- 0 create-topic ---------------------------------------------------------------------- */

static void cmd_create(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_create_topic_req req;
    struct part_topic *t;
    if (np_decode_create_topic(b, n, &req) != 0) {
        reply_error(o, NP_CREATE_TOPIC, corr, NP_E_MALFORMED, -1, -1, "bad create-topic body");
        return;
    }
    int rc = brk_topic_create(brk_conn_server(o->c), (const char *)req.topic.p,
                              (size_t)req.topic.len, req.partitions, &t);
    const char *why = rc == -EEXIST       ? "topic '%.*s' already exists"
                      : rc == KC_EBADNAME ? "'%.*s' is not a valid topic name ([A-Za-z0-9._-], "
                                            "1-249 characters, not . or ..)"
                                          : NULL;
    if (why)
        reply_error(o, NP_CREATE_TOPIC, corr, np_error_from_kc(rc, NP_CREATE_TOPIC), -1, -1,
                    why, (int)KC_MIN(req.topic.len, 300), req.topic.p);
    else if (rc == -EINVAL || rc == KC_ETOOLARGE)
        reply_error(o, NP_CREATE_TOPIC, corr, NP_E_INVALID_PARTITIONS, -1, -1,
                    "%d partitions: use 1 to %d (or -1 for num.partitions)", req.partitions,
                    brk_server_config(brk_conn_server(o->c))->max_partitions_per_topic);
    else if (rc)
        reply_kc(o, NP_CREATE_TOPIC, corr, rc, "create");
    else
        np_encode_create_topic_resp(out_w(o), corr,
                                    &(struct np_create_topic_resp){part_topic_partitions(t)});
}

/* ---- 1 produce, 5 produce-batch ---------------------------------------------------------- */

static void produce_answer(const struct native_out *o, const struct native_req *r,
                           const struct brk_produce *p, int err)
{
    if (err) {
        reply_kc(o, r->cmd, r->corr, err, "produce");
    } else if (r->acks == 0) {
        return; /* acks=0: no answer when it worked */
    } else if (r->cmd == NP_PRODUCE) {
        np_encode_produce_resp(out_w(o), r->corr, &(struct np_produce_resp){r->partition,
                                                                           p->base_offset});
    } else {
        np_encode_produce_batch_resp(out_w(o), r->corr,
                                     &(struct np_produce_batch_resp){r->partition, p->base_offset,
                                                                     p->count});
    }
}

static void produce_done(struct brk_produce *p, bool alive)
{
    struct native_req *r = (struct native_req *)((char *)p - offsetof(struct native_req, u.prod));
    if (alive) {
        struct native_out o = {p->async.conn, r->slot};
        produce_answer(&o, r, p, p->err);
        brk_slot_ready(o.c, r->slot);
    }
    free(r);
}

/*
 * Append, and answer. acks=all reserves its place in the answer order first (a parked
 * slot), because brk_produce may have to wait for the fsync.
 */
static void produce_go(const struct native_out *o, const struct native_req *tmpl,
                       uint8_t *batch, size_t len, struct part_topic *t)
{
    struct brk_produce now = {.topic = t, .partition = tmpl->partition, .acks = tmpl->acks,
                              .batch = batch, .len = len};
    if (tmpl->acks != -1) {
        int rc = brk_produce(o->c, &now, produce_done); /* never parks below acks=all */
        produce_answer(o, tmpl, &now, rc < 0 ? rc : 0);
        return;
    }
    struct native_req *r = malloc(sizeof(*r));
    struct brk_slot *slot = r ? brk_resp_park(o->c) : NULL;
    if (!slot) {
        free(r);
        reply_kc(o, tmpl->cmd, tmpl->corr, -ENOMEM, "produce");
        return;
    }
    *r = *tmpl;
    r->slot = slot;
    r->u.prod = now;
    int rc = brk_produce(o->c, &r->u.prod, produce_done);
    if (rc == 0)
        return; /* produce_done answers into the slot after the fsync */
    struct native_out so = {o->c, slot};
    produce_answer(&so, r, &r->u.prod, rc < 0 ? rc : 0);
    brk_slot_ready(o->c, slot);
    free(r);
}

static void cmd_produce(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_produce_req req;
    struct part_topic *t;
    uint8_t *batch;
    size_t len;
    struct native_conn *nc = conn_state(o->c);
    if (np_decode_produce(b, n, &req) != 0) {
        reply_error(o, NP_PRODUCE, corr, NP_E_MALFORMED, -1, -1, "bad produce body");
        return;
    }
    if (!nc || !acks_ok(o, NP_PRODUCE, corr, req.acks) ||
        find_topic(o, NP_PRODUCE, corr, req.topic, true, &t) != 0)
        return;
    if (req.timestamp < -1) {
        reply_error(o, NP_PRODUCE, corr, NP_E_INVALID_REQUEST, -1, -1,
                    "timestamp %lld: use ms since the epoch, or -1", (long long)req.timestamp);
        return;
    }
    struct native_req r = {.corr = corr, .cmd = NP_PRODUCE, .acks = req.acks,
                           .partition = req.partition};
    if (r.partition == -1)
        r.partition = brk_partition_pick(t, req.key.p, req.key.len);
    if (!find_partition(o, NP_PRODUCE, corr, t, r.partition))
        return;
    kc_batch_builder_reset(&nc->builder);
    int rc = kc_batch_builder_add(&nc->builder, req.timestamp < 0 ? kc_wall_ms() : req.timestamp,
                                  req.key.p, req.key.len, req.value.p, req.value.len, NULL, 0);
    if (rc == 0)
        rc = kc_batch_builder_finish(&nc->builder, &batch, &len);
    if (rc)
        reply_kc(o, NP_PRODUCE, corr, rc, "the record");
    else
        produce_go(o, &r, batch, len, t);
}

static void cmd_produce_batch(const struct native_out *o, uint32_t corr, uint8_t *body, size_t n)
{
    struct np_produce_batch_req req;
    struct part_topic *t;
    if (np_decode_produce_batch(body, n, &req) != 0) {
        reply_error(o, NP_PRODUCE_BATCH, corr, NP_E_MALFORMED, -1, -1, "bad produce-batch body");
        return;
    }
    if (!acks_ok(o, NP_PRODUCE_BATCH, corr, req.acks) ||
        find_topic(o, NP_PRODUCE_BATCH, corr, req.topic, true, &t) != 0)
        return;
    struct native_req r = {.corr = corr, .cmd = NP_PRODUCE_BATCH, .acks = req.acks,
                           .partition = req.partition == -1 ? part_next_round_robin(t)
                                                            : req.partition};
    if (!find_partition(o, NP_PRODUCE_BATCH, corr, t, r.partition))
        return;
    /* The batch lies in our own input buffer: the log may rewrite its base offset there. */
    uint8_t *batch = body + (req.batch.p - body);
    produce_go(o, &r, batch, (size_t)req.batch.len, t);
}

/* ---- 2 consume ----------------------------------------------------------------------------- */

/* "holds offsets 3 to 9" or "is empty (next offset 3)", for out-of-range messages. */
static const char *range_text(int64_t ls, int64_t le, char *buf, size_t cap)
{
    if (ls >= le)
        snprintf(buf, cap, "is empty (its next offset is %lld)", (long long)le);
    else
        snprintf(buf, cap, "holds offsets %lld to %lld", (long long)ls, (long long)le - 1);
    return buf;
}

/* Find the record at offset in the batches copied to w; answer it. */
static void consume_answer(const struct native_out *o, uint32_t corr, struct alog *log,
                           int64_t offset, const struct kc_writer *w)
{
    struct kc_record_iter it;
    struct kc_record rec;
    int64_t ls = alog_start_offset(log), le = alog_end_offset(log);
    int size = kc_batch_validate(w->p, w->len, NULL);
    int rc = size < 0 ? size : kc_record_iter_init(&it, w->p, (size_t)size);
    if (rc == KC_EUNSUPPORTED) {
        reply_error(o, NP_CONSUME, corr, NP_E_COMPRESSED, ls, le,
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
        np_encode_consume_resp(out_w(o), corr, &resp);
        return;
    }
    reply_error(o, NP_CONSUME, corr, NP_E_UNKNOWN, ls, le, "no record %lld in its batch: %s",
                (long long)offset, rc < 0 ? kc_strerror(rc) : "missing");
}

static void cmd_consume(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_consume_req req;
    struct part_topic *t;
    struct alog *log;
    int64_t next;
    char buf[96];
    struct native_conn *nc = conn_state(o->c);
    if (np_decode_consume(b, n, &req) != 0) {
        reply_error(o, NP_CONSUME, corr, NP_E_MALFORMED, -1, -1, "bad consume body");
        return;
    }
    if (!nc || find_topic(o, NP_CONSUME, corr, req.topic, false, &t) != 0 ||
        !(log = find_partition(o, NP_CONSUME, corr, t, req.partition)))
        return;
    kc_writer_reset(&nc->scratch);
    int rc = alog_read_copy(log, req.offset, 1, &nc->scratch, &next); /* its batch only */
    int64_t ls = alog_start_offset(log), le = alog_end_offset(log);
    if (rc == KC_EEMPTY)
        reply_error(o, NP_CONSUME, corr, NP_E_END_OF_LOG, ls, le,
                    "offset %lld is the end of %s-%d: nothing there yet", (long long)req.offset,
                    part_topic_name(t), req.partition);
    else if (rc == KC_EOFFSET)
        reply_error(o, NP_CONSUME, corr, NP_E_OFFSET_OUT_OF_RANGE, ls, le,
                    "offset %lld is outside %s-%d, which %s", (long long)req.offset,
                    part_topic_name(t), req.partition, range_text(ls, le, buf, sizeof(buf)));
    else if (rc)
        reply_kc(o, NP_CONSUME, corr, rc, "read");
    else
        consume_answer(o, corr, log, req.offset, &nc->scratch);
}

/* ---- 3 commit, 4 fetch-offset --------------------------------------------------------------- */

static void commit_done(struct brk_commit *cm, bool alive)
{
    struct native_req *r = (struct native_req *)((char *)cm - offsetof(struct native_req, u.commit));
    if (alive) {
        struct native_out o = {cm->async.conn, r->slot};
        if (cm->err)
            reply_kc(&o, NP_COMMIT, r->corr, cm->err, "commit");
        else
            np_encode_commit_resp(out_w(&o), r->corr);
        brk_slot_ready(o.c, r->slot);
    }
    free(r);
}

/* Group name, topic and partition of a commit or fetch: valid and existing. */
static int check_group_target(const struct native_out *o, int cmd, uint32_t corr,
                              struct kc_slice group, struct kc_slice topic, int32_t partition)
{
    struct part_topic *t;
    if (brk_group_check((const char *)group.p, (size_t)group.len) != 0) {
        reply_error(o, cmd, corr, NP_E_INVALID_GROUP, -1, -1,
                    "group '%.*s': use 1 to 249 bytes, no control characters",
                    (int)KC_MIN(group.len, 300), group.p);
        return -1;
    }
    if (find_topic(o, cmd, corr, topic, false, &t) != 0 ||
        !find_partition(o, cmd, corr, t, partition))
        return -1;
    return 0;
}

static void cmd_commit(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_commit_req req;
    if (np_decode_commit(b, n, &req) != 0) {
        reply_error(o, NP_COMMIT, corr, NP_E_MALFORMED, -1, -1, "bad commit body");
        return;
    }
    if (check_group_target(o, NP_COMMIT, corr, req.group, req.topic, req.partition) != 0)
        return;
    if (req.offset < 0 || req.metadata.len > BRK_OFFSET_METADATA_MAX) {
        reply_error(o, NP_COMMIT, corr, NP_E_INVALID_REQUEST, -1, -1,
                    req.offset < 0 ? "offset %lld: a committed offset is >= 0"
                                   : "metadata longer than %lld bytes",
                    req.offset < 0 ? (long long)req.offset : (long long)BRK_OFFSET_METADATA_MAX);
        return;
    }
    struct native_req *r = malloc(sizeof(*r));
    struct brk_slot *slot = r ? brk_resp_park(o->c) : NULL;
    if (!slot) {
        free(r);
        reply_kc(o, NP_COMMIT, corr, -ENOMEM, "commit");
        return;
    }
    *r = (struct native_req){.slot = slot, .corr = corr, .cmd = NP_COMMIT};
    struct brk_commit_entry e = {req.topic, req.partition, req.offset, req.metadata};
    int rc = brk_offsets_commit(o->c, req.group, &e, 1, &r->u.commit, commit_done);
    if (rc == 0)
        return; /* commit_done answers once the record is on disk */
    r->u.commit.err = rc < 0 ? rc : 0;
    r->u.commit.async.conn = o->c;
    commit_done(&r->u.commit, true);
}

static void cmd_fetch_offset(const struct native_out *o, uint32_t corr, const uint8_t *b,
                             size_t n)
{
    struct np_fetch_offset_req req;
    char meta[BRK_OFFSET_METADATA_MAX];
    int32_t mlen;
    int64_t offset;
    if (np_decode_fetch_offset(b, n, &req) != 0) {
        reply_error(o, NP_FETCH_OFFSET, corr, NP_E_MALFORMED, -1, -1, "bad fetch-offset body");
        return;
    }
    if (check_group_target(o, NP_FETCH_OFFSET, corr, req.group, req.topic, req.partition) != 0)
        return;
    brk_offsets_fetch(brk_conn_server(o->c), req.group, req.topic, req.partition, &offset,
                      meta, sizeof(meta), &mlen);
    struct np_fetch_offset_resp resp = {offset, {(const uint8_t *)meta, mlen}};
    np_encode_fetch_offset_resp(out_w(o), corr, &resp);
}

/* ---- 6 consume-batch ------------------------------------------------------------------------ */

/*
 * Answer a consume-batch from the log as it is now: the head in memory, then the batches
 * as a file range for sendfile. KC_EEMPTY is returned unanswered when wait is true (the
 * caller parks); otherwise the end of the log is an empty answer.
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
        np_encode_consume_batch_head(out_w(o), corr, ls, le, 0);
    } else if (rc == KC_EOFFSET) {
        char buf[96];
        reply_error(o, NP_CONSUME_BATCH, corr, NP_E_OFFSET_OUT_OF_RANGE, ls, le,
                    "offset %lld is outside the log, which %s", (long long)req->offset,
                    range_text(ls, le, buf, sizeof(buf)));
    } else if (rc) {
        reply_kc(o, NP_CONSUME_BATCH, corr, rc, "read");
    } else {
        np_encode_consume_batch_head(out_w(o), corr, ls, le, slice.len);
        out_file(o, &slice); /* on failure the writer error closes the connection */
    }
    return 0;
}

static void poll_done(struct brk_wait *w, bool alive)
{
    struct native_req *r = (struct native_req *)((char *)w - offsetof(struct native_req, u.poll.wait));
    if (alive) {
        struct native_out o = {w->async.conn, r->slot};
        batch_answer(&o, r->corr, r->u.poll.link.log, &r->u.poll.req, false);
        brk_slot_ready(o.c, r->slot);
    }
    free(r);
}

static void park_poll(const struct native_out *o, uint32_t corr, struct alog *log,
                      const struct np_consume_batch_req *req)
{
    struct native_req *r = malloc(sizeof(*r));
    struct brk_slot *slot = r ? brk_resp_park(o->c) : NULL;
    if (!slot) {
        free(r);
        reply_kc(o, NP_CONSUME_BATCH, corr, -ENOMEM, "long-poll");
        return;
    }
    *r = (struct native_req){.slot = slot, .corr = corr, .cmd = NP_CONSUME_BATCH};
    r->u.poll.req = *req; /* its topic slice dangles after serve: never used again */
    r->u.poll.link.log = log;
    r->u.poll.link.offset = req->offset;
    if (brk_wait_start(o->c, &r->u.poll.wait, &r->u.poll.link, 1, req->max_wait_ms, poll_done) ==
        0)
        return; /* poll_done answers: data, timeout or shutdown */
    struct native_out so = {o->c, slot};
    batch_answer(&so, corr, log, req, false);
    brk_slot_ready(o->c, slot);
    free(r);
}

static void cmd_consume_batch(const struct native_out *o, uint32_t corr, const uint8_t *b,
                              size_t n)
{
    struct np_consume_batch_req req;
    struct part_topic *t;
    struct alog *log;
    if (np_decode_consume_batch(b, n, &req) != 0) {
        reply_error(o, NP_CONSUME_BATCH, corr, NP_E_MALFORMED, -1, -1, "bad consume-batch body");
        return;
    }
    if (find_topic(o, NP_CONSUME_BATCH, corr, req.topic, false, &t) != 0 ||
        !(log = find_partition(o, NP_CONSUME_BATCH, corr, t, req.partition)))
        return;
    if (req.max_records < 1 || req.max_bytes < 1 || req.max_wait_ms < 0 ||
        req.max_wait_ms > NP_MAX_WAIT_MS_MAX) {
        reply_error(o, NP_CONSUME_BATCH, corr, NP_E_INVALID_REQUEST, -1, -1,
                    "max_records and max_bytes must be >= 1, max_wait_ms 0 to %d",
                    NP_MAX_WAIT_MS_MAX);
        return;
    }
    bool wait = req.max_wait_ms > 0 && !brk_conn_draining(o->c);
    if (batch_answer(o, corr, log, &req, wait) == KC_EEMPTY)
        park_poll(o, corr, log, &req);
}

/* ---- 7 metadata, 8 ping, 9 info ------------------------------------------------------------- */

static void metadata_topic(struct kc_writer *w, struct part_topic *t)
{
    int32_t n = part_topic_partitions(t);
    np_encode_metadata_topic(w, part_topic_name(t), n);
    for (int32_t p = 0; p < n; p++) {
        struct alog *log = part_topic_log(t, p);
        struct np_partition_meta pm = {p, alog_start_offset(log), alog_end_offset(log)};
        np_encode_metadata_part(w, &pm);
    }
}

static void cmd_metadata(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_metadata_req req;
    struct part_topic *t, **all;
    struct part_registry *reg = brk_server_registry(brk_conn_server(o->c));
    if (np_decode_metadata(b, n, &req) != 0) {
        reply_error(o, NP_METADATA, corr, NP_E_MALFORMED, -1, -1, "bad metadata body");
        return;
    }
    if (req.topic.len >= 0) {
        if (find_topic(o, NP_METADATA, corr, req.topic, false, &t) != 0)
            return;
        size_t at = np_encode_metadata_begin(out_w(o), corr, 1);
        metadata_topic(out_w(o), t);
        np_end_frame(out_w(o), at, 0);
        return;
    }
    size_t count = part_topic_list(reg, NULL, 0);
    if (!(all = calloc(count ? count : 1, sizeof(*all)))) {
        reply_kc(o, NP_METADATA, corr, -ENOMEM, "metadata");
        return;
    }
    size_t listed = part_topic_list(reg, all, count); /* sorted by name */
    count = KC_MIN(count, listed);
    size_t at = np_encode_metadata_begin(out_w(o), corr, (int32_t)count);
    for (size_t i = 0; i < count; i++)
        metadata_topic(out_w(o), all[i]);
    np_end_frame(out_w(o), at, 0);
    free(all);
}

static void cmd_ping(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_ping_req req;
    if (np_decode_ping(b, n, &req) != 0)
        reply_error(o, NP_PING, corr, NP_E_MALFORMED, -1, -1, "bad ping body");
    else
        np_encode_ping_resp(out_w(o), corr, &(struct np_ping_resp){req.payload});
}

static void cmd_info(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct brk_server *srv = brk_conn_server(o->c);
    const struct brk_config *cfg = brk_server_config(srv);
    if (np_decode_info(b, n) != 0) {
        reply_error(o, NP_INFO, corr, NP_E_MALFORMED, -1, -1, "info takes no body");
        return;
    }
    struct np_info_resp resp = {
        {(const uint8_t *)"kafka_broker " BRK_VERSION, sizeof("kafka_broker " BRK_VERSION) - 1},
        (int32_t)cfg->socket_request_max_bytes, (int32_t)cfg->log.max_batch_bytes,
        cfg->num_partitions, srv->nloops};
    np_encode_info_resp(out_w(o), corr, &resp);
}

/* ---- the handler ------------------------------------------------------------------------------ */

static int native_frame(struct brk_conn *c, const uint8_t *p, size_t len, size_t *frame_len)
{
    struct np_header h;
    uint32_t max = brk_server_config(brk_conn_server(c))->socket_request_max_bytes;
    int rc = np_frame_peek(p, len, max, false, &h, frame_len);
    if (rc == KC_ETOOLARGE) {
        struct native_out o = {c, NULL};
        kc_log_info("%s: a request of %u bytes exceeds socket.request.max.bytes (%u); "
                    "closing after the answer", brk_conn_peer(c), h.length + 4, max);
        reply_error(&o, h.cmd, h.corr, NP_E_REQUEST_TOO_LARGE, -1, -1,
                    "request of %u bytes exceeds socket.request.max.bytes (%u)", h.length + 4,
                    max);
    } else if (rc == KC_EMALFORMED) {
        kc_log_info("%s: not a native frame (wrong magic or length); closing", brk_conn_peer(c));
    }
    return rc;
}

static int native_serve(struct brk_conn *c, uint8_t *p, size_t len)
{
    struct native_out o = {c, NULL};
    uint8_t version = p[6], cmd = p[7];
    uint32_t corr = kc_load_be32(p + 8);
    uint8_t *body = p + NP_REQ_HEADER_SIZE;
    size_t n = len - NP_REQ_HEADER_SIZE;
    if (version != NP_VERSION) {
        reply_error(&o, cmd, corr, NP_E_UNSUPPORTED_VERSION, -1, -1,
                    "protocol version %u; this broker speaks version %d", version, NP_VERSION);
        return 0;
    }
    if (brk_conn_draining(c)) {
        reply_error(&o, cmd, corr, NP_E_SHUTTING_DOWN, -1, -1, "the broker is shutting down");
        return 0;
    }
    switch (cmd) {
    case NP_CREATE_TOPIC: cmd_create(&o, corr, body, n); break;
    case NP_PRODUCE: cmd_produce(&o, corr, body, n); break;
    case NP_CONSUME: cmd_consume(&o, corr, body, n); break;
    case NP_COMMIT: cmd_commit(&o, corr, body, n); break;
    case NP_FETCH_OFFSET: cmd_fetch_offset(&o, corr, body, n); break;
    case NP_PRODUCE_BATCH: cmd_produce_batch(&o, corr, body, n); break;
    case NP_CONSUME_BATCH: cmd_consume_batch(&o, corr, body, n); break;
    case NP_METADATA: cmd_metadata(&o, corr, body, n); break;
    case NP_PING: cmd_ping(&o, corr, body, n); break;
    case NP_INFO: cmd_info(&o, corr, body, n); break;
    default:
        reply_error(&o, cmd, corr, NP_E_UNKNOWN_COMMAND, -1, -1,
                    "command %u is not one of 0-%d (PROTOCOL.md)", cmd, NP_CMD_COUNT - 1);
    }
    return 0;
}

const struct brk_proto brk_native_proto = {
    .name = "native",
    .frame = native_frame,
    .serve = native_serve,
    .conn_fini = native_conn_fini,
};
