/*
 * follow.c - the follower's half: num.replica.fetchers replica fetchers (broker/kafka/
 * fetcher) per leader broker, fed from the replicas (Kafka's ReplicaFetcherManager). A
 * partition always goes to the same one of its leader's fetchers, picked as Kafka picks
 * (fetcher_index): each fetcher is a thread and a connection of its own, so N of them copy
 * N partitions' rounds at once; one is enough on a machine whose cores the brokers share.
 *
 *   member thread   a replica becomes a follower of L   -> kfr_add to L's fetcher (made on
 *                   it leads, stops, or follows another     first use, remade when L's
 *                                                           endpoint changes) / kfr_remove
 *   fetcher thread  position(tp)   the replica's fetch request: offset = its log end, which
 *                                  is on disk (below); current and last-fetched epochs
 *                   received(tp)   repl_follower_on_fetch decides:
 *                                    TRUNCATE  alog_truncate + repl_replica_truncated (the
 *                                              leader's diverging epoch: KIP-101/279/595,
 *                                              never the high watermark)
 *                                    RESTART_AT alog_restart_at + repl_replica_restarted_at
 *                                              (our end is below the leader's log start:
 *                                              empty, start over there; Kafka's
 *                                              truncateFullyAndStartAt)
 *                                    APPEND    alog_append_replica (the leader's bytes, its
 *                                              offsets and epochs) + repl_replica_appended
 *                                              per batch, then repl_follower_hw
 *                                    NOTHING   an error: this partition pauses for
 *                                              replica.fetch.backoff.ms, then asks again
 *                                              (a leader whose view lags ours: a few ms,
 *                                              pause_ms)
 *                   round_done()   alog_flush of every log appended this round, then
 *                                  repl_replica_durable: the next fetch offset is ON DISK,
 *                                  which is what lets the leader count it (brk_cluster.h)
 *
 * What fsync-before-it-counts costs: every round of a follower waits for one fsync per
 * partition it appended to before it asks for more, so a follower copies at most one
 * round per fsync time; the leader's acks=all producers wait for the slowest ISR member's
 * round trip plus its fsync. Rounds grow with the backlog (a round takes everything the
 * leader has, up to replica.fetch.max.bytes per partition), so under load the fsyncs are
 * amortised over many batches, as the leader's own group commit is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brep_repl.h"

/* ---- the fetcher's ops (its thread) ---------------------------------------------------------- */

static int64_t backoff_ms(const struct brep_fetcher *bf)
{
    return brk_server_config(bf->m->srv)->cluster.replica_fetch_backoff_ms;
}

/* Under rp->mu: how long rp pauses after an error kerr from the leader (0: a local one).
 *
 * The leader answering that it does not lead at our epoch (NOT_LEADER_OR_FOLLOWER,
 * UNKNOWN_LEADER_EPOCH), that our epoch is old (FENCED_LEADER_EPOCH) or that it does not
 * know the partition yet (UNKNOWN_TOPIC_OR_PARTITION: a topic just created) is one of the
 * two views arriving a few milliseconds after the other: the followers of a controlled
 * shutdown ask the new leader before it knows. A whole
 * replica.fetch.backoff.ms (1 s) there is a second in which the HW cannot move and every
 * acks=all produce waits, so those errors are retried after BREP_BEHIND_MS, doubling on
 * each repeat up to the backoff (a view that stays apart costs a few requests). */
static int64_t pause_ms(const struct brep_fetcher *bf, struct brep_rp *rp, int kerr)
{
    int64_t full = backoff_ms(bf);
    if (kerr != REPL_NOT_LEADER_OR_FOLLOWER && kerr != REPL_UNKNOWN_LEADER_EPOCH &&
        kerr != REPL_FENCED_LEADER_EPOCH && kerr != REPL_UNKNOWN_TOPIC_OR_PARTITION)
        return full;
    int64_t ms = (int64_t)BREP_BEHIND_MS << rp->behind;
    rp->behind += rp->behind < 16;
    return KC_MIN(ms, full);
}

