/*
 * fetch.c - Fetch (v4-17): whole batches straight from the segment files, and the
 * long-poll that keeps consumers from spinning.
 *
 * Which partitions. v4-12 name topics; v13+ name them by topic id (KIP-516), resolved
 * through the registry's id index (partitioning/src/topic_id.c): an unknown id is
 * UNKNOWN_TOPIC_ID (100) for its partitions, and the answer carries the id back. Topics
 * are resolved once per request. A partition named twice is INVALID_REQUEST (util.c).
 * ACLs (auth.c): READ on each topic, judged before a name is looked up (a consumer that may
 * not read a topic cannot learn whether it exists; by id, an unknown id is 100 first), else
 * TOPIC_AUTHORIZATION_FAILED (29); a follower's fetch (replica id >= 0) needs
 * CLUSTER_ACTION on the cluster instead, else 29 for every partition, as Kafka answers.
 * Fetch sessions (v7+, KIP-227: fsess.h) are fetch_session.c's: an incremental Fetch is
 * expanded into the full list of its session's partitions before anything here reads
 * it, and its answer is trimmed to what changed right before it is encoded (settle);
 * everything in between is the same for every Fetch.
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
 * read_committed gets an empty aborted-transactions list, read_uncommitted a null one.
 *
 * Answering. kp_response_encode writes everything around the records into a scratch
 * writer and, for each partition whose records are a gap (.p NULL, .len > 0), says where
 * they belong; the bytes between gaps go to the response queue and each gap becomes a
 * file range sent with sendfile (zeroCopy). The size prefix already counts the gaps:
 *
 *   scratch  [size|hdr|throttle|..|p0 fields|len0][p1 fields|len1]...
 *   queue    [size|hdr|throttle|..|p0 fields|len0] file(p0) [p1 fields|len1] file(p1)
 *
 * In v12+ the lengths are varints (len + 1) and every struct ends with a tag block; the
 * codec writes those, the gaps are the same.
 *
 * Waiting. Kafka answers at once when max_wait_ms is 0, a partition has an error, or at
 * least min_bytes are ready. Otherwise the request parks: it keeps its place in the answer
 * order, watches every partition it reads (brk_park_watch), and whichever comes first - an
 * append past what was counted, max_wait_ms, or shutdown - reads again. An append that
 * still leaves fewer than min_bytes parks it again for the time that is left.
 * Answering empty at once instead made librdkafka send ~72,000 fetches in 5 s; parked,
 * it sends about 10.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "sec_acl.h"

typedef struct kp_fetch_resp_partition_data fresp_part;

/* One partition of a Fetch being served. */
struct fpart {
    fresp_part *rp;                          /* its answer */
    const struct kp_fetch_req_partition *in; /* its request */
    struct alog *log;                        /* NULL when fixed says why */
    struct part_topic *topic;                /* its topic (deleted while parked?) */
    struct alog_slice slice;                 /* what the last read found; seg NULL: none */
    int64_t wake;                            /* wake when its log end passes this */
    int64_t hw;                              /* a follower's fetch: the leader's HW */
    bool idle;                               /* ... and nothing to say (brk_replica_fetch) */
    int open_err;                            /* its log could not be opened (KC_ENOFILES) */
    int16_t fixed;                           /* an error no read can change, or NONE */
};

/* A Fetch being served: its answer's skeleton (built once, refilled at every read) and
 * what the reads found. Everything lives in the request's arena. */
struct fetch {
    struct kp_request *req;
    struct kp_fetch_resp *resp;
    int32_t n;                  /* partitions over all topics */
    struct fpart *p;            /* in request order */
    size_t bytes;               /* records found by the last read, over all partitions */
    bool error;                 /* some partition failed: answer at once */
    struct brk_kafka_fs *fs;    /* its session (fetch_session.c) */
    int32_t replica_id;         /* >= 0: a follower's fetch (replication), -1: a consumer's */
    int64_t reread_ms;          /* a follower's idle partition is read again this often */
    int64_t now_ms;             /* this read's time (a follower's fetch) */
    uint32_t skipped;           /* idle partitions this read skipped */
    struct brk_kafka *kafka;    /* the adapter's state (its counters) */
};

