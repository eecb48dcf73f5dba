/*
 * replica.c - a replica per hosted partition, and the leader's half of Kafka's ISR
 * protocol (the follower's half: follow.c; the rules themselves: replication/).
 *
 *   produce (a loop)      lock; repl_leader_prepare (acks=all and ISR < min.insync: 19,
 *                         nothing written); alog_append_epoch (the batch stamped with the
 *                         leader epoch); repl_replica_appended; unlock; ask the flusher
 *                         for the leader's fsync; acks=all parks on a waiter
 *   flusher               the fsync is done: the member thread is woken, and calls
 *                         repl_replica_durable (the leader's own offset counts only on disk)
 *   a follower's Fetch    lock; repl_leader_fetch: epochs, divergence; its fetch offset
 *   (a loop)              counts as on its disk (its fetcher fsyncs every round before it
 *                         fetches again); the HW may move
 *   the HW moved          every waiter asks repl_leader_ack: answered (0, 20 or 6) or kept;
 *                         long-polling consumers are woken (the log's watches fire)
 *   member thread         partition states (repl_replica_apply), ISR proposals out and
 *                         their answers in, repl_leader_tick every lag/2, waiters' timeouts
 *
 * Loading (the member thread, the first time a partition names this broker): the log is
 * pinned (opened, and never closed by the store's cache while it is a replica), its epochs
 * read from the partition's leader-epoch-checkpoint and its high watermark from the data
 * directory's replication-offset-checkpoint (ckpt.c), both held to the log. Without a
 * usable file, the epochs come from the batches themselves (alog_scan_epochs: one header
 * read per batch; an epoch in which the leader wrote nothing is missed) and the HW starts
 * at the log start (consumers see nothing until the followers confirm the log again).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "brep_ckpt.h"
#include "brep_repl.h"
#include "alog_producer.h"
#include "brk_adapter.h"
#include "brk_metrics.h"

#define BREP_REQUEST_TIMED_OUT 7 /* Kafka's REQUEST_TIMED_OUT: acks=all past its timeout */
#define BREP_SCAN_MS 100          /* while produces wait: every replica visited this often */
#define BREP_UNPINNED_LOG_MS 10000 /* replicas refused a descriptor: one report this often */
#define BREP_FD_RESERVE_MIN 1024   /* descriptors never pinned: connections, checkpoints */

/* ---- the table ------------------------------------------------------------------------------ */

static uint32_t rp_hash(const char *topic, size_t len, int32_t partition)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)topic[i]) * 16777619u;
    return (h ^ (uint32_t)partition) * 16777619u;
}

struct brep_rp *brep__rp_find(struct brep *m, const char *topic, size_t len, int32_t partition)
{
    struct brep_rtable *rt = m->rt;
    struct brep_rp *rp;
    if (!rt)
        return NULL;
    pthread_rwlock_rdlock(&rt->lock);
    for (rp = rt->b[rp_hash(topic, len, partition) & (rt->nb - 1)]; rp; rp = rp->next)
        if (rp->partition == partition && strncmp(rp->topic, topic, len) == 0 &&
            rp->topic[len] == '\0')
            break;
    pthread_rwlock_unlock(&rt->lock);
    return rp;
}

/* Under the write lock: twice the buckets, every replica rehashed (the member thread's
 * walks hold no lock, but it is the one doing this). Lookups on every produce and fetch
 * stay a bucket or two long at 100,000 replicas, not 400. */
static void table_grow(struct brep_rtable *rt)
{
    uint32_t nb = rt->nb * 2;
    struct brep_rp **b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (uint32_t i = 0; i < rt->nb; i++) {
        for (struct brep_rp *rp = rt->b[i], *next; rp; rp = next) {
            next = rp->next;
            uint32_t k = rp_hash(rp->topic, strlen(rp->topic), rp->partition) & (nb - 1);
            rp->next = b[k];
            b[k] = rp;
        }
    }
    free(rt->b);
    rt->b = b;
    rt->nb = nb;
}

static struct brep_rp *rp_add(struct brep *m, const char *topic, int32_t partition)
{
    struct brep_rtable *rt = m->rt;
    struct brep_rp *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return NULL;
    strlcpy(rp->topic, topic, sizeof(rp->topic));
    rp->partition = partition;
    rp->m = m;
    rp->fetching_from = -1;
    pthread_mutex_init(&rp->mu, NULL);
    repl_replica_init(&rp->r, m->self, &rt->cfg);
    pthread_rwlock_wrlock(&rt->lock);
    if (rt->count >= rt->nb)
        table_grow(rt); /* else the chains grow: lookups walk a little more */
    uint32_t b = rp_hash(topic, strlen(topic), partition) & (rt->nb - 1);
    rp->next = rt->b[b];
    rt->b[b] = rp;
    rt->count++;
    pthread_rwlock_unlock(&rt->lock);
    return rp;
}

/* The most replica logs this broker pins open: nine tenths of the store's cache of open
 * logs (log.cache.max.open.files; by default half the open-files limit), the rest left to
 * the logs it opens for a moment (a read of an old segment, a topic it holds no replica
 * of). Pinned logs cannot be closed, so a cache full of them would make every other open
 * search it whole for room, and the process run out of descriptors for its connections;
 * never more than the open-files limit less a tenth (at least BREP_FD_RESERVE_MIN) either. */
