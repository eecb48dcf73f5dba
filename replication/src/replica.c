/*
 * replica.c - a partition replica's life: partition states from the controller, and what
 * happens to the local log (appends, fsyncs, truncations).
 *
 * Role changes, as Kafka's Partition.makeLeader / makeFollower do them:
 *
 *   apply(state: leader = me, epoch 7)       apply(state: leader = 2, epoch 7)
 *     epoch cache += (7, LEO)                  truncating = true: our log may hold
 *       BEFORE anything is written in it:        records the new leader never had;
 *       a follower asking about an epoch we      they must go (OffsetForLeaderEpoch or
 *       never saw gets our LEO as its end        the fetch's diverging epoch say where)
 *     epoch_start = LEO                        HW kept: it only ever covered records
 *     followers: LEO/durable unknown until       every ISR member had on disk
 *       they fetch; in-ISR ones "caught up"
 *       now, the others never
 *
 * A state in the same leader epoch is an ISR change: a proposal of ours committed, or
 * the controller removing a member it fenced. It never changes who leads.
 *
 * A leader's disk that lost a tail (leader_cut) asks for a new epoch with itself as leader:
 * the only new epoch that keeps a leader leading, and the one case where a produce it
 * parked in the older epoch may still be answered from the HW (lead_epoch_first).
 */
#include <errno.h>
#include <string.h>

#include "kc_common.h"
#include "repl_int.h"
#include "repl_params.h"
#include "repl_replica.h"

void repl_config_default(struct repl_config *cfg)
{
    cfg->lag_time_max_ms = REPL_LAG_TIME_MAX_MS_DEFAULT;
    cfg->min_insync = REPL_MIN_INSYNC_DEFAULT;
}

bool repl_pstate_in_isr(const struct repl_pstate *ps, int32_t id)
{
    for (int i = 0; i < ps->nisr; i++)
        if (ps->isr[i] == id)
            return true;
    return false;
}

bool repl_pstate_in_replicas(const struct repl_pstate *ps, int32_t id)
{
    for (int i = 0; i < ps->nreplicas; i++)
        if (ps->replicas[i] == id)
            return true;
    return false;
}

void repl_replica_init(struct repl_replica *rp, int32_t self, const struct repl_config *cfg)
{
    memset(rp, 0, sizeof(*rp));
    rp->self = self;
    rp->cfg = *cfg;
    rp->role = REPL_ROLE_NONE;
    rp->ps.leader = REPL_NO_LEADER;
    rp->ps.leader_epoch = REPL_UNDEFINED_EPOCH;
    rp->ps.partition_epoch = -1;
    repl_epoch_cache_init(&rp->epochs);
}

void repl_replica_fini(struct repl_replica *rp)
{
    repl_epoch_cache_fini(&rp->epochs);
}

int repl_replica_load(struct repl_replica *rp, int64_t log_start, int64_t leo, int64_t hw)
{
    if (log_start < 0 || leo < log_start)
        return -EINVAL;
    rp->log_start = log_start;
    rp->leo = leo;
    rp->durable = leo;
    rp->hw = KC_MAX(log_start, KC_MIN(hw, leo));
    /* An epoch that starts AT the log end is kept: a leader elected with no batch written
     * since (leader-epoch-checkpoint has it; no batch does). Past the end: a lost tail. */
    int a = repl_epoch_cache_truncate_end(&rp->epochs, leo + 1);
    int b = repl_epoch_cache_truncate_start(&rp->epochs, log_start);
    if (a > 0 || b > 0)
        rp->fx |= REPL_FX_EPOCHS;
    return 0;
}

struct repl_peer *repl__peer(struct repl_replica *rp, int32_t id)
{
    for (int i = 0; i < rp->npeers; i++)
        if (rp->peers[i].id == id)
            return &rp->peers[i];
    return NULL;
}

void repl__leader_reset_peers(struct repl_replica *rp, int64_t now_ms)
{
    rp->npeers = 0;
    for (int i = 0; i < rp->ps.nreplicas; i++) {
        int32_t id = rp->ps.replicas[i];
        if (id == rp->self)
            continue;
        /* An ISR member counts as caught up now, so it gets a full lag period to fetch
         * from us before it can be dropped; the others have to earn it. */
        rp->peers[rp->npeers++] = (struct repl_peer){
            .id = id,
            .leo = -1,
            .durable = -1,
            .last_caught_up_ms = repl_pstate_in_isr(&rp->ps, id) ? now_ms : 0,
            .last_fetch_ms = 0,
            .last_fetch_leader_leo = -1,
        };
    }
}

/* A state is well formed: replicas distinct and bounded, ISR a non-empty subset, and a
 * leader (if any) in the ISR. */
