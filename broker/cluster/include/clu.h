/*
 * clu.h - the cluster's metadata on ZooKeeper: one broker's membership, the controller
 * when this broker is elected, and this broker's view of every partition.
 *
 * (The lesson is ../README.md; the znodes and their bodies are clu_znode.h.)
 *
 * Every broker of a cluster opens one `struct clu`. It registers the broker in ZooKeeper
 * (an ephemeral /brokers/ids/<id>, whose creation zxid is the broker epoch), runs for
 * controller, and watches the partitions. What it learns reaches the broker as NOTES,
 * drained on the broker's own thread; what the broker asks (an ISR change, a topic, a
 * controlled shutdown) goes to the controller as a request, answered by a note.
 *
 *   broker threads                    struct clu                           ZooKeeper
 *   --------------                    ----------                           ---------
 *   clu_propose_isr(...)  ─command─>  cluster thread  ── sync calls ──>    znodes
 *   clu_topic_create(...)             (owns all state;      <── watches ── (completion
 *   clu_shutdown_begin()               decides, writes)                     thread: only
 *                                        │                                  queues them)
 *   epoll on clu_fd() ─> clu_poll() <─notes─┘
 *     -> your callbacks, on YOUR thread
 *
 * Threads (the rules):
 *  - libzookeeper_mt runs two threads of its own (network I/O, and completions, where
 *    watches fire). This module's watcher does nothing there but queue the event for the
 *    CLUSTER THREAD (one per struct clu), which owns every piece of state: the view, the
 *    controller, the requests in flight. It uses ZooKeeper's synchronous calls, so it may
 *    block on ZooKeeper - for at most about 2/3 of the session timeout, the client's
 *    operation timeout - and nothing else ever does.
 *  - The broker's threads never touch that state. The API calls below that are marked
 *    "non-blocking" only queue a command (a mutex held for a few instructions) and return;
 *    their answers, and everything the cluster learns, come back as notes. Notes are
 *    dispatched by clu_poll, on the thread that calls it, to the callbacks it is given:
 *    an event loop adds clu_fd() to its epoll set and calls clu_poll when it is readable.
 *    Pointers inside a note are valid only during the callback.
 *  - One thread at a time calls clu_poll (notes are delivered in order, exactly once).
 *
 * What a broker is told, and what it must do:
 *  - on_session(up): up = registered with a broker epoch (the first note after clu_open;
 *    again after every re-registration, with the new epoch). down = this broker's session
 *    expired, or it has been cut off from ZooKeeper so long that it may soon expire (a
 *    sixth of the session timeout: see README "Session loss"): STOP ACTING AS LEADER of
 *    every partition until a partition note says otherwise. After up, every partition's
 *    state is delivered again, changed or not.
 *  - on_partition: the state of one partition (leader, leader epoch, partition epoch,
 *    replicas, ISR, controller epoch) and this broker's role in it. Feed it to
 *    repl_replica_apply, which refuses anything stale.
 *  - on_broker, on_topic, on_controller: the rest of the metadata (Kafka's Metadata answer
 *    is built from these).
 *  - on_answer: the controller's answer to a request made through this struct clu.
 *
 * Ownership: clu_open allocates, clu_close frees; config strings are copied.
 */
#ifndef CLU_H
#define CLU_H

#include <stdbool.h>
#include <stdint.h>

#include "clu_znode.h"
#include "repl_ctl.h"
#include "repl_replica.h"

struct clu;

/* Kafka's defaults. */
#define CLU_SESSION_TIMEOUT_MS_DEFAULT 18000 /* zookeeper.session.timeout.ms */
#define CLU_REQUEST_TIMEOUT_MS_DEFAULT 30000 /* how long a request waits for a controller */
#define CLU_MAX_OPS_PER_MULTI_DEFAULT  500   /* operations in one ZooKeeper transaction */