static struct brep_rp *tp_rp(struct brep_fetcher *bf, const struct kfr_tp *tp)
{
    return brep__rp_find(bf->m, tp->topic, strlen(tp->topic), tp->partition);
}

/* Under rp->mu: does rp follow bf's leader, loaded? */
static bool follows(const struct brep_rp *rp, const struct brep_fetcher *bf)
{
    return rp->log && rp->r.role == REPL_ROLE_FOLLOWER && rp->r.ps.leader == bf->leader;
}

/* Under rp->mu, a follower not paused: is its log on disk to its end? The last round's
 * fsync may have failed (the log heals itself later: brep__rp_sync_log takes its word) or
 * never run (round_add out of memory): fsync now; a log still failed pauses the partition
 * for replica.fetch.backoff.ms. */
static bool on_disk(struct brep_fetcher *bf, struct brep_rp *rp)
{
    brep__rp_sync_log(rp);
    if (rp->r.durable >= rp->r.leo)
        return true;
    int rc = alog_flush(rp->log);
    if (rc == 0) {
        repl_replica_durable(&rp->r, alog_durable_offset(rp->log));
        return rp->r.durable >= rp->r.leo;
    }
    rp->paused_until_ms = kc_mono_ms() + backoff_ms(bf);
    return false;
}

static bool op_position(void *arg, const struct kfr_tp *tp, struct kfr_position *pos)
{
    struct brep_fetcher *bf = arg;
    struct brep_rp *rp = tp_rp(bf, tp);
    struct repl_fetch_req req;
    bool ok = false;
    if (!rp)
        return false;
    pthread_mutex_lock(&rp->mu);
    if (follows(rp, bf) && kc_mono_ms() >= rp->paused_until_ms &&
        on_disk(bf, rp) && /* fetch only from what is on disk */
        repl_follower_next(&rp->r, true) == REPL_NEXT_FETCH) {
        repl_follower_fetch_req(&rp->r, &req);
        *pos = (struct kfr_position){req.fetch_offset, req.current_leader_epoch,
                                     req.last_fetched_epoch, req.log_start_offset, 0};
        rp->sent_offset = req.fetch_offset;
        rp->sent_epoch = req.current_leader_epoch;
        ok = true;
    } else if (follows(rp, bf) && kc_mono_ms() < rp->paused_until_ms) {
        pos->retry_ms = (int32_t)KC_MIN(rp->paused_until_ms - kc_mono_ms(), INT32_MAX);
    }
    if (rp->r.fx)
        brep__rp_kick(rp); /* on_disk's heal (a cut): the checkpoints are the member's */
    pthread_mutex_unlock(&rp->mu);
    return ok;
}

/* Under rp->mu: tell the replica about each whole batch just appended (bytes [0, used)). */
static void batches_appended(struct brep_rp *rp, const uint8_t *p, size_t used)
{
    enum { LEN = 8, EPOCH = 12, LAST_DELTA = 23, HDR = 27 };
    for (size_t at = 0; at + HDR <= used;) {
        int64_t base = (int64_t)kc_load_be64(p + at);
        int32_t epoch = (int32_t)kc_load_be32(p + at + EPOCH);
        int32_t count = (int32_t)kc_load_be32(p + at + LAST_DELTA) + 1;
        struct repl_batch gap = {rp->r.leo, (int32_t)(base - rp->r.leo), epoch};
        struct repl_batch b = {base, count, epoch};
        int rc = 0;
        if (base > rp->r.leo) /* the log filled a compacted gap with an empty batch */
            rc = repl_replica_appended(&rp->r, &gap);
        if (rc == 0)
            rc = repl_replica_appended(&rp->r, &b);
        if (rc)
            kc_log_error("replication: %s-%d: batch at %lld (epoch %d) not taken: %s",
                         rp->topic, (int)rp->partition, (long long)base, (int)epoch,
                         kc_strerror(rc));
        at += 12 + (size_t)kc_load_be32(p + at + LEN);
    }
}

