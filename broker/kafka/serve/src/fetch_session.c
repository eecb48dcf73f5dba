/*
 * fetch_session.c - Fetch sessions (KIP-227) for fetch.c: between a decoded Fetch and the
 * session cache (fsess.h), in the codec's structs.
 *
 * fetch.c serves a Fetch as a list of partitions, read in order, answered in order. A
 * session changes only which list, and which part of the answer is sent:
 *
 *   begin    the request's session id and epoch -> sessionless, full, incremental, or a
 *            top-level error (70, 71, 106; 42 for an incremental Fetch naming a partition
 *            twice: which of the two should the session keep?)
 *   expand   incremental: the request is replaced by the full request it stands for,
 *            the session's partitions in the session's order, each with the fields
 *            (fetch offset, max bytes, leader epochs, log start) the client last sent;
 *            topics in runs of consecutive partitions:
 *
 *              Fetch id 7 epoch 3 [orders/2 @ 50]           (what the client sent)
 *              -> [orders: 0 @ 17, 1 @ 9, 2 @ 50, ...] [audit: 0 @ 4, ...]  (what is read)
 *
 *            fetch.c reads it as any other Fetch; a parked one expands again from its
 *            copy of the frame (the session is leased: it has not changed meanwhile)
 *   settle   before the answer is encoded. Full: the answered partitions become a new
 *            session (if the cache has room), named in session_id. Incremental: only the
 *            partitions the session says changed stay in the answer (runs of one topic
 *            merged again, as Kafka's FetchResponse.of groups them), the rest is cut
 *   end      the lease is given back, once the answer is written (or the park freed)
 *
 * A replica's Fetch (replica_id >= 0) is served the same way, and its session is
 * privileged in the eviction order (fsess.h) and closed with its connection (the
 * fetcher starts over, full, on a new one). Its idle partitions are neither named in its
 * requests nor answered; expand still puts every partition of the session in the list
 * fetch.c serves each round, each with the fetch offset the follower last sent, so its
 * position keeps counting toward the high watermark and the ISR (replica_judge) while
 * the request names nothing - and fetch.c answers a partition found idle at its last
 * read from the session, without reading it, until its log changes (idle_skip). A
 * diverging epoch is always answered (result_of's diverged): it has no records and no
 * error, yet the follower must truncate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_metrics.h"
#include "kafka_int.h"

typedef struct kp_fetch_resp_partition_data fresp_part;
typedef struct kp_fetch_resp_fetchable_topic_response fresp_topic;

/* A request topic's key bytes: its name (v7-12) or its id (v13+). */
static struct brk_fsess_key key_of(bool by_id, const struct kp_fetch_req_topic *t, int32_t p)
{
    return by_id ? (struct brk_fsess_key){t->topic_id.b, 16, p}
                 : (struct brk_fsess_key){t->topic.p, t->topic.len, p};
}

static bool replica_of(const struct kp_request *req)
{
    const struct kp_fetch_req *fr = req->msg;
    return (req->hdr.request_api_version >= 15 ? fr->replica_state.replica_id
                                               : fr->replica_id) >= 0;
}

/* Partition p of request topic t as the cache keeps it: every field the request gives. */
static struct brk_fsess_entry entry_of(bool by_id, const struct kp_fetch_req_topic *t,
                                       const struct kp_fetch_req_partition *p)
{
    return (struct brk_fsess_entry){.key = key_of(by_id, t, p->partition),
                                    .fetch_offset = p->fetch_offset,
                                    .max_bytes = p->partition_max_bytes,
                                    .current_leader_epoch = p->current_leader_epoch,
                                    .last_fetched_epoch = p->last_fetched_epoch,
                                    .log_start_offset = p->log_start_offset};
}