struct kfetch {
    struct brk_park park;
    struct kp_request req;     /* decoded again from frame, which this owns */
    uint8_t *frame;
    struct fetch f;            /* in req's arena */
    struct brk_watch *watches; /* one per partition of the request, at most */
    int64_t deadline_ms;       /* monotonic */
    struct brk_kafka_fs fs;    /* its session, leased until the park is freed */
};

/* ---- the skeleton --------------------------------------------------------------------- */

#define ALLOC(a, n, type) ((type *)kp_arena_alloc((a), ((size_t)(n) + 1) * sizeof(type)))

/* The topic a request topic names: by name (v4-12) or by id (v13+). */
static int16_t topic_of(struct brk_server *srv, int16_t v, const struct kp_fetch_req_topic *t,
                        struct part_topic **pt)
{
    if (v < 13)
        return brk__kafka_topic(srv, t->topic, pt);
    struct part_topic_id id;
    memcpy(id.b, t->topic_id.b, sizeof(id.b));
    *pt = part_topic_find_id(brk_server_registry(srv), &id);
    return *pt ? KP_ERR_NONE : KP_ERR_UNKNOWN_TOPIC_ID;
}

/* May c read topic t (named, or found by id as pt)? A follower's verdict is the request's
 * (follower: NONE or 29, from CLUSTER_ACTION). */
static int16_t may_read(struct brk_conn *c, int16_t follower, int16_t v,
                        const struct kp_fetch_req_topic *t, const struct part_topic *pt)
{
    if (follower >= 0)
        return follower;
    struct kc_slice name = v < 13 ? t->topic : kp_slice_str(part_topic_name(pt));
    return brk__kafka_allowed(c, SEC_OP_READ, SEC_RES_TOPIC, name)
               ? KP_ERR_NONE
               : KP_ERR_TOPIC_AUTHORIZATION_FAILED;
}

/* A follower's fetch (replica id >= 0): CLUSTER_ACTION decides for every partition, -1
 * for a consumer's. */
static int16_t follower_verdict(struct brk_conn *c, const struct kp_request *req)
{
    const struct kp_fetch_req *fr = req->msg;
    int32_t replica = req->hdr.request_api_version >= 15 ? fr->replica_state.replica_id
                                                         : fr->replica_id;
    if (replica < 0)
        return -1;
    return brk__kafka_cluster_allowed(c, SEC_OP_CLUSTER_ACTION)
               ? KP_ERR_NONE
               : KP_ERR_TOPIC_AUTHORIZATION_FAILED;
}

/* Resolve topic i's partitions (from k on) into logs, or say why not in fixed. */
static void resolve_topic(struct fetch *f, struct brk_conn *c, int16_t follower, int32_t i,
                          int32_t k)
{
    const struct kp_fetch_req *fr = f->req->msg;
    const struct kp_fetch_req_topic *t = &fr->topics.v[i];
    struct part_topic *pt = NULL;
    int16_t v = f->req->hdr.request_api_version, err = KP_ERR_NONE;
    if (v < 13) /* by name: judged before the lookup */
        err = may_read(c, follower, v, t, NULL);
    if (err == KP_ERR_NONE)
        err = topic_of(brk_conn_server(c), v, t, &pt);
    if (err == KP_ERR_NONE && v >= 13)
        err = may_read(c, follower, v, t, pt);
    for (int32_t j = 0; j < t->partitions.n; j++, k++) {
        struct fpart *fp = &f->p[k];
        fp->in = &t->partitions.v[j];
        fp->log = err ? NULL : part_topic_log(pt, t->partitions.v[j].partition);
        fp->topic = err ? NULL : pt;
        if (!fp->fixed)
            fp->fixed = err        ? err
                        : !fp->log ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION
                                   : brk__kafka_leader_check(brk_conn_server(c), /* 6/74/59 */
                                                             kp_slice_str(part_topic_name(pt)),
                                                             fp->in->partition,
                                                             fp->in->current_leader_epoch);
    }
}

