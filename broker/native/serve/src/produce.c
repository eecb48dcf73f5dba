/*
 * produce.c - commands 1 (produce one record) and 5 (produce-batch: one RecordBatch v2).
 *
 *   1  the broker builds the batch (key, value, timestamp) and picks the partition when
 *      asked to (-1: murmur2 of the key, Kafka's choice; round-robin without a key)
 *   5  the client's batch, appended as it came; the log rewrites its base offset in place,
 *      in our input buffer (ahead of the CRC'd bytes), and stores the rest byte for byte
 *
 * acks 0 and 1 answer at once (acks=0 only when it failed). acks=all parks first: the
 * answer's place in the order is kept while the flusher's fsync, shared with every other
 * waiting produce (group commit), makes the batch durable.
 */
#include <errno.h>
#include <stdlib.h>

#include "native_int.h"
#include "sec_acl.h"

/* A produce with acks=all: parked until its batch is on disk. */
struct native_prod {
    struct brk_park park;
    struct brk_produce prod;
    int rc;            /* brk_produce's result when it did not park */
    uint32_t corr;
    uint8_t cmd;
    int32_t partition;
};

/* A cluster's refusal (a Kafka code from the replica) in the native door's words:
 * leadership lost -> NOT_LEADER (ask the new leader), the ISR too small or too slow -> its
 * own code, with what it means for a retry (Kafka's 19, 20 and 7). */
static int16_t repl_refusal(int16_t kerr)
{
    switch (kerr) {
    case 6:  /* NOT_LEADER_OR_FOLLOWER */
    case 74: /* FENCED_LEADER_EPOCH */
        return NP_E_NOT_LEADER;
    case 19:
        return NP_E_NOT_ENOUGH_REPLICAS;
    case 20:
        return NP_E_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    case 7:
        return NP_E_REQUEST_TIMED_OUT;
    default: /* KAFKA_STORAGE_ERROR 56, and anything unforeseen */
        return NP_E_STORAGE;
    }
}

static void produce_answer(const struct native_out *o, uint8_t cmd, uint32_t corr, int16_t acks,
                           int32_t partition, const struct brk_produce *p, int err)
{
    if (err)
        native__error_kc(o, cmd, corr, err, "produce");
    else if (p->kerr) /* a cluster's replication refused or did not confirm it */
        native__error(o, cmd, corr, repl_refusal(p->kerr), -1, -1,
                      "produce: the partition's replicas did not take it (Kafka error %d)",
                      (int)p->kerr);
    else if (acks == 0)
        return; /* acks=0: no answer when it worked */
    else if (cmd == NP_PRODUCE)
        np_encode_produce_resp(native__w(o), corr,
                               &(struct np_produce_resp){partition, p->base_offset});
    else
        np_encode_produce_batch_resp(native__w(o), corr,
                                     &(struct np_produce_batch_resp){partition, p->base_offset,
                                                                     p->count});
}

static int prod_done(struct brk_park *park, enum brk_park_why why)
{
    struct native_prod *r = (struct native_prod *)((char *)park - offsetof(struct native_prod, park));
    if (why != BRK_PARK_CLOSED) {
        struct native_out o = {brk_park_conn(park), park};
        if (r->rc == 0 && r->prod.err) /* appended, its fsync failed: outcome open */
            native__error(&o, r->cmd, r->corr, NP_E_REQUEST_TIMED_OUT, -1, -1,
                          "produce: appended, but its fsync failed (%s): it may be written; "
                          "the log heals, then a retry tells", kc_strerror(r->prod.err));
        else
            produce_answer(&o, r->cmd, r->corr, -1, r->partition, &r->prod,
                           r->rc < 0 ? r->rc : 0);
    }
    free(r);
    return 0;
}

static const struct brk_park_ops prod_ops = {.kind = "produce", .done = prod_done};