/* Test seams. A test freezes a controller at an exact point to make it a zombie, or
 * "crashes" it half-way through an event written in several transactions. Leave NULL in
 * production. */
struct clu_test_hooks {
    /* Called on the cluster thread before each multi-transaction a controller writes;
     * `multi` counts them from 1 within one event. It may block (to freeze the controller:
     * its session stays alive meanwhile). Returning false crashes the instance instead of
     * writing: its ZooKeeper session is closed at once and it does nothing more. */
    bool (*before_write)(void *arg, int32_t broker_id, int multi);
    void *arg;
};

struct clu_config {
    int32_t broker_id;            /* broker.id, >= 0 */
    const char *zk_connect;       /* zookeeper.connect: "h:p[,h:p...][/chroot]" */
    int session_timeout_ms;       /* zookeeper.session.timeout.ms (0: Kafka's 18000) */
    int connect_timeout_ms;       /* zookeeper.connection.timeout.ms (0: the session's) */
    const char *listeners;        /* advertised.listeners: "PLAINTEXT://127.0.0.1:9092" */
    const char *protocol_map;     /* listener.security.protocol.map, NULL: names are protocols */
    const char *rack;             /* broker.rack, NULL: none */
    bool unclean_leader_election; /* unclean.leader.election.enable */
    int64_t leader_rebalance_ms;  /* auto.leader.rebalance.enable: how often the
                                   * controller gives leadership back to preferred
                                   * replicas (Kafka: every 300 s); 0: never */
    int request_timeout_ms;       /* a request gives up after this (0: 30000) */
    int max_ops_per_multi;        /* 0: 500 */
    const struct clu_test_hooks *hooks;
};

/* This broker's role in a partition. */
enum clu_role {
    CLU_ROLE_LEADER,      /* you lead it, at ps->leader_epoch */
    CLU_ROLE_FOLLOWER,    /* you follow ps->leader */
    CLU_ROLE_OFFLINE,     /* you are a replica, and nobody leads it (leader -1) */
    CLU_ROLE_NOT_REPLICA, /* you hold no replica of it */
    CLU_ROLE_DELETED,     /* its topic was deleted: drop your replica */
};
const char *clu_role_name(enum clu_role role);

struct clu_broker_note {
    int32_t id;
    int64_t epoch;                    /* its registration's czxid */
    bool live;                        /* false: its registration went away */
    const struct clu_broker_reg *reg; /* endpoints, protocol map, rack (live only) */
};

struct clu_topic_note {
    const char *name;
    bool exists;          /* false: deleted */
    const char *topic_id; /* base64 uuid, "" if none */
    int32_t partitions;
    const struct clu_kv *config; /* /config/topics/<t> overrides */
    int nconfig;
};

struct clu_partition_note {
    const char *topic;
    int32_t partition;
    enum clu_role role;
    const struct repl_pstate *ps; /* partition_epoch is the state znode's version */
};

enum clu_answer_kind {
    CLU_ANS_ALTER_ISR,
    CLU_ANS_CREATE_TOPIC,
    CLU_ANS_DELETE_TOPIC,
    CLU_ANS_SHUTDOWN,
    CLU_ANS_TOPIC_CONFIG,
    CLU_ANS_CREATE_PARTITIONS,
    CLU_ANS_ELECT_LEADERS
};

struct clu_answer {
    int64_t id; /* what the request call returned */
    enum clu_answer_kind kind;
    /* 0: done; > 0: the controller's refusal, a Kafka error code (enum repl_kerr, or -1
     * UNKNOWN_SERVER_ERROR); < 0: never answered: -ETIMEDOUT (request_timeout_ms passed),
     * -ECONNRESET (this broker's session was lost with the request in flight),
     * -ESHUTDOWN (closing). */
    int error;
    int32_t remaining; /* SHUTDOWN: partitions this broker still leads; ELECT_LEADERS:
                        * listed partitions left without the leader asked for */
    bool has_state;    /* ALTER_ISR accepted: the committed state */
    struct repl_pstate state;
    char topic[REPL_TOPIC_MAX + 1];
    int32_t partition;
};