/* Partitions named twice: fixed INVALID_REQUEST (a topic is its name, or its 16-byte id). */
static int mark_dups(struct fetch *f)
{
    const struct kp_fetch_req *fr = f->req->msg;
    bool by_id = f->req->hdr.request_api_version >= 13;
    if (f->n < 2)
        return 0;
    struct brk_kafka_tp *tp = ALLOC(&f->req->arena, f->n, struct brk_kafka_tp);
    bool *dup = ALLOC(&f->req->arena, f->n, bool);
    if (!tp || !dup)
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < fr->topics.n; i++) {
        const struct kp_fetch_req_topic *t = &fr->topics.v[i];
        for (int32_t j = 0; j < t->partitions.n; j++, k++)
            tp[k] = (struct brk_kafka_tp){by_id ? t->topic_id.b : t->topic.p,
                                          by_id ? 16 : t->topic.len,
                                          t->partitions.v[j].partition, k};
    }
    if (brk__kafka_dups(tp, f->n, dup) > 0)
        for (int32_t k = 0; k < f->n; k++)
            if (dup[k])
                f->p[k].fixed = KP_ERR_INVALID_REQUEST;
    return 0;
}

/* The answer's topics and partitions, one per request entry, in order. */
static int skeleton(struct fetch *f)
{
    const struct kp_fetch_req *fr = f->req->msg;
    struct kp_arena *a = &f->req->arena;
    struct kp_fetch_resp_fetchable_topic_response *rt =
        kp_new(a, &kp_fetch_resp_fetchable_topic_response_schema, fr->topics.n);
    if (!(f->resp = kp_new(a, &kp_fetch_resp_schema, 1)) || (!rt && fr->topics.n > 0))
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < fr->topics.n; i++) {
        const struct kp_fetch_req_topic *t = &fr->topics.v[i];
        fresp_part *p = kp_new(a, &kp_fetch_resp_partition_data_schema, t->partitions.n);
        if (!p && t->partitions.n > 0)
            return -ENOMEM;
        rt[i].topic = t->topic;       /* v4-12 */
        rt[i].topic_id = t->topic_id; /* v13+ */
        for (int32_t j = 0; j < t->partitions.n; j++, k++) {
            p[j].partition_index = t->partitions.v[j].partition;
            f->p[k].rp = &p[j];
        }
        KP_SET(rt[i].partitions, t->partitions.n, p);
    }
    KP_SET(f->resp->responses, fr->topics.n, rt);
    return 0;
}

static int fetch_init(struct fetch *f, struct kp_request *req, struct brk_conn *c,
                      struct brk_kafka_fs *fs)
{
    const struct kp_fetch_req *fr = req->msg;
    struct kp_arena *a = &req->arena;
    memset(f, 0, sizeof(*f));
    f->req = req;
    f->fs = fs;
    f->kafka = brk__kafka_of(c);
    for (int32_t i = 0; i < fr->topics.n; i++)
        f->n += fr->topics.v[i].partitions.n;
    if (!(f->p = ALLOC(a, f->n, struct fpart)))
        return -ENOMEM;
    /* A session holds no partition twice (the one the client named twice got 42). */
    int rc = fs->kind == BRK_FSESS_INCREMENTAL ? 0 : mark_dups(f);
    if (rc == 0)
        rc = skeleton(f);
    int16_t follower = follower_verdict(c, req);
    f->replica_id = req->hdr.request_api_version >= 15 ? fr->replica_state.replica_id
                                                       : fr->replica_id;
    f->reread_ms = KC_MIN(BRK_KAFKA_IDLE_REREAD_MS,
                          brk_server_config(brk_conn_server(c))->cluster.replica_lag_time_max_ms / 4);
    for (int32_t i = 0, k = 0; rc == 0 && i < fr->topics.n; k += fr->topics.v[i].partitions.n, i++)
        resolve_topic(f, c, follower, i, k);
    return rc;
}

static void fetch_release(struct fetch *f)
{
    for (int32_t k = 0; f->p && k < f->n; k++)
        alog_slice_release(&f->p[k].slice);
}

/* ---- reading ------------------------------------------------------------------------------ */

static int16_t read_error(int rc, int64_t fetch_offset)
{
    if (rc == 0 || rc == KC_EEMPTY)
        return KP_ERR_NONE;
    if (rc == KC_EOFFSET)
        return KP_ERR_OFFSET_OUT_OF_RANGE;
    if (rc == KC_ENOFILES || rc == -ETIMEDOUT || rc == -EAGAIN || rc == KC_ECLOSED)
        return brk__kafka_open_error(rc); /* its log could not be opened: retriable */
    kc_log_warn("fetch at offset %lld failed: %s", (long long)fetch_offset, kc_strerror(rc));
    return KP_ERR_KAFKA_STORAGE_ERROR;
}

static void read_open(struct fetch *f, struct brk_server *srv, struct fpart *fp);

