/*
 * produce.c - Produce v3-7: a batch per partition, validated and stored as it came.
 *
 *   for each partition of the request, in order:
 *     topic and partition exist?                      no  -> 3 UNKNOWN_TOPIC_OR_PARTITION
 *     not __consumer_offsets?                         no  -> 17 INVALID_TOPIC_EXCEPTION
 *     kp_produce_precheck: acks, exactly one v2 batch, counts, codec, no producer id or
 *       transaction (this broker keeps no producer state) -> 21 / 87 / 2 / 76 / 43
 *     brk_produce: the CRC and every record checked (-> 2 / 87), then the same append and
 *       group commit as the native protocol; the log rewrites the base offset in place
 *       (ahead of the CRC'd bytes) and stores the rest byte for byte, compressed or not
 *   then the answer, per acks:
 *     0    none at all; if any partition failed, the connection is closed (Kafka's way of
 *          telling a producer that gets no answers)
 *     1    at once: the batches are in the log
 *     all  once every partition's batch is on disk: the request parks, each partition
 *          whose batch waits for the fsync holds the park, and the park ends when the last
 *          one settles; its done writes the answer. Pipelined produces share fsyncs
 *          (group commit, brk_service.h).
 *
 * A parked answer cannot point into the request frame (it is gone when serve returns), so
 * it keeps its own copy of the response skeleton: topic names and partition results, no
 * records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

struct kprod;

struct kprod_part {
    struct brk_produce bp;
    bool parked; /* bp.err tells, once the park ends */
};

/* An acks=all Produce: its answer, waiting for the fsyncs. One allocation. */
struct kprod {
    struct brk_park park;
    struct kp_header hdr;
    struct kp_produce_req resp;  /* the answer's skeleton: names, indexes, results */
    struct kp_produce_part *parts; /* resp's partitions, all topics back to back */
    struct kprod_part *pp;       /* one per partition of the request */
    int32_t nparts;
};

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* The skeleton of pr's answer, with room for every partition's brk_produce. */
static struct kprod *kprod_new(const struct kp_produce_req *pr)
{
    size_t np = 0, names = 0;
    for (int32_t i = 0; i < pr->ntopics; i++) {
        np += (size_t)pr->topics[i].nparts;
        names += (size_t)pr->topics[i].name.len;
    }
    size_t at_pp = align8(sizeof(struct kprod));
    size_t at_t = at_pp + align8(np * sizeof(struct kprod_part));
    size_t at_p = at_t + align8((size_t)pr->ntopics * sizeof(struct kp_produce_topic));
    size_t at_n = at_p + align8(np * sizeof(struct kp_produce_part));
    uint8_t *m = calloc(1, at_n + names + 1);
    if (!m)
        return NULL;
    struct kprod *kp = (struct kprod *)m;
    struct kp_produce_topic *topics = (struct kp_produce_topic *)(m + at_t);
    struct kp_produce_part *parts = (struct kp_produce_part *)(m + at_p);
    uint8_t *name = m + at_n;
    kp->pp = (struct kprod_part *)(m + at_pp);
    kp->parts = parts;
    kp->nparts = (int32_t)np;
    kp->resp = (struct kp_produce_req){.acks = pr->acks, .ntopics = pr->ntopics, .topics = topics};
    for (int32_t i = 0, k = 0; i < pr->ntopics; i++) {
        const struct kp_produce_topic *t = &pr->topics[i];
        memcpy(name, t->name.p, (size_t)t->name.len);
        topics[i] = (struct kp_produce_topic){{name, t->name.len}, t->nparts, parts + k};
        name += t->name.len;
        k += t->nparts;
    }
    return kp;
}

static int16_t error_from_kc(int rc)
{
    switch (rc) {
    case KC_ETOOLARGE:
        return KP_ERR_MESSAGE_TOO_LARGE;
    case KC_ECRC:
        return KP_ERR_CORRUPT_MESSAGE;
    case KC_EMALFORMED:
    case KC_EUNSUPPORTED:
        return KP_ERR_INVALID_RECORD; /* control batches: Kafka's 87 too */
    case KC_ENOPARTITION:
    case KC_ENOTOPIC:
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    default:
        return KP_ERR_KAFKA_STORAGE_ERROR; /* -EIO, -ENOSPC, a failed fsync: clients retry */
    }
}

/* On c's loop, once every parked partition's batch is on disk (or will not be). */
static int produce_done(struct brk_park *park, enum brk_park_why why)
{
    struct kprod *kp = (struct kprod *)((char *)park - offsetof(struct kprod, park));
    for (int32_t k = 0; k < kp->nparts; k++) {
        if (!kp->pp[k].parked || !kp->pp[k].bp.err)
            continue;
        kp->parts[k].error = KP_ERR_KAFKA_STORAGE_ERROR;
        kc_log_warn("a produced batch could not be made durable: %s",
                    kc_strerror(kp->pp[k].bp.err));
    }
    if (why != BRK_PARK_CLOSED)
        kp_encode_produce(brk_park_writer(park), &kp->hdr, &kp->resp);
    free(kp);
    return 0;
}

