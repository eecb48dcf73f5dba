/*
 * repl_replica.h - one partition replica: the leader's bookkeeping and the follower's rules
 * (Kafka's Partition, Replica and the fetcher thread's truncation logic).
 *
 * The replica does not own the log. The broker's storage does; the replica is told what
 * happened to the log (a batch appended, the log truncated, an fsync finished) and tells
 * the broker what to do (answer this fetch so, truncate to there, propose this ISR).
 *
 *   broker                         struct repl_replica                 controller
 *   ------                         -------------------                 ----------
 *   partition state record ---->   repl_replica_apply                 (repl_ctl.h)
 *   produce: prepare, write,       repl_leader_prepare / _appended
 *            park until ack        repl_leader_ack
 *   fsync done                     repl_replica_durable
 *   follower's Fetch        ---->  repl_leader_fetch  ----> ISR proposal ---->  commit
 *   timer                          repl_leader_tick   ----> ISR proposal
 *   (follower) what next?          repl_follower_next: EPOCH_QUERY or FETCH
 *   (follower) answers      ---->  repl_follower_on_epoch_end / _on_fetch -> a decision
 *   log truncated / restarted      repl_replica_truncated / _restarted_at
 *   the leader's HW                repl_follower_hw
 *
 * The project's rule, stricter than Kafka's: an offset counts toward the high watermark
 * (and toward "caught up" and "may join the ISR") only once it is ON DISK on that member.
 * Followers report their durable offset in every fetch; the leader counts its own durable
 * offset the same way. Brokers may share one kernel here, so "in another broker's page
 * cache" is no safer than "in mine".
 *
 *   HW = max(HW, min over the maximal ISR of durable offsets)      never goes backwards
 *   maximal ISR = the committed ISR + a member whose addition is in flight (KIP-497)
 *
 * Effects. Besides its return value, a call may leave work for the broker in rp->fx, a
 * bitmask the broker drains with repl_replica_fx() after every call:
 *
 *   REPL_FX_EPOCHS   the epoch cache changed: rewrite leader-epoch-checkpoint (repl_ckpt.h)
 *                    before the log's recovery point can move past the change
 *   REPL_FX_HW       the high watermark moved: complete parked produces and long polls,
 *                    and checkpoint it (replication-offset-checkpoint) when convenient
 *   REPL_FX_ISR      an ISR change was proposed: rp->proposal holds it; send it to the
 *                    controller, then call repl_replica_apply with the committed state, or
 *                    repl_leader_isr_failed if it was refused
 *   REPL_FX_ROLE     role, leader or leader epoch changed: (re)start or stop fetching, and
 *                    fail parked produces (repl_leader_ack says which)
 *
 * Ownership and threads: the struct is the caller's (embed it); init/fini. One thread at
 * a time. Times are milliseconds from any monotonic clock the caller chooses.
 */
#ifndef REPL_REPLICA_H
#define REPL_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "repl.h"
#include "repl_epoch.h"

struct repl_config {
    int64_t lag_time_max_ms; /* replica.lag.time.max.ms: out of the ISR after this long behind */
    int min_insync;          /* min.insync.replicas: the smallest ISR acks=all accepts */
};

/* Kafka's defaults: 30000 ms, 1. */
void repl_config_default(struct repl_config *cfg);

/*
 * A partition's state as the controller decided it: one "partition changed" record (the
 * partition state znode in ZooKeeper mode, a PartitionRecord in KRaft).
 */
struct repl_pstate {
    int32_t controller_epoch; /* the controller that wrote it: older controllers are fenced */
    int32_t leader;           /* broker id, or REPL_NO_LEADER: the partition is offline */
    int32_t leader_epoch;     /* bumped by every leader change */
    int32_t partition_epoch;  /* bumped by every change (the znode's version): fences stale
                               * ISR writes */
    int nreplicas, nisr;
    int32_t replicas[REPL_MAX_REPLICAS]; /* assignment order: [0] is the preferred leader */
    int32_t isr[REPL_MAX_REPLICAS];
};

bool repl_pstate_in_isr(const struct repl_pstate *ps, int32_t id);
bool repl_pstate_in_replicas(const struct repl_pstate *ps, int32_t id);

/* An ISR change the leader proposes (Kafka's AlterPartition; here the conditional write of
 * the partition state, through the controller). */