/* Append and answer; acks=all parks first, because brk_produce may have to wait. */
static void produce_go(const struct native_out *o, uint8_t cmd, uint32_t corr, int16_t acks,
                       int32_t partition, struct part_topic *t, uint8_t *batch, size_t len)
{
    struct brk_server *srv = brk_conn_server(o->c);
    struct brk_produce now = {.topic = t, .partition = partition, .acks = acks, .batch = batch,
                              .len = len};
    if (!native__ready(o, cmd, corr, part_topic_log(t, partition)))
        return; /* answered, or waiting for the log to open: served again then */
    if (acks != -1) {
        int rc = brk_produce(srv, &now, NULL);
        produce_answer(o, cmd, corr, acks, partition, &now, rc < 0 ? rc : 0);
        return;
    }
    struct native_prod *r = malloc(sizeof(*r));
    if (!r || brk_park_start(o->c, &r->park, &prod_ops, -1) != 0) {
        free(r);
        native__error_kc(o, cmd, corr, -ENOMEM, "produce");
        return;
    }
    r->prod = now;
    r->corr = corr;
    r->cmd = cmd;
    r->partition = partition;
    r->rc = brk_produce(srv, &r->prod, &r->park);
    if (r->rc != 0) /* answered already (an error, or durable at once): end the park now */
        brk_park_resume(&r->park, BRK_PARK_RESUMED);
}

/* The partition the broker chose when this request was first served, if it is served
 * again because that partition's log was closed (brk_logs_ready): the same one, not the
 * next in round-robin order (which may be closed too). -1 otherwise. */
static int32_t replayed_partition(const struct native_out *o, struct part_topic *t)
{
    struct alog *log = brk_logs_replayed(o->c, 0);
    for (int32_t p = 0; log && p < part_topic_partitions(t); p++)
        if (part_topic_log(t, p) == log)
            return p;
    return -1;
}

static bool acks_ok(const struct native_out *o, int cmd, uint32_t corr, int16_t acks)
{
    if (acks == 0 || acks == 1 || acks == -1)
        return true;
    native__error(o, cmd, corr, NP_E_INVALID_ACKS, -1, -1, "acks %d: use 0, 1 or -1 (all)",
                  acks);
    return false;
}

void native__produce(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_produce_req req;
    struct part_topic *t;
    uint8_t *batch;
    size_t len;
    struct native_conn *nc = native__conn(o->c);
    if (np_decode_produce(b, n, &req) != 0) {
        native__error(o, NP_PRODUCE, corr, NP_E_MALFORMED, -1, -1, "bad produce body");
        return;
    }
    if (!nc || !acks_ok(o, NP_PRODUCE, corr, req.acks) ||
        native__topic(o, NP_PRODUCE, corr, req.topic, SEC_OP_WRITE, &t) != 0)
        return;
    if (req.timestamp < -1) {
        native__error(o, NP_PRODUCE, corr, NP_E_INVALID_REQUEST, -1, -1,
                      "timestamp %lld: use ms since the epoch, or -1", (long long)req.timestamp);
        return;
    }
    int32_t partition = req.partition;
    if (partition == -1 && (partition = replayed_partition(o, t)) < 0)
        partition = brk_partition_pick(t, req.key.p, req.key.len);
    if (!native__partition(o, NP_PRODUCE, corr, t, partition))
        return;
    kc_batch_builder_reset(&nc->builder);
    int rc = kc_batch_builder_add(&nc->builder, req.timestamp < 0 ? kc_wall_ms() : req.timestamp,
                                  req.key.p, req.key.len, req.value.p, req.value.len, NULL, 0);
    if (rc == 0)
        rc = kc_batch_builder_finish(&nc->builder, &batch, &len);
    if (rc)
        native__error_kc(o, NP_PRODUCE, corr, rc, "the record");
    else
        produce_go(o, NP_PRODUCE, corr, req.acks, partition, t, batch, len);
}

void native__produce_batch(const struct native_out *o, uint32_t corr, uint8_t *b, size_t n)
{
    struct np_produce_batch_req req;
    struct part_topic *t;
    if (np_decode_produce_batch(b, n, &req) != 0) {
        native__error(o, NP_PRODUCE_BATCH, corr, NP_E_MALFORMED, -1, -1,
                      "bad produce-batch body");
        return;
    }
    if (!acks_ok(o, NP_PRODUCE_BATCH, corr, req.acks) ||
        native__topic(o, NP_PRODUCE_BATCH, corr, req.topic, SEC_OP_WRITE, &t) != 0)
        return;
    int32_t partition = req.partition;
    if (partition == -1 && (partition = replayed_partition(o, t)) < 0)
        partition = part_next_round_robin(t);
    if (!native__partition(o, NP_PRODUCE_BATCH, corr, t, partition))
        return;
    /* The batch lies in our own input buffer: the log may rewrite its base offset there. */
    uint8_t *batch = b + (req.batch.p - b);
    produce_go(o, NP_PRODUCE_BATCH, corr, req.acks, partition, t, batch, (size_t)req.batch.len);
}
