/*
 * brk_cluster.h - the partition authority: who leads what, asked by the doors, answered
 * by whoever knows. The core never names ZooKeeper: a cluster member (broker/replica)
 * publishes VIEWS here; a broker without one leads everything, alone.
 *
 *   member thread (broker/replica)          network loops (the doors)
 *   ------------------------------          -------------------------
 *   notes from the controller ─┐            Produce, Fetch, ListOffsets:
 *   build a new view (immutable)            brk_partition_leadership(srv, t, p, &l, &e)
 *   brk_cluster_publish(srv, v) ──> srv ──>   per partition: mutex, bsearch, copy, unlock
 *                                   │       Metadata, FindCoordinator, DescribeCluster:
 *                                   └─────>   v = brk_cluster_view(srv) (a reference),
 *                                             read it at leisure, brk_cview_put(v)
 *
 * Solo (no member): brk_partition_leadership says "you lead, epoch 0", brk_cluster_view
 * returns NULL, and the doors answer with their one-node defaults: one code path.
 *
 * Why a mutex and immutable views (RCU's shape, with a reference count for the grace
 * period): a view is never changed once published, so a reader holds the lock only to
 * find its pointer (Metadata) or to copy two integers (the produce check); the member
 * builds the next view outside the lock and swaps one pointer in. The hot path pays an
 * uncontended lock, a binary search over the topics' names and an unlock per partition
 * (tens of nanoseconds, against microseconds for the append itself); a seqlock would save
 * the lock's cache-line write but needs every read field to be read racily, which TSan
 * and the reader both dislike.
 */
#ifndef BRK_CLUSTER_H
#define BRK_CLUSTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct brk_server;
struct brk_tcfg;

/* ---- the view ---------------------------------------------------------------------------- */

struct brk_cnode {              /* a live broker */
    int32_t id;
    const char *host;           /* its advertised endpoint (the first listener's) */
    int32_t port;
    const char *rack;           /* NULL: none */
};

struct brk_cpart {              /* one partition's state, as the controller last wrote it */
    int32_t leader;             /* -1: none (LEADER_NOT_AVAILABLE) */
    int32_t leader_epoch;
    bool loading;               /* __consumer_offsets led here: its groups are being loaded
                                 * (brk_offsets_load; COORDINATOR_LOAD_IN_PROGRESS) */
    int32_t nreplicas, nisr, noffline;
    const int32_t *replicas, *isr, *offline; /* offline: replicas that are not live */
};

struct brk_ctopic {
    const char *name;
    int32_t npartitions;
    const struct brk_cpart *parts;
};

struct brk_cview {
    const char *cluster_id;     /* ZooKeeper's /cluster/id */
    int32_t self;               /* this broker's id */
    int32_t controller;         /* -1: none known */
    int nbrokers;               /* live brokers, by id */
    const struct brk_cnode *brokers;
    int ntopics;                /* sorted by name (strcmp): brk_cview_topic bsearches */
    const struct brk_ctopic *topics;
    /* private: who frees it, and the readers holding it */
    void (*free)(struct brk_cview *v);
    atomic_int refs;
};

/* The topic called name[0..len), or NULL. */
const struct brk_ctopic *brk_cview_topic(const struct brk_cview *v, const char *name,
                                         size_t len);
/* The live broker with this id, or NULL. */
const struct brk_cnode *brk_cview_broker(const struct brk_cview *v, int32_t id);

/*
 * Publish v (the member's thread): the core takes over the member's reference (refs must
 * be 1) and drops its reference to the previous view, freed once its last reader lets go.
 * NULL withdraws the view (the member is stopping: solo answers again).
 */
void brk_cluster_publish(struct brk_server *srv, struct brk_cview *v);
/* The current view with a reference (release it with brk_cview_put), or NULL when this
 * broker is alone. Any thread. */