static int32_t pin_ceiling(struct brep *m)
{
    struct rlimit rl;
    struct alog_store_info si;
    int64_t soft = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                       ? (int64_t)rl.rlim_cur
                       : INT32_MAX;
    alog_store_info(part_registry_store(brk_server_registry(m->srv)), &si);
    int64_t by_limit = soft - KC_MAX(soft / 10, BREP_FD_RESERVE_MIN);
    int64_t by_cache = si.max_open_files - si.max_open_files / 10;
    return (int32_t)KC_MAX(KC_MIN(KC_MIN(by_limit, by_cache), INT32_MAX), 16);
}

int brep__replicas_open(struct brep *m)
{
    const struct brk_cluster_config *cc = &brk_server_config(m->srv)->cluster;
    struct brep_rtable *rt = calloc(1, sizeof(*rt));
    if (rt && !(rt->b = calloc(BREP_RBUCKETS_MIN, sizeof(*rt->b)))) {
        free(rt);
        rt = NULL;
    }
    if (!rt)
        return -ENOMEM;
    rt->nb = BREP_RBUCKETS_MIN;
    pthread_rwlock_init(&rt->lock, NULL);
    repl_config_default(&rt->cfg);
    rt->cfg.lag_time_max_ms = cc->replica_lag_time_max_ms;
    rt->cfg.min_insync = cc->min_insync_replicas;
    m->rt = rt;
    brep__ckpt_open(m);
    return 0;
}

/* ---- effects -------------------------------------------------------------------------------- */

/* A waiter's answer: the produce's Kafka code, or the internal append's. */
static void wait_answer(struct brep_wait *w, int kerr)
{
    if (w->p)
        w->p->kerr = (int16_t)kerr;
    else
        w->kerr = kerr;
}

/* Under rp->mu: the waiters repl_leader_ack answers now, moved to *done. */
static void waiters_answered(struct brep_rp *rp, struct brep_wait **done, int64_t now_ms)
{
    for (struct brep_wait **pw = &rp->waiters; *pw;) {
        struct brep_wait *w = *pw;
        int kerr = BREP_REQUEST_TIMED_OUT;
        if (!w->cut && repl_leader_ack(&rp->r, w->epoch, w->required, &kerr) == 0) {
            if (now_ms < w->deadline_ms) {
                pw = &w->next;
                continue;
            }
            kerr = BREP_REQUEST_TIMED_OUT;
        }
        wait_answer(w, kerr);
        *pw = w->next;
        w->next = *done;
        *done = w;
        atomic_fetch_sub(&rp->m->rt->nwaiting, 1);
    }
}

static void propose_isr(struct brep_rp *rp)
{
    char isr[REPL_MAX_REPLICAS * 12] = "";
    for (int i = 0; i < rp->r.proposal.nisr; i++)
        snprintf(isr + strlen(isr), sizeof(isr) - strlen(isr), "%s%d", i ? "," : "",
                 (int)rp->r.proposal.isr[i]);
    if (rp->r.proposal.new_epoch)
        kc_log_warn("replication: %s-%d: our log lost records followers may hold: asking for "
                    "a new leader epoch after %d (ISR [%s])", rp->topic, (int)rp->partition,
                    (int)rp->r.ps.leader_epoch, isr);
    else
        kc_log_info("replication: %s-%d: proposing ISR [%s] (was %d members)", rp->topic,
                    (int)rp->partition, isr, rp->r.ps.nisr);
    int64_t id = clu_propose_isr(rp->m->cl, rp->topic, rp->partition, &rp->r.proposal);
    if (id < 0) {
        kc_log_warn("replication: %s-%d: cannot send the ISR proposal: %s", rp->topic,
                    (int)rp->partition, kc_strerror((int)id));
        repl_leader_isr_failed(&rp->r);
    }
}

void brep__rp_effects(struct brep_rp *rp, struct brep_wait **done, struct alog **fire)
{
    unsigned fx = repl_replica_fx(&rp->r);
    if ((fx & REPL_FX_EPOCHS) && rp->log)
        brep__ckpt_epochs_write(rp); /* before anyone acts on the new epoch */
    if (fx & REPL_FX_ISR)
        propose_isr(rp); /* only queues a command for the cluster thread */
    if (fx & (REPL_FX_HW | REPL_FX_ROLE))
        waiters_answered(rp, done, kc_mono_ms());
    if ((fx & REPL_FX_HW) && rp->log)
        alog_set_retain_limit(rp->log, rp->r.hw);
    if ((fx & REPL_FX_HW) && rp->r.role == REPL_ROLE_LEADER)
        *fire = rp->log; /* consumers parked at the old HW look again */
    if ((fx & REPL_FX_ROLE) && rp->log)
        *fire = rp->log; /* and everyone parked here, at a new leader or epoch: so a
                          * follower's idle partition is read again (alog_changes) */
}