/*
 * A follower's idle partitions. Its session names only the partitions whose position
 * moved, but the leader reads every partition of the session each round, as Kafka does -
 * and the read of a partition (its replica found by name, locked, judged, its log read)
 * is what a round of 6,000 idle partitions is made of, each time one busy partition
 * wakes the follower's long poll. So a read that finds a partition idle - we lead, the
 * follower is in the ISR at our log end, the HW is there too (brk_replica_fetch.idle),
 * nothing to send - marks it quiet in the session, with the log's alog_changes read
 * before it; the next rounds answer it from the session (nothing changed: it leaves the
 * answer) without reading, while the log's changes, end and start stay as they were,
 * the request does not name it, and for reread_ms at most:
 *
 *   round 1  p7 read: idle             quiet (changes 12, at t)
 *   round 2  p7: changes 12, end = 45  skipped
 *   append   changes 13                round 3 reads p7 (records: not quiet)
 *   t + 1 s  p7 read again             its position counts again for the ISR
 *
 * Why that is enough: the answer could only differ if the log moved (an append, a
 * truncation, a repair - alog_changes), the HW or the leadership did (the replica fires
 * the log's watches for both, which moves alog_changes), or the follower moved (it names
 * the partition). And the follower, caught up, stays in the ISR: its position is counted
 * again every reread_ms, a quarter of replica.lag.time.max.ms at most.
 */
static const struct brk_fsess_part *session_part(const struct fetch *f, const struct fpart *fp)
{
    int32_t n, k = (int32_t)(fp - f->p);
    if (f->replica_id < 0 || f->fs->kind != BRK_FSESS_INCREMENTAL || !f->fs->s)
        return NULL;
    const struct brk_fsess_part *sp = brk__fsess_parts(f->fs->s, &n);
    return n == f->n ? &sp[k] : NULL;
}

static bool idle_skip(struct fetch *f, struct fpart *fp, int64_t now)
{
    const struct brk_fsess_part *sp = session_part(f, fp);
    if (!sp || !sp->quiet || now - sp->quiet_ms >= f->reread_ms ||
        alog_changes(fp->log) != sp->quiet_changes || sp->hwm != sp->fetch_offset ||
        alog_end_offset(fp->log) != sp->fetch_offset ||
        alog_start_offset(fp->log) != sp->log_start)
        return false;
    fresp_part *p = fp->rp; /* as last answered: brk__fsess_settle leaves it out */
    p->high_watermark = p->last_stable_offset = sp->hwm;
    p->log_start_offset = sp->log_start;
    f->skipped++;
    return true;
}

/* After a read of a follower's session partition: quiet, or not (idle_skip). */
static void idle_mark(struct fetch *f, struct fpart *fp, uint64_t changes, int64_t now)
{
    if (!session_part(f, fp))
        return;
    bool quiet = fp->idle && fp->rp->error_code == KP_ERR_NONE && fp->rp->records.len == 0;
    brk__fsess_set_quiet(f->fs->s, (int32_t)(fp - f->p), quiet, changes, now);
}

/* Read partition k: at most room bytes unless it is the first with data. */
static void read_part(struct fetch *f, struct brk_server *srv, struct fpart *fp)
{
    const struct kp_fetch_req *fr = f->req->msg;
    const struct kp_fetch_req_partition *in = fp->in;
    fresp_part *p = fp->rp;
    struct alog *log = fp->log;
    p->high_watermark = p->last_stable_offset = p->log_start_offset = -1;
    p->diverging_epoch.epoch = -1; /* none, unless replica_judge finds one this read */
    p->diverging_epoch.end_offset = -1;
    p->records = (struct kc_slice){NULL, 0}; /* empty: length 0, never null */
    KP_SET(p->aborted_transactions, fr->isolation_level ? 0 : -1, NULL);
    fp->wake = in->fetch_offset;
    if (fp->fixed == KP_ERR_NONE && part_topic_deleted(fp->topic)) {
        /* Deleted while this Fetch waited: its log is about to close, never touch it
         * again (the deleter woke us; topics.c waits for this answer before closing). */
        fp->fixed = f->req->hdr.request_api_version >= 13 ? KP_ERR_UNKNOWN_TOPIC_ID
                                                          : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        fp->log = NULL;
    }
    if ((p->error_code = fp->fixed) != KP_ERR_NONE) {
        f->error = true;
        return;
    }
    /* Never an open on the loop: the request's named logs are pinned by now
     * (fetch_logs_ready), but an incremental session's other partitions and a long-poll's
     * second read are not. A closed one reads as nothing this time (offsets unknown: -1)
     * while the store's thread opens it; the consumer's next Fetch finds it open. */
    int pinned = fp->open_err ? fp->open_err : brk_log_try_pin(log);
    fp->open_err = 0; /* said once */
    if (pinned != 1) {
        if ((p->error_code = pinned < 0 ? read_error(pinned, in->fetch_offset) : 0))
            f->error = true; /* KC_ENOFILES: retriable */
        return;
    }
    if (!idle_skip(f, fp, f->now_ms)) {
        uint64_t changes = alog_changes(log); /* before the read it vouches for */
        read_open(f, srv, fp);
        idle_mark(f, fp, changes, f->now_ms);
    }
    alog_unpin(log);
}

