/*
 * leader.c - the leader's side: produce checks, follower fetches, the high watermark, the
 * ISR, and the answer to OffsetForLeaderEpoch.
 *
 * What the leader knows of each follower comes only from its fetches:
 *
 *   fetch(offset 40, durable 38) at t=1000, our LEO 45
 *      leo 40, durable 38
 *      caught up?  durable >= our LEO now (45)               no
 *                  durable >= our LEO at its previous fetch   if that was <= 38: caught up
 *                                                              as of that fetch's time
 *      last_fetch_leader_leo 45, last_fetch_ms 1000
 *
 * That is Kafka's lastCaughtUpTime rule (Replica.updateFetchState), with the durable
 * offset where Kafka has the fetch offset: a follower that keeps fetching but never gets
 * its copy to disk falls out of the ISR instead of holding every acks=all produce back.
 *
 *   HW      = max(HW, min(our durable, each maximal-ISR member's durable))
 *   shrink  an ISR member not caught up for lag_time_max_ms (tick)
 *   expand  a replica whose durable offset reached the HW and the start of our epoch
 *           (the second condition: committed records between our HW and our LEO when we
 *           were elected must be on it before it may be elected after us)
 *
 * ISR changes are proposals (rp->proposal, REPL_FX_ISR) that take effect only when the
 * controller's committed state comes back through repl_replica_apply. While one is in
 * flight no other is made, and the HW counts the member being added (the "maximal ISR":
 * stricter, so safe whichever way the proposal ends). A refused addition is not proposed
 * again for REPL_EXPAND_RETRY_MS, and the refusal itself computes the HW again.
 */
#include <string.h>

#include "kc_common.h"
#include "repl_int.h"
#include "repl_params.h"
#include "repl_replica.h"

int repl_leader_maximal_isr(const struct repl_replica *rp, int32_t *out)
{
    int n = 0;
    for (int i = 0; i < rp->ps.nisr; i++)
        out[n++] = rp->ps.isr[i];
    if (!rp->pending)
        return n;
    for (int i = 0; i < rp->proposal.nisr; i++) {
        int32_t id = rp->proposal.isr[i];
        if (!repl_pstate_in_isr(&rp->ps, id) && n < REPL_MAX_REPLICAS)
            out[n++] = id;
    }
    return n;
}

void repl__leader_update_hw(struct repl_replica *rp)
{
    int32_t isr[REPL_MAX_REPLICAS];
    int n = repl_leader_maximal_isr(rp, isr);
    int64_t hw = rp->durable;
    for (int i = 0; i < n; i++) {
        if (isr[i] == rp->self)
            continue;
        const struct repl_peer *pr = repl__peer(rp, isr[i]);
        hw = KC_MIN(hw, pr ? pr->durable : -1);
    }
    if (hw > rp->hw) { /* never backwards */
        rp->hw = hw;
        rp->fx |= REPL_FX_HW;
    }
}

int repl_leader_prepare(const struct repl_replica *rp, int acks, int32_t count,
                        struct repl_batch *b)
{
    if (acks != 0 && acks != 1 && acks != -1)
        return REPL_INVALID_REQUIRED_ACKS;
    if (count < 1)
        return REPL_INVALID_REQUEST;
    if (rp->role != REPL_ROLE_LEADER)
        return REPL_NOT_LEADER_OR_FOLLOWER;
    /* Our log lost a tail a follower may hold (leader_cut): nothing takes those offsets
     * in this epoch, where the lost records and the new ones would look alike. */
    if (rp->epoch_wanted)
        return REPL_NOT_ENOUGH_REPLICAS;
    /* Refuse before writing: an ISR this small could not keep the promise. */
    if (acks == -1 && rp->ps.nisr < rp->cfg.min_insync)
        return REPL_NOT_ENOUGH_REPLICAS;
    *b = (struct repl_batch){rp->leo, count, rp->ps.leader_epoch};
    return 0;
}

int repl_leader_ack(const struct repl_replica *rp, int32_t epoch, int64_t required, int *kerr)
{
    if (rp->role != REPL_ROLE_LEADER || epoch < rp->lead_epoch_first ||
        epoch > rp->ps.leader_epoch) {
        *kerr = REPL_NOT_LEADER_OR_FOLLOWER;
        return 1;
    }
    if (rp->hw < required)
        return 0;
    int32_t isr[REPL_MAX_REPLICAS];
    /* Written and replicated, but the ISR shrank below the minimum while it waited. */
    *kerr = repl_leader_maximal_isr(rp, isr) < rp->cfg.min_insync
                ? REPL_NOT_ENOUGH_REPLICAS_AFTER_APPEND
                : REPL_NONE;
    return 1;
}

