/*
 * round.c - one fetch round: ask the owner where each partition stands, send one Fetch v12
 * naming what the leader's session does not know yet, check the whole answer, then hand
 * it over partition by partition.
 *
 *   snapshot (sorted by topic, then partition: a topic's partitions are contiguous, so the
 *   request groups them without a map)
 *     -> ops->position for each: fetch offset, current leader epoch, last fetched epoch
 *     -> Fetch v12 { replica_id, max_wait_ms, min_bytes, max_bytes,
 *                    full:        session 0 (or one to close), epoch 0, every partition
 *                    incremental: session id, its epoch, the partitions whose position
 *                                 moved; the paused ones forgotten       (session.c) }
 *     -> the answer, checked whole before anything is handed over: every partition one
 *        the session holds after this request, at most once; records cut to whole batches
 *     -> ops->received for each partition the answer carries, then ops->round_done
 *
 * Why check everything first: a malformed answer (a partition never asked, twice, a batch
 * header with an impossible length) means the stream cannot be trusted; handing over half
 * of it would let a follower append from an answer it then rejects.
 *
 * "Asked" below means: in the session after this request - named in it, or held by the
 * leader from an earlier round at the same position. An incremental answer leaves out the
 * partitions with nothing new; the owner hears nothing of them, as nothing changed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_codec.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_log.h"
#include "kc_time.h"
#include "kfr_int.h"

/* A RecordBatch starts with baseOffset (8) and batchLength (4); batchLength counts what
 * follows it, at least the rest of the 61-byte header. */
enum { BATCH_PREFIX = 12, BATCH_HEADER = 61 };

long kfr__whole_batches(const uint8_t *p, size_t len)
{
    size_t at = 0;
    while (len - at >= BATCH_PREFIX) {
        uint32_t n = kc_load_be32(p + at + 8);
        if (n < BATCH_HEADER - BATCH_PREFIX || n > KFR_FRAME_MAX)
            return -1;
        if (len - at - BATCH_PREFIX < n)
            break; /* the leader cut the last batch at its byte limit: fetch it next time */
        at += BATCH_PREFIX + n;
    }
    return (long)at;
}