void brep__rp_after(struct brep_wait *done, struct alog *fire)
{
    while (done) {
        struct brep_wait *w = done;
        done = w->next;
        if (w->p)
            brk_park_settle(w->park);
        else
            w->fn(w->fn_arg, w->kerr);
        free(w);
    }
    if (fire)
        alog_watch_fire_all(fire);
}

/* ---- the leader: produce --------------------------------------------------------------------- */

/* Under rp->mu: w parks on rp; rp joins the deadline list if it is not on it. */
static void waiter_add(struct brep_rp *rp, struct brep_wait *w)
{
    struct brep_rtable *rt = rp->m->rt;
    rp->waiters = w;
    atomic_fetch_add(&rt->nwaiting, 1);
    if (rp->deadline_listed)
        return;
    rp->deadline_listed = true;
    struct brep_rp *head = atomic_load(&rt->deadline_pushed);
    do
        rp->deadline_next = head;
    while (!atomic_compare_exchange_weak(&rt->deadline_pushed, &head, rp));
}

void brep__rp_kick(struct brep_rp *rp)
{
    struct brep_rtable *rt = rp->m->rt;
    if (!atomic_exchange(&rp->queued, true)) { /* at most once on the stack */
        struct brep_rp *head = atomic_load(&rt->kicked);
        do
            rp->kick_next = head;
        while (!atomic_compare_exchange_weak(&rt->kicked, &head, rp));
    }
    uint64_t one = 1;
    (void)!write(rp->m->wakefd, &one, sizeof(one));
}

/* On the flusher thread: never rp->mu here (see brep_repl.h); the member applies it. */
static void durable_cb(void *arg, int err)
{
    struct brep_rp *rp = arg;
    (void)err; /* a failed fsync: alog_durable_offset stays behind, the HW with it */
    atomic_store(&rp->durable_kick, true);
    brep__rp_kick(rp);
    atomic_fetch_sub(&rp->durable_pending, 1); /* last: close may free rp after it */
}

/* Ask for the leader's fsync of everything below end (group commit: the flusher does one
 * fsync for every waiter it has). Outside rp->mu. */
static void want_durable(struct brep_rp *rp, struct alog *log, int64_t end)
{
    atomic_fetch_add(&rp->durable_pending, 1);
    int rc = alog_wait_durable(log, end, durable_cb, rp);
    if (rc != 0)
        atomic_fetch_sub(&rp->durable_pending, 1); /* no callback will come */
    if (rc == 1) {
        atomic_store(&rp->durable_kick, true);
        brep__rp_kick(rp);
    }
}

/*
 * Under rp->mu: append as leader at the replica's end, where the look before (sync_log) put
 * it. -ESTALE: the log healed in between (a failed fsync; its disk lost the rest) and ends
 * lower now; nothing was written. The replica learns of the cut (sync_log: the followers
 * must hear of it, and a new epoch is asked for), and the produce is refused as one made
 * during that wait would be.
 */
static int append_at_end(struct brep_rp *rp, struct alog *log, uint8_t *batch, size_t len,
                         int32_t epoch, struct alog_appended *a)
{
    int rc = alog_append_epoch_at(log, batch, len, epoch, rp->r.leo, a);
    if (rc == -ESTALE) {
        brep__rp_sync_log(rp);
        if (alog_end_offset(log) != rp->r.leo)
            kc_log_error("replication: %s-%d: the log ends at %lld, its replica at %lld",
                         rp->topic, (int)rp->partition, (long long)alog_end_offset(log),
                         (long long)rp->r.leo);
        return REPL_NOT_ENOUGH_REPLICAS;
    }
    return rc;
}

/* Under rp->mu: write the batch as leader. 0 (p->base_offset, *end), or a Kafka code in
 * p->kerr (1), or < 0 from the log. */
static int leader_append(struct brep_rp *rp, struct brk_produce *p, struct alog *log,
                         int32_t count, struct repl_batch *b, int64_t *end)
{
    struct alog_appended a;
    if (rp->log == log)
        brep__rp_sync_log(rp); /* a heal that cut our log: refused until followers know */
    int kerr = rp->log == log ? repl_leader_prepare(&rp->r, p->acks, count, b)
                              : REPL_NOT_LEADER_OR_FOLLOWER;
    if (kerr) {
        p->kerr = (int16_t)kerr;
        return 1;
    }
    int rc = append_at_end(rp, log, p->batch, p->len, b->epoch, &a);
    if (rc > 0) {
        p->kerr = (int16_t)rc;
        return 1;
    }
    if (rc)
        return rc;
    if (!a.duplicate) {
        b->base_offset = a.base_offset;
        b->count = (int32_t)(a.last_offset - a.base_offset + 1);
        if ((rc = repl_replica_appended(&rp->r, b)) != 0)
            kc_log_error("replication: %s-%d: the log and its replica disagree (%s)",
                         rp->topic, (int)rp->partition, kc_strerror(rc));
    }
    p->base_offset = a.base_offset;
    p->count = count;
    *end = a.last_offset + 1;
    return 0;
}

