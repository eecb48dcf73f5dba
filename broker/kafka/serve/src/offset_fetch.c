/*
 * offset_fetch.c - OffsetFetch (v0-9): what a group committed, from the broker's one
 * offsets store (the core's offsets.c; offsets.c here writes to it).
 *
 *   v0-7   one group: group_id and its topics (null from v2 on: everything the group
 *          committed); one error for the whole answer from v2 on
 *   v8+    a list of groups (KIP-709), each answered with its own topics and error; v9's
 *          member id and epoch belong to KIP-848's consumer groups, not served here: null
 *
 * ACLs (auth.c): DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED (30) as the group's
 * error (v0-1: every named partition's; v2-7: the answer's, with no topics; v8+: that
 * group's); DESCRIBE on each topic named, else TOPIC_AUTHORIZATION_FAILED (29) for its
 * partitions; asked for everything, the topics the principal may not describe are left out
 * without a word, as Kafka's filterByAuthorized does.
 *
 * Per partition: the committed offset and metadata, or offset -1 with metadata "" and
 * error 0 when nothing is committed (the client then applies auto.offset.reset). A group
 * id that cannot be one is INVALID_GROUP_ID: the group's error where the version has one,
 * every named partition's where it has none (v0-1).
 *
 * The store hands out its memory only under its lock (brk_offsets_foreach), so a group's
 * answer is gathered into a struct ofetch first - topics and partitions in order, names
 * and metadata copied into one byte buffer - and turned into the version's response
 * structs once that buffer stops moving.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"
#include "sec_acl.h"

/* What one group asks for, whichever of the two request shapes carried it. */
struct of_ask {
    struct kc_slice group;
    int32_t ntopics; /* -1: everything the group committed */
    struct kc_slice *names;
    const int32_t **indexes;
    int32_t *counts;
};

struct of_part {
    int32_t index;
    int64_t offset;
    int32_t meta_at; /* in bytes; -1: null metadata */
    int32_t meta_len;
    int16_t err;     /* its own error (29), or NONE */
};

struct of_topic {
    int32_t name_at; /* in bytes; -1: the request's own name (name) */
    struct kc_slice name;
    int32_t first, n; /* its partitions in parts[] */
};

/* One group's answer as it is gathered. */
struct ofetch {
    struct brk_conn *c; /* who asks: the topics it may describe */
    struct of_topic *topics;
    int32_t ntopics, cap_topics;
    struct of_part *parts;
    int32_t nparts, cap_parts;
    struct kc_writer bytes;
    int err;
};

static int grow(void **p, int32_t *cap, int32_t want, size_t size)
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

static void of_topic(struct ofetch *of, struct kc_slice name, bool copy)
{
    if (of->err || (of->err = grow((void **)&of->topics, &of->cap_topics, of->ntopics + 1,
                                   sizeof(*of->topics))) != 0)
        return;
    int32_t at = copy ? (int32_t)kc_writer_len(&of->bytes) : -1;
    of->topics[of->ntopics++] = (struct of_topic){at, name, of->nparts, 0};
    if (copy)
        kc_write_raw(&of->bytes, name.p, (size_t)name.len);
}

static void of_part(struct ofetch *of, int32_t index, int64_t offset, struct kc_slice meta,
                    int16_t err)
{
    if (of->err || (of->err = grow((void **)&of->parts, &of->cap_parts, of->nparts + 1,
                                   sizeof(*of->parts))) != 0)
        return;
    int32_t at = meta.len >= 0 ? (int32_t)kc_writer_len(&of->bytes) : -1;
    of->parts[of->nparts++] = (struct of_part){index, offset, at, meta.len, err};
    if (meta.len > 0)
        kc_write_raw(&of->bytes, meta.p, (size_t)meta.len);
    of->topics[of->ntopics - 1].n++;
}

/* brk_offsets_foreach's callback (under the store's lock: copy, never block). */
static void of_each(void *arg, struct kc_slice topic, int32_t partition, int64_t offset,
                    struct kc_slice metadata)
{
    struct ofetch *of = arg;
    if (!brk__kafka_allowed_quietly(of->c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, topic))
        return; /* hidden from "everything", as Kafka's filterByAuthorized */
    const struct of_topic *last = of->ntopics ? &of->topics[of->ntopics - 1] : NULL;
    if (!last || last->name.len != topic.len ||
        memcmp(kc_writer_data(&of->bytes) + last->name_at, topic.p, (size_t)topic.len) != 0)
        of_topic(of, topic, true);
    of_part(of, partition, offset, metadata, KP_ERR_NONE);
}