static int cmp_tp(const void *a, const void *b)
{
    const struct kfr_tp *x = a, *y = b;
    int d = strcmp(x->topic, y->topic);
    return d ? d : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The set as of now, sorted, if it changed since the last round. -ENOMEM. */
static int refresh(struct kfr_fetcher *f)
{
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    if (f->gen != f->snap_gen || !f->snap) {
        if (f->ntps > f->snap_cap) {
            struct kfr_tp *s = realloc(f->snap, (size_t)f->ntps * sizeof(*s));
            if (s) {
                f->snap = s;
                f->snap_cap = f->ntps;
            }
            rc = s ? kfr__sess_reserve(f, f->ntps) : -ENOMEM;
        }
        if (rc == 0) {
            if (f->ntps > 0)
                memcpy(f->snap, f->tps, (size_t)f->ntps * sizeof(*f->snap));
            f->nsnap = f->ntps;
            f->snap_gen = f->gen;
            kfr__sess_reset(f, true); /* its entries were the old snapshot's */
        }
    }
    if (rc == 0)
        f->added = false; /* this round names them: no cut for them */
    pthread_mutex_unlock(&f->mu);
    if (rc == 0 && f->nsnap > 1)
        qsort(f->snap, (size_t)f->nsnap, sizeof(*f->snap), cmp_tp);
    return rc;
}

/* Is snapshot entry tp still in the set (an op may have removed it meanwhile)? */
static bool still_member(struct kfr_fetcher *f, const struct kfr_tp *tp)
{
    bool in = false;
    pthread_mutex_lock(&f->mu);
    if (f->gen == f->snap_gen)
        in = true;
    for (int i = 0; !in && i < f->ntps; i++)
        in = f->tps[i].partition == tp->partition && strcmp(f->tps[i].topic, tp->topic) == 0;
    pthread_mutex_unlock(&f->mu);
    return in;
}

/* One round's working memory: every array lives in the arena. */
struct round {
    struct kp_arena arena;
    bool full;          /* no session: every partition is named */
    int named, nforgot; /* partitions in the request's topics, in its forgotten ones */
    struct kfr_position *pos;
    bool *asked;
    struct kfr_answer *ans;
    bool *answered;
    struct kp_fetch_req req;
};

/* Name snapshot entry i (tp) in the request's topics t[] / partitions p[]: a topic's
 * partitions are contiguous in the snapshot, so a new topic entry starts when it changes. */
static void name_part(struct kfr_fetcher *f, struct round *r, int i,
                      struct kp_fetch_req_topic *t, struct kp_fetch_req_partition *p)
{
    const struct kfr_tp *tp = &f->snap[i];
    int32_t nt = r->req.topics.n;
    if (nt == 0 || !kp_slice_eq(t[nt - 1].topic, tp->topic)) {
        kp_init(&kp_fetch_req_topic_schema, &t[nt]);
        t[nt].topic = kp_slice_str(tp->topic);
        KP_SET(t[nt].partitions, 0, &p[r->named]);
        r->req.topics.n = ++nt;
    }
    t[nt - 1].partitions.n++;
    struct kp_fetch_req_partition *q = &p[r->named++];
    kp_init(&kp_fetch_req_partition_schema, q);
    q->partition = tp->partition;
    q->current_leader_epoch = r->pos[i].current_leader_epoch;
    q->fetch_offset = r->pos[i].fetch_offset;
    q->last_fetched_epoch = r->pos[i].last_fetched_epoch;
    q->log_start_offset = r->pos[i].log_start_offset;
    q->partition_max_bytes = f->cfg.partition_max_bytes;
}

/* Forget snapshot entry i (the session holds it; the owner paused it): ft[] / fp[] as above. */
static void forget_part(struct kfr_fetcher *f, struct round *r, int i,
                        struct kp_fetch_req_forgotten_topic *ft, int32_t *fp)
{
    const struct kfr_tp *tp = &f->snap[i];
    int32_t nt = r->req.forgotten_topics_data.n;
    if (nt == 0 || !kp_slice_eq(ft[nt - 1].topic, tp->topic)) {
        kp_init(&kp_fetch_req_forgotten_topic_schema, &ft[nt]);
        ft[nt].topic = kp_slice_str(tp->topic);
        KP_SET(ft[nt].partitions, 0, &fp[r->nforgot]);
        r->req.forgotten_topics_data.n = ++nt;
    }
    ft[nt - 1].partitions.n++;
    fp[r->nforgot++] = tp->partition;
}

/* The request: the partitions the owner gave a position for that the session does not
 * hold as they are, grouped by topic; the ones it holds and the owner left out,
 * forgotten. Returns how many were asked (named or held), or -ENOMEM. */
static int build(struct kfr_fetcher *f, struct round *r)
{
    int n = f->nsnap, asked = 0;
    int32_t retry = 0; /* the soonest a partition left out wants asking again */
    r->full = f->sess.id == KFR_SESSION_NONE;
    r->pos = kp_arena_alloc(&r->arena, (size_t)n * sizeof(*r->pos));
    r->asked = kp_arena_alloc(&r->arena, (size_t)n);
    struct kp_fetch_req_topic *t = kp_arena_alloc(&r->arena, (size_t)n * sizeof(*t));
    struct kp_fetch_req_partition *p = kp_arena_alloc(&r->arena, (size_t)n * sizeof(*p));
    struct kp_fetch_req_forgotten_topic *ft = kp_arena_alloc(&r->arena, (size_t)n * sizeof(*ft));
    int32_t *fp = kp_arena_alloc(&r->arena, (size_t)n * sizeof(*fp));
    if (!r->pos || !r->asked || !t || !p || !ft || !fp)
        return -ENOMEM;
    kp_init(&kp_fetch_req_schema, &r->req);
    KP_SET(r->req.topics, 0, t);
    KP_SET(r->req.forgotten_topics_data, 0, ft);
    for (int i = 0; i < n; i++) {
        const struct kfr_tp *tp = &f->snap[i];
        r->pos[i].retry_ms = 0;
        if (!f->ops.position(f->arg, tp, &r->pos[i]) || !still_member(f, tp)) {
            if (r->pos[i].retry_ms > 0 && (retry == 0 || r->pos[i].retry_ms < retry))
                retry = r->pos[i].retry_ms;
            if (kfr__sess_forgets(f, i))
                forget_part(f, r, i, ft, fp);
            continue;
        }
        r->asked[i] = true;
        asked++;
        if (kfr__sess_names(f, i, &r->pos[i]))
            name_part(f, r, i, t, p);
    }
    r->req.replica_id = f->cfg.replica_id;
    /* A partition paused for a few ms is asked again on time, not after a long poll. */
    r->req.max_wait_ms = retry > 0 ? KC_MIN(f->cfg.max_wait_ms, retry) : f->cfg.max_wait_ms;
    r->req.min_bytes = f->cfg.min_bytes;
    r->req.max_bytes = f->cfg.max_bytes;
    r->req.session_id = r->full ? f->sess.close_id : f->sess.id;
    r->req.session_epoch = r->full ? KFR_EPOCH_INITIAL : f->sess.epoch;
    r->req.rack_id = kp_slice_str("");
    return asked;
}

/* The snapshot index of (topic, partition), asked this round, or -1. */
static int find_asked(const struct kfr_fetcher *f, const struct round *r, struct kc_slice topic,
                      int32_t partition)
{
    int l = 0, h = topic.len > 0 ? f->nsnap : 0;
    while (l < h) { /* the snapshot is sorted by (topic, partition) */
        int m = l + (h - l) / 2;
        size_t tl = strlen(f->snap[m].topic), n = KC_MIN(tl, (size_t)KC_MAX(topic.len, 0));
        int d = memcmp(f->snap[m].topic, topic.p, n);
        d = d ? d : (tl > n) - ((size_t)topic.len > n);
        d = d ? d : (f->snap[m].partition > partition) - (f->snap[m].partition < partition);
        if (d == 0)
            return r->asked[m] ? m : -1;
        if (d < 0)
            l = m + 1;
        else
            h = m;
    }
    return -1;
}

/* Check the answer whole and map it onto the snapshot. 0 or KC_EMALFORMED. */
static int check_answer(struct kfr_fetcher *f, struct round *r, const struct kp_fetch_resp *resp)
{
    int n = f->nsnap;
    r->ans = kp_arena_alloc(&r->arena, (size_t)n * sizeof(*r->ans));
    r->answered = kp_arena_alloc(&r->arena, (size_t)n);
    if (!r->ans || !r->answered)
        return -ENOMEM;
    if (resp->error_code != 0) {
        kc_log_warn("replica fetcher: %s:%d refused the fetch: error %d", f->cfg.host,
                    f->cfg.port, resp->error_code);
        return KC_EMALFORMED;
    }
    if (!kfr__sess_answer_ok(f, r->full, resp->session_id)) {
        kc_log_warn("replica fetcher: %s:%d answered session %d to a fetch of session %d",
                    f->cfg.host, f->cfg.port, resp->session_id, f->sess.id);
        return KC_EMALFORMED;
    }
    for (int32_t i = 0; i < resp->responses.n; i++) {
        const struct kp_fetch_resp_fetchable_topic_response *t = &resp->responses.v[i];
        for (int32_t j = 0; j < t->partitions.n; j++) {
            const struct kp_fetch_resp_partition_data *p = &t->partitions.v[j];
            int k = find_asked(f, r, t->topic, p->partition_index);
            long whole = p->records.len > 0 ? kfr__whole_batches(p->records.p, (size_t)p->records.len) : 0;
            if (k < 0 || r->answered[k] || whole < 0)
                return KC_EMALFORMED;
            r->answered[k] = true;
            r->ans[k] = (struct kfr_answer){
                .error = p->error_code,
                .high_watermark = p->high_watermark,
                .log_start_offset = p->log_start_offset,
                .diverged = p->diverging_epoch.epoch >= 0 && p->diverging_epoch.end_offset >= 0,
                .diverging_epoch = p->diverging_epoch.epoch,
                .diverging_end = p->diverging_epoch.end_offset,
                .batches = whole > 0 ? p->records.p : NULL,
                .len = (size_t)whole,
            };
        }
    }
    return 0;
}

static void count(struct kfr_fetcher *f, const struct round *r, size_t frame)
{
    uint64_t bytes = 0;
    for (int i = 0; i < f->nsnap; i++)
        bytes += r->answered[i] ? r->ans[i].len : 0;
    pthread_mutex_lock(&f->mu);
    f->stats.rounds++;
    f->stats.full += r->full;
    f->stats.answers_bytes += frame;
    f->stats.batches_bytes += bytes;
    pthread_mutex_unlock(&f->mu);
}

int kfr__round(struct kfr_fetcher *f)
{
    struct round r = {0};
    struct kp_response resp;
    int rc = refresh(f);
    kp_arena_init(&r.arena, 0);
    if (rc == 0 && f->nsnap > 0)
        rc = build(f, &r);
    if (rc <= 0) {
        kp_arena_fini(&r.arena);
        return rc;
    }
    int64_t deadline = kc_mono_ms() + f->cfg.max_wait_ms + f->cfg.socket_timeout_ms;
    rc = kfr__call(f, KP_API_FETCH, KFR_FETCH_VERSION, &r.req, &resp, deadline);
    if (rc == 0) {
        const struct kp_fetch_resp *fr = resp.msg;
        if (kfr__sess_error(f, r.full, fr->error_code)) {
            kp_response_fini(&resp); /* the session was refused: the next round is full */
            kp_arena_fini(&r.arena);
            return 1;
        }
        rc = check_answer(f, &r, fr);
        for (int i = 0; rc == 0 && i < f->nsnap; i++)
            if (r.answered[i] && still_member(f, &f->snap[i]))
                f->ops.received(f->arg, &f->snap[i], &r.ans[i]);
        if (rc == 0) {
            f->ops.round_done(f->arg);
            kfr__sess_settle(f, r.full, fr->session_id, r.asked, r.pos);
            count(f, &r, f->conn.in_len);
        }
        kp_response_fini(&resp);
    }
    if (rc < 0)
        kfr__sess_reset(f, true); /* the leader may or may not have applied the request */
    kp_arena_fini(&r.arena);
    return rc == 0 ? 1 : rc;
}