struct clu_callbacks {
    void (*on_session)(void *arg, bool up, int64_t broker_epoch);
    void (*on_controller)(void *arg, int32_t controller_id, int32_t controller_epoch, bool self);
    void (*on_broker)(void *arg, const struct clu_broker_note *b);
    void (*on_topic)(void *arg, const struct clu_topic_note *t);
    void (*on_partition)(void *arg, const struct clu_partition_note *p);
    void (*on_answer)(void *arg, const struct clu_answer *a);
};

/*
 * Connect, create the chroot and the layout's top nodes if missing, read (or create, once)
 * /cluster/id, register this broker, and start the cluster thread. BLOCKS up to
 * connect_timeout_ms: call it at start-up, not from an event loop. 0 and *out; -EINVAL (a
 * bad setting); -EEXIST (this broker id is registered by another live session: Kafka's
 * "broker id already registered"); -ETIMEDOUT (no ZooKeeper); -EIO; -ENOMEM.
 */
int clu_open(const struct clu_config *cfg, struct clu **out);

/* Stop the cluster thread and close the session: the registration, the controller node
 * (if held) and pending requests go away at once, so the others react without waiting
 * for a session timeout. Notes not yet polled are dropped. Blocks up to ~2/3 of the
 * session timeout. NULL is a no-op. */
void clu_close(struct clu *cl);

/* An eventfd, readable while notes are pending (clu_poll reads it). */
int clu_fd(const struct clu *cl);

/* Deliver pending notes to cb (any callback may be NULL). Non-blocking. Returns how many
 * were delivered. One caller at a time. */
int clu_poll(struct clu *cl, const struct clu_callbacks *cb, void *arg);

/* Block until a note arrives or timeout_ms passes (for threads that have no epoll loop:
 * tests, demos, a shutdown path). 0 when notes are pending, -ETIMEDOUT. */
int clu_wait(struct clu *cl, int timeout_ms);

/*
 * Requests. Each returns an id > 0 at once (non-blocking), or -EINVAL / -ENOMEM; the
 * answer arrives as a note (on_answer) with that id, within request_timeout_ms.
 *
 * clu_propose_isr: a leader proposes the ISR of topic-partition (Kafka's AlterPartition):
 *   refused with FENCED_LEADER_EPOCH (c->leader_epoch is old: you were replaced),
 *   INVALID_UPDATE_VERSION (c->partition_epoch is not the current one), INVALID_REQUEST
 *   (you do not lead it, a member is listed twice or is no replica), INELIGIBLE_REPLICA
 *   (it adds a broker that is not live), STALE_BROKER_EPOCH (this broker re-registered
 *   since), UNKNOWN_TOPIC_OR_PARTITION. c->leader must be this broker. Accepted: the
 *   answer carries the committed state (partition epoch + 1), and a partition note follows.
 *   A retry of a proposal that was committed (same leader epoch, same ISR) is accepted
 *   with the current state, as Kafka's controller does.
 * clu_topic_create: the controller places the replicas (repl_assign_replicas over the
 *   live brokers) and writes the topic; config pairs become /config/topics/<t>.
 * clu_partitions_create: CreatePartitions: the topic grows to `partitions` in all, the
 *   controller placing the new ones as Kafka does (continuing the topic's assignment over
 *   the live brokers, same replication factor); refused with INVALID_PARTITIONS (not
 *   more than it has), UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICATION_FACTOR (fewer live
 *   brokers than the topic's replication factor).
 * clu_topic_delete: writes /admin/delete_topics/<t>; answered once the topic is gone from
 *   this broker's view (UNKNOWN_TOPIC_OR_PARTITION if it does not exist).
 * clu_shutdown_begin: controlled shutdown. The controller moves this broker's leaderships
 *   to other in-sync replicas and takes it out of the ISRs; the answer's `remaining` is
 *   how many partitions it still leads (no other in-sync replica). Call it again to retry
 *   (Kafka retries controlled.shutdown.max.retries times); close when it reaches 0.
 */
