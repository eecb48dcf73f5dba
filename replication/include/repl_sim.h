/*
 * repl_sim.h - a replicated partition in one process: N replicas with in-memory logs, the
 * controller, and the clients. The demo and the randomized test drive it; the broker's own
 * driver does what it does, with sockets, files and ZooKeeper in place of function calls.
 *
 *   +-- node 1 ----------------+   +-- node 2 --------+   +-- node 3 --------+
 *   | log [(epoch, id) ...]    |   | log              |   | log              |
 *   | disk: first `disk` of it |   | disk             |   | disk             |
 *   | leader-epoch-checkpoint  |   | ...              |   | ...              |
 *   |   (bytes, Kafka format)  |   |                  |   |                  |
 *   | replication-offset ckpt  |   |                  |   |                  |
 *   | struct repl_replica      |   | struct repl_...  |   | struct repl_...  |
 *   +--------------------------+   +------------------+   +------------------+
 *                 \ fetch / OffsetForLeaderEpoch / ISR proposals /
 *                  +------------- struct repl_ctl (the controller) + journal (ZooKeeper)
 *
 * One topic "t" with one partition, replicated on every node (ids 1..N). Every step is a
 * function; nothing happens between steps, and nothing happens at random inside one (the
 * caller chooses; the seed only picks each node's truncation path and batch shapes):
 *
 *   produce   a client appends to a node that believes it leads (refusals are answers)
 *   fetch     one follower round: OffsetForLeaderEpoch or Fetch, and what follows
 *   fsync     a node's log reaches its disk; it checkpoints its HW
 *   tick      time passes; every leader checks its ISR for laggards
 *   submit    a node's ISR proposal reaches the controller (conditional write)
 *   sync      a node reads the partition state from "ZooKeeper" (its watch fired)
 *   crash     power cut: the node loses all it had not fsynced, and stops
 *   expire    the controller notices a node's session is gone (it may still be running:
 *             a zombie that must be fenced)
 *   restart   a crashed or stopped node recovers from its disk and registers again
 *   shutdown  controlled shutdown: leadership moves away, then the node stops cleanly
 *   preferred the controller's preferred-leader balancing runs
 *   consume   a client reads below a node's HW
 *
 * Acknowledgements: acks=all produces are parked and answered as soon as their node's
 * HW covers them (after any step); each acknowledged record is reported to the checker.
 * legacy_hw_truncation restores the rule before KIP-101 (truncate to the HW at restart,
 * no leader epochs when fetching), to show what it lost.
 *
 * Return values: 0; a Kafka error when the step was refused (produce to a non-leader,
 * ...); -ENOMEM; KC_ECORRUPT when an invariant was violated (repl_check_why says which).
 */
#ifndef REPL_SIM_H
#define REPL_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "repl_check.h"
#include "repl_ctl.h"
#include "repl_replica.h"

#define REPL_SIM_MAX_NODES 7
#define REPL_SIM_TOPIC     "t"

struct repl_sim_config {
    int nodes;                  /* 1..REPL_SIM_MAX_NODES */
    struct repl_config replica; /* lag time, min.insync.replicas */
    bool unclean_leader_election;
    int truncation; /* 0: OffsetForLeaderEpoch; 1: the fetch's diverging epoch; 2: per node */
    int max_fetch;  /* records per fetch answer, at most (>= 1) */
    bool legacy_hw_truncation; /* the pre-KIP-101 rule (loses acknowledged records) */
    uint64_t seed;
};

/* One record in an in-memory log: the leader epoch of its batch, and who wrote it. */
struct repl_sim_entry {
    int32_t epoch;
    uint64_t id;
};