static const struct brk_park_ops produce_ops = {.kind = "produce", .done = produce_done};

/* Serve one partition: its Kafka error code; *parked when its answer waits for fsync. */
static int16_t produce_part(struct brk_conn *c, const struct kp_request *req, struct kc_slice name,
                            struct kp_produce_part *part, struct brk_produce *bp,
                            struct brk_park *park, bool *parked)
{
    const struct kp_produce_req *pr = &req->u.produce;
    struct part_topic *t;
    struct alog *log;
    if (brk_topic_get(brk_conn_server(c), (const char *)name.p, (size_t)name.len, false, &t) ||
        !(log = part_topic_log(t, part->index)))
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (brk_topic_internal((const char *)name.p, (size_t)name.len))
        return KP_ERR_INVALID_TOPIC_EXCEPTION; /* commit offsets with OffsetCommit */
    /* The header here; the CRC and the records once, in brk_produce (KC_ECRC: 2,
     * KC_EMALFORMED: 87), not twice. */
    int16_t err = kp_produce_precheck(pr, req->hdr.api_version, part->records, NULL);
    if (err == KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT)
        kc_log_info("%s: refusing an idempotent or transactional produce to %.*s-%d: this "
                    "broker keeps no producer state (error 43)", brk_conn_peer(c),
                    (int)name.len, name.p, part->index);
    if (err)
        return err;
    /* The records lie in the connection's input buffer, which serve may modify: the log
     * rewrites the base offset there before writing the batch. */
    *bp = (struct brk_produce){.topic = t, .partition = part->index, .acks = pr->acks,
                               .batch = (uint8_t *)part->records.p,
                               .len = (size_t)part->records.len};
    int rc = brk_produce(brk_conn_server(c), bp, park);
    if (rc < 0)
        return error_from_kc(rc);
    part->base_offset = bp->base_offset;
    part->log_start_offset = alog_start_offset(log);
    *parked = rc == 0;
    return KP_ERR_NONE;
}

/* The answer's skeleton, with every partition's result so far, goes to kp: the frame is
 * gone when serve returns. */
static void produce_keep(const struct kp_request *req, struct kprod *kp)
{
    const struct kp_produce_req *pr = &req->u.produce;
    for (int32_t i = 0, k = 0; i < pr->ntopics; i++)
        for (int32_t j = 0; j < pr->topics[i].nparts; j++, k++) {
            struct kp_produce_part *dst = &kp->parts[k];
            *dst = pr->topics[i].parts[j];
            dst->records = (struct kc_slice){NULL, -1}; /* not kept */
        }
    kp->hdr = req->hdr;
    kp->hdr.client_id = (struct kc_slice){NULL, -1};
}

int brk__kafka_produce(struct brk_conn *c, struct kp_request *req)
{
    struct kp_produce_req *pr = &req->u.produce;
    struct kprod *kp = pr->acks == -1 ? kprod_new(pr) : NULL;
    struct brk_produce now;
    int failed = 0;
    if (pr->acks == -1 && (!kp || brk_park_start(c, &kp->park, &produce_ops, -1) != 0)) {
        free(kp);
        kc_log_warn("%s: out of memory parking a produce answer; closing", brk_conn_peer(c));
        return -ENOMEM;
    }
    for (int32_t i = 0, k = 0; i < pr->ntopics; i++) {
        struct kp_produce_topic *t = &pr->topics[i];
        for (int32_t j = 0; j < t->nparts; j++, k++) {
            struct kp_produce_part *part = &t->parts[j];
            bool parked = false;
            part->log_append_time = -1; /* CreateTime topics */
            part->error = produce_part(c, req, t->name, part, kp ? &kp->pp[k].bp : &now,
                                       kp ? &kp->park : NULL, &parked);
            if (kp)
                kp->pp[k].parked = parked;
            failed += part->error != KP_ERR_NONE;
        }
    }
    if (kp) {
        produce_keep(req, kp);
        brk_park_resume(&kp->park, BRK_PARK_RESUMED); /* ends once every fsync settled */
        return 0;
    }
    if (pr->acks == 0 && failed)
        kc_log_info("%s: an acks=0 produce failed on %d partition%s; closing the connection "
                    "(the producer gets no answer to read)", brk_conn_peer(c), failed,
                    failed == 1 ? "" : "s");
    if (pr->acks == 0)
        return failed ? -EPROTO : 0;
    return kp_encode_produce(brk_resp_writer(c), &req->hdr, pr);
}