/* Kafka's Partition.checkCurrentLeaderEpoch, then "are we the leader at all". */
static int check_epoch(const struct repl_replica *rp, int32_t current_leader_epoch)
{
    if (current_leader_epoch != REPL_UNDEFINED_EPOCH) {
        if (current_leader_epoch < rp->ps.leader_epoch)
            return REPL_FENCED_LEADER_EPOCH;
        if (current_leader_epoch > rp->ps.leader_epoch)
            return REPL_UNKNOWN_LEADER_EPOCH;
    }
    return rp->role == REPL_ROLE_LEADER ? REPL_NONE : REPL_NOT_LEADER_OR_FOLLOWER;
}

int repl_leader_epoch_end(const struct repl_replica *rp, const struct repl_epoch_query *q,
                          struct repl_epoch_end *out)
{
    int kerr = check_epoch(rp, q->current_leader_epoch);
    if (kerr)
        return kerr;
    *out = repl_epoch_cache_end_offset(&rp->epochs, q->epoch, rp->leo);
    return REPL_NONE;
}

void repl__leader_want_epoch(struct repl_replica *rp)
{
    if (rp->role != REPL_ROLE_LEADER || !rp->epoch_wanted || rp->pending)
        return;
    struct repl_isr_change *c = &rp->proposal;
    *c = (struct repl_isr_change){.leader = rp->self, .leader_epoch = rp->ps.leader_epoch,
                                  .partition_epoch = rp->ps.partition_epoch,
                                  .nisr = rp->ps.nisr, .new_epoch = true};
    memcpy(c->isr, rp->ps.isr, (size_t)rp->ps.nisr * sizeof(c->isr[0]));
    rp->pending = true;
    rp->fx |= REPL_FX_ISR;
}

/* Propose adding `id` to the ISR. */
static void propose_expand(struct repl_replica *rp, int32_t id)
{
    struct repl_isr_change *c = &rp->proposal;
    *c = (struct repl_isr_change){.leader = rp->self, .leader_epoch = rp->ps.leader_epoch,
                                  .partition_epoch = rp->ps.partition_epoch};
    for (int i = 0; i < rp->ps.nisr; i++)
        c->isr[c->nisr++] = rp->ps.isr[i];
    c->isr[c->nisr++] = id;
    rp->pending = true;
    rp->fx |= REPL_FX_ISR;
}

static void maybe_expand(struct repl_replica *rp, const struct repl_peer *pr, int64_t now_ms)
{
    if (rp->pending || repl_pstate_in_isr(&rp->ps, pr->id) || now_ms < pr->expand_after_ms)
        return;
    if (pr->durable >= rp->hw && pr->durable >= rp->epoch_start)
        propose_expand(rp, pr->id);
}

/* Record a fetch the leader is answering (Kafka's Replica.updateFetchState). */
static void update_peer(struct repl_replica *rp, struct repl_peer *pr,
                        const struct repl_fetch_req *req, int64_t now_ms)
{
    if (req->durable_offset >= rp->leo)
        pr->last_caught_up_ms = KC_MAX(pr->last_caught_up_ms, now_ms);
    else if (pr->last_fetch_leader_leo >= 0 && req->durable_offset >= pr->last_fetch_leader_leo)
        pr->last_caught_up_ms = KC_MAX(pr->last_caught_up_ms, pr->last_fetch_ms);
    pr->leo = req->fetch_offset;
    pr->durable = req->durable_offset;
    pr->last_fetch_leader_leo = KC_MAX(pr->last_fetch_leader_leo, rp->leo);
    pr->last_fetch_ms = now_ms;
}

/* The diverging-epoch check (Fetch v12+): does the follower's last epoch end, in our history,
 * before its fetch offset? Returns an error, or 0 with ans->diverging set (epoch -1: no
 * divergence). */
static int check_divergence(const struct repl_replica *rp, const struct repl_fetch_req *req,
                            struct repl_fetch_ans *ans)
{
    ans->diverging = (struct repl_epoch_end){REPL_UNDEFINED_EPOCH, REPL_UNDEFINED_OFFSET};
    if (req->last_fetched_epoch == REPL_UNDEFINED_EPOCH)
        return 0;
    struct repl_epoch_end end =
        repl_epoch_cache_end_offset(&rp->epochs, req->last_fetched_epoch, rp->leo);
    if (end.epoch == REPL_UNDEFINED_EPOCH || end.end_offset == REPL_UNDEFINED_OFFSET)
        return REPL_OFFSET_OUT_OF_RANGE; /* we cannot tell where its history parts */
    if (req->fetch_offset < rp->log_start)
        return REPL_OFFSET_OUT_OF_RANGE;
    if (end.epoch < req->last_fetched_epoch || end.end_offset < req->fetch_offset)
        ans->diverging = end;
    return 0;
}