/*
 * Replication (a cluster). A follower's fetch is judged by the partition's replica first
 * (brk_cluster_replica_fetch: its epochs, its divergence; its offset counts toward the
 * high watermark) and reads up to the log end. A consumer reads only below the high
 * watermark: *limit gets it (-1: no limit, alone). 1: answered here (an error, or a
 * diverging epoch: no records), 0: read.
 */
static int replica_judge(struct fetch *f, struct brk_server *srv, struct fpart *fp,
                         int64_t *limit)
{
    const struct kp_fetch_req_partition *in = fp->in;
    const char *name = part_topic_name(fp->topic);
    fresp_part *p = fp->rp;
    *limit = -1;
    if (f->replica_id < 0) {
        if (brk_cluster_high_watermark(srv, name, strlen(name), in->partition, limit) != 0)
            *limit = -1;
        return 0;
    }
    struct brk_replica_fetch rf = {
        .replica_id = f->replica_id, .current_leader_epoch = in->current_leader_epoch,
        .last_fetched_epoch = in->last_fetched_epoch, .fetch_offset = in->fetch_offset,
        .log_start_offset = in->log_start_offset};
    if (!brk_cluster_replica_fetch(srv, name, strlen(name), in->partition, &rf))
        return 0; /* alone: a replica id reads as a consumer would, up to the end */
    *limit = -1;
    if (rf.error == KP_ERR_NONE && rf.diverging_epoch < 0) {
        fp->hw = rf.high_watermark;
        fp->idle = rf.idle;
        return 0;
    }
    p->error_code = rf.error;
    p->high_watermark = p->last_stable_offset = rf.high_watermark;
    p->log_start_offset = alog_start_offset(fp->log);
    p->diverging_epoch.epoch = rf.diverging_epoch;
    p->diverging_epoch.end_offset = rf.diverging_end;
    f->error = true; /* answer at once: the follower truncates, or looks again */
    return 1;
}

/* Cut a slice at `limit` (the high watermark): whole batches below it only. Reads the
 * batch headers in the slice (in the page cache: the slice was just found). 0, or
 * KC_EEMPTY when not even its first batch ends below the limit. */
static int slice_cut(struct alog_slice *slice, int64_t limit)
{
    enum { HDR = 27, LEN = 8, LAST_DELTA = 23 };
    size_t used = 0;
    int64_t next = slice->first_offset;
    while (used + HDR <= slice->len) {
        uint8_t h[HDR];
        if (pread(slice->fd, h, HDR, slice->pos + (off_t)used) != HDR)
            break;
        int64_t base = (int64_t)kc_load_be64(h);
        size_t size = 12 + (size_t)kc_load_be32(h + LEN);
        int64_t end = base + (int32_t)kc_load_be32(h + LAST_DELTA) + 1;
        if (end > limit || used + size > slice->len)
            break;
        used += size;
        next = end;
    }
    if (used == 0) {
        alog_slice_release(slice);
        return KC_EEMPTY;
    }
    slice->len = used;
    slice->next_offset = next;
    return 0;
}