/* The partitions the request names; lookup false: all "nothing committed". */
static void of_named(struct brk_server *srv, const struct of_ask *ask, bool lookup,
                     struct ofetch *of)
{
    char meta[BRK_OFFSET_METADATA_MAX];
    for (int32_t i = 0; i < ask->ntopics && !of->err; i++) {
        bool allowed = !lookup || brk__kafka_allowed(of->c, SEC_OP_DESCRIBE, SEC_RES_TOPIC,
                                                     ask->names[i]);
        of_topic(of, ask->names[i], false);
        for (int32_t j = 0; j < ask->counts[i]; j++) {
            int64_t offset = -1;
            int32_t mlen = -1;
            if (lookup && allowed)
                brk_offsets_fetch(srv, ask->group, ask->names[i], ask->indexes[i][j], &offset,
                                  meta, sizeof(meta), &mlen);
            /* Nothing committed: offset -1 and metadata "", as Kafka answers. */
            struct kc_slice m = offset < 0 ? kp_slice_str("")
                                           : (struct kc_slice){(const uint8_t *)meta, mlen};
            of_part(of, ask->indexes[i][j], offset, m,
                    allowed ? KP_ERR_NONE : KP_ERR_TOPIC_AUTHORIZATION_FAILED);
        }
    }
}

/* Gather one group's answer into of; returns the group's Kafka error. partitions_too: an
 * error must reach every named partition (v0-1, which have no field for the group's). */
static int16_t of_gather(struct brk_conn *c, const struct of_ask *ask, bool partitions_too,
                         struct ofetch *of)
{
    struct brk_server *srv = brk_conn_server(c);
    bool valid = brk_group_check((const char *)ask->group.p,
                                 ask->group.len > 0 ? (size_t)ask->group.len : 0) == 0;
    of->c = c;
    kc_writer_init(&of->bytes, 0);
    int16_t refused = KP_ERR_NONE;
    if (valid && !brk__kafka_allowed(c, SEC_OP_DESCRIBE, SEC_RES_GROUP, ask->group))
        refused = KP_ERR_GROUP_AUTHORIZATION_FAILED;
    else if (valid)
        refused = brk__kafka_coordinator_check(srv, ask->group); /* a cluster's: 16 */
    if (refused != KP_ERR_NONE) {
        if (partitions_too && ask->ntopics >= 0)
            of_named(srv, ask, false, of);
        of->err = of->err ? of->err : kc_writer_error(&of->bytes);
        return refused;
    }
    if (valid && ask->ntopics < 0)
        brk_offsets_foreach(srv, ask->group, of_each, of);
    else if (ask->ntopics >= 0)
        of_named(srv, ask, valid, of);
    if (!of->err)
        of->err = kc_writer_error(&of->bytes);
    return valid ? KP_ERR_NONE : KP_ERR_INVALID_GROUP_ID;
}

static void of_fini(struct ofetch *of)
{
    free(of->topics);
    free(of->parts);
    kc_writer_fini(&of->bytes);
}

/* Slices into the byte buffer, once it stopped moving. */
static struct kc_slice of_meta(const struct ofetch *of, const struct of_part *p)
{
    if (p->meta_at < 0)
        return (struct kc_slice){NULL, -1}; /* committed as null */
    return (struct kc_slice){kc_writer_data(&of->bytes) + p->meta_at, p->meta_len};
}

static struct kc_slice of_name(const struct ofetch *of, const struct of_topic *t)
{
    if (t->name_at < 0)
        return t->name;
    return (struct kc_slice){kc_writer_data(&of->bytes) + t->name_at, t->name.len};
}

/* ---- the two answer shapes ------------------------------------------------------------- */

/* v0-7: the group's topics straight in the response; err in every partition before v2,
 * which has no field for it. The copy into arena a outlives of. */
static int emit_v0(struct kp_arena *a, const struct ofetch *of, int16_t err, int16_t v,
                   struct kp_offset_fetch_resp *resp)
{
    struct kp_offset_fetch_resp_topic *rt =
        kp_new(a, &kp_offset_fetch_resp_topic_schema, of->ntopics);
    if (!rt && of->ntopics > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < of->ntopics; i++) {
        const struct of_topic *t = &of->topics[i];
        struct kp_offset_fetch_resp_partition *p =
            kp_new(a, &kp_offset_fetch_resp_partition_schema, t->n);
        rt[i].name = brk__kafka_keep(a, of_name(of, t));
        if ((!p && t->n > 0) || rt[i].name.len != t->name.len)
            return -ENOMEM;
        for (int32_t j = 0; j < t->n; j++) {
            const struct of_part *op = &of->parts[t->first + j];
            p[j].partition_index = op->index;
            p[j].committed_offset = op->offset;
            p[j].metadata = brk__kafka_keep(a, of_meta(of, op));
            p[j].error_code = op->err ? op->err : v < 2 ? err : KP_ERR_NONE;
        }
        KP_SET(rt[i].partitions, t->n, p);
    }
    KP_SET(resp->topics, of->ntopics, rt);
    resp->error_code = err; /* v2-7 (ignorable: dropped before v2) */
    return 0;
}

