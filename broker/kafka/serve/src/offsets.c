/*
 * offsets.c - OffsetCommit and OffsetFetch on the broker's one offsets store.
 *
 * Both protocols keep committed offsets in the same place (the core's offsets.c): records in
 * __consumer_offsets in Kafka's own format, replayed into a table at start. So an offset a
 * kcat consumer group commits is what `kafka_cli 4 <group> <topic> <p>` prints, and the
 * reverse; and it survives a restart.
 *
 * OffsetCommit
 *   the coordinator judges the member first (kp_group_commit_check: a standalone commit
 *   with generation -1 on an idle group is fine; otherwise unknown member 25, wrong
 *   generation 22, CompletingRebalance 27) - one verdict for every partition;
 *   then per partition: topic and partition exist (3), metadata fits (12), offset >= 0;
 *   then every accepted partition goes into one brk_offsets_commit: one batch of records,
 *   one fsync (shared with other commits: group commit). The answer waits for it, parked;
 *   the parked answer keeps its own copy of the (small) request frame.
 *
 * OffsetFetch
 *   offset -1 with metadata "" and error 0 for a partition with nothing committed (the
 *   client then applies auto.offset.reset); a null topics array asks for everything the
 *   group committed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

/* ---- OffsetCommit -------------------------------------------------------------------------- */

struct kcommit {
    struct brk_park park;
    struct brk_commit commit;
    int rc;                 /* brk_offsets_commit's result when it did not park */
    struct kp_request req;  /* decoded again from frame; carries the per-partition results */
    uint8_t *frame;
};

/* The error every committed partition gets when the store fails. */
static int16_t commit_error(int rc)
{
    switch (rc) {
    case KC_EBADNAME:
        return KP_ERR_INVALID_GROUP_ID;
    case KC_ETOOLARGE:
        return KP_ERR_OFFSET_METADATA_TOO_LARGE;
    case -EINVAL:
        return KP_ERR_INVALID_REQUEST;
    default:
        return KP_ERR_COORDINATOR_NOT_AVAILABLE; /* storage: Kafka's mapping; clients retry */
    }
}

/* Every partition still marked NONE was in the commit: give it err. */
static void commit_fail(struct kp_offset_commit_req *cr, int16_t err)
{
    for (int32_t i = 0; i < cr->ntopics; i++)
        for (int32_t j = 0; j < cr->topics[i].nparts; j++)
            if (cr->topics[i].parts[j].error == KP_ERR_NONE)
                cr->topics[i].parts[j].error = err;
}

static int commit_done(struct brk_park *park, enum brk_park_why why)
{
    struct kcommit *kcm = (struct kcommit *)((char *)park - offsetof(struct kcommit, park));
    int err = kcm->rc < 0 ? kcm->rc : kcm->commit.err;
    if (why != BRK_PARK_CLOSED) {
        if (err) {
            kc_log_warn("%s: an offset commit could not be made durable: %s",
                        brk_conn_peer(brk_park_conn(park)), kc_strerror(err));
            commit_fail(&kcm->req.u.offset_commit, commit_error(err));
        }
        kp_encode_offset_commit(brk_park_writer(park), &kcm->req.hdr, &kcm->req.u.offset_commit);
    }
    kp_request_fini(&kcm->req);
    free(kcm->frame);
    free(kcm);
    return 0;
}

static const struct brk_park_ops commit_ops = {.kind = "commit", .done = commit_done};

/* Judge each partition; collect the accepted ones into e. Returns how many. */
static int commit_collect(struct brk_server *srv, struct kp_offset_commit_req *cr, int16_t gerr,
                          struct brk_commit_entry *e)
{
    struct alog *log;
    int n = 0;
    for (int32_t i = 0; i < cr->ntopics; i++) {
        struct kp_offset_commit_topic *t = &cr->topics[i];
        for (int32_t j = 0; j < t->nparts; j++) {
            struct kp_offset_commit_part *p = &t->parts[j];
            p->error = gerr;
            if (p->error == KP_ERR_NONE)
                p->error = brk__kafka_partition(srv, t->name, p->index, &log);
            if (p->error == KP_ERR_NONE && p->metadata.len > BRK_OFFSET_METADATA_MAX)
                p->error = KP_ERR_OFFSET_METADATA_TOO_LARGE;
            if (p->error == KP_ERR_NONE && p->offset < 0)
                p->error = KP_ERR_OFFSET_OUT_OF_RANGE; /* nothing below 0 can be committed */
            if (p->error == KP_ERR_NONE)
                e[n++] = (struct brk_commit_entry){t->name, p->index, p->offset, p->metadata};
        }
    }
    return n;
}