int64_t clu_propose_isr(struct clu *cl, const char *topic, int32_t partition,
                        const struct repl_isr_change *c);
int64_t clu_topic_create(struct clu *cl, const char *topic, int32_t partitions,
                         int32_t replication_factor, const struct clu_kv *config, int nconfig);
int64_t clu_partitions_create(struct clu *cl, const char *topic, int32_t partitions);
/* The same with an operator's replicas instead of the controller's placement (Kafka's
 * replica assignments): `assigned` holds, for each new partition in order, rf broker ids
 * (assigned[i * rf + k]; a creation's rf is replication_factor, its lists `partitions`).
 * The controller refuses with INVALID_REPLICA_ASSIGNMENT a list of another length than
 * the topic's factor, a broker id it never saw registered, or a partition none of whose
 * replicas is live; the live ones start in sync, the first of them leading. */
int64_t clu_topic_create_assigned(struct clu *cl, const char *topic, int32_t partitions,
                                  int32_t replication_factor, const int32_t *assigned,
                                  const struct clu_kv *config, int nconfig);
int64_t clu_partitions_create_assigned(struct clu *cl, const char *topic, int32_t partitions,
                                       const int32_t *assigned, int32_t nassigned, int rf);
int64_t clu_topic_delete(struct clu *cl, const char *topic);
/* clu_elect_leaders: ElectLeaders for topic's partitions parts[0..n) (any order, no
 *   repeats), election an enum repl_election: the controller elects what it can (see
 *   repl_ctl.h) and answers with `remaining`, the listed partitions left without the
 *   leader asked for; UNKNOWN_TOPIC_OR_PARTITION if it has no such topic. The partition
 *   notes of the new leaders may arrive after the answer. */
int64_t clu_elect_leaders(struct clu *cl, const char *topic, int election, const int32_t *parts,
                          int32_t n);
/* clu_topic_config_set: the topic's overrides become exactly these pairs: this broker
 *   writes /config/topics/<t> itself, as Kafka's admin path does (no controller involved:
 *   every broker's view watches the node and delivers a topic note with the new pairs).
 *   Answered once written (UNKNOWN_TOPIC_OR_PARTITION if the view has no such topic). */
int64_t clu_topic_config_set(struct clu *cl, const char *topic, const struct clu_kv *config,
                             int nconfig);
int64_t clu_shutdown_begin(struct clu *cl);

/*
 * Block until the answer to request `id` arrives (or timeout_ms): 0 and *out, or
 * -ETIMEDOUT. Other notes met meanwhile go to cb/arg as clu_poll would deliver them. For
 * tests, demos and shutdown paths only: an event loop uses on_answer.
 */
int clu_await(struct clu *cl, int64_t id, int timeout_ms, const struct clu_callbacks *cb, void *arg,
              struct clu_answer *out);

/* A snapshot of this instance's state, for demos, tests and logs (thread-safe). */
struct clu_status {
    bool registered;          /* a live session with our registration */
    int64_t broker_epoch;     /* our registration's czxid (0 before the first) */
    int32_t controller_id;    /* as last seen, -1: none */
    int32_t controller_epoch; /* as last seen */
    bool is_controller;       /* this instance is the active controller */
    int64_t session_id;       /* ZooKeeper's session id, and its password: with both, a */
    char session_passwd[16];  /* test expires the session (zk_server.h: zkt_expire) */
    int sessions;             /* sessions opened so far (1 + re-registrations) */
    int elections_won;
    char cluster_id[CLU_UUID_LEN + 1];
};
void clu_status(struct clu *cl, struct clu_status *out);

#endif
