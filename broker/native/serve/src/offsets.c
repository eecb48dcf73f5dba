/*
 * offsets.c - commands 3 (commit a group's offset) and 4 (fetch it back).
 *
 * Both protocols keep committed offsets in the core's one store: records in
 * __consumer_offsets in Kafka's own format. So what `kafka_cli 3` commits, a Kafka consumer
 * group reads, and the reverse. A commit parks until its record is on disk: it is answered,
 * and visible to a fetch, only once it would survive a crash. The native commit has no
 * group generations: it is Kafka's "standalone" commit.
 */
#include <errno.h>
#include <stdlib.h>

#include "native_int.h"
#include "sec_acl.h"

/* A commit, parked until its record is fsynced. */
struct native_commit {
    struct brk_park park;
    struct brk_commit commit;
    int rc; /* brk_offsets_commit's result when it did not park */
    uint32_t corr;
};

/*
 * Group, topic and partition of a commit or fetch: authorized for op, as Kafka checks its
 * OffsetCommit (READ on the group, then on each topic) and OffsetFetch (DESCRIBE on both),
 * then valid and existing.
 */
static int check_target(const struct native_out *o, int cmd, uint32_t corr, int op,
                        struct kc_slice group, struct kc_slice topic, int32_t partition)
{
    struct part_topic *t;
    if (native__allow_group(o, cmd, corr, op, group) != 0)
        return -1;
    if (brk_group_check((const char *)group.p, (size_t)group.len) != 0) {
        native__error(o, cmd, corr, NP_E_INVALID_GROUP, -1, -1,
                      "group '%.*s': use 1 to 249 bytes, no control characters",
                      (int)KC_MIN(group.len, 300), group.p);
        return -1;
    }
    if (native__topic(o, cmd, corr, topic, op, &t) != 0 ||
        !native__partition(o, cmd, corr, t, partition))
        return -1;
    return 0;
}

static int commit_done(struct brk_park *park, enum brk_park_why why)
{
    struct native_commit *r = (struct native_commit *)((char *)park - offsetof(struct native_commit, park));
    if (why != BRK_PARK_CLOSED) {
        struct native_out o = {brk_park_conn(park), park};
        int err = r->rc < 0 ? r->rc : r->commit.err;
        if (err)
            native__error_kc(&o, NP_COMMIT, r->corr, err, "commit");
        else
            np_encode_commit_resp(native__w(&o), r->corr);
    }
    free(r);
    return 0;
}

static const struct brk_park_ops commit_ops = {.kind = "commit", .done = commit_done};

void native__commit(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_commit_req req;
    if (np_decode_commit(b, n, &req) != 0) {
        native__error(o, NP_COMMIT, corr, NP_E_MALFORMED, -1, -1, "bad commit body");
        return;
    }
    if (check_target(o, NP_COMMIT, corr, SEC_OP_READ, req.group, req.topic, req.partition) != 0)
        return;
    if (req.offset < 0 || req.metadata.len > BRK_OFFSET_METADATA_MAX) {
        native__error(o, NP_COMMIT, corr, NP_E_INVALID_REQUEST, -1, -1,
                      req.offset < 0 ? "offset %lld: a committed offset is >= 0"
                                     : "metadata longer than %lld bytes",
                      req.offset < 0 ? (long long)req.offset : (long long)BRK_OFFSET_METADATA_MAX);
        return;
    }
    struct native_commit *r = malloc(sizeof(*r));
    if (!r || brk_park_start(o->c, &r->park, &commit_ops, -1) != 0) {
        free(r);
        native__error_kc(o, NP_COMMIT, corr, -ENOMEM, "commit");
        return;
    }
    r->corr = corr;
    struct brk_commit_entry e = {req.topic, req.partition, req.offset, req.metadata};
    r->rc = brk_offsets_commit(brk_conn_server(o->c), req.group, &e, 1, &r->commit, &r->park);
    if (r->rc != 0) /* refused, or durable at once: end the park now */
        brk_park_resume(&r->park, BRK_PARK_RESUMED);
}

void native__fetch_offset(const struct native_out *o, uint32_t corr, const uint8_t *b,
                          size_t n)
{
    struct np_fetch_offset_req req;
    char meta[BRK_OFFSET_METADATA_MAX];
    int32_t mlen;
    int64_t offset;
    if (np_decode_fetch_offset(b, n, &req) != 0) {
        native__error(o, NP_FETCH_OFFSET, corr, NP_E_MALFORMED, -1, -1, "bad fetch-offset body");
        return;
    }
    if (check_target(o, NP_FETCH_OFFSET, corr, SEC_OP_DESCRIBE, req.group, req.topic, req.partition) != 0)
        return;
    brk_offsets_fetch(brk_conn_server(o->c), req.group, req.topic, req.partition, &offset, meta,
                      sizeof(meta), &mlen);
    struct np_fetch_offset_resp resp = {offset, {(const uint8_t *)meta, mlen}};
    np_encode_fetch_offset_resp(native__w(o), corr, &resp);
}