/* Read partition k from its open (pinned) log. */
static void read_open(struct fetch *f, struct brk_server *srv, struct fpart *fp)
{
    const struct kp_fetch_req *fr = f->req->msg;
    const struct kp_fetch_req_partition *in = fp->in;
    fresp_part *p = fp->rp;
    struct alog_slice *slice = &fp->slice;
    struct alog *log = fp->log;
    int64_t room = (int64_t)fr->max_bytes - (int64_t)f->bytes, limit;
    int rc = KC_EEMPTY;
    fp->hw = -1;
    fp->idle = false;
    if (replica_judge(f, srv, fp, &limit))
        return;
    bool capped = limit >= 0 && in->fetch_offset >= limit;
    if (!capped && in->partition_max_bytes > 0 && (f->bytes == 0 || room > 0))
        rc = brk_fetch_read(srv, log, in->fetch_offset,
                            (size_t)KC_MAX(KC_MIN((int64_t)in->partition_max_bytes, room), 1),
                            slice);
    else if (in->fetch_offset < alog_start_offset(log) || in->fetch_offset > alog_end_offset(log))
        rc = KC_EOFFSET; /* not read (no room left), but its offset is judged all the same */
    if (rc == 0 && limit >= 0 && slice->next_offset > limit)
        rc = slice_cut(slice, limit);
    if (capped && rc == KC_EEMPTY)
        fp->wake = alog_end_offset(log); /* wake on an append, or when the HW moves (the
                                          * replica fires the log's watches) */
    /* After the read, so they are never behind the records just found. */
    p->high_watermark = limit >= 0 ? limit : fp->hw >= 0 ? fp->hw : alog_end_offset(log);
    p->last_stable_offset = p->high_watermark;
    p->log_start_offset = alog_start_offset(log);
    if ((p->error_code = read_error(rc, in->fetch_offset)) != KP_ERR_NONE)
        f->error = true;
    if (rc != 0)
        return;
    if (f->bytes > 0 && (int64_t)slice->len > room) {
        alog_slice_release(slice); /* does not fit: the client asks again */
        return;
    }
    p->records = (struct kc_slice){NULL, (int32_t)slice->len}; /* a gap: sent by sendfile */
    f->bytes += slice->len;
    fp->wake = slice->next_offset;
}

static void fetch_read(struct fetch *f, struct brk_server *srv)
{
    f->bytes = 0;
    f->error = false;
    f->now_ms = f->replica_id >= 0 ? kc_mono_ms() : 0;
    f->skipped = 0;
    for (int32_t k = 0; k < f->n; k++)
        read_part(f, srv, &f->p[k]);
    if (f->skipped)
        atomic_fetch_add_explicit(&f->kafka->idle_skipped, f->skipped, memory_order_relaxed);
}

/* ---- answering ------------------------------------------------------------------------------ */

/* The session's part of the answer (fetch_session.c): a full Fetch may make a session; an
 * incremental one's answer keeps only what changed, so each partition that stayed is
 * pointed at its new place, and the others at nothing. */
static void fetch_settle(struct fetch *f)
{
    const bool *keep = brk__kafka_fs_settle(f->fs, f->req, f->resp, f->n);
    for (int32_t k = 0, t = 0, j = 0; keep && k < f->n; k++) {
        if (!keep[k]) {
            f->p[k].rp = NULL; /* unchanged: no records (those are always kept) */
            continue;
        }
        while (j == f->resp->responses.v[t].partitions.n)
            t++, j = 0;
        f->p[k].rp = &f->resp->responses.v[t].partitions.v[j++];
    }
}

/* Write the answer: memory between the gaps, a file range in each. Takes f's slices. */
static int fetch_answer(const struct brk_kafka_out *o, struct kc_writer *scratch,
                        struct fetch *f)
{
    const struct kp_request_header *h = &f->req->hdr;
    struct kp_gaps gaps = {ALLOC(&f->req->arena, f->n, struct kp_gap), 0, (size_t)f->n, 0};
    size_t pos = 0, g = 0;
    int rc = gaps.v ? 0 : -ENOMEM;
    kc_writer_reset(scratch);
    if (rc == 0)
        rc = kp_response_encode(scratch, KP_API_FETCH, h->request_api_version,
                                h->correlation_id, f->resp, &gaps, NULL);
    const uint8_t *mem = kc_writer_data(scratch);
    for (int32_t k = 0; rc == 0 && k < f->n; k++) {
        if (!f->p[k].rp || f->p[k].rp->records.len <= 0)
            continue;
        if (g >= gaps.n || gaps.v[g].owner != f->p[k].rp) {
            rc = -EPROTO; /* the codec's gaps are in this same order: never happens */
            break;
        }
        kc_write_raw(brk__kafka_w(o), mem + pos, gaps.v[g].at - pos);
        pos = gaps.v[g++].at;
        struct alog_slice slice = f->p[k].slice;
        f->p[k].slice.seg = NULL; /* taken over, even on failure */
        rc = brk__kafka_file(o, &slice);
    }
    if (rc == 0)
        kc_write_raw(brk__kafka_w(o), mem + pos, kc_writer_len(scratch) - pos);
    if (rc) {
        /* Half an answer must never reach the client: fail the writer, which closes the
         * connection (the core checks it after serve, and when a park ends). */
        brk__kafka_w(o)->err = rc;
        kc_log_warn("%s: cannot answer a Fetch: %s; closing", brk_conn_peer(o->c),
                    kc_strerror(rc));
    }
    return rc;
}