bool repl__pstate_valid(const struct repl_pstate *ps)
{
    if (ps->nreplicas < 1 || ps->nreplicas > REPL_MAX_REPLICAS || ps->nisr < 1 ||
        ps->nisr > ps->nreplicas || ps->leader_epoch < 0 || ps->partition_epoch < 0)
        return false;
    for (int i = 0; i < ps->nreplicas; i++)
        for (int j = 0; j < i; j++)
            if (ps->replicas[i] == ps->replicas[j])
                return false;
    for (int i = 0; i < ps->nisr; i++) {
        if (!repl_pstate_in_replicas(ps, ps->isr[i]))
            return false;
        for (int j = 0; j < i; j++)
            if (ps->isr[i] == ps->isr[j])
                return false;
    }
    return ps->leader == REPL_NO_LEADER || repl_pstate_in_isr(ps, ps->leader);
}

/* Why a state must be ignored (0: it may be applied). */
static int pstate_fenced(const struct repl_replica *rp, const struct repl_pstate *ps)
{
    if (ps->controller_epoch < rp->controller_epoch)
        return REPL_STALE_CONTROLLER_EPOCH;
    if (ps->leader_epoch < rp->ps.leader_epoch)
        return REPL_FENCED_LEADER_EPOCH;
    if (ps->leader_epoch == rp->ps.leader_epoch && ps->partition_epoch < rp->ps.partition_epoch)
        return REPL_INVALID_UPDATE_VERSION;
    if (ps->leader_epoch == rp->ps.leader_epoch && ps->leader != rp->ps.leader)
        return REPL_FENCED_LEADER_EPOCH; /* two leaders for one epoch: refuse the second */
    return 0;
}

/* Assign the new epoch first: the one step that can fail (-ENOMEM) comes before any
 * state changes, so a failed apply leaves the replica as it was. */
static int become_leader(struct repl_replica *rp, const struct repl_pstate *ps, int64_t now_ms)
{
    /* The commit point of leadership on this replica: the new epoch starts at our LEO. */
    int rc = repl_epoch_cache_assign(&rp->epochs, ps->leader_epoch, rp->leo);
    if (rc < 0)
        return rc;
    if (rc > 0)
        rp->fx |= REPL_FX_EPOCHS;
    /* The next epoch we asked for keeps us leading (leader_cut); any other is a new
     * leadership, which never answers a produce of an older one. */
    bool ours = rp->role == REPL_ROLE_LEADER && rp->epoch_wanted &&
                ps->leader_epoch == rp->ps.leader_epoch + 1;
    if (!ours)
        rp->lead_epoch_first = ps->leader_epoch;
    rp->epoch_wanted = false;
    rp->ps = *ps;
    rp->role = REPL_ROLE_LEADER;
    rp->epoch_start = rp->leo;
    rp->truncating = false;
    repl__leader_reset_peers(rp, now_ms);
    repl__leader_update_hw(rp); /* the ISR may be just us */
    return 0;
}

int repl_replica_apply(struct repl_replica *rp, const struct repl_pstate *ps, int64_t now_ms)
{
    if (!repl__pstate_valid(ps))
        return -EINVAL;
    int kerr = pstate_fenced(rp, ps);
    if (kerr)
        return kerr;
    if (ps->leader_epoch == rp->ps.leader_epoch && ps->partition_epoch == rp->ps.partition_epoch)
        return 0; /* seen already */
    bool new_epoch = ps->leader_epoch != rp->ps.leader_epoch;
    bool replica = repl_pstate_in_replicas(ps, rp->self);
    if (new_epoch && replica && ps->leader == rp->self) {
        int rc = become_leader(rp, ps, now_ms);
        if (rc < 0)
            return rc;
    } else {
        rp->ps = *ps;
    }
    rp->controller_epoch = KC_MAX(rp->controller_epoch, ps->controller_epoch);
    rp->pending = false; /* any proposal in flight is answered, or moot, now */
    if (!new_epoch) {    /* an ISR change in our epoch: who leads is unchanged */
        if (rp->role == REPL_ROLE_LEADER) {
            repl__leader_update_hw(rp);
            repl__leader_want_epoch(rp); /* asked from the state before: ask again */
        }
        if (!replica)
            rp->role = REPL_ROLE_NONE;
        return 0;
    }
    rp->fx |= REPL_FX_ROLE;
    if (ps->leader != rp->self || !replica)
        rp->epoch_wanted = false; /* the next leader's epoch is new to every lost record */
    if (!replica || ps->leader == REPL_NO_LEADER) {
        rp->role = REPL_ROLE_NONE; /* not ours, or offline: nobody to follow for now */
        rp->truncating = true;
        rp->npeers = 0;
    } else if (ps->leader != rp->self) {
        rp->role = REPL_ROLE_FOLLOWER;
        rp->truncating = true; /* our tail may be a history the new leader never had */
        rp->npeers = 0;
    }
    return 0;
}

/* Is our latest epoch one with no record in our log - begun at our end, as a leader's
 * (elected, or cut below its start: leader_cut) - that a leader's older batch may replace? */
