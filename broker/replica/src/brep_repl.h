/*
 * brep_repl.h - the member's replicas: one struct repl_replica (replication/) per partition
 * this broker holds a replica of, and the threads that drive them.
 *
 * Threads, and the one rule: a replica's state is touched only under its own mutex.
 *
 *   network loops     produce (leader)        brep__repl_produce       lock rp->mu
 *   any thread        coordinator's appends   brep__repl_internal      lock rp->mu (under the
 *                                                                       offsets store's lock:
 *                                                                       effects left to the
 *                                                                       member thread)
 *                     a follower's Fetch       brep__repl_fetch         lock rp->mu
 *                     a consumer's read limit  brep__repl_hw            lock rp->mu
 *   member thread     partition states         brep__replicas_sync      lock rp->mu
 *                     timers, leader fsyncs    brep__replicas_step      lock rp->mu
 *   fetcher threads   position / received /    follow.c                 lock rp->mu
 *                     round_done
 *   flusher thread    a leader's fsync done    durable_cb: an atomic and a wake-up of the
 *                                              member thread, never the mutex (the flusher
 *                                              may hold log locks the mutex's holders take)
 *
 * Under rp->mu a thread may call into the log (append, truncate: the log's own locks come
 * after rp->mu, never before) but never into a fetcher (kfr_add / kfr_remove may wait for
 * an op that waits for rp->mu) and never settles a park or fires a watch (those run after
 * the unlock, from a list made under it). The table of replicas is a hash under a rwlock;
 * an entry, once made, lives until brep_close (a deleted partition's entry is emptied and
 * kept), so a pointer found under the read lock stays valid without it.
 */
#ifndef BREP_REPL_H
#define BREP_REPL_H

#include <stdatomic.h>

#include "brep_int.h"
#include "brk_tconfig.h"
#include "kfr.h"
#include "repl_ckpt.h"
#include "repl_replica.h"

#define BREP_RBUCKETS_MIN 256 /* the replica table's buckets at first; doubled past one a bucket */
#define BREP_BEHIND_MS 10 /* follow.c: the first retry of a leader whose view lags ours */

/* An acks=all produce parked until the high watermark passes its last offset; or (p NULL)
 * an internal append (the group coordinator's, brep__repl_internal), told through fn. */
struct brep_wait {
    struct brep_wait *next;
    struct brk_produce *p;
    struct brk_park *park;
    int32_t epoch;       /* the leader epoch it was appended in */
    int64_t required;    /* its last offset + 1 */
    int64_t deadline_ms; /* monotonic: REQUEST_TIMED_OUT after */
    void (*fn)(void *arg, int kerr); /* p NULL: told fn(fn_arg, kerr) once */
    void *fn_arg;
    int kerr;
    bool cut; /* our log healed below required: its records may be gone (brep__rp_cut) */
};

struct brep_rp {
    struct brep_rp *next; /* hash chain */
    char topic[PART_NAME_MAX + 1];
    int32_t partition;
    struct brep *m;
    pthread_mutex_t mu;
    /* under mu */
    struct repl_replica r;
    struct alog *log;          /* pinned while set; NULL: not loaded, or released */
    struct brep_wait *waiters; /* parked acks=all produces */
    bool deadline_listed;      /* on the table's deadline list (stack or the member's) */
    int64_t paused_until_ms;   /* a follower after a partition error: retry then */
    int64_t sent_offset;       /* the fetch offset and epoch of the fetch in flight */
    int32_t sent_epoch;
    int64_t leader_hw_seen;    /* a follower: the leader's HW in its last answer (lag) */
    int32_t behind;            /* a follower: answers in a row of a leader's lagging view */
    /* the member thread's */
    int32_t fetching_from;     /* the leader whose fetcher holds it, -1: none */
    /* any thread */
    atomic_bool durable_kick;  /* a leader fsync finished: the member applies it */
    atomic_int durable_pending; /* alog_wait_durable callbacks still to come */
    atomic_bool queued;        /* on the table's kicked stack (brep__rp_kick) */
    struct brep_rp *kick_next; /* the stack's link: the pusher's until the pop */
    struct brep_rp *deadline_next; /* deadline list's link: the pusher's, then the member's
                                    * until deadline_listed is cleared */
};

