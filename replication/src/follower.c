/*
 * follower.c - the follower's side: what to ask the leader, and where to cut its own log.
 *
 * A follower that has just learnt of a new leader may hold records no one else has: the
 * old leader wrote them, they never reached the HW, and the new leader never saw them.
 * Before KIP-101 (Kafka 0.11) a follower truncated to its high watermark and refetched.
 * That rule lost acknowledged records, because a follower's HW lags the leader's by one
 * fetch (the README draws the case step by step). Now it asks instead:
 *
 *   follower  [0 e1][1 e1][2 e1][3 e2][4 e2]     latest epoch 2, LEO 5
 *   leader    [0 e1][1 e1][2 e1][3 e3][4 e3]...  (it led epoch 3 from offset 3)
 *
 *   OffsetForLeaderEpoch(2) -> leader: "epoch 2? I know epoch 1, it ends at 3" -> (1, 3)
 *   follower: my end of epoch 1 is 3 too -> truncate to min(3, 3, LEO) = 3, done
 *
 * The same question rides on every fetch since Kafka 2.7 (last_fetched_epoch): a leader
 * that finds the follower's last epoch ending before its fetch offset answers with that
 * (epoch, end) as the "diverging epoch" instead of records, and the follower cuts there.
 * When the leader answers with an epoch the follower does not have, the follower can
 * only cut to the end of its own largest epoch below that one and ask again; each round
 * goes back at least one epoch, so it ends.
 */
#include "kc_common.h"
#include "repl_int.h"
#include "repl_replica.h"

enum repl_next repl_follower_next(const struct repl_replica *rp, bool truncate_on_fetch)
{
    if (rp->role != REPL_ROLE_FOLLOWER || rp->ps.leader == REPL_NO_LEADER)
        return REPL_NEXT_IDLE;
    /* An empty cache means an empty log: there is nothing to reconcile. */
    if (rp->truncating && !truncate_on_fetch && rp->epochs.n)
        return REPL_NEXT_EPOCH_QUERY;
    return REPL_NEXT_FETCH;
}

void repl_follower_epoch_query(const struct repl_replica *rp, struct repl_epoch_query *q)
{
    q->current_leader_epoch = rp->ps.leader_epoch;
    q->epoch = repl_epoch_cache_latest(&rp->epochs);
}

void repl_follower_fetch_req(const struct repl_replica *rp, struct repl_fetch_req *req)
{
    req->replica_id = rp->self;
    req->current_leader_epoch = rp->ps.leader_epoch;
    req->last_fetched_epoch = repl_epoch_cache_latest(&rp->epochs);
    req->fetch_offset = rp->leo;
    req->durable_offset = rp->durable;
    req->log_start_offset = rp->log_start;
}

/*
 * Where to cut, given the leader's (epoch, end offset) for our latest epoch (Kafka's
 * AbstractFetcherThread.getOffsetTruncationState). Returns true when that settles it.
 */
static bool truncation_offset(const struct repl_replica *rp, const struct repl_epoch_end *ans,
                              int64_t *offset)
{
    if (ans->epoch == REPL_UNDEFINED_EPOCH || ans->end_offset == REPL_UNDEFINED_OFFSET) {
        /* The leader cannot place our history (Kafka falls back to the HW here). Refetch
         * everything instead: slower, and loses nothing the leader has. */
        *offset = rp->log_start;
        return true;
    }
    struct repl_epoch_end ours = repl_epoch_cache_end_offset(&rp->epochs, ans->epoch, rp->leo);
    if (ours.end_offset == REPL_UNDEFINED_OFFSET) {
        /* Every epoch we hold is newer than the leader's answer: none of it is its. */
        *offset = KC_MIN(ans->end_offset, rp->leo);
        return true;
    }
    if (ours.epoch != ans->epoch) {
        /* We never had the leader's epoch: cut back to the end of our largest older one,
         * then ask again about that. */
        *offset = KC_MIN(ours.end_offset, rp->leo);
        return false;
    }
    *offset = KC_MIN(KC_MIN(ours.end_offset, ans->end_offset), rp->leo);
    return true;
}

static void decide_truncation(struct repl_replica *rp, const struct repl_epoch_end *ans,
                              struct repl_decision *d)
{
    int64_t offset;
    bool done = truncation_offset(rp, ans, &offset);
    rp->truncating = !done;
    if (offset < rp->leo)
        *d = (struct repl_decision){.what = REPL_DO_TRUNCATE, .offset = offset};
    else if (repl_epoch_cache_truncate_end(&rp->epochs, offset) > 0)
        rp->fx |= REPL_FX_EPOCHS; /* no record to cut, but an epoch at our log end the
                                   * leader never had (ours as a leader that wrote nothing,
                                   * kept by leader-epoch-checkpoint): asked about again
                                   * and again, it would stall us; forget it */
}

int repl_follower_on_epoch_end(struct repl_replica *rp, int kerr, const struct repl_epoch_end *ans,
                               struct repl_decision *d)
{
    *d = (struct repl_decision){.what = REPL_DO_NOTHING};
    if (kerr)
        return kerr;
    if (rp->role != REPL_ROLE_FOLLOWER)
        return 0;
    decide_truncation(rp, ans, d);
    return 0;
}

static int out_of_range(struct repl_replica *rp, const struct repl_fetch_ans *ans,
                        struct repl_decision *d)
{
    if (rp->leo > ans->leo) {
        /* Ahead of the leader with no divergence found: only after an unclean election,
         * or a fetch without epochs (the pre-KIP-101 rule). Cut to the leader's end. */
        *d = (struct repl_decision){.what = REPL_DO_TRUNCATE, .offset = ans->leo};
        rp->truncating = false;
    } else if (rp->leo < ans->log_start) {
        *d = (struct repl_decision){.what = REPL_DO_RESTART_AT, .offset = ans->log_start};
        rp->truncating = false;
    }
    return REPL_OFFSET_OUT_OF_RANGE;
}

int repl_follower_on_fetch(struct repl_replica *rp, const struct repl_fetch_ans *ans,
                           struct repl_decision *d)
{
    *d = (struct repl_decision){.what = REPL_DO_NOTHING};
    if (rp->role != REPL_ROLE_FOLLOWER || ans->leader_epoch != rp->ps.leader_epoch)
        return 0; /* an answer for an epoch we have left: it no longer means anything */
    if (ans->error == REPL_OFFSET_OUT_OF_RANGE)
        return out_of_range(rp, ans, d);
    if (ans->error)
        return ans->error;
    if (ans->diverging.epoch != REPL_UNDEFINED_EPOCH) {
        decide_truncation(rp, &ans->diverging, d);
        rp->truncating = false; /* the next fetch checks again with our new latest epoch */
        return 0;
    }
    if (ans->fetch_offset != rp->leo)
        return 0; /* an answer to an older request: our log has moved since */
    /* Records, and no divergence: our log is a prefix of the leader's. */
    rp->truncating = false;
    *d = (struct repl_decision){
        .what = REPL_DO_APPEND, .from = rp->leo, .to = KC_MAX(ans->leo, rp->leo)};
    return 0;
}

void repl_follower_hw(struct repl_replica *rp, int64_t leader_hw)
{
    if (rp->role != REPL_ROLE_FOLLOWER || rp->truncating)
        return;
    int64_t hw = KC_MIN(leader_hw, rp->leo);
    if (hw > rp->hw) {
        rp->hw = hw;
        rp->fx |= REPL_FX_HW;
    }
}