struct repl_isr_change {
    int32_t leader;          /* who proposes: must be the partition's leader */
    int32_t leader_epoch;    /* its epoch: a proposal from an older epoch is fenced */
    int32_t partition_epoch; /* the state it was based on: a stale base is refused */
    int nisr;
    int32_t isr[REPL_MAX_REPLICAS];
    /* Also start a new leader epoch, same leader: its log lost a tail that followers may
     * hold (leader_cut), and the records that take those offsets must be told apart from
     * the lost ones by their epoch, on every replica, whoever leads later. */
    bool new_epoch;
};

/* The leader's view of one follower (Kafka's ReplicaState). -1: not known in this epoch. */
struct repl_peer {
    int32_t id;
    int64_t leo;                   /* its last fetch offset */
    int64_t durable;               /* what it last reported on disk */
    int64_t last_caught_up_ms;     /* latest time it held (on disk) the leader's LEO */
    int64_t last_fetch_ms;         /* when its last fetch arrived */
    int64_t last_fetch_leader_leo; /* the leader's LEO at that fetch */
    int64_t expand_after_ms;       /* its addition refused: not proposed before this */
};

enum repl_fx {
    REPL_FX_EPOCHS = 1 << 0,
    REPL_FX_HW = 1 << 1,
    REPL_FX_ISR = 1 << 2,
    REPL_FX_ROLE = 1 << 3,
};

struct repl_replica {
    int32_t self;
    struct repl_config cfg;
    enum repl_role role;
    struct repl_pstate ps;    /* the last partition state applied: leader, epochs, ISR */
    int32_t controller_epoch; /* highest controller epoch seen */
    /* The local log, as replication sees it. */
    int64_t log_start, leo, durable, hw;
    struct repl_epoch_cache epochs;
    /* Leader side. */
    int64_t epoch_start; /* the LEO when this replica became leader of ps.leader_epoch */
    int npeers;
    struct repl_peer peers[REPL_MAX_REPLICAS];
    bool pending;                    /* rp->proposal is in flight */
    struct repl_isr_change proposal; /* the ISR change in flight (or last proposed) */
    bool epoch_wanted;        /* our log lost a tail: nothing is appended until a new epoch */
    int32_t lead_epoch_first; /* the first epoch of our unbroken leadership */
    /* Follower side. */
    bool truncating; /* must reconcile with the leader's log before trusting its own */
    unsigned fx;     /* effects not yet taken by the broker (enum repl_fx) */
};

/* An empty replica with no role: log_start = leo = durable = hw = 0. */
void repl_replica_init(struct repl_replica *rp, int32_t self, const struct repl_config *cfg);
void repl_replica_fini(struct repl_replica *rp);

/*
 * After recovery: the log spans [log_start, leo) and all of it is on disk; hw is the
 * replication-offset-checkpoint value (clamped into [log_start, leo]). Before calling,
 * fill rp->epochs from leader-epoch-checkpoint and re-assign the epochs of batches
 * recovered beyond the log's recovery point (Kafka's segment recovery does the same);
 * load drops entries that start past the log end (a tail lost in a crash; one starting AT
 * the end is an epoch with nothing written yet, kept) or before its start. 0, or -EINVAL
 * for offsets out of order.
 */
int repl_replica_load(struct repl_replica *rp, int64_t log_start, int64_t leo, int64_t hw);

/* Take (and clear) the pending effects. */
static inline unsigned repl_replica_fx(struct repl_replica *rp)
{
    unsigned fx = rp->fx;
    rp->fx = 0;
    return fx;
}

/*
 * Apply a partition state from the controller (LeaderAndIsr). Refused, unchanged:
 * STALE_CONTROLLER_EPOCH (written by an older controller than one already seen),
 * FENCED_LEADER_EPOCH (older leader epoch), INVALID_UPDATE_VERSION (same leader epoch,
 * older partition epoch). The same state again is a no-op. Otherwise:
 *   becomes leader    epoch cache gets (leader_epoch, LEO); followers' states reset
 *   becomes follower  truncating until reconciled with the new leader
 *   same epoch        the new ISR (a committed proposal, or the controller's removal)
 *   not a replica     role NONE
 * Returns 0, a Kafka error, -EINVAL (a malformed state), -ENOMEM.
 */
int repl_replica_apply(struct repl_replica *rp, const struct repl_pstate *ps, int64_t now_ms);

/* ---- the local log ---- */

/*
 * Is b the next batch this replica may append? KC_EOFFSET if it does not start at the
 * LEO; KC_EMALFORMED for count < 1 or an epoch that is negative, older than the log's
 * latest (unless, on a follower, that latest epoch holds no record: begun at the LEO by
 * this replica as a leader that wrote nothing - appending drops it), or newer than the
 * current leader epoch (a leader writes only its own epoch).
 */