struct brep_fetcher {
    int32_t leader;
    int index; /* which of the leader's num.replica.fetchers (follow.c's fetcher_index) */
    char host[256];
    int32_t port;
    struct kfr_fetcher *f;
    struct brep *m;
    /* the fetcher thread's: the replicas appended to this round */
    struct brep_rp **round;
    int nround, capround;
};

struct brep_rtable {
    pthread_rwlock_t lock;
    struct brep_rp **b;  /* nb buckets (a power of two), chains by rp->next; grown by the */
    uint32_t nb, count;  /* member thread (the only one that adds) under the write lock */
    struct repl_config cfg;
    int64_t next_tick_ms;
    /* The member's turn visits every replica only at the ISR tick. Otherwise it visits
     * the replicas that asked for it (an fsync done, effects left to take) and, every
     * BREP_SCAN_MS while a produce waits somewhere, those with waiters (their deadlines):
     * a replica joins that list when a waiter parks on it and leaves it when a scan finds
     * it has none left. */
    _Atomic(struct brep_rp *) kicked; /* a stack, pushed from any thread */
    _Atomic(struct brep_rp *) deadline_pushed; /* a stack: replicas that got a waiter */
    struct brep_rp *deadlines;        /* the member's: those popped, still listed */
    atomic_int nwaiting;              /* parked acks=all produces, every replica */
    int64_t next_scan_ms;
    atomic_uint_fast64_t isr_shrinks, isr_expands; /* committed changes of partitions led here */
    /* the member thread's */
    struct brep_fetcher **fetchers;
    int nfetchers;
    struct brk_tcfg tcfg; /* scratch: a topic's configs (min.insync.replicas) */
    /* ckpt.c: replication-offset-checkpoint as read at open (a line is used once: -1) */
    struct repl_offset_entry *hw_loaded;
    size_t nhw_loaded;
    int64_t next_hw_ckpt_ms;
    bool synced; /* the member thread's: partition states were applied once (ckpt.c) */
    /* Every hosted replica's log is pinned open (one descriptor each). The member thread
     * pins no more than pin_max, so a broker given more partitions than its open-files
     * limit leaves the rest unserved (not led here, never a crash) and keeps descriptors
     * for its connections and files; it says so once per BREP_UNPINNED_LOG_MS. */
    int32_t pinned, pin_max;   /* pin_max: set at the member thread's first pass */
    int32_t unpinned;          /* replicas refused a pin in the last pass over them all */
    int64_t unpinned_log_ms;
};

/* replica.c */
struct brep_rp *brep__rp_find(struct brep *m, const char *topic, size_t len, int32_t partition);
/* After a call under rp->mu: take its effects; what must happen after the unlock is left in
 * *done (parks to settle) and *fire (the log whose watches to fire: consumers parked at the
 * old HW). ISR proposals are sent here. */
void brep__rp_effects(struct brep_rp *rp, struct brep_wait **done, struct alog **fire);
void brep__rp_after(struct brep_wait *done, struct alog *fire);
/* Under rp->mu, rp->log set: the replica takes the log's word after a heal. alog_recover
 * (the broker's main thread, after a failed fsync) publishes a durable end that no fsync
 * callback reports, and may cut what the disk lost: the log end goes DOWN. Without this a
 * follower waits forever for an fsync that already happened (chaos-cluster found it), and
 * a leader would count records it no longer has. */
void brep__rp_sync_log(struct brep_rp *rp);
/* Any thread: the member thread must take a turn on rp soon (an fsync finished, or effects
 * were left for it: rp->r.fx); it is woken. Never blocks, never takes rp->mu. */
void brep__rp_kick(struct brep_rp *rp);
int brep__rp_cut(struct brep_rp *rp, int64_t end);

/* follow.c */
void brep__follow_role(struct brep *m, struct brep_rp *rp, int32_t leader);
void brep__fetchers_close(struct brep *m);

#endif