struct brk_cview *brk_cluster_view(struct brk_server *srv);
void brk_cview_put(struct brk_cview *v);
/* Is this broker a member of a cluster (a member is attached)? Any thread. */
bool brk_cluster_mode(const struct brk_server *srv);
/* This broker's id: broker.id in a cluster, 0 alone. */
int32_t brk_server_node_id(const struct brk_server *srv);

/*
 * Who leads topic name[0..len) partition p, and at which leader epoch. 0: this broker
 * leads it (always, alone: epoch 0); 1: it does not (*leader the one that does, or -1
 * when none does); KC_ENOTOPIC / KC_ENOPARTITION: the cluster does not know it. Any
 * thread; the produce and fetch checks call it per partition.
 */
int brk_partition_leadership(struct brk_server *srv, const char *name, size_t len, int32_t p,
                             int32_t *leader, int32_t *leader_epoch);

/* ---- asking the member ---------------------------------------------------------------------
 *
 * Topic creation and deletion go through the cluster's controller when there is one. A
 * door hands a waiter; the member tells it, once, on the member's thread: 0 (done, and
 * this broker's view has it: a Metadata right after sees it), a Kafka error code > 0 (the
 * controller's refusal: INVALID_REPLICATION_FACTOR 38, TOPIC_ALREADY_EXISTS 36, ...), or
 * -errno (-ETIMEDOUT: no controller answered). fn must be short and not block
 * (brk_park_resume). */

struct brk_cluster_waiter {
    void (*fn)(struct brk_cluster_waiter *w, int err); /* in */
    void *arg;                                          /* in */
    int64_t id;                                         /* private */
    struct brk_cluster_waiter *next;                    /* private */
};

/* A follower's Fetch of one partition (replica_id >= 0), as the leader judges it. The
 * follower's fetch offset counts as ON ITS DISK: its fetcher fsyncs every round before it
 * fetches again (broker/kafka/fetcher), so this project's "durable offsets only" rule
 * needs no extra field on the wire. */
struct brk_replica_fetch {
    /* in */
    int32_t replica_id, current_leader_epoch, last_fetched_epoch;
    int64_t fetch_offset, log_start_offset;
    /* out */
    int16_t error;           /* Kafka's: NONE, 6, 74, 59, 1 */
    int64_t high_watermark;  /* the leader's, before this fetch counted (as Kafka) */
    int32_t diverging_epoch; /* -1: none; else truncate to diverging_end first */
    int64_t diverging_end;
    /* Nothing to say until the log changes (alog_changes): we lead, the follower is in
     * the ISR at our log end, and the high watermark is there too. A leader may skip
     * reading such a partition while its log stays unchanged (fetch.c). */
    bool idle;
};

/* OffsetForLeaderEpoch for one partition (KIP-101, KIP-320), as its replica answers. */
struct brk_epoch_query {
    /* in */
    int32_t current_leader_epoch; /* -1: do not check */
    int32_t epoch;                /* the epoch whose end is asked */
    /* out */
    int16_t error;                /* Kafka's: NONE, NOT_LEADER_OR_FOLLOWER 6, 74, 75 */
    int32_t end_epoch;            /* NONE: the largest epoch <= epoch known, or -1 */
    int64_t end_offset;           /* NONE: where it ends, or -1 */
};

struct brk_produce;
struct brk_park;
struct alog;
struct brk_metrics_visitor;

/* An append of the broker's own (the group coordinator's records to a partition of
 * __consumer_offsets), replicated as a produce with acks=all. */
struct brk_internal_append {
    /* in */
    const char *name;            /* the internal topic */
    int32_t partition;
    struct alog *log;            /* its log here */
    void *batch;                 /* one checked batch of count records (stamped here) */
    size_t len;
    int32_t count;
    int64_t timeout_ms;          /* REQUEST_TIMED_OUT (7) past it */
    void (*fn)(void *arg, int kerr); /* told once (below); never inside the call */
    void *fn_arg;
    /* out, when appended */
    int64_t *base, *end;         /* the records' offsets: [*base, *end) */
};