int repl_leader_fetch(struct repl_replica *rp, const struct repl_fetch_req *req, int64_t now_ms,
                      struct repl_fetch_ans *ans)
{
    memset(ans, 0, sizeof(*ans));
    ans->leader_epoch = req->current_leader_epoch;
    ans->fetch_offset = req->fetch_offset;
    ans->diverging = (struct repl_epoch_end){REPL_UNDEFINED_EPOCH, REPL_UNDEFINED_OFFSET};
    ans->error = check_epoch(rp, req->current_leader_epoch);
    struct repl_peer *pr = NULL;
    if (!ans->error) {
        pr = repl__peer(rp, req->replica_id);
        if (!pr) /* not one of our replicas (yet): the follower should wait and retry */
            ans->error = req->current_leader_epoch != REPL_UNDEFINED_EPOCH
                             ? REPL_UNKNOWN_LEADER_EPOCH
                             : REPL_NOT_LEADER_OR_FOLLOWER;
    }
    if (!ans->error && req->durable_offset > req->fetch_offset)
        ans->error = REPL_INVALID_REQUEST;
    if (!ans->error)
        ans->error = check_divergence(rp, req, ans);
    if (!ans->error && ans->diverging.epoch == REPL_UNDEFINED_EPOCH &&
        (req->fetch_offset < rp->log_start || req->fetch_offset > rp->leo))
        ans->error = REPL_OFFSET_OUT_OF_RANGE;
    /* The answer carries the HW as it was before this fetch counted (as Kafka's does):
     * a follower learns what its own fetch committed one fetch later. */
    ans->leo = rp->leo;
    ans->log_start = rp->log_start;
    ans->hw = rp->hw;
    if (!ans->error && ans->diverging.epoch == REPL_UNDEFINED_EPOCH) {
        /* Only a fetch that reads records moves what we know of the follower. */
        update_peer(rp, pr, req, now_ms);
        maybe_expand(rp, pr, now_ms);
        repl__leader_update_hw(rp);
    }
    return ans->error;
}

void repl_leader_tick(struct repl_replica *rp, int64_t now_ms)
{
    repl__leader_want_epoch(rp); /* a refused request for one is asked again here */
    if (rp->role != REPL_ROLE_LEADER || rp->pending)
        return;
    struct repl_isr_change c = {.leader = rp->self, .leader_epoch = rp->ps.leader_epoch,
                                .partition_epoch = rp->ps.partition_epoch};
    for (int i = 0; i < rp->ps.nisr; i++) {
        int32_t id = rp->ps.isr[i];
        const struct repl_peer *pr = id == rp->self ? NULL : repl__peer(rp, id);
        bool caught_up = id == rp->self ||
                         (pr && (pr->durable >= rp->leo ||
                                 now_ms - pr->last_caught_up_ms <= rp->cfg.lag_time_max_ms));
        if (caught_up)
            c.isr[c.nisr++] = id;
    }
    if (c.nisr == rp->ps.nisr)
        return;
    rp->proposal = c;
    rp->pending = true;
    rp->fx |= REPL_FX_ISR;
}

/*
 * The maximal ISR shrinks back to the committed one, so the HW may move now: a member being
 * added held it at its own durable offset, and may never fetch again (a broker in its
 * controlled shutdown catches up from the new leader, is refused as INELIGIBLE_REPLICA, and
 * exits). Left to the next follower fetch, the HW would wait for a caught-up follower's long
 * poll to expire (replica.fetch.wait.max.ms), and every acks=all produce with it.
 */
int64_t repl__expand_retry_ms(const struct repl_replica *rp)
{
    return KC_MIN(REPL_EXPAND_RETRY_MS, rp->cfg.lag_time_max_ms / 4);
}

void repl_leader_isr_failed(struct repl_replica *rp)
{
    for (int i = 0; rp->pending && i < rp->proposal.nisr; i++) {
        struct repl_peer *pr = repl__peer(rp, rp->proposal.isr[i]);
        if (pr && !repl_pstate_in_isr(&rp->ps, pr->id)) /* the one it would have added */
            pr->expand_after_ms = pr->last_fetch_ms + repl__expand_retry_ms(rp);
    }
    rp->pending = false;
    if (rp->role == REPL_ROLE_LEADER)
        repl__leader_update_hw(rp);
}