static void round_add(struct brep_fetcher *bf, struct brep_rp *rp)
{
    for (int i = 0; i < bf->nround; i++)
        if (bf->round[i] == rp)
            return;
    if (bf->nround == bf->capround) {
        int cap = bf->capround ? bf->capround * 2 : 16;
        struct brep_rp **r = realloc(bf->round, (size_t)cap * sizeof(*r));
        if (!r)
            return; /* not fsynced this round: position() does it (on_disk) */
        bf->round = r;
        bf->capround = cap;
    }
    bf->round[bf->nround++] = rp;
}

/* Under rp->mu: act on the decision. */
static void decide(struct brep_fetcher *bf, struct brep_rp *rp, const struct kfr_answer *a,
                   const struct repl_decision *d)
{
    size_t used = 0;
    int64_t end = 0;
    int rc = 0;
    switch (d->what) {
    case REPL_DO_TRUNCATE:
        rc = alog_truncate(rp->log, d->offset, &end);
        if (rc == 0)
            rc = repl_replica_truncated(&rp->r, end);
        kc_log_info("replication: %s-%d: truncated to %lld (the leader's history diverged)%s",
                    rp->topic, (int)rp->partition, (long long)end, rc ? ": FAILED" : "");
        break;
    case REPL_DO_RESTART_AT: /* the records we lack are gone at the leader: start over */
        rc = alog_restart_at(rp->log, d->offset);
        if (rc == 0)
            repl_replica_restarted_at(&rp->r, d->offset);
        kc_log_info("replication: %s-%d: our log end %lld is below the leader's log start: "
                    "log emptied, restarted at %lld%s%s", rp->topic, (int)rp->partition,
                    (long long)rp->sent_offset, (long long)d->offset, rc ? ": FAILED: " : "",
                    rc ? kc_strerror(rc) : "");
        break;
    case REPL_DO_APPEND:
        if (a->len > 0)
            rc = alog_append_replica(rp->log, a->batches, a->len, &used, &end);
        if (used > 0)
            batches_appended(rp, a->batches, used);
        if (used > 0 || rp->r.durable < rp->r.leo)
            round_add(bf, rp);
        repl_follower_hw(&rp->r, a->high_watermark);
        if (rc && rc != KC_ENEEDMORE)
            kc_log_warn("replication: %s-%d: cannot append the leader's batches: %s",
                        rp->topic, (int)rp->partition, kc_strerror(rc));
        else
            rc = 0;
        break;
    case REPL_DO_NOTHING:
        break;
    }
    if (rc || (d->what == REPL_DO_NOTHING && a->error))
        rp->paused_until_ms = kc_mono_ms() + pause_ms(bf, rp, rc ? 0 : a->error);
    else
        rp->behind = 0;
}

static void op_received(void *arg, const struct kfr_tp *tp, const struct kfr_answer *a)
{
    struct brep_fetcher *bf = arg;
    struct brep_rp *rp = tp_rp(bf, tp);
    struct repl_decision d;
    struct brep_wait *done = NULL;
    struct alog *fire = NULL;
    if (!rp)
        return;
    pthread_mutex_lock(&rp->mu);
    if (follows(rp, bf)) {
        struct repl_fetch_ans ans = {
            .error = a->error, .leader_epoch = rp->sent_epoch,
            .diverging = {a->diverged ? a->diverging_epoch : REPL_UNDEFINED_EPOCH,
                          a->diverged ? a->diverging_end : REPL_UNDEFINED_OFFSET},
            .fetch_offset = rp->sent_offset,
            .leo = a->high_watermark, /* Fetch does not carry the leader's LEO: its HW is
                                       * a lower bound, used only after an unclean election */
            .hw = a->high_watermark, .log_start = a->log_start_offset};
        int kerr = repl_follower_on_fetch(&rp->r, &ans, &d);
        if (!a->error && a->high_watermark >= 0) /* -1: a log the leader had not open */
            rp->leader_hw_seen = a->high_watermark;
        decide(bf, rp, a, &d);
        if (kerr && kerr != REPL_OFFSET_OUT_OF_RANGE)
            kc_log_info("replication: %s-%d: the leader %d answered error %d (%s): retrying in "
                        "%lld ms", rp->topic, (int)rp->partition, (int)bf->leader, kerr,
                        repl_kerr_name(kerr), (long long)(rp->paused_until_ms - kc_mono_ms()));
        brep__rp_effects(rp, &done, &fire);
    }
    pthread_mutex_unlock(&rp->mu);
    brep__rp_after(done, fire);
}