/* An operator's replicas for new partitions (Kafka's replica assignments), instead of
 * the controller's placement: n lists of rf broker ids, ids[i * rf + k], for the new
 * partitions in order. Copied before the call that takes it returns. */
struct brk_cluster_assignment {
    int32_t n;
    int rf;
    const int32_t *ids;
};

struct brk_cluster_ops {
    /* Create topic name with partitions (-1: num.partitions), replication factor rf
     * (-1: default.replication.factor) and config overrides c (NULL: none; checked by the
     * caller, copied before this returns), its replicas placed by the controller or as
     * `as` says (NULL: placed; else as->n is partitions, as->rf is rf); w may be NULL
     * (auto-create: nobody waits). */
    int (*topic_create)(void *arg, const char *name, int32_t partitions, int32_t rf,
                        const struct brk_tcfg *c, const struct brk_cluster_assignment *as,
                        struct brk_cluster_waiter *w);
    int (*topic_delete)(void *arg, const char *name, struct brk_cluster_waiter *w);
    /* CreatePartitions: topic name grows to `total` partitions (told once this broker's
     * view and logs have them all), the new ones placed or as `as` says (NULL: placed). */
    int (*partitions_create)(void *arg, const char *name, int32_t total,
                             const struct brk_cluster_assignment *as,
                             struct brk_cluster_waiter *w);
    /* ElectLeaders (election: BRK_ELECTION_*): the controller elects topic name's partitions parts[0..n) by
     * `election` (0 preferred, 1 unclean; checked by the caller, copied before this
     * returns); w->fn(w, 0) once it answered and this broker's view shows every partition
     * it elected, w->fn(w, error) if it refused. */
    int (*elect_leaders)(void *arg, const char *name, int election, const int32_t *parts,
                         int32_t n, struct brk_cluster_waiter *w);
    /* w withdrawn: true if its fn will not run. */
    bool (*cancel)(void *arg, struct brk_cluster_waiter *w);
    /* Topic name's overrides become c (copied before this returns), for every broker;
     * nobody waits (the change reaches each broker's logs through its view). */
    int (*topic_configs)(void *arg, const char *name, const struct brk_tcfg *c);
    /* Replication (broker/replica/src/replica.c). Each may be NULL: not replicating. */
    /* Append p's checked batch (count records) to log as the partition's leader: the
     * contract of brk_produce (1 answered, 0 parked on park, < 0), with p->kerr set when
     * replication refuses (NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER) or, parked, when
     * the wait ends badly (20, 6, REQUEST_TIMED_OUT 7). A network loop. */
    int (*produce)(void *arg, struct brk_produce *p, struct alog *log, struct brk_park *park,
                   int32_t count);
    /* Append ia as the partition's leader, acks=all: 0 (appended; ia->fn(ia->fn_arg, kerr)
     * told once, on any thread but never inside this call, as the HW passes *ia->end: 0, or
     * the wait ended: NOT_LEADER_OR_FOLLOWER 6, NOT_ENOUGH_REPLICAS_AFTER_APPEND 20,
     * REQUEST_TIMED_OUT 7); > 0 a Kafka code, nothing appended (6, NOT_ENOUGH_REPLICAS 19);
     * < 0 from the log. The caller may hold a lock fn takes. */
    int (*internal_append)(void *arg, const struct brk_internal_append *ia);
    /* A follower's fetch of one partition (below). A network loop. */
    void (*replica_fetch)(void *arg, const char *name, size_t len, int32_t partition,
                          struct brk_replica_fetch *rf);
    /* What a consumer may read of a partition: below *hw. 0, or -ENOENT (no replica:
     * read as alone). A network loop. */
    int (*high_watermark)(void *arg, const char *name, size_t len, int32_t partition,
                          int64_t *hw);
    /* OffsetForLeaderEpoch of one partition (above): 0 with q's out filled, or -ENOENT
     * (no replica: answer as alone). A network loop. */
    int (*epoch_end)(void *arg, const char *name, size_t len, int32_t partition,
                     struct brk_epoch_query *q);
    /* The replication families for /metrics (brk_metrics.h). Any thread. */
    void (*metrics)(void *arg, const struct brk_metrics_visitor *v);
    /* A producer id unique in the cluster, at once: 0, or -EAGAIN (none ready). Must not
     * block: a network loop asks (broker/cluster's clu_pids.h keeps one block ahead). */
    int (*pids_next)(void *arg, int64_t *id);
};