struct repl_sim_node {
    int32_t id;
    bool up;
    bool epoch_query; /* reconciles with OffsetForLeaderEpoch (else with the fetch) */
    uint64_t incarnation;
    int64_t broker_epoch;       /* its registration's epoch (ZooKeeper: czxid) */
    struct repl_sim_entry *log; /* log[0 .. rp.leo) */
    int64_t cap;
    int64_t disk;           /* log[0 .. disk) survives a crash */
    int64_t recovery_point; /* below it recovery trusts the checkpoints; above, it rescans */
    char *epoch_ckpt;       /* leader-epoch-checkpoint as written (NULL: none) */
    size_t epoch_ckpt_len;
    int64_t hw_ckpt;   /* replication-offset-checkpoint's value */
    bool proposal_out; /* `inflight` is on its way to the controller */
    struct repl_isr_change inflight;
    struct repl_replica rp;
};

/* A produce parked until the HW covers it (acks=all). */
struct repl_sim_parked {
    int32_t node, epoch;
    int64_t base;
    int32_t count;
    uint64_t first_id; /* the client's ids: first_id .. first_id + count - 1 */
};

struct repl_sim_stats {
    uint64_t produced, refused, acked_all, acked_one, failed_all;
    uint64_t fetches, epoch_queries, appended, truncations, truncated;
    uint64_t proposals, isr_commits, isr_refusals, leader_changes, disk_losses;
};

struct repl_sim {
    struct repl_sim_config cfg;
    struct repl_ctl ctl;
    struct repl_recs journal; /* every record the controller wrote, in order */
    int nnodes;
    struct repl_sim_node nodes[REPL_SIM_MAX_NODES];
    int64_t now_ms;
    int64_t next_zxid;
    uint64_t next_id;
    uint64_t rng;
    struct repl_sim_parked *parked;
    size_t nparked, cap_parked;
    struct repl_check check;
    struct repl_sim_stats st;
    FILE *trace; /* NULL, or where each notable event is told in one line */
};

/* Nodes registered, the topic created, every node synced. */
int repl_sim_init(struct repl_sim *s, const struct repl_sim_config *cfg);
void repl_sim_fini(struct repl_sim *s);

/* Node by id (1..N); NULL if out of range. */
struct repl_sim_node *repl_sim_node(struct repl_sim *s, int32_t id);
/* The leader according to the controller, or REPL_NO_LEADER. */
int32_t repl_sim_leader(const struct repl_sim *s);

/* Append `count` records (ids from 1 up, in order). *base gets the first offset. */
int repl_sim_produce(struct repl_sim *s, int32_t node, int acks, int32_t count, int64_t *base);
int repl_sim_fetch(struct repl_sim *s, int32_t node);
int repl_sim_fsync(struct repl_sim *s, int32_t node);
int repl_sim_tick(struct repl_sim *s, int64_t ms);
int repl_sim_submit(struct repl_sim *s, int32_t node);
int repl_sim_sync(struct repl_sim *s, int32_t node);
int repl_sim_crash(struct repl_sim *s, int32_t node);
/* A running node's fsync failed and its disk kept nothing unsynced: its log heals to what
 * it fsynced, the node runs on; its parked produces past the cut fail (timed out). */
int repl_sim_disk_loss(struct repl_sim *s, int32_t node);
int repl_sim_expire(struct repl_sim *s, int32_t node);
int repl_sim_restart(struct repl_sim *s, int32_t node);
/* A running node whose session expired registers again (new broker epoch). */
int repl_sim_register(struct repl_sim *s, int32_t node);
int repl_sim_shutdown(struct repl_sim *s, int32_t node);
int repl_sim_preferred(struct repl_sim *s);
/* Read up to `max` records below the node's HW, from `from`; reported to the checker. */
int repl_sim_consume(struct repl_sim *s, int32_t node, int64_t from, int max);

/* I1-I4 over every running node. */
int repl_sim_check(struct repl_sim *s);
/* Heal everything (restart, re-register, sync) and replicate until every node holds the
 * leader's log and HW, in at most `rounds` rounds; then I5. -ETIMEDOUT when it does not
 * converge (a liveness bug). */
int repl_sim_settle(struct repl_sim *s, int rounds);

/* One line per node: state, role, epoch, LEO / disk / HW, ISR, and the log's records. */
void repl_sim_describe(const struct repl_sim *s, FILE *out);

#endif