int brep__repl_produce(void *arg, struct brk_produce *p, struct alog *log,
                       struct brk_park *park, int32_t count)
{
    struct brep *m = arg;
    const char *name = part_topic_name(p->topic);
    struct brep_rp *rp = brep__rp_find(m, name, strlen(name), p->partition);
    struct brep_wait *w = NULL, *done = NULL;
    struct repl_batch b;
    int64_t end = 0;
    struct alog *fire = NULL;
    if (!rp) {
        p->kerr = REPL_NOT_LEADER_OR_FOLLOWER; /* no state yet: not led here */
        return 1;
    }
    if (p->acks == -1 && park && !(w = calloc(1, sizeof(*w))))
        return -ENOMEM;
    pthread_mutex_lock(&rp->mu);
    int rc = leader_append(rp, p, log, count, &b, &end);
    if (rc == 0 && w) {
        int64_t timeout = p->timeout_ms > 0 ? p->timeout_ms : 30000;
        *w = (struct brep_wait){.next = rp->waiters, .p = p, .park = park, .epoch = b.epoch,
                                .required = end, .deadline_ms = kc_mono_ms() + timeout};
        brk_park_hold(park); /* settled by brep__rp_after, whatever ends the wait */
        waiter_add(rp, w);
        w = NULL;
    }
    brep__rp_effects(rp, &done, &fire);
    if (rc == 0 && p->acks == -1 && park)
        waiters_answered(rp, &done, kc_mono_ms()); /* a duplicate below the HW: at once */
    pthread_mutex_unlock(&rp->mu);
    free(w); /* not parked: refused, or failed */
    if (rc == 0)
        want_durable(rp, log, end);
    brep__rp_after(done, fire);
    if (rc)
        return rc;
    return p->acks == -1 && park ? 0 : 1;
}

/*
 * An internal topic's append (the group coordinator's records to __consumer_offsets), as a
 * produce with acks=all: stamped with the leader epoch, counted by the replica, told fn once
 * the HW passes it. The caller holds the offsets store's lock, which fn takes: so the
 * effects are left to the member thread (woken), and fn never runs inside this call.
 */
int brep__repl_internal(void *arg, const struct brk_internal_append *ia)
{
    struct brep *m = arg;
    struct brep_rp *rp = brep__rp_find(m, ia->name, strlen(ia->name), ia->partition);
    struct brep_wait *w = calloc(1, sizeof(*w));
    struct repl_batch b;
    struct alog_appended a;
    if (!w)
        return -ENOMEM;
    if (!rp) {
        free(w);
        return REPL_NOT_LEADER_OR_FOLLOWER;
    }
    pthread_mutex_lock(&rp->mu);
    if (rp->log == ia->log)
        brep__rp_sync_log(rp); /* as leader_append */
    int rc = rp->log == ia->log ? repl_leader_prepare(&rp->r, -1, ia->count, &b)
                                : REPL_NOT_LEADER_OR_FOLLOWER;
    if (rc == 0)
        rc = append_at_end(rp, ia->log, ia->batch, ia->len, b.epoch, &a);
    if (rc == 0) {
        b.base_offset = a.base_offset;
        b.count = (int32_t)(a.last_offset - a.base_offset + 1);
        if (repl_replica_appended(&rp->r, &b) != 0)
            kc_log_error("replication: %s-%d: the log and its replica disagree", rp->topic,
                         (int)rp->partition);
        *w = (struct brep_wait){.next = rp->waiters, .epoch = b.epoch,
                                .required = a.last_offset + 1,
                                .deadline_ms = kc_mono_ms() + ia->timeout_ms, .fn = ia->fn,
                                .fn_arg = ia->fn_arg};
        waiter_add(rp, w);
        *ia->base = a.base_offset;
        *ia->end = a.last_offset + 1;
    }
    pthread_mutex_unlock(&rp->mu);
    if (rc != 0) {
        free(w);
        return rc;
    }
    want_durable(rp, ia->log, *ia->end);
    brep__rp_kick(rp); /* the member thread takes the effects (fn may be due at once) */
    return 0;
}

/* ---- the leader: followers' fetches, consumers' limit -------------------------------------- */

void brep__repl_fetch(void *arg, const char *name, size_t len, int32_t partition,
                      struct brk_replica_fetch *rf)
{
    struct brep_rp *rp = brep__rp_find(arg, name, len, partition);
    struct brep_wait *done = NULL;
    struct alog *fire = NULL;
    rf->error = REPL_NOT_LEADER_OR_FOLLOWER;
    rf->high_watermark = -1;
    rf->diverging_epoch = -1;
    rf->diverging_end = -1;
    rf->idle = false;
    if (!rp)
        return;
    /* The fetch offset is on the follower's disk: its fetcher fsyncs before each fetch. */
    struct repl_fetch_req req = {rf->replica_id, rf->current_leader_epoch,
                                 rf->last_fetched_epoch, rf->fetch_offset, rf->fetch_offset,
                                 rf->log_start_offset};
    struct repl_fetch_ans ans;
    pthread_mutex_lock(&rp->mu);
    if (rp->log) {
        brep__rp_sync_log(rp); /* a heal that lowered our end: this fetch must hear of it */
        rf->error = (int16_t)repl_leader_fetch(&rp->r, &req, kc_mono_ms(), &ans);
        rf->high_watermark = ans.hw;
        rf->diverging_epoch = ans.diverging.epoch;
        rf->diverging_end = ans.diverging.end_offset;
        if (rf->error || rf->diverging_epoch < 0)
            rf->diverging_epoch = -1;
        const struct repl_replica *r = &rp->r;
        rf->idle = rf->error == 0 && rf->diverging_epoch < 0 && r->role == REPL_ROLE_LEADER &&
                   req.fetch_offset == r->leo && r->hw == r->leo &&
                   repl_pstate_in_isr(&r->ps, rf->replica_id);
        brep__rp_effects(rp, &done, &fire);
    }
    pthread_mutex_unlock(&rp->mu);
    brep__rp_after(done, fire);
}