/* Park the commit: its answer comes from a copy of the frame, with the results so far. */
static int commit_park(struct brk_conn *c, const struct kp_request *req, struct kcommit *kcm,
                       const uint8_t *body, size_t len)
{
    const struct kp_offset_commit_req *cr = &req->u.offset_commit;
    int rc = brk__kafka_redecode(body, len, &kcm->frame, &kcm->req);
    if (rc == 0 && (rc = brk_park_start(c, &kcm->park, &commit_ops, -1)) != 0) {
        kp_request_fini(&kcm->req);
        free(kcm->frame);
    }
    if (rc) {
        kc_log_warn("%s: out of memory parking an OffsetCommit; closing", brk_conn_peer(c));
        return rc;
    }
    for (int32_t i = 0; i < cr->ntopics; i++)
        for (int32_t j = 0; j < cr->topics[i].nparts; j++)
            kcm->req.u.offset_commit.topics[i].parts[j].error = cr->topics[i].parts[j].error;
    return 0;
}

int brk__kafka_offset_commit(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                             size_t len)
{
    struct kp_offset_commit_req *cr = &req->u.offset_commit;
    struct brk_kafka *k = brk__kafka_of(c);
    int total = 0;
    for (int32_t i = 0; i < cr->ntopics; i++)
        total += cr->topics[i].nparts;
    brk__kafka_groups_lock(k);
    int16_t gerr = kp_group_commit_check(k->groups, cr, kc_mono_ms());
    brk__kafka_groups_unlock(k, c);
    struct brk_commit_entry *e = calloc((size_t)total + 1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    int n = commit_collect(brk_conn_server(c), cr, gerr, e);
    if (n == 0) { /* nothing to store: answer now */
        free(e);
        return kp_encode_offset_commit(brk_resp_writer(c), &req->hdr, cr);
    }
    struct kcommit *kcm = calloc(1, sizeof(*kcm));
    int rc = kcm ? commit_park(c, req, kcm, body, len) : -ENOMEM;
    if (rc) {
        free(kcm);
        free(e);
        return rc;
    }
    kcm->rc = brk_offsets_commit(brk_conn_server(c), cr->group_id, e, n, &kcm->commit,
                                 &kcm->park);
    free(e); /* the store copied what it keeps */
    if (kcm->rc != 0) /* refused, or durable at once: end the park now */
        brk_park_resume(&kcm->park, BRK_PARK_RESUMED);
    return 0;
}

/* ---- OffsetFetch ---------------------------------------------------------------------------- */

/* The answer being built: partitions back to back, metadata in one byte buffer. */
struct ofetch {
    struct kp_offset_fetch_resp_topic *topics;
    int32_t ntopics, cap_topics;
    struct kp_offset_fetch_part *parts;
    int32_t nparts, cap_parts;
    int32_t *meta_at;           /* per part: where its metadata starts in meta (-1 null) */
    int32_t cap_meta_at;
    int32_t *name_at;           /* per topic: where its name starts in meta, or -1 */
    int32_t cap_name_at;
    struct kc_writer meta;      /* metadata and (for "every topic") names */
    int err;
};

static int ofetch_grow(void **p, int32_t *cap, int32_t want, size_t size)
{
    if (want <= *cap)
        return 0;
    int32_t cap2 = KC_MAX(*cap * 2, KC_MAX(want, 8));
    void *q = reallocarray(*p, (size_t)cap2, size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = cap2;
    return 0;
}

static void ofetch_topic(struct ofetch *of, struct kc_slice name, bool copy)
{
    if (of->err || (of->err = ofetch_grow((void **)&of->topics, &of->cap_topics,
                                          of->ntopics + 1, sizeof(*of->topics))) != 0)
        return;
    if ((of->err = ofetch_grow((void **)&of->name_at, &of->cap_name_at, of->ntopics + 1,
                               sizeof(int32_t))) != 0)
        return;
    of->name_at[of->ntopics] = copy ? (int32_t)kc_writer_len(&of->meta) : -1;
    if (copy)
        kc_write_raw(&of->meta, name.p, (size_t)name.len);
    of->topics[of->ntopics++] = (struct kp_offset_fetch_resp_topic){name, 0, NULL};
}

static void ofetch_part(struct ofetch *of, int32_t index, int64_t offset, struct kc_slice meta)
{
    if (of->err || (of->err = ofetch_grow((void **)&of->parts, &of->cap_parts, of->nparts + 1,
                                          sizeof(*of->parts))) != 0)
        return;
    if ((of->err = ofetch_grow((void **)&of->meta_at, &of->cap_meta_at, of->nparts + 1,
                               sizeof(int32_t))) != 0)
        return;
    of->meta_at[of->nparts] = meta.len >= 0 ? (int32_t)kc_writer_len(&of->meta) : -1;
    if (meta.len > 0)
        kc_write_raw(&of->meta, meta.p, (size_t)meta.len);
    of->parts[of->nparts++] = (struct kp_offset_fetch_part){index, offset, meta, KP_ERR_NONE};
    of->topics[of->ntopics - 1].nparts++;
}

/* brk_offsets_foreach's callback (under the store's lock: copy, never block). */
static void ofetch_each(void *arg, struct kc_slice topic, int32_t partition, int64_t offset,
                        struct kc_slice metadata)
{
    struct ofetch *of = arg;
    const struct kp_offset_fetch_resp_topic *last = of->ntopics ? &of->topics[of->ntopics - 1]
                                                                : NULL;
    if (!last || last->name.len != topic.len ||
        memcmp(of->meta.p + of->name_at[of->ntopics - 1], topic.p, (size_t)topic.len) != 0)
        ofetch_topic(of, topic, true);
    ofetch_part(of, partition, offset, metadata);
}

/* Point names, partitions and metadata at their final places (buffers have stopped moving). */
static void ofetch_resolve(struct ofetch *of)
{
    const uint8_t *base = kc_writer_data(&of->meta);
    for (int32_t i = 0, at = 0; i < of->ntopics; at += of->topics[i].nparts, i++) {
        if (of->name_at[i] >= 0)
            of->topics[i].name.p = base + of->name_at[i];
        of->topics[i].parts = of->topics[i].nparts ? of->parts + at : NULL;
    }
    for (int32_t i = 0; i < of->nparts; i++) {
        if (of->meta_at[i] < 0)
            of->parts[i].metadata = (struct kc_slice){NULL, -1}; /* committed as null */
        else
            of->parts[i].metadata.p = base + of->meta_at[i];
    }
}

static void ofetch_named(struct brk_server *srv, const struct kp_offset_fetch_req *fr,
                         struct ofetch *of)
{
    char meta[BRK_OFFSET_METADATA_MAX];
    for (int32_t i = 0; i < fr->ntopics && !of->err; i++) {
        ofetch_topic(of, fr->topics[i].name, false);
        for (int32_t j = 0; j < fr->topics[i].nparts; j++) {
            int64_t offset;
            int32_t mlen = -1;
            brk_offsets_fetch(srv, fr->group_id, fr->topics[i].name, fr->topics[i].parts[j],
                              &offset, meta, sizeof(meta), &mlen);
            /* Nothing committed: offset -1 and metadata "", as Kafka answers. */
            struct kc_slice m = offset < 0 ? kp_slice_str("")
                                           : (struct kc_slice){(const uint8_t *)meta, mlen};
            ofetch_part(of, fr->topics[i].parts[j], offset, m);
        }
    }
}

int brk__kafka_offset_fetch(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_offset_fetch_req *fr = &req->u.offset_fetch;
    struct ofetch of = {0};
    struct kp_offset_fetch_resp resp = {0};
    kc_writer_init(&of.meta, 0);
    if (fr->group_id.len <= 0)
        resp.error = KP_ERR_INVALID_GROUP_ID;
    else if (fr->ntopics < 0)
        brk_offsets_foreach(brk_conn_server(c), fr->group_id, ofetch_each, &of);
    else
        ofetch_named(brk_conn_server(c), fr, &of);
    int rc = of.err ? of.err : kc_writer_error(&of.meta);
    if (rc == 0) {
        ofetch_resolve(&of);
        resp.ntopics = of.ntopics;
        resp.topics = of.topics;
        rc = kp_encode_offset_fetch(brk_resp_writer(c), &req->hdr, &resp);
    }
    free(of.topics);
    free(of.parts);
    free(of.meta_at);
    free(of.name_at);
    kc_writer_fini(&of.meta);
    return rc;
}