static void op_round_done(void *arg)
{
    struct brep_fetcher *bf = arg;
    for (int i = 0; i < bf->nround; i++) {
        struct brep_rp *rp = bf->round[i];
        pthread_mutex_lock(&rp->mu);
        if (rp->log) {
            /* Under the mutex: the log stays pinned meanwhile (a release waits), and the
             * only thread that appends to a follower's log is this one. */
            int rc = alog_flush(rp->log);
            if (rc == 0)
                repl_replica_durable(&rp->r, alog_durable_offset(rp->log));
            else
                kc_log_warn("replication: %s-%d: fsync failed: %s", rp->topic,
                            (int)rp->partition, kc_strerror(rc));
            if (rp->r.fx)
                brep__rp_kick(rp);
        }
        pthread_mutex_unlock(&rp->mu);
    }
    bf->nround = 0;
}

static const struct kfr_ops fetcher_ops = {op_position, op_received, op_round_done};

/* ---- the member thread: who fetches what ------------------------------------------------------ */

/* Which of its leader's fetchers serves rp: Kafka's AbstractFetcherManager.getFetcherId,
 * abs(31 * topic.hashCode + partition) % num.replica.fetchers, with Java's String.hashCode
 * (the same for the ASCII of every legal topic name). */
static int fetcher_index(const struct brep *m, const struct brep_rp *rp)
{
    int n = brk_server_config(m->srv)->cluster.num_replica_fetchers;
    uint32_t h = 0;
    for (const char *c = rp->topic; *c; c++)
        h = 31u * h + (uint8_t)*c;
    h = 31u * h + (uint32_t)rp->partition;
    return n > 1 ? (int)((h & 0x7fffffffu) % (uint32_t)n) : 0;
}

static const struct brep_broker *broker_of(const struct brep *m, int32_t id)
{
    for (int i = 0; i < m->nbrokers; i++)
        if (m->brokers[i].id == id)
            return &m->brokers[i];
    return NULL;
}

static void fetcher_free(struct brep_fetcher *bf)
{
    kfr_close(bf->f);
    free(bf->round);
    free(bf);
}

static int fetcher_at(const struct brep_rtable *rt, int32_t id, int index)
{
    int i = 0;
    while (i < rt->nfetchers &&
           (rt->fetchers[i]->leader != id || rt->fetchers[i]->index != index))
        i++;
    return i;
}

/* Fetcher `index` of leader id at its current endpoint: found, remade, or made. NULL when
 * the leader is not live (the next view change tries again) or on failure. */