int brep__repl_hw(void *arg, const char *name, size_t len, int32_t partition, int64_t *hw)
{
    struct brep_rp *rp = brep__rp_find(arg, name, len, partition);
    if (!rp)
        return -ENOENT;
    pthread_mutex_lock(&rp->mu);
    int rc = rp->log ? 0 : -ENOENT;
    if (rc == 0)
        *hw = rp->r.hw;
    pthread_mutex_unlock(&rp->mu);
    return rc;
}

/* OffsetForLeaderEpoch: only the leader answers (repl_leader_epoch_end), a consumer
 * (KIP-320) or a follower alike; a follower here says NOT_LEADER_OR_FOLLOWER. */
int brep__repl_epoch_end(void *arg, const char *name, size_t len, int32_t partition,
                         struct brk_epoch_query *q)
{
    struct brep_rp *rp = brep__rp_find(arg, name, len, partition);
    struct repl_epoch_query rq = {q->current_leader_epoch, q->epoch};
    struct repl_epoch_end end = {-1, -1};
    if (!rp)
        return -ENOENT;
    q->error = 0;
    pthread_mutex_lock(&rp->mu);
    int rc = rp->log ? 0 : -ENOENT;
    if (rc == 0)
        q->error = (int16_t)repl_leader_epoch_end(&rp->r, &rq, &end);
    pthread_mutex_unlock(&rp->mu);
    q->end_epoch = q->error ? -1 : end.epoch;
    q->end_offset = q->error ? -1 : end.end_offset;
    return rc;
}

/* ---- the member thread: loading, states, timers --------------------------------------------- */

/* Under rp->mu: pin the log and load the replica from it: the epochs from the partition's
 * leader-epoch-checkpoint (else its batches), the HW from replication-offset-checkpoint
 * (else the log start); repl_replica_load holds both to the log. 0 or -errno. */
static int rp_load(struct brep_rtable *rt, struct brep_rp *rp, struct alog *log)
{
    if (rt->pinned >= rt->pin_max) {
        rt->unpinned++;
        return KC_ENOFILES; /* reported as a sum (unpinned_report), not per partition */
    }
    int rc = alog_pin(log);
    if (rc) {
        rt->unpinned += rc == KC_ENOFILES; /* the process is out of descriptors */
        return rc;
    }
    int64_t start = alog_start_offset(log), hw;
    bool from_file;
    rc = brep__ckpt_load(rp, log, start, &hw, &from_file);
    int64_t leo = alog_end_offset(log);
    if (rc == 0)
        rc = repl_replica_load(&rp->r, start, leo, hw);
    if (rc) {
        alog_unpin(log);
        return rc;
    }
    rt->pinned++;
    rp->log = log;
    alog_set_retain_limit(log, rp->r.hw); /* retention stops at the HW, as Kafka's */
    if (!from_file && rp->r.epochs.n > 0) /* the next start reads the file */
        brep__ckpt_epochs_write(rp);
    kc_log_info("replication: %s-%d loaded: log [%lld, %lld), HW %lld, %d leader epoch%s "
                "(%s)", rp->topic, (int)rp->partition, (long long)start, (long long)leo,
                (long long)rp->r.hw, (int)rp->r.epochs.n, rp->r.epochs.n == 1 ? "" : "s",
                from_file ? REPL_EPOCH_CHECKPOINT : "read from the batches");
    return 0;
}

/* min.insync.replicas for topic pt: its own override, else the broker's. */
static int topic_min_insync(struct brep *m, struct part_topic *pt)
{
    struct brk_tcfg *c = &m->rt->tcfg; /* the member thread's scratch: 16 KiB */
    const char *v = pt && brk_topic_configs(m->srv, pt, c) == 0
                        ? brk_tcfg_get(c, "min.insync.replicas")
                        : NULL;
    int n = v ? atoi(v) : 0;
    return n >= 1 ? n : m->rt->cfg.min_insync;
}

/* Under rp->mu, after a state was applied: a committed ISR change of a partition this
 * broker led before and after (same leader epoch) is counted. */
static void count_isr(struct brep_rtable *rt, const struct brep_rp *rp, bool led,
                      int32_t epoch, int nisr)
{
    if (!led || rp->r.role != REPL_ROLE_LEADER || rp->r.ps.leader_epoch != epoch ||
        rp->r.ps.nisr == nisr)
        return;
    atomic_fetch_add(rp->r.ps.nisr < nisr ? &rt->isr_shrinks : &rt->isr_expands, 1);
}