/* ---- waiting -------------------------------------------------------------------------------- */

static void kfetch_free(struct kfetch *kf)
{
    brk__kafka_fs_end(&kf->fs);
    fetch_release(&kf->f);
    kp_request_fini(&kf->req);
    free(kf->frame);
    free(kf->watches);
    free(kf);
}

/* Watch every partition that exists, from where the reads left off. */
static void kfetch_watch(struct kfetch *kf)
{
    int n = 0;
    for (int32_t k = 0; k < kf->f.n; k++)
        if (kf->f.p[k].log)
            kf->watches[n++] = (struct brk_watch){.log = kf->f.p[k].log, .offset = kf->f.p[k].wake};
    if (brk_park_watch(&kf->park, kf->watches, n) == 1) /* grew meanwhile: read again now */
        brk_park_resume(&kf->park, BRK_PARK_RESUMED);
}

static bool enough(const struct fetch *f)
{
    const struct kp_fetch_req *fr = f->req->msg;
    return f->error || f->n == 0 || f->bytes >= (size_t)KC_MAX(fr->min_bytes, 0);
}

/* On c's loop: data arrived, time is up, the broker is stopping, or c died. */
static int kfetch_done(struct brk_park *park, enum brk_park_why why)
{
    struct kfetch *kf = (struct kfetch *)((char *)park - offsetof(struct kfetch, park));
    if (why == BRK_PARK_CLOSED) {
        kfetch_free(kf);
        return 0;
    }
    struct brk_conn *c = brk_park_conn(park);
    struct brk_kafka_conn *kc = brk_conn_state(c);
    struct brk_kafka_out o = {c, park};
    int64_t left = kf->deadline_ms - kc_mono_ms();
    fetch_read(&kf->f, brk_conn_server(c));
    if (why == BRK_PARK_RESUMED && left > 0 && !enough(&kf->f)) {
        fetch_release(&kf->f); /* not enough yet: wait for the time that is left */
        brk_park_again(park, left);
        kfetch_watch(kf);
        return 1;
    }
    fetch_settle(&kf->f);
    fetch_answer(&o, &kc->scratch, &kf->f);
    kfetch_free(kf);
    return 0;
}

static const struct brk_park_ops fetch_ops = {.kind = "fetch", .done = kfetch_done};

/*
 * Cold logs. Before the session is touched (an incremental Fetch moves its epoch: it
 * could not be served twice), every log the request names is made open, or the request
 * waits for it (brk_logs_ready: the connection pauses, the request is served again).
 * What this does not cover: the partitions an incremental Fetch leaves out (its session
 * holds them; read as usual, they are warm while the consumer keeps fetching them), and
 * the re-read of a long-poll woken by an append (the append opened the log). 1 go on,
 * 0 deferred, < 0; logs->err[k] for the request's k-th partition.
 */
static int fetch_logs_ready(struct brk_conn *c, struct kp_request *req,
                            struct brk_kafka_logs *logs)
{
    const struct kp_fetch_req *fr = req->msg;
    struct brk_server *srv = brk_conn_server(c);
    int32_t total = 0;
    for (int32_t i = 0; i < fr->topics.n; i++)
        total += fr->topics.v[i].partitions.n;
    if (brk__kafka_logs_init(logs, &req->arena, total) != 0)
        return -ENOMEM;
    for (int32_t i = 0; i < fr->topics.n; i++) {
        const struct kp_fetch_req_topic *t = &fr->topics.v[i];
        struct part_topic *pt = NULL;
        if (topic_of(srv, req->hdr.request_api_version, t, &pt) != KP_ERR_NONE)
            pt = NULL;
        struct kc_slice name = pt ? kp_slice_str(part_topic_name(pt)) : t->topic;
        if (pt && !brk_authorize_quiet(c, SEC_OP_READ, SEC_RES_TOPIC, (const char *)name.p,
                                       (size_t)name.len))
            pt = NULL; /* refused below: never opened */
        for (int32_t j = 0; j < t->partitions.n; j++)
            logs->v[logs->n++] = pt ? part_topic_log(pt, t->partitions.v[j].partition) : NULL;
    }
    return brk__kafka_logs_ready(c, logs, -1);
}