static struct brep_fetcher *fetcher_for(struct brep *m, int32_t id, int index)
{
    struct brep_rtable *rt = m->rt;
    const struct brep_broker *b = broker_of(m, id);
    int i = fetcher_at(rt, id, index);
    if (i < rt->nfetchers) {
        struct brep_fetcher *bf = rt->fetchers[i];
        if (!b || (strcmp(bf->host, b->host) == 0 && bf->port == b->port))
            return b ? bf : NULL;
        /* the leader came back elsewhere: this fetcher's partitions are added again below */
        for (uint32_t k = 0; k < rt->nb; k++)
            for (struct brep_rp *rp = rt->b[k]; rp; rp = rp->next)
                if (rp->fetching_from == id && fetcher_index(m, rp) == index)
                    rp->fetching_from = -1;
        fetcher_free(bf);
        rt->fetchers[i] = rt->fetchers[--rt->nfetchers];
    }
    if (!b)
        return NULL;
    struct brep_fetcher *bf = calloc(1, sizeof(*bf));
    struct brep_fetcher **v = realloc(rt->fetchers, (size_t)(rt->nfetchers + 1) * sizeof(*v));
    if (v)
        rt->fetchers = v;
    if (!bf || !v) {
        free(bf);
        return NULL;
    }
    bf->leader = id;
    bf->index = index;
    bf->m = m;
    strlcpy(bf->host, b->host, sizeof(bf->host));
    bf->port = b->port;
    const struct brk_cluster_config *cc = &brk_server_config(m->srv)->cluster;
    /* source_host: fetch FROM the address this broker listens on (its first listener's),
     * so its leader, and any firewall between them, sees this broker's own address. */
    struct kfr_config c = {.host = bf->host, .port = bf->port, .replica_id = m->self,
                           .source_host = brk_server_config(m->srv)->bind,
                           .max_wait_ms = (int)cc->replica_fetch_wait_max_ms,
                           .max_bytes = cc->replica_fetch_response_max_bytes,
                           .partition_max_bytes = cc->replica_fetch_max_bytes,
                           .retry_backoff_ms = (int)cc->replica_fetch_backoff_ms,
                           .idle_ms = BREP_BEHIND_MS, /* a paused partition's short retry */
                           .socket_timeout_ms = (int)cc->replica_socket_timeout_ms};
    int rc = kfr_open(&c, &fetcher_ops, bf, &bf->f);
    if (rc) {
        kc_log_warn("replication: cannot start a fetcher from broker %d: %s", (int)id,
                    kc_strerror(rc));
        free(bf);
        return NULL;
    }
    int n = brk_server_config(m->srv)->cluster.num_replica_fetchers;
    if (n > 1)
        kc_log_info("replication: fetching from broker %d at %s:%d (fetcher %d of %d)", (int)id,
                    bf->host, (int)bf->port, index + 1, n);
    else
        kc_log_info("replication: fetching from broker %d at %s:%d", (int)id, bf->host,
                    (int)bf->port);
    rt->fetchers[rt->nfetchers++] = bf;
    return bf;
}

static struct brep_fetcher *fetcher_find(struct brep *m, int32_t id, int index)
{
    int i = fetcher_at(m->rt, id, index);
    return i < m->rt->nfetchers ? m->rt->fetchers[i] : NULL;
}

void brep__follow_role(struct brep *m, struct brep_rp *rp, int32_t leader)
{
    struct kfr_tp tp;
    strlcpy(tp.topic, rp->topic, sizeof(tp.topic));
    tp.partition = rp->partition;
    int index = fetcher_index(m, rp);
    struct brep_fetcher *bf = leader >= 0 ? fetcher_for(m, leader, index) : NULL;
    if (rp->fetching_from >= 0 && (rp->fetching_from != leader || !bf)) {
        struct brep_fetcher *old = fetcher_find(m, rp->fetching_from, index);
        if (old)
            kfr_remove(old->f, &tp);
        rp->fetching_from = -1;
    }
    if (!bf)
        return;
    if (rp->fetching_from != leader) {
        if (kfr_add(bf->f, &tp) != 0)
            return;
        rp->fetching_from = leader;
    }
    kfr_wake(bf->f); /* a new epoch, or a pause to end: ask now */
}

void brep__fetchers_close(struct brep *m)
{
    struct brep_rtable *rt = m->rt;
    for (int i = 0; i < rt->nfetchers; i++)
        fetcher_free(rt->fetchers[i]);
    rt->nfetchers = 0;
    for (uint32_t k = 0; k < rt->nb; k++)
        for (struct brep_rp *rp = rt->b[k]; rp; rp = rp->next)
            rp->fetching_from = -1;
}