/* One partition's state to its replica (the member thread); pt is its local topic (NULL:
 * not made yet) and min_insync the topic's, both looked up once per topic by the caller
 * (per partition they cost more than the rest: a registry lookup, a config parse). */
static void rp_apply(struct brep *m, const char *topic, int32_t partition,
                     const struct repl_pstate *ps, struct part_topic *pt, int min_insync)
{
    struct brep_rp *rp = brep__rp_find(m, topic, strlen(topic), partition);
    bool mine = repl_pstate_in_replicas(ps, m->self);
    if (!rp && (!mine || !(rp = rp_add(m, topic, partition))))
        return;
    struct alog *log = pt ? part_topic_log(pt, partition) : NULL;
    struct brep_wait *done = NULL;
    struct alog *fire = NULL;
    pthread_mutex_lock(&rp->mu);
    int rc = 0;
    rp->r.cfg.min_insync = min_insync;
    if (!rp->log && log && mine)
        rc = rp_load(m->rt, rp, log);
    bool led = rp->r.role == REPL_ROLE_LEADER;
    int32_t epoch = rp->r.ps.leader_epoch;
    int nisr = rp->r.ps.nisr;
    if (rc == 0 && rp->log)
        rc = repl_replica_apply(&rp->r, ps, kc_mono_ms());
    count_isr(m->rt, rp, led, epoch, nisr);
    /* An older state of our own leader epoch: what this replica applied already (an ISR
     * change the controller answered, say) is ahead of the note; ours is kept. Routine. */
    if (rc == REPL_INVALID_UPDATE_VERSION)
        kc_log_debug("replication: %s-%d: state at partition epoch %d is older than ours: "
                     "kept ours", topic, (int)partition, (int)ps->partition_epoch);
    else if (rc != 0 && rc != KC_ENOFILES)
        kc_log_warn("replication: %s-%d: cannot take the state at leader epoch %d: %s", topic,
                    (int)partition, (int)ps->leader_epoch,
                    rc > 0 ? repl_kerr_name(rc) : kc_strerror(rc)); /* a Kafka code, or errno */
    brep__rp_effects(rp, &done, &fire);
    bool follow = rp->log && rp->r.role == REPL_ROLE_FOLLOWER;
    int32_t leader = follow ? rp->r.ps.leader : -1;
    pthread_mutex_unlock(&rp->mu);
    brep__rp_after(done, fire);
    brep__follow_role(m, rp, leader);
}

/* Replicas left without a log for want of descriptors: one line for all of them. */
static void unpinned_report(struct brep_rtable *rt, int64_t now)
{
    if (rt->unpinned == 0 || now < rt->unpinned_log_ms)
        return;
    kc_log_error("replication: %d replica load%s refused: this broker holds %d logs open, the "
                 "most it pins (nine tenths of log.cache.max.open.files, which is half of "
                 "ulimit -n unless set); those partitions are not served here "
                 "(NOT_LEADER_OR_FOLLOWER) until it holds fewer or runs with higher limits",
                 (int)rt->unpinned, rt->unpinned == 1 ? " was" : "s were", (int)rt->pinned);
    rt->unpinned_log_ms = now + BREP_UNPINNED_LOG_MS;
}

void brep__replicas_sync(struct brep *m)
{
    if (m->rt->pin_max == 0) { /* the store is open by the member's first pass */
        m->rt->pin_max = pin_ceiling(m);
        kc_log_info("replication: at most %d replica logs held open", (int)m->rt->pin_max);
    }
    m->rt->unpinned = 0; /* counted again by this pass: each replica without a log once */
    for (int i = 0; i < m->ntopics; i++) {
        const struct brep_topic *t = &m->topics[i];
        if (!t->exists)
            continue; /* __consumer_offsets too: the coordinator appends through brep__repl_internal */
        struct part_topic *pt =
            part_topic_find(brk_server_registry(m->srv), t->name, strlen(t->name));
        int min_insync = topic_min_insync(m, pt);
        for (int32_t p = 0; p < t->npartitions; p++)
            if (t->parts[p].known)
                rp_apply(m, t->name, p, &t->parts[p].ps, pt, min_insync);
    }
    m->rt->synced = true;
    unpinned_report(m->rt, kc_mono_ms());
}

/* A replica whose topic goes: stop fetching, fail its waiters, give its log back. */
static void rp_release(struct brep *m, struct brep_rp *rp)
{
    struct brep_wait *done = NULL;
    brep__follow_role(m, rp, -1);
    pthread_mutex_lock(&rp->mu);
    if (rp->log) {
        alog_unpin(rp->log);
        m->rt->pinned--;
    }
    rp->log = NULL;
    for (struct brep_wait *w; (w = rp->waiters);) {
        rp->waiters = w->next;
        atomic_fetch_sub(&m->rt->nwaiting, 1);
        wait_answer(w, REPL_NOT_LEADER_OR_FOLLOWER);
        w->next = done;
        done = w;
    }
    repl_replica_fini(&rp->r);
    repl_replica_init(&rp->r, m->self, &m->rt->cfg);
    pthread_mutex_unlock(&rp->mu);
    brep__rp_after(done, NULL);
}