/* The request's partitions as entries (arena); a partition named twice: -EINVAL. */
static int named_of(struct kp_request *req, bool by_id, struct brk_fsess_entry **out,
                    int32_t *n)
{
    const struct kp_fetch_req *fr = req->msg;
    int32_t total = 0, k = 0;
    for (int32_t i = 0; i < fr->topics.n; i++)
        total += fr->topics.v[i].partitions.n;
    struct brk_fsess_entry *e = kp_arena_alloc(&req->arena, (size_t)(total + 1) * sizeof(*e));
    struct brk_kafka_tp *tp = kp_arena_alloc(&req->arena, (size_t)(total + 1) * sizeof(*tp));
    bool *dup = kp_arena_alloc(&req->arena, (size_t)total + 1);
    if (!e || !tp || !dup)
        return -ENOMEM;
    for (int32_t i = 0; i < fr->topics.n; i++)
        for (int32_t j = 0; j < fr->topics.v[i].partitions.n; j++, k++) {
            const struct kp_fetch_req_partition *p = &fr->topics.v[i].partitions.v[j];
            e[k] = entry_of(by_id, &fr->topics.v[i], p);
            tp[k] = (struct brk_kafka_tp){e[k].key.topic, e[k].key.len, p->partition, k};
        }
    *out = e;
    *n = total;
    return brk__kafka_dups(tp, total, dup) > 0 ? -EINVAL : 0;
}