/* v8+: one group of the list. */
static int emit_group(struct kp_arena *a, const struct ofetch *of, int16_t err,
                      struct kp_offset_fetch_resp_group *g)
{
    struct kp_offset_fetch_resp_topics *rt =
        kp_new(a, &kp_offset_fetch_resp_topics_schema, of->ntopics);
    if (!rt && of->ntopics > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < of->ntopics; i++) {
        const struct of_topic *t = &of->topics[i];
        struct kp_offset_fetch_resp_partitions *p =
            kp_new(a, &kp_offset_fetch_resp_partitions_schema, t->n);
        rt[i].name = brk__kafka_keep(a, of_name(of, t));
        if ((!p && t->n > 0) || rt[i].name.len != t->name.len)
            return -ENOMEM;
        for (int32_t j = 0; j < t->n; j++) {
            const struct of_part *op = &of->parts[t->first + j];
            p[j].partition_index = op->index;
            p[j].committed_offset = op->offset;
            p[j].metadata = brk__kafka_keep(a, of_meta(of, op));
            p[j].error_code = op->err;
        }
        KP_SET(rt[i].partitions, t->n, p);
    }
    KP_SET(g->topics, of->ntopics, rt);
    g->error_code = err;
    return 0;
}

/* ---- the request ------------------------------------------------------------------------ */

/* The parallel arrays of an of_ask, for n topics (n < 0: none). */
static int ask_alloc(struct kp_arena *a, struct of_ask *ask, int32_t n)
{
    size_t m = (size_t)KC_MAX(n, 0) + 1;
    ask->ntopics = n;
    ask->names = kp_arena_alloc(a, m * sizeof(*ask->names));
    ask->indexes = kp_arena_alloc(a, m * sizeof(*ask->indexes));
    ask->counts = kp_arena_alloc(a, m * sizeof(*ask->counts));
    return ask->names && ask->indexes && ask->counts ? 0 : -ENOMEM;
}

/* Gather the group ask asks for and emit it with emit_v0 (v0-7) or into g (v8+). */
static int answer_group(struct brk_conn *c, struct kp_request *req, const struct of_ask *ask,
                        struct kp_offset_fetch_resp *resp, struct kp_offset_fetch_resp_group *g)
{
    struct ofetch of = {0};
    int16_t err = of_gather(c, ask, !g && req->hdr.request_api_version < 2, &of);
    int rc = of.err;
    if (rc == 0)
        rc = g ? emit_group(&req->arena, &of, err, g)
               : emit_v0(&req->arena, &of, err, req->hdr.request_api_version, resp);
    of_fini(&of);
    return rc;
}

static int fetch_v0(struct brk_conn *c, struct kp_request *req, struct kp_offset_fetch_resp *resp)
{
    const struct kp_offset_fetch_req *fr = req->msg;
    struct of_ask ask = {.group = fr->group_id};
    int rc = ask_alloc(&req->arena, &ask, fr->topics.n);
    for (int32_t i = 0; rc == 0 && i < fr->topics.n; i++) {
        ask.names[i] = fr->topics.v[i].name;
        ask.indexes[i] = fr->topics.v[i].partition_indexes.v;
        ask.counts[i] = fr->topics.v[i].partition_indexes.n;
    }
    return rc ? rc : answer_group(c, req, &ask, resp, NULL);
}

static int fetch_v8(struct brk_conn *c, struct kp_request *req, struct kp_offset_fetch_resp *resp)
{
    const struct kp_offset_fetch_req *fr = req->msg;
    struct kp_offset_fetch_resp_group *g =
        kp_new(&req->arena, &kp_offset_fetch_resp_group_schema, fr->groups.n);
    int rc = g || fr->groups.n == 0 ? 0 : -ENOMEM;
    for (int32_t i = 0; rc == 0 && i < fr->groups.n; i++) {
        const struct kp_offset_fetch_req_group *rg = &fr->groups.v[i];
        struct of_ask ask = {.group = rg->group_id};
        rc = ask_alloc(&req->arena, &ask, rg->topics.n);
        for (int32_t j = 0; rc == 0 && j < rg->topics.n; j++) {
            ask.names[j] = rg->topics.v[j].name;
            ask.indexes[j] = rg->topics.v[j].partition_indexes.v;
            ask.counts[j] = rg->topics.v[j].partition_indexes.n;
        }
        g[i].group_id = rg->group_id;
        if (rc == 0)
            rc = answer_group(c, req, &ask, resp, &g[i]);
    }
    if (rc == 0)
        KP_SET(resp->groups, fr->groups.n, g);
    return rc;
}

int brk__kafka_offset_fetch(struct brk_conn *c, struct kp_request *req)
{
    struct kp_offset_fetch_resp *resp = kp_new(&req->arena, &kp_offset_fetch_resp_schema, 1);
    int rc = !resp ? -ENOMEM
         : req->hdr.request_api_version >= 8 ? fetch_v8(c, req, resp)
                                             : fetch_v0(c, req, resp);
    if (rc) {
        kc_log_warn("%s: OffsetFetch failed: %s; closing", brk_conn_peer(c), kc_strerror(rc));
        return rc;
    }
    return brk__kafka_reply(c, &req->hdr, resp);
}