void brep__replicas_release_deleted(struct brep *m)
{
    struct brep_rtable *rt = m->rt;
    for (uint32_t b = 0; b < rt->nb; b++)
        for (struct brep_rp *rp = rt->b[b]; rp; rp = rp->next) { /* only we add */
            struct brep_topic *t = brep__topic(m, rp->topic);
            if (rp->log && (!t || !t->exists))
                rp_release(m, rp);
        }
}

void brep__replicas_isr_answer(struct brep *m, const struct clu_answer *a)
{
    struct brep_rp *rp = brep__rp_find(m, a->topic, strlen(a->topic), a->partition);
    struct brep_wait *done = NULL;
    struct alog *fire = NULL;
    if (!rp)
        return;
    pthread_mutex_lock(&rp->mu);
    bool led = rp->r.role == REPL_ROLE_LEADER;
    int32_t epoch = rp->r.ps.leader_epoch;
    int nisr = rp->r.ps.nisr;
    if (a->error == 0 && a->has_state)
        (void)repl_replica_apply(&rp->r, &a->state, kc_mono_ms());
    else if (a->error != 0)
        repl_leader_isr_failed(&rp->r);
    count_isr(m->rt, rp, led, epoch, nisr);
    brep__rp_effects(rp, &done, &fire);
    pthread_mutex_unlock(&rp->mu);
    brep__rp_after(done, fire);
    if (a->error)
        kc_log_info("replication: %s-%d: the controller refused the ISR change: error %d",
                    a->topic, (int)a->partition, a->error);
}

/*
 * Under rp->mu: the log healed from a failed fsync at end, below the replica's end (its
 * disk lost the rest). The replica follows (a leader's followers are told to truncate:
 * leader_cut in replication), and a produce waiting for records past end is answered
 * REQUEST_TIMED_OUT - never acknowledged by the next records that take those offsets.
 * Timed out, not refused: a follower holding them could still be elected with them.
 */
int brep__rp_cut(struct brep_rp *rp, int64_t end)
{
    kc_log_warn("replication: %s-%d: the log healed from a failed fsync at %lld, below the "
                "replica's end %lld (the disk lost the rest): the replica follows",
                rp->topic, (int)rp->partition, (long long)end, (long long)rp->r.leo);
    for (struct brep_wait *w = rp->waiters; w; w = w->next)
        w->cut = w->cut || w->required > end;
    int rc = repl_replica_truncated(&rp->r, end);
    if (rc != 0)
        kc_log_error("replication: %s-%d: the healed end %lld is below the log start",
                     rp->topic, (int)rp->partition, (long long)end);
    return rc;
}

void brep__rp_sync_log(struct brep_rp *rp)
{
    int64_t end = alog_end_offset(rp->log);
    if (end < rp->r.leo)
        (void)brep__rp_cut(rp, end);
    repl_replica_durable(&rp->r, alog_durable_offset(rp->log));
}

/* One replica's turn: its fsyncs and heals, its ISR timer, its waiters' deadlines. */
static void rp_step(struct brep_rp *rp, bool tick, int64_t now)
{
    struct brep_wait *done = NULL;
    struct alog *fire = NULL;
    bool kick = atomic_exchange(&rp->durable_kick, false);
    pthread_mutex_lock(&rp->mu);
    if (rp->log && (kick || tick))
        brep__rp_sync_log(rp);
    if (rp->log && tick && rp->r.role == REPL_ROLE_LEADER)
        repl_leader_tick(&rp->r, now);
    brep__rp_effects(rp, &done, &fire);
    if (rp->waiters)
        waiters_answered(rp, &done, now); /* the deadlines */
    pthread_mutex_unlock(&rp->mu);
    brep__rp_after(done, fire);
}

/* The replicas that asked for a turn (brep__rp_kick), each once. */
static void step_kicked(struct brep_rtable *rt, int64_t now)
{
    struct brep_rp *rp = atomic_exchange(&rt->kicked, NULL);
    while (rp) {
        struct brep_rp *next = rp->kick_next; /* before it may be pushed again */
        atomic_store(&rp->queued, false);
        rp_step(rp, false, now);
        rp = next;
    }
}

/* Under nothing: does rp still have waiters? If not it leaves the deadline list (a
 * waiter parked later pushes it again). */
static bool deadline_keep(struct brep_rp *rp)
{
    pthread_mutex_lock(&rp->mu);
    bool keep = rp->waiters != NULL;
    if (!keep)
        rp->deadline_listed = false; /* from here its link is a pusher's again */
    pthread_mutex_unlock(&rp->mu);
    return keep;
}

/* The replicas with waiters, for their deadlines: those pushed since, then the member's
 * list, each visited once; the ones left without waiters dropped. */
static void step_deadlines(struct brep_rtable *rt, int64_t now)
{
    struct brep_rp *rp = atomic_exchange(&rt->deadline_pushed, NULL), **pp = &rt->deadlines;
    while (rp) { /* the popped stack goes in front of the member's list */
        struct brep_rp *next = rp->deadline_next;
        rp->deadline_next = rt->deadlines;
        rt->deadlines = rp;
        rp = next;
    }
    while ((rp = *pp) != NULL) {
        struct brep_rp *next = rp->deadline_next; /* read while it is still ours */
        rp_step(rp, false, now);
        if (deadline_keep(rp))
            pp = &rp->deadline_next;
        else
            *pp = next;
    }
}