/* Attach the member (before the broker serves; NULL detaches). Main thread. */
void brk_cluster_attach(struct brk_server *srv, const struct brk_cluster_ops *ops, void *arg);
/* Through the member: 0 (w will be told), -ENOTSUP alone, -EINVAL, -ENOMEM. */
int brk_cluster_topic_create(struct brk_server *srv, const char *name, int32_t partitions,
                             int32_t rf, struct brk_cluster_waiter *w);
/* The same with config overrides c (NULL: none): the controller keeps them in
 * /config/topics/<name>, and every broker applies them to its local logs; and with an
 * operator's replicas `as` (NULL: the controller places them). */
int brk_cluster_topic_create_with(struct brk_server *srv, const char *name,
                                  int32_t partitions, int32_t rf, const struct brk_tcfg *c,
                                  const struct brk_cluster_assignment *as,
                                  struct brk_cluster_waiter *w);
int brk_cluster_topic_delete(struct brk_server *srv, const char *name,
                             struct brk_cluster_waiter *w);
int brk_cluster_partitions_create(struct brk_server *srv, const char *name, int32_t total,
                                  const struct brk_cluster_assignment *as,
                                  struct brk_cluster_waiter *w);
/* ElectLeaders' types (Kafka's ElectionType; repl_ctl.h's enum repl_election). */
#define BRK_ELECTION_PREFERRED 0
#define BRK_ELECTION_UNCLEAN   1
int brk_cluster_elect_leaders(struct brk_server *srv, const char *name, int election,
                              const int32_t *parts, int32_t n, struct brk_cluster_waiter *w);
bool brk_cluster_cancel(struct brk_server *srv, struct brk_cluster_waiter *w);
/* AlterConfigs in a cluster: the topic's overrides become c on every broker (Kafka writes
 * /config/topics/<t>). 0 (asked), -ENOTSUP alone, -EINVAL, -ENOMEM. */
int brk_cluster_topic_configs(struct brk_server *srv, const char *name,
                              const struct brk_tcfg *c);
/* The replication hooks above, for the doors: false / -ENOENT when nothing replicates
 * (alone: the caller does as a single broker). */
bool brk_cluster_replica_fetch(struct brk_server *srv, const char *name, size_t len,
                               int32_t partition, struct brk_replica_fetch *rf);
int brk_cluster_high_watermark(struct brk_server *srv, const char *name, size_t len,
                               int32_t partition, int64_t *hw);
/* The internal_append hook above: its results, or -ENOTSUP when nothing replicates (alone:
 * the caller appends and waits for its own fsync). */
int brk_cluster_internal_append(struct brk_server *srv, const struct brk_internal_append *ia);
int brk_cluster_epoch_end(struct brk_server *srv, const char *name, size_t len,
                          int32_t partition, struct brk_epoch_query *q);
/* A producer id from the cluster's blocks (InitProducerId): 0 and *id; -EAGAIN (no block
 * ready yet: answer a retriable error); -ENOTSUP alone (the door's own file serves). Any
 * thread, never blocks. */
int brk_cluster_pids_next(struct brk_server *srv, int64_t *id);

/* Called on the main thread once a stop is asked (SIGTERM), BEFORE the broker stops
 * serving: a member moves its leaderships away here (controlled shutdown), while
 * clients can still be told NOT_LEADER_OR_FOLLOWER and follow the new leaders. */
void brk_server_on_stop(struct brk_server *srv, void (*fn)(void *arg), void *arg);

#endif