int repl_replica_check_batch(const struct repl_replica *rp, const struct repl_batch *b);

/* The batch was written to the log: LEO moves; a new epoch enters the cache (FX_EPOCHS).
 * Same errors as check_batch; -ENOMEM. */
int repl_replica_appended(struct repl_replica *rp, const struct repl_batch *b);

/* An fsync made everything below `offset` durable. On a leader the HW may move (FX_HW). */
void repl_replica_durable(struct repl_replica *rp, int64_t offset);

/* The log was truncated to `offset` (exclusive): LEO, durable and HW follow; the cache
 * drops later epochs (FX_EPOCHS). 0, -EINVAL below log_start, or -ENOMEM (a leader).
 * On a LEADER this is its disk losing a tail (a failed fsync's heal) that followers may
 * have copied from memory: it asks the controller for a new epoch (FX_ISR, a proposal
 * with new_epoch) and appends nothing until it comes (repl_leader_prepare), so that the
 * records that take the lost offsets carry an epoch no lost record has. */
int repl_replica_truncated(struct repl_replica *rp, int64_t offset);

/* The log was emptied and now starts at `offset` (the follower fell behind the leader's
 * log start). Everything is reset to offset; the cache is cleared (FX_EPOCHS). */
void repl_replica_restarted_at(struct repl_replica *rp, int64_t offset);

/* Retention moved the log start to `offset` (<= LEO): the cache forgets older epochs. */
int repl_replica_log_start(struct repl_replica *rp, int64_t offset);

/* ---- the leader ---- */

/*
 * Before appending a produce of `count` records with `acks` (0, 1, -1): refused with
 * INVALID_REQUIRED_ACKS, NOT_LEADER_OR_FOLLOWER, or NOT_ENOUGH_REPLICAS (acks=-1 and the
 * ISR is smaller than min.insync.replicas; or, any acks, our log lost a tail and the new
 * epoch it asked for has not come yet). On 0, *b is what to stamp into the batch:
 * base offset = LEO, epoch = the leader epoch. Then write it and call _appended.
 */
int repl_leader_prepare(const struct repl_replica *rp, int acks, int32_t count,
                        struct repl_batch *b);

/*
 * May a produce parked for acks=all be answered? It was appended in epoch `epoch` and
 * needs the HW to reach `required` (its last offset + 1). Returns 1 (answer it, *kerr is
 * NONE, NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below the minimum meanwhile,
 * or NOT_LEADER_OR_FOLLOWER when this replica is no longer the leader it was in that
 * epoch - leading since, through a new epoch of its own asking, still counts: the record
 * may be truncated away) or 0 (keep waiting).
 */
int repl_leader_ack(const struct repl_replica *rp, int32_t epoch, int64_t required, int *kerr);

/* A follower's Fetch, as replication reads it. */
struct repl_fetch_req {
    int32_t replica_id;
    int32_t current_leader_epoch; /* the epoch the follower believes in; -1: do not check */
    int32_t last_fetched_epoch;   /* epoch of its last record; -1: skip the divergence check */
    int64_t fetch_offset;         /* its LEO */
    int64_t durable_offset;       /* this project: what is on its disk (<= fetch_offset) */
    int64_t log_start_offset;
};

/* The leader's answer. On NONE without divergence: send [fetch_offset, leo) of the log. */
struct repl_fetch_ans {
    int error;                       /* enum repl_kerr */
    int32_t leader_epoch;            /* the request's current_leader_epoch, echoed */
    struct repl_epoch_end diverging; /* epoch -1: none; else truncate (Fetch v12+) */
    int64_t fetch_offset;
    int64_t leo; /* the leader's LEO when it answered */
    int64_t hw;  /* its HW before this fetch was counted (as Kafka) */
    int64_t log_start;
};

/*
 * Answer a follower's fetch and update what the leader knows of it (Kafka's
 * Partition.fetchRecords + updateFollowerFetchState):
 *   FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH   its epoch is older / newer than ours
 *   NOT_LEADER_OR_FOLLOWER                       we are not the leader (no epoch given)
 *   UNKNOWN_LEADER_EPOCH                         it is not a replica of this partition
 *   OFFSET_OUT_OF_RANGE                          fetch offset outside [log_start, LEO],
 *                                                or no end offset for its last epoch
 *   NONE + diverging                             our history of its last epoch ends
 *                                                before its fetch offset: it must truncate
 *   INVALID_REQUEST                              durable offset beyond fetch offset
 *   NONE                                         read from fetch_offset; its state moves,
 *                                                the HW may move (FX_HW), an ISR expansion
 *                                                may be proposed (FX_ISR)
 * Returns ans->error.
 */