static bool latest_epoch_empty(const struct repl_replica *rp)
{
    const struct repl_epoch_cache *c = &rp->epochs;
    return rp->role == REPL_ROLE_FOLLOWER && c->n && c->v[c->n - 1].start_offset >= rp->leo;
}

int repl_replica_check_batch(const struct repl_replica *rp, const struct repl_batch *b)
{
    if (b->base_offset != rp->leo)
        return KC_EOFFSET;
    /* An older epoch than our latest is a history we never had - unless our latest holds
     * nothing: then the leader's records at our end are simply older (Kafka's cache drops
     * such an entry on assign, as _appended does here). */
    bool older = b->epoch < repl_epoch_cache_latest(&rp->epochs) && !latest_epoch_empty(rp);
    if (b->count < 1 || b->epoch < 0 || older || b->epoch > rp->ps.leader_epoch)
        return KC_EMALFORMED;
    if (rp->role == REPL_ROLE_LEADER && b->epoch != rp->ps.leader_epoch)
        return KC_EMALFORMED;
    return 0;
}

int repl_replica_appended(struct repl_replica *rp, const struct repl_batch *b)
{
    int rc = repl_replica_check_batch(rp, b);
    if (rc < 0)
        return rc;
    rc = repl_epoch_cache_assign(&rp->epochs, b->epoch, b->base_offset);
    if (rc < 0)
        return rc;
    if (rc > 0)
        rp->fx |= REPL_FX_EPOCHS;
    rp->leo += b->count;
    return 0;
}

void repl_replica_durable(struct repl_replica *rp, int64_t offset)
{
    int64_t d = KC_MIN(offset, rp->leo);
    if (d <= rp->durable)
        return;
    rp->durable = d;
    if (rp->role == REPL_ROLE_LEADER)
        repl__leader_update_hw(rp);
}

/*
 * A LEADER's log lost its tail (its disk did not keep what a failed fsync left in memory;
 * appendLog's heal cut it). Followers fetch from the leader's memory, not its disk, so one
 * may hold the lost records. In this epoch nothing more is written: a follower fetching
 * past the cut with this epoch as its last is told to truncate to it (our epoch ends at our
 * LEO now). The next records go into a NEW epoch, asked of the controller (new_epoch), so
 * that any replica still holding lost records - one out of the ISR, one we never hear from
 * again before another leads - sees its history part from every later leader's at the cut.
 * What a follower reported past the cut is not our copy: it stops counting.
 */
static int leader_cut(struct repl_replica *rp, int64_t offset)
{
    /* Our epoch goes on until the new one comes. If it began past the cut, the cut took its
     * entry: it begins at the cut now, as an epoch with nothing written yet does - else a
     * follower asking about it would hear "never heard of it", and start over from zero. */
    if (repl_epoch_cache_latest(&rp->epochs) != rp->ps.leader_epoch) {
        int rc = repl_epoch_cache_assign(&rp->epochs, rp->ps.leader_epoch, offset);
        if (rc < 0)
            return rc;
        rp->fx |= REPL_FX_EPOCHS;
    }
    rp->epoch_start = KC_MIN(rp->epoch_start, offset);
    for (int i = 0; i < rp->npeers; i++) {
        struct repl_peer *pr = &rp->peers[i];
        pr->leo = KC_MIN(pr->leo, offset);
        pr->durable = KC_MIN(pr->durable, offset);
    }
    rp->epoch_wanted = true;
    repl__leader_want_epoch(rp);
    return 0;
}

int repl_replica_truncated(struct repl_replica *rp, int64_t offset)
{
    if (offset < rp->log_start)
        return -EINVAL;
    if (offset >= rp->leo)
        return 0;
    rp->leo = offset;
    rp->durable = KC_MIN(rp->durable, offset);
    /* Only an unclean election can cut below the HW; the HW follows the log then. */
    rp->hw = KC_MIN(rp->hw, offset);
    int rc = repl_epoch_cache_truncate_end(&rp->epochs, offset);
    if (rc > 0)
        rp->fx |= REPL_FX_EPOCHS;
    return rp->role == REPL_ROLE_LEADER ? leader_cut(rp, offset) : 0;
}

void repl_replica_restarted_at(struct repl_replica *rp, int64_t offset)
{
    rp->log_start = rp->leo = rp->durable = rp->hw = offset;
    repl_epoch_cache_clear(&rp->epochs);
    rp->fx |= REPL_FX_EPOCHS;
}

int repl_replica_log_start(struct repl_replica *rp, int64_t offset)
{
    if (offset < rp->log_start || offset > rp->leo)
        return -EINVAL;
    rp->log_start = offset;
    rp->hw = KC_MAX(rp->hw, offset);
    int rc = repl_epoch_cache_truncate_start(&rp->epochs, offset);
    if (rc > 0)
        rp->fx |= REPL_FX_EPOCHS;
    return rc < 0 ? rc : 0;
}