/* Not enough yet: park the request with its own copy of the frame (expanded again, for
 * an incremental Fetch), watching from where f's reads left off. The park takes over f's
 * session lease (f->fs->s NULL), unless this fails. */
static int fetch_park(struct brk_conn *c, const uint8_t *body, size_t len,
                      const struct fetch *f, int64_t wait_ms)
{
    struct kfetch *kf = calloc(1, sizeof(*kf));
    int rc = kf ? 0 : -ENOMEM;
    if (rc == 0 && !(kf->watches = calloc((size_t)f->n + 1, sizeof(*kf->watches))))
        rc = -ENOMEM;
    if (rc == 0)
        kf->fs = *f->fs;
    if (rc == 0 && (rc = brk__kafka_redecode(body, len, &kf->frame, &kf->req)) == 0 &&
        (rc = brk__kafka_fs_expand(&kf->fs, &kf->req)) == 0 &&
        (rc = fetch_init(&kf->f, &kf->req, c, &kf->fs)) == 0)
        rc = brk_park_start(c, &kf->park, &fetch_ops, wait_ms);
    if (rc) {
        if (kf) {
            kp_request_fini(&kf->req);
            free(kf->frame);
            free(kf->watches);
            free(kf);
        }
        kc_log_warn("%s: out of memory parking a Fetch; closing", brk_conn_peer(c));
        return rc;
    }
    f->fs->s = NULL; /* the lease is the park's now */
    for (int32_t k = 0; k < f->n; k++)
        kf->f.p[k].wake = f->p[k].wake;
    kf->deadline_ms = kc_mono_ms() + wait_ms;
    kfetch_watch(kf);
    return 0;
}

int brk__kafka_fetch(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                     size_t len)
{
    const struct kp_fetch_req *fr = req->msg;
    struct brk_kafka_conn *kc = brk_conn_state(c);
    struct brk_kafka_out o = {c, NULL};
    struct brk_kafka_fs fs;
    struct fetch f = {0};
    int64_t wait_ms = KC_MIN(KC_MAX(fr->max_wait_ms, 0), BRK_KAFKA_MAX_WAIT_MS);
    /* The answer's skeleton takes ~250 B per partition named, each 24+ B on the wire: more
     * than the decode limit's 8x for a big request, yet bounded by the frame. */
    req->arena.limit = 0;
    struct brk_kafka_logs logs;
    int rc = fetch_logs_ready(c, req, &logs);
    if (rc <= 0)
        return rc; /* 0: waiting for its logs to open, served again then */
    rc = brk__kafka_fs_begin(c, req, &fs);
    if (rc == 0 && fs.kind == BRK_FSESS_ERROR)
        return brk__kafka_fs_refuse(c, req, fs.error);
    if (rc == 0 && (rc = brk__kafka_fs_expand(&fs, req)) == 0)
        rc = fetch_init(&f, req, c, &fs);
    if (rc) {
        brk__kafka_fs_end(&fs);
        kc_log_warn("%s: out of memory serving a Fetch; closing", brk_conn_peer(c));
        return rc;
    }
    for (int32_t k = 0; fs.kind != BRK_FSESS_INCREMENTAL && k < f.n && k < logs.n; k++)
        f.p[k].open_err = logs.err[k]; /* the same partitions, in the same order */
    fetch_read(&f, brk_conn_server(c));
    if (wait_ms == 0 || brk_conn_draining(c) || enough(&f)) {
        fetch_settle(&f);
        rc = fetch_answer(&o, &kc->scratch, &f);
    } else {
        fetch_release(&f);
        rc = fetch_park(c, body, len, &f, wait_ms);
    }
    fetch_release(&f);
    brk__kafka_fs_end(&fs); /* answered, or not parked (a parked Fetch took the lease) */
    return rc;
}