int brep__replicas_step(struct brep *m)
{
    struct brep_rtable *rt = m->rt;
    int64_t now = kc_mono_ms();
    bool tick = now >= rt->next_tick_ms;
    if (tick)
        rt->next_tick_ms = now + KC_MAX(rt->cfg.lag_time_max_ms / 2, 1);
    step_kicked(rt, now);
    bool waiting = atomic_load(&rt->nwaiting) > 0;
    if (tick) {
        for (uint32_t b = 0; b < rt->nb; b++)
            for (struct brep_rp *rp = rt->b[b]; rp; rp = rp->next)
                rp_step(rp, tick, now);
    }
    if (tick || (waiting && now >= rt->next_scan_ms)) {
        rt->next_scan_ms = now + BREP_SCAN_MS;
        step_deadlines(rt, now);
    }
    brep__ckpt_hw_step(m, now, false);
    /* the waiters' deadlines: at most BREP_SCAN_MS late; else the tick, or a second */
    int64_t next = waiting ? rt->next_scan_ms : KC_MIN(rt->next_tick_ms, now + 1000);
    return (int)KC_MAX(next - now, 1);
}

/* ---- /metrics ------------------------------------------------------------------------------ */

static void gauge(const struct brk_metrics_visitor *v, const char *name, const char *help,
                  enum brk_metric_type type, double value)
{
    v->family(v->arg, name, help, type);
    v->sample(v->arg, NULL, 0, value);
}

void brep__repl_metrics(void *arg, const struct brk_metrics_visitor *v)
{
    struct brep *m = arg;
    struct brep_rtable *rt = m->rt;
    int under = 0, led = 0;
    int64_t max_lag = 0;
    if (!rt)
        return;
    pthread_rwlock_rdlock(&rt->lock);
    for (uint32_t b = 0; b < rt->nb; b++) {
        for (struct brep_rp *rp = rt->b[b]; rp; rp = rp->next) {
            pthread_mutex_lock(&rp->mu);
            if (rp->log && rp->r.role == REPL_ROLE_LEADER) {
                led++;
                under += rp->r.ps.nisr < rp->r.ps.nreplicas;
            } else if (rp->log && rp->r.role == REPL_ROLE_FOLLOWER) {
                max_lag = KC_MAX(max_lag, rp->leader_hw_seen - rp->r.leo);
            }
            pthread_mutex_unlock(&rp->mu);
        }
    }
    pthread_rwlock_unlock(&rt->lock);
    gauge(v, "kafka_server_replicamanager_leadercount",
          "Partitions this broker leads (Kafka's LeaderCount).", BRK_GAUGE, led);
    gauge(v, "kafka_server_replicamanager_underreplicatedpartitions",
          "Partitions led here whose ISR is smaller than their replica set "
          "(Kafka's UnderReplicatedPartitions).", BRK_GAUGE, under);
    gauge(v, "kafka_server_replicamanager_isrshrinks_total",
          "Committed ISR shrinks of partitions led here (Kafka's IsrShrinksPerSec).",
          BRK_COUNTER, (double)atomic_load(&rt->isr_shrinks));
    gauge(v, "kafka_server_replicamanager_isrexpands_total",
          "Committed ISR expansions of partitions led here (Kafka's IsrExpandsPerSec).",
          BRK_COUNTER, (double)atomic_load(&rt->isr_expands));
    gauge(v, "kafka_server_replicafetchermanager_maxlag",
          "Largest lag in records of a partition followed here: the leader's high watermark "
          "in its last answer minus this log's end (Kafka's MaxLag).", BRK_GAUGE,
          (double)max_lag);
}

void brep__replicas_close(struct brep *m)
{
    struct brep_rtable *rt = m->rt;
    if (!rt)
        return;
    brep__fetchers_close(m);
    brep__ckpt_hw_step(m, kc_mono_ms(), true); /* clean shutdown: the HWs as they are */
    for (uint32_t b = 0; b < rt->nb; b++)
        for (struct brep_rp *rp = rt->b[b]; rp; rp = rp->next)
            rp_release(m, rp);
    bool leak = false;
    for (uint32_t b = 0; b < rt->nb; b++) {
        for (struct brep_rp *rp = rt->b[b], *next; rp; rp = next) {
            next = rp->next;
            for (int i = 0; i < 5000 && atomic_load(&rp->durable_pending) > 0; i++)
                usleep(1000); /* the flusher's callbacks still to come point here */
            if (atomic_load(&rp->durable_pending) > 0) {
                leak = true; /* never free what a callback may still touch */
                continue;
            }
            repl_replica_fini(&rp->r);
            pthread_mutex_destroy(&rp->mu);
            free(rp);
        }
    }
    if (leak)
        kc_log_warn("replication: fsync callbacks still pending at close: replicas kept");
    brep__ckpt_close(m);
    pthread_rwlock_destroy(&rt->lock);
    free(rt->fetchers);
    free(rt->b);
    free(rt);
    m->rt = NULL;
}