int repl_leader_fetch(struct repl_replica *rp, const struct repl_fetch_req *req, int64_t now_ms,
                      struct repl_fetch_ans *ans);

/* Periodic (Kafka runs it every lag_time_max_ms / 2): propose removing ISR members not
 * caught up for lag_time_max_ms (FX_ISR). */
void repl_leader_tick(struct repl_replica *rp, int64_t now_ms);

/* The controller refused rp->proposal: forget it (a later fetch or tick proposes again,
 * from the state the broker applies next; a member it would have added, only after
 * REPL_EXPAND_RETRY_MS from its last fetch), and compute the HW over the committed ISR
 * again: the member being added no longer holds it back (FX_HW when it moves). */
void repl_leader_isr_failed(struct repl_replica *rp);

/* The maximal ISR's size: committed members plus one whose addition is in flight. */
int repl_leader_maximal_isr(const struct repl_replica *rp, int32_t *out);

/* ---- OffsetForLeaderEpoch ---- */

struct repl_epoch_query {
    int32_t current_leader_epoch; /* -1: do not check */
    int32_t epoch;                /* the follower's latest epoch */
};

/* Answer it (only the leader answers followers): FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
 * NOT_LEADER_OR_FOLLOWER, or NONE with *out = end_offset(epoch). */
int repl_leader_epoch_end(const struct repl_replica *rp, const struct repl_epoch_query *q,
                          struct repl_epoch_end *out);

/* ---- the follower ---- */

enum repl_next {
    REPL_NEXT_IDLE,        /* not a follower, or the partition has no leader */
    REPL_NEXT_EPOCH_QUERY, /* reconcile first: send OffsetForLeaderEpoch */
    REPL_NEXT_FETCH,       /* fetch (with last_fetched_epoch: the leader checks divergence) */
};

/* What to send next. `truncate_on_fetch` (Kafka 2.7+) skips the OffsetForLeaderEpoch round:
 * the fetch's last_fetched_epoch does the same job. */
enum repl_next repl_follower_next(const struct repl_replica *rp, bool truncate_on_fetch);
void repl_follower_epoch_query(const struct repl_replica *rp, struct repl_epoch_query *q);
void repl_follower_fetch_req(const struct repl_replica *rp, struct repl_fetch_req *req);

/* What a follower must do after an answer. */
enum repl_do {
    REPL_DO_NOTHING,    /* retry later (or wait for a new partition state) */
    REPL_DO_TRUNCATE,   /* truncate the log to offset, then repl_replica_truncated */
    REPL_DO_RESTART_AT, /* empty the log, start it at offset, then repl_replica_restarted_at */
    REPL_DO_APPEND,     /* append the answer's records [from, to) (maybe none), then
                         * repl_follower_hw with the answer's hw */
};

struct repl_decision {
    enum repl_do what;
    int64_t offset;   /* TRUNCATE, RESTART_AT */
    int64_t from, to; /* APPEND */
};

/*
 * The OffsetForLeaderEpoch answer (kerr, and *ans when kerr is NONE). Never truncates
 * to the high watermark: the answer says where the leader's history of our latest epoch
 * ends, and we cut there (Kafka's getOffsetTruncationState):
 *   the leader knows that epoch       truncate to min(its end, our end of it, LEO): done
 *   it answers an older epoch we      truncate to our end of the largest epoch <= it:
 *     do not have                     not done, ask again with our new latest epoch
 *   it cannot say (-1, -1)            truncate to log start and refetch: slower, safe
 * Returns 0, or the kerr it was given (the decision is then NOTHING).
 */
int repl_follower_on_epoch_end(struct repl_replica *rp, int kerr, const struct repl_epoch_end *ans,
                               struct repl_decision *d);

/*
 * A fetch answer. Answers to an epoch we have left are ignored (NOTHING). Diverging: the
 * same truncation as above. OFFSET_OUT_OF_RANGE: behind the leader's log start, restart
 * there; ahead of its LEO (only after an unclean election), truncate to it. NONE: append.
 * Returns 0 or the answer's error.
 */
int repl_follower_on_fetch(struct repl_replica *rp, const struct repl_fetch_ans *ans,
                           struct repl_decision *d);

/* After appending a fetch answer's records: take the leader's HW, capped by our own LEO;
 * never backwards (FX_HW when it moves). Ignored while truncating. */
void repl_follower_hw(struct repl_replica *rp, int64_t leader_hw);

#endif