/* forgotten_topics_data as keys (arena). */
static int forgotten_of(struct kp_request *req, bool by_id, struct brk_fsess_key **out,
                        int32_t *n)
{
    const struct kp_fetch_req *fr = req->msg;
    int32_t total = 0, k = 0;
    for (int32_t i = 0; i < fr->forgotten_topics_data.n; i++)
        total += fr->forgotten_topics_data.v[i].partitions.n;
    struct brk_fsess_key *keys = kp_arena_alloc(&req->arena, (size_t)(total + 1) * sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    for (int32_t i = 0; i < fr->forgotten_topics_data.n; i++) {
        const struct kp_fetch_req_forgotten_topic *t = &fr->forgotten_topics_data.v[i];
        for (int32_t j = 0; j < t->partitions.n; j++, k++)
            keys[k] = by_id ? (struct brk_fsess_key){t->topic_id.b, 16, t->partitions.v[j]}
                            : (struct brk_fsess_key){t->topic.p, t->topic.len,
                                                     t->partitions.v[j]};
    }
    *out = keys;
    *n = total;
    return 0;
}

int brk__kafka_fs_request(struct kp_request *req, struct brk_fsess_request *rq)
{
    const struct kp_fetch_req *fr = req->msg;
    bool by_id = req->hdr.request_api_version >= 13;
    struct brk_fsess_entry *named = NULL;
    struct brk_fsess_key *forgotten = NULL;
    *rq = (struct brk_fsess_request){.id = fr->session_id, .epoch = fr->session_epoch,
                                     .by_id = by_id, .replica = replica_of(req),
                                     .now_ms = kc_mono_ms()};
    if (rq->epoch == BRK_FSESS_INITIAL_EPOCH || rq->epoch == BRK_FSESS_FINAL_EPOCH)
        return 0; /* full: its own partitions are read; the cache needs none of them */
    int rc = named_of(req, by_id, &named, &rq->nnamed);
    if (rc == 0)
        rc = forgotten_of(req, by_id, &forgotten, &rq->nforgotten);
    rq->named = named;
    rq->forgotten = forgotten;
    return rc;
}

int brk__kafka_fs_begin(struct brk_conn *c, struct kp_request *req, struct brk_kafka_fs *fs)
{
    struct brk_fsess_request rq;
    *fs = (struct brk_kafka_fs){.cache = brk__kafka_of(c)->fsess, .kind = BRK_FSESS_SESSIONLESS,
                                .conn = c};
    int rc = brk__kafka_fs_request(req, &rq);
    if (rc == -EINVAL) { /* an incremental Fetch naming a partition twice */
        fs->kind = BRK_FSESS_ERROR;
        fs->error = KP_ERR_INVALID_REQUEST;
        return 0;
    }
    if (rc == 0)
        rc = brk__fsess_begin(fs->cache, &rq, &fs->s, &fs->error);
    if (rc < 0)
        return rc;
    fs->kind = rc;
    return 0;
}

int brk__kafka_fs_refuse(struct brk_conn *c, struct kp_request *req, int16_t error)
{
    struct kp_fetch_resp *resp = kp_new(&req->arena, &kp_fetch_resp_schema, 1);
    if (!resp)
        return -ENOMEM;
    resp->error_code = error;
    resp->session_id = BRK_FSESS_NONE; /* Kafka's SessionErrorContext: no partitions */
    return brk__kafka_reply(c, &req->hdr, resp);
}

/* Topics of the expansion: one per run of consecutive partitions of a session topic. */
static int32_t runs_of(const struct brk_fsess_part *sp, int32_t n)
{
    int32_t runs = 0;
    for (int32_t k = 0; k < n; k++)
        runs += k == 0 || sp[k].topic != sp[k - 1].topic;
    return runs;
}

int brk__kafka_fs_expand(const struct brk_kafka_fs *fs, struct kp_request *req)
{
    if (fs->kind != BRK_FSESS_INCREMENTAL)
        return 0;
    struct kp_arena *a = &req->arena;
    int32_t n, len;
    const struct brk_fsess_part *sp = brk__fsess_parts(fs->s, &n);
    int32_t nt = runs_of(sp, n);
    bool by_id = req->hdr.request_api_version >= 13;
    a->limit = 0; /* n is bounded by the cache's partition budget, not by the frame */
    struct kp_fetch_req *out = kp_new(a, &kp_fetch_req_schema, 1);
    struct kp_fetch_req_topic *t = kp_new(a, &kp_fetch_req_topic_schema, nt);
    struct kp_fetch_req_partition *p = kp_new(a, &kp_fetch_req_partition_schema, n);
    if (!out || !t || !p)
        return -ENOMEM;
    *out = *(const struct kp_fetch_req *)req->msg; /* its limits, isolation, session */
    for (int32_t k = 0, i = -1; k < n; k++) {
        if (k == 0 || sp[k].topic != sp[k - 1].topic) {
            const uint8_t *key = brk__fsess_topic(fs->s, sp[k].topic, &len);
            if (by_id)
                memcpy(t[++i].topic_id.b, key, 16);
            else
                t[++i].topic = (struct kc_slice){key, len};
            KP_SET(t[i].partitions, 0, &p[k]);
        }
        /* Every field, not the schema's defaults (-1: no fencing, no divergence check):
         * a partition the client left out is read as it last named it. */
        p[k].partition = sp[k].partition;
        p[k].fetch_offset = sp[k].fetch_offset;
        p[k].partition_max_bytes = sp[k].max_bytes;
        p[k].current_leader_epoch = sp[k].current_leader_epoch;
        p[k].last_fetched_epoch = sp[k].last_fetched_epoch;
        p[k].log_start_offset = sp[k].log_start_offset;
        t[i].partitions.n++;
    }
    KP_SET(out->topics, nt, t);
    KP_SET(out->forgotten_topics_data, 0, NULL);
    req->msg = out;
    return 0;
}

/* ---- settling the answer ----------------------------------------------------------------- */

static struct brk_fsess_result result_of(const fresp_part *rp)
{
    return (struct brk_fsess_result){.records = KC_MAX(rp->records.len, 0),
                                     .hwm = rp->high_watermark,
                                     .log_start = rp->log_start_offset,
                                     .error = rp->error_code,
                                     .diverged = rp->diverging_epoch.epoch >= 0};
}

/* Full: the answered partitions become a session (none if one was named twice); a
 * follower's is privileged, and lives no longer than its connection (kafka_conn_fini). */
static void settle_full(struct brk_kafka_fs *fs, const struct kp_request *req,
                        struct kp_fetch_resp *resp, int32_t n)
{
    const struct kp_fetch_req *fr = req->msg;
    bool by_id = req->hdr.request_api_version >= 13;
    struct brk_fsess_entry *e = malloc((size_t)(n + 1) * sizeof(*e));
    struct brk_fsess_result *r = malloc((size_t)(n + 1) * sizeof(*r));
    int32_t k = 0, id = BRK_FSESS_NONE;
    for (int32_t i = 0; e && r && i < fr->topics.n; i++)
        for (int32_t j = 0; j < fr->topics.v[i].partitions.n; j++, k++) {
            const struct kp_fetch_req_partition *p = &fr->topics.v[i].partitions.v[j];
            e[k] = entry_of(by_id, &fr->topics.v[i], p);
            r[k] = result_of(&resp->responses.v[i].partitions.v[j]);
            if (r[k].error == KP_ERR_INVALID_REQUEST)
                n = -1; /* named twice: which one would the session keep? none */
        }
    if (e && r && n >= 0)
        id = brk__fsess_create(fs->cache, by_id, replica_of(req) ? fs->conn : NULL,
                               kc_mono_ms(), e, r, n);
    if (id < 0 || !e || !r)
        kc_log_warn("out of memory making a fetch session: the client stays sessionless");
    struct brk_kafka_conn *kc = fs->conn ? brk_conn_state(fs->conn) : NULL;
    if (id > 0 && replica_of(req) && kc) /* kc: made by serve.c for every request */
        kc->follower_sessions = true;
    resp->session_id = KC_MAX(id, BRK_FSESS_NONE);
    free(e);
    free(r);
}

/* The output topics of an incremental answer: runs of consecutive kept partitions of one
 * topic. *sizes[i] is run i's length (arena). */
static int32_t kept_runs(const struct kp_fetch_resp *resp, const bool *keep, struct kp_arena *a,
                         int32_t **sizes)
{
    int32_t runs = 0, k = 0, last = -1, total = 0;
    for (int32_t t = 0; t < resp->responses.n; t++)
        for (int32_t j = 0; j < resp->responses.v[t].partitions.n; j++)
            total += keep[k++];
    if (!(*sizes = kp_arena_alloc(a, (size_t)(total + 1) * sizeof(**sizes))))
        return -ENOMEM;
    k = 0;
    for (int32_t t = 0; t < resp->responses.n; t++) {
        const fresp_topic *rt = &resp->responses.v[t];
        for (int32_t j = 0; j < rt->partitions.n; j++) {
            if (!keep[k++])
                continue;
            const fresp_topic *lt = last >= 0 ? &resp->responses.v[last] : NULL;
            if (!lt || lt->topic.len != rt->topic.len ||
                (rt->topic.len > 0 && memcmp(lt->topic.p, rt->topic.p, (size_t)rt->topic.len)) ||
                memcmp(lt->topic_id.b, rt->topic_id.b, 16))
                (*sizes)[runs++] = 0; /* a new topic in the answer */
            (*sizes)[runs - 1]++;
            last = t;
        }
    }
    return runs;
}

/* Replace resp's topics by the kept partitions, merged into runs. 0 or -ENOMEM (resp as
 * it was: every partition is answered, which a client accepts). */
static int prune(struct kp_fetch_resp *resp, const bool *keep, struct kp_arena *a)
{
    int32_t *sizes, runs = kept_runs(resp, keep, a, &sizes), kept = 0, k = 0, o = -1, at = 0;
    if (runs < 0)
        return runs;
    for (int32_t i = 0; i < runs; i++)
        kept += sizes[i];
    fresp_topic *out = kp_new(a, &kp_fetch_resp_fetchable_topic_response_schema, KC_MAX(runs, 1));
    fresp_part *parts = kp_new(a, &kp_fetch_resp_partition_data_schema, KC_MAX(kept, 1));
    if (!out || !parts)
        return -ENOMEM;
    for (int32_t t = 0; t < resp->responses.n; t++)
        for (int32_t j = 0; j < resp->responses.v[t].partitions.n; j++) {
            if (!keep[k++])
                continue;
            if (o < 0 || out[o].partitions.n == sizes[o]) {
                out[++o] = resp->responses.v[t]; /* its name or id */
                KP_SET(out[o].partitions, 0, &parts[at]);
            }
            parts[at++] = resp->responses.v[t].partitions.v[j];
            out[o].partitions.n++;
        }
    KP_SET(resp->responses, runs, out);
    return 0;
}

const bool *brk__kafka_fs_settle(struct brk_kafka_fs *fs, struct kp_request *req,
                                struct kp_fetch_resp *resp, int32_t n)
{
    resp->session_id = BRK_FSESS_NONE;
    if (fs->kind == BRK_FSESS_FULL)
        settle_full(fs, req, resp, n);
    if (fs->kind != BRK_FSESS_INCREMENTAL)
        return NULL;
    int32_t ns;
    brk__fsess_parts(fs->s, &ns);
    resp->session_id = brk__fsess_id(fs->s);
    struct brk_fsess_result *r = kp_arena_alloc(&req->arena, (size_t)(n + 1) * sizeof(*r));
    bool *inc = kp_arena_alloc(&req->arena, (size_t)n + 1);
    if (r && inc && ns == n) { /* ns == n: the answer was built from this very session */
        for (int32_t t = 0, k = 0; t < resp->responses.n; t++)
            for (int32_t j = 0; j < resp->responses.v[t].partitions.n; j++)
                r[k++] = result_of(&resp->responses.v[t].partitions.v[j]);
        brk__fsess_settle(fs->s, r, inc);
        if (prune(resp, inc, &req->arena) == 0)
            return inc;
    }
    /* Out of memory: every partition is answered (a client accepts more than changed). */
    kc_log_warn("out of memory trimming an incremental Fetch answer: sending it whole");
    return NULL;
}

void brk__kafka_fs_end(struct brk_kafka_fs *fs)
{
    if (fs->s)
        brk__fsess_end(fs->cache, fs->s);
    fs->s = NULL;
}

/* ---- the cache's life and its figures ----------------------------------------------------- */

int brk__kafka_fs_init(struct brk_kafka *k)
{
    const struct brk_config *cfg = brk_server_config(k->srv);
    struct brk_fsess_config fc = {cfg->fetch_session_slots, cfg->fetch_session_eviction_ms,
                                  cfg->fetch_session_partitions};
    return brk__fsess_cache_create(&fc, &k->fsess);
}

void brk__kafka_fs_metrics(void *state, const struct brk_metrics_visitor *v)
{
    static const char *const kinds[] = {"sessionless", "full", "incremental", "error"};
    struct brk_kafka *k = state;
    struct brk_fsess_stats st;
    brk__fsess_stats(k->fsess, &st);
    v->family(v->arg, "kafka_fetch_sessions", "Incremental fetch sessions in the cache "
              "(max.incremental.fetch.session.cache.slots).", BRK_GAUGE);
    v->sample(v->arg, NULL, 0, (double)st.sessions);
    v->family(v->arg, "kafka_fetch_session_partitions", "Partitions held by the cached "
              "fetch sessions, all together.", BRK_GAUGE);
    v->sample(v->arg, NULL, 0, (double)st.partitions);
    v->family(v->arg, "kafka_fetch_session_evictions_total", "Fetch sessions pushed out of "
              "the cache to make room for another.", BRK_COUNTER);
    v->sample(v->arg, NULL, 0, (double)st.evictions);
    v->family(v->arg, "kafka_fetch_sessions_created_total", "Fetch sessions made by full "
              "Fetch requests.", BRK_COUNTER);
    v->sample(v->arg, NULL, 0, (double)st.created);
    v->family(v->arg, "kafka_fetch_requests_by_session_total", "Fetch requests by how their "
              "session served them: sessionless (epoch -1), full (epoch 0), incremental, "
              "or a session error (70, 71, 106).", BRK_COUNTER);
    for (int i = 0; i < 4; i++) {
        struct brk_metric_label lab = {"context", kinds[i], (int)strlen(kinds[i])};
        v->sample(v->arg, &lab, 1, (double)st.by_kind[i]);
    }
    v->family(v->arg, "kafka_fetch_idle_partitions_skipped_total", "Partitions of followers' "
              "fetch sessions answered without a read: idle since the last one (fetch.c).",
              BRK_COUNTER);
    v->sample(v->arg, NULL, 0, (double)atomic_load_explicit(&k->idle_skipped,
                                                            memory_order_relaxed));
}
